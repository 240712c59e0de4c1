// The waveforms' zoom (timeline.js) and user markers (markers.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MIN_SPAN, followView, fullView, panView, peakRange, viewTime, viewX, zoomView,
} from "../../demixer/player/static/player/timeline.js";
import {
  addMarker, loopFrom, parseMarkers, removeMarker, renameMarker,
} from "../../demixer/player/static/player/markers.js";

test("zoom keeps the time under the pointer where it was", () => {
  const full = fullView(200);
  const at = 50;
  const x = viewX(at, 1000, full);
  const closer = zoomView(full, 4, at, 200);
  assert.ok(Math.abs(closer.end - closer.start - 50) < 1e-9);
  assert.ok(Math.abs(viewTime(x, 1000, closer) - at) < 1e-9);
  // and back out: the whole song again, never wider
  assert.deepEqual(zoomView(closer, 0.01, at, 200), { start: 0, end: 200 });
});

test("zoom and pan stay within the song and no closer than the minimum", () => {
  const near = zoomView(fullView(200), 1e6, 199, 200);
  assert.equal(near.end - near.start, MIN_SPAN);
  assert.ok(near.start <= 199 && near.end >= 199 && near.end <= 200, near);
  assert.deepEqual(panView({ start: 10, end: 30 }, -50, 200), { start: 0, end: 20 });
  assert.deepEqual(panView({ start: 10, end: 30 }, 500, 200), { start: 180, end: 200 });
  assert.deepEqual(zoomView(fullView(0.5), 10, 0.2, 0.5), { start: 0, end: 0.5 });
});

test("the view follows the playhead page by page", () => {
  const view = { start: 20, end: 40 };
  assert.equal(followView(view, 30, 200), view);
  assert.deepEqual(followView(view, 41, 200), { start: 39, end: 59 });
  assert.deepEqual(followView(view, 3, 200), { start: 1, end: 21 });
});

test("the peaks in view", () => {
  assert.deepEqual(peakRange(800, fullView(200), 200), [0, 800]);
  assert.deepEqual(peakRange(800, { start: 50, end: 100 }, 200), [200, 400]);
  assert.deepEqual(peakRange(800, { start: 100, end: 100.01 }, 200), [400, 401]);
});

test("markers: named, sorted, renamed, removed, looped between", () => {
  let list = addMarker([], 30, "Chorus");
  list = addMarker(list, 10, " ");
  list = addMarker(list, 30.05, "too close"); // the same point
  assert.deepEqual(list.map((m) => [m.time, m.name]), [[10, "Marker 2"], [30, "Chorus"]]);
  list = renameMarker(list, 2, "Verse");
  assert.equal(list[0].name, "Verse");
  assert.deepEqual(loopFrom(list, 2, 60), { start: 10, end: 30 });
  assert.deepEqual(loopFrom(list, 1, 60), { start: 30, end: 60 }); // the last: to the end
  assert.equal(loopFrom(list, 9, 60), null);
  list = removeMarker(list, 1);
  assert.deepEqual(list.map((m) => m.id), [2]);
  assert.equal(addMarker(list, 50, "").at(-1).name, "Marker 3");
});

test("stored markers are checked", () => {
  assert.deepEqual(parseMarkers("not json"), []);
  assert.deepEqual(parseMarkers('{"a": 1}'), []);
  assert.deepEqual(parseMarkers('[{"id": 1, "time": 5, "name": "x"}, {"id": "2"}, null]'),
    [{ id: 1, time: 5, name: "x" }]);
});
