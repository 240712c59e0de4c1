/* Models side by side on the result page (an ES module): another finished separation of the
 * same track (B) plays on the page's one clock beside this page's own (A), and each stem the two
 * share is heard from either one, switched at the playhead without a restart, the way "compare
 * with the original" (practice.js) switches the whole mix.
 *
 *   source(A's stem)  -> side gain (A) ─┐
 *   source(B's stem)  -> side gain (B) ─┴─> the row's gain (volume, mute, solo) -> pan -> bus
 *   source(a stem only B has) -> side gain (B) ──────────────────────────────────────> bus
 *
 * B's sources start with every run of A's (mixer.onSources: the same start time, offset, tempo
 * and loop), so both stay on one clock; a switch is a pair of short gain ramps. Stems pair by
 * the part of the song they hold (the server's `part`: Spleeter's accompaniment meets a
 * two-stem job's instrumental). A stem one side lacks plays with "all of" its own side and is
 * said to be missing on the other. B's audio is fetched only once it is asked for.
 *
 * The rules (pairing, who plays, where a run is at a given time, the memory check) are the
 * pure functions below, tested under node (tests/js/compare.test.mjs); wireCompare() is the
 * page's part, handed the mixer, the stem rows and the practice tools by player.js.
 */
import { MEMORY_BUDGET, START_LEAD } from "./mixer.js";
import { loopedPosition } from "./timeline.js";

// a switch's crossfade (seconds): heard as a cut, without the click of a jump in level
export const SWITCH_SECONDS = 0.012;

/* ---- the rules ----------------------------------------------------------------------------- */

/* A's stems and B's ([{name, part}]) paired by part: one row per A stem, with the B stem of the
 * same part or null, and the names of B's stems that no A stem matches. */
export function pairStems(aStems, bStems) {
  const bByPart = new Map(bStems.map((s) => [s.part, s.name]));
  const aParts = new Set(aStems.map((s) => s.part));
  return {
    rows: aStems.map((s) => ({ name: s.name, b: bByPart.has(s.part) ? bByPart.get(s.part) : null })),
    onlyB: bStems.filter((s) => !aParts.has(s.part)).map((s) => s.name),
  };
}

/* Everything from one side: `base` says whose one-sided stems fill the mix, `rows` which side
 * each shared stem (by A's name) is heard from. */
export function allOf(pairs, side) {
  const rows = {};
  pairs.rows.forEach((row) => {
    if (row.b) rows[row.name] = side;
  });
  return { base: side, rows: rows };
}

/* One shared stem switched to `side` (a stem B lacks has no choice to make). */
export function choose(pairs, choice, name, side) {
  const row = pairs.rows.find((r) => r.name === name);
  if (!row || !row.b) return choice;
  return { base: choice.base, rows: { ...choice.rows, [name]: side } };
}

/* The choice carried over to another B: shared stems keep their side, new ones take the base. */
export function carryOver(pairs, choice) {
  const next = allOf(pairs, choice.base);
  Object.keys(next.rows).forEach((name) => {
    if (choice.rows[name]) next.rows[name] = choice.rows[name];
  });
  return next;
}

/* "a" or "b" when all that is heard is one side's, null for a mix of the two. */
export function wholeSide(pairs, choice) {
  const sides = new Set(pairs.rows.filter((r) => r.b).map((r) => choice.rows[r.name]));
  if (pairs.rows.some((r) => !r.b) || pairs.onlyB.length || !sides.size) sides.add(choice.base);
  return sides.size === 1 ? [...sides][0] : null;
}

/* What "X" does: all of the other side (from a mix of the two: the side the base is not). */
export function swapped(pairs, choice) {
  const whole = wholeSide(pairs, choice) || choice.base;
  return allOf(pairs, whole === "a" ? "b" : "a");
}

/* The side gains a choice makes (1 heard, 0 not): `a` by A's stem names, `b` by B's, and
 * `plays`: what each of A's rows is heard from ("a", "b", or null when silent). Until B is
 * ready everything is A's; B's own stems fall silent while any row is soloed. */
export function routing(pairs, choice, anySolo, bReady) {
  const a = {};
  const b = {};
  const plays = {};
  pairs.rows.forEach((row) => {
    if (row.b) {
      const side = bReady ? choice.rows[row.name] : "a";
      a[row.name] = side === "a" ? 1 : 0;
      b[row.b] = side === "b" ? 1 : 0;
      plays[row.name] = side;
    } else {
      const on = !bReady || choice.base === "a";
      a[row.name] = on ? 1 : 0;
      plays[row.name] = on ? "a" : null;
    }
  });
  pairs.onlyB.forEach((name) => {
    b[name] = bReady && choice.base === "b" && !anySolo ? 1 : 0;
  });
  return { a: a, b: b, plays: plays };
}

/* Where a run ({startedAt, startOffset, tempo, loop, duration}) is at ctx time `when`: the
 * offset a source joining it then starts from. */
export function runOffset(run, when) {
  const t = run.startOffset + Math.max(0, when - run.startedAt) * run.tempo;
  return loopedPosition(t, run.loop, run.duration);
}

/* B decoded beside A: `count` stereo float32 buffers of `seconds` at `rate` must fit in a
 * budget of their own the size of A's (mixer.js's MEMORY_BUDGET). */
export function fitsBeside(seconds, rate, count, budget) {
  return seconds * rate * count * 2 * 4 <= budget;
}

/* The separation to compare with first: the one the page's ?compare= names, else the newest. */
export function firstPick(others, wanted) {
  const named = others.find((o) => o.id === wanted);
  return (named || others[0]).id;
}

/* ---- the page ------------------------------------------------------------------------------ */

/* root: #player; views: the stem rows' views (stem_rows.js); practice: practice.js's
 * controller (B's own stems join its bus, so "compare with the original" silences them too).
 * Null where the page offers no comparison (one separation, a share link, a running job). */
export function wireCompare(root, mixer, views, practice) {
  const dataEl = document.getElementById("compare-data");
  const panel = root.querySelector("[data-role=compare]");
  if (!dataEl || !panel || !mixer.ctx) return null;
  const data = JSON.parse(dataEl.textContent);
  const ctx = mixer.ctx;
  const select = panel.querySelector("[data-role=compare-with]");
  const wholeButtons = Array.from(panel.querySelectorAll("[data-action=compare-all]"));
  const note = panel.querySelector("[data-role=compare-note]");
  const pageLink = panel.querySelector("[data-role=compare-page]");
  const rowUi = {};
  views.forEach((view) => {
    const group = view.row.querySelector("[data-role=stem-compare]");
    if (!group) return;
    rowUi[view.name] = {
      view: view,
      a: group.querySelector("[data-side=a]"),
      b: group.querySelector("[data-side=b]"),
      missing: group.querySelector("[data-role=stem-compare-missing]"),
    };
  });

  // every source of A's runs feeds its stem's side gain (mixer.js: stem.input)
  const aGains = {};
  const aPeaks = {};
  views.forEach((view) => {
    const stem = mixer.stem(view.name);
    const gain = ctx.createGain();
    gain.connect(stem.gain);
    stem.input = gain;
    aGains[view.name] = gain;
    aPeaks[view.name] = view.peaks;
  });
  const bus = practice && practice.input ? practice.input : mixer.master;

  const state = {
    enabled: false,
    other: null, // the chosen separation's summary, from data.others
    status: "idle", // idle | loading | ready | failed | too-long
    reason: "",
    pairs: null,
    choice: null,
    stems: {}, // B's stems once loaded: name -> {label, peaks, buffer, gain}
    sources: {}, // B's live sources: name -> {source, startTime, offset}
    loading: null, // the load in flight
    token: 0, // bumps with each pick, so a late load of an earlier pick is dropped
  };
  let route = { a: {}, b: {}, plays: {} };

  function labelOfA(name) {
    const stem = data.this.stems.find((s) => s.name === name);
    return stem ? stem.label : name;
  }

  function labelOfB(name) {
    const stem = state.other.stems.find((s) => s.name === name);
    return stem ? stem.label : name;
  }

  /* ---- B's sources on A's runs ---------------------------------------------------------- */

  function stopB() {
    Object.values(state.sources).forEach((run) => {
      try {
        run.source.stop();
      } catch {
        /* never started */
      }
      run.source.disconnect();
    });
    state.sources = {};
  }

  function startB(when, offset) {
    stopB();
    if (state.status !== "ready") return;
    Object.entries(state.stems).forEach(([name, stem]) => {
      const src = ctx.createBufferSource();
      src.buffer = stem.buffer;
      src.playbackRate.value = mixer.tempo;
      if (mixer.runLoop) {
        src.loop = true;
        src.loopStart = mixer.runLoop.start;
        src.loopEnd = mixer.runLoop.end;
      }
      src.connect(stem.gain);
      src.start(when, Math.min(offset, stem.buffer.duration));
      // a loop counted in (metronome.js) plays one pass a run: B stops with A at its end
      if (mixer.runEnd !== null) src.stop(when + Math.max(0, mixer.runEnd - offset) / mixer.tempo);
      state.sources[name] = { source: src, startTime: when, offset: offset };
    });
  }

  const previousSources = mixer.onSources; // practice.js's: the original joins each run too
  mixer.onSources = (when, offset) => {
    previousSources(when, offset);
    if (when === null) stopB();
    else startB(when, offset);
  };
  const previousGains = mixer.onGains; // a solo silences B's own stems
  mixer.onGains = () => {
    previousGains();
    applyRoute();
  };

  /* B joins the run that is playing: from where the clock will be once its sources start. */
  function joinRun() {
    let when = ctx.currentTime + START_LEAD;
    let offset;
    if (when <= mixer.startedAt) {
      when = mixer.startedAt;
      offset = mixer.startOffset;
    } else {
      offset = runOffset({
        startedAt: mixer.startedAt,
        startOffset: mixer.startOffset,
        tempo: mixer.tempo,
        loop: mixer.runLoop,
        duration: mixer.duration,
      }, when);
    }
    startB(when, offset);
    return when;
  }

  /* ---- the switch ----------------------------------------------------------------------- */

  function ramp(node, target, from) {
    const param = node.gain;
    const now = ctx.currentTime;
    const at = Math.max(now, from || now);
    param.cancelScheduledValues(now);
    param.setValueAtTime(param.value, at);
    param.linearRampToValueAtTime(target, at + SWITCH_SECONDS);
  }

  /* The side gains as the choice says, from ctx time `from` (default: now). */
  function applyRoute(from) {
    if (!state.pairs) return;
    const anySolo = mixer.stems.some((s) => s.soloed);
    route = routing(state.pairs, state.choice, anySolo, state.status === "ready");
    Object.entries(route.a).forEach(([name, gain]) => ramp(aGains[name], gain, from));
    Object.entries(route.b).forEach(([name, gain]) => {
      if (state.stems[name]) ramp(state.stems[name].gain, gain, from);
    });
    state.pairs.rows.forEach((row) => {
      const view = rowUi[row.name] ? rowUi[row.name].view : views.find((v) => v.name === row.name);
      if (!view) return;
      const plays = route.plays[row.name];
      const peaks = plays === "b" && state.stems[row.b] ? state.stems[row.b].peaks : aPeaks[row.name];
      if (view.peaks !== peaks) {
        view.peaks = peaks;
        view.dirty = true;
      }
      view.row.setAttribute("data-compare", plays || "none");
    });
  }

  /* ---- loading B ------------------------------------------------------------------------ */

  function failed(token, reason, status) {
    if (token !== state.token) return;
    state.status = status || "failed";
    state.reason = reason;
    state.loading = null;
    applyRoute();
    show();
  }

  function load() {
    if (state.status === "ready" || state.status === "too-long") return Promise.resolve();
    if (state.loading) return state.loading;
    const other = state.other;
    const token = state.token;
    if (!fitsBeside(mixer.duration, ctx.sampleRate, other.stems.length, MEMORY_BUDGET)) {
      failed(token, "B is too long to hold beside A in this browser: open its page to hear it.",
        "too-long");
      return Promise.resolve();
    }
    state.status = "loading";
    state.reason = "";
    show();
    const fetchBytes = (url) => fetch(url, { credentials: "same-origin" }).then((resp) => {
      if (!resp.ok) throw new Error("the server answered " + resp.status);
      return resp;
    });
    state.loading = fetchBytes(other.stems_url)
      .then((resp) => resp.json())
      .then((payload) => Promise.all(payload.stems.map((stem) =>
        fetchBytes(stem.preview_url)
          .then((resp) => resp.arrayBuffer())
          .then((bytes) => ctx.decodeAudioData(bytes))
          .then((buffer) => ({ stem: stem, buffer: buffer })))))
      .then((decoded) => {
        if (token !== state.token) return;
        const shared = new Map(state.pairs.rows.filter((r) => r.b).map((r) => [r.b, r.name]));
        decoded.forEach(({ stem, buffer }) => {
          const gain = ctx.createGain();
          gain.gain.value = 0;
          // a shared stem goes through its A row's gain (volume, mute, solo, pan); B's own to the bus
          gain.connect(shared.has(stem.name) ? mixer.stem(shared.get(stem.name)).gain : bus);
          state.stems[stem.name] = { label: stem.label, peaks: stem.peaks || [], buffer: buffer, gain: gain };
        });
        state.status = "ready";
        state.loading = null;
        applyRoute(mixer.playing ? joinRun() : undefined);
        show();
      })
      .catch((err) => failed(token, "Couldn't load B (" +
        (err && err.message ? err.message : "decoding failed") + "); open its page to hear it."));
    return state.loading;
  }

  /* Compare with another separation: B's audio goes, the choices carry over where they can. */
  function pick(id) {
    const other = data.others.find((o) => o.id === id);
    if (!other || (state.other && state.other.id === id)) return Promise.resolve();
    const wasLoaded = state.status !== "idle";
    stopB();
    Object.values(state.stems).forEach((stem) => stem.gain.disconnect());
    state.stems = {};
    state.token += 1;
    state.loading = null;
    state.status = "idle";
    state.reason = "";
    state.other = other;
    state.pairs = pairStems(data.this.stems, other.stems);
    state.choice = state.choice ? carryOver(state.pairs, state.choice) : allOf(state.pairs, "a");
    if (select.value !== id) select.value = id;
    applyRoute();
    show();
    return wasLoaded && state.enabled ? load() : Promise.resolve();
  }

  /* A choice to hear: B is fetched first if it is not there yet. */
  function hear(choice) {
    if (!state.enabled) return Promise.resolve();
    state.choice = choice;
    applyRoute();
    show();
    return load();
  }

  const chooseStem = (name, side) => hear(choose(state.pairs, state.choice, name, side));
  const hearAll = (side) => hear(allOf(state.pairs, side));
  const swap = () => hear(swapped(state.pairs, state.choice));

  /* ---- what the page shows -------------------------------------------------------------- */

  function show() {
    const usable = state.enabled && state.status !== "too-long"; // a failed load retries
    const whole = wholeSide(state.pairs, state.choice);
    wholeButtons.forEach((button) => {
      const side = button.getAttribute("data-side");
      button.disabled = !usable;
      button.setAttribute("aria-pressed", String(whole === side));
    });
    const bLabel = state.other.label;
    state.pairs.rows.forEach((row) => {
      const ui = rowUi[row.name];
      if (!ui) return;
      const label = labelOfA(row.name);
      ui.a.hidden = ui.b.hidden = !row.b;
      ui.missing.hidden = Boolean(row.b);
      if (row.b) {
        const bName = labelOfB(row.b);
        ui.a.disabled = ui.b.disabled = !usable;
        ui.a.setAttribute("aria-pressed", String(state.choice.rows[row.name] === "a"));
        ui.b.setAttribute("aria-pressed", String(state.choice.rows[row.name] === "b"));
        ui.a.setAttribute("aria-label", "A: " + label + " from " + data.this.label);
        ui.b.setAttribute("aria-label", "B: " + (bName === label ? label : bName) + " from " + bLabel);
        ui.a.title = ui.a.getAttribute("aria-label");
        ui.b.title = ui.b.getAttribute("aria-label");
      } else {
        ui.missing.textContent = "Not in B";
        ui.missing.title = label + " is not among the stems of " + bLabel;
      }
    });
    if (pageLink) {
      pageLink.href = state.other.page_url;
      pageLink.setAttribute("aria-label", "Open B's page: " + bLabel);
    }
    const lines = [];
    if (state.status === "loading") lines.push("Loading B: " + bLabel + "…");
    else if (state.reason) lines.push(state.reason);
    if (state.pairs.onlyB.length) {
      lines.push("Only in B: " + state.pairs.onlyB.map(labelOfB).join(", ") + " (heard with All B).");
    }
    if (!state.pairs.rows.some((r) => r.b)) lines.push("The two share no stem: compare all of A with all of B.");
    if (state.status === "ready" && whole !== "a") {
      lines.push("The downloads and the mix below are A's; B's are on its page.");
    }
    const text = lines.join(" ");
    if (note.textContent !== text) note.textContent = text; // a live region: said when it changes
    panel.setAttribute("data-status", state.status);
    panel.setAttribute("data-whole", whole || "mixed");
  }

  /* ---- wiring ----------------------------------------------------------------------------- */

  select.addEventListener("change", () => { pick(select.value); });
  wholeButtons.forEach((button) => {
    button.addEventListener("click", () => { hearAll(button.getAttribute("data-side")); });
  });
  Object.entries(rowUi).forEach(([name, ui]) => {
    ui.a.addEventListener("click", () => { chooseStem(name, "a"); });
    ui.b.addEventListener("click", () => { chooseStem(name, "b"); });
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || !state.enabled) return;
    const t = ev.target;
    const tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    const type = tag === "input" ? (t.type || "text").toLowerCase() : "";
    const typing = t && (t.isContentEditable || tag === "textarea" || tag === "select" ||
      (tag === "input" && type !== "range" && type !== "checkbox" && type !== "radio"));
    if (typing || (ev.key !== "x" && ev.key !== "X")) return;
    ev.preventDefault();
    swap();
  });

  const wanted = new URLSearchParams(window.location.search).get("compare");
  pick(firstPick(data.others, wanted));

  /* Comparing needs A complete and loaded (player.js calls this when the stems change). */
  function refresh() {
    const enabled = root.getAttribute("data-state") === "ready";
    if (enabled && !state.enabled) {
      state.enabled = true;
      if (wanted === state.other.id) load(); // a "compare" link: B is wanted at once
    }
    show();
  }
  refresh();

  /* The page's handle on the comparison (player.js), and what tests read (`player.compare`). */
  return {
    refresh: refresh,
    pick: pick,
    load: load,
    choose: chooseStem,
    all: hearAll,
    swap: swap,
    state: () => ({
      enabled: state.enabled,
      a: data.this.id,
      b: state.other.id,
      label: state.other.label,
      status: state.status,
      reason: state.reason,
      base: state.choice.base,
      chosen: { ...state.choice.rows },
      whole: wholeSide(state.pairs, state.choice),
      pairs: state.pairs,
      plays: { ...route.plays },
      /* the side gains' targets and their values now: a by A's stem names, b by B's */
      gains: { a: { ...route.a }, b: { ...route.b } },
      levels: {
        a: Object.fromEntries(Object.entries(aGains).map(([n, g]) => [n, g.gain.value])),
        b: Object.fromEntries(Object.entries(state.stems).map(([n, s]) => [n, s.gain.gain.value])),
      },
      /* B's live sources: the separation, when each started (ctx time) and from which offset */
      sources: Object.entries(state.sources).map(([name, run]) => ({
        stem: name,
        separation: state.other.id,
        startTime: run.startTime,
        offset: run.offset,
        rate: run.source.playbackRate.value,
        loop: run.source.loop ? [run.source.loopStart, run.source.loopEnd] : null,
        duration: run.source.buffer.duration,
      })),
    }),
  };
}
