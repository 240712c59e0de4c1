/* Listening while it separates: when may playback start (or resume) without stopping again?
 * (An ES module without the DOM: node --test tests/js/ runs it.)
 *
 * The separation publishes the song in pieces, in order. When it runs slower than real time,
 * playing as soon as a piece is there is stop-and-go: the playhead catches up with the ready
 * edge after every piece. Video players buffer instead: start when, at the measured rate, the
 * rest of the song can play through. That is this arithmetic:
 *
 *   ready(t) >= r0 + rate * (t - latency) - piece   (pieces land in steps, seen by polling)
 *   playhead(t) = position + speed * (t - wait)
 *
 * and playback must never overtake what is ready before the last piece is in. With the rate
 * below the speed, the binding moment is the end of the song; above it, the first piece.
 * Times are seconds; `speed` is song seconds per wall second (the tempo).
 */

export const LATENCY_S = 3; // the poll (stream.js: 2.5 s apart at most) and the fetch of a piece
const WINDOW = 6; // the rate is measured over the last pieces seen, at most this many intervals
const RATE_MARGIN = 0.9; // assume the separation a little slower than measured

/* Song seconds separated per wall second, from the pieces seen: [{t (wall s), ready (song s)}]
 * with ready growing, over the last few; at least two intervals (a single one is mostly the
 * first model call's start-up and the poll's jitter); until then `estimate`, the job's own
 * (rateFromEta), or null. */
export function measureRate(arrivals, estimate) {
  const seen = arrivals.slice(-(WINDOW + 1));
  let measured = null;
  if (seen.length >= 3) {
    const first = seen[0];
    const last = seen[seen.length - 1];
    const wall = last.t - first.t;
    if (wall > 0 && last.ready > first.ready) measured = (last.ready - first.ready) / wall;
  }
  if (measured !== null) return measured;
  return estimate > 0 ? estimate : null;
}

/* The rate the job's own estimate of its time left implies. `ready` is published a little
 * after the progress that `etaSeconds` was worked out from, so up to a piece of what is left
 * may already be separated: counting it as left would overstate the rate. */
export function rateFromEta(total, ready, piece, etaSeconds) {
  const left = total - ready - piece;
  return etaSeconds > 0 && left > 0 ? left / etaSeconds : null;
}

/* The longest piece's length (song seconds): the step the ready edge takes. pieces: [{start,
 * end}] in frames at `rate`. */
export function pieceLength(pieces, rate) {
  return pieces.reduce((m, p) => Math.max(m, (p.end - p.start) / rate), 0);
}

/* When playback from `position` may start, counted from the moment the last piece was seen:
 * {wait (s, 0: now), stallAt (song s where starting now would stop, or null: it would not),
 * known (false: no rate yet, start now and hope)}.
 * plan: {ready, total, position, rate, speed = 1, piece, latency = LATENCY_S} */
export function planStart(plan) {
  const total = plan.total;
  const ready = Math.min(plan.ready, total);
  const position = Math.max(0, Math.min(plan.position, total));
  const speed = plan.speed > 0 ? plan.speed : 1;
  const piece = Math.max(0, plan.piece || 0);
  const latency = plan.latency === undefined ? LATENCY_S : plan.latency;
  if (ready >= total) return { wait: 0, stallAt: null, known: true };
  if (!(plan.rate > 0)) return { wait: 0, stallAt: position < ready ? ready : position, known: false };
  const rate = plan.rate * RATE_MARGIN;
  // the moment the last piece is in (the song is all ready), from now
  const allIn = (total - ready) / rate + latency;
  // end: the playhead may reach the last piece's start only once that piece is in
  const forEnd = allIn - Math.max(0, total - piece - position) / speed;
  // start: what is ready now must last until the next piece is seen
  const forStart = (position - ready) / speed + piece / rate + latency;
  const wait = Math.max(0, forEnd, forStart);
  return { wait: wait, stallAt: wait > 0 ? stallPosition(ready, position, rate, speed, piece, latency) : null, known: true };
}

/* Where playback started now from `position` would catch up with what is ready (song s). */
export function stallPosition(ready, position, rate, speed, piece, latency) {
  if (position >= ready) return position;
  // until the first new piece is seen, only `ready` is there
  const firstNew = latency + piece / rate;
  if (position + speed * firstNew >= ready || speed <= rate) return ready;
  // then the ready edge grows at `rate` (one piece behind, at worst)
  const t = (ready - piece - rate * latency - position) / (speed - rate);
  return Math.max(ready, position + speed * t);
}

/* One line for the person: "Plays through from 0:00 in about 40 s" / "Starts now, may pause
 * at 1:10". fmt: seconds -> "m:ss". */
export function planText(plan, at, fmt) {
  if (!plan.known) return "";
  if (plan.wait <= 0) return "";
  return "Plays through from " + fmt(at) + " in about " + Math.ceil(plan.wait) + " s" +
    (plan.stallAt !== null ? "; starting now may pause at " + fmt(plan.stallAt) : "") + ".";
}
