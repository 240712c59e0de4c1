// The player's time arithmetic (timeline.js): loops, starts, seeks, the A-B edits, and when
// each piece of a running job starts on the one clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MIN_LOOP, fitLoop, loopFromA, loopFromB, loopedPosition, onFrame, pieceStart, seekTarget,
  startOffset, timeAt,
} from "../../demixer/player/static/player/timeline.js";

test("a run's position folds into its loop, and stops at the song's end", () => {
  const loop = { start: 10, end: 14 };
  assert.equal(loopedPosition(12, loop, 60), 12);
  assert.equal(loopedPosition(14, loop, 60), 10);
  assert.equal(loopedPosition(19, loop, 60), 11);
  assert.equal(loopedPosition(70, null, 60), 60);
  assert.equal(loopedPosition(3, loop, 60), 3); // before the loop: as it is
});

test("a start lands in the song, from the top at its end, and inside a loop", () => {
  assert.equal(startOffset(-2, 60, null), 0);
  assert.equal(startOffset(30, 60, null), 30);
  assert.equal(startOffset(59.995, 60, null), 0);
  assert.equal(startOffset(80, 60, null), 0);
  assert.equal(startOffset(5, 60, { start: 10, end: 14 }), 10);
  assert.equal(startOffset(12, 60, { start: 10, end: 14 }), 12);
  assert.equal(startOffset(14, 60, { start: 10, end: 14 }), 10);
  assert.equal(seekTarget(-1, 60), 0);
  assert.equal(seekTarget(61, 60), 60);
  assert.equal(timeAt(150, 100, 200, 60), 15);
  assert.equal(timeAt(150, 100, 0, 60), 0);
});

test("A-B loop edits", () => {
  assert.equal(fitLoop(5, 5 + MIN_LOOP / 2, 60), null); // a click, not a loop
  assert.deepEqual(fitLoop(-3, 70, 60), { start: 0, end: 60 });
  // [ with no loop: from the playhead to the end; ] keeps a start before it
  assert.deepEqual(loopFromA(20, null, 60), { start: 20, end: 60 });
  assert.deepEqual(loopFromA(20, { start: 10, end: 30 }, 60), { start: 20, end: 30 });
  assert.deepEqual(loopFromA(35, { start: 10, end: 30 }, 60), { start: 35, end: 60 });
  assert.deepEqual(loopFromB(25, { start: 10, end: 30 }, 60), { start: 10, end: 25 });
  assert.deepEqual(loopFromB(5, { start: 10, end: 30 }, 60), { start: 0, end: 5 });
  assert.equal(loopFromB(0, null, 60), null);
});

test("pieces start back to back on exact frames, at any tempo", () => {
  const rate = 44100;
  const pieces = [{ start: 0, end: 257985 }, { start: 257985, end: 515970 },
    { start: 515970, end: 700000 }];
  for (const tempo of [1, 0.75, 1.25]) {
    const startedAt = onFrame(3.01, rate);
    const starts = pieces.map((p) => pieceStart(p, 0, startedAt, rate, tempo));
    for (let i = 1; i < pieces.length; i++) {
      const frames = pieces[i - 1].end - pieces[i - 1].start;
      const gap = (starts[i].when - starts[i - 1].when) * rate * tempo - frames;
      assert.ok(Math.abs(gap) < 1e-6, [tempo, i, gap]);
      assert.equal(starts[i].offset, 0);
    }
  }
  // a run from the middle of a piece: that piece from there, the ones before not at all
  const mid = pieceStart(pieces[1], 300000, 10, rate, 1);
  assert.equal(mid.from, 300000);
  assert.equal(mid.when, 10);
  assert.ok(Math.abs(mid.offset - (300000 - 257985) / rate) < 1e-12);
  assert.equal(pieceStart(pieces[0], 300000, 10, rate, 1), null);
  assert.equal(onFrame(1.00001, rate) * rate, Math.ceil(1.00001 * rate));
});
