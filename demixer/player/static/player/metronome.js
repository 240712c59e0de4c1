/* The metronome on the result page (an ES module): clicks on the player's own clock.
 *
 * Each click is a short AudioBufferSourceNode started at a ctx time worked out from the run the
 * mixer started (beats.js's clicksIn: the song's beat grid through the run's start, offset,
 * tempo and loop), a little ahead (LOOKAHEAD) by a timer; a new run (play, seek, a tempo or
 * loop change, each pass of a counted-in loop) cancels the clicks not yet heard and schedules
 * its own, so the clicks stay on the beat whatever the player does. The clicks join the graph
 * after the time-stretcher (practice_graph.js's `out`), and are scheduled the stretcher's
 * latency later, with the music they go with.
 *
 * The count-in (1 or 2 bars) is the mixer's: mixer.countIn() asks this for its length, and the
 * run then starts that much later, the count-in's clicks before it; it plays whether or not
 * the metronome is on.
 */

import { clampBpm, clicksIn, countInSeconds, normalOffset } from "./beats.js";

const LOOKAHEAD = 1.5; // seconds of clicks scheduled ahead: a hidden tab's timers run once a second
const TICK_MS = 250;
const CLICK_SECONDS = 0.05;
const LOG_KEPT = 256; // clicks of the current run kept for tests and the curious

/* A click: a decaying sine (accented: higher and louder), float32 in a 1-channel AudioBuffer. */
function clickSound(ctx, hz, level) {
  const n = Math.round(CLICK_SECONDS * ctx.sampleRate);
  const buffer = ctx.createBuffer(1, n, ctx.sampleRate);
  const data = buffer.getChannelData(0);
  for (let i = 0; i < n; i++) {
    const t = i / ctx.sampleRate;
    data[i] = level * Math.sin(2 * Math.PI * hz * t) * Math.exp(-t / 0.008);
  }
  return buffer;
}

export class Metronome {
  /* mixer: the clock (mixer.js); output: where the clicks go (after the stretcher);
   * session: {enabled} (the practice tools work) */
  constructor(mixer, output, session) {
    this.mixer = mixer;
    this.ctx = mixer.ctx;
    this.session = session;
    this.gain = this.ctx.createGain();
    this.gain.connect(output);
    this.sounds = { accent: clickSound(this.ctx, 1760, 0.9), beat: clickSound(this.ctx, 1175, 0.6) };
    this.state = {
      on: false,
      volume: 0.7,
      bpm: 120,
      offset: 0, // song s of a bar's first beat
      beatsPerBar: 4,
      countInBars: 0, // 0, 1 or 2
    };
    this.gain.gain.value = this.state.volume;
    this.run = null; // the mixer's current run, as beats.js reads it
    this.until = 0; // ctx time the clicks are scheduled up to
    this.pending = []; // {node, when}: started clicks not yet over
    this.log = []; // the current run's clicks: {when, time, beat, accent, countIn}
    this.timer = null;
  }

  grid() {
    const { bpm, offset, beatsPerBar } = this.state;
    return { bpm: bpm, offset: offset, beatsPerBar: beatsPerBar };
  }

  /* mixer.countIn: the real seconds a run counts in (nothing until the tools work). */
  countIn() {
    const { countInBars, beatsPerBar, bpm } = this.state;
    if (!this.session.enabled || !countInBars) return 0;
    return countInSeconds(countInBars, beatsPerBar, bpm, this.mixer.tempo);
  }

  /* mixer.onSources: a run started at ctx time `when` from song s `offset`, or (null) stopped. */
  onRun(when, offset) {
    this.cancel(-Infinity);
    this.log = [];
    if (when === null) {
      this.run = null;
      window.clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const mixer = this.mixer;
    this.run = {
      startedAt: when,
      offset: offset,
      tempo: mixer.tempo,
      loop: mixer.runLoop,
      end: mixer.runEnd,
      countIn: mixer.runCountIn,
      delay: mixer.outputDelay,
    };
    this.until = this.ctx.currentTime;
    if (this.timer === null) this.timer = window.setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  /* Clicks not heard yet follow the settings as they are now. */
  reschedule() {
    if (!this.run) return;
    const now = this.ctx.currentTime;
    this.cancel(now);
    this.until = now;
    this.tick();
  }

  tick() {
    const run = this.run;
    if (!run || !this.session.enabled) return; // listening early: the tools wait, so does this
    const now = this.ctx.currentTime;
    if (this.mixer.outputDelay !== run.delay) { // the stretcher came on or off the path
      run.delay = this.mixer.outputDelay;
      this.cancel(now);
      this.until = now;
    }
    const from = Math.max(this.until, now);
    const to = now + LOOKAHEAD;
    if (!(to > from)) return;
    clicksIn(run, this.grid(), from, to).forEach((click) => {
      if (click.countIn || this.state.on) this.play(click);
    });
    this.until = to;
    this.pending = this.pending.filter((p) => p.when > now - 1);
  }

  play(click) {
    const node = this.ctx.createBufferSource();
    node.buffer = click.accent ? this.sounds.accent : this.sounds.beat;
    node.connect(this.gain);
    node.start(click.when);
    this.pending.push({ node: node, when: click.when });
    this.log.push(click);
    if (this.log.length > LOG_KEPT) this.log.shift();
  }

  /* Stop the clicks due at or after ctx time `from`, and forget them. */
  cancel(from) {
    this.pending = this.pending.filter((p) => {
      if (p.when < from) return true;
      try {
        p.node.stop();
      } catch {
        /* never started */
      }
      p.node.disconnect();
      return false;
    });
    this.log = this.log.filter((c) => c.when < from);
  }

  /* ---- settings ------------------------------------------------------------------------ */

  setOn(on) {
    this.state.on = Boolean(on);
    this.reschedule();
  }

  setVolume(volume) {
    this.state.volume = Math.max(0, Math.min(1, volume));
    this.gain.gain.value = this.state.volume;
  }

  setBpm(bpm) {
    this.state.bpm = clampBpm(bpm);
    this.state.offset = normalOffset(this.state.offset, this.state.bpm, this.state.beatsPerBar);
    this.reschedule();
  }

  /* offset: song s of any bar's first beat */
  setOffset(offset) {
    this.state.offset = normalOffset(offset, this.state.bpm, this.state.beatsPerBar);
    this.reschedule();
  }

  setBeatsPerBar(count) {
    this.state.beatsPerBar = Math.max(1, Math.min(12, Math.round(count) || 4));
    this.state.offset = normalOffset(this.state.offset, this.state.bpm, this.state.beatsPerBar);
    this.reschedule();
  }

  setCountIn(bars) {
    this.state.countInBars = Math.max(0, Math.min(2, Math.round(bars) || 0));
    // a loop playing now is counted in from its next pass: restart it where it is
    if (this.mixer.playing && this.mixer.loop) this.mixer.setLoop(this.mixer.loop);
  }

  /* What tests and the curious read. */
  snapshot() {
    return {
      ...this.state,
      countIn: this.countIn(),
      run: this.run ? { ...this.run } : null,
    };
  }

  clicks() {
    return this.log.map((c) => ({ ...c }));
  }
}
