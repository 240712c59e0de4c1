// The buffering rule (buffering.js): when listening while it separates may start without
// stopping again. Run by `node --test tests/js/` (make test-js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  LATENCY_S, measureRate, pieceLength, planStart, planText, rateFromEta, stallPosition,
} from "../../demixer/player/static/player/buffering.js";
import { about } from "../../demixer/separation/static/separation/words.js";

const fmt = (s) => Math.floor(s / 60) + ":" + String(Math.floor(s % 60)).padStart(2, "0");

/* Play the plan out: pieces of `piece` song seconds land every piece/rate wall seconds (the
 * last one seen at t = 0 with `ready` in), each seen `latency` later; playback starts at
 * `wait` from `position` at `speed`. Returns the song second where the playhead first passes
 * what the page holds, or null if it never does. */
function simulate({ ready, total, position, rate, speed = 1, piece, latency = LATENCY_S, wait }) {
  const dt = 0.01;
  for (let t = wait; ; t += dt) {
    const head = position + speed * (t - wait);
    if (head >= total) return null;
    const landed = Math.floor(Math.max(0, t - latency) * rate / piece + 1e-9);
    const held = Math.min(total, ready + landed * piece);
    if (held < total && head > held + 1e-6) return head;
  }
}

test("slower than real time: waits, then plays through without stopping", () => {
  const base = { ready: 6, total: 180, position: 0, rate: 0.35, piece: 6 };
  const plan = planStart(base);
  assert.ok(plan.known);
  assert.ok(plan.wait > 0);
  assert.equal(simulate({ ...base, wait: plan.wait }), null);
  // and starting now would stop, near where the plan says
  const stop = simulate({ ...base, wait: 0 });
  assert.ok(stop !== null);
  assert.ok(plan.stallAt !== null && plan.stallAt <= stop + 1e-6, [plan.stallAt, stop]);
  assert.ok(plan.stallAt >= base.ready);
});

test("the wait is not much longer than needed", () => {
  const base = { ready: 6, total: 120, position: 0, rate: 0.5, piece: 6 };
  const plan = planStart(base);
  // half the plan's wait stops (the rule is not trivially "wait for the end")
  assert.ok(simulate({ ...base, wait: plan.wait * 0.5 }) !== null);
  const allIn = (base.total - base.ready) / base.rate;
  assert.ok(plan.wait < allIn, [plan.wait, allIn]);
});

test("faster than real time: starts (almost) at once and never stops", () => {
  for (const rate of [1.5, 2, 4, 8]) {
    const base = { ready: 6, total: 200, position: 0, rate, piece: 6 };
    const plan = planStart(base);
    assert.ok(plan.wait < 3, [rate, plan.wait]);
    assert.equal(simulate({ ...base, wait: plan.wait }), null, String(rate));
  }
});

test("a seek past the ready edge waits at least for the separation to get there", () => {
  const base = { ready: 12, total: 100, position: 50, rate: 2, piece: 6 };
  const plan = planStart(base);
  assert.ok(plan.wait >= (50 - 12) / 2, plan.wait);
  assert.equal(simulate({ ...base, wait: plan.wait }), null);
});

test("a slower tempo needs a shorter wait", () => {
  const base = { ready: 6, total: 180, position: 0, rate: 0.6, piece: 6 };
  const slow = planStart({ ...base, speed: 0.7 });
  assert.ok(slow.wait < planStart(base).wait);
  assert.equal(simulate({ ...base, speed: 0.7, wait: slow.wait }), null);
});

test("all ready: now; no rate known: now, and unknown", () => {
  assert.deepEqual(planStart({ ready: 60, total: 60, position: 0, rate: 0.1, piece: 6 }),
    { wait: 0, stallAt: null, known: true });
  const unknown = planStart({ ready: 6, total: 60, position: 0, rate: null, piece: 6 });
  assert.equal(unknown.wait, 0);
  assert.equal(unknown.known, false);
});

test("the rate: from the pieces seen (two intervals at least), else the job's estimate", () => {
  const arrivals = [{ t: 10, ready: 6 }, { t: 20, ready: 12 }, { t: 30, ready: 18 }];
  assert.equal(measureRate(arrivals, null), 0.6);
  assert.equal(measureRate(arrivals, 0.9), 0.6); // measured: the estimate no longer counts
  assert.equal(measureRate(arrivals.slice(0, 2), 0.7), 0.7);
  assert.equal(measureRate([], null), null);
  // only the last pieces count: a separation that slowed down is measured as it is now
  const slowed = [{ t: 0, ready: 0 }];
  for (let i = 1; i <= 20; i++) slowed.push({ t: i < 10 ? i : 10 + (i - 10) * 4, ready: i });
  assert.equal(measureRate(slowed, null), 0.25);
});

test("the job's estimate: a piece of what is left may be separated already", () => {
  // 30 s song, 5 s pieces, 8 s a piece: after the first, 40 s left by the worker's count
  assert.equal(rateFromEta(30, 5, 5, 40), 0.5); // not above the true 0.625
  // the second piece reported (32 s left) before it was published (ready still 5)
  assert.equal(rateFromEta(30, 5, 5, 32), 0.625);
  assert.equal(rateFromEta(30, 25, 5, 8), null); // nothing left to go by
  assert.equal(rateFromEta(30, 5, 5, null), null);
});

test("piece length, stall position, words", () => {
  assert.equal(pieceLength([{ start: 0, end: 441 }, { start: 441, end: 1323 }], 441), 2);
  assert.equal(pieceLength([], 441), 0);
  assert.equal(stallPosition(10, 12, 0.5, 1, 5, 2), 12); // already past the edge
  assert.equal(stallPosition(10, 0, 2, 1, 5, 2), 10); // faster: no later than the edge
  assert.equal(about(42.4), "about 42 s");
  assert.equal(about(150), "about 3 min");
  assert.equal(about(3900), "about 1 h 5 min");
  assert.equal(planText({ known: true, wait: 39.2, stallAt: 70 }, 0, fmt),
    "Plays through from 0:00 in about 40 s; starting now may pause at 1:10.");
  assert.equal(planText({ known: true, wait: 0, stallAt: null }, 0, fmt), "");
});
