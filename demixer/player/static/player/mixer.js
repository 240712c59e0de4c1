/* The result page's clock and mixer: every stem plays from ONE AudioContext clock.
 *
 * Each preview is fetched and decoded into an AudioBuffer, and on play (or seek) one
 * AudioBufferSourceNode per stem is started at the same ctx.currentTime with the same offset.
 * Separate <audio> elements drift apart; this cannot.
 *
 *   source(stem) -> GainNode(stem) -> master GainNode -> destination
 *
 * A stem's effective gain is 0 when it is muted, or when any stem is soloed and it is not
 * (mute wins over solo, like a mixing desk); otherwise it is the stem's volume.
 *
 * Nothing here touches the page: the page (player.js) gives the stems' names and preview URLs,
 * calls play/pause/seek and the gain setters, and is told through onTransport and onGains.
 */

import { loopedPosition, seekTarget, startOffset } from "./timeline.js";

export const START_LEAD = 0.06; // seconds ahead, so every source is scheduled before the start time

/* Every stem is held decoded in memory (float32, stereo) so they can share one clock; for a
 * long track that is a lot, so the player's rate drops (to no less than 22.05 kHz) to keep it
 * near MEMORY_BUDGET. Only what you hear here is affected: downloads stay full quality. */
export const MEMORY_BUDGET = 700 * 1024 * 1024;

export function contextRate(seconds, count) {
  const bytesPerSecondAtOneHz = Math.max(1, seconds) * Math.max(1, count) * 2 * 4;
  const rate = Math.floor(MEMORY_BUDGET / bytesPerSecondAtOneHz);
  return Math.max(22050, Math.min(44100, rate));
}

export function effectiveGain(stem, anySolo) {
  if (stem.muted) return 0;
  if (anySolo && !stem.soloed) return 0;
  return stem.volume;
}

export class Mixer {
  /* stems: [{name, label, url, volume}]; duration: the track's length in seconds, until the
   * decoded buffers tell the real one. */
  constructor(stems, duration) {
    this.stems = stems.map((s) => ({
      name: s.name,
      label: s.label,
      url: s.url,
      volume: s.volume,
      muted: false,
      soloed: false,
      gain: null, // GainNode
      input: null, // the node its sources feed, when not the gain (compare.js's A/B switch)
      buffer: null, // AudioBuffer
      source: null, // the live AudioBufferSourceNode
      sourceStart: 0, // ctx time the source was scheduled to start
      sourceOffset: 0, // offset into the buffer it started from
    }));
    this.duration = duration || 0;
    this.ctx = null;
    this.master = null;
    this.playing = false;
    this.ready = false;
    this.startedAt = 0; // ctx time the current sources were scheduled to start
    this.startOffset = 0; // offset into the buffers the current sources started from
    this.pausedAt = 0; // position while paused
    this.generation = 0; // bumps on every (re)start, so "ended" from stopped sources is ignored
    this.onTransport = () => {}; // playing or position changed by a start, pause, seek or end
    this.onGains = () => {}; // a volume, mute or solo changed
    // practice tools (practice.js): every source plays at `tempo` times the speed (the clock's
    // position then advances at tempo x real time), and loops natively between loop.start and
    // loop.end (seconds) while `loop` is set; onSources(when, offset) follows each (re)start,
    // onSources(null) each stop, so other sources (the original) can share the run
    this.tempo = 1;
    this.loop = null;
    this.runLoop = null; // the loop the current sources were started with
    this.onSources = () => {};
    // seconds of real time the output path holds the sound back (the time-stretcher's latency
    // while it runs; practice.js sets it): what is heard is that far behind the sources
    this.outputDelay = 0;
    // the metronome's count-in (metronome.js): real seconds to count in before a run that
    // play() starts, and before each pass of a loop, which then plays once per pass (restarted
    // here after each count-in) instead of looping natively; 0 for none
    this.countIn = () => 0;
    this.nextCountIn = 0; // the count-in the next startAt() follows
    this.runCountIn = 0; // the count-in before the current run's start
    this.runEnd = null; // song s where the current run stops (a counted-in loop's end), or null
  }

  stem(name) {
    return this.stems.find((s) => s.name === name);
  }

  /* The AudioContext and the gain graph; false where the browser has no Web Audio. rate: the
   * context's sample rate (stream.js asks for its pieces' own), else one that fits memory. */
  open(rate) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    try {
      this.ctx = new Ctx({ sampleRate: rate || contextRate(this.duration, this.stems.length) });
    } catch {
      this.ctx = new Ctx(); // an engine without the options argument
    }
    this.master = this.ctx.createGain();
    this.master.connect(this.ctx.destination);
    this.stems.forEach((stem) => {
      stem.gain = this.ctx.createGain();
      stem.gain.connect(this.master);
    });
    this.applyGains();
    return true;
  }

  /* Fetch and decode every preview, telling onLoaded(stem) or onFailed(stem) of each. Resolves
   * once all are in (the duration is then the longest buffer's); rejects with a sentence naming
   * the first stem that failed. */
  load(onLoaded, onFailed) {
    return Promise.all(
      this.stems.map((stem) =>
        this.loadStem(stem).then(
          () => onLoaded(stem),
          (err) => {
            onFailed(stem);
            throw err;
          },
        ),
      ),
    ).then(() => {
      const longest = this.stems.reduce((m, s) => Math.max(m, s.buffer.duration), 0);
      if (longest > 0) this.duration = longest;
      this.ready = true;
    });
  }

  loadStem(stem) {
    return fetch(stem.url, { credentials: "same-origin" })
      .then((resp) => {
        if (!resp.ok) throw new Error("the server answered " + resp.status);
        return resp.arrayBuffer();
      })
      .then((bytes) => this.ctx.decodeAudioData(bytes))
      .then((buffer) => {
        stem.buffer = buffer;
        return buffer;
      })
      .catch((err) => {
        throw new Error(
          "Couldn't load the " + stem.label.toLowerCase() + " preview (" +
            (err && err.message ? err.message : "decoding failed") + ").",
        );
      });
  }

  position() {
    if (!this.playing) return this.pausedAt;
    return this.runPosition(Math.max(0, this.ctx.currentTime - this.startedAt));
  }

  /* The song's position `ran` real seconds into the current run (held at its start while it
   * counts in, and at its end once a counted-in loop's pass is over). */
  runPosition(ran) {
    const t = this.startOffset + ran * this.tempo;
    return loopedPosition(this.runEnd === null ? t : Math.min(t, this.runEnd), this.runLoop,
      this.duration);
  }

  /* Where what is heard is: position() as it was `outputDelay` seconds ago (the playhead, the
   * time shown and "set the loop here" follow the ear, not the sources). */
  heardPosition() {
    if (!this.playing || !(this.outputDelay > 0)) return this.position();
    return this.runPosition(Math.max(0, this.ctx.currentTime - this.startedAt - this.outputDelay));
  }

  /* ---- gains ------------------------------------------------------------------------- */

  gainOf(stem) {
    return effectiveGain(stem, this.stems.some((s) => s.soloed));
  }

  applyGains() {
    this.stems.forEach((stem) => {
      if (!stem.gain) return;
      stem.gain.gain.cancelScheduledValues(0);
      stem.gain.gain.value = this.gainOf(stem);
    });
    this.onGains();
  }

  setVolume(name, volume) {
    this.stem(name).volume = volume;
    this.applyGains();
  }

  toggleMute(name) {
    const stem = this.stem(name);
    stem.muted = !stem.muted;
    this.applyGains();
  }

  toggleSolo(name) {
    const stem = this.stem(name);
    stem.soloed = !stem.soloed;
    this.applyGains();
  }

  /* ---- transport --------------------------------------------------------------------- */

  stopSources() {
    this.generation += 1;
    this.stems.forEach((stem) => {
      if (stem.source) {
        stem.source.onended = null;
        try {
          stem.source.stop();
        } catch {
          /* never started */
        }
        stem.source.disconnect();
        stem.source = null;
      }
    });
    this.onSources(null);
  }

  /* when: the ctx time to start at (default: just ahead of now); stream.js passes one to swap
   * its pieces for the complete stems on one frame */
  startAt(offset, when) {
    this.stopSources();
    const loop = this.loop;
    // a loop counted in before each pass plays one pass, then startAt again (passEnded)
    const pass = loop && this.countIn() > 0 ? loop : null;
    offset = startOffset(offset, this.duration, loop);
    const gen = this.generation;
    when = when === undefined ? this.ctx.currentTime + START_LEAD : when;
    const stopAt = pass ? when + (pass.end - offset) / this.tempo : null;
    this.stems.forEach((stem) => {
      if (!stem.buffer) return;
      const src = this.ctx.createBufferSource();
      src.buffer = stem.buffer;
      src.playbackRate.value = this.tempo;
      if (loop && !pass) {
        src.loop = true;
        src.loopStart = loop.start;
        src.loopEnd = loop.end;
      }
      src.connect(stem.input || stem.gain);
      src.onended = () => {
        // stems can differ by a few samples: the run is over when the last one ends
        stem.source = null;
        if (gen === this.generation && this.playing && !this.stems.some((x) => x.source)) {
          if (this.runEnd !== null) this.passEnded();
          else this.finished();
        }
      };
      src.start(when, Math.min(offset, stem.buffer.duration));
      if (stopAt !== null) src.stop(stopAt);
      stem.source = src;
      stem.sourceStart = when;
      stem.sourceOffset = offset;
    });
    this.startedAt = when;
    this.startOffset = offset;
    this.runLoop = pass ? null : loop;
    this.runEnd = pass ? pass.end : null;
    this.runCountIn = this.nextCountIn;
    this.nextCountIn = 0;
    this.playing = true;
    this.onSources(when, offset);
    this.onTransport();
  }

  /* Start from `offset` once the metronome has counted in (from just ahead of now). */
  countedStart(offset) {
    const lead = this.countIn();
    this.nextCountIn = lead;
    this.startAt(offset, this.ctx.currentTime + START_LEAD + lead);
  }

  /* A counted-in loop's pass is over: the next one from the loop's start, after its count-in
   * (which begins as soon as it can be scheduled: the loop's end need not fall on a beat, so
   * there is no beat to keep across the gap). */
  passEnded() {
    this.countedStart(this.loop ? this.loop.start : this.runEnd);
  }

  finished() {
    this.stopSources();
    this.playing = false;
    this.pausedAt = 0;
    this.onTransport();
  }

  play() {
    if (!this.ready || this.playing) return Promise.resolve();
    return this.ctx.resume().then(() => {
      this.countedStart(this.pausedAt);
    });
  }

  pause() {
    if (!this.playing) return;
    this.pausedAt = this.position();
    this.stopSources();
    this.playing = false;
    this.onTransport();
  }

  toggle() {
    if (this.playing) {
      this.pause();
      return Promise.resolve();
    }
    return this.play();
  }

  seek(seconds) {
    seconds = seekTarget(seconds, this.duration);
    if (this.playing) {
      this.startAt(seconds);
    } else {
      this.pausedAt = seconds;
      this.onTransport();
    }
  }

  /* Practice tools: a new tempo or loop restarts the sources where the clock is, so that
   * every stem (and the position) stays on the one clock. loop: {start, end} or null. */
  setTempo(tempo) {
    const at = this.position();
    this.tempo = tempo;
    if (this.playing) this.startAt(at);
  }

  setLoop(loop) {
    const at = this.position();
    this.loop = loop;
    if (this.playing) this.startAt(at);
  }

  /* ---- what tests and the curious read --------------------------------------------- */

  /* stem name -> the GainNode's gain.value right now (what is audible, before the master) */
  gains() {
    const out = {};
    this.stems.forEach((s) => {
      out[s.name] = s.gain ? s.gain.gain.value : null;
    });
    return out;
  }

  /* the live sources: when each was scheduled to start (ctx time) and from which offset */
  sources() {
    return this.stems
      .filter((s) => s.source)
      .map((s) => ({
        stem: s.name,
        startTime: s.sourceStart,
        offset: s.sourceOffset,
        rate: s.source.playbackRate.value,
        loop: s.source.loop ? [s.source.loopStart, s.source.loopEnd] : null,
      }));
  }
}
