/* An export's page: follows the export through the API until it is done or failed, moving the progress bar
   and showing the download button, without reloading the page. */
(function () {
  "use strict";
  var box = document.getElementById("export");
  if (!box) { return; }
  var states = JSON.parse(box.getAttribute("data-states") || "{}");
  var bar = document.getElementById("export-progress");
  var percent = document.getElementById("export-percent");
  var stateEl = document.getElementById("export-state");
  var ready = document.getElementById("export-ready");
  var errorEl = document.getElementById("export-error");
  var failures = 0;

  function show(e) {
    box.setAttribute("data-state", e.state);
    bar.value = e.progress;
    percent.textContent = Math.round(e.progress * 100) + "%";
    stateEl.textContent = states[e.state] || e.state;
    if (e.state === "done") {
      document.getElementById("export-bytes").textContent = String(e.bytes);
      document.getElementById("export-sha").textContent = e.sha256 || "–";
      ready.hidden = false;
    }
    if (e.error) {
      errorEl.textContent = e.error.message;
      errorEl.hidden = false;
    }
  }

  function poll() {
    fetch("/api/v1/exports/" + box.getAttribute("data-id"), {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (e) {
      failures = 0;
      show(e);
      if (e.state === "queued" || e.state === "running") { window.setTimeout(poll, 1000); }
    }).catch(function () {
      failures += 1;
      if (failures > 5) {
        errorEl.textContent = box.getAttribute("data-t-lost");
        errorEl.hidden = false;
        return;
      }
      window.setTimeout(poll, 2000);
    });
  }

  var state = box.getAttribute("data-state");
  if (state === "queued" || state === "running") { poll(); }
}());
