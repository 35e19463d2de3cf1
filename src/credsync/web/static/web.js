// credsync dashboard: the one script. A run page under way polls its progress and reloads
// when the run has finished (without JavaScript, a meta refresh does the same).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var count = box.querySelector("[data-progress-items]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(poll, 2000); return; }
        if (count) { count.textContent = String(p.items); }
        if (p.state !== "running") { window.location.reload(); return; }
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();

// The directory setup form: only the chosen kind's fields are shown (without JavaScript both
// are, and the server reads only the chosen kind's); an error summary takes the focus.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  var radios = document.querySelectorAll("input[name='kind']");
  var groups = document.querySelectorAll("fieldset[data-kind]");
  if (!radios.length) { return; }
  var hint = document.querySelector("[data-kind-hint]");
  if (hint) { hint.hidden = true; }  // only the chosen kind's settings are shown
  function show() {
    var chosen = document.querySelector("input[name='kind']:checked");
    groups.forEach(function (g) {
      g.hidden = !!chosen && g.getAttribute("data-kind") !== chosen.value;
    });
  }
  radios.forEach(function (r) { r.addEventListener("change", show); });
  show();
})();

// A revealed password: a Copy button beside it, and hidden again after a while (the page
// says how long: data-hide-after on [data-hide-note]). Copying goes through the Clipboard
// API, else the selection; when the password is hidden, the clipboard is emptied too if it
// still holds what was copied from this page (where the browser lets the page read it).
// Without JavaScript the password stays on the page until it is left, with a Hide link.
(function () {
  "use strict";
  var secrets = document.querySelectorAll("[data-secret]");
  var note = document.querySelector("[data-hide-note]");
  if (!secrets.length || !note) { return; }
  var copied = null;

  function copyText(text, from) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var range = document.createRange();
      range.selectNodeContents(from);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var done = document.execCommand("copy");
      selection.removeAllRanges();
      if (done) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var from = document.getElementById(button.getAttribute("data-copy"));
    if (!from) { return; }
    var label = button.innerHTML;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = from.textContent;
      copyText(text, from).then(function () {
        copied = text;
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Copy failed: select the text";
      });
      setTimeout(function () { button.innerHTML = label; }, 2000);
    });
  });

  function emptyClipboard() {
    if (copied === null || !navigator.clipboard || !navigator.clipboard.readText) { return; }
    var mine = copied;
    copied = null;
    navigator.clipboard.readText().then(function (now) {
      if (now === mine) { return navigator.clipboard.writeText(""); }
      return null;
    }).catch(function () { /* not allowed to read it: left as it is */ });
  }

  function hide() {
    secrets.forEach(function (secret) {
      secret.textContent = "••••••••";
      secret.removeAttribute("data-secret");
      secret.classList.add("hidden-again");
    });
    document.querySelectorAll("button[data-copy]").forEach(function (b) { b.remove(); });
    note.hidden = true;
    var hidden = document.querySelector("[data-hidden-note]");
    if (hidden) { hidden.hidden = false; }
    emptyClipboard();
  }

  var seconds = parseInt(note.getAttribute("data-hide-after"), 10) || 30;
  note.hidden = false;
  setTimeout(hide, seconds * 1000);
})();
