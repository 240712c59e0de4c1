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

  // Only the qualities the chosen model has (Spleeter has one): the others are disabled; and
  // how long the chosen model takes here.
  var speedNote = document.getElementById("mode-speed");
  function followMode() {
    var chosen = form.querySelector('input[name="mode"]:checked');
    var label = chosen && chosen.closest("[data-qualities]");
    if (!label) return;
    if (speedNote) speedNote.textContent = label.dataset.took || "";
    var offered = label.dataset.qualities.split(" ");
    var radios = form.querySelectorAll('input[name="quality"]');
    Array.prototype.forEach.call(radios, function (radio) {
      radio.disabled = offered.indexOf(radio.value) < 0;
    });
    var checked = form.querySelector('input[name="quality"]:checked');
    if (checked && checked.disabled) {
      var first = Array.prototype.find.call(radios, function (r) { return !r.disabled; });
      if (first) first.checked = true;
    }
  }
  Array.prototype.forEach.call(form.querySelectorAll('input[name="mode"]'), function (radio) {
    radio.addEventListener("change", followMode);
  });
  followMode();
  var progress = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var clientErrors = document.getElementById("upload-client-errors");
  var serverErrors = document.getElementById("upload-errors");
  var waiting = status.textContent;

  function show(box, lines) {
    box.textContent = "";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    box.hidden = false;
  }

  function refuse(lines) { show(clientErrors, lines); }

  // The server checks everything again; this only spares a long upload that would be refused.
  function tooLarge() {
    var maxBytes = parseFloat(form.dataset.maxMb) * 1048576;
    return Array.prototype.filter.call(input.files, function (file) {
      return maxBytes && file.size > maxBytes;
    }).map(function (file) {
      return file.name + ": larger than the limit of " + form.dataset.maxMb + " MB";
    });
  }

  // the form can be sent again (after refused files, or a lost connection)
  function ready() {
    busy.hidden = true;
    submit.disabled = false;
    progress.value = 0;
    status.textContent = waiting;
  }

  function answerOf(xhr) {
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") === -1) {
      return null;
    }
    try {
      return JSON.parse(xhr.responseText);
    } catch (e) {
      return null;
    }
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
    // Send it ourselves to show upload progress. Asked for JSON, the server answers where to
    // go next (the job, or the library for several files), or the lines to show if it refused
    // the files; a plain post (no script) gets a redirect or this page with the errors.
    event.preventDefault();
    var target = form.action || window.location.href;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", target);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      progress.value = e.loaded / e.total;
      status.textContent = e.loaded < e.total
        ? "Uploading… " + Math.floor(100 * e.loaded / e.total) + " % of " + megabytes(e.total)
        : "Checking your files…";
    });
    xhr.addEventListener("load", function () {
      var answer = answerOf(xhr);
      if (answer && answer.redirect) {
        window.location.assign(answer.redirect);
        return;
      }
      ready();
      if (answer && answer.errors) {
        show(serverErrors, answer.errors);
        serverErrors.scrollIntoView({ block: "nearest" });
        return;
      }
      // Not the form's answer: the log-in page, after the session ended, or an error page.
      if (xhr.responseURL && xhr.responseURL.split("#")[0] !== target.split("#")[0]) {
        window.location.assign(xhr.responseURL);
        return;
      }
      refuse(["The server refused the upload (" + xhr.status + " " + xhr.statusText +
        "). Please try again."]);
    });
    xhr.addEventListener("error", function () {
      ready();
      refuse(["The upload was interrupted (connection lost). Please try again."]);
    });
    serverErrors.hidden = true;
    submit.disabled = true;
    xhr.send(new FormData(form));
  });
})();
