// New separation page: drag-and-drop onto the picker, list the chosen files, busy state.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var zone = document.getElementById("dropzone");
  var input = form.querySelector('input[type="file"][name="files"]');
  var list = document.getElementById("file-list");
  var busy = document.getElementById("upload-busy");
  var submit = document.getElementById("upload-submit");

  function megabytes(n) { return (n / 1048576).toFixed(1) + " MB"; }

  function showFiles() {
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " · " + megabytes(file.size);
      list.appendChild(item);
    });
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("is-over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showFiles();
    }
  });
  input.addEventListener("change", showFiles);
  form.addEventListener("submit", function () {
    busy.hidden = false;
    // after the browser has taken the form data, so the click still submits
    setTimeout(function () { submit.disabled = true; }, 0);
  });
})();
