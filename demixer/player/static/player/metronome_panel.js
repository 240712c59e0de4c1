/* The metronome's controls on the result page (an ES module), and its settings kept in the
 * browser per job (localStorage, like the markers): on/off (K), the count-in, the click's
 * volume, and the grid — the detected tempo and beats, or the user's own: a BPM typed or tapped,
 * the bar's first beat set at the playhead or nudged, the beats in a bar.
 *
 * Detected: the BPM is the track's (the worker's analysis, #player[data-bpm]), made exact by the
 * chords' beats (chords.js: each chord starts on a beat; beats.js's fitTempo), whose phase and
 * bar alignGrid finds. Until they come, or without them, the grid starts at 0:00. */

import {
  alignGrid, beatsFromChords, clampBpm, DEFAULT_BPM, fitTempo, tapTempo,
} from "./beats.js";

export const NUDGE = 0.01; // seconds a nudge moves the beat
const METERS = [2, 3, 4, 5, 6, 7];

/* Stored settings, checked: what is missing or wrong takes its default. bpm and offset are the
 * user's own (null: the detected ones). */
export function parseSettings(text) {
  const out = { on: false, volume: 0.7, countInBars: 0, beatsPerBar: 4, bpm: null, offset: null };
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return out;
  }
  if (!data || typeof data !== "object") return out;
  if (typeof data.on === "boolean") out.on = data.on;
  if (Number.isFinite(data.volume) && data.volume >= 0 && data.volume <= 1) out.volume = data.volume;
  if ([0, 1, 2].indexOf(data.countInBars) !== -1) out.countInBars = data.countInBars;
  if (METERS.indexOf(data.beatsPerBar) !== -1) out.beatsPerBar = data.beatsPerBar;
  if (Number.isFinite(data.bpm)) out.bpm = clampBpm(data.bpm);
  if (Number.isFinite(data.offset) && data.offset >= 0) out.offset = data.offset;
  return out;
}

/* The grid as a sentence: "120 BPM · 4/4 · beat 1 at 0:00.52 (detected)". */
export function gridText(bpm, beatsPerBar, offset, own) {
  const hundredths = Math.round(offset * 100);
  const m = Math.floor(hundredths / 6000);
  const s = (hundredths - m * 6000) / 100;
  const at = m + ":" + (s < 10 ? "0" : "") + s.toFixed(2);
  return bpm + " BPM · " + beatsPerBar + "/4 · beat 1 at " + at + (own ? "" : " (detected)");
}

/* root: #player; metronome: metronome.js's; player: {position(), tempo(), enabled()};
 * storageKey: where the settings are kept */
export function wireMetronomePanel(root, metronome, player, storageKey) {
  const q = (role) => root.querySelector("[data-role='" + role + "']");
  const act = (name) => root.querySelector("[data-action='" + name + "']");
  const ui = {
    toggle: act("metronome"),
    countIn: q("count-in"),
    volume: q("click-volume"),
    bpm: q("bpm"),
    tap: act("tap-tempo"),
    meter: q("meter"),
    earlier: act("beat-earlier"),
    later: act("beat-later"),
    here: act("beat-one"),
    reset: act("metronome-reset"),
    grid: q("metronome-grid"),
  };
  if (!ui.toggle) return null;
  let stored;
  try {
    stored = parseSettings(window.localStorage.getItem(storageKey) || "{}");
  } catch {
    stored = parseSettings("{}"); // storage refused (a privacy setting): this page only
  }
  // tempo: the analysis' BPM; bpm: that fitted to the chords' beats; from: none | tempo | chords
  const detected = { tempo: null, bpm: null, from: "none" };
  let beats = []; // the detected beats (song s)
  const own = { bpm: stored.bpm, offset: stored.offset }; // the user's, or null
  let taps = [];

  function save() {
    const s = metronome.state;
    const data = {
      on: s.on, volume: s.volume, countInBars: s.countInBars, beatsPerBar: s.beatsPerBar,
      bpm: own.bpm, offset: own.offset,
    };
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(data));
    } catch {
      /* kept on this page only */
    }
  }

  /* The grid in use: the user's where they set it, else the detected one. */
  function applyGrid() {
    const bpm = own.bpm !== null ? own.bpm : detected.bpm !== null ? detected.bpm : DEFAULT_BPM;
    metronome.setBpm(bpm);
    const offset = own.offset !== null ? own.offset
      : alignGrid(beats, bpm, metronome.state.beatsPerBar);
    metronome.setOffset(offset);
    show();
  }

  function show() {
    const s = metronome.state;
    const on = player.enabled();
    Object.values(ui).forEach((el) => {
      if (el && el !== ui.grid) el.disabled = !on;
    });
    ui.toggle.setAttribute("aria-pressed", String(s.on));
    root.setAttribute("data-metronome", s.on ? "on" : "off");
    ui.countIn.value = String(s.countInBars);
    ui.volume.value = String(s.volume);
    if (document.activeElement !== ui.bpm) ui.bpm.value = String(s.bpm);
    ui.meter.value = String(s.beatsPerBar);
    const mine = own.bpm !== null || own.offset !== null || detected.from === "none";
    ui.grid.textContent = gridText(s.bpm, s.beatsPerBar, s.offset, mine);
  }

  function edit(change) {
    change();
    save();
    show();
  }

  ui.toggle.addEventListener("click", () => edit(() => metronome.setOn(!metronome.state.on)));
  ui.countIn.addEventListener("change", () => edit(() => metronome.setCountIn(parseInt(ui.countIn.value, 10))));
  ui.volume.addEventListener("input", () => edit(() => metronome.setVolume(parseFloat(ui.volume.value))));
  ui.bpm.addEventListener("change", () => {
    const bpm = parseFloat(ui.bpm.value);
    if (!Number.isFinite(bpm)) {
      show();
      return;
    }
    own.bpm = clampBpm(bpm);
    edit(applyGrid);
  });
  ui.tap.addEventListener("click", () => {
    taps.push(performance.now() / 1000);
    taps = taps.slice(-16);
    const bpm = tapTempo(taps, player.tempo());
    if (bpm === null) return;
    own.bpm = bpm;
    edit(applyGrid);
  });
  ui.meter.addEventListener("change", () => edit(() => {
    metronome.setBeatsPerBar(parseInt(ui.meter.value, 10));
    if (own.offset === null) applyGrid(); // the detected bar, for this meter
  }));
  const nudge = (seconds) => edit(() => {
    own.offset = metronome.state.offset + seconds;
    metronome.setOffset(own.offset);
    own.offset = metronome.state.offset;
  });
  ui.earlier.addEventListener("click", () => nudge(-NUDGE));
  ui.later.addEventListener("click", () => nudge(NUDGE));
  ui.here.addEventListener("click", () => edit(() => {
    metronome.setOffset(player.position());
    own.offset = metronome.state.offset;
  }));
  ui.reset.addEventListener("click", () => {
    own.bpm = null;
    own.offset = null;
    taps = [];
    edit(applyGrid);
  });

  metronome.setOn(stored.on);
  metronome.setVolume(stored.volume);
  metronome.setBeatsPerBar(stored.beatsPerBar);
  metronome.setCountIn(stored.countInBars);
  const bpmAttr = parseFloat(root.getAttribute("data-bpm"));
  if (bpmAttr > 0) {
    detected.tempo = detected.bpm = clampBpm(bpmAttr);
    detected.from = "tempo";
  }
  applyGrid();

  return {
    refresh: show,
    toggle: () => ui.toggle.click(),
    /* the chords arrived (chords.js): their beats place the detected grid */
    useChords(chords) {
      beats = beatsFromChords(chords);
      if (beats.length && detected.tempo !== null) {
        detected.bpm = clampBpm(fitTempo(beats, detected.tempo));
        detected.from = "chords";
      }
      applyGrid();
    },
    /* where the grid came from: the analysis' BPM (`tempo`, null: none), the BPM used
     * (`bpm`: fitted to the chords' beats once they came), `from` "none", "tempo" or "chords",
     * and the beats */
    detected: () => ({ ...detected, beats: beats.slice() }),
    own: () => ({ ...own }),
  };
}
