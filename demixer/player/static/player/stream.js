/* Listen while it separates: the player's audio while the job still runs (an ES module).
 *
 * The worker publishes each final piece of every stem as raw float32 (planar: stem by stem,
 * channel by channel; see demixer/separation/pieces.py). LiveMixer turns each one into one
 * AudioBuffer per stem, without decoding or resampling (the context runs at the pieces' own
 * rate), and schedules them back to back on the one clock: piece i + 1 starts on the exact
 * sample frame where piece i ends, so the joins are sample-exact. What is not ready yet is
 * waited for: a seek past the ready part (or playback that catches up with the separation)
 * waits there until the piece arrives, and then until `gate` says the rest can play through
 * (the buffering rule, buffering.js, applied by live.js). When the job is done the complete stems (the
 * previews) are loaded and swapped in at a scheduled instant, without a break in playback.
 *
 * followJob() polls the status endpoint, fetches new pieces in order and tells the page.
 */
import { finished } from "../separation/finish_notice.js";
import { Mixer, START_LEAD } from "./mixer.js";
import { onFrame, pieceStart, startOffset } from "./timeline.js";
const POLL_FASTEST = 700;
const POLL_SLOWEST = 2500; // buffering.js counts on a piece being seen within LATENCY_S

/* The AudioBuffers of one piece file: {stem name: AudioBuffer}; throws if its size is wrong. */
export function pieceBuffers(bytes, names, channels, frames, rate) {
  const samples = new Float32Array(bytes); // little-endian, as every browser's platform
  if (samples.length !== names.length * channels * frames) {
    throw new Error("a piece of the wrong size (" + samples.length + " samples)");
  }
  const buffers = {};
  names.forEach((name, s) => {
    const buffer = new AudioBuffer({ numberOfChannels: channels, length: frames, sampleRate: rate });
    for (let c = 0; c < channels; c++) {
      const from = (s * channels + c) * frames;
      buffer.copyToChannel(samples.subarray(from, from + frames), c);
    }
    buffers[name] = buffer;
  });
  return buffers;
}

export class LiveMixer extends Mixer {
  /* stems as Mixer's; live: the status endpoint's "ready" object (rate, channels, stems, …). */
  constructor(stems, live) {
    super(stems, live.total_seconds);
    this.stems.forEach((stem) => { stem.sources = []; });
    this.rate = live.rate;
    this.channels = live.channels;
    this.names = live.stems;
    this.claim = live.claim;
    this.totalFrames = Math.round(live.total_seconds * live.rate);
    this.pieces = []; // {index, start, end, buffers}, back to back from frame 0
    this.readyFrames = 0;
    this.startFrame = 0; // the frame the current run started from
    this.waitingAt = null; // seconds: playing is wanted from there once it is ready
    this.ended = false; // no more pieces will come (the job stopped without finishing)
    this.complete = false; // swapped to the complete stems: a plain Mixer from then on
    this.scheduled = []; // every piece source scheduled: what tests and the curious read
    this.retiring = []; // piece sources told to stop at the swap
    this.swap = null; // {when, at, scheduledAt}: the swap to the complete stems, if it played
    this.onWaiting = () => {};
    this.onReady = () => {}; // a new piece is in (readyFrames grew)
    // may playback start (or resume) from `seconds` now? live.js's buffering rule
    this.gate = () => true;
    this.runs = []; // every run started: {at (song s), when (ctx time), forced}
    this.stalls = 0; // runs that caught up with the separation and had to wait
  }

  /* One clock at the pieces' own rate: no resampling, so the joins stay sample-exact. */
  open() {
    return super.open(this.rate);
  }

  readySeconds() {
    return this.complete ? this.duration : this.readyFrames / this.rate;
  }

  /* A new claim (the worker died and another one started over): drop the old one's audio. */
  restart(claim) {
    const wasPlaying = this.playing;
    const at = this.position();
    this.stopSources();
    this.claim = claim;
    this.pieces = [];
    this.readyFrames = 0;
    if (wasPlaying) this.wait(at);
  }

  addPiece(published, bytes) {
    if (published.start !== this.readyFrames) throw new Error("pieces out of order");
    const frames = published.end - published.start;
    const piece = {
      index: published.index,
      start: published.start,
      end: published.end,
      buffers: pieceBuffers(bytes, this.names, this.channels, frames, this.rate),
    };
    this.pieces.push(piece);
    this.readyFrames = piece.end;
    this.ready = true;
    this.onReady();
    if (this.complete || !this.playing) return;
    if (this.waitingAt !== null) {
      this.resume(false);
    } else if (!this.schedule(piece)) {
      this.startAt(this.position(), undefined, true); // too late to join: again from here
    }
  }

  /* Waiting: start from there if it is ready and (unless forced) the gate agrees. */
  resume(force) {
    if (this.complete || this.waitingAt === null) return false;
    if (Math.round(this.waitingAt * this.rate) >= this.readyFrames) return false;
    if (!force && !this.gate(this.waitingAt)) return false;
    this.startAt(this.waitingAt, undefined, true);
    this.runs[this.runs.length - 1].forced = Boolean(force);
    return true;
  }

  /* Start every stem's part of one piece on the current run's clock; false if too late. */
  schedule(piece) {
    // at a tempo other than 1 (practice.js) the pieces follow it; a loop waits for the
    // complete stems (a loop's end may not be separated yet)
    const start = pieceStart(piece, this.startFrame, this.startedAt, this.rate, this.tempo);
    if (start === null) return true;
    const from = start.from;
    const when = start.when;
    if (when < this.ctx.currentTime) return false;
    const gen = this.generation;
    this.stems.forEach((stem) => {
      const src = this.ctx.createBufferSource();
      src.buffer = piece.buffers[stem.name];
      src.playbackRate.value = this.tempo;
      src.connect(stem.gain);
      src.onended = () => {
        stem.sources = stem.sources.filter((x) => x !== src);
        if (gen === this.generation && this.playing && !this.stems.some((x) => x.sources.length)) {
          this.ranOut();
        }
      };
      src.start(when, start.offset);
      stem.sources.push(src);
    });
    this.scheduled.push({
      index: piece.index,
      when: when,
      offset: from - piece.start,
      frames: piece.end - from,
      at: this.ctx.currentTime,
      run: gen,
    });
    return true;
  }

  /* The last scheduled piece ended: the track's end, or the edge of what is ready. */
  ranOut() {
    if (this.readyFrames >= this.totalFrames || this.ended) {
      this.finished();
    } else {
      this.stalls += 1;
      this.wait(this.readyFrames / this.rate);
    }
  }

  wait(seconds) {
    this.stopSources();
    this.playing = true;
    this.waitingAt = seconds;
    this.pausedAt = seconds;
    this.onWaiting(true);
    this.onTransport();
  }

  stopSources() {
    super.stopSources();
    this.stems.forEach((stem) => {
      stem.sources.forEach((src) => {
        src.onended = null;
        try {
          src.stop();
        } catch {
          /* never started */
        }
        src.disconnect();
      });
      stem.sources = [];
    });
  }

  /* force: start even if the gate says wait (the rule was already applied, or overruled) */
  startAt(offset, when, force) {
    if (this.complete) {
      super.startAt(offset, when);
      return;
    }
    this.stopSources();
    offset = startOffset(offset, this.duration, null);
    const frame = Math.round(offset * this.rate);
    if (frame >= this.readyFrames || (!force && !this.gate(offset))) {
      this.wait(offset);
      return;
    }
    if (this.waitingAt !== null) {
      this.waitingAt = null;
      this.onWaiting(false);
    }
    // on a sample frame, so that every piece's start is one too
    this.startedAt = onFrame(this.ctx.currentTime + START_LEAD, this.rate);
    this.startFrame = frame;
    this.startOffset = frame / this.rate;
    this.runLoop = null;
    this.playing = true;
    this.runs.push({ at: this.startOffset, when: this.startedAt, forced: false });
    this.pieces.forEach((piece) => {
      if (piece.end > frame) this.schedule(piece);
    });
    this.onSources(this.startedAt, this.startOffset);
    this.onTransport();
  }

  position() {
    if (this.complete) return super.position();
    if (!this.playing) return this.pausedAt;
    if (this.waitingAt !== null) return this.waitingAt;
    const t = this.startOffset + Math.max(0, this.ctx.currentTime - this.startedAt) * this.tempo;
    return Math.min(t, this.readyFrames / this.rate, this.duration);
  }

  pause() {
    const waiting = this.waitingAt !== null;
    super.pause();
    this.waitingAt = null;
    if (waiting) this.onWaiting(false);
  }

  /* The job is done: decode the complete stems (previews) and swap them in on one scheduled
   * frame, the piece sources stopping on that same frame. */
  switchToComplete(urls) {
    this.stems.forEach((stem) => { stem.url = urls[stem.name]; });
    return Promise.all(this.stems.map((stem) => this.loadStem(stem))).then(() => {
      const longest = this.stems.reduce((m, s) => Math.max(m, s.buffer.duration), 0);
      const playing = this.playing && this.waitingAt === null;
      const waitingAt = this.waitingAt;
      if (playing) {
        const when = onFrame(this.ctx.currentTime + START_LEAD, this.rate);
        const at = this.startOffset + (when - this.startedAt) * this.tempo;
        this.stems.forEach((stem) => {
          stem.sources.forEach((src) => {
            src.onended = null;
            src.stop(when);
            this.retiring.push(src);
          });
          stem.sources = [];
        });
        this.complete = true;
        if (longest > 0) this.duration = longest;
        this.swap = { when: when, at: at, scheduledAt: this.ctx.currentTime };
        super.startAt(at, when);
      } else {
        this.stopSources();
        this.complete = true;
        if (longest > 0) this.duration = longest;
        if (waitingAt !== null) {
          this.waitingAt = null;
          this.onWaiting(false);
          super.startAt(waitingAt);
        }
      }
      this.pieces = []; // the complete stems hold all of it now
      this.ready = true;
    });
  }

  /* What tests and the curious read: where the live audio stands. */
  liveState() {
    return {
      rate: this.rate,
      contextRate: this.ctx ? this.ctx.sampleRate : null,
      claim: this.claim,
      readyFrames: this.readyFrames,
      totalFrames: this.totalFrames,
      pieces: this.pieces.map((p) => ({ index: p.index, start: p.start, end: p.end })),
      scheduled: this.scheduled.slice(),
      waitingAt: this.waitingAt,
      complete: this.complete,
      ended: this.ended,
      swap: this.swap,
      runs: this.runs.slice(),
      stalls: this.stalls,
    };
  }

  /* SHA-256 (hex) of piece ``index``'s samples as this page holds them, in the file's
   * layout: that the page plays exactly what was published can be checked against the file. */
  digest(index) {
    const piece = this.pieces.find((x) => x.index === index);
    if (!piece) return Promise.resolve(null);
    const frames = piece.end - piece.start;
    const all = new Float32Array(this.names.length * this.channels * frames);
    this.names.forEach((name, s) => {
      for (let c = 0; c < this.channels; c++) {
        piece.buffers[name].copyFromChannel(all.subarray((s * this.channels + c) * frames,
          (s * this.channels + c + 1) * frames), c);
      }
    });
    return crypto.subtle.digest("SHA-256", all.buffer).then((hash) =>
      Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join(""));
  }
}


/* Follow a running job: new pieces into the mixer, in order; hooks tell the page.
 * hooks: {progress(status), peaks({stem: [..]}), done(status), stopped(status), failed(err)} */
export function followJob(statusUrl, mixer, hooks) {
  let delay = POLL_FASTEST;
  let fetching = Promise.resolve();
  let nextIndex = 0;

  function fetchPiece(piece) {
    return fetch(piece.url, { credentials: "same-origin" }).then((resp) => {
      if (!resp.ok) throw new Error("the server answered " + resp.status);
      return resp.arrayBuffer();
    }).then((bytes) => mixer.addPiece(piece, bytes));
  }

  function take(ready) {
    if (ready.claim !== mixer.claim) {
      mixer.restart(ready.claim);
      nextIndex = 0;
    }
    const claim = ready.claim;
    const fresh = ready.pieces.filter((piece) => piece.index >= nextIndex);
    if (fresh.length) nextIndex = fresh[fresh.length - 1].index + 1;
    fresh.forEach((piece) => {
      fetching = fetching.then(() => (mixer.claim === claim ? fetchPiece(piece) : null));
    });
    hooks.peaks(ready.peaks);
    return fetching;
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((resp) => {
        if (!resp.ok) throw new Error("status " + resp.status);
        return resp.json();
      })
      .then((s) => {
        hooks.progress(s);
        if (s.status === "done") {
          finished(true); // finish_notice.js tells a person who left the tab
          hooks.done(s);
          return;
        }
        if (s.status === "failed" || s.status === "cancelled") {
          mixer.ended = true; // what was heard was final audio; nothing more comes
          if (s.status === "failed") finished(false);
          hooks.stopped(s);
          return;
        }
        const before = nextIndex;
        if (s.status === "running" && s.ready) take(s.ready).catch(hooks.failed);
        delay = nextIndex > before ? POLL_FASTEST : Math.min(POLL_SLOWEST, delay * 1.3);
        setTimeout(poll, delay);
      })
      .catch(() => {
        delay = Math.min(POLL_SLOWEST, delay * 2);
        setTimeout(poll, delay);
      });
  }

  return {
    start(initial) {
      take(initial).catch(hooks.failed);
      setTimeout(poll, delay);
      return fetching;
    },
  };
}
