/* The live player's page side while the job still separates (an ES module): the job's progress
 * (bar, percentage, time left), the buffering rule (buffering.js) as the mixer's gate with its
 * words and "Start anyway", and the switch to the complete stems when the job is done.
 *
 * live_page.js calls listen() with the LiveMixer and an object of what the page does:
 * {setStatus, enable, peaks, completed}. The job's pieces themselves come through stream.js's
 * followJob().
 */
import { fmtTime } from "./ruler.js";
import { eta } from "../separation/words.js";
import { measureRate, pieceLength, planStart, planText, rateFromEta } from "./buffering.js";
import { followJob } from "./stream.js";

const TICK_MS = 250; // how often a wait is re-judged and its words updated

const now = () => performance.now() / 1000;

export function listen(root, mixer, live, page) {
  const q = (role) => root.querySelector("[data-role='" + role + "']");
  const ui = {
    bar: q("job-progress-bar"),
    progress: q("job-progress"),
    percent: q("job-percent"),
    eta: q("job-eta"),
    buffering: q("buffering"),
    bufferingText: q("buffering-text"),
    startAnyway: root.querySelector("[data-action='start-anyway']"),
    liveJob: q("live-job"),
  };
  // the pieces seen arriving (wall time, song seconds ready), for the rate
  const arrivals = [];
  let lastSeen = now(); // when what is ready now was seen (for the first pieces: page load)
  let estimate = null; // the rate the job's own time-left implies (rateFromEta)
  let piece = 0; // the longest piece seen (the mixer forgets them once complete)
  let following = false; // the first pieces came with the page: their arrival is not known

  function showProgress(s) {
    if (ui.bar) ui.bar.style.width = s.percent + "%"; // CSSOM: the CSP allows it
    if (ui.progress) ui.progress.setAttribute("aria-valuenow", String(s.percent));
    if (ui.percent) ui.percent.textContent = s.percent + "%";
    if (ui.eta) ui.eta.textContent = eta({ ...s, status: "running" });
    if (s.ready) {
      const longest = Math.max(piece, pieceLength(s.ready.pieces, s.ready.rate));
      estimate = rateFromEta(s.ready.total_seconds, s.ready.ready_seconds, longest, s.eta_seconds);
    }
  }
  if (ui.progress) showProgress({
    percent: parseInt(ui.progress.getAttribute("aria-valuenow"), 10) || 0,
    eta_seconds: null,
  });

  /* The buffering rule for playback from `at`: {wait, stallAt, known, startsIn}. */
  function plan(at) {
    const rate = measureRate(arrivals, estimate);
    const p = planStart({
      ready: mixer.readySeconds(),
      total: mixer.duration,
      position: at,
      rate: rate,
      speed: mixer.tempo,
      piece: Math.max(piece, pieceLength(mixer.pieces, mixer.rate)),
    });
    p.startsIn = Math.max(0, lastSeen + p.wait - now());
    p.rate = rate;
    return p;
  }

  // what the rule said each time it let playback start (for tests and the curious)
  const decisions = [];
  mixer.gate = (at) => {
    if (mixer.complete) return true;
    const p = plan(at);
    if (p.startsIn <= 0) decisions.push({ at: at, t: now(), ready: mixer.readySeconds(), ...p });
    return p.startsIn <= 0;
  };
  mixer.onReady = () => {
    lastSeen = now();
    if (following) arrivals.push({ t: lastSeen, ready: mixer.readySeconds() });
  };

  function liveText() {
    return "Separating… " + fmtTime(mixer.readySeconds()) + " of " + fmtTime(mixer.duration) +
      " ready to play.";
  }

  /* The buffering line: while waiting, when it will play through and the choice to start
   * anyway; while paused, what pressing play would do; while playing, nothing. */
  function showPlan() {
    if (!ui.buffering) return;
    let text = "";
    let choice = false;
    if (!mixer.complete && mixer.ready) {
      const waiting = mixer.waitingAt !== null;
      const at = waiting ? mixer.waitingAt : mixer.position();
      const p = plan(at);
      if (waiting) {
        const readyThere = Math.round(at * mixer.rate) < mixer.readyFrames;
        if (p.known && p.startsIn > 0) {
          text = planText({ ...p, wait: p.startsIn }, at, fmtTime);
          choice = readyThere;
        } else if (!readyThere) {
          text = "Waiting for the separation to reach " + fmtTime(at) + "…";
        }
      } else if (!mixer.playing && p.known && p.startsIn > 0) {
        text = planText({ ...p, wait: p.startsIn }, at, fmtTime);
      }
    }
    ui.bufferingText.textContent = text;
    ui.buffering.hidden = !text;
    ui.startAnyway.hidden = !choice;
  }

  function tick() {
    if (mixer.complete) {
      if (ui.buffering) ui.buffering.hidden = true;
      return;
    }
    if (mixer.waitingAt !== null) mixer.resume(false);
    showPlan();
    window.setTimeout(tick, TICK_MS);
  }

  if (ui.startAnyway) ui.startAnyway.addEventListener("click", () => {
    mixer.resume(true);
    showPlan();
  });

  page.setStatus("Loading the first seconds…");
  mixer.onWaiting = (waiting) => {
    root.setAttribute("data-waiting", String(waiting));
    page.setStatus(liveText());
    showPlan();
  };
  const follower = followJob(root.getAttribute("data-status-url"), mixer, {
    progress: (s) => {
      showProgress(s);
      if (!mixer.complete && mixer.ready) page.setStatus(liveText());
    },
    peaks: page.peaks,
    done: () => {
      if (ui.liveJob) ui.liveJob.hidden = true;
      page.setStatus("Separated: loading the complete stems…");
      page.completed();
    },
    stopped: (s) => {
      root.setAttribute("data-live", "stopped");
      if (ui.liveJob) ui.liveJob.hidden = true;
      page.setStatus(s.status === "cancelled"
        ? "The separation was cancelled; what played so far was final."
        : "The separation failed: " + (s.error || "unknown error") + ".", "error");
    },
    failed: (err) => page.setStatus("Couldn't load the separated audio (" + err.message + ").",
      "error"),
  });
  follower.start(live).then(() => {
    following = true;
    piece = pieceLength(mixer.pieces, mixer.rate);
    page.enable();
    page.setStatus(liveText());
    tick();
  });
  return {
    plan: plan,
    log: () => ({ arrivals: arrivals.slice(), decisions: decisions.slice(), now: now() }),
  };
}
