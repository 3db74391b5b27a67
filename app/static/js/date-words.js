/* Each date input shows the chosen date in words ("7 Desember 1993") in the element that names it with
   data-date-words-for, so a date typed as 07/12/1993 cannot be misread. The server writes the words
   for the value it rendered; this keeps them in step while the user types or picks. */
(function () {
  "use strict";
  var MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                "Oktober", "November", "Desember"];

  function inWords(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!m) { return ""; }
    var year = parseInt(m[1], 10), month = parseInt(m[2], 10), day = parseInt(m[3], 10);
    var check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
      return "";
    }
    return day + " " + MONTHS[month - 1] + " " + year;
  }

  function update(input) {
    if (!input || !input.id) { return; }
    var words = document.querySelector('[data-date-words-for="' + input.id + '"]');
    if (!words) { return; }
    var text = inWords(input.value);
    if (words.textContent !== text) { words.textContent = text; }
  }

  function onChange(event) {
    var input = event.target;
    if (input && input.type === "date") { update(input); }
  }

  document.addEventListener("input", onChange);
  document.addEventListener("change", onChange);

  // After a swap or a restored page, the words follow whatever the inputs now hold.
  function refreshAll() {
    var all = document.querySelectorAll("[data-date-words-for]");
    for (var i = 0; i < all.length; i++) { update(document.getElementById(all[i].getAttribute("data-date-words-for"))); }
  }
  document.addEventListener("htmx:afterSettle", refreshAll);
  window.addEventListener("pageshow", refreshAll);
  refreshAll();
})();
