/* The result page's downloads that the server renders first.
 *
 * Conversions, the instrumental and mixes are encoded by the worker, not in the request: asked
 * with Accept: application/json, the server answers 200 when the file is ready or 202 with a
 * status URL, polled here with a back-off until the file can be downloaded. Links marked
 * data-render and the mix form go this way; everything else is a plain link. None of it needs
 * Web Audio.
 */

const POLL_FIRST = 500;
const POLL_MAX = 5000;

function askJSON(url, options) {
  const request = { ...options, credentials: "same-origin", headers: { Accept: "application/json" } };
  return fetch(url, request).then((resp) => {
    const json = (resp.headers.get("Content-Type") || "").indexOf("json") !== -1;
    return (json ? resp.json() : resp.text().then((t) => ({ error: t }))).then((data) => {
      if (!resp.ok && resp.status !== 202) {
        throw new Error(data.error || "the server answered " + resp.status);
      }
      return data;
    });
  });
}

function startDownload(url) {
  const link = document.createElement("a");
  link.href = url;
  link.setAttribute("download", "");
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/* root: the element whose data-render links are handled; mixForm: the mix's form (or null);
 * statusEl: where "Preparing …" and errors are shown (or null). */
export function wireDownloads(root, mixForm, statusEl) {
  function show(text, kind) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = "download-status" + (kind ? " is-" + kind : "");
    statusEl.hidden = !text;
  }

  function waitFor(data, label) {
    let delay = POLL_FIRST;
    return new Promise((resolve, reject) => {
      function check(state) {
        if (state.status === "done") {
          resolve(state.download_url);
          return;
        }
        if (state.status === "failed" || state.status === "cancelled") {
          reject(new Error(state.error || "it could not be prepared"));
          return;
        }
        show("Preparing " + label + "… " + (state.percent || 0) + "%");
        window.setTimeout(() => {
          askJSON(state.status_url).then(check, reject);
        }, delay);
        delay = Math.min(delay * 1.5, POLL_MAX);
      }
      check(data);
    });
  }

  function renderedDownload(url, options, label) {
    show("Preparing " + label + "…");
    return askJSON(url, options)
      .then((data) => waitFor(data, label))
      .then((downloadUrl) => {
        show("");
        startDownload(downloadUrl);
      })
      .catch((err) => {
        show("Couldn't prepare " + label + ": " + err.message, "error");
      });
  }

  root.addEventListener("click", (ev) => {
    const link = ev.target.closest ? ev.target.closest("a[data-render]") : null;
    if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    renderedDownload(link.href, { method: "GET" }, link.getAttribute("data-render"));
  });
  if (!mixForm) return;
  mixForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const button = mixForm.querySelector("[type=submit]");
    if (button) button.disabled = true;
    renderedDownload(mixForm.action, { method: "POST", body: new FormData(mixForm) }, "your mix")
      .then(() => {
        if (button) button.disabled = false;
      });
  });
}
