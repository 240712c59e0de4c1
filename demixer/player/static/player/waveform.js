/* The stems' waveforms (an ES module): each stem's peaks drawn as bars on its canvas, the part
 * already played in the stem's colour, the playhead, and on a page still separating the part
 * not separated yet dimmed.
 *
 * Waveforms draws only what changed (a view marked dirty, the playhead moved, more of the song
 * separated); the page calls draw(position) every animation frame. The arithmetic of a bar
 * (which peaks it covers, how tall it is, where the playhead goes) is exported and unit-tested.
 */
import { viewTime } from "./timeline.js";

/* A bar and the gap after it, in device pixels: 2 and 1 CSS pixels, at least 1 each. */
export function barLayout(dpr) {
  const bar = Math.max(1, Math.round(2 * dpr));
  const gap = Math.max(1, Math.round(dpr));
  return { bar, gap, step: bar + gap };
}

/* The (fractional) peak index under x of a `width` px canvas with `count` peaks, showing `view`
 * ({start, end} seconds) of a `duration` s song; the whole canvas while the duration is unknown. */
export function peakIndex(x, width, count, view, duration) {
  return (duration > 0 ? viewTime(x, width, view) / duration : x / width) * count;
}

/* The loudest peak a bar covers: from the peak under its left edge to the one under the next
 * bar's, at least one. indexAt(x): peakIndex at x. */
export function loudestUnder(peaks, x, step, indexAt) {
  const first = Math.floor(indexAt(x));
  const end = Math.min(peaks.length, Math.max(first + 1, Math.floor(indexAt(x + step))));
  let loudest = 0;
  for (let i = first; i < end; i++) if (peaks[i] > loudest) loudest = peaks[i];
  return loudest;
}

/* Half a bar's height for a peak in 0..1 on a canvas whose middle is at `mid`: never thinner
 * than half a CSS pixel, so silence still draws a line. */
export function barHalfHeight(peak, mid, dpr) {
  return Math.max(dpr * 0.5, peak * (mid - dpr));
}

/* The playhead's left edge (two CSS pixels wide) for x = headX, kept on a `width` px canvas. */
export function playheadLeft(headX, width, dpr) {
  return Math.min(width - dpr * 2, Math.max(0, headX - dpr));
}

/* The canvas colours, from the row's CSS (the stem's own colour is --pl-wave-played). */
function readColors(row) {
  const style = getComputedStyle(row);
  const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    wave: v("--pl-wave", "#4a5670"),
    played: v("--pl-wave-played", "#7dd3fc"),
    silent: v("--pl-wave-silent", "#2b3140"),
    head: v("--pl-playhead", "#f8fafc"),
    edge: v("--pl-ready-edge", "#fbbf24"),
  };
}

/* The canvas's pixels follow its CSS size and the screen's density. */
function sizeCanvas(view, dpr) {
  const c = view.canvas;
  const w = Math.max(1, Math.round(c.clientWidth * dpr));
  const h = Math.max(1, Math.round(c.clientHeight * dpr));
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
    view.dirty = true;
  }
}

export class Waveforms {
  /* views: the stem rows (stem_rows.js); mixer: the page's Mixer or LiveMixer (the duration,
   * and what is separated so far); zoom: the part of the song shown (zoom.js); live: the page
   * opened while the job was separating (the mixer is a LiveMixer) */
  constructor(views, mixer, zoom, live) {
    this.views = views;
    this.mixer = mixer;
    this.zoom = zoom;
    this.live = live;
    this.overlay = null; // drawn over each waveform before the playhead: practice.js's A-B loop
    views.forEach((view) => { view.colors = readColors(view.row); });
    window.addEventListener("resize", () => this.invalidate());
  }

  /* Every waveform is drawn again on the next frame. */
  invalidate() {
    this.views.forEach((view) => { view.dirty = true; });
  }

  /* Each frame: the waveforms that changed, with the playhead at `position` seconds. */
  draw(position) {
    const dpr = window.devicePixelRatio || 1;
    this.views.forEach((view) => {
      sizeCanvas(view, dpr);
      const grew = this.live && view.readyDrawn !== this.mixer.readyFrames;
      if (view.dirty || grew || Math.abs(view.drawnAt - position) > 1e-3) {
        this.drawOne(view, position, dpr);
      }
    });
  }

  drawOne(view, position, dpr) {
    const c = view.canvas;
    const g = c.getContext("2d");
    const w = c.width;
    const h = c.height;
    const duration = this.mixer.duration;
    g.clearRect(0, 0, w, h);
    if (!view.peaks.length) return;
    const headX = duration > 0 ? this.zoom.xOf(position, w) : 0;
    this.drawBars(g, view, w, h, dpr, headX);
    if (this.live && !this.mixer.complete && duration > 0) this.drawReadyEdge(g, view, w, h, dpr);
    if (this.overlay) this.overlay.drawLoop(g, w, h, dpr);
    g.fillStyle = view.colors.head;
    g.fillRect(playheadLeft(headX, w, dpr), 0, Math.round(2 * dpr), h);
    view.drawnAt = position;
    view.dirty = false;
  }

  /* The peaks as bars: played (left of the playhead) in the stem's colour, muted stems grey. */
  drawBars(g, view, w, h, dpr, headX) {
    const peaks = view.peaks;
    const { bar, step } = barLayout(dpr);
    const mid = h / 2;
    const sceneView = this.zoom.current();
    const duration = this.mixer.duration;
    const indexAt = (x) => peakIndex(x, w, peaks.length, sceneView, duration);
    const silent = view.row.classList.contains("is-silent");
    const colors = view.colors;
    for (let x = 0; x < w; x += step) {
      const half = barHalfHeight(loudestUnder(peaks, x, step, indexAt), mid, dpr);
      g.fillStyle = silent ? colors.silent : x + bar <= headX ? colors.played : colors.wave;
      g.fillRect(x, mid - half, bar, half * 2);
    }
  }

  /* What is not separated yet is dimmed, its edge marked (a seek past it waits there). */
  drawReadyEdge(g, view, w, h, dpr) {
    const x = Math.max(0, Math.round(this.zoom.xOf(this.mixer.readySeconds(), w)));
    view.readyDrawn = this.mixer.readyFrames;
    if (x >= w) return;
    g.fillStyle = "rgba(15, 18, 26, 0.6)";
    g.fillRect(x, 0, w - x, h);
    g.fillStyle = view.colors.edge;
    g.fillRect(Math.max(0, x - dpr), 0, Math.round(2 * dpr), h);
  }
}
