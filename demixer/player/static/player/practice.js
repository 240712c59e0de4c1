/* Practice tools on the result page (an ES module): per-stem pan, the A-B loop, tempo and pitch,
 * and "compare with the original". player.js calls wirePractice() once the mixer's
 * AudioContext is open; the graph becomes
 *
 *   source(stem, playbackRate = tempo, native A-B loop) -> gain -> StereoPanner -> bus ─┐
 *   source(original, the same start, rate and loop)     -> originalGain ──────────────┴─>
 *     master -> [Signalsmith Stretch, live input: semitones = pitch - 12 log2(tempo)] -> out
 *     -> destination (and a meter per channel)
 *
 * All sources keep one clock (mixer.js): tempo is their playbackRate, so the clock advances at
 * tempo x real time and every stem stays aligned; the resampling's pitch change is undone by the
 * one stretcher on the mix (skipped at tempo 100 %, pitch 0). The loop is AudioBufferSourceNode's
 * own (sample-exact, the same on every source). The original plays on the same run, silent until
 * compared: switching is a gain change, so the position cannot move.
 *
 * The stretcher is Signalsmith Stretch (MIT; npm signalsmith-stretch, copied into vendor/ by
 * `make player-assets`). Without that file the tempo and pitch controls stay disabled, with a
 * note; everything else works.
 */
import { Ruler, fmtTime } from "./ruler.js";
import { fitLoop, loopFromA, loopFromB } from "./timeline.js";
const DRAG_PX = 5; // a pointer that moves less than this clicked (seeks) instead of selecting

/* A pan's figure: "C", "L40", "R100". */
export function panText(v) {
  if (Math.abs(v) < 0.005) return "C";
  return (v < 0 ? "L" : "R") + Math.round(Math.abs(v) * 100);
}

/* The stretcher's shift: the pitch asked for, less what playing at `tempo` did to it. */
export function semitonesFor(tempo, pitch) {
  return pitch - 12 * Math.log2(tempo);
}

function typingIn(t) {
  const tag = t && t.tagName ? t.tagName.toLowerCase() : "";
  const type = tag === "input" ? (t.type || "text").toLowerCase() : "";
  const pressable = ["checkbox", "radio", "button", "submit", "reset", "range"].indexOf(type) !== -1;
  return t && (t.isContentEditable || tag === "textarea" || tag === "select" ||
    (tag === "input" && !pressable));
}

/* zoom: the page's Zoom (zoom.js): which part of the song the waveforms and the ruler show */
export function wirePractice(root, mixer, views, zoom) {
  const ctx = mixer.ctx;
  const q = (role) => root.querySelector("[data-role='" + role + "']");
  const act = (name) => root.querySelector("[data-action='" + name + "']");
  const ui = {
    loop: act("loop"),
    loopA: act("loop-a"),
    loopB: act("loop-b"),
    loopRange: q("loop-range"),
    tempo: q("tempo"),
    tempoValue: q("tempo-value"),
    pitch: q("pitch"),
    pitchValue: q("pitch-value"),
    compare: act("compare"),
    note: q("practice-note"),
    ruler: q("ruler"),
  };
  const mixForm = document.getElementById("mix-form");
  const field = (name) => (mixForm ? mixForm.querySelector("input[name='" + name + "']") : null);

  /* ---- the graph ----------------------------------------------------------------------- */

  const bus = ctx.createGain(); // the stems' sum: silent while the original is compared
  const originalGain = ctx.createGain();
  originalGain.gain.value = 0;
  const out = ctx.createGain(); // what is heard, after the stretcher when it runs
  mixer.master.disconnect();
  mixer.master.connect(out);
  out.connect(ctx.destination);
  bus.connect(mixer.master);
  originalGain.connect(mixer.master);
  const pans = {};
  views.forEach((view) => {
    const stem = mixer.stem(view.name);
    const pan = ctx.createStereoPanner();
    stem.gain.disconnect();
    stem.gain.connect(pan);
    pan.connect(bus);
    pans[view.name] = pan;
  });
  const splitter = ctx.createChannelSplitter(2);
  const meters = [ctx.createAnalyser(), ctx.createAnalyser()];
  out.connect(splitter);
  meters.forEach((m, c) => {
    m.fftSize = 4096;
    splitter.connect(m, c);
  });

  const state = {
    enabled: false, // the stems are complete and loaded: loop, tempo, pitch, compare work
    tempo: 1,
    pitch: 0,
    loop: null, // {start, end} seconds
    loopOn: false,
    draft: null, // a selection being dragged
    comparing: false,
    stretch: "loading", // loading | ready | missing
    original: "unknown", // unknown | loading | ready | unavailable
    originalReason: "",
  };
  let stretchNode = null;
  let stretchLatency = 0; // seconds the stretcher holds the sound back while it runs
  let originalBuffer = null;
  let originalSource = null;
  let originalRun = null;
  let suppressClick = false;
  let markers = []; // the user's markers (markers.js), drawn on the ruler

  function note() {
    const notes = [];
    if (state.stretch === "missing") {
      notes.push("Tempo and pitch are unavailable: this server lacks the time-stretch module.");
    }
    if (state.original === "unavailable") notes.push(state.originalReason);
    ui.note.textContent = notes.join(" ");
    ui.note.hidden = !notes.length;
  }

  function showControls() {
    const on = state.enabled;
    [ui.loop, ui.loopA, ui.loopB].forEach((b) => { b.disabled = !on; });
    ui.tempo.disabled = ui.pitch.disabled = !(on && state.stretch === "ready");
    ui.compare.disabled = !on || state.original === "unavailable";
    ui.compare.title = state.original === "unavailable" ? state.originalReason : "";
    ui.loop.setAttribute("aria-pressed", String(state.loopOn));
    ui.compare.setAttribute("aria-pressed", String(state.comparing));
    root.setAttribute("data-loop", state.loopOn ? "on" : state.loop ? "off" : "none");
    root.setAttribute("data-compare", String(state.comparing));
    ui.loopRange.textContent = state.loop
      ? fmtTime(state.loop.start) + "–" + fmtTime(state.loop.end)
      : "drag over a waveform";
    ui.tempoValue.textContent = Math.round(state.tempo * 100) + " %";
    ui.pitchValue.textContent = (state.pitch > 0 ? "+" : "") + state.pitch;
    const tempoField = field("tempo");
    const pitchField = field("pitch");
    if (tempoField) tempoField.value = state.tempo.toFixed(2);
    if (pitchField) pitchField.value = String(state.pitch);
    note();
  }

  /* ---- tempo and pitch --------------------------------------------------------------- */

  function route() {
    const identity = state.tempo === 1 && state.pitch === 0;
    mixer.master.disconnect();
    if (identity || !stretchNode) {
      mixer.outputDelay = 0;
      mixer.master.connect(out);
      return;
    }
    mixer.outputDelay = stretchLatency; // the display follows the ear
    stretchNode.schedule({ active: true, semitones: semitonesFor(state.tempo, state.pitch) });
    mixer.master.connect(stretchNode);
  }

  function loadStretch() {
    const url = root.getAttribute("data-stretch-url");
    if (!url || !window.AudioWorkletNode || !ctx.audioWorklet) {
      state.stretch = "missing";
      showControls();
      return Promise.resolve();
    }
    return import(url)
      .then((mod) => {
        const create = mod.default;
        create.moduleUrl = url; // the worklet loads the same static file (no blob: URL)
        return create(ctx, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
      })
      .then((node) => {
        stretchNode = node;
        stretchNode.connect(out);
        return Promise.resolve(node.latency()).then((seconds) => {
          stretchLatency = seconds > 0 ? seconds : 0; // its input and output latency together
          state.stretch = "ready";
          route();
        });
      })
      .catch(() => {
        state.stretch = "missing";
      })
      .then(showControls);
  }

  function setTempo(tempo) {
    tempo = Math.max(0.5, Math.min(1.5, Math.round(tempo * 100) / 100));
    if (tempo === state.tempo) return;
    state.tempo = tempo;
    ui.tempo.value = String(Math.round(tempo * 100));
    route();
    mixer.setTempo(tempo);
    showControls();
  }

  function setPitch(pitch) {
    pitch = Math.max(-6, Math.min(6, Math.round(pitch)));
    state.pitch = pitch;
    ui.pitch.value = String(pitch);
    route();
    showControls();
  }

  /* ---- the loop ---------------------------------------------------------------------- */

  function applyLoop() {
    mixer.setLoop(state.loopOn && state.loop ? { start: state.loop.start, end: state.loop.end } : null);
    views.forEach((view) => { view.dirty = true; });
    showControls();
  }

  function useLoop(loop, on) {
    if (!loop) return false;
    state.loop = loop;
    state.loopOn = on;
    applyLoop();
    return true;
  }

  function setLoop(start, end, on) {
    return useLoop(fitLoop(start, end, mixer.duration), on);
  }

  function toggleLoop() {
    if (!state.loop) return;
    state.loopOn = !state.loopOn;
    applyLoop();
  }

  function markA() {
    useLoop(loopFromA(mixer.heardPosition(), state.loop, mixer.duration),
      state.loopOn || !state.loop);
  }

  function markB() {
    useLoop(loopFromB(mixer.heardPosition(), state.loop, mixer.duration), true);
  }

  /* Drag over a waveform (or the ruler) to select a loop; a click still seeks. */
  function wireDrag(canvas, seekOnClick) {
    let startX = null;
    let selecting = false;
    let box = null;
    const timeAt = (x) => zoom.timeAt(x - box.left, box.width);
    canvas.addEventListener("pointerdown", (ev) => {
      if (!state.enabled || ev.button !== 0) return;
      box = canvas.getBoundingClientRect();
      startX = ev.clientX;
      selecting = false;
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (startX === null || (!selecting && Math.abs(ev.clientX - startX) < DRAG_PX)) return;
      if (!selecting) {
        selecting = true;
        canvas.setPointerCapture(ev.pointerId);
      }
      const a = timeAt(Math.min(startX, ev.clientX));
      const b = timeAt(Math.max(startX, ev.clientX));
      state.draft = { start: Math.max(0, a), end: Math.min(mixer.duration, b) };
      views.forEach((view) => { view.dirty = true; });
    });
    const end = (ev) => {
      if (selecting && state.draft) {
        suppressClick = true; // the click that follows this pointerup must not seek
        setLoop(state.draft.start, state.draft.end, true);
      } else if (startX !== null && seekOnClick && ev.type === "pointerup" && box.width > 0) {
        mixer.seek(timeAt(ev.clientX));
      }
      state.draft = null;
      startX = null;
      selecting = false;
      views.forEach((view) => { view.dirty = true; });
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    // before stem_rows.js's own click-to-seek on the same canvas
    canvas.addEventListener("click", (ev) => {
      if (suppressClick) {
        suppressClick = false;
        ev.stopImmediatePropagation();
      }
    }, true);
  }

  /* waveform.js draws each waveform and calls this before the playhead. */
  let colors = null;
  function drawLoop(g, w, h, dpr) {
    const loop = state.draft || state.loop;
    if (!loop || !(mixer.duration > 0)) return;
    if (!colors) {
      const style = getComputedStyle(root);
      const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
      colors = {
        loop: v("--pl-loop", "rgba(125, 211, 252, 0.22)"),
        loopOff: v("--pl-loop-off", "rgba(152, 162, 182, 0.12)"),
        edge: v("--pl-loop-edge", "#7dd3fc"),
        tick: v("--pl-muted", "#98a2b6"),
        text: v("--pl-muted", "#98a2b6"),
      };
    }
    const x0 = zoom.xOf(loop.start, w);
    const x1 = zoom.xOf(loop.end, w);
    const on = state.draft || state.loopOn;
    g.fillStyle = on ? colors.loop : colors.loopOff;
    g.fillRect(x0, 0, Math.max(dpr, x1 - x0), h);
    if (on) {
      g.fillStyle = colors.edge;
      g.fillRect(x0, 0, dpr, h);
      g.fillRect(Math.max(0, x1 - dpr), 0, dpr, h);
    }
  }

  /* ---- compare with the original ----------------------------------------------------- */

  function startOriginal(when, offset) {
    if (originalSource) {
      originalSource.onended = null;
      try {
        originalSource.stop();
      } catch {
        /* never started */
      }
      originalSource.disconnect();
      originalSource = null;
      originalRun = null;
    }
    if (when === null || !originalBuffer) return;
    const src = ctx.createBufferSource();
    src.buffer = originalBuffer;
    src.playbackRate.value = mixer.tempo;
    if (mixer.runLoop) {
      src.loop = true;
      src.loopStart = mixer.runLoop.start;
      src.loopEnd = mixer.runLoop.end;
    }
    src.connect(originalGain);
    src.start(when, Math.min(offset, originalBuffer.duration));
    originalSource = src;
    originalRun = { startTime: when, offset: offset };
  }
  mixer.onSources = startOriginal;

  function unavailable(reason) {
    state.original = "unavailable";
    state.originalReason = reason;
    if (state.comparing) setCompare(false);
    showControls();
  }

  /* Whether the browser can decode the upload's format, asked before fetching it. */
  function checkOriginal() {
    const url = root.getAttribute("data-original-url");
    if (!url) {
      unavailable("The original is not available here.");
      return;
    }
    fetch(url, { method: "HEAD", credentials: "same-origin" }).then((resp) => {
      const type = (resp.headers.get("Content-Type") || "").split(";")[0].trim();
      const known = type && type !== "application/octet-stream";
      if (resp.ok && known && !document.createElement("audio").canPlayType(type)) {
        unavailable("This browser can't play the original's format (" + type + ").");
      }
    }, () => {});
  }

  function loadOriginal() {
    state.original = "loading";
    showControls();
    return fetch(root.getAttribute("data-original-url"), { credentials: "same-origin" })
      .then((resp) => {
        if (!resp.ok) throw new Error("the server answered " + resp.status);
        return resp.arrayBuffer();
      })
      .then((bytes) => ctx.decodeAudioData(bytes))
      .then((buffer) => {
        originalBuffer = buffer;
        state.original = "ready";
        if (mixer.playing) mixer.startAt(mixer.position()); // the original joins this run
      }, () => {
        unavailable("This browser couldn't decode the original file.");
      });
  }

  function setCompare(on) {
    state.comparing = on;
    bus.gain.value = on ? 0 : 1;
    originalGain.gain.value = on ? 1 : 0;
    showControls();
  }

  function toggleCompare() {
    if (!state.enabled || state.original === "unavailable" || state.original === "loading") {
      return Promise.resolve();
    }
    if (state.original === "ready") {
      setCompare(!state.comparing);
      return Promise.resolve();
    }
    return loadOriginal().then(() => {
      if (state.original === "ready") setCompare(true);
    });
  }

  /* ---- per stem: pan, and the volume as a figure -------------------------------------- */

  views.forEach((view) => {
    const volume = view.row.querySelector("[data-role='volume-value']");
    const panEl = view.row.querySelector("[data-role='pan']");
    const panValue = view.row.querySelector("[data-role='pan-value']");
    const showVolume = () => {
      if (volume) volume.textContent = Math.round(parseFloat(view.volumeEl.value) * 100) + "%";
    };
    view.volumeEl.addEventListener("input", showVolume);
    showVolume();
    if (!panEl) return;
    const applyPan = () => {
      const v = parseFloat(panEl.value) || 0;
      pans[view.name].pan.value = v;
      view.row.setAttribute("data-pan", String(v));
      if (panValue) panValue.textContent = panText(v);
      const form = field("pan_" + view.name); // the custom mix is rendered with the same pan
      if (form) form.value = v.toFixed(2);
    };
    panEl.addEventListener("input", applyPan);
    panEl.addEventListener("dblclick", () => {
      panEl.value = "0";
      applyPan();
    });
    applyPan();
  });

  /* ---- wiring -------------------------------------------------------------------------- */

  ui.loop.addEventListener("click", () => {
    if (state.loop) toggleLoop();
    else {
      const at = mixer.heardPosition();
      setLoop(at, Math.min(mixer.duration, at + 4), true);
    }
  });
  ui.loopA.addEventListener("click", markA);
  ui.loopB.addEventListener("click", markB);
  ui.tempo.addEventListener("input", () => setTempo(parseFloat(ui.tempo.value) / 100));
  ui.pitch.addEventListener("input", () => setPitch(parseFloat(ui.pitch.value)));
  ui.compare.addEventListener("click", () => { toggleCompare(); });
  views.forEach((view) => wireDrag(view.canvas, false));
  const ruler = ui.ruler ? new Ruler(ui.ruler, views[0].canvas) : null;
  if (ruler) wireDrag(ui.ruler, true);

  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || typingIn(ev.target)) return;
    if (!state.enabled) return;
    const key = ev.key;
    if (key === "[") markA();
    else if (key === "]") markB();
    else if (key === "l" || key === "L") ui.loop.click();
    else if (key === "c" || key === "C") toggleCompare();
    else return;
    ev.preventDefault();
  });

  function rulerFrame() {
    if (ruler) {
      const loop = state.draft || state.loop;
      ruler.draw(zoom.current(), loop, Boolean(state.draft) || state.loopOn, {
        loop: "rgba(125, 211, 252, 0.28)",
        loopOff: "rgba(152, 162, 182, 0.15)",
        tick: "#5b6680",
        text: "#98a2b6",
        marker: "#fbbf24",
      }, markers);
    }
    window.requestAnimationFrame(rulerFrame);
  }
  window.requestAnimationFrame(rulerFrame);

  /* The tools need the whole stems: while a job still separates (listen early) they wait. */
  function refresh() {
    const live = root.getAttribute("data-live");
    const enabled = root.getAttribute("data-state") === "ready" && (!live || live === "complete");
    if (enabled && !state.enabled) {
      state.enabled = true;
      checkOriginal();
    }
    showControls();
  }
  refresh(); // and again whenever player.js says the stems changed (practice.refresh())
  loadStretch();

  /* The page's handle on the tools (player.js), and what tests read (its `player.practice`). */
  return {
    input: bus, // where the stems' sum goes (compare.js adds the stems only B has)
    drawLoop: drawLoop,
    refresh: refresh,
    setMarkers: (list) => { markers = list; },
    state: () => ({
      enabled: state.enabled,
      tempo: state.tempo,
      pitch: state.pitch,
      semitones: stretchNode && !(state.tempo === 1 && state.pitch === 0)
        ? semitonesFor(state.tempo, state.pitch) : 0,
      loop: state.loop ? { start: state.loop.start, end: state.loop.end } : null,
      loopOn: state.loopOn,
      comparing: state.comparing,
      stretch: state.stretch,
      latency: stretchLatency,
      outputDelay: mixer.outputDelay,
      original: state.original,
      originalReason: state.originalReason,
      stemsGain: bus.gain.value,
      originalGain: originalGain.gain.value,
      originalRun: originalRun,
    }),
    /* stem name -> its StereoPannerNode's pan.value */
    pans: () => Object.fromEntries(Object.entries(pans).map(([n, p]) => [n, p.pan.value])),
    /* RMS of what is heard, per channel, over the analysers' last 4096 frames */
    levels: () => meters.map((m) => {
      const data = new Float32Array(m.fftSize);
      m.getFloatTimeDomainData(data);
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
      return Math.sqrt(sum / data.length);
    }),
    setTempo: setTempo,
    setPitch: setPitch,
    setLoop: setLoop,
    toggleLoop: toggleLoop,
    toggleCompare: toggleCompare,
    stretchReady: () => state.stretch !== "loading",
  };
}
