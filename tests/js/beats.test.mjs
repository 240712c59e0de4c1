// The metronome's arithmetic (beats.js) and its kept settings (metronome_panel.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  alignGrid, beatsBetween, beatsFromChords, clampBpm, clicksIn, countInSeconds, fitTempo, keptTaps,
  normalOffset, tapTempo, TRACKER_LAG,
} from "../../demixer/player/static/player/beats.js";
import { gridText, parseSettings } from "../../demixer/player/static/player/metronome_panel.js";

const GRID = { bpm: 120, offset: 0.25, beatsPerBar: 4 }; // a beat every 0.5 s, bars from 0.25 s
const close = (a, b) => Math.abs(a - b) < 1e-9;
const whens = (clicks) => clicks.map((c) => Math.round(c.when * 1e6) / 1e6);

function run(fields) {
  return { startedAt: 10, offset: 0, tempo: 1, loop: null, end: null, countIn: 0, delay: 0, ...fields };
}

test("the grid's beats in a window, the bar's first accented", () => {
  const beats = beatsBetween(GRID, 0, 2.3);
  assert.deepEqual(beats.map((b) => b.time), [0.25, 0.75, 1.25, 1.75, 2.25]);
  assert.deepEqual(beats.map((b) => b.beat), [0, 1, 2, 3, 4]);
  assert.deepEqual(beats.map((b) => b.accent), [true, false, false, false, true]);
  // half-open: a beat on the window's end belongs to the next window
  assert.deepEqual(beatsBetween(GRID, 0.25, 0.75).map((b) => b.time), [0.25]);
  // before the offset the grid goes on, bars and all
  assert.deepEqual(beatsBetween(GRID, -1.8, 0).map((b) => [b.time, b.beat, b.accent]),
    [[-1.75, -4, true], [-1.25, -3, false], [-0.75, -2, false], [-0.25, -1, false]]);
});

test("clicks on the player's clock follow the run's start, offset and tempo", () => {
  // started at ctx 10 s from song 1 s: the beats at 1.25, 1.75 ... sound 0.25 s, 0.75 s ... later
  assert.deepEqual(whens(clicksIn(run({ offset: 1 }), GRID, 10, 12)), [10.25, 10.75, 11.25, 11.75]);
  // at half speed the clock runs at half speed: twice as far apart
  assert.deepEqual(whens(clicksIn(run({ offset: 1, tempo: 0.5 }), GRID, 10, 12)), [10.5, 11.5]);
  // the stretcher's latency delays what is heard: the clicks go with it
  assert.deepEqual(whens(clicksIn(run({ offset: 1, delay: 0.1 }), GRID, 10, 11)), [10.35, 10.85]);
  // nothing before the run starts (without a count-in)
  assert.deepEqual(clicksIn(run({ offset: 1 }), GRID, 5, 10), []);
  // a start a rounding error past a beat is on the beat: its click is not lost
  const onBeat = clicksIn(run({ offset: 2.25 + 1e-12 }), GRID, 9.9, 10.1);
  assert.deepEqual(onBeat.map((c) => [c.time, c.accent, c.countIn]), [[2.25, true, false]]);
});

test("a native loop repeats its beats on every pass", () => {
  const looped = run({ offset: 1, loop: { start: 1, end: 2.1 } }); // a 1.1 s loop
  const clicks = clicksIn(looped, GRID, 10, 12.2);
  assert.deepEqual(clicks.map((c) => c.time), [1.25, 1.75, 1.25, 1.75]);
  assert.deepEqual(whens(clicks), [10.25, 10.75, 11.35, 11.85]);
  // a window well into the run: the pass it falls in
  assert.deepEqual(whens(clicksIn(looped, GRID, 20, 21)), [20.15, 20.65]);
});

test("a counted-in loop's pass stops at its end", () => {
  const pass = run({ offset: 1, end: 2.1 });
  assert.deepEqual(clicksIn(pass, GRID, 10, 20).map((c) => c.time), [1.25, 1.75]);
});

test("the count-in carries the grid on before the start, a whole number of bars", () => {
  const bar = countInSeconds(1, 4, 120, 1);
  assert.equal(bar, 2);
  assert.equal(countInSeconds(2, 3, 90, 0.5), (2 * 3 * (60 / 90)) / 0.5); // slower: longer
  // from a bar's first beat (2.25 s), one bar counted in: 4 clicks, the first accented
  const counted = run({ offset: 2.25, countIn: bar });
  const clicks = clicksIn(counted, GRID, 7, 10.6);
  assert.deepEqual(whens(clicks), [8, 8.5, 9, 9.5, 10, 10.5]);
  assert.deepEqual(clicks.map((c) => c.countIn), [true, true, true, true, false, false]);
  assert.deepEqual(clicks.map((c) => c.accent), [true, false, false, false, true, false]);
  // at half speed the count-in takes twice as long, still four beats
  const slow = run({ offset: 2.25, tempo: 0.5, countIn: countInSeconds(1, 4, 120, 0.5) });
  const slowClicks = clicksIn(slow, GRID, 0, 10).filter((c) => c.countIn);
  assert.deepEqual(whens(slowClicks), [6, 7, 8, 9]);
});

test("windows that meet schedule every click once", () => {
  const runs = [
    run({ offset: 0.3, tempo: 0.85, countIn: countInSeconds(2, 4, 120, 0.85), delay: 0.047 }),
    run({ offset: 1.1, tempo: 1.15, loop: { start: 1.05, end: 2.6 } }),
  ];
  runs.forEach((r) => {
    const whole = clicksIn(r, GRID, 0, 40);
    let t = 0;
    const pieces = [];
    let i = 0;
    while (t < 40) {
      const next = Math.min(40, t + 0.013 + (i++ % 7) * 0.171);
      pieces.push(...clicksIn(r, GRID, t, next));
      t = next;
    }
    assert.equal(pieces.length, whole.length);
    pieces.forEach((c, k) => assert.ok(close(c.when, whole[k].when), c));
    for (let k = 1; k < whole.length; k++) assert.ok(whole[k].when > whole[k - 1].when);
  });
});

test("the detected beats place the grid: phase, and the bar where chords change", () => {
  const chords = [
    { start: 0, end: 0.52, label: "N" },
    { start: 0.52, end: 2.51, label: "A:min" },
    { start: 2.51, end: 4.53, label: "F:maj" },
    { start: 4.53, end: 5.51, label: "C:maj" },
    { start: 5.51, end: 6.5, label: "G:maj" }, // a change mid-bar too
    { start: 6.5, end: 8, label: "A:min" },
  ];
  const beats = beatsFromChords(chords); // the tracker's lag taken off
  assert.deepEqual(beats, [0.52, 2.51, 4.53, 5.51, 6.5].map((t) => t - TRACKER_LAG));
  const offset = alignGrid(beats, 120, 4);
  assert.ok(Math.abs(offset - (0.514 - TRACKER_LAG)) < 0.01, offset); // bars at 0.51, 2.51, ...
  assert.equal(alignGrid([], 120, 4), 0);
  // changes every 1.5 s: the bars of 3/4 from 1 s; in 4/4 they fall on every beat of the bar
  // alike, and the earliest bar start is taken
  assert.ok(close(alignGrid([1, 2.5, 4, 5.5], 120, 3), 1));
  assert.ok(close(alignGrid([1, 2.5, 4, 5.5], 120, 4), 0));
  assert.ok(close(normalOffset(-0.25, 120, 4), 1.75));
  assert.ok(close(normalOffset(4.75, 120, 4), 0.75));
});

// librosa's beats of a generated 120 BPM song whose tempo estimate came out at 117.45 BPM
const TRACKED = [0.534, 1.045, 1.533, 2.043, 2.531, 3.042, 3.529, 4.04, 4.528, 5.039, 5.526, 6.037];

test("the chords' beats make the estimated tempo exact", () => {
  // six seconds of beats on 23 ms frames: within 0.2 %
  assert.ok(Math.abs(fitTempo(TRACKED, 117.45) - 120) < 0.25, fitTempo(TRACKED, 117.45));
  // chords change on some beats only, over a minute, each beat a frame (23 ms) off or not
  const sparse = [];
  for (let n = 1; n < 120; n += n % 3 ? 2 : 4) sparse.push(0.3 + n * 0.5 + ((n * 7) % 3 - 1) * 0.023);
  const fitted = fitTempo(sparse, 117.45);
  assert.ok(Math.abs(fitted - 120) < 0.05, fitted);
  // within the 2 % of the estimate's error, the numbering never slips a beat
  assert.ok(Math.abs(fitTempo(sparse, 122.4) - 120) < 0.05);
});

test("beats that do not fit the estimate leave it as it was", () => {
  assert.equal(fitTempo(TRACKED.slice(0, 2), 117.45), 117.45); // too few
  assert.equal(fitTempo(TRACKED, 90), 90); // another tempo (120 is 33 % away)
  const noPulse = [0.31, 1.7, 1.93, 3.05, 4.44, 4.6, 6.2, 7.71, 8.02, 9.9];
  assert.equal(fitTempo(noPulse, 100), 100);
});

test("tap tempo: the median gap, the song's BPM at the practice tempo, a pause starts over", () => {
  assert.equal(tapTempo([1], 1), null);
  assert.equal(tapTempo([1, 1.5, 2, 2.52, 3], 1), 120);
  assert.equal(tapTempo([1, 2, 3], 0.5), 120); // 60 taps a minute at half speed
  assert.deepEqual(keptTaps([1, 1.5, 5, 5.5, 6]), [5, 5.5, 6]);
  assert.equal(tapTempo([1, 1.5, 5, 5.6], 1), 100);
  assert.equal(clampBpm(1000), 300);
  assert.equal(clampBpm(Number.NaN), 120);
  assert.equal(clampBpm(97.263), 97.26);
});

test("kept settings are checked; anything else takes the defaults", () => {
  const defaults = { on: false, volume: 0.7, countInBars: 0, beatsPerBar: 4, bpm: null, offset: null };
  assert.deepEqual(parseSettings("not json"), defaults);
  assert.deepEqual(parseSettings("[1]"), defaults);
  assert.deepEqual(
    parseSettings('{"on": true, "volume": 0.3, "countInBars": 2, "beatsPerBar": 3, "bpm": 91.25, "offset": 0.4}'),
    { on: true, volume: 0.3, countInBars: 2, beatsPerBar: 3, bpm: 91.25, offset: 0.4 },
  );
  assert.deepEqual(
    parseSettings('{"on": 1, "volume": 4, "countInBars": 3, "beatsPerBar": 13, "bpm": "x", "offset": -1}'),
    defaults,
  );
  assert.equal(gridText(120, 4, 0.514, false), "120 BPM · 4/4 · beat 1 at 0:00.51 (detected)");
  assert.equal(gridText(96.5, 3, 61.999, true), "96.5 BPM · 3/4 · beat 1 at 1:02.00");
});
