// Job page: poll the status endpoint, back off while nothing changes, reload when done.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job) return;
  var url = job.dataset.statusUrl;
  var el = function (id) { return document.getElementById(id); };
  var FASTEST = 1000, SLOWEST = 15000;
  var delay = FASTEST, last = "";

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return "about " + seconds + " s left";
    return "about " + Math.round(seconds / 60) + " min left";
  }

  function show(s) {
    var status = el("job-status");
    status.textContent = s.status_label;
    status.className = "status status-" + s.status;
    job.dataset.status = s.status;
    var detail = "";
    if (s.queue_position) detail = "Position " + s.queue_position + " in the queue";
    else if (s.status === "running" && s.stage) detail = s.stage.charAt(0).toUpperCase() + s.stage.slice(1);
    el("job-detail").textContent = detail;
    el("job-progress-bar").style.width = s.percent + "%";
    el("job-progress").setAttribute("aria-valuenow", s.percent);
    el("job-percent").textContent = s.percent + "%";
    el("job-eta").textContent = s.status === "running" ? eta(s.eta_seconds) : "";
    var error = el("job-error");
    error.textContent = s.error || "";
    error.hidden = !s.error;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (s) {
        var key = [s.status, s.percent, s.stage, s.queue_position].join("|");
        if (key !== last) { delay = FASTEST; last = key; } else { delay = Math.min(SLOWEST, delay * 1.5); }
        show(s);
        if (s.status === "done") { window.location.reload(); return; }
        if (s.status === "failed" || s.status === "cancelled") {
          // the buttons differ for a finished job: let the server draw them
          window.location.reload();
          return;
        }
        setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(SLOWEST, delay * 2);
        setTimeout(poll, delay);
      });
  }

  if (job.dataset.status === "queued" || job.dataset.status === "running") setTimeout(poll, delay);
})();
