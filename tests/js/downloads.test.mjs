// The download settings' fitting and queries, and the render's words (downloads.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  fitChoice, preparingText, settingsQuery,
} from "../../demixer/player/static/player/downloads.js";

const OPTIONS = {
  master: "flac",
  stored_rate: 44100,
  bit_depth: 24,
  bit_depths: { flac: [16, 24], wav: [16, 24, 32], mp3: [] },
  rates: { flac: [44100, 48000, 96000], wav: [44100, 48000, 96000], mp3: [44100, 48000] },
};

test("a choice the format lacks falls back to the default", () => {
  assert.equal(fitChoice("96000", [44100, 48000], 44100), "44100");
  assert.equal(fitChoice("48000", [44100, 48000], 44100), "48000");
  assert.equal(fitChoice(32, [16, 24], 24), "24");
  assert.equal(fitChoice(24, [], 24), "24"); // MP3 has no depth: left as it is (disabled)
});

test("queries carry only what the format takes, defaults left out", () => {
  assert.equal(settingsQuery("flac", 44100, 24, OPTIONS).toString(), "");
  assert.equal(settingsQuery("wav", 96000, 32, OPTIONS).toString(), "rate=96000&bit_depth=32");
  assert.equal(settingsQuery("mp3", 96000, 16, OPTIONS).toString(), ""); // neither applies
  assert.equal(settingsQuery("mp3", 48000, 16, OPTIONS).toString(), "rate=48000");
  assert.equal(settingsQuery("flac", 44100, 16, OPTIONS).toString(), "bit_depth=16");
});

test("render words", () => {
  assert.equal(preparingText("the zip", 0), "Preparing the zip…");
  assert.equal(preparingText("the zip", 7), "Preparing the zip… 7 %");
});
