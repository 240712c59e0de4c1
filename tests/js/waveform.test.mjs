// A waveform's bars (waveform.js): which peaks each covers, how tall it is, where the playhead
// is drawn. Run by `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  barHalfHeight, barLayout, loudestUnder, peakIndex, playheadLeft,
} from "../../demixer/player/static/player/waveform.js";

test("bars are 2 CSS px with a 1 px gap, never thinner than a device pixel", () => {
  assert.deepEqual(barLayout(1), { bar: 2, gap: 1, step: 3 });
  assert.deepEqual(barLayout(2), { bar: 4, gap: 2, step: 6 });
  assert.deepEqual(barLayout(0.25), { bar: 1, gap: 1, step: 2 });
});

test("the peak under x follows the part of the song shown", () => {
  const whole = { start: 0, end: 200 };
  assert.equal(peakIndex(0, 1000, 800, whole, 200), 0);
  assert.equal(peakIndex(500, 1000, 800, whole, 200), 400);
  assert.equal(peakIndex(1000, 1000, 800, whole, 200), 800);
  // zoomed to 50..100 s: the canvas's middle is 75 s, 3/8 of the song
  assert.equal(peakIndex(500, 1000, 800, { start: 50, end: 100 }, 200), 300);
  // before the duration is known the peaks span the canvas
  assert.equal(peakIndex(250, 1000, 800, { start: 0, end: 0 }, 0), 200);
});

test("each bar shows the loudest peak it covers, at least one", () => {
  const peaks = [0.1, 0.9, 0.2, 0.4, 0.3, 0.05];
  const at = (x) => x; // one peak per pixel
  assert.equal(loudestUnder(peaks, 0, 3, at), 0.9);
  assert.equal(loudestUnder(peaks, 3, 3, at), 0.4);
  assert.equal(loudestUnder(peaks, 6, 3, at), 0); // past the end: nothing
  // zoomed in: a bar narrower than a peak still shows the peak under it
  assert.equal(loudestUnder(peaks, 1, 3, (x) => x / 10), 0.1);
  assert.equal(loudestUnder(peaks, 10, 3, (x) => x / 10), 0.9);
});

test("over the whole song the bars cover every peak once", () => {
  const n = 800;
  const peaks = Array.from({ length: n }, (_, i) => i / n);
  const width = 1280;
  const { step } = barLayout(1);
  const at = (x) => peakIndex(x, width, n, { start: 0, end: 30 }, 30);
  const covered = [];
  for (let x = 0; x < width; x += step) {
    const first = Math.floor(at(x));
    const end = Math.min(n, Math.max(first + 1, Math.floor(at(x + step))));
    for (let i = first; i < end; i++) covered.push(i);
    if (end > first) assert.equal(loudestUnder(peaks, x, step, at), peaks[end - 1]);
  }
  assert.deepEqual(covered, Array.from({ length: n }, (_, i) => i));
});

test("bar heights and the playhead stay on the canvas", () => {
  assert.equal(barHalfHeight(1, 50, 1), 49); // full scale: the middle less a pixel
  assert.equal(barHalfHeight(0, 50, 2), 1); // silence: a line half a CSS pixel high
  assert.equal(playheadLeft(100, 800, 1), 99);
  assert.equal(playheadLeft(0, 800, 2), 0);
  assert.equal(playheadLeft(800, 800, 2), 796); // at the end: its two pixels still show
});
