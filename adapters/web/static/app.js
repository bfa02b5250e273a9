// Progressive enhancement only: every page works without this file.
// [data-poll="URL"][data-every="seconds"]: replace the element's content with URL's HTML fragment.
// form[data-confirm="text"]: ask before submitting.
"use strict";
(function () {
  function poll(el) {
    var every = Math.max(2, Number(el.dataset.every || 5)) * 1000;
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(el.dataset.poll, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) { el.innerHTML = html; el.dataset.updated = String(Date.now()); }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  });
})();
