// Library: "separate again" offers only the qualities the chosen model has (Spleeter has one),
// so a choice the server would have to change never gets sent.
(function () {
  "use strict";

  function follow(modeSelect) {
    var quality = document.getElementById(modeSelect.dataset.qualityFor);
    if (!quality) return;
    var chosen = modeSelect.options[modeSelect.selectedIndex];
    var offered = (chosen && chosen.dataset.qualities || "").split(" ");
    Array.prototype.forEach.call(quality.options, function (option) {
      option.disabled = offered.indexOf(option.value) < 0;
    });
    if (quality.options[quality.selectedIndex].disabled) {
      var first = Array.prototype.find.call(quality.options, function (o) { return !o.disabled; });
      if (first) quality.value = first.value;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-quality-for]"), function (select) {
    follow(select);
    select.addEventListener("change", function () { follow(select); });
  });
})();
