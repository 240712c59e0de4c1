// The transport's keys (keyboard.js), its bar and times (transport.js), the stem rows'
// attributes (stem_rows.js) and the loading line (loading.js). Run by `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  SEEK_STEP, targetKind, transportCommand,
} from "../../demixer/player/static/player/keyboard.js";
import { loadingText } from "../../demixer/player/static/player/loading.js";
import { rowAttributes } from "../../demixer/player/static/player/stem_rows.js";
import { positionText, progressPercent } from "../../demixer/player/static/player/transport.js";

const body = { tagName: "BODY" };
const button = { tagName: "BUTTON" };
const range = { tagName: "INPUT", type: "range" };
const text = { tagName: "INPUT", type: "text" };
const key = (k, target = body, extra = {}) => ({ key: k, code: "", target, ...extra });

test("space plays or pauses, the arrows move back and forward", () => {
  assert.equal(transportCommand(key(" "), false), "toggle");
  assert.equal(transportCommand({ key: "", code: "Space", target: body }, false), "toggle");
  assert.equal(transportCommand(key("ArrowLeft"), false), "back");
  assert.equal(transportCommand(key("ArrowRight"), false), "forward");
  assert.equal(transportCommand(key("x"), false), null);
  assert.equal(SEEK_STEP, 5);
});

test("a button reached with the keyboard keeps its space; one last clicked does not", () => {
  assert.equal(transportCommand(key(" ", button), false), null); // press the button
  assert.equal(transportCommand(key(" ", button), true), "toggle"); // not unmute again
  for (const tag of ["A", "SUMMARY"]) {
    assert.equal(transportCommand(key(" ", { tagName: tag }), false), null, tag);
  }
  const checkbox = { tagName: "INPUT", type: "checkbox" };
  assert.equal(transportCommand(key(" ", checkbox), false), null);
  assert.equal(transportCommand(key(" ", checkbox), true), "toggle");
  assert.equal(transportCommand(key("ArrowLeft", button), false), "back");
});

test("keys meant for a field, another shortcut or the page are left alone", () => {
  assert.equal(transportCommand(key(" ", text), true), null);
  const untyped = { tagName: "INPUT" }; // an input's type defaults to text
  assert.equal(transportCommand(key(" ", untyped), true), null);
  assert.equal(transportCommand(key(" ", { tagName: "TEXTAREA" }), true), null);
  assert.equal(transportCommand(key(" ", { tagName: "SELECT" }), true), null);
  assert.equal(transportCommand(key(" ", { tagName: "DIV", isContentEditable: true }), true), null);
  // a slider: space plays, its arrows stay its own (the volume)
  assert.equal(transportCommand(key(" ", range), false), "toggle");
  assert.equal(transportCommand(key("ArrowLeft", range), false), null);
  for (const mod of ["altKey", "ctrlKey", "metaKey", "defaultPrevented"]) {
    assert.equal(transportCommand(key(" ", body, { [mod]: true }), false), null, mod);
  }
  assert.equal(transportCommand(key(" ", null), false), "toggle"); // no target: the page
});

test("what a key's target is", () => {
  assert.deepEqual(targetKind(text), { tag: "input", pressable: false, typing: true });
  assert.deepEqual(targetKind(range), { tag: "input", pressable: false, typing: false });
  assert.deepEqual(targetKind({ tagName: "INPUT", type: "Submit" }),
    { tag: "input", pressable: true, typing: false });
  assert.deepEqual(targetKind(null), { tag: "", pressable: false, typing: false });
});

test("the bar's progress and what a screen reader hears", () => {
  assert.equal(progressPercent(30, 120), "25%");
  assert.equal(progressPercent(120, 120), "100%");
  assert.equal(progressPercent(3, 0), "0%"); // the duration not known yet
  assert.equal(positionText(65.9, 204), "1:05 of 3:24");
  assert.equal(positionText(-1, 0), "0:00 of 0:00");
});

test("a stem row's attributes say what is heard", () => {
  assert.deepEqual(rowAttributes({ muted: false, soloed: true, volume: 0.8 }, 0.8), {
    "data-gain": "0.8", "data-muted": "false", "data-soloed": "true", "data-volume": "0.8",
  });
  assert.equal(rowAttributes({ muted: true, soloed: false, volume: 1 }, 0)["data-gain"], "0");
  assert.equal(loadingText(2, 4), "Loading stems… 2 of 4");
});
