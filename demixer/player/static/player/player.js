/* demixer result page: the multi-stem player's controls (an ES module).
 *
 * The clock and the gains are mixer.js's (one AudioContext for every stem); this file wires the
 * page to it: the play button, the seek bar, each stem's mute/solo/volume and waveform, the
 * keyboard, and the mix form's gains. Rendered downloads are downloads.js's.
 * window.demixerPlayer exposes the state for tests and the curious.
 */
import { mountChordLane } from "./chords.js";
import { wireCompare } from "./compare.js";
import { wireDownloads } from "./downloads.js";
import { Mixer } from "./mixer.js";
import { wirePractice } from "./practice.js";
import { listen } from "./live.js";
import { wireMarkers } from "./markers.js";
import { LiveMixer } from "./stream.js";
import { STEP, Zoom } from "./zoom.js";

const root = document.getElementById("player");
if (root) start();

function fmt(seconds) {
  seconds = Math.max(0, seconds || 0);
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m + ":" + (s < 10 ? "0" : "") + s;
}

function start() {
  const statusEl = root.querySelector("[data-role=status]");
  const playBtn = root.querySelector("[data-action=play]");
  const seekEl = root.querySelector("[data-role=seek]");
  const currentEl = root.querySelector("[data-role=current]");
  const durationEl = root.querySelector("[data-role=duration]");
  const mixForm = document.getElementById("mix-form");
  const peaksData = {};
  const colourData = {}; // the stem's colour, from the server's one table (demixer/engine/stems.py)
  JSON.parse(document.getElementById("stem-data").textContent).forEach((s) => {
    peaksData[s.name] = s.peaks || [];
    colourData[s.name] = s.colour;
  });

  // one view per stem row: {name, label, url, row, canvas, buttons, volumeEl, peaks, colors, …}
  const views = Array.from(root.querySelectorAll(".stem[data-stem]"), (row) => {
    const name = row.getAttribute("data-stem");
    const volumeEl = row.querySelector("[data-role=volume]");
    if (colourData[name]) row.style.setProperty("--pl-wave-played", colourData[name]); // CSSOM: CSP allows it
    return {
      name: name,
      label: row.getAttribute("data-label") || name,
      url: row.getAttribute("data-preview"),
      volume: parseFloat(volumeEl.value),
      row: row,
      canvas: row.querySelector("canvas"),
      muteBtn: row.querySelector("[data-action=mute]"),
      soloBtn: row.querySelector("[data-action=solo]"),
      volumeEl: volumeEl,
      peaks: peaksData[name] || [],
      colors: null,
      dirty: true,
      drawnAt: -1,
    };
  });
  // listen while it separates: a running job's page plays its published pieces (stream.js)
  const liveEl = document.getElementById("live-data");
  const live = root.getAttribute("data-live") === "true" && liveEl ? JSON.parse(liveEl.textContent) : null;
  if (live) views.forEach((view) => { view.peaks = live.peaks[view.name] || []; });
  const mixer = live
    ? new LiveMixer(views, live)
    : new Mixer(views, parseFloat(root.getAttribute("data-duration")) || 0);
  const zoom = new Zoom(() => mixer.duration); // which part of the song the waveforms show
  zoom.onChange = () => views.forEach((view) => { view.dirty = true; });
  let markers = null; // markers.js, once the practice tools are wired
  let dragging = false;
  let practice = null; // practice.js, once the AudioContext is open
  let compare = null; // compare.js (another separation of the track, A/B), where offered
  let pointerFocus = false; // the focused control was last reached by pointer, not keyboard
  let pointerDown = false;

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "player-status" + (kind ? " is-" + kind : "");
    statusEl.hidden = !text;
  }

  /* ---- what the mixer tells ---------------------------------------------------------- */

  function showGains() {
    views.forEach((view) => {
      const stem = mixer.stem(view.name);
      const g = mixer.gainOf(stem);
      view.row.setAttribute("data-gain", String(g));
      view.row.setAttribute("data-muted", String(stem.muted));
      view.row.setAttribute("data-soloed", String(stem.soloed));
      view.row.setAttribute("data-volume", String(stem.volume));
      view.row.classList.toggle("is-silent", g === 0);
      view.muteBtn.setAttribute("aria-pressed", String(stem.muted));
      view.soloBtn.setAttribute("aria-pressed", String(stem.soloed));
      if (mixForm) {
        const field = mixForm.querySelector("input[name='gain_" + view.name + "']");
        if (field) field.value = g.toFixed(3);
      }
      view.dirty = true;
    });
  }

  function showTransport() {
    const playing = mixer.playing;
    playBtn.setAttribute("aria-pressed", String(playing));
    playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    playBtn.classList.toggle("is-playing", playing);
    root.setAttribute("data-playing", String(playing));
  }

  mixer.onGains = showGains;
  mixer.onTransport = showTransport;

  /* ---- drawing ----------------------------------------------------------------------- */

  function readColors(view) {
    const style = getComputedStyle(view.row);
    const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    view.colors = {
      wave: v("--pl-wave", "#4a5670"),
      played: v("--pl-wave-played", "#7dd3fc"),
      silent: v("--pl-wave-silent", "#2b3140"),
      head: v("--pl-playhead", "#f8fafc"),
      edge: v("--pl-ready-edge", "#fbbf24"),
    };
  }

  function sizeCanvas(view) {
    const c = view.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
      view.dirty = true;
    }
  }

  function draw(view, pos) {
    const c = view.canvas;
    const g = c.getContext("2d");
    const w = c.width;
    const h = c.height;
    const peaks = view.peaks;
    const n = peaks.length;
    const mid = h / 2;
    const duration = mixer.duration;
    const headX = duration > 0 ? zoom.xOf(pos, w) : 0;
    // the peak index under x: over the part of the song shown
    const at = (x) => (duration > 0 ? zoom.timeAt(x, w) / duration : x / w) * n;
    const silent = view.row.classList.contains("is-silent");
    const colors = view.colors;
    g.clearRect(0, 0, w, h);
    if (!n) return;
    const dpr = window.devicePixelRatio || 1;
    const bar = Math.max(1, Math.round(2 * dpr));
    const gap = Math.max(1, Math.round(dpr));
    const step = bar + gap;
    for (let x = 0; x < w; x += step) {
      const i0 = Math.floor(at(x));
      const i1 = Math.max(i0 + 1, Math.floor(at(x + step)));
      let p = 0;
      for (let i = i0; i < i1 && i < n; i++) if (peaks[i] > p) p = peaks[i];
      const half = Math.max(dpr * 0.5, p * (mid - dpr));
      g.fillStyle = silent ? colors.silent : x + bar <= headX ? colors.played : colors.wave;
      g.fillRect(x, mid - half, bar, half * 2);
    }
    if (live && !mixer.complete && duration > 0) drawReadyEdge(g, view, w, h, dpr);
    if (practice) practice.drawLoop(g, w, h, dpr); // the A-B loop (practice.js)
    g.fillStyle = colors.head;
    g.fillRect(Math.min(w - dpr * 2, Math.max(0, headX - dpr)), 0, Math.round(2 * dpr), h);
    view.drawnAt = pos;
    view.dirty = false;
  }

  /* What is not separated yet is dimmed, its edge marked (a seek past it waits there). */
  function drawReadyEdge(g, view, w, h, dpr) {
    const x = Math.max(0, Math.round(zoom.xOf(mixer.readySeconds(), w)));
    view.readyDrawn = mixer.readyFrames;
    if (x >= w) return;
    g.fillStyle = "rgba(15, 18, 26, 0.6)";
    g.fillRect(x, 0, w - x, h);
    g.fillStyle = view.colors.edge;
    g.fillRect(Math.max(0, x - dpr), 0, Math.round(2 * dpr), h);
  }

  function frame() {
    const pos = mixer.heardPosition();
    const duration = mixer.duration;
    if (mixer.playing) zoom.follow(pos); // a zoomed view pages along with the playhead
    if (!dragging) seekEl.value = String(pos);
    const shown = dragging ? parseFloat(seekEl.value) : pos;
    seekEl.style.setProperty("--pl-progress", (duration > 0 ? (shown / duration) * 100 : 0) + "%");
    currentEl.textContent = fmt(pos);
    seekEl.setAttribute("aria-valuetext", fmt(pos) + " of " + fmt(duration));
    views.forEach((view) => {
      sizeCanvas(view);
      const grew = live && view.readyDrawn !== mixer.readyFrames;
      if (view.dirty || grew || Math.abs(view.drawnAt - pos) > 1e-3) draw(view, pos);
    });
    window.requestAnimationFrame(frame);
  }

  /* ---- wiring ------------------------------------------------------------------------ */

  function wireStems() {
    views.forEach((view) => {
      view.muteBtn.addEventListener("click", () => mixer.toggleMute(view.name));
      view.soloBtn.addEventListener("click", () => mixer.toggleSolo(view.name));
      view.volumeEl.addEventListener("input", () => {
        mixer.setVolume(view.name, parseFloat(view.volumeEl.value));
      });
      zoom.wireWheel(view.canvas);
      view.canvas.addEventListener("click", (ev) => {
        const rect = view.canvas.getBoundingClientRect();
        if (mixer.ready && rect.width > 0) {
          mixer.seek(zoom.timeAt(ev.clientX - rect.left, rect.width));
        }
      });
    });
  }

  /* The zoom buttons: around the playhead; Ctrl + wheel (pinch) zooms around the pointer. */
  function wireZoom() {
    const button = (name) => root.querySelector("[data-action='" + name + "']");
    const ruler = root.querySelector("[data-role=ruler]");
    if (ruler) zoom.wireWheel(ruler);
    const zoomIn = button("zoom-in");
    const zoomOut = button("zoom-out");
    const fit = button("zoom-fit");
    if (zoomIn) zoomIn.addEventListener("click", () => zoom.zoomBy(STEP, mixer.heardPosition()));
    if (zoomOut) zoomOut.addEventListener("click", () => zoom.zoomBy(1 / STEP, mixer.heardPosition()));
    if (fit) fit.addEventListener("click", () => zoom.fit());
  }

  function wireTransport() {
    playBtn.addEventListener("click", () => {
      mixer.toggle();
    });
    seekEl.addEventListener("input", () => {
      dragging = true;
      currentEl.textContent = fmt(parseFloat(seekEl.value));
    });
    seekEl.addEventListener("change", () => {
      dragging = false;
      mixer.seek(parseFloat(seekEl.value));
    });
    // Focus that arrives while a pointer is down came from a click; any other (Tab, script)
    // came from the keyboard.
    document.addEventListener("pointerdown", () => {
      pointerDown = true;
      pointerFocus = true;
    }, true);
    document.addEventListener("pointerup", () => { pointerDown = false; }, true);
    document.addEventListener("pointercancel", () => { pointerDown = false; }, true);
    document.addEventListener("focusin", () => { pointerFocus = pointerDown; }, true);
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", () => {
      views.forEach((view) => { view.dirty = true; });
    });
  }

  function onKey(ev) {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const t = ev.target;
    const tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    const type = tag === "input" ? (t.type || "text").toLowerCase() : "";
    const pressable = ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) !== -1;
    const typing = t && (t.isContentEditable || tag === "textarea" || tag === "select" ||
      (tag === "input" && type !== "range" && !pressable));
    if (typing) return;
    if (ev.key === " " || ev.code === "Space") {
      // A control reached with the keyboard keeps its own space behaviour (press it); one
      // last clicked with the mouse does not, or space after clicking Mute would unmute.
      const control = pressable || tag === "button" || tag === "a" || tag === "summary";
      if (control && !pointerFocus) return;
      ev.preventDefault();
      if (mixer.ready) mixer.toggle();
    } else if ((ev.key === "ArrowLeft" || ev.key === "ArrowRight") && tag !== "input") {
      if (!mixer.ready) return;
      ev.preventDefault();
      mixer.seek(mixer.position() + (ev.key === "ArrowLeft" ? -5 : 5));
    }
  }

  function load() {
    let done = 0;
    const count = views.length;
    const rowOf = (stem) => views.find((view) => view.name === stem.name).row;
    root.setAttribute("data-state", "loading");
    setStatus("Loading stems… 0 of " + count);
    mixer.load(
      (stem) => {
        rowOf(stem).setAttribute("data-loaded", "true");
        done += 1;
        if (root.getAttribute("data-state") === "loading") {
          setStatus("Loading stems… " + done + " of " + count);
        }
      },
      (stem) => rowOf(stem).setAttribute("data-loaded", "error"),
    ).then(() => {
      seekEl.max = String(mixer.duration);
      durationEl.textContent = fmt(mixer.duration);
      playBtn.disabled = false;
      seekEl.disabled = false;
      root.setAttribute("data-state", "ready");
      refreshTools();
      setStatus("");
    }).catch((err) => {
      root.setAttribute("data-state", "error");
      setStatus(err.message + " Reload the page to try again; the downloads below still work.",
        "error");
    });
  }

  window.demixerPlayer = {
    isReady: () => mixer.ready,
    play: () => mixer.play(),
    pause: () => mixer.pause(),
    toggle: () => mixer.toggle(),
    seek: (seconds) => mixer.seek(seconds),
    position: () => mixer.position(),
    /* the position being heard: position() less the output path's delay (the stretcher's) */
    heard: () => mixer.heardPosition(),
    duration: () => mixer.duration,
    playing: () => mixer.playing,
    /* stem name -> the GainNode's gain.value right now (what is audible, before the master) */
    gains: () => mixer.gains(),
    /* the live sources: when each was scheduled to start (ctx time) and from which offset */
    sources: () => mixer.sources(),
    context: () => mixer.ctx,
    /* the part of the song the waveforms show: {start, end} seconds */
    view: () => zoom.current(),
    /* listen while it separates: the pieces held and scheduled (null on a finished job) */
    live: () => (live ? mixer.liveState() : null),
    pieceDigest: (index) => (live ? mixer.digest(index) : Promise.resolve(null)),
  };

  // downloads work even where Web Audio does not
  wireDownloads(root, mixForm);
  views.forEach(readColors);
  durationEl.textContent = fmt(mixer.duration);
  wireStems();
  wireZoom();
  wireTransport();
  if (!live) {
    const chordsUrl = root.getAttribute("data-chords-url");
    mountChordLane(root.querySelector("ul.stems"), chordsUrl, () => mixer.heardPosition(), mixer.duration)
      .then((chords) => { if (chords && practice) practice.useChords(chords); });
  }
  showGains();
  window.requestAnimationFrame(frame);
  if (!mixer.open()) {
    setStatus("This browser can't play stems together (no Web Audio). " +
      "The downloads below still work.", "error");
    root.setAttribute("data-state", "error");
    return;
  }
  // pan, loop, tempo/pitch, compare, metronome (practice.js): nodes added to the graph
  // mixer.open() built; the metronome's settings kept per job, like the markers
  practice = wirePractice(root, mixer, views, zoom, "demixer-metronome:" + window.location.pathname);
  window.demixerPlayer.practice = practice;
  compare = wireCompare(root, mixer, views, practice);
  window.demixerPlayer.compare = compare;
  markers = wireMarkers(root, {
    duration: () => mixer.duration,
    position: () => mixer.heardPosition(),
    seek: (t) => mixer.seek(t),
    setLoop: (from, to) => practice.setLoop(from, to, true),
    enabled: () => practice.state().enabled,
  }, "demixer-markers:" + window.location.pathname, (list) => practice.setMarkers(list));
  window.demixerPlayer.markers = () => markers.list();
  if (live) listenLive();
  else load();

  function enable() {
    seekEl.max = String(mixer.duration);
    durationEl.textContent = fmt(mixer.duration);
    playBtn.disabled = false;
    seekEl.disabled = false;
    root.setAttribute("data-state", "ready");
    refreshTools();
  }

  /* the practice tools and the markers work once the complete stems are in */
  function refreshTools() {
    if (practice) practice.refresh();
    if (markers) markers.refresh();
    if (compare) compare.refresh();
  }

  /* listen while it separates: live.js follows the job; this page shows what it says */
  function listenLive() {
    root.setAttribute("data-state", "loading");
    const controller = listen(root, mixer, live, {
      setStatus: setStatus,
      enable: enable,
      peaks: (peaks) => views.forEach((view) => {
        if (peaks[view.name]) {
          view.peaks = peaks[view.name];
          view.dirty = true;
        }
      }),
      completed: () => {
        const urls = {};
        views.forEach((view) => { urls[view.name] = view.url; });
        mixer.switchToComplete(urls).then(() => {
          root.querySelectorAll("[data-when-done]").forEach((el) => { el.hidden = false; });
          const kicker = root.querySelector("[data-role=kicker]");
          if (kicker) kicker.textContent = kicker.textContent.replace("Separating into", "Separated into");
          root.setAttribute("data-live", "complete");
          root.setAttribute("data-waiting", "false");
          enable();
          setStatus("");
        }, (err) => setStatus(err.message + " Reload the page to try again.", "error"));
      },
    });
    window.demixerPlayer.buffering = (at) => controller.plan(at);
    window.demixerPlayer.bufferingLog = () => controller.log();
  }
}
