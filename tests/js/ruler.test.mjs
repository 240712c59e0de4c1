// The time ruler's ticks and labels (ruler.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { fmtTime, tickLabel, tickStep } from "../../demixer/player/static/player/ruler.js";

test("labels never crowd: at least 56 px between two, the smallest such step", () => {
  assert.equal(tickStep(204, 1000), 15); // 3:24 over 1000 px: 11.4 s wanted
  assert.equal(tickStep(204, 300), 60);
  assert.equal(tickStep(4, 1000), 0.5);
  assert.equal(tickStep(7200, 100), 600); // the widest step when nothing fits
  for (const [duration, width] of [[30, 800], [204, 1200], [600, 390]]) {
    const step = tickStep(duration, width);
    assert.ok((step / duration) * width >= 56, [duration, width, step]);
  }
});

test("tick labels and times", () => {
  assert.equal(fmtTime(0), "0:00");
  assert.equal(fmtTime(65.9), "1:05");
  assert.equal(fmtTime(-3), "0:00");
  assert.equal(tickLabel(61, 1), "1:01");
  assert.equal(tickLabel(1.5, 0.5), "0:01.5");
  assert.equal(tickLabel(2, 0.5), "0:02.0");
});
