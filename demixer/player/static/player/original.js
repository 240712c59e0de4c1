/* "Compare with the original" on the result page (an ES module): the upload plays on the same
 * run as the stems (the same start, offset, rate and loop), silent until compared, so switching
 * is a gain change and the position cannot move. It is fetched on the first compare; whether the
 * browser can decode its format is asked first (a HEAD request). */

export class OriginalCompare {
  /* graph: practice_graph.js's (originalGain, hearStems); url: #player[data-original-url];
   * button: [data-action=compare]; changed(): redraw the tools */
  constructor(root, mixer, graph, session, button, changed) {
    this.root = root;
    this.mixer = mixer;
    this.graph = graph;
    this.session = session;
    this.button = button;
    this.changed = changed;
    this.state = {
      status: "unknown", // unknown | loading | ready | unavailable
      reason: "", // why it is unavailable, in a sentence
      comparing: false,
    };
    this.buffer = null;
    this.source = null;
    this.run = null; // {startTime, offset} of the source playing
  }

  url() {
    return this.root.getAttribute("data-original-url");
  }

  /* mixer.onSources: the original joins each run the stems start (when: ctx time, offset: s),
   * and stops with them (when === null). */
  start(when, offset) {
    if (this.source) {
      this.source.onended = null;
      try {
        this.source.stop();
      } catch {
        /* never started */
      }
      this.source.disconnect();
      this.source = null;
      this.run = null;
    }
    if (when === null || !this.buffer) return;
    const mixer = this.mixer;
    const src = mixer.ctx.createBufferSource();
    src.buffer = this.buffer;
    src.playbackRate.value = mixer.tempo;
    if (mixer.runLoop) {
      src.loop = true;
      src.loopStart = mixer.runLoop.start;
      src.loopEnd = mixer.runLoop.end;
    }
    src.connect(this.graph.originalGain);
    src.start(when, Math.min(offset, this.buffer.duration));
    if (mixer.runEnd !== null) src.stop(when + (mixer.runEnd - offset) / mixer.tempo); // one pass
    this.source = src;
    this.run = { startTime: when, offset: offset };
  }

  unavailable(reason) {
    this.state.status = "unavailable";
    this.state.reason = reason;
    if (this.state.comparing) this.setComparing(false);
    this.changed();
  }

  /* Whether the browser can decode the upload's format, asked before fetching it. */
  check() {
    const url = this.url();
    if (!url) {
      this.unavailable("The original is not available here.");
      return;
    }
    fetch(url, { method: "HEAD", credentials: "same-origin" }).then((resp) => {
      const type = (resp.headers.get("Content-Type") || "").split(";")[0].trim();
      const known = type && type !== "application/octet-stream";
      if (resp.ok && known && !document.createElement("audio").canPlayType(type)) {
        this.unavailable("This browser can't play the original's format (" + type + ").");
      }
    }, () => {});
  }

  load() {
    this.state.status = "loading";
    this.changed();
    return fetch(this.url(), { credentials: "same-origin" })
      .then((resp) => {
        if (!resp.ok) throw new Error("the server answered " + resp.status);
        return resp.arrayBuffer();
      })
      .then((bytes) => this.mixer.ctx.decodeAudioData(bytes))
      .then((buffer) => {
        this.buffer = buffer;
        this.state.status = "ready";
        if (this.mixer.playing) this.mixer.startAt(this.mixer.position()); // it joins this run
      }, () => {
        this.unavailable("This browser couldn't decode the original file.");
      });
  }

  setComparing(on) {
    this.state.comparing = on;
    this.graph.hearStems(!on);
    this.changed();
  }

  toggle() {
    const status = this.state.status;
    if (!this.session.enabled || status === "unavailable" || status === "loading") {
      return Promise.resolve();
    }
    if (status === "ready") {
      this.setComparing(!this.state.comparing);
      return Promise.resolve();
    }
    return this.load().then(() => {
      if (this.state.status === "ready") this.setComparing(true);
    });
  }

  wire() {
    this.button.addEventListener("click", () => { this.toggle(); });
  }

  show(enabled) {
    const { status, reason, comparing } = this.state;
    this.button.disabled = !enabled || status === "unavailable";
    this.button.title = status === "unavailable" ? reason : "";
    this.button.setAttribute("aria-pressed", String(comparing));
    this.root.setAttribute("data-compare", String(comparing));
  }

  note() {
    return this.state.status === "unavailable" ? this.state.reason : "";
  }
}
