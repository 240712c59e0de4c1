// "Copy" buttons (the tokens page): data-copy names the element whose text goes to the clipboard.
// The buttons are hidden until this runs, so a page without scripts shows none that do nothing.
(function () {
  "use strict";

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function said(button, text) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  // The clipboard API needs a secure context (https, or this machine); elsewhere the text is
  // selected for the person to copy with their keyboard or menu.
  function copy(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { said(button, "Copied"); },
        function () { selectText(source); said(button, "Selected: press Ctrl+C"); }
      );
    } else {
      selectText(source);
      said(button, "Selected: press Ctrl+C");
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
