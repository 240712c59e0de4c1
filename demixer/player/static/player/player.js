/* demixer result page: the multi-stem player (an ES module; the page loads this file).
 *
 * This is the page's wiring: it builds the pieces and hands each the objects it works with.
 * The clock and the gains are mixer.js's (one AudioContext for every stem; stream.js's
 * LiveMixer while the job still separates); the rows are stem_rows.js's, the waveforms
 * waveform.js's, the play button and seek bar transport.js's, the keys keyboard.js's, loading
 * loading.js's (live_page.js's while separating), the zoom zoom.js's, and the practice tools,
 * the comparison with another separation, markers, chords and rendered downloads their own
 * modules'. They talk through those objects and the mixer's callbacks (onGains, onTransport),
 * never through globals.
 *
 * `player` (inspection.js) is what the browser tests and the curious read and drive.
 */
import { mountChordLane } from "./chords.js";
import { wireCompare } from "./compare.js";
import { wireDownloads } from "./downloads.js";
import { inspection } from "./inspection.js";
import { wireTransportKeys } from "./keyboard.js";
import { followLive } from "./live_page.js";
import { loadStems } from "./loading.js";
import { wireMarkers } from "./markers.js";
import { Mixer } from "./mixer.js";
import { wirePractice } from "./practice.js";
import { showGains, stemViews, wireStemRows } from "./stem_rows.js";
import { LiveMixer } from "./stream.js";
import { Transport } from "./transport.js";
import { Waveforms } from "./waveform.js";
import { Zoom, wireZoomButtons } from "./zoom.js";

/* The JSON of a data block (json_script), or null where the page has none. */
function pageData(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

/* The status line's setter: setStatus(text, kind) ("error", or none); empty text hides it. */
function statusLine(el) {
  return (text, kind) => {
    el.textContent = text;
    el.className = "player-status" + (kind ? " is-" + kind : "");
    el.hidden = !text;
  };
}

/* Every animation frame: the zoomed view pages along, the playhead moves on the bar and on
 * the waveforms. */
function animate(mixer, zoom, transport, waveforms) {
  const frame = () => {
    const position = mixer.heardPosition();
    if (mixer.playing) zoom.follow(position);
    transport.showPosition(position);
    waveforms.draw(position);
    window.requestAnimationFrame(frame);
  };
  window.requestAnimationFrame(frame);
}

/* The practice tools (practice.js: nodes added to the graph mixer.open() built; the
 * metronome's settings kept per job, like the markers), another separation of the track to
 * compare with (compare.js, where offered: it adds its stems to the practice tools' bus) and
 * the markers (markers.js), which set the practice loop. */
function wireTools(root, mixer, views, zoom) {
  const practice = wirePractice(root, mixer, views, zoom,
    "demixer-metronome:" + window.location.pathname);
  const compare = wireCompare(root, mixer, views, practice);
  const markers = wireMarkers(root, {
    duration: () => mixer.duration,
    position: () => mixer.heardPosition(),
    seek: (t) => mixer.seek(t),
    setLoop: (from, to) => practice.setLoop(from, to, true),
    enabled: () => practice.state().enabled,
  }, "demixer-markers:" + window.location.pathname, (list) => practice.setMarkers(list));
  return { practice, compare, markers };
}

/* What the page is made of: its data, the stem rows' views, the mixer (a LiveMixer while the
 * job separates), the zoom, the status line, and the tools once wired. */
function pageParts(root) {
  // listen while it separates: a running job's page plays its published pieces (stream.js)
  const live = root.getAttribute("data-live") === "true" ? pageData("live-data") : null;
  const views = stemViews(root, pageData("stem-data") || [], live);
  const mixer = live
    ? new LiveMixer(views, live)
    : new Mixer(views, parseFloat(root.getAttribute("data-duration")) || 0);
  return {
    root,
    live,
    views,
    mixer,
    zoom: new Zoom(() => mixer.duration), // which part of the song the waveforms show
    mixForm: document.getElementById("mix-form"),
    setStatus: statusLine(root.querySelector("[data-role=status]")),
    tools: { practice: null, compare: null, markers: null, live: null },
  };
}

/* What works before the audio does: the downloads, the rows, the waveforms, the transport,
 * the zoom, the keys, the chords. Returns {waveforms, transport}. */
function wireScreen({ root, live, views, mixer, zoom, mixForm, tools }) {
  wireDownloads(root, mixForm); // downloads work even where Web Audio does not
  const waveforms = new Waveforms(views, mixer, zoom, Boolean(live));
  const transport = new Transport(root, mixer);
  zoom.onChange = () => waveforms.invalidate();
  mixer.onGains = () => showGains(views, mixer, mixForm);
  mixer.onTransport = () => transport.show();
  wireStemRows(views, mixer, zoom);
  wireZoomButtons(root, zoom, () => mixer.heardPosition());
  transport.wire();
  wireTransportKeys(document, mixer);
  if (!live) {
    // the chords' beats place the metronome's grid (practice.js), once both are there
    mountChordLane(root.querySelector("ul.stems"), root.getAttribute("data-chords-url"),
      () => mixer.heardPosition(), mixer.duration)
      .then((chords) => { if (chords && tools.practice) tools.practice.useChords(chords); });
  }
  showGains(views, mixer, mixForm);
  animate(mixer, zoom, transport, waveforms);
  return { waveforms, transport };
}

/* With the AudioContext open: the tools, then the stems (all at once, or as they separate). */
function startAudio(parts, { waveforms, transport }) {
  const { root, live, views, mixer, zoom, tools, setStatus } = parts;
  Object.assign(tools, wireTools(root, mixer, views, zoom));
  waveforms.overlay = tools.practice; // the A-B loop over each waveform
  const page = { setStatus, enable: () => enable(root, transport, tools) };
  if (live) tools.live = followLive(root, mixer, live, views, page);
  else load(root, mixer, views, page);
}

/* The player on `root` (#player); returns what tests read (inspection.js). */
export function mountPlayer(root) {
  const parts = pageParts(root);
  const player = inspection(parts.mixer, parts.zoom, Boolean(parts.live), parts.tools);
  const screen = wireScreen(parts);
  if (!parts.mixer.open()) {
    parts.setStatus("This browser can't play stems together (no Web Audio). " +
      "The downloads below still work.", "error");
    root.setAttribute("data-state", "error");
    return player;
  }
  startAudio(parts, screen);
  return player;
}

/* The stems can play: the transport and (once the stems are complete) the tools work. */
function enable(root, transport, tools) {
  transport.enable();
  root.setAttribute("data-state", "ready");
  if (tools.practice) tools.practice.refresh();
  if (tools.markers) tools.markers.refresh();
  if (tools.compare) tools.compare.refresh();
}

/* A finished job's stems; page: {setStatus, enable}. */
function load(root, mixer, views, page) {
  loadStems(root, mixer, views, page.setStatus).then(() => {
    page.enable();
    page.setStatus("");
  }, (err) => {
    root.setAttribute("data-state", "error");
    page.setStatus(err.message + " Reload the page to try again; the downloads below still work.",
      "error");
  });
}

const element = document.getElementById("player");

/* The page's player for the browser tests and the curious (inspection.js): import this module
 * from the URL the page loaded it from, and it is the page's own instance. null without
 * #player. */
export const player = element ? mountPlayer(element) : null;
