/* The result page's downloads that the server renders first, and the download settings.
 *
 * Conversions, the instrumental and mixes are encoded by the worker, not in the request: asked
 * with Accept: application/json, the server answers 200 when the file is ready or 202 with a
 * status URL, polled here with a back-off until the file can be downloaded. Links marked
 * data-render and the mix form go this way; everything else is a plain link. None of it needs
 * Web Audio.
 *
 * The download settings (format, sample rate, bit depth: fields of the mix form, which posts
 * them itself) are applied here to the zip's and the instrumental's links, and the rate and
 * depth to each stem's links, as the query the server takes (?format=, ?rate=, ?bit_depth=;
 * defaults left out). A link that then needs rendering (anything but the FLAC masters as they
 * are) gets data-render.
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

function withQuery(url, query) {
  const text = query.toString();
  return text ? url + (url.indexOf("?") === -1 ? "?" : "&") + text : url;
}

/* A link to a file stored as it is (a plain download) or rendered first (data-render). */
function setLink(link, href, rendered, label) {
  link.setAttribute("href", href);
  if (rendered) {
    link.setAttribute("data-render", label);
    link.removeAttribute("download");
  } else {
    link.removeAttribute("data-render");
    link.setAttribute("download", "");
  }
}

/* The choice a select keeps when only `allowed` (numbers) may be chosen: `chosen` if allowed,
 * else `fallback` (nothing to fit when none is allowed: the select is then disabled). */
export function fitChoice(chosen, allowed, fallback) {
  if (!allowed.length || allowed.indexOf(Number(chosen)) !== -1) return String(chosen);
  return String(fallback);
}

/* The query for a file in `fmt` with the settings' `rate` and `depth`: only what the format
 * has, defaults left out (a stem's MP3 link stays at the stored rate when 96 kHz is chosen).
 * options: the page's #download-options. */
export function settingsQuery(fmt, rate, depth, options) {
  const params = new URLSearchParams();
  const rates = options.rates[fmt] || [options.stored_rate];
  const depths = options.bit_depths[fmt] || [];
  if (rate !== options.stored_rate && rates.indexOf(rate) !== -1) params.set("rate", String(rate));
  if (depths.indexOf(depth) !== -1 && depth !== options.bit_depth) {
    params.set("bit_depth", String(depth));
  }
  return params;
}

/* The download settings in form (its selects format, rate, bit_depth) applied to root's links.
 * options: the page's #download-options (the master's format, the stored rate, the default
 * depth, each format's bit depths and rates, the zip's URL and the instrumental's by format). */
export function wireSettings(root, form, options) {
  const formatEl = form.querySelector("select[name=format]");
  const rateEl = form.querySelector("select[name=rate]");
  const depthEl = form.querySelector("select[name=bit_depth]");
  const depthSetting = form.querySelector("[data-role=bit-depth-setting]");
  if (!formatEl || !rateEl || !depthEl) return;
  const depthsOf = (fmt) => options.bit_depths[fmt] || [];
  const ratesOf = (fmt) => options.rates[fmt] || [options.stored_rate];

  // only the choices in `allowed` stay enabled; a disabled choice falls back to `fallback`
  function fit(select, allowed, fallback) {
    Array.from(select.options).forEach((option) => {
      option.disabled = allowed.indexOf(Number(option.value)) === -1;
    });
    const chosen = select.options[select.selectedIndex];
    select.value = fitChoice(chosen ? chosen.value : fallback, allowed, fallback);
  }

  // only the rates the chosen format's encoder takes (MP3 stops at 48 kHz), and the depths it
  // has; a lossy one has none: the select is disabled (and so not posted with the mix)
  function fitChoices() {
    fit(rateEl, ratesOf(formatEl.value), options.stored_rate);
    const depths = depthsOf(formatEl.value);
    fit(depthEl, depths, options.bit_depth);
    depthEl.disabled = depths.length === 0;
    if (depthSetting) depthSetting.setAttribute("data-disabled", String(depthEl.disabled));
  }

  // the query for a file in fmt: the rate and the depth where fmt has them (a stem's MP3 link
  // stays at the stored rate when 96 kHz is chosen); defaults left out
  function query(fmt) {
    return settingsQuery(fmt, Number(rateEl.value), Number(depthEl.value), options);
  }

  function apply() {
    fitChoices();
    const fmt = formatEl.value;
    const params = query(fmt);
    const zip = new URLSearchParams(fmt === options.master ? {} : { format: fmt });
    params.forEach((value, name) => zip.set(name, value));
    const asStored = fmt === options.master && !params.toString();
    root.querySelectorAll("a[data-download=zip]").forEach((link) => {
      setLink(link, withQuery(options.zip, zip), !asStored, "the zip");
    });
    if (options.instrumental) {
      root.querySelectorAll("a[data-download=instrumental]").forEach((link) => {
        setLink(link, withQuery(options.instrumental[fmt], params), true, "the instrumental");
      });
    }
    root.querySelectorAll(".stem-downloads a[data-format]").forEach((link) => {
      if (!link.hasAttribute("data-base")) link.setAttribute("data-base", link.getAttribute("href"));
      const own = link.getAttribute("data-format");
      const ownParams = query(own);
      setLink(link, withQuery(link.getAttribute("data-base"), ownParams),
        own !== options.master || Boolean(ownParams.toString()), link.getAttribute("data-label"));
    });
  }

  [formatEl, rateEl, depthEl].forEach((el) => el.addEventListener("change", apply));
  apply(); // the browser may have restored the selects' last values
}

/* The line beside `control` where its render's progress and error are shown (made on first
 * use, right after the control: the feedback is where the person clicked). */
export function statusNear(control) {
  const next = control.nextElementSibling;
  if (next && next.classList.contains("render-status")) return next;
  const el = document.createElement("span");
  el.className = "render-status";
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  el.hidden = true;
  control.after(el);
  return el;
}

/* "Preparing the zip… 7 %": what a render's status says, in words. */
export function preparingText(label, percent) {
  return "Preparing " + label + "…" + (percent ? " " + percent + " %" : "");
}

/* root: the element whose data-render links are handled; mixForm: the mix's form, which holds
 * the download settings (or null). Each control's feedback sits beside it (statusNear). */
export function wireDownloads(root, mixForm) {
  function waitFor(data, show) {
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
        show(state.percent || 0);
        window.setTimeout(() => {
          askJSON(state.status_url).then(check, reject);
        }, delay);
        delay = Math.min(delay * 1.5, POLL_MAX);
      }
      check(data);
    });
  }

  function renderedDownload(control, url, options, label) {
    const statusEl = statusNear(control);
    const show = (text, kind) => {
      statusEl.textContent = text;
      statusEl.className = "render-status" + (kind ? " is-" + kind : "");
      statusEl.hidden = !text;
    };
    control.setAttribute("aria-busy", "true");
    control.setAttribute("data-render-state", "preparing");
    show(preparingText(label, 0));
    return askJSON(url, options)
      .then((data) => waitFor(data, (percent) => show(preparingText(label, percent))))
      .then((downloadUrl) => {
        show("");
        control.setAttribute("data-render-state", "done");
        startDownload(downloadUrl);
      })
      .catch((err) => {
        control.setAttribute("data-render-state", "failed");
        show("Couldn't prepare " + label + ": " + err.message, "error");
      })
      .then(() => control.removeAttribute("aria-busy"));
  }

  root.addEventListener("click", (ev) => {
    const link = ev.target.closest ? ev.target.closest("a[data-render]") : null;
    if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return; // one render per click at a time
    renderedDownload(link, link.href, { method: "GET" }, link.getAttribute("data-render"));
  });
  if (!mixForm) return;
  const optionsEl = document.getElementById("download-options");
  if (optionsEl) wireSettings(root, mixForm, JSON.parse(optionsEl.textContent));
  mixForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const button = mixForm.querySelector("[type=submit]");
    if (button) button.disabled = true;
    renderedDownload(button || mixForm, mixForm.action, { method: "POST", body: new FormData(mixForm) },
      "your mix")
      .then(() => {
        if (button) button.disabled = false;
      });
  });
}
