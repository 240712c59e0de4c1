// Job page: poll the status endpoint, back off while nothing changes, reload when done (once the
// tab is seen again if it was hidden: finish_notice.js tells the person meanwhile).
import { finished } from "./finish_notice.js";
import { eta } from "./words.js";

const job = document.getElementById("job");
if (job) follow();

function follow() {
  const url = job.dataset.statusUrl;
  const el = function (id) { return document.getElementById(id); };
  const FASTEST = 1000, SLOWEST = 15000;
  let delay = FASTEST, last = "";
  // the bar's width is set here, not in a style="" attribute, which the CSP refuses
  el("job-progress-bar").style.width = el("job-progress").getAttribute("aria-valuenow") + "%";

  function show(s) {
    const status = el("job-status");
    status.textContent = s.status_label;
    status.className = "status status-" + s.status;
    job.dataset.status = s.status;
    let detail = "";
    if (s.queue_position) detail = "Position " + s.queue_position + " in the queue";
    else if (s.status === "running" && s.stage) detail = s.stage.charAt(0).toUpperCase() + s.stage.slice(1);
    el("job-detail").textContent = detail;
    el("job-progress-bar").style.width = s.percent + "%";
    el("job-progress").setAttribute("aria-valuenow", s.percent);
    el("job-percent").textContent = s.percent + "%";
    el("job-eta").textContent = eta(s);
    const error = el("job-error");
    error.textContent = s.error || "";
    error.hidden = !s.error;
  }

  // the job ended: the server draws the page anew (the player, or the failed job's buttons)
  function ended(ok) {
    const reload = () => { window.location.reload(); };
    if (finished(ok, reload)) return; // hidden: reloads once seen
    reload();
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then((s) => {
        const key = [s.status, s.percent, s.stage, s.queue_position].join("|");
        if (key !== last) { delay = FASTEST; last = key; } else { delay = Math.min(SLOWEST, delay * 1.5); }
        show(s);
        if (s.status === "done") { ended(true); return; }
        // listen while it separates: the page opens as a player once the first piece is
        // ready, while enough is left to separate (the server decides: near the end, or for a
        // short song, the complete stems come within seconds)
        if (s.ready && s.ready.opens_player) {
          window.location.reload();
          return;
        }
        if (s.status === "failed") { ended(false); return; }
        if (s.status === "cancelled") {
          // the buttons differ for a finished job: let the server draw them
          window.location.reload();
          return;
        }
        setTimeout(poll, delay);
      })
      .catch(() => {
        delay = Math.min(SLOWEST, delay * 2);
        setTimeout(poll, delay);
      });
  }

  if (job.dataset.status === "queued" || job.dataset.status === "running") setTimeout(poll, delay);
}
