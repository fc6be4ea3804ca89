/* inputs.js - the generate form's image inputs, enhanced (the form works
 * without it): an image dropped or pasted into the file inputs, its
 * thumbnail, a mask painted on a canvas over the init image and put into
 * the mask file input as a PNG of the image's size, and the ControlNet
 * edge preview from POST /generate/canny. Every message the user sees
 * comes from the template's data- attributes. */
(function () {
  "use strict";

  var root = document.getElementById("gen-inputs");
  if (!root) return;
  var form = root.closest("form");
  var msg = function (name) { return root.getAttribute("data-msg-" + name) || ""; };
  var initInput = document.getElementById("init_image");
  var maskInput = document.getElementById("mask");
  var thumb = document.getElementById("gi-init-thumb");

  /* A message beside a file input, made here when the page has none. */
  function fieldError(input, text) {
    var id = input.id + "-jserror";
    var p = document.getElementById(id);
    if (!p) {
      if (!text) return;
      p = document.createElement("p");
      p.id = id;
      p.className = "field-error";
      var zone = input.closest(".gi-drop");
      (zone || input).insertAdjacentElement("afterend", p);
    }
    p.textContent = text;
    p.hidden = !text;
  }

  /* What the server would refuse anyway, said before a large upload. */
  function checkFile(input) {
    var f = input.files && input.files[0];
    if (!f) { fieldError(input, ""); return true; }
    var maxBytes = parseInt(root.getAttribute("data-max-bytes"), 10) || 0;
    if (maxBytes && f.size > maxBytes) {
      fieldError(input, input.name + " " + msg("too-large"));
      return false;
    }
    if (f.type && f.type !== "image/png" && f.type !== "image/jpeg") {
      fieldError(input, input.name + " " + msg("not-image"));
      return false;
    }
    fieldError(input, "");
    return true;
  }

  var quiet = false;	/* setting a file ourselves: no change handling */
  function setFile(input, file, silent) {
    var dt = new DataTransfer();
    if (file) dt.items.add(file);
    quiet = !!silent;
    input.files = dt.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    quiet = false;
  }

  function dataUrl(blob, done) {
    var r = new FileReader();
    r.onload = function () { done(r.result); };
    r.readAsDataURL(blob);
  }

  /* Drop zones and paste. */
  Array.prototype.forEach.call(root.querySelectorAll(".gi-drop"), function (zone) {
    var input = document.getElementById(zone.getAttribute("data-input"));
    if (!input) return;
    Array.prototype.forEach.call(zone.querySelectorAll(".gi-hint"), function (h) { h.hidden = false; });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      zone.classList.add("gi-over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("gi-over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("gi-over");
      var f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) setFile(input, f);
    });
  });
  /* A file dropped beside a zone is not opened in place of the form. */
  var files = function (e) {
    return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0;
  };
  document.addEventListener("dragover", function (e) { if (files(e)) e.preventDefault(); });
  document.addEventListener("drop", function (e) { if (files(e)) e.preventDefault(); });
  document.addEventListener("paste", function (e) {
    var items = e.clipboardData ? e.clipboardData.items : [];
    var t = e.target;
    /* Text pasted into a text box stays text. */
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "file")) &&
        Array.prototype.indexOf.call(e.clipboardData.types, "text/plain") >= 0)
      return;
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind !== "file" || items[i].type.indexOf("image/") !== 0) continue;
      var f = items[i].getAsFile();
      if (!f) continue;
      var control = document.getElementById("control_image");
      var inControl = control && document.activeElement &&
        document.activeElement.closest && document.activeElement.closest("#gi-controlnet");
      setFile(inControl ? control : initInput, new File([f], f.name || "pasted.png", { type: f.type }));
      e.preventDefault();
      return;
    }
  });

  /* The mask painter. */
  var editor = document.getElementById("gi-mask-editor");
  var base = document.getElementById("gi-mask-base");
  var canvas = document.getElementById("gi-mask-canvas");
  var noInit = document.getElementById("gi-no-init");
  var brush = document.getElementById("gi-brush");
  var ctx = canvas ? canvas.getContext("2d") : null;
  var tool = "paint", painted = false, drawing = false, last = null;
  var ours = false;	/* the mask input holds the painted mask */

  function loadBase(src) {
    if (!base || !src) return;
    base.onload = function () {
      canvas.width = base.naturalWidth;
      canvas.height = base.naturalHeight;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      painted = false;
      /* A mask painted on the image before is no mask of this one. */
      if (ours) exportMask();
      editor.hidden = false;
      noInit.hidden = true;
      if (root.getAttribute("data-inpaint") === "1")
        document.getElementById("gi-inpaint").open = true;
    };
    base.src = src;
  }

  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width,
             y: (e.clientY - r.top) * canvas.height / r.height,
             scale: canvas.width / r.width };
  }

  function stroke(a, b) {
    var w = Math.max(1, (parseFloat(brush.value) || 32) * a.scale);
    ctx.globalCompositeOperation = tool === "erase" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "#ff3b30";
    ctx.lineWidth = w;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (b) {
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    } else {
      ctx.arc(a.x, a.y, w / 2, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalCompositeOperation = "source-over";
    if (tool !== "erase") painted = true;
  }

  /* The painted mask as the job takes it: white where painted, black
   * elsewhere, at the init image's size; into the mask file input. */
  function exportMask() {
    ours = painted;
    if (!painted) { setFile(maskInput, null, true); return; }
    var w = canvas.width, h = canvas.height;
    var white = document.createElement("canvas");
    white.width = w; white.height = h;
    var wc = white.getContext("2d");
    wc.drawImage(canvas, 0, 0);
    wc.globalCompositeOperation = "source-in";
    wc.fillStyle = "#fff";
    wc.fillRect(0, 0, w, h);
    var out = document.createElement("canvas");
    out.width = w; out.height = h;
    var oc = out.getContext("2d");
    oc.fillStyle = "#000";
    oc.fillRect(0, 0, w, h);
    oc.drawImage(white, 0, 0);
    out.toBlob(function (blob) {
      if (blob) setFile(maskInput, new File([blob], "mask.png", { type: "image/png" }), true);
    }, "image/png");
  }

  if (canvas && ctx) {
    canvas.addEventListener("pointerdown", function (e) {
      e.preventDefault();
      drawing = true;
      canvas.setPointerCapture(e.pointerId);
      last = point(e);
      stroke(last, null);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e);
      stroke(last, p);
      last = p;
    });
    var end = function () {
      if (!drawing) return;
      drawing = false;
      exportMask();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    var paintBtn = document.getElementById("gi-paint");
    var eraseBtn = document.getElementById("gi-erase");
    var pick = function (t) {
      tool = t;
      paintBtn.setAttribute("aria-pressed", t === "paint" ? "true" : "false");
      eraseBtn.setAttribute("aria-pressed", t === "erase" ? "true" : "false");
    };
    paintBtn.addEventListener("click", function () { pick("paint"); });
    eraseBtn.addEventListener("click", function () { pick("erase"); });
    document.getElementById("gi-clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      painted = false;
      exportMask();
    });
    document.getElementById("gi-invert").addEventListener("click", function () {
      var t = document.createElement("canvas");
      t.width = canvas.width; t.height = canvas.height;
      var tc = t.getContext("2d");
      tc.fillStyle = "#ff3b30";
      tc.fillRect(0, 0, t.width, t.height);
      tc.globalCompositeOperation = "destination-out";
      tc.drawImage(canvas, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(t, 0, 0);
      painted = true;
      exportMask();
    });
    /* A mask file chosen by hand replaces the painting. */
    maskInput.addEventListener("change", function () {
      if (quiet) return;
      ours = false;
      checkFile(maskInput);
      if (maskInput.files.length) {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        painted = false;
      }
    });
    var inpaint = document.getElementById("gi-inpaint");
    inpaint.addEventListener("toggle", function () {
      if (inpaint.open && editor.hidden) noInit.hidden = false;
    });
  }

  /* The init image: its thumbnail, and the painter's base. */
  initInput.addEventListener("change", function () {
    if (quiet) return;
    var f = initInput.files[0];
    if (!f || !checkFile(initInput)) return;
    var from = document.getElementById("init_from");
    if (from) {
      from.disabled = true;	/* the file chosen wins */
      var note = document.getElementById("gi-init-from-note");
      if (note) note.hidden = true;
    }
    dataUrl(f, function (url) {
      thumb.src = url;
      thumb.hidden = false;
      loadBase(url);
    });
  });
  if (thumb.getAttribute("src")) loadBase(thumb.getAttribute("src"));

  /* The ControlNet edge preview. */
  var control = document.getElementById("control_image");
  if (control) {
    var section = document.getElementById("gi-controlnet");
    var figure = document.getElementById("gi-canny");
    var img = document.getElementById("gi-canny-img");
    var err = document.getElementById("gi-canny-error");
    var pre = document.getElementById("controlnet_preprocessor");
    var low = document.getElementById("controlnet_low_threshold");
    var high = document.getElementById("controlnet_high_threshold");
    var timer = null;
    var value = function (id) {
      var el = document.getElementById(id);
      return el ? (el.value || el.getAttribute("placeholder") || "") : "";
    };
    var showError = function (text) {
      err.textContent = text;
      err.hidden = !text;
    };
    var preview = function () {
      var f = control.files[0];
      if (!f || pre.value !== "canny") {
        figure.hidden = true;
        return;
      }
      var fd = new FormData();
      fd.append("csrf", form.elements.csrf.value);
      fd.append("control_image", f);
      if (low.value) fd.append("controlnet_low_threshold", low.value);
      if (high.value) fd.append("controlnet_high_threshold", high.value);
      var w = value("width"), h = value("height");
      if (w && h) { fd.append("width", w); fd.append("height", h); }
      fetch(section.getAttribute("data-canny-url"), { method: "POST", body: fd, credentials: "same-origin" })
        .then(function (r) {
          var type = r.headers.get("Content-Type") || "";
          if (r.ok && type.indexOf("image/png") === 0) return r.blob().then(function (b) {
            dataUrl(b, function (url) {
              img.src = url;
              figure.hidden = false;
              showError("");
            });
          });
          /* A refusal: {"field", "message"}, shown beside the preview. */
          var failed = function () {
            figure.hidden = true;
            showError(msg("preview-failed"));
          };
          if (!r.ok || type.indexOf("application/json") !== 0) return failed();
          return r.json().then(function (j) {
            figure.hidden = true;
            showError(j && j.message ? j.message : msg("preview-failed"));
          }, failed);
        })
        .catch(function () { showError(msg("preview-failed")); });
    };
    var later = function () {
      clearTimeout(timer);
      timer = setTimeout(preview, 300);
    };
    control.addEventListener("change", function () {
      if (checkFile(control)) preview();
    });
    [low, high, pre].forEach(function (el) {
      el.addEventListener("input", later);
      el.addEventListener("change", later);
    });
    document.getElementById("gi-canny-button").addEventListener("click", function (e) {
      e.preventDefault();
      preview();
    });
  }

  /* Nothing too large is sent: the server would refuse the lot. A
   * capturing listener runs before the page's own (generate.js sends
   * the form in the background), and stops it too. */
  form.addEventListener("submit", function (e) {
    var ok = true;
    [initInput, maskInput, control].forEach(function (el) {
      if (el && !checkFile(el)) ok = false;
    });
    if (!ok) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();
