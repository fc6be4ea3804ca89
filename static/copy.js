// copy.js - copy buttons beside secrets and links (a new API key, an
// invite code, a webhook secret, a share link): a button
// <button class="copy" data-copy="ID" data-done="Copied" hidden> copies
// the text of the element with that id. The buttons are hidden in the
// HTML and shown here, so a page without scripts has none that do
// nothing; the text itself stays selectable (user-select: all). The
// words come from the template (data-done), so they are translated.
//
// The same script fills the browser's time zone into the forms that ask
// for it (class "browser-tz": a hidden field on /register, the time zone
// select on /account while the user has chosen none).
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-done") || label;
    button.classList.add("done");
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("done");
    }, 2000);
  }

  // Without the asynchronous clipboard (an insecure context), the text
  // is selected so that Ctrl+C takes it.
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function copy(button) {
    var el = document.getElementById(button.getAttribute("data-copy"));
    if (!el) return;
    // innerText keeps a list's items on lines of their own (the
    // recovery codes); textContent would run them together.
    var text = (el.innerText || el.textContent).trim();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () {
        copied(button);
      }, function () {
        select(el);
      });
    } else {
      select(el);
    }
  }

  var buttons = document.querySelectorAll("button.copy[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function (ev) {
      copy(ev.currentTarget);
    });
  }

  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    zone = "";
  }
  if (zone) {
    var fields = document.querySelectorAll(".browser-tz");
    for (var k = 0; k < fields.length; k++) {
      var f = fields[k];
      if (f.tagName === "SELECT") {
        for (var o = 0; o < f.options.length; o++)
          if (f.options[o].value === zone) f.selectedIndex = o;
      } else {
        f.value = zone;
      }
    }
  }
})();
