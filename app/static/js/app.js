/* Small progressive enhancements; every page works without this file. No inline scripts. */
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (deactivate, reset, delete...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // After an htmx swap, focus the element marked data-autofocus inside the new content.
  document.addEventListener("htmx:afterSettle", function (event) {
    var el = event.target.querySelector && event.target.querySelector("[data-autofocus]");
    if (el) { el.focus(); if (el.select) { el.select(); } }
  });
})();
