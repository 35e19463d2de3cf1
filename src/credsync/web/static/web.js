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
  function show() {
    var chosen = document.querySelector("input[name='kind']:checked");
    groups.forEach(function (g) {
      g.hidden = !!chosen && g.getAttribute("data-kind") !== chosen.value;
    });
  }
  radios.forEach(function (r) { r.addEventListener("change", show); });
  show();
})();
