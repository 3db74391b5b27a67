/* Bulk pages (event sign-up, course enrolment): "pilih semua", a live "N dipilih dari M tempat tersisa",
   and no submitting over the places left. The server refuses over capacity too; this only spares the trip.

   <form data-bulk-select data-places="M">            M: places left (seats, booths); none: no limit
     <input type="checkbox" data-select-all>            ticks/unticks every enabled row checkbox
     <input type="checkbox" name="participant_id">      the rows (disabled ones are never ticked)
     <span data-selected-count></span>                  "N dipilih dari M tempat tersisa"
     <p data-over-capacity hidden></p>                  the message shown while over capacity
     <input type="checkbox" data-allow-overflow>        optional: over capacity allowed (waiting list)
     <button type="submit" data-bulk-submit>            disabled while nothing is ticked or over capacity
*/
(function () {
  "use strict";

  function rows(form) {
    return Array.prototype.filter.call(form.querySelectorAll('input[type="checkbox"][name="participant_id"]'),
      function (box) { return !box.disabled; });
  }

  function angka(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }

  function update(form) {
    var boxes = rows(form);
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    var places = parseInt(form.getAttribute("data-places"), 10);
    var overflow = form.querySelector("[data-allow-overflow]");
    var over = !isNaN(places) && chosen > places && !(overflow && overflow.checked);
    var counter = form.querySelector("[data-selected-count]");
    if (counter) {
      counter.textContent = angka(chosen) + " dipilih" + (isNaN(places) ? "" : " dari " + angka(places) + " tempat tersisa");
    }
    var all = form.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
    var message = form.querySelector("[data-over-capacity]");
    if (message) {
      message.hidden = !over;
      message.textContent = over ? "Terlalu banyak dipilih: " + angka(chosen) + " dipilih, sisa tempat " + angka(places)
        + ". Kurangi " + angka(chosen - places) + " pilihan." : "";
    }
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-submit]"), function (button) {
      button.disabled = over || chosen === 0;
    });
  }

  function init(form) {
    update(form);
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.hasAttribute && target.hasAttribute("data-select-all")) {
        // Everyone is ticked on request; over the places left the counter and message say so.
        rows(form).forEach(function (box) { box.checked = target.checked; });
      }
      update(form);
    });
    form.addEventListener("submit", function (event) {
      update(form);
      var button = form.querySelector("[data-bulk-submit]");
      if (button && button.disabled) { event.preventDefault(); }
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-bulk-select]"), init);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
