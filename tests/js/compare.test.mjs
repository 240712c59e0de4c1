// Models side by side (compare.js): how two separations' stems pair, which side each stem is
// heard from, where a run is when B joins it, and whether B fits in memory beside A.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  allOf, carryOver, choose, firstPick, fitsBeside, pairStems, routing, runOffset, swapped,
  wholeSide,
} from "../../demixer/player/static/player/compare.js";
import { MEMORY_BUDGET } from "../../demixer/player/static/player/mixer.js";

const stems = (...names) => names.map((n) => ({ name: n, part: n === "accompaniment" ? "no_vocals" : n }));
const HTDEMUCS = stems("drums", "bass", "other", "vocals");
const SPLEETER = stems("vocals", "accompaniment");
const TWO = stems("vocals", "no_vocals");

test("stems pair by the part they hold; what one side lacks is said", () => {
  const pairs = pairStems(HTDEMUCS, SPLEETER);
  assert.deepEqual(pairs.rows, [
    { name: "drums", b: null },
    { name: "bass", b: null },
    { name: "other", b: null },
    { name: "vocals", b: "vocals" },
  ]);
  assert.deepEqual(pairs.onlyB, ["accompaniment"]);
  // a two-stem job's instrumental meets Spleeter's accompaniment
  assert.deepEqual(pairStems(TWO, SPLEETER), {
    rows: [{ name: "vocals", b: "vocals" }, { name: "no_vocals", b: "accompaniment" }],
    onlyB: [],
  });
  // the same model twice (best and fast): every stem pairs with its namesake
  assert.deepEqual(pairStems(HTDEMUCS, HTDEMUCS).rows.map((r) => r.b), ["drums", "bass", "other", "vocals"]);
});

test("one stem switched to B: the rest of A plays on, B's own stems stay silent", () => {
  const pairs = pairStems(HTDEMUCS, SPLEETER);
  const choice = choose(pairs, allOf(pairs, "a"), "vocals", "b");
  const route = routing(pairs, choice, false, true);
  assert.deepEqual(route.a, { drums: 1, bass: 1, other: 1, vocals: 0 });
  assert.deepEqual(route.b, { vocals: 1, accompaniment: 0 });
  assert.deepEqual(route.plays, { drums: "a", bass: "a", other: "a", vocals: "b" });
  assert.equal(wholeSide(pairs, choice), null); // a mix of the two
  // a stem B lacks has no side to choose
  assert.equal(choose(pairs, choice, "drums", "b"), choice);
});

test("all of B: A's stems that B lacks fall silent, B's own join, a solo silences them", () => {
  const pairs = pairStems(HTDEMUCS, SPLEETER);
  const choice = allOf(pairs, "b");
  const route = routing(pairs, choice, false, true);
  assert.deepEqual(route.a, { drums: 0, bass: 0, other: 0, vocals: 0 });
  assert.deepEqual(route.b, { vocals: 1, accompaniment: 1 });
  assert.deepEqual(route.plays, { drums: null, bass: null, other: null, vocals: "b" });
  assert.equal(wholeSide(pairs, choice), "b");
  assert.deepEqual(routing(pairs, choice, true, true).b, { vocals: 1, accompaniment: 0 });
});

test("until B is loaded everything is A's, whatever is chosen", () => {
  const pairs = pairStems(HTDEMUCS, SPLEETER);
  const route = routing(pairs, allOf(pairs, "b"), false, false);
  assert.deepEqual(route.a, { drums: 1, bass: 1, other: 1, vocals: 1 });
  assert.deepEqual(route.b, { vocals: 0, accompaniment: 0 });
  assert.deepEqual(route.plays, { drums: "a", bass: "a", other: "a", vocals: "a" });
});

test("X swaps all of A and all of B; from a mix it goes to the side the base is not", () => {
  const pairs = pairStems(HTDEMUCS, SPLEETER);
  const a = allOf(pairs, "a");
  assert.equal(wholeSide(pairs, a), "a");
  const b = swapped(pairs, a);
  assert.deepEqual(b, { base: "b", rows: { vocals: "b" } });
  assert.deepEqual(swapped(pairs, b), a);
  const mixed = choose(pairs, a, "vocals", "b");
  assert.deepEqual(swapped(pairs, mixed), b);
  // with every stem shared, the base does not count: each stem switched by hand is all of B
  const same = pairStems(HTDEMUCS, HTDEMUCS);
  let choice = allOf(same, "a");
  for (const name of ["drums", "bass", "other", "vocals"]) choice = choose(same, choice, name, "b");
  assert.equal(wholeSide(same, choice), "b");
  assert.equal(swapped(same, choice).base, "a");
});

test("another B keeps the sides of the stems both share", () => {
  const first = pairStems(HTDEMUCS, HTDEMUCS);
  const choice = choose(first, allOf(first, "a"), "vocals", "b");
  const next = pairStems(HTDEMUCS, SPLEETER);
  assert.deepEqual(carryOver(next, choice), { base: "a", rows: { vocals: "b" } });
  assert.deepEqual(carryOver(first, allOf(next, "b")).rows, { drums: "b", bass: "b", other: "b", vocals: "b" });
});

test("B joins a run where its clock is, looped and at tempo", () => {
  const run = { startedAt: 10, startOffset: 4, tempo: 1, loop: null, duration: 60 };
  assert.equal(runOffset(run, 12.5), 6.5);
  assert.equal(runOffset(run, 9), 4); // before the run starts: its start
  assert.equal(runOffset({ ...run, tempo: 0.5 }, 14), 6);
  assert.equal(runOffset({ ...run, loop: { start: 4, end: 6 } }, 13), 5);
  assert.equal(runOffset(run, 100), 60);
});

test("B is fetched only if it fits in memory beside A", () => {
  // four stereo stems of a 5-minute song at 44.1 kHz: 4 x 300 x 44100 x 2 x 4 bytes = 423 MB
  assert.equal(fitsBeside(300, 44100, 4, MEMORY_BUDGET), true);
  // six stems of 12 minutes at the lowest rate the player drops to are not
  assert.equal(fitsBeside(720, 22050, 6, MEMORY_BUDGET), false);
});

test("the first B is the one a compare link names, else the newest", () => {
  const others = [{ id: "new" }, { id: "old" }];
  assert.equal(firstPick(others, "old"), "old");
  assert.equal(firstPick(others, null), "new");
  assert.equal(firstPick(others, "someone-elses"), "new");
});
