// Job page: poll the status endpoint, back off while nothing changes, reload when done (once the
// tab is seen again if it was hidden: finish_notice.js tells the person meanwhile).
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job) return;
  var url = job.dataset.statusUrl;
  var el = function (id) { return document.getElementById(id); };
  var FASTEST = 1000, SLOWEST = 15000;
  var delay = FASTEST, last = "";
  // the bar's width is set here, not in a style="" attribute, which the CSP refuses
  el("job-progress-bar").style.width = el("job-progress").getAttribute("aria-valuenow") + "%";

  // "about 40 s", "about 3 min", "about 1 h 5 min": the rules of the pages' |about filter
  // (demixer/separation/templatetags/waits.py), so the first poll does not reword the page
  function about(seconds) {
    var whole = Math.round(Math.max(0, seconds));
    if (whole < 60) return "about " + whole + " s";
    var minutes = Math.round(whole / 60);
    if (minutes < 60) return "about " + minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    return "about " + hours + " h" + (minutes ? " " + minutes + " min" : "");
  }

  function eta(s) {
    // a queued job's wait, a running job's time left; nothing when the server does not know
    if (s.status === "queued" && s.wait_seconds !== null && s.wait_seconds !== undefined) {
      return "starts in " + about(s.wait_seconds);
    }
    if (s.status === "running" && s.eta_seconds !== null && s.eta_seconds !== undefined) {
      return about(s.eta_seconds) + " left";
    }
    return "";
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
    el("job-eta").textContent = eta(s);
    var error = el("job-error");
    error.textContent = s.error || "";
    error.hidden = !s.error;
  }

  // the job ended: the server draws the page anew (the player, or the failed job's buttons)
  function ended(ok) {
    var reload = function () { window.location.reload(); };
    var notice = window.demixerFinishNotice;
    if (notice && notice.finished(ok, reload)) return; // hidden: reloads once seen
    reload();
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
        if (s.status === "done") { ended(true); return; }
        // listen while it separates: the page opens as a player once the first stretch is
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
      .catch(function () {
        delay = Math.min(SLOWEST, delay * 2);
        setTimeout(poll, delay);
      });
  }

  if (job.dataset.status === "queued" || job.dataset.status === "running") setTimeout(poll, delay);
})();
