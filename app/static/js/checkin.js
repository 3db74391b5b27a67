/* QR check-in: read the card's QR code (the registration number) with the phone camera, then
   submit the same form a desk officer would type into. Needs HTTPS or localhost for the camera.

   The browser's own BarcodeDetector reads the code where it has one (Chrome on Android, Safari);
   elsewhere the vendored barcode-detector polyfill (ZXing compiled to WebAssembly) stands in for
   it, its .wasm served by this app (data-wasm on the button), never fetched from another host. */
(function () {
  "use strict";
  var button = document.getElementById("start-scan");
  var form = document.getElementById("checkin-form");
  if (!button || !form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  var polyfill = window.BarcodeDetectionAPI;
  if (polyfill && polyfill.prepareZXingModule && button.getAttribute("data-wasm")) {
    // Where the browser has no detector of its own, the polyfill's reader is fetched and compiled
    // as the page opens (not at the first scan), so the camera still reads cards after the
    // connection is gone; the service worker keeps the file for a page reopened offline.
    var own = typeof window.BarcodeDetector === "function" &&
      /\[native code\]/.test(Function.prototype.toString.call(window.BarcodeDetector));
    var ready = polyfill.prepareZXingModule({ fireImmediately: !own, overrides: { locateFile: function (path, prefix) {
      return /\.wasm$/.test(path) ? button.getAttribute("data-wasm") : prefix + path;
    } } });
    if (ready && ready.catch) { ready.catch(function () {}); }  // offline and never kept: typing still works
  }
  if (typeof window.BarcodeDetector === "undefined") { return; }
  button.hidden = false;

  var box = document.getElementById(button.getAttribute("data-scanner-target"));
  var help = document.getElementById("scan-help");
  var label = button.textContent;
  var detector = null;
  var stream = null;
  var timer = null;
  var busy = false;
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

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    box.hidden = true;
    box.textContent = "";
    button.textContent = label;
  }

  function look(video) {  // one frame at a time: a slow phone skips frames instead of queueing them
    if (busy || video.readyState < 2) { return; }
    busy = true;
    detector.detect(video).then(function (codes) {
      busy = false;
      if (codes.length) { onScan(codes[0].rawValue); }
    }, function () { busy = false; });
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (media) {
      stream = media;
      detector = detector || new window.BarcodeDetector({ formats: ["qr_code"] });
      var video = document.createElement("video");
      video.setAttribute("playsinline", "");
      video.muted = true;
      video.srcObject = media;
      box.textContent = "";
      box.appendChild(video);
      box.hidden = false;
      video.play();
      timer = setInterval(function () { look(video); }, 125);
      button.textContent = "Hentikan kamera";
    }).catch(function () {
      stop();
      help.textContent = "Kamera tidak dapat dibuka di perangkat ini. Ketik nomor pendaftaran di bawah.";
    });
  });
  window.addEventListener("pagehide", stop);
})();
