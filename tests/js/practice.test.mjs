// The practice tools' pure parts: pan figures, tempo and pitch, the mix form's values, the keys.
import assert from "node:assert/strict";
import { test } from "node:test";

import { fieldValue } from "../../demixer/player/static/player/mix_fields.js";
import { shortcutFor, typingIn } from "../../demixer/player/static/player/shortcuts.js";
import { panText } from "../../demixer/player/static/player/stem_pan.js";
import {
  clampPitch, clampTempo, semitonesFor,
} from "../../demixer/player/static/player/tempo_pitch.js";

test("a pan as a figure", () => {
  assert.deepEqual([0, 0.004, -0.4, 1, -1].map(panText), ["C", "C", "L40", "R100", "L100"]);
});

test("the stretcher undoes what the tempo did to the pitch", () => {
  assert.equal(semitonesFor(1, 0), 0);
  assert.ok(Math.abs(semitonesFor(0.5, 0) - 12) < 1e-12); // half speed sounds an octave down
  assert.ok(Math.abs(semitonesFor(2, 3) - -9) < 1e-12);
  assert.equal(clampTempo(0.123), 0.5);
  assert.equal(clampTempo(1.234), 1.23);
  assert.equal(clampTempo(9), 1.5);
  assert.equal(clampPitch(-7.6), -6);
  assert.equal(clampPitch(2.4), 2);
});

test("the mix form gets what the server parses", () => {
  assert.equal(fieldValue("tempo", 0.5), "0.50");
  assert.equal(fieldValue("pitch", -3), "-3");
  assert.equal(fieldValue("pan_drums", -0.25), "-0.25");
});

const el = (tagName, fields) => ({ tagName: tagName, ...fields });
const key = (k, fields) => ({ key: k, target: el("BODY"), ...fields });

test("the practice keys, and where they are typing instead", () => {
  assert.equal(shortcutFor(key("[")), "loop-a");
  assert.equal(shortcutFor(key("]")), "loop-b");
  assert.equal(shortcutFor(key("L")), "loop");
  assert.equal(shortcutFor(key("c")), "compare");
  assert.equal(shortcutFor(key("k")), "metronome");
  assert.equal(shortcutFor(key("x")), null);
  assert.equal(shortcutFor(key("constructor")), null);
  assert.equal(shortcutFor(key("l", { ctrlKey: true })), null);
  assert.equal(shortcutFor(key("l", { defaultPrevented: true })), null);
  // a slider or a button keeps the shortcuts; a text field, a select, a number field do not
  assert.equal(shortcutFor(key("l", { target: el("INPUT", { type: "range" }) })), "loop");
  assert.equal(shortcutFor(key("l", { target: el("BUTTON") })), "loop");
  assert.equal(shortcutFor(key("l", { target: el("INPUT", { type: "text" }) })), null);
  assert.equal(shortcutFor(key("k", { target: el("INPUT", { type: "number" }) })), null);
  assert.equal(shortcutFor(key("k", { target: el("SELECT") })), null);
  assert.equal(typingIn(el("DIV", { isContentEditable: true })), true);
  assert.equal(typingIn(el("INPUT", {})), true); // no type: a text field
  assert.equal(typingIn(null), false);
});
