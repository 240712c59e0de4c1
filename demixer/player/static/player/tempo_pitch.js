/* Tempo and pitch on the result page (an ES module).
 *
 * Tempo is every source's playbackRate (mixer.js: the one clock then runs at tempo x real time
 * and every stem stays aligned); the resampling's pitch change is undone, and the pitch asked
 * for applied, by one Signalsmith Stretch on the mix (MIT; npm signalsmith-stretch, copied into
 * vendor/ by `make player-assets`), skipped at tempo 100 %, pitch 0. Without that file the
 * controls stay disabled, with a note; everything else works.
 */

export const TEMPO_MIN = 0.5;
export const TEMPO_MAX = 1.5;
export const PITCH_RANGE = 6; // semitones either way

/* The stretcher's shift: the pitch asked for, less what playing at `tempo` did to it. */
export function semitonesFor(tempo, pitch) {
  return pitch - 12 * Math.log2(tempo);
}

/* A tempo the controls offer: within range, to the percent. */
export function clampTempo(tempo) {
  return Math.max(TEMPO_MIN, Math.min(TEMPO_MAX, Math.round(tempo * 100) / 100));
}

/* A pitch the controls offer: whole semitones within range. */
export function clampPitch(pitch) {
  return Math.max(-PITCH_RANGE, Math.min(PITCH_RANGE, Math.round(pitch)));
}

export class TempoPitch {
  /* mixer: the clock; out: where the stretcher's output goes (practice_graph.js);
   * ui: {tempo, tempoValue, pitch, pitchValue}; fields: MixFields; changed(): redraw the tools */
  constructor(mixer, out, ui, fields, changed) {
    this.mixer = mixer;
    this.out = out;
    this.ui = ui;
    this.fields = fields;
    this.changed = changed;
    this.state = {
      tempo: 1,
      pitch: 0,
      stretch: "loading", // loading | ready | missing
      latency: 0, // seconds the stretcher holds the sound back while it runs
    };
    this.node = null; // the stretcher's AudioWorkletNode, once loaded
  }

  /* Whether the stretcher is on the path (tempo or pitch moved, and it loaded). */
  stretching() {
    return Boolean(this.node) && !(this.state.tempo === 1 && this.state.pitch === 0);
  }

  semitones() {
    return this.stretching() ? semitonesFor(this.state.tempo, this.state.pitch) : 0;
  }

  route() {
    const master = this.mixer.master;
    master.disconnect();
    if (!this.stretching()) {
      this.mixer.outputDelay = 0;
      master.connect(this.out);
      return;
    }
    this.mixer.outputDelay = this.state.latency; // the display follows the ear
    this.node.schedule({ active: true, semitones: this.semitones() });
    master.connect(this.node);
  }

  /* The vendored module (url: #player[data-stretch-url]) as an AudioWorklet. */
  load(url) {
    const ctx = this.mixer.ctx;
    if (!url || !window.AudioWorkletNode || !ctx.audioWorklet) {
      this.state.stretch = "missing";
      this.changed();
      return Promise.resolve();
    }
    return import(url)
      .then((mod) => {
        const create = mod.default;
        create.moduleUrl = url; // the worklet loads the same static file (no blob: URL)
        return create(ctx, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
      })
      .then((node) => {
        this.node = node;
        node.connect(this.out);
        return Promise.resolve(node.latency()).then((seconds) => {
          this.state.latency = seconds > 0 ? seconds : 0; // its input and output latency together
          this.state.stretch = "ready";
          this.route();
        });
      })
      .catch(() => {
        this.state.stretch = "missing";
      })
      .then(() => this.changed());
  }

  setTempo(tempo) {
    tempo = clampTempo(tempo);
    if (tempo === this.state.tempo) return;
    this.state.tempo = tempo;
    this.ui.tempo.value = String(Math.round(tempo * 100));
    this.route();
    this.mixer.setTempo(tempo);
    this.changed();
  }

  setPitch(pitch) {
    pitch = clampPitch(pitch);
    this.state.pitch = pitch;
    this.ui.pitch.value = String(pitch);
    this.route();
    this.changed();
  }

  wire() {
    this.ui.tempo.addEventListener("input", () => this.setTempo(parseFloat(this.ui.tempo.value) / 100));
    this.ui.pitch.addEventListener("input", () => this.setPitch(parseFloat(this.ui.pitch.value)));
  }

  /* enabled: the practice tools work (the complete stems are in) */
  show(enabled) {
    const { tempo, pitch, stretch } = this.state;
    this.ui.tempo.disabled = this.ui.pitch.disabled = !(enabled && stretch === "ready");
    this.ui.tempoValue.textContent = Math.round(tempo * 100) + " %";
    this.ui.pitchValue.textContent = (pitch > 0 ? "+" : "") + pitch;
    this.fields.set("tempo", tempo);
    this.fields.set("pitch", pitch);
  }

  note() {
    return this.state.stretch === "missing"
      ? "Tempo and pitch are unavailable: this server lacks the time-stretch module."
      : "";
  }
}
