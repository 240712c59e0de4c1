/* The metronome's arithmetic, without the DOM or Web Audio (node --test tests/js/): the beat
 * grid of a song, which clicks fall in a window of the player's clock, how long a count-in
 * lasts, and how the grid is aligned (from the detected beats, a tap, a nudge).
 *
 * A grid is {bpm, offset, beatsPerBar}: beat n sounds at song time offset + n * 60 / bpm (n any
 * integer, negative before the offset), and beat n opens a bar when n is a multiple of
 * beatsPerBar (the accented click). A run is what mixer.js started: {startedAt (ctx time the
 * sources start), offset (song s they start from), tempo, loop ({start, end} looped natively,
 * or null), end (song s the run stops at, or null), countIn (real s counted in before
 * startedAt), delay (real s the output path holds the sound back)}. Seconds throughout.
 */

export const BPM_MIN = 30;
export const BPM_MAX = 300;
export const DEFAULT_BPM = 120; // where no tempo was detected
export const TAP_RESET = 2; // seconds: a tap after a longer pause starts a new count
const TAPS_KEPT = 8;
const EDGE = 1e-6; // seconds: a beat this close before a run's (or a pass's) start is on it

export function beatPeriod(bpm) {
  return 60 / bpm;
}

/* A BPM the controls take: within range, to a hundredth (a tenth off drifts by an eighth of a
 * beat over a three-minute song). */
export function clampBpm(bpm) {
  if (!Number.isFinite(bpm)) return DEFAULT_BPM;
  return Math.max(BPM_MIN, Math.min(BPM_MAX, Math.round(bpm * 100) / 100));
}

/* The bar's length in seconds. */
export function barSeconds(grid) {
  return grid.beatsPerBar * beatPeriod(grid.bpm);
}

/* The grid's downbeat moved into the first bar, [0, bar): the same grid, one way to write it. */
export function normalOffset(offset, bpm, beatsPerBar) {
  const bar = beatsPerBar * beatPeriod(bpm);
  const r = offset % bar;
  return r < 0 ? r + bar : r;
}

function isDownbeat(n, beatsPerBar) {
  return ((n % beatsPerBar) + beatsPerBar) % beatsPerBar === 0;
}

/* The grid's beats at song times in [from, to): [{time, beat, accent}], earliest first. */
export function beatsBetween(grid, from, to) {
  const p = beatPeriod(grid.bpm);
  const out = [];
  if (!(to > from) || !(p > 0)) return out;
  for (let n = Math.ceil((from - grid.offset) / p) - 1; ; n++) {
    const time = grid.offset + n * p;
    if (time >= to) break;
    if (time >= from) out.push({ time: time, beat: n, accent: isDownbeat(n, grid.beatsPerBar) });
  }
  return out;
}

/* Real seconds of a count-in of `bars` bars at the song's `bpm` played at `tempo`. */
export function countInSeconds(bars, beatsPerBar, bpm, tempo) {
  return (bars * beatsPerBar * beatPeriod(bpm)) / tempo;
}

/* The clicks of `run` whose ctx time falls in [from, to): [{when (ctx time), time (song s),
 * beat, accent, countIn}], in time order. The count-in carries the grid on before the run's
 * start (song times before its offset), so the music comes in on the beat the clicks promised;
 * a native loop repeats its beats on every pass; a run with an `end` stops there. Windows that
 * meet ([a, b) then [b, c)) give every click once. */
export function clicksIn(run, grid, from, to) {
  const tempo = run.tempo;
  const delay = run.delay || 0;
  const unfolded = (t) => run.offset + (t - delay - run.startedAt) * tempo; // song s, unlooped
  const at = (u) => run.startedAt + (u - run.offset) / tempo + delay;
  const u0 = unfolded(from);
  const u1 = unfolded(to);
  const out = [];
  // unfolded [a, b) holds song time u - shift; each edge a hair early, so that a beat on a
  // start computed a rounding error before it is still that start's
  const take = (a, b, shift, countIn) => {
    const lo = Math.max(a - EDGE, u0);
    const hi = Math.min(b - EDGE, u1);
    if (!(hi > lo)) return;
    beatsBetween(grid, lo - shift, hi - shift).forEach((b2) => {
      out.push({
        when: at(b2.time + shift), time: b2.time, beat: b2.beat, accent: b2.accent, countIn,
      });
    });
  };
  const lead = (run.countIn || 0) * tempo;
  if (lead > 0) take(run.offset - lead, run.offset, 0, true);
  const loop = run.loop;
  const firstEnd = loop ? loop.end : run.end === null || run.end === undefined ? Infinity : run.end;
  take(run.offset, firstEnd, 0, false);
  if (loop && loop.end > loop.start) {
    const span = loop.end - loop.start;
    // pass k (k >= 1) covers unfolded [loop.end + (k - 1) span, loop.end + k span)
    for (let k = Math.max(1, Math.floor((u0 - loop.end) / span)); loop.end + (k - 1) * span < u1; k++) {
      const a = loop.end + (k - 1) * span;
      take(a, a + span, a - loop.start, false);
    }
  }
  return out;
}

/* Seconds the beat tracker's beats fall after the notes they mark (librosa's onset envelope
 * peaks a little after an attack): measured with bench/metronome_grid.py, figures in
 * docs/performance.md. */
export const TRACKER_LAG = 0.045;

/* The chords' beats: each chord starts on a beat of the tracker that made them (chords.js's
 * list, sorted), TRACKER_LAG late; the first chord starts at 0 whatever the beat, so it is left
 * out. */
export function beatsFromChords(chords) {
  return (chords || []).slice(1).map((c) => c.start - TRACKER_LAG).filter((t) => t > 0);
}

/* Least squares y = intercept + slope x; null when the x are all alike. */
function lineFit(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  return { slope: slope, intercept: my - slope * mx };
}

const FIT_FIRST_BEATS = 8; // the first fit spans this many beats, each next one twice as many
const FIT_MAX_CHANGE = 0.08; // a fitted tempo further than this from the estimate is not taken
const FIT_MAX_RMS = 1 / 8; // nor one the beats miss by more than this much of a beat (RMS)

/* The tempo (BPM, unrounded) of beats `times` (song s, sorted) near the estimate `bpm`: the
 * estimate is an autocorrelation's, quantised (a 120 BPM song can come out at 117.45, 2 % slow:
 * half a beat off after 25 beats), while beats a song apart pin the period down. Each beat is
 * numbered from the first at the period so far and the period fitted to them (least squares),
 * over spans that double, so that the numbering stays right as the span grows. The estimate
 * where the beats do not fit it (too few, another tempo, no steady pulse). */
export function fitTempo(times, bpm) {
  if (times.length < 3 || !(bpm > 0)) return bpm;
  const first = times[0];
  const numbered = (p, span) => {
    const used = times.filter((t) => t - first <= span);
    return { xs: used.map((t) => Math.round((t - first) / p)), ys: used };
  };
  let p = beatPeriod(bpm);
  for (let span = FIT_FIRST_BEATS * p; ; span *= 2) {
    const { xs, ys } = numbered(p, span);
    const fit = lineFit(xs, ys);
    if (fit && fit.slope > 0) p = fit.slope;
    if (first + span >= times[times.length - 1]) break;
  }
  const { xs, ys } = numbered(p, Infinity);
  const fit = lineFit(xs, ys);
  if (!fit) return bpm;
  const rms = Math.sqrt(ys.reduce((sum, y, i) => {
    const miss = y - (fit.intercept + fit.slope * xs[i]);
    return sum + miss * miss;
  }, 0) / ys.length);
  const fitted = 60 / fit.slope;
  if (Math.abs(fitted / bpm - 1) > FIT_MAX_CHANGE || rms > FIT_MAX_RMS * fit.slope) return bpm;
  return fitted;
}

/* The grid's downbeat (in [0, bar)) that fits `times` (beats, in song s) at `bpm`: the beats'
 * phase is their circular mean modulo the period; the bar starts on the beat of the bar where
 * most of them fall (chords change on the bar's first beat more than on any other), the
 * earliest in the bar where two tie. 0 without times. */
export function alignGrid(times, bpm, beatsPerBar) {
  const p = beatPeriod(bpm);
  if (!times.length || !(p > 0)) return 0;
  let x = 0;
  let y = 0;
  times.forEach((t) => {
    x += Math.cos((2 * Math.PI * t) / p);
    y += Math.sin((2 * Math.PI * t) / p);
  });
  // to the microsecond: a phase a rounding error short of the period is 0
  const phase = Math.round(normalOffset((Math.atan2(y, x) / (2 * Math.PI)) * p, bpm, 1) * 1e6) / 1e6 % p;
  const votes = new Array(beatsPerBar).fill(0);
  times.forEach((t) => {
    const n = Math.round((t - phase) / p);
    if (Math.abs(t - (phase + n * p)) < p / 4) votes[((n % beatsPerBar) + beatsPerBar) % beatsPerBar] += 1;
  });
  const most = Math.max(...votes);
  const starts = votes.map((v, k) => (v === most ? normalOffset(phase + k * p, bpm, beatsPerBar) : Infinity));
  return Math.min(...starts);
}

/* Taps (real seconds, oldest first) -> the taps to keep: a pause longer than TAP_RESET starts
 * a new count, and only the last few count. */
export function keptTaps(taps) {
  let first = 0;
  for (let i = 1; i < taps.length; i++) if (taps[i] - taps[i - 1] > TAP_RESET) first = i;
  return taps.slice(Math.max(first, taps.length - TAPS_KEPT));
}

/* The song's BPM from taps (real seconds) made while it plays at `tempo`: the median interval
 * between the kept taps; null until there are two. */
export function tapTempo(taps, tempo) {
  const kept = keptTaps(taps);
  if (kept.length < 2) return null;
  const gaps = kept.slice(1).map((t, i) => t - kept[i]).sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  const gap = gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
  return clampBpm(60 / gap / (tempo || 1));
}
