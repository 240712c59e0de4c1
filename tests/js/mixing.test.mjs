// Mute, solo, volume, pan and pitch (mixer.js, practice.js): what each stem and the
// stretcher are given.
import assert from "node:assert/strict";
import { test } from "node:test";

import { contextRate, effectiveGain } from "../../demixer/player/static/player/mixer.js";
import { panText, semitonesFor } from "../../demixer/player/static/player/practice.js";

test("mute wins over solo; solo silences the others", () => {
  const stem = (volume, muted, soloed) => ({ volume, muted, soloed });
  assert.equal(effectiveGain(stem(0.8, false, false), false), 0.8);
  assert.equal(effectiveGain(stem(0.8, true, false), false), 0);
  assert.equal(effectiveGain(stem(0.8, true, true), true), 0);
  assert.equal(effectiveGain(stem(0.8, false, false), true), 0);
  assert.equal(effectiveGain(stem(1.5, false, true), true), 1.5);
});

test("a long song's stems are held at a lower rate, never under 22.05 kHz", () => {
  assert.equal(contextRate(200, 4), 44100);
  const long = contextRate(900, 4);
  assert.ok(long < 44100 && long >= 22050, long);
  assert.ok(long * 900 * 4 * 2 * 4 <= 700 * 1024 * 1024);
  assert.equal(contextRate(10 * 3600, 6), 22050);
});

test("pan figures and the stretcher's shift", () => {
  assert.equal(panText(0), "C");
  assert.equal(panText(0.004), "C");
  assert.equal(panText(-0.4), "L40");
  assert.equal(panText(1), "R100");
  assert.equal(semitonesFor(1, 0), 0);
  assert.equal(semitonesFor(1, 3), 3);
  assert.ok(Math.abs(semitonesFor(2, 0) + 12) < 1e-12); // twice as fast: an octave up, undone
  assert.ok(Math.abs(semitonesFor(0.5, -2) - 10) < 1e-12);
});
