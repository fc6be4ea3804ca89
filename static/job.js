// job.js - the job page's live progress: polls the job through the API
// (the session cookie is enough for reading) and updates the bar, the
// text and the preview; reloads the page when the job ends. Without
// scripts the page refreshes itself instead (a <noscript> meta refresh).
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var id = root.getAttribute("data-job");
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var status = document.getElementById("job-status");
  var preview = document.getElementById("job-preview");
  var shown = 0;

  // The texts are the page's data-t-* attributes (translated with it);
  // {n}, {m} and {s} stand for the numbers.
  function tr(key, vals) {
    var t = (text && text.getAttribute("data-t-" + key)) || "";
    return t.replace(/\{([nms])\}/g, function (all, k) {
      return vals[k] !== undefined ? String(vals[k]) : all;
    });
  }

  function update(j) {
    if (status) {
      status.textContent = status.getAttribute("data-s-" + j.status) || j.status;
    }
    if (j.status !== "queued" && j.status !== "running") {
      window.location.reload();
      return false;
    }
    var p = j.progress || {};
    if (bar && p.steps > 0) { bar.max = p.steps; bar.value = p.step; }
    if (text) {
      if (j.status === "queued") {
        text.textContent = j.queue_position !== null && j.queue_position !== undefined ?
          tr("queued-at", { n: j.queue_position + 1 }) : tr("queued", {});
      } else {
        text.textContent = p.eta_s !== null && p.eta_s !== undefined ?
          tr("step-eta", { n: p.step, m: p.steps, s: Math.round(p.eta_s) }) :
          tr("step", { n: p.step, m: p.steps });
      }
    }
    if (preview && j.preview_url && p.step !== shown) {
      shown = p.step;
      preview.src = j.preview_url + "?step=" + p.step;
      preview.classList.remove("hidden");
    }
    return true;
  }

  function poll() {
    fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j === null || update(j)) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
