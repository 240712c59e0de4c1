// New separation page: drag-and-drop onto the picker, list the chosen files, upload progress.
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
  var progress = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var clientErrors = document.getElementById("upload-client-errors");


  function refuse(lines) {
    clientErrors.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      clientErrors.appendChild(p);
    });
    clientErrors.hidden = false;
  }

  // The server checks everything again; this only spares a long upload that would be refused.
  function tooLarge() {
    var maxBytes = parseFloat(form.dataset.maxMb) * 1048576;
    return Array.prototype.filter.call(input.files, function (file) {
      return maxBytes && file.size > maxBytes;
    }).map(function (file) {
      return file.name + ": larger than the limit of " + form.dataset.maxMb + " MB";
    });
  }

  form.addEventListener("submit", function (event) {
    clientErrors.hidden = true;
    var refused = tooLarge();
    if (refused.length) {
      event.preventDefault();
      refuse(refused);
      return;
    }
    busy.hidden = false;
    if (!window.FormData || !window.XMLHttpRequest) {
      // after the browser has taken the form data, so the click still submits
      setTimeout(function () { submit.disabled = true; }, 0);
      return;
    }
    // Send it ourselves to show upload progress; the server answers as for a plain post:
    // a redirect to the job (or library), or this page again with the errors.
    event.preventDefault();
    var target = form.action || window.location.href;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", target);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      progress.value = e.loaded / e.total;
      status.textContent = e.loaded < e.total
        ? "Uploading… " + Math.floor(100 * e.loaded / e.total) + " % of " + megabytes(e.total)
        : "Checking your files…";
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL.split("#")[0] !== target.split("#")[0]) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      busy.hidden = true;
      submit.disabled = false;
      refuse(["The upload was interrupted (connection lost). Please try again."]);
    });
    submit.disabled = true;
    xhr.send(new FormData(form));
  });
})();
