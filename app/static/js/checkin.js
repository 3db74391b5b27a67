/* QR check-in: read the card's QR code (the registration number) with the phone camera, then
   submit the same form a desk officer would type into. Needs HTTPS or localhost for the camera. */
(function () {
  "use strict";
  var button = document.getElementById("start-scan");
  var form = document.getElementById("checkin-form");
  if (!button || !form || typeof Html5Qrcode === "undefined" || !navigator.mediaDevices) { return; }
  button.hidden = false;
  var scanner = null;
  var last = "";
  var lastAt = 0;

  function onScan(text) {
    var now = Date.now();
    if (text === last && now - lastAt < 4000) { return; }  // the same card stays in view: once is enough
    last = text; lastAt = now;
    var input = document.getElementById(button.getAttribute("data-scanner-input"));
    input.value = String(text).trim();
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  button.addEventListener("click", function () {
    var box = document.getElementById(button.getAttribute("data-scanner-target"));
    if (scanner) {
      scanner.stop().then(function () { scanner = null; box.hidden = true; button.textContent = "Pindai kartu dengan kamera"; });
      return;
    }
    box.hidden = false;
    scanner = new Html5Qrcode(box.id);
    var box = function (w, h) { var s = Math.floor(Math.min(w, h) * 0.8); return { width: s, height: s }; };
    scanner.start({ facingMode: "environment" }, { fps: 8, qrbox: box }, onScan, function () {})
      .then(function () { button.textContent = "Hentikan kamera"; })
      .catch(function () {
        scanner = null; box.hidden = true;
        document.getElementById("scan-help").textContent =
          "Kamera tidak dapat dibuka di perangkat ini. Ketik nomor pendaftaran di bawah.";
      });
  });
})();
