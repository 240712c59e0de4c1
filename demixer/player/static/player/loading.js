/* Loading a finished job's stems (an ES module): the mixer fetches and decodes every preview
 * (mixer.js); this counts them on the page. Each row gets data-loaded ("true", or "error"), and
 * #player[data-state] says "loading" meanwhile.
 */

/* The status line while stems load: "Loading stems… 2 of 4". */
export function loadingText(done, count) {
  return "Loading stems… " + done + " of " + count;
}

/* Load the stems of `views` into `mixer`, telling setStatus(text) how many are in. Resolves
 * once all are (the mixer is then ready); rejects with the mixer's sentence for the first that
 * failed. */
export function loadStems(root, mixer, views, setStatus) {
  let done = 0;
  const rowOf = (stem) => views.find((view) => view.name === stem.name).row;
  root.setAttribute("data-state", "loading");
  setStatus(loadingText(0, views.length));
  return mixer.load(
    (stem) => {
      rowOf(stem).setAttribute("data-loaded", "true");
      done += 1;
      if (root.getAttribute("data-state") === "loading") setStatus(loadingText(done, views.length));
    },
    (stem) => rowOf(stem).setAttribute("data-loaded", "error"),
  );
}
