/* The transport (an ES module): the play button, the seek bar and the times beside it.
 *
 * The clock is mixer.js's; a Transport shows it (show() when the mixer says playing changed,
 * showPosition() every frame) and sends the button's and the bar's input to it. While the bar
 * is dragged it shows where the drag is, and the mixer seeks once it is let go.
 */
import { fmtTime } from "./ruler.js";

/* How far along the bar `shown` seconds are, as a CSS percentage. */
export function progressPercent(shown, duration) {
  return (duration > 0 ? (shown / duration) * 100 : 0) + "%";
}

/* What a screen reader says for the bar: "1:05 of 3:24". */
export function positionText(position, duration) {
  return fmtTime(position) + " of " + fmtTime(duration);
}

export class Transport {
  /* root: #player; mixer: the page's Mixer (or LiveMixer) */
  constructor(root, mixer) {
    this.root = root;
    this.mixer = mixer;
    this.playBtn = root.querySelector("[data-action=play]");
    this.seekEl = root.querySelector("[data-role=seek]");
    this.currentEl = root.querySelector("[data-role=current]");
    this.durationEl = root.querySelector("[data-role=duration]");
    this.dragging = false;
    this.durationEl.textContent = fmtTime(mixer.duration);
  }

  wire() {
    this.playBtn.addEventListener("click", () => this.mixer.toggle());
    this.seekEl.addEventListener("input", () => {
      this.dragging = true;
      this.currentEl.textContent = fmtTime(parseFloat(this.seekEl.value));
    });
    this.seekEl.addEventListener("change", () => {
      this.dragging = false;
      this.mixer.seek(parseFloat(this.seekEl.value));
    });
  }

  /* The stems can play: the bar spans the duration they have. */
  enable() {
    this.seekEl.max = String(this.mixer.duration);
    this.durationEl.textContent = fmtTime(this.mixer.duration);
    this.playBtn.disabled = false;
    this.seekEl.disabled = false;
  }

  /* Playing or paused, on the button and #player[data-playing]. */
  show() {
    const playing = this.mixer.playing;
    this.playBtn.setAttribute("aria-pressed", String(playing));
    this.playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    this.playBtn.classList.toggle("is-playing", playing);
    this.root.setAttribute("data-playing", String(playing));
  }

  /* The playhead at `position` seconds (what is heard), unless the bar is being dragged. */
  showPosition(position) {
    const duration = this.mixer.duration;
    if (!this.dragging) this.seekEl.value = String(position);
    const shown = this.dragging ? parseFloat(this.seekEl.value) : position;
    this.seekEl.style.setProperty("--pl-progress", progressPercent(shown, duration));
    this.currentEl.textContent = fmtTime(position);
    this.seekEl.setAttribute("aria-valuetext", positionText(position, duration));
  }
}
