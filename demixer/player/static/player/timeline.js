/* The player's time arithmetic, without the DOM or Web Audio (node --test tests/js/ runs it):
 * where the clock is in a loop, where a start or a seek lands, the A-B loop's edits, and when
 * each published piece of a running job starts on the one clock. Seconds unless named frames.
 */

export const MIN_LOOP = 0.1; // seconds: a shorter selection is taken for a click

/* A run's position `t` (seconds into the song, as if it did not loop) folded into `loop`. */
export function loopedPosition(t, loop, duration) {
  if (loop && t >= loop.end) t = loop.start + ((t - loop.start) % (loop.end - loop.start));
  return Math.min(t, duration);
}

/* Where playback asked to start at `offset` starts: within the song, from the top once at
 * its very end, and inside the loop if one is on. */
export function startOffset(offset, duration, loop) {
  offset = Math.max(0, Math.min(offset, duration));
  if (offset >= duration - 0.01) offset = 0;
  if (loop && (offset < loop.start || offset >= loop.end)) offset = loop.start;
  return offset;
}

/* A seek (a click, a key, the bar): clamped to the song. */
export function seekTarget(seconds, duration) {
  return Math.max(0, Math.min(seconds, duration));
}

/* The song time under x (CSS px) on a waveform whose box starts at `left` and is `width` wide. */
export function timeAt(x, left, width, duration) {
  return width > 0 ? ((x - left) / width) * duration : 0;
}

/* A loop from start to end within the song, or null when it is too short to be one. */
export function fitLoop(start, end, duration) {
  start = Math.max(0, Math.min(start, duration));
  end = Math.max(0, Math.min(end, duration));
  return end - start < MIN_LOOP ? null : { start: start, end: end };
}

/* "[": the loop's start at the playhead, its end kept if still after it, else the song's end. */
export function loopFromA(at, loop, duration) {
  const end = loop && loop.end - at >= MIN_LOOP ? loop.end : duration;
  return fitLoop(at, end, duration);
}

/* "]": the loop's end at the playhead, its start kept if still before it, else the song's
 * start. */
export function loopFromB(at, loop, duration) {
  const start = loop && at - loop.start >= MIN_LOOP ? loop.start : 0;
  return fitLoop(start, at, duration);
}

/* A published piece {start, end} (frames) on a run that started at ctx time `startedAt` from
 * frame `startFrame`, at `tempo`: {from (frame), offset (s into the piece), when (ctx time)},
 * or null when the run starts after the piece. Back-to-back pieces start on the exact frame
 * where the one before ends. */
export function pieceStart(piece, startFrame, startedAt, rate, tempo) {
  const from = Math.max(piece.start, startFrame);
  if (from >= piece.end) return null;
  return {
    from: from,
    offset: (from - piece.start) / rate,
    when: startedAt + (from - startFrame) / rate / tempo,
  };
}

/* The first ctx time on a sample frame at or after `t`: so every piece's start is one too. */
export function onFrame(t, rate) {
  return Math.ceil(t * rate) / rate;
}

/* ---- the waveforms' zoom: the part of the song drawn, {start, end} ---------------------- */

export const MIN_SPAN = 1; // seconds: the closest zoom shows this much of the song

/* The whole song. */
export function fullView(duration) {
  return { start: 0, end: Math.max(0, duration) };
}

/* The view zoomed by `factor` (> 1: closer) around song time `at`, which stays under the
 * same spot; kept within the song, never closer than MIN_SPAN nor wider than the song. */
export function zoomView(view, factor, at, duration) {
  const span = view.end - view.start;
  const wanted = Math.max(Math.min(MIN_SPAN, duration), Math.min(duration, span / factor));
  const share = span > 0 ? (at - view.start) / span : 0;
  return panTo(at - share * wanted, wanted, duration);
}

/* The view moved by `seconds` (negative: earlier), kept within the song. */
export function panView(view, seconds, duration) {
  return panTo(view.start + seconds, view.end - view.start, duration);
}

/* While playing: the view pages on when the playhead leaves it (or jumps to it). */
export function followView(view, position, duration) {
  const span = view.end - view.start;
  if (position >= view.start && position <= view.end) return view;
  return panTo(position - span * 0.1, span, duration);
}

function panTo(start, span, duration) {
  start = Math.max(0, Math.min(start, duration - span));
  return { start: start, end: start + span };
}

/* x (0..width) on a waveform showing `view` -> song time, and back. */
export function viewTime(x, width, view) {
  return width > 0 ? view.start + (x / width) * (view.end - view.start) : view.start;
}

export function viewX(t, width, view) {
  const span = view.end - view.start;
  return span > 0 ? ((t - view.start) / span) * width : 0;
}

/* The peaks (over the whole song, `n` of them) that fall in `view`: [first, last) indices. */
export function peakRange(n, view, duration) {
  if (!(duration > 0)) return [0, n];
  const first = Math.max(0, Math.floor((view.start / duration) * n));
  const last = Math.min(n, Math.max(first + 1, Math.ceil((view.end / duration) * n)));
  return [first, last];
}
