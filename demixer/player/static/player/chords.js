/* The chords lane under the waveforms: the separation's chords (a label a beat, made by the
 * worker on its first request: 202 and a status to poll until then), laid out on the track's
 * time axis, the chord under the playhead marked as it plays.
 *
 * Self-contained: mountChordLane(after, url, position, duration) inserts the lane after the
 * element `after` (the stems' list), fetches `url` (the chords' JSON) and follows `position()`
 * (seconds heard) on each animation frame. chordAt and shortLabel are pure (no DOM). */

const POLL_MS = [1000, 2000, 4000, 8000]; // back off while the worker makes them

/* The index of the chord sounding at `seconds` (chords sorted by start), or -1. */
export function chordAt(chords, seconds) {
  let lo = 0;
  let hi = chords.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (seconds < chords[mid].start) hi = mid - 1;
    else if (seconds >= chords[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/* Harte's label as a musician reads it: "A:min7" -> "Am7", "C:maj" -> "C", "N" -> "". */
export function shortLabel(label) {
  if (label === "N" || !label) return "";
  const [root, quality] = label.split(":");
  const names = { maj: "", min: "m", 7: "7", maj7: "maj7", min7: "m7" };
  return root + (quality in names ? names[quality] : quality || "");
}

async function fetchChords(url) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.status === 200) return (await response.json()).chords;
    if (response.status !== 202) return null; // failed, or gone: no lane
    const wait = POLL_MS[Math.min(attempt, POLL_MS.length - 1)];
    await new Promise((resolve) => window.setTimeout(resolve, wait));
  }
}

function build(after, chords, duration) {
  const lane = document.createElement("div");
  lane.className = "chord-lane";
  lane.setAttribute("role", "img");
  lane.setAttribute("aria-label", "Chords");
  const cells = chords.map((chord) => {
    const cell = document.createElement("span");
    cell.className = "chord";
    cell.textContent = shortLabel(chord.label);
    cell.title = chord.label;
    cell.style.setProperty("left", (chord.start / duration) * 100 + "%"); // CSSOM: CSP allows it
    cell.style.setProperty("width", ((chord.end - chord.start) / duration) * 100 + "%");
    lane.appendChild(cell);
    return cell;
  });
  after.after(lane);
  return { lane, cells };
}

/* Resolves to the chords shown (null: no lane), for what else follows the beats (the
 * metronome places its grid on them). */
export async function mountChordLane(after, url, position, duration) {
  if (!after || !url || !(duration > 0)) return null;
  const chords = await fetchChords(url).catch(() => null);
  if (!chords || !chords.length) return null;
  const { lane, cells } = build(after, chords, duration);
  let current = -1;
  function frame() {
    const index = chordAt(chords, position());
    if (index !== current) {
      if (current >= 0) cells[current].classList.remove("is-current");
      if (index >= 0) cells[index].classList.add("is-current");
      lane.setAttribute("data-chord", index >= 0 ? chords[index].label : "");
      current = index;
    }
    window.requestAnimationFrame(frame);
  }
  window.requestAnimationFrame(frame);
  return chords;
}
