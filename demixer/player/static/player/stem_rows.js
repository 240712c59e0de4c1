/* The stem rows (an ES module): one row per stem, with its mute, solo and volume, and its
 * waveform's canvas.
 *
 * stemViews() reads the rows into views, the one object per stem the page's modules share
 * ({name, label, url, volume, row, canvas, muteBtn, soloBtn, volumeEl, peaks, colors, dirty,
 * drawnAt}: the mixer takes its stems from them, waveform.js draws them, practice.js pans them).
 * showGains() puts the mixer's gains on the rows; wireStemRows() sends the rows' input to it.
 */

/* A row's attributes for a stem ({muted, soloed, volume}) heard at `gain`. */
export function rowAttributes(stem, gain) {
  return {
    "data-gain": String(gain),
    "data-muted": String(stem.muted),
    "data-soloed": String(stem.soloed),
    "data-volume": String(stem.volume),
  };
}

/* The views of root's stem rows. stems: the page's #stem-data ([{name, peaks, colour}]); live:
 * the running job's data (#live-data) on a page that opened while it separates, whose peaks
 * are those so far, else null. */
export function stemViews(root, stems, live) {
  const byName = new Map(stems.map((s) => [s.name, s]));
  return Array.from(root.querySelectorAll(".stem[data-stem]"), (row) => {
    const name = row.getAttribute("data-stem");
    const data = byName.get(name) || {};
    const volumeEl = row.querySelector("[data-role=volume]");
    // the stem's colour, from the server's one table (demixer/engine/stems.py); CSSOM: the CSP
    // allows it
    if (data.colour) row.style.setProperty("--pl-wave-played", data.colour);
    return {
      name: name,
      label: row.getAttribute("data-label") || name,
      url: row.getAttribute("data-preview"),
      volume: parseFloat(volumeEl.value),
      row: row,
      canvas: row.querySelector("canvas"),
      muteBtn: row.querySelector("[data-action=mute]"),
      soloBtn: row.querySelector("[data-action=solo]"),
      volumeEl: volumeEl,
      peaks: (live ? live.peaks[name] : data.peaks) || [],
      colors: null,
      dirty: true,
      drawnAt: -1,
    };
  });
}

/* The mixer's gains on the rows, their buttons and the mix form's gain_<stem> fields. */
export function showGains(views, mixer, mixForm) {
  views.forEach((view) => {
    const stem = mixer.stem(view.name);
    const gain = mixer.gainOf(stem);
    Object.entries(rowAttributes(stem, gain)).forEach(([name, value]) => {
      view.row.setAttribute(name, value);
    });
    view.row.classList.toggle("is-silent", gain === 0);
    view.muteBtn.setAttribute("aria-pressed", String(stem.muted));
    view.soloBtn.setAttribute("aria-pressed", String(stem.soloed));
    const field = mixForm ? mixForm.querySelector("input[name='gain_" + view.name + "']") : null;
    if (field) field.value = gain.toFixed(3);
    view.dirty = true;
  });
}

/* Each row's mute, solo and volume go to the mixer; a click on its waveform seeks to the time
 * drawn there, and Ctrl + wheel over it zooms (zoom.js). */
export function wireStemRows(views, mixer, zoom) {
  views.forEach((view) => {
    view.muteBtn.addEventListener("click", () => mixer.toggleMute(view.name));
    view.soloBtn.addEventListener("click", () => mixer.toggleSolo(view.name));
    view.volumeEl.addEventListener("input", () => {
      mixer.setVolume(view.name, parseFloat(view.volumeEl.value));
    });
    zoom.wireWheel(view.canvas);
    view.canvas.addEventListener("click", (ev) => {
      const rect = view.canvas.getBoundingClientRect();
      if (mixer.ready && rect.width > 0) {
        mixer.seek(zoom.timeAt(ev.clientX - rect.left, rect.width));
      }
    });
  });
}
