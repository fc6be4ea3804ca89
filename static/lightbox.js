// lightbox.js - the job page's images at full size in an overlay: next
// and previous (buttons, arrow keys), zoom (click the image, + and -),
// download, copy to the clipboard (where the browser can write images;
// the button stays hidden elsewhere), Esc or Close to leave. Without
// scripts each image is a plain link to its PNG. Texts the user sees come
// from the page's data- attributes and markup, never from here.
(function () {
  "use strict";
  var grid = document.getElementById("job-images");
  var box = document.getElementById("lightbox");
  if (!grid || !box) return;
  var links = Array.prototype.slice.call(grid.querySelectorAll("a.lb-open"));
  if (links.length === 0) return;
  var img = document.getElementById("lb-img");
  var stage = document.getElementById("lb-stage");
  var count = document.getElementById("lb-count");
  var status = document.getElementById("lb-status");
  var prev = document.getElementById("lb-prev");
  var next = document.getElementById("lb-next");
  var zin = document.getElementById("lb-zoom-in");
  var zout = document.getElementById("lb-zoom-out");
  var dl = document.getElementById("lb-download");
  var copy = document.getElementById("lb-copy");
  var close = document.getElementById("lb-close");
  var of = grid.getAttribute("data-lb-of") || "/";
  var ZOOM_MAX = 3;
  var at = -1, zoom = 0, opener = null;

  var canCopy = !!(window.ClipboardItem && navigator.clipboard &&
    navigator.clipboard.write && window.isSecureContext);
  if (canCopy) copy.classList.remove("hidden");

  // Zoom 0 fits the image to the screen, small ones enlarged (the
  // stylesheet's object-fit); each step doubles that, scrolled in the
  // stage, up to 8 times.
  function setZoom(z) {
    zoom = Math.max(0, Math.min(ZOOM_MAX, z));
    if (zoom === 0 || !img.naturalWidth) {
      stage.classList.remove("zoomed");
      img.style.width = "";
    } else {
      var fit = Math.min(stage.clientWidth / img.naturalWidth,
                         stage.clientHeight / img.naturalHeight);
      stage.classList.add("zoomed");
      img.style.width = Math.round(img.naturalWidth * fit * Math.pow(2, zoom)) + "px";
    }
    box.setAttribute("data-zoom", String(zoom));
  }

  function show(i) {
    at = (i + links.length) % links.length;
    var a = links[at];
    img.src = a.getAttribute("href");
    img.alt = a.querySelector("img") ? a.querySelector("img").alt : "";
    dl.href = a.getAttribute("href");
    dl.setAttribute("download", a.getAttribute("data-download") || "");
    count.textContent = (at + 1) + " " + of + " " + links.length;
    status.textContent = "";
    box.setAttribute("data-index", String(at));
    setZoom(0);
    prev.disabled = next.disabled = links.length < 2;
  }

  function open(i, from) {
    opener = from || null;
    box.hidden = false;
    document.body.classList.add("lb-on");
    show(i);
    close.focus();
  }

  function shut() {
    box.hidden = true;
    document.body.classList.remove("lb-on");
    img.removeAttribute("src");
    at = -1;
    if (opener) opener.focus();
  }

  links.forEach(function (a, i) {
    a.addEventListener("click", function (e) {
      // A new tab or a saved link keeps the link's own behaviour.
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      open(i, a);
    });
  });
  prev.addEventListener("click", function () { show(at - 1); });
  next.addEventListener("click", function () { show(at + 1); });
  zin.addEventListener("click", function () { setZoom(zoom + 1); });
  zout.addEventListener("click", function () { setZoom(zoom - 1); });
  close.addEventListener("click", shut);
  img.addEventListener("click", function () { setZoom(zoom === 0 ? 1 : 0); });
  img.addEventListener("load", function () { if (zoom > 0) setZoom(zoom); });

  copy.addEventListener("click", function () {
    var ok = grid.getAttribute("data-lb-copied");
    var bad = grid.getAttribute("data-lb-copy-failed");
    // The promise goes to ClipboardItem at once, so the click's user
    // activation still counts when the fetch ends (Safari needs that).
    var blob = fetch(img.src, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.blob();
    }).then(function (b) { return new Blob([b], { type: "image/png" }); });
    navigator.clipboard.write([new window.ClipboardItem({ "image/png": blob })])
      .then(function () { status.textContent = ok; },
            function () { status.textContent = bad; });
  });

  document.addEventListener("keydown", function (e) {
    if (box.hidden) return;
    switch (e.key) {
    case "Escape": shut(); break;
    case "ArrowLeft": show(at - 1); break;
    case "ArrowRight": show(at + 1); break;
    case "+": case "=": setZoom(zoom + 1); break;
    case "-": case "_": setZoom(zoom - 1); break;
    default: return;
    }
    e.preventDefault();
  });
})();
