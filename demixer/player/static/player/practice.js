/* Practice tools on the result page (an ES module): player.js calls wirePractice() once the
 * mixer's AudioContext is open. Each tool is a module with its own state; this one builds them,
 * lets them redraw together, and gives player.js and the tests one object:
 *
 *   practice_graph.js  the nodes added to the mixer's graph (pans, the original's gain, meters)
 *   stem_pan.js        each stem's pan, and the volume and pan as figures
 *   tempo_pitch.js     tempo (the sources' rate) and pitch (Signalsmith Stretch on the mix)
 *   loop_region.js     the A-B loop: drag, A/B, Loop; drawn on the waveforms and the ruler
 *   original.js        "compare with the original", on the same run as the stems
 *   metronome.js       clicks on the player's clock, and the count-in (metronome_panel.js:
 *                      its controls and kept settings; beats.js: the arithmetic)
 *   mix_fields.js      the custom mix is rendered with the tempo, pitch and pans heard
 *   shortcuts.js       [ ] L C K
 *
 * All sources keep one clock (mixer.js); the tools are enabled once the complete stems are in
 * (while a job still separates, listen early, they wait).
 */
import { MixFields } from "./mix_fields.js";
import { Metronome } from "./metronome.js";
import { wireMetronomePanel } from "./metronome_panel.js";
import { LoopRegion } from "./loop_region.js";
import { OriginalCompare } from "./original.js";
import { PracticeGraph } from "./practice_graph.js";
import { Ruler } from "./ruler.js";
import { wireShortcuts } from "./shortcuts.js";
import { wireStemPans } from "./stem_pan.js";
import { TempoPitch } from "./tempo_pitch.js";

export { panText } from "./stem_pan.js";
export { semitonesFor } from "./tempo_pitch.js";

const RULER_COLORS = {
  loop: "rgba(125, 211, 252, 0.28)",
  loopOff: "rgba(152, 162, 182, 0.15)",
  tick: "#5b6680",
  text: "#98a2b6",
  marker: "#fbbf24",
};

/* zoom: the page's Zoom (zoom.js): which part of the song the waveforms and the ruler show;
 * storageKey: where the metronome's settings are kept (per job) */
export function wirePractice(root, mixer, views, zoom, storageKey) {
  const q = (role) => root.querySelector("[data-role='" + role + "']");
  const act = (name) => root.querySelector("[data-action='" + name + "']");
  const session = { enabled: false }; // the stems are complete and loaded: the tools work
  const fields = new MixFields(document.getElementById("mix-form"));
  const graph = new PracticeGraph(mixer, views);
  const noteEl = q("practice-note");
  let markers = []; // the user's markers (markers.js), drawn on the ruler
  let panel = null;

  const tempoPitch = new TempoPitch(mixer, graph.out, {
    tempo: q("tempo"), tempoValue: q("tempo-value"), pitch: q("pitch"), pitchValue: q("pitch-value"),
  }, fields, showControls);
  const loops = new LoopRegion(root, mixer, views, zoom, session, {
    loop: act("loop"), loopA: act("loop-a"), loopB: act("loop-b"), loopRange: q("loop-range"),
  }, showControls);
  const original = new OriginalCompare(root, mixer, graph, session, act("compare"), showControls);
  const metronome = new Metronome(mixer, graph.out, session);

  function showControls() {
    const on = session.enabled;
    loops.show(on);
    tempoPitch.show(on);
    original.show(on);
    if (panel) panel.refresh();
    const notes = [tempoPitch.note(), original.note()].filter(Boolean);
    noteEl.textContent = notes.join(" ");
    noteEl.hidden = !notes.length;
  }

  mixer.onSources = (when, offset) => {
    original.start(when, offset);
    metronome.onRun(when, offset);
  };
  mixer.countIn = () => metronome.countIn();
  panel = wireMetronomePanel(root, metronome, {
    position: () => mixer.heardPosition(),
    tempo: () => mixer.tempo,
    enabled: () => session.enabled,
  }, storageKey);

  wireStemPans(views, graph.pans, fields);
  tempoPitch.wire();
  loops.wire();
  original.wire();
  views.forEach((view) => loops.wireDrag(view.canvas, false));
  const rulerEl = q("ruler");
  const ruler = rulerEl ? new Ruler(rulerEl, views[0].canvas) : null;
  if (ruler) loops.wireDrag(rulerEl, true);
  wireShortcuts(document, {
    "loop-a": () => loops.markA(),
    "loop-b": () => loops.markB(),
    loop: () => loops.press(),
    compare: () => original.toggle(),
    metronome: () => { if (panel) panel.toggle(); },
  }, () => session.enabled);

  function rulerFrame() {
    ruler.draw(zoom.current(), loops.shown(), loops.shownOn(), RULER_COLORS, markers);
    window.requestAnimationFrame(rulerFrame);
  }
  if (ruler) window.requestAnimationFrame(rulerFrame);

  /* The tools need the whole stems: while a job still separates (listen early) they wait. */
  function refresh() {
    const live = root.getAttribute("data-live");
    const enabled = root.getAttribute("data-state") === "ready" && (!live || live === "complete");
    if (enabled && !session.enabled) {
      session.enabled = true;
      original.check();
    }
    showControls();
  }
  refresh(); // and again whenever player.js says the stems changed (practice.refresh())
  tempoPitch.load(root.getAttribute("data-stretch-url"));

  /* The page's handle on the tools (player.js), and what tests read (its `player.practice`). */
  return {
    input: graph.bus, // where the stems' sum goes (compare.js adds the stems only B has)
    drawLoop: (g, w, h, dpr) => loops.draw(g, w, h, dpr),
    refresh: refresh,
    setMarkers: (list) => { markers = list; },
    /* the chords (chords.js) arrived: their beats place the metronome's grid */
    useChords: (chords) => { if (panel) panel.useChords(chords); },
    state: () => ({
      enabled: session.enabled,
      tempo: tempoPitch.state.tempo,
      pitch: tempoPitch.state.pitch,
      semitones: tempoPitch.semitones(),
      loop: loops.current(),
      loopOn: loops.state.loopOn,
      comparing: original.state.comparing,
      stretch: tempoPitch.state.stretch,
      latency: tempoPitch.state.latency,
      outputDelay: mixer.outputDelay,
      original: original.state.status,
      originalReason: original.state.reason,
      stemsGain: graph.bus.gain.value,
      originalGain: graph.originalGain.gain.value,
      originalRun: original.run,
    }),
    /* stem name -> its StereoPannerNode's pan.value */
    pans: () => graph.panValues(),
    /* RMS of what is heard, per channel, over the analysers' last 4096 frames */
    levels: () => graph.levels(),
    setTempo: (tempo) => tempoPitch.setTempo(tempo),
    setPitch: (pitch) => tempoPitch.setPitch(pitch),
    setLoop: (start, end, on) => loops.set(start, end, on),
    toggleLoop: () => loops.toggle(),
    toggleCompare: () => original.toggle(),
    stretchReady: () => tempoPitch.state.stretch !== "loading",
    /* the metronome: its settings and grid, the clicks of the current run, where the grid
     * came from */
    metronome: {
      state: () => metronome.snapshot(),
      clicks: () => metronome.clicks(),
      detected: () => (panel ? panel.detected() : null),
    },
  };
}
