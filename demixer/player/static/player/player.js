/* demixer multi-stem player.
 *
 * Every stem plays from ONE AudioContext clock: each preview is fetched and decoded into an
 * AudioBuffer, and on play (or seek) one AudioBufferSourceNode per stem is started at the same
 * ctx.currentTime with the same offset. Separate <audio> elements drift apart; this cannot.
 *
 *   source(stem) -> GainNode(stem) -> master GainNode -> destination
 *
 * A stem's effective gain is 0 when it is muted, or when any stem is soloed and it is not
 * (mute wins over solo, like a mixing desk); otherwise it is the stem's volume slider.
 * window.demixerPlayer exposes the state for tests and the curious.
 */
(function () {
  "use strict";

  var root = document.getElementById("player");
  if (!root) return;

  var START_LEAD = 0.06; // seconds ahead, so every source is scheduled before the start time
  var statusEl = root.querySelector("[data-role=status]");
  var playBtn = root.querySelector("[data-action=play]");
  var seekEl = root.querySelector("[data-role=seek]");
  var currentEl = root.querySelector("[data-role=current]");
  var durationEl = root.querySelector("[data-role=duration]");
  var mixForm = document.getElementById("mix-form");
  var peaksData = {};
  JSON.parse(document.getElementById("stem-data").textContent).forEach(function (s) {
    peaksData[s.name] = s.peaks || [];
  });

  var ctx = null;
  var master = null;
  var stems = []; // {name, label, row, canvas, gain, buffer, volume, muted, soloed, peaks, source}
  var duration = parseFloat(root.getAttribute("data-duration")) || 0;
  var playing = false;
  var startedAt = 0; // ctx time the current sources were scheduled to start
  var startOffset = 0; // offset into the buffers the current sources started from
  var pausedAt = 0; // position while paused
  var generation = 0; // bumps on every (re)start, so "ended" from stopped sources is ignored
  var dragging = false;
  var pointerFocus = false; // the focused control was last reached by pointer, not keyboard
  var pointerDown = false;
  var ready = false;

  function fmt(seconds) {
    seconds = Math.max(0, seconds || 0);
    var m = Math.floor(seconds / 60);
    var s = Math.floor(seconds % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "player-status" + (kind ? " is-" + kind : "");
    statusEl.hidden = !text;
  }

  function position() {
    if (!playing) return pausedAt;
    var t = startOffset + Math.max(0, ctx.currentTime - startedAt);
    return Math.min(t, duration);
  }

  /* ---- gains ------------------------------------------------------------------------- */

  function effectiveGain(stem, anySolo) {
    if (stem.muted) return 0;
    if (anySolo && !stem.soloed) return 0;
    return stem.volume;
  }

  function applyGains() {
    var anySolo = stems.some(function (s) { return s.soloed; });
    stems.forEach(function (stem) {
      var g = effectiveGain(stem, anySolo);
      if (stem.gain) {
        stem.gain.gain.cancelScheduledValues(0);
        stem.gain.gain.value = g;
      }
      stem.row.setAttribute("data-gain", String(g));
      stem.row.setAttribute("data-muted", String(stem.muted));
      stem.row.setAttribute("data-soloed", String(stem.soloed));
      stem.row.setAttribute("data-volume", String(stem.volume));
      stem.row.classList.toggle("is-silent", g === 0);
      stem.muteBtn.setAttribute("aria-pressed", String(stem.muted));
      stem.soloBtn.setAttribute("aria-pressed", String(stem.soloed));
      if (mixForm) {
        var field = mixForm.querySelector("input[name='gain_" + stem.name + "']");
        if (field) field.value = g.toFixed(3);
      }
      stem.dirty = true;
    });
  }

  /* ---- transport --------------------------------------------------------------------- */

  function stopSources() {
    generation += 1;
    stems.forEach(function (stem) {
      if (stem.source) {
        stem.source.onended = null;
        try { stem.source.stop(); } catch (e) { /* never started */ }
        stem.source.disconnect();
        stem.source = null;
      }
    });
  }

  function startAt(offset) {
    stopSources();
    offset = Math.max(0, Math.min(offset, duration));
    if (offset >= duration - 0.01) offset = 0;
    var gen = generation;
    var when = ctx.currentTime + START_LEAD;
    stems.forEach(function (stem) {
      if (!stem.buffer) return;
      var src = ctx.createBufferSource();
      src.buffer = stem.buffer;
      src.connect(stem.gain);
      src.onended = function () {
        // stems can differ by a few samples: the run is over when the last one ends
        stem.source = null;
        if (gen === generation && playing && !stems.some(function (x) { return x.source; })) {
          finished();
        }
      };
      src.start(when, Math.min(offset, stem.buffer.duration));
      stem.source = src;
      stem.sourceStart = when;
      stem.sourceOffset = offset;
    });
    startedAt = when;
    startOffset = offset;
    playing = true;
    updateTransport();
  }

  function finished() {
    stopSources();
    playing = false;
    pausedAt = 0;
    updateTransport();
  }

  function play() {
    if (!ready || playing) return Promise.resolve();
    return ctx.resume().then(function () { startAt(pausedAt); });
  }

  function pause() {
    if (!playing) return;
    pausedAt = position();
    stopSources();
    playing = false;
    updateTransport();
  }

  function toggle() {
    if (playing) { pause(); return Promise.resolve(); }
    return play();
  }

  function seek(seconds) {
    seconds = Math.max(0, Math.min(seconds, duration));
    if (playing) {
      startAt(seconds);
    } else {
      pausedAt = seconds;
      updateTransport();
    }
  }

  function updateTransport() {
    playBtn.setAttribute("aria-pressed", String(playing));
    playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    playBtn.classList.toggle("is-playing", playing);
    root.setAttribute("data-playing", String(playing));
  }

  /* ---- drawing ----------------------------------------------------------------------- */

  function readColors(stem) {
    var style = getComputedStyle(stem.row);
    function v(name, fallback) { return style.getPropertyValue(name).trim() || fallback; }
    stem.colors = {
      wave: v("--pl-wave", "#4a5670"),
      played: v("--pl-wave-played", "#7dd3fc"),
      silent: v("--pl-wave-silent", "#2b3140"),
      head: v("--pl-playhead", "#f8fafc"),
    };
  }

  function sizeCanvas(stem) {
    var c = stem.canvas;
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(c.clientWidth * dpr));
    var h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
      stem.dirty = true;
    }
  }

  function draw(stem, pos) {
    var c = stem.canvas;
    var g = c.getContext("2d");
    var w = c.width;
    var h = c.height;
    var peaks = stem.peaks;
    var n = peaks.length;
    var mid = h / 2;
    var headX = duration > 0 ? (pos / duration) * w : 0;
    var silent = stem.row.classList.contains("is-silent");
    var colors = stem.colors;
    g.clearRect(0, 0, w, h);
    if (!n) return;
    var dpr = window.devicePixelRatio || 1;
    var bar = Math.max(1, Math.round(2 * dpr));
    var gap = Math.max(1, Math.round(dpr));
    var step = bar + gap;
    for (var x = 0; x < w; x += step) {
      var i0 = Math.floor((x / w) * n);
      var i1 = Math.max(i0 + 1, Math.floor(((x + step) / w) * n));
      var p = 0;
      for (var i = i0; i < i1 && i < n; i++) if (peaks[i] > p) p = peaks[i];
      var half = Math.max(dpr * 0.5, p * (mid - dpr));
      g.fillStyle = silent ? colors.silent : x + bar <= headX ? colors.played : colors.wave;
      g.fillRect(x, mid - half, bar, half * 2);
    }
    g.fillStyle = colors.head;
    g.fillRect(Math.min(w - dpr * 2, Math.max(0, headX - dpr)), 0, Math.round(2 * dpr), h);
    stem.drawnAt = pos;
    stem.dirty = false;
  }

  function frame() {
    var pos = position();
    if (!dragging) seekEl.value = String(pos);
    var shown = dragging ? parseFloat(seekEl.value) : pos;
    seekEl.style.setProperty("--pl-progress", (duration > 0 ? (shown / duration) * 100 : 0) + "%");
    currentEl.textContent = fmt(pos);
    seekEl.setAttribute("aria-valuetext", fmt(pos) + " of " + fmt(duration));
    stems.forEach(function (stem) {
      sizeCanvas(stem);
      if (stem.dirty || Math.abs(stem.drawnAt - pos) > 1e-3) draw(stem, pos);
    });
    window.requestAnimationFrame(frame);
  }

  /* ---- wiring ------------------------------------------------------------------------ */

  function buildStems() {
    var rows = root.querySelectorAll(".stem[data-stem]");
    Array.prototype.forEach.call(rows, function (row) {
      var name = row.getAttribute("data-stem");
      var stem = {
        name: name,
        label: row.getAttribute("data-label") || name,
        url: row.getAttribute("data-preview"),
        row: row,
        canvas: row.querySelector("canvas"),
        muteBtn: row.querySelector("[data-action=mute]"),
        soloBtn: row.querySelector("[data-action=solo]"),
        volumeEl: row.querySelector("[data-role=volume]"),
        peaks: peaksData[name] || [],
        volume: 1,
        muted: false,
        soloed: false,
        gain: null,
        buffer: null,
        source: null,
        dirty: true,
        drawnAt: -1,
      };
      stem.volume = parseFloat(stem.volumeEl.value);
      stem.muteBtn.addEventListener("click", function () {
        stem.muted = !stem.muted;
        applyGains();
      });
      stem.soloBtn.addEventListener("click", function () {
        stem.soloed = !stem.soloed;
        applyGains();
      });
      stem.volumeEl.addEventListener("input", function () {
        stem.volume = parseFloat(stem.volumeEl.value);
        applyGains();
      });
      stem.canvas.addEventListener("click", function (ev) {
        var rect = stem.canvas.getBoundingClientRect();
        if (ready && rect.width > 0) seek(((ev.clientX - rect.left) / rect.width) * duration);
      });
      stems.push(stem);
    });
  }

  function wireTransport() {
    playBtn.addEventListener("click", function () { toggle(); });
    seekEl.addEventListener("input", function () {
      dragging = true;
      currentEl.textContent = fmt(parseFloat(seekEl.value));
    });
    seekEl.addEventListener("change", function () {
      dragging = false;
      seek(parseFloat(seekEl.value));
    });
    // Focus that arrives while a pointer is down came from a click; any other (Tab, script)
    // came from the keyboard.
    document.addEventListener("pointerdown", function () {
      pointerDown = true;
      pointerFocus = true;
    }, true);
    document.addEventListener("pointerup", function () { pointerDown = false; }, true);
    document.addEventListener("pointercancel", function () { pointerDown = false; }, true);
    document.addEventListener("focusin", function () { pointerFocus = pointerDown; }, true);
    document.addEventListener("keydown", function (ev) {
      if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      var t = ev.target;
      var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
      var type = tag === "input" ? (t.type || "text").toLowerCase() : "";
      var pressable = ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) !== -1;
      var typing = t && (t.isContentEditable || tag === "textarea" || tag === "select" ||
        (tag === "input" && type !== "range" && !pressable));
      if (typing) return;
      if (ev.key === " " || ev.code === "Space") {
        // A control reached with the keyboard keeps its own space behaviour (press it); one
        // last clicked with the mouse does not, or space after clicking Mute would unmute.
        var control = pressable || tag === "button" || tag === "a" || tag === "summary";
        if (control && !pointerFocus) return;
        ev.preventDefault();
        if (ready) toggle();
      } else if ((ev.key === "ArrowLeft" || ev.key === "ArrowRight") && tag !== "input") {
        if (!ready) return;
        ev.preventDefault();
        seek(position() + (ev.key === "ArrowLeft" ? -5 : 5));
      }
    });
    window.addEventListener("resize", function () {
      stems.forEach(function (s) { s.dirty = true; });
    });
  }

  function loadStem(stem) {
    return fetch(stem.url, { credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) throw new Error("the server answered " + resp.status);
        return resp.arrayBuffer();
      })
      .then(function (bytes) { return ctx.decodeAudioData(bytes); })
      .then(function (buffer) {
        stem.buffer = buffer;
        stem.row.setAttribute("data-loaded", "true");
        return buffer;
      })
      .catch(function (err) {
        stem.row.setAttribute("data-loaded", "error");
        throw new Error("Couldn't load the " + stem.label.toLowerCase() + " preview (" +
          (err && err.message ? err.message : "decoding failed") + ").");
      });
  }

  /* Every stem is held decoded in memory (float32, stereo) so they can share one clock; for a
   * long track that is a lot, so the player's rate drops (to no less than 22.05 kHz) to keep it
   * near MEMORY_BUDGET. Only what you hear here is affected: downloads stay full quality. */
  var MEMORY_BUDGET = 700 * 1024 * 1024;
  function contextRate(seconds, count) {
    var bytesPerSecondAtOneHz = Math.max(1, seconds) * Math.max(1, count) * 2 * 4;
    var rate = Math.floor(MEMORY_BUDGET / bytesPerSecondAtOneHz);
    return Math.max(22050, Math.min(44100, rate));
  }

  function init() {
    buildStems();
    stems.forEach(readColors);
    durationEl.textContent = fmt(duration);
    wireTransport();
    applyGains();
    window.requestAnimationFrame(frame);

    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) {
      setStatus("This browser can't play stems together (no Web Audio). " +
        "The downloads below still work.", "error");
      root.setAttribute("data-state", "error");
      return;
    }
    try {
      ctx = new Ctx({ sampleRate: contextRate(duration, stems.length) });
    } catch (e) {
      ctx = new Ctx(); // an engine without the options argument
    }
    master = ctx.createGain();
    master.connect(ctx.destination);
    stems.forEach(function (stem) {
      stem.gain = ctx.createGain();
      stem.gain.connect(master);
    });
    applyGains();

    var done = 0;
    root.setAttribute("data-state", "loading");
    setStatus("Loading stems… 0 of " + stems.length);
    Promise.all(stems.map(function (stem) {
      return loadStem(stem).then(function () {
        done += 1;
        if (root.getAttribute("data-state") === "loading") {
          setStatus("Loading stems… " + done + " of " + stems.length);
        }
      });
    })).then(function () {
      var longest = stems.reduce(function (m, s) { return Math.max(m, s.buffer.duration); }, 0);
      if (longest > 0) duration = longest;
      seekEl.max = String(duration);
      durationEl.textContent = fmt(duration);
      ready = true;
      playBtn.disabled = false;
      seekEl.disabled = false;
      root.setAttribute("data-state", "ready");
      setStatus("");
    }).catch(function (err) {
      root.setAttribute("data-state", "error");
      setStatus(err.message + " Reload the page to try again; the downloads below still work.",
        "error");
    });
  }

  window.demixerPlayer = {
    isReady: function () { return ready; },
    play: play,
    pause: pause,
    toggle: toggle,
    seek: seek,
    position: position,
    duration: function () { return duration; },
    playing: function () { return playing; },
    /* stem name -> the GainNode's gain.value right now (what is audible, before the master) */
    gains: function () {
      var out = {};
      stems.forEach(function (s) { out[s.name] = s.gain ? s.gain.gain.value : null; });
      return out;
    },
    /* the live sources: when each was scheduled to start (ctx time) and from which offset */
    sources: function () {
      return stems.filter(function (s) { return s.source; }).map(function (s) {
        return { stem: s.name, startTime: s.sourceStart, offset: s.sourceOffset };
      });
    },
    context: function () { return ctx; },
  };

  init();
})();
