/* Per stem on the result page (an ES module): the pan slider (a StereoPanner each, built by
 * practice_graph.js) and the volume and pan as figures beside their sliders. */

/* A pan's figure: "C", "L40", "R100". */
export function panText(v) {
  if (Math.abs(v) < 0.005) return "C";
  return (v < 0 ? "L" : "R") + Math.round(Math.abs(v) * 100);
}

/* views: the stem rows; pans: stem name -> StereoPannerNode; fields: mix_fields.js's MixFields */
export function wireStemPans(views, pans, fields) {
  views.forEach((view) => {
    const volume = view.row.querySelector("[data-role='volume-value']");
    const panEl = view.row.querySelector("[data-role='pan']");
    const panValue = view.row.querySelector("[data-role='pan-value']");
    const showVolume = () => {
      if (volume) volume.textContent = Math.round(parseFloat(view.volumeEl.value) * 100) + "%";
    };
    view.volumeEl.addEventListener("input", showVolume);
    showVolume();
    if (!panEl) return;
    const applyPan = () => {
      const v = parseFloat(panEl.value) || 0;
      pans[view.name].pan.value = v;
      view.row.setAttribute("data-pan", String(v));
      if (panValue) panValue.textContent = panText(v);
      fields.set("pan_" + view.name, v); // the custom mix is rendered with the same pan
    };
    panEl.addEventListener("input", applyPan);
    panEl.addEventListener("dblclick", () => {
      panEl.value = "0";
      applyPan();
    });
    applyPan();
  });
}
