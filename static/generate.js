// generate.js - the studio page: the form is sent in the background and
// the job is followed in place (its progress, live preview and images,
// polled through the API with the session cookie, as job.js does); the
// size presets, bounds and estimate follow the chosen model from the
// data- attributes the server wrote; LoRA and embedding buttons insert at
// the cursor; Ctrl+Enter (Cmd+Enter) submits. Every text shown comes from
// the template's data- attributes. Without scripts the form posts and
// the job page follows the job.
(function () {
  "use strict";
  var form = document.getElementById("gen-form");
  var out = document.getElementById("studio-out");
  if (!form || !out) return;

  function $(id) { return document.getElementById(id); }
  function fill(t, vals) {
    return (t || "").replace(/\{(\w)\}/g, function (m, k) {
      return vals[k] !== undefined ? String(vals[k]) : m;
    });
  }
  function tr(el, name, vals) {
    return fill(el.getAttribute("data-t-" + name), vals || {});
  }

  var model = $("model"), size = $("size"), width = $("width"),
      height = $("height"), steps = $("steps"), batch = $("batch_count"),
      seed = $("seed"), est = $("estimate"), submit = $("gen-submit");

  function chosen() {
    return model && model.options[model.selectedIndex] || null;
  }
  function num(el, dflt) {
    if (!el || el.value === "") return dflt;
    var v = Number(el.value);
    return isFinite(v) ? v : dflt;
  }

  // ---- the estimate: job_cost's rule, the model's render rate ----------

  function estimate() {
    if (!est) return;
    var o = chosen();
    if (!o) return;
    var d = function (k, f) { var v = Number(o.getAttribute("data-" + k)); return isFinite(v) && v > 0 ? v : f; };
    var w = num(width, d("w", 512)), h = num(height, d("h", 512));
    var st = num(steps, d("steps", 20)), b = num(batch, 1);
    var mult = d("mult", 8);
    var work = w * h * st;
    var hs = num($("hires_scale"), 0);
    if (hs > 1) {
      var str = num($("hires_strength"), Number(est.getAttribute("data-strength")));
      var hst = num($("hires_steps"), 0);
      var side = function (x) { return Math.floor(Math.floor(x * hs) / mult) * mult; };
      work += side(w) * side(h) * Math.floor((hst > 0 ? hst : st) * str);
    }
    var credits = Math.max(1, Math.ceil(work * b / Number(est.getAttribute("data-unit"))));
    $("est-credits").textContent = credits === 1 ? tr(est, "one") :
      tr(est, "many", { n: credits });
    var rate = Number(o.getAttribute("data-rate"));
    var t = $("est-time");
    if (!(rate > 0)) {
      t.textContent = tr(est, "none");
    } else {
      var secs = rate * work * b;
      t.textContent = secs >= 90 ? tr(est, "min", { n: Math.round(secs / 60) }) :
        tr(est, "secs", { n: Math.max(1, Math.round(secs)) });
    }
  }

  // ---- size presets and bounds of the chosen model ---------------------

  function syncPreset() {
    if (!size) return;
    var v = width.value + "x" + height.value, i;
    size.value = "";
    for (i = 0; i < size.options.length; i++)
      if (size.options[i].value === v) size.value = v;
  }

  function modelChanged() {
    var o = chosen();
    if (!o || !size) return;
    var lo = o.getAttribute("data-lo"), hi = o.getAttribute("data-hi"),
        mult = o.getAttribute("data-mult");
    [width, height].forEach(function (el) {
      el.min = lo; el.max = hi; el.step = mult;
    });
    width.placeholder = o.getAttribute("data-w");
    height.placeholder = o.getAttribute("data-h");
    steps.max = o.getAttribute("data-steps-max");
    if ($("hires_steps")) $("hires_steps").max = steps.max;
    steps.placeholder = o.getAttribute("data-steps");
    var keep = size.options[0];
    while (size.options.length > 1) size.remove(1);
    // "4:3=80x64": shown as the server writes it, "4:3 · 80x64".
    (o.getAttribute("data-sizes") || "").split(" ").forEach(function (s) {
      var kv = s.split("=");
      if (kv.length !== 2) return;
      var opt = document.createElement("option");
      opt.value = kv[1];
      opt.textContent = kv[0] + " \u00b7 " + kv[1];
      size.appendChild(opt);
    });
    size.value = "";
    keep.selected = true;
    // Sides the new model cannot render become its native size.
    var bad = function (el) {
      var v = Number(el.value);
      return el.value !== "" && (v < Number(lo) || v > Number(hi) || v % Number(mult) !== 0);
    };
    if (bad(width) || bad(height)) {
      var first = ((o.getAttribute("data-sizes") || "").split(" ")[0] || "").split("=")[1];
      if (first) {
        width.value = first.split("x")[0];
        height.value = first.split("x")[1];
      }
    }
    syncPreset();
    estimate();
  }

  if (size) {
    size.addEventListener("change", function () {
      if (!size.value) return;
      var p = size.value.split("x");
      width.value = p[0];
      height.value = p[1];
      estimate();
    });
    syncPreset();
  }
  if (model) model.addEventListener("change", modelChanged);
  [width, height].forEach(function (el) {
    if (el) el.addEventListener("input", function () { syncPreset(); estimate(); });
  });
  ["steps", "batch_count", "hires_scale", "hires_strength", "hires_steps"].forEach(function (id) {
    var el = $(id);
    if (el) el.addEventListener("input", estimate);
  });
  estimate();

  // ---- seed -----------------------------------------------------------

  var rnd = $("seed-random"), reuse = $("seed-reuse");
  if (rnd) {
    rnd.hidden = false;
    rnd.addEventListener("click", function () { seed.value = ""; seed.focus(); });
  }
  if (reuse) {
    reuse.addEventListener("click", function (e) {
      e.preventDefault();
      seed.value = reuse.getAttribute("data-seed");
    });
  }

  // ---- LoRA and embedding pickers ---------------------------------------

  var prompt = $("prompt"), negative = $("negative_prompt"), target = prompt;
  [prompt, negative].forEach(function (el) {
    if (el) el.addEventListener("focus", function () { target = el; });
  });
  var pickers = $("pickers");
  if (pickers) {
    pickers.hidden = false;
    pickers.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-insert]");
      if (!b || !target) return;
      var text = b.getAttribute("data-insert");
      var s = target.selectionStart, t = target.selectionEnd, v = target.value;
      var before = v.slice(0, s), after = v.slice(t);
      if (before && !/\s$/.test(before)) text = " " + text;
      if (after && !/^\s/.test(after)) text += " ";
      target.value = before + text + after;
      target.focus();
      target.selectionStart = target.selectionEnd = before.length + text.length;
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  // ---- Ctrl+Enter -----------------------------------------------------

  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // ---- following a job in place -----------------------------------------

  var status = $("studio-status"), bar = $("studio-progress"),
      preview = $("studio-preview"), images = $("studio-images"),
      link = $("studio-job-link");
  var watching = 0, shown = -1;

  // The API's URLs are absolute on the site's base URL; the page's own
  // origin serves them (and is the one the CSP allows).
  function local(u) {
    try { var x = new URL(u, location.href); return x.pathname + x.search; }
    catch (err) { return u; }
  }

  function showImages(j) {
    images.textContent = "";
    (j.images || []).forEach(function (im, i) {
      var fig = document.createElement("figure");
      var a = document.createElement("a");
      a.href = local(im.url);
      var img = document.createElement("img");
      img.className = "result";
      img.src = local(im.url);
      img.alt = tr(out, "image", { n: i + 1 });
      a.appendChild(img);
      fig.appendChild(a);
      var cap = document.createElement("figcaption");
      var use = document.createElement("a");
      use.href = "/generate?from=" + j.id + "&seed=" + im.seed;
      use.textContent = tr(out, "use-seed");
      cap.appendChild(document.createTextNode(tr(out, "seed", { n: im.seed }) + " · "));
      cap.appendChild(use);
      fig.appendChild(cap);
      images.appendChild(fig);
    });
  }

  function update(id, j) {
    if (id !== watching) return false;
    var p = j.progress || {};
    if (j.status === "queued") {
      status.textContent = j.queue_position !== null && j.queue_position !== undefined ?
        tr(out, "queued-at", { n: j.queue_position + 1 }) : tr(out, "queued");
    } else if (j.status === "running") {
      bar.classList.remove("hidden");
      if (p.steps > 0) { bar.max = p.steps; bar.value = p.step; }
      status.textContent = p.eta_s !== null && p.eta_s !== undefined ?
        tr(out, "step-eta", { n: p.step, m: p.steps, s: Math.round(p.eta_s) }) :
        tr(out, "step", { n: p.step, m: p.steps });
      if (j.preview_url && p.step !== shown) {
        shown = p.step;
        preview.src = local(j.preview_url) + (j.preview_url.indexOf("?") < 0 ? "?" : "&") + "step=" + p.step;
        preview.classList.remove("hidden");
      }
    } else {
      bar.classList.add("hidden");
      preview.classList.add("hidden");
      if (j.status === "succeeded") {
        status.textContent = tr(out, "done", { n: j.id });
        showImages(j);
        if (reuse && j.seed !== undefined) {
          reuse.setAttribute("data-seed", j.seed);
          reuse.href = "/generate?from=" + j.id + "&seed=" + j.seed;
          $("seed-reuse-n").textContent = j.seed;
          reuse.hidden = false;
        }
      } else if (j.status === "failed") {
        status.textContent = tr(out, "failed", { n: j.id, e: j.error || "" });
      } else {
        status.textContent = tr(out, "canceled", { n: j.id });
      }
      out.removeAttribute("aria-busy");
      return false;
    }
    return true;
  }

  function poll(id, misses) {
    fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (id !== watching) return;
        if (j === null) {
          if (misses > 5) { status.textContent = tr(out, "lost"); return; }
          window.setTimeout(function () { poll(id, misses + 1); }, 2000);
          return;
        }
        if (update(id, j)) window.setTimeout(function () { poll(id, 0); }, 700);
      })
      .catch(function () {
        if (id === watching) window.setTimeout(function () { poll(id, misses + 1); }, 3000);
      });
  }

  function watch(id) {
    watching = id;
    shown = -1;
    out.setAttribute("data-job", id);
    out.setAttribute("aria-busy", "true");
    link.href = "/jobs/" + id;
    link.classList.remove("hidden");
    images.textContent = "";
    bar.value = 0;
    poll(id, 0);
  }

  // The answer of a refused form is the page again with its messages:
  // they go beside the same fields here (the typed values and any chosen
  // files stay as they are).
  function showErrors(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var section = form.closest("section");
    Array.prototype.forEach.call(document.querySelectorAll("#gen-form .field-error, section.studio > .notice"),
      function (e) { e.remove(); });
    var notices = doc.querySelectorAll("section.studio > .notice");
    var grid = section.querySelector(".studio-grid");
    Array.prototype.forEach.call(notices, function (n) {
      section.insertBefore(document.importNode(n, true), grid);
    });
    if (!notices.length) {
      // Another page (too many jobs at once, a lost session): its words.
      var p = document.createElement("p"), m = doc.querySelector("main p");
      p.className = "notice error";
      p.setAttribute("role", "alert");
      p.textContent = m ? m.textContent : tr(form, "failed");
      section.insertBefore(p, grid);
    }
    Array.prototype.forEach.call(doc.querySelectorAll("#gen-form .field-error"), function (e) {
      // The same place: as many elements after the same element with
      // an id as in the answer.
      var prev = e.previousElementSibling, k = 0;
      while (prev && !prev.id) { prev = prev.previousElementSibling; k++; }
      var mine = prev && document.getElementById(prev.id);
      while (mine && k > 0 && mine.nextElementSibling) { mine = mine.nextElementSibling; k--; }
      var copy = document.importNode(e, true);
      if (mine) mine.insertAdjacentElement("afterend", copy);
      else form.insertBefore(copy, form.firstChild);
    });
    section.scrollIntoView({ block: "start" });
  }

  function clearErrors() {
    Array.prototype.forEach.call(document.querySelectorAll("#gen-form .field-error, section.studio > .notice"),
      function (e) { e.remove(); });
  }

  form.addEventListener("submit", function (e) {
    if (!window.fetch || !window.FormData) return;
    e.preventDefault();
    submit.disabled = true;
    status.textContent = tr(out, "sending");
    // studio=1: a refusal comes back as 200 (a 4xx would be logged as
    // a console error); a job as the redirect to its page.
    var body = new FormData(form);
    body.append("studio", "1");
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        var m = r.redirected && /\/jobs\/(\d+)$/.exec(new URL(r.url).pathname);
        if (m) {
          clearErrors();
          watch(Number(m[1]));
          // On a phone the panel is under the form: bring it up.
          var r2 = out.getBoundingClientRect();
          if (r2.top > window.innerHeight) out.scrollIntoView({ block: "start" });
          return null;
        }
        return r.text().then(function (html) {
          status.textContent = "";
          showErrors(html);
        });
      })
      .catch(function () { status.textContent = tr(form, "offline"); })
      .then(function () { submit.disabled = false; });
  });

  // The latest job: followed if it still runs, its images shown if done.
  var active = Number(out.getAttribute("data-job"));
  if (active > 0) watch(active);
})();

// The manifest mode (/generate/manifest): as the manifest is typed, the
// form is sent in the background as a preview and what it compiles to
// (or the error with its JSON path) replaces the server-rendered side,
// and the scene form takes the manifest's fields; as the scene form is
// filled, the manifest it makes replaces the box's. Without scripts the
// Preview and "Use the form" buttons do the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("manifest-form");
  var out = document.getElementById("manifest-out");
  var box = document.getElementById("manifest");
  var scene = document.getElementById("scene-form");
  if (!form || !out || !box || !window.fetch || !window.DOMParser) return;
  var timer = null, seq = 0;

  // The answer's error for el (nerr, or none) in place of el's own.
  function placeError(el, err, nerr) {
    if (err) err.remove();
    if (nerr) {
      el.insertAdjacentElement("afterend", nerr);
      el.setAttribute("aria-invalid", "true");
    } else {
      el.removeAttribute("aria-invalid");
    }
  }

  // The scene form's fields as the answer has them (from = "box"), and
  // each field's error beside it either way.
  function syncScene(doc, values) {
    if (!scene) return;
    var els = scene.querySelectorAll("input[name], select[name]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i], next = doc.getElementById(el.id);
      if (!next) continue;
      if (values) {
        if (el.tagName === "SELECT") el.innerHTML = next.innerHTML;
        el.value = next.value;
      }
      placeError(el, document.getElementById(el.id + "-error"),
                 doc.getElementById(el.id + "-error"));
    }
  }

  function preview(from) {
    var data = new URLSearchParams(new FormData(form));
    var mine = ++seq;
    data.set("action", from === "scene" ? "scene" : "preview");
    data.set("live", "1");
    // (form.action is the buttons named "action": read the attribute.)
    fetch(form.getAttribute("action"), { method: "POST", body: data,
                         credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine !== seq) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("manifest-out");
        if (next) out.innerHTML = next.innerHTML;
        placeError(box, document.getElementById("manifest-error"),
                   doc.getElementById("manifest-error"));
        var nbox = doc.getElementById("manifest");
        if (from === "scene" && nbox && nbox.value !== box.value)
          box.value = nbox.value;
        syncScene(doc, from !== "scene");
      })
      .catch(function () { /* offline: the buttons still work */ });
  }

  function later(from) {
    return function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () { preview(from); }, 400);
    };
  }
  box.addEventListener("input", later("box"));
  if (scene) {
    scene.addEventListener("input", later("scene"));
    scene.addEventListener("change", later("scene"));
  }
})();
