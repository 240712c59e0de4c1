/* The waveforms' zoom (an ES module): which part of the song the waveforms and the ruler show.
 * One Zoom per page, given to whatever draws or reads a time off a waveform (waveform.js,
 * stem_rows.js, the practice tools, the ruler); the arithmetic is timeline.js's. Ctrl + wheel
 * (a trackpad's pinch) zooms around the pointer, the wheel sideways (or Shift + wheel) moves a
 * zoomed view, and the page's buttons zoom around the playhead; while playing, the view pages
 * along with it.
 */
import { followView, fullView, panView, viewTime, viewX, zoomView } from "./timeline.js";

const WHEEL_ZOOM = 0.01; // per wheel delta unit: exp(-delta * this)
export const STEP = 2; // each zoom button: twice as close, or as far

export class Zoom {
  /* duration(): the song's length now (it is known better once the stems are decoded) */
  constructor(duration) {
    this.duration = duration;
    this.view = null; // null: the whole song
    this.onChange = () => {};
  }

  current() {
    return this.view || fullView(this.duration());
  }

  zoomed() {
    return this.view !== null;
  }

  set(view) {
    const d = this.duration();
    const whole = view.start <= 0 && view.end >= d;
    const next = whole ? null : view;
    const before = this.current();
    this.view = next;
    const now = this.current();
    if (now.start !== before.start || now.end !== before.end) this.onChange();
  }

  zoomBy(factor, at) {
    this.set(zoomView(this.current(), factor, at, this.duration()));
  }

  panBy(seconds) {
    if (this.view) this.set(panView(this.view, seconds, this.duration()));
  }

  fit() {
    this.set(fullView(this.duration()));
  }

  follow(position) {
    if (this.view) this.set(followView(this.view, position, this.duration()));
  }

  /* song time under x px from the left of a `width` px wide waveform, and back */
  timeAt(x, width) {
    return viewTime(x, width, this.current());
  }

  xOf(t, width) {
    return viewX(t, width, this.current());
  }

  /* Ctrl + wheel / pinch over `canvas` zooms around the pointer; sideways wheel pans. */
  wireWheel(canvas) {
    canvas.addEventListener("wheel", (ev) => {
      const box = canvas.getBoundingClientRect();
      if (!(box.width > 0) || !(this.duration() > 0)) return;
      if (ev.ctrlKey) {
        ev.preventDefault();
        this.zoomBy(Math.exp(-ev.deltaY * WHEEL_ZOOM), this.timeAt(ev.clientX - box.left, box.width));
      } else if (this.view && (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY))) {
        ev.preventDefault();
        const delta = ev.shiftKey && !ev.deltaX ? ev.deltaY : ev.deltaX;
        const span = this.view.end - this.view.start;
        this.panBy((delta / box.width) * span);
      }
    }, { passive: false });
  }
}

/* The page's zoom buttons ([data-action=zoom-in], zoom-out, zoom-fit) around the playhead
 * (position(): seconds), and Ctrl + wheel over the ruler. */
export function wireZoomButtons(root, zoom, position) {
  const button = (name) => root.querySelector("[data-action='" + name + "']");
  const ruler = root.querySelector("[data-role=ruler]");
  if (ruler) zoom.wireWheel(ruler);
  const zoomIn = button("zoom-in");
  const zoomOut = button("zoom-out");
  const fit = button("zoom-fit");
  if (zoomIn) zoomIn.addEventListener("click", () => zoom.zoomBy(STEP, position()));
  if (zoomOut) zoomOut.addEventListener("click", () => zoom.zoomBy(1 / STEP, position()));
  if (fit) fit.addEventListener("click", () => zoom.fit());
}
