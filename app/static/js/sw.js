/* Service worker: a roster or check-in page (a meeting's or an event's) opened before the session
   still shows when the connection is gone. Only those pages (and the static files they use) are kept, network first;
   every other request goes straight to the network. Logging out clears what is kept
   (Clear-Site-Data from the server, and logout.js). */
"use strict";
var CACHE = "okoce-roster-v1";
// A meeting's roster and check-in; an event's attendance list (kehadiran) and check-in.
var PAGES = /^\/(pertemuan\/\d+(\/check-in)?|acara\/\d+\/(kehadiran|check-in))$/;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function kept(url) {
  return url.origin === self.location.origin && (PAGES.test(url.pathname) || url.pathname.indexOf("/static/") === 0);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || request.headers.get("HX-Request")) { return; }  // fragments: network only
  var url = new URL(request.url);
  if (!kept(url)) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (found) { return found || Response.error(); });
  }));
});
