/* Tell a person who left the tab that their separation has finished.
 *
 * When the job ends (done or failed) while the tab is hidden, the tab's title says so until the
 * tab is seen again; and if they asked for it with the page's button ([data-finish-notify]), a
 * browser notification. Permission is only ever asked for on that button's click. The choice is
 * kept for the tab's session under the job's status URL, so the player the job page turns into
 * (listen while it separates) still knows it.
 *
 * An ES module shared by the job page (job.js) and the player while a job runs (stream.js):
 * both import finished(ok, whenSeen). Evaluated once per page, it shows the button.
 */
const button = document.querySelector("[data-finish-notify]");
const key = button ? "demixer-notify:" + button.getAttribute("data-finish-notify") : null;
const supported = "Notification" in window;

function wanted() {
  try {
    return key !== null && window.sessionStorage.getItem(key) === "1";
  } catch {
    return false; // storage refused (a privacy setting): then only this page knows
  }
}

let wantedHere = false;

function want() {
  wantedHere = true;
  try {
    window.sessionStorage.setItem(key, "1");
  } catch {
    /* kept on this page only */
  }
}

function showButton() {
  if (!button) return;
  const permission = supported ? window.Notification.permission : "denied";
  if (permission === "denied") {
    button.hidden = true;
    return;
  }
  const on = permission === "granted" && (wantedHere || wanted());
  button.hidden = false;
  button.disabled = on;
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? "You'll be notified when it's done" : "Notify me when it's done";
}

function asked(permission) {
  if ((permission || window.Notification.permission) === "granted") want();
  showButton();
}

if (button && supported) {
  button.addEventListener("click", () => {
    // a promise in current browsers; older Safari only calls back
    const answer = window.Notification.requestPermission(asked);
    if (answer && answer.then) answer.then(asked);
  });
}

// "Song" from "Song · stems · demixer" when the page names no title of its own
function name() {
  const own = button && button.getAttribute("data-title");
  if (own) return own;
  return document.title.split(" · ")[0];
}

/* The job has ended (ok: done, else failed). If the tab is hidden, its title says so until it
 * is seen again, when the title comes back and whenSeen runs (the job page reloads then); and
 * a notification, if asked for. Returns whether the tab was hidden (whenSeen then runs later;
 * otherwise not at all). */
export function finished(ok, whenSeen) {
  if (button) button.hidden = true; // nothing left to wait for
  if (!document.hidden) return false;
  const original = document.title;
  const brand = original.lastIndexOf(" · ") === -1 ? "" : original.slice(original.lastIndexOf(" · "));
  document.title = (ok ? "✓ Done — " : "Failed — ") + name() + brand;
  function seen() {
    if (document.hidden) return;
    document.removeEventListener("visibilitychange", seen);
    document.title = original;
    if (whenSeen) whenSeen();
  }
  document.addEventListener("visibilitychange", seen);
  if (supported && window.Notification.permission === "granted" && (wantedHere || wanted())) {
    try {
      const note = new window.Notification(ok ? "Your stems are ready" : "The separation failed", {
        body: name(),
        tag: key,
      });
      note.onclick = () => {
        window.focus();
        note.close();
      };
    } catch {
      /* where pages may not notify themselves (Chrome on Android): the title still says it */
    }
  }
  return true;
}

showButton();
