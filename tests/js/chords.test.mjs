// The chords lane's pure parts (demixer/player/static/player/chords.js): `node --test tests/js`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { chordAt, shortLabel } from "../../demixer/player/static/player/chords.js";

const CHORDS = [
  { start: 0, end: 1.5, label: "N" },
  { start: 1.5, end: 3, label: "A:min7" },
  { start: 3, end: 4, label: "C:maj" },
];

test("the chord under the playhead", () => {
  assert.equal(chordAt(CHORDS, 0), 0);
  assert.equal(chordAt(CHORDS, 1.5), 1); // a chord starts where the one before ends
  assert.equal(chordAt(CHORDS, 3.99), 2);
  assert.equal(chordAt(CHORDS, 4), -1); // past the end
  assert.equal(chordAt([], 1), -1);
});

test("labels as a musician reads them", () => {
  assert.deepEqual(
    ["C:maj", "A:min", "G:7", "F:maj7", "D:min7", "N"].map(shortLabel),
    ["C", "Am", "G7", "Fmaj7", "Dm7", ""],
  );
});
