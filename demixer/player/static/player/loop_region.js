/* The A-B loop on the result page (an ES module): dragged over a waveform or the ruler, set at
 * the playhead with A/B ([ and ]), toggled with Loop (L), drawn on the waveforms and the ruler.
 * The loop itself is the sources' own (mixer.setLoop: AudioBufferSourceNode's native loop,
 * sample-exact, the same on every source); the edits are timeline.js's pure functions. */

import { fmtTime } from "./ruler.js";
import { fitLoop, loopFromA, loopFromB } from "./timeline.js";

const DRAG_PX = 5; // a pointer that moves less than this clicked (seeks) instead of selecting
const NEW_LOOP = 4; // seconds: Loop with nothing selected loops this much from the playhead

export class LoopRegion {
  /* session: {enabled}, shared by the practice tools; zoom: which part of the song is shown;
   * ui: {loop, loopA, loopB, loopRange}; changed(): redraw the tools */
  constructor(root, mixer, views, zoom, session, ui, changed) {
    this.root = root;
    this.mixer = mixer;
    this.views = views;
    this.zoom = zoom;
    this.session = session;
    this.ui = ui;
    this.changed = changed;
    this.state = {
      loop: null, // {start, end} seconds
      loopOn: false,
      draft: null, // a selection being dragged
    };
    this.suppressClick = false; // the click that ends a drag must not seek
    this.colors = null;
  }

  redraw() {
    this.views.forEach((view) => { view.dirty = true; });
  }

  apply() {
    const { loop, loopOn } = this.state;
    this.mixer.setLoop(loopOn && loop ? { start: loop.start, end: loop.end } : null);
    this.redraw();
    this.changed();
  }

  use(loop, on) {
    if (!loop) return false;
    this.state.loop = loop;
    this.state.loopOn = on;
    this.apply();
    return true;
  }

  set(start, end, on) {
    return this.use(fitLoop(start, end, this.mixer.duration), on);
  }

  toggle() {
    if (!this.state.loop) return;
    this.state.loopOn = !this.state.loopOn;
    this.apply();
  }

  markA() {
    const { loop, loopOn } = this.state;
    this.use(loopFromA(this.mixer.heardPosition(), loop, this.mixer.duration), loopOn || !loop);
  }

  markB() {
    this.use(loopFromB(this.mixer.heardPosition(), this.state.loop, this.mixer.duration), true);
  }

  /* The Loop button (and L): toggle the loop, or loop a few seconds from the playhead. */
  press() {
    if (this.state.loop) this.toggle();
    else {
      const at = this.mixer.heardPosition();
      this.set(at, Math.min(this.mixer.duration, at + NEW_LOOP), true);
    }
  }

  /* What the waveforms and the ruler show: the selection being dragged, else the loop. */
  shown() {
    return this.state.draft || this.state.loop;
  }

  shownOn() {
    return Boolean(this.state.draft) || this.state.loopOn;
  }

  /* Drag over a waveform (or the ruler) to select a loop; a click still seeks. */
  wireDrag(canvas, seekOnClick) {
    let startX = null;
    let selecting = false;
    let box = null;
    const timeAt = (x) => this.zoom.timeAt(x - box.left, box.width);
    canvas.addEventListener("pointerdown", (ev) => {
      if (!this.session.enabled || ev.button !== 0) return;
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
      this.state.draft = { start: Math.max(0, a), end: Math.min(this.mixer.duration, b) };
      this.redraw();
    });
    const end = (ev) => {
      const draft = this.state.draft;
      if (selecting && draft) {
        this.suppressClick = true; // the click that follows this pointerup must not seek
        this.set(draft.start, draft.end, true);
      } else if (startX !== null && seekOnClick && ev.type === "pointerup" && box.width > 0) {
        this.mixer.seek(timeAt(ev.clientX));
      }
      this.state.draft = null;
      startX = null;
      selecting = false;
      this.redraw();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    // before stem_rows.js's own click-to-seek on the same canvas
    canvas.addEventListener("click", (ev) => {
      if (this.suppressClick) {
        this.suppressClick = false;
        ev.stopImmediatePropagation();
      }
    }, true);
  }

  wire() {
    this.ui.loop.addEventListener("click", () => this.press());
    this.ui.loopA.addEventListener("click", () => this.markA());
    this.ui.loopB.addEventListener("click", () => this.markB());
  }

  /* waveform.js draws each waveform and calls this before the playhead. */
  draw(g, w, h, dpr) {
    const loop = this.shown();
    if (!loop || !(this.mixer.duration > 0)) return;
    if (!this.colors) {
      const style = getComputedStyle(this.root);
      const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
      this.colors = {
        loop: v("--pl-loop", "rgba(125, 211, 252, 0.22)"),
        loopOff: v("--pl-loop-off", "rgba(152, 162, 182, 0.12)"),
        edge: v("--pl-loop-edge", "#7dd3fc"),
      };
    }
    const x0 = this.zoom.xOf(loop.start, w);
    const x1 = this.zoom.xOf(loop.end, w);
    const on = this.shownOn();
    g.fillStyle = on ? this.colors.loop : this.colors.loopOff;
    g.fillRect(x0, 0, Math.max(dpr, x1 - x0), h);
    if (on) {
      g.fillStyle = this.colors.edge;
      g.fillRect(x0, 0, dpr, h);
      g.fillRect(Math.max(0, x1 - dpr), 0, dpr, h);
    }
  }

  show(enabled) {
    const { loop, loopOn } = this.state;
    [this.ui.loop, this.ui.loopA, this.ui.loopB].forEach((b) => { b.disabled = !enabled; });
    this.ui.loop.setAttribute("aria-pressed", String(loopOn));
    this.root.setAttribute("data-loop", loopOn ? "on" : loop ? "off" : "none");
    this.ui.loopRange.textContent = loop
      ? fmtTime(loop.start) + "–" + fmtTime(loop.end)
      : "drag over a waveform";
  }

  /* What tests read: a copy. */
  current() {
    const loop = this.state.loop;
    return loop ? { start: loop.start, end: loop.end } : null;
  }
}
