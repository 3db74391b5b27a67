/* Roster marks that survive a lost connection, on every roster (a meeting's, an event's) and its
   check-in page; a roster's mark buttons say the status they show in data-mark.

   A tap shows at once, is stored in the browser (IndexedDB) with an id of its own and the time it
   was made, and is sent in order; while the connection is down the marks wait ("N tanda belum
   terkirim") and go out when it returns, or with "Kirim sekarang". The id travels as the form's
   one-time token, which the server claims once in its database: a replay applies nothing twice.
   The later mark by the time it was made wins on the server, so a mark sent late never undoes a
   newer one. Without this script the roster works as before (htmx, or a plain form post). */
(function () {
  "use strict";
  // Loaded on every page, so marks left by a roster page are sent from wherever the user went next.
  if (!window.indexedDB || !window.fetch || !window.crypto) { return; }
  var onRoster = document.querySelector("form[data-offline-queue]");
  var box = document.getElementById("roster-queue");
  var DB_NAME = "okoce-roster";
  var STORE = "marks";
  var sending = false;
  var failed = false;  // the last send found no connection: the counters then include the marks waiting
  var refused = false; // a mark was answered without a row (403, 404, 409): the screen may be wrong
  var queue = [];      // the marks waiting, oldest first
  var waiting = {};    // row id -> status of its newest mark not yet sent (for the screen)

  // The status a mark shows on its row: its button's data-mark (or the value of a "status" button).
  function shown(mark) { return mark.shows || mark.fields.status; }

  function request(mode, work) {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "id" }); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var db = open.result;
        var tx = db.transaction(STORE, mode);
        var req = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function allMarks() { return request("readonly", function (s) { return s.getAll(); }); }
  function keep(mark) { return request("readwrite", function (s) { return s.put(mark); }); }
  function drop(id) { return request("readwrite", function (s) { return s["delete"](id); }); }

  function newId() {
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function statusOf(row) {
    var match = /(?:^|\s)is-([a-z_]+)(?:\s|$)/.exec(row.className.replace(/\bis-pending\b/, ""));
    return match ? match[1] : "belum";
  }
  function addToCounter(status, delta) {
    var cell = document.querySelector("#roster-counts .c-" + status + " strong");
    if (cell) { cell.textContent = String(Math.max(0, parseInt(cell.textContent.replace(/\D/g, ""), 10) + delta)); }
  }
  // Online, the counters are the server's. Offline, they also count this device's waiting marks
  // (each mark knows the status it replaced), so they still equal the rows on screen.
  function countWaiting(marks) {
    var counters = document.getElementById("roster-counts");
    if (!failed || !counters) { return; }
    var fresh = !counters.hasAttribute("data-local");
    (fresh ? queue : marks).forEach(function (m) {
      if (m.row && m.before !== shown(m)) { addToCounter(m.before, -1); addToCounter(shown(m), 1); }
    });
    counters.setAttribute("data-local", "1");
  }
  function showWaiting(row, status) {
    if (!row) { return; }
    row.className = row.className.replace(/\bis-[a-z_]+\b/g, "").trim() + " is-" + status + " is-pending";
    row.querySelectorAll("button[data-mark]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-mark") === status ? "true" : "false");
    });
    if (!row.querySelector(".pending-tag")) {
      var tag = document.createElement("span");
      tag.className = "tag pending-tag";
      tag.textContent = "belum terkirim";
      var who = row.querySelector(".roster-who span:last-child");
      if (who) { who.appendChild(tag); }
    }
  }
  function showQueue(count) {
    if (!box) { return; }
    box.hidden = count === 0;
    var n = box.querySelector("[data-queue-count]");
    if (n) { n.textContent = String(count); }
  }
  function showSent(row) {
    row.classList.remove("is-pending");
    row.querySelectorAll(".pending-tag").forEach(function (tag) { tag.remove(); });
  }
  function paint() {
    document.querySelectorAll(".roster-row.is-pending").forEach(function (row) {
      if (!waiting[row.id]) { showSent(row); }
    });
    Object.keys(waiting).forEach(function (id) { showWaiting(document.getElementById(id), waiting[id]); });
  }
  function refresh() {
    return allMarks().then(function (marks) {
      queue = marks.sort(function (a, b) { return a.at - b.at; });
      waiting = {};
      queue.forEach(function (m) { if (m.row) { waiting[m.row] = shown(m); } });
      paint();
      countWaiting([]);
      showQueue(queue.length);
      return queue;
    });
  }

  // The server's answer: the row as it now stands (or a check-in's result) and the counters (out of band).
  function apply(html, mark) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    var result = document.getElementById("checkin-result");
    if (mark.fields.reg_number !== undefined) {
      var counters = holder.content.getElementById("roster-counts");
      if (counters) { counters.remove(); }
      if (result) { result.innerHTML = holder.innerHTML; if (window.htmx) { window.htmx.process(result); } }
      if (!counters) { return; }
      holder.innerHTML = "";
      holder.content.appendChild(counters);
    }
    holder.content.querySelectorAll("li.roster-row, #roster-counts, #roster-poll").forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (!old) { return; }
      fresh.removeAttribute("hx-swap-oob");
      old.replaceWith(fresh);
      if (window.htmx) { window.htmx.process(fresh); }
    });
  }

  function send(mark) {
    var body = new URLSearchParams();
    body.set("csrf_token", csrfToken());
    body.set("_once", mark.id);
    Object.keys(mark.fields).forEach(function (name) { body.set(name, mark.fields[name]); });
    body.set("marked_at", String(mark.at));
    // The revision this screen shows, when it is the roster the mark was made on (outside the form:
    // a resent mark stays the same request); the answer then brings every row changed since, so
    // rows and counters agree.
    var poll = document.getElementById("roster-poll");
    var same = poll && mark.row && mark.page === window.location.pathname;
    var url = mark.url + (same ? "?sejak=" + poll.getAttribute("data-revision") : "");
    // keepalive: a mark sent just before the user leaves the page still arrives.
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
                             keepalive: true, headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() } })
      .then(function (response) {
        failed = false;
        if (response.type === "opaqueredirect" || response.status === 401) {
          throw new Error("session");  // signed out meanwhile: keep the marks, say so
        }
        if (response.status >= 500 || response.status === 429 || response.status === 408) {
          throw new Error("later");
        }
        return response.text().then(function (html) {
          if (response.ok || response.status === 422) {
            apply(html, mark);
          } else {
            refused = true;  // no row to show (e.g. the enrolment is gone): the page shows the database again
          }
          // Answered (applied, refused with a reason on the row, or already sent): no longer waiting.
          return drop(mark.id).then(refresh);
        });
      });
  }

  function flush() {
    if (sending) { return Promise.resolve(); }
    sending = true;
    return allMarks().then(function (marks) {
      var chain = Promise.resolve();
      marks.sort(function (a, b) { return a.at - b.at; }).forEach(function (m) {
        chain = chain.then(function () { return send(m); });
      });
      return chain;
    }).then(function () { return "sent"; }, function (error) {
      // No connection (fetch's TypeError), signed out, or the server busy: the marks wait.
      if (error && error.name === "TypeError") { failed = true; }
      return "stopped";
    }).then(function (how) {
      sending = false;
      if (refused && onRoster) { window.location.reload(); return undefined; }
      return refresh().then(function (left) {
        // Marks tapped while this round was sending go out at once, not at the next retry.
        if (how === "sent" && left.length) { return flush(); }
      });
    });
  }

  // A tap: shown now, kept in the browser, then sent (capture phase: htmx does not send it too).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var mark;
    if (!form.hasAttribute || !form.hasAttribute("data-offline-queue")) { return; }  // only the forms that say so
    if (form.classList.contains("roster-marks")) {
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-mark")) { return; }
      var row = form.closest(".roster-row");
      var fields = {};
      fields[button.name] = button.value;
      mark = { id: newId(), url: form.getAttribute("action"), fields: fields, shows: button.getAttribute("data-mark"),
               at: Date.now(), page: window.location.pathname, row: row ? row.id : "",
               before: row ? statusOf(row) : "belum" };
      showWaiting(row, mark.shows);
      queue.push(mark);
      countWaiting([mark]);
    } else if (form.id === "checkin-form") {
      // A check-in (typed or scanned): kept like a tap; its result shows when the server has answered.
      var input = form.querySelector("[name=reg_number]");
      var number = input.value.trim();
      if (!number) { return; }
      mark = { id: newId(), url: form.getAttribute("action"), fields: { reg_number: number }, at: Date.now(), row: "" };
      input.value = "";
      var result = document.getElementById("checkin-result");
      if (result) {
        result.innerHTML = "";
        var note = document.createElement("p");
        note.className = "notice";
        note.textContent = number + " tersimpan di perangkat ini; hasilnya tampil setelah terkirim.";
        result.appendChild(note);
      }
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    keep(mark).then(refresh).then(flush);
  }, true);

  // Rows swapped in by the polling keep showing a mark of this device not yet sent.
  document.addEventListener("htmx:afterSettle", function () { paint(); countWaiting([]); });
  if (box) {
    var button = box.querySelector("[data-queue-send]");
    if (button) { button.addEventListener("click", flush); }
  }
  window.addEventListener("online", flush);
  window.setInterval(function () { if (queue.length) { flush(); } }, 10000);
  refresh().then(flush);

  // The roster and check-in pages (and only they) are kept for a lost connection by a small service worker.
  if (onRoster && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the page works without it */ });
  }
})();
