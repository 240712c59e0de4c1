/* The result page's time ruler (an ES module): ticks and times over the waveforms, the A-B loop
 * drawn on it. It lies over the first waveform's column (its left and width copied from that
 * canvas), so a time on the ruler is the same time on every stem below it. */

import { viewX } from "./timeline.js";

const STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]; // seconds between labelled ticks
const MIN_LABEL_PX = 56; // CSS pixels between two labels, at least

export function fmtTime(seconds) {
  seconds = Math.max(0, seconds || 0);
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m + ":" + (s < 10 ? "0" : "") + s;
}

/* A tick's label: tenths too when the ticks are less than a second apart ("0:01.5"), else two
 * ticks would read the same. */
export function tickLabel(seconds, step) {
  if (step >= 1) return fmtTime(seconds);
  const tenths = Math.round(seconds * 10) % 10;
  return fmtTime(Math.round(seconds * 10) / 10) + "." + tenths;
}

/* The labelled step for a track of `duration` seconds drawn `width` CSS pixels wide. */
export function tickStep(duration, width) {
  const wanted = (duration * MIN_LABEL_PX) / Math.max(1, width);
  return STEPS.find((s) => s >= wanted) || STEPS[STEPS.length - 1];
}

export class Ruler {
  /* canvas: the ruler; follow: the canvas whose column it lines up with */
  constructor(canvas, follow) {
    this.canvas = canvas;
    this.follow = follow;
    this.drawn = "";
  }

  /* Line up with the waveform column; true when the geometry changed. */
  place() {
    const box = this.follow.getBoundingClientRect();
    const parent = this.canvas.parentElement.getBoundingClientRect();
    const left = Math.round(box.left - parent.left) + "px";
    const width = Math.round(box.width) + "px";
    if (this.canvas.style.left === left && this.canvas.style.width === width) return false;
    this.canvas.style.left = left; // CSSOM, which the page's CSP allows
    this.canvas.style.width = width;
    return true;
  }

  /* view: the part of the song shown ({start, end} seconds); loop: {start, end} or null; on:
   * whether it loops; colors: strings; markers: [{time, name}] (flags with their names) */
  draw(view, loop, on, colors, markers) {
    const placed = this.place();
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    const marks = (markers || []).map((m) => m.time + ":" + m.name).join("|");
    const key = [w, h, view.start, view.end, loop && loop.start, loop && loop.end, on, marks].join();
    if (!placed && key === this.drawn) return;
    this.drawn = key;
    c.width = w;
    c.height = h;
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    const span = view.end - view.start;
    if (!(span > 0)) return;
    const x = (t) => viewX(t, w, view);
    if (loop) {
      g.fillStyle = on ? colors.loop : colors.loopOff;
      g.fillRect(x(loop.start), 0, Math.max(dpr, x(loop.end) - x(loop.start)), h);
    }
    const step = tickStep(span, w / dpr);
    const minor = step / 5;
    g.fillStyle = colors.tick;
    for (let t = Math.ceil(view.start / minor - 1e-9) * minor; t <= view.end + 1e-9; t += minor) {
      const major = Math.abs(t / step - Math.round(t / step)) < 1e-6;
      const th = major ? h * 0.45 : h * 0.2;
      g.fillRect(Math.min(w - dpr, Math.round(x(t))), h - th, dpr, th);
    }
    g.fillStyle = colors.text;
    g.font = Math.round(10 * dpr) + "px system-ui, sans-serif";
    g.textBaseline = "top";
    for (let t = Math.ceil(view.start / step - 1e-9) * step; t < view.end - step / 3; t += step) {
      g.fillText(tickLabel(t, step), Math.round(x(t)) + 3 * dpr, 1 * dpr);
    }
    (markers || []).forEach((m) => {
      if (m.time < view.start || m.time > view.end) return;
      const mx = Math.round(x(m.time));
      g.fillStyle = colors.marker;
      g.fillRect(mx, 0, Math.max(1, Math.round(1.5 * dpr)), h);
      g.fillText(m.name.slice(0, 16), mx + 3 * dpr, h * 0.5 - 5 * dpr);
    });
  }
}
