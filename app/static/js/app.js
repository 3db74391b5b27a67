/* Small progressive enhancements; every page works without this file. No inline scripts. */
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (deactivate, reset, delete...); a button's own
  // data-confirm is asked when that button submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
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

/* Walk-in form: when the NIK check answers, fill birth date and gender from the NIK unless typed by hand. */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var info = event.target.querySelector && event.target.querySelector("[data-nik-birth]");
    if (!info) { return; }
    var birth = document.getElementById("birth_date");
    if (birth && (!birth.value || birth.getAttribute("data-autofilled") === "1")) {
      birth.value = info.getAttribute("data-nik-birth");
      birth.setAttribute("data-autofilled", "1");
    }
    var gender = document.querySelector('input[name="gender"][value="' + info.getAttribute("data-nik-gender") + '"]');
    if (gender) { gender.checked = true; }
  });
  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "birth_date") { event.target.removeAttribute("data-autofilled"); }
  });
})();

/* Logging out leaves nothing personal in this browser: roster pages kept for a lost connection and
   marks not yet sent are cleared (the server also sends Clear-Site-Data). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.getAttribute || !/\/keluar(-semua)?$/.test(form.getAttribute("action") || "")) { return; }
    var queue = document.getElementById("roster-queue");
    if (queue && !queue.hidden && !window.confirm("Ada tanda kehadiran yang belum terkirim. Jika keluar sekarang, tanda itu hilang. Tetap keluar?")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (window.caches) { window.caches.keys().then(function (keys) { keys.forEach(function (k) { window.caches["delete"](k); }); }); }
    if (window.indexedDB) { window.indexedDB.deleteDatabase("okoce-roster"); }
  }, true);
})();
