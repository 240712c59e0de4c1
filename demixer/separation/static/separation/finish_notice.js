/* Tell a person who left the tab that their separation has finished.
 *
 * When the job ends (done or failed) while the tab is hidden, the tab's title says so until the
 * tab is seen again; and if they asked for it with the page's button ([data-finish-notify]), a
 * browser notification. Permission is only ever asked for on that button's click. The choice is
 * kept for the tab's session under the job's status URL, so the player the job page turns into
 * (listen while it separates) still knows it.
 *
 * A plain script shared by the job page (job.js) and the player while a job runs (stream.js):
 * both call window.demixerFinishNotice.finished(ok, whenSeen).
 */
(function () {
  "use strict";
  var button = document.querySelector("[data-finish-notify]");
  var key = button ? "demixer-notify:" + button.getAttribute("data-finish-notify") : null;
  var supported = "Notification" in window;

  function wanted() {
    try {
      return key !== null && window.sessionStorage.getItem(key) === "1";
    } catch (e) {
      return false; // storage refused (a privacy setting): then only this page knows
    }
  }

  var wantedHere = false;

  function want() {
    wantedHere = true;
    try {
      window.sessionStorage.setItem(key, "1");
    } catch (e) {
      /* kept on this page only */
    }
  }

  function showButton() {
    if (!button) return;
    var permission = supported ? window.Notification.permission : "denied";
    if (permission === "denied") {
      button.hidden = true;
      return;
    }
    var on = permission === "granted" && (wantedHere || wanted());
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
    button.addEventListener("click", function () {
      // a promise in current browsers; older Safari only calls back
      var answer = window.Notification.requestPermission(asked);
      if (answer && answer.then) answer.then(asked);
    });
  }

  // "Song" from "Song · stems · demixer" when the page names no title of its own
  function name() {
    var own = button && button.getAttribute("data-title");
    if (own) return own;
    return document.title.split(" · ")[0];
  }

  /* The job has ended (ok: done, else failed). If the tab is hidden, its title says so until it
   * is seen again, when the title comes back and whenSeen runs (the job page reloads then); and
   * a notification, if asked for. Returns whether the tab was hidden (whenSeen then runs later;
   * otherwise not at all). */
  function finished(ok, whenSeen) {
    if (button) button.hidden = true; // nothing left to wait for
    if (!document.hidden) return false;
    var original = document.title;
    var brand = original.lastIndexOf(" · ") === -1 ? "" : original.slice(original.lastIndexOf(" · "));
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
        var note = new window.Notification(ok ? "Your stems are ready" : "The separation failed", {
          body: name(),
          tag: key,
        });
        note.onclick = function () {
          window.focus();
          note.close();
        };
      } catch (e) {
        /* where pages may not notify themselves (Chrome on Android): the title still says it */
      }
    }
    return true;
  }

  showButton();
  window.demixerFinishNotice = { finished: finished };
})();
