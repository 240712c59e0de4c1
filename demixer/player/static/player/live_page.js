/* The result page while its job still separates (an ES module): live.js follows the job and
 * says what happened; this shows it on the page: the waveforms grow with the peaks so far, and
 * once the job is done the complete stems are swapped in (stream.js), the downloads
 * ([data-when-done]) appear and #player[data-live] turns "complete".
 */
import { listen } from "./live.js";

/* The peaks so far ({stem: [..]}) on the views that have some. */
function showPeaks(views, peaks) {
  views.forEach((view) => {
    if (peaks[view.name]) {
      view.peaks = peaks[view.name];
      view.dirty = true;
    }
  });
}

/* The job is done: the complete stems replace what played so far, without stopping. */
function switchToComplete(root, mixer, views, page) {
  const urls = Object.fromEntries(views.map((view) => [view.name, view.url]));
  mixer.switchToComplete(urls).then(() => {
    root.querySelectorAll("[data-when-done]").forEach((el) => { el.hidden = false; });
    const kicker = root.querySelector("[data-role=kicker]");
    if (kicker) {
      kicker.textContent = kicker.textContent.replace("Separating into", "Separated into");
    }
    root.setAttribute("data-live", "complete");
    root.setAttribute("data-waiting", "false");
    page.enable();
    page.setStatus("");
  }, (err) => page.setStatus(err.message + " Reload the page to try again.", "error"));
}

/* Follow the running job of `live` (#live-data) with `mixer` (a LiveMixer). page: {setStatus,
 * enable} (the stems can play). Returns live.js's controller ({plan(at), log()}). */
export function followLive(root, mixer, live, views, page) {
  root.setAttribute("data-state", "loading");
  return listen(root, mixer, live, {
    setStatus: page.setStatus,
    enable: page.enable,
    peaks: (peaks) => showPeaks(views, peaks),
    completed: () => switchToComplete(root, mixer, views, page),
  });
}
