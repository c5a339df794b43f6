/* The field page on a phone: the moves are sent without a reload (the page's own forms, answered with the page),
   a new assignment shows a banner, vibrates and (when allowed) notifies, the page follows the event stream and
   polls /field/state.json when the stream is not there, and "Share my position" sends the phone's position to
   the units API at most every 15 s, or at once after 50 m. */
(function () {
  "use strict";
  var root = document.getElementById("field");
  var dataEl = document.getElementById("field-data");
  if (!root || !dataEl) { return; }
  var T = (JSON.parse(dataEl.textContent || "{}").texts) || {};
  var csrf = root.dataset.csrf;
  var unit = root.dataset.unit || "";
  var stateUrl = root.dataset.stateUrl;
  var pollMs = Math.max(1000, parseInt(root.dataset.pollMs, 10) || 10000);
  var SEND_EVERY_MS = 15000, SEND_AFTER_M = 50, SHARE_KEY = "kgys-field-share:" + unit;
  var etag = null, seq = 0, socket = null, socketLive = false, retry = 1000, pollTimer = null;
  var known = ids(document);
  var link = document.getElementById("field-link");

  function ids(scope) {
    return Array.from(scope.querySelectorAll("[data-assignment]")).map(function (el) { return el.dataset.assignment; });
  }

  function setLink(state) {
    if (!link) { return; }
    link.dataset.state = state;
    link.textContent = state === "live" ? T.live : state === "polling" ? T.polling : T.offline;
  }

  function localTimes(scope) {
    scope.querySelectorAll("time[datetime]").forEach(function (t) {
      t.textContent = window.kgysTime.time(t.getAttribute("datetime"));
    });
  }

  /* ---- a new assignment: banner, vibration, notification ---- */
  var banner = document.getElementById("field-banner");
  var bannerText = document.getElementById("field-banner-text");
  document.getElementById("field-banner-close").addEventListener("click", function () { banner.hidden = true; });

  function announce(section) {
    var text = T.new_assignment + ": " + T.incident + " " + section.dataset.incident;
    var prio = section.querySelector(".field-prio");
    if (prio) { text += " · " + prio.textContent.replace(/\s+/g, " ").trim(); }
    bannerText.textContent = text;
    banner.hidden = false;
    banner.dataset.assignment = section.dataset.assignment;
    if (navigator.vibrate) { try { navigator.vibrate([400, 150, 400, 150, 400]); } catch (e) { /* not allowed */ } }
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification(T.new_assignment, { body: text, silent: true, tag: "kgys-field" }); } catch (e) { /* mobile: none */ }
    }
  }

  var notifyBtn = document.getElementById("field-notify");
  if (notifyBtn && "Notification" in window && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyBtn.hidden = true; });
    });
  }

  /* ---- the page's live part, replaced by the server's rendering of it ---- */
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("field-live");
    var current = document.getElementById("field-live");
    if (!fresh || !current) { return false; }
    current.replaceWith(fresh);
    localTimes(fresh);
    var now = ids(fresh);
    now.forEach(function (id) {
      if (known.indexOf(id) < 0) { announce(fresh.querySelector("[data-assignment='" + id + "']")); }
    });
    if (banner.dataset.assignment && now.indexOf(banner.dataset.assignment) < 0) { banner.hidden = true; }
    known = now;
    return true;
  }

  function reloadPart() {
    return fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=/field"; return; }
      return r.text().then(swap);
    });
  }

  function check() {
    var headers = etag ? { "If-None-Match": etag } : {};
    return fetch(stateUrl, { credentials: "same-origin", headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=/field"; return; }
      if (r.status === 304) { if (!socketLive) { setLink("polling"); } return; }
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json().then(function (s) {
        if (!socketLive) { setLink("polling"); }
        var live = document.getElementById("field-live");
        var changed = live && live.dataset.version !== s.version;
        etag = '"' + s.version + '"';
        if (typeof s.seq === "number" && !seq) { seq = s.seq; }
        if (changed) { return reloadPart(); }
      });
    }).catch(function () { if (!socketLive) { setLink("offline"); } });
  }

  var soonTimer = null;
  function soon() {  /* a burst of events makes one check */
    if (soonTimer === null) { soonTimer = setTimeout(function () { soonTimer = null; check(); }, 300); }
  }

  function schedule() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(function () { check().then(schedule, schedule); }, socketLive ? pollMs * 6 : pollMs);
  }

  /* ---- the event stream; the polling above carries on (slower) while it is live ---- */
  function connect() {
    if (!("WebSocket" in window)) { return; }
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(proto + location.host + "/api/v1/events/stream?after=" + seq + "&topics=unit,assignment");
    } catch (e) { return; }
    socket.onopen = function () { socketLive = true; retry = 1000; setLink("live"); schedule(); };
    socket.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "event") { if (msg.seq) { seq = msg.seq; } soon(); }
      else if (msg.type === "resync") { soon(); }
    };
    socket.onclose = function (e) {
      var was = socketLive;
      socketLive = false;
      if (e.code === 4401) { location.href = "/login?next=/field"; return; }
      if (was) { setLink("polling"); schedule(); }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }

  /* ---- moves without a reload: the form is sent as it is, the answer is the page ---- */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.closest || !form.closest("#field-live") || (form.method || "").toLowerCase() !== "post") { return; }
    e.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)),
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=/field"; return; }
      return r.text().then(function (html) {
        if (!swap(html)) { form.submit(); }
      });
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      setLink("offline");
    });
  });

  /* ---- sharing the phone's position ---- */
  var share = document.getElementById("field-share");
  var posState = document.getElementById("field-position-state");
  var posError = document.getElementById("field-position-error");
  var watchId = null, fixTimer = null, lastSent = null, lastSentAt = 0, sending = false;

  function metres(a, b) {
    var R = 6371000, rad = Math.PI / 180;
    var dLat = (b.latitude - a.latitude) * rad, dLon = (b.longitude - a.longitude) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad)
      * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function problem(text) { posError.textContent = text || ""; }

  function send(c, at) {
    sending = true;
    var body = { latitude: c.latitude, longitude: c.longitude, reported_at: new Date(at).toISOString() };
    if (typeof c.accuracy === "number" && isFinite(c.accuracy)) { body.accuracy_m = Math.min(c.accuracy, 100000); }
    fetch("/api/v1/units/" + encodeURIComponent(unit) + "/position", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.ok) {
          lastSent = { latitude: c.latitude, longitude: c.longitude };
          lastSentAt = Date.now();
          root.dataset.lastSent = new Date(lastSentAt).toISOString();
          posState.textContent = T.sharing_on + " · " + T.last_sent + " "
            + window.kgysTime.time(lastSentAt, true);
          problem("");
          return;
        }
        var err = j.error || {};
        var fields = (err.fields || []).map(function (f) { return f.field; });
        if (r.status === 422 && (fields.indexOf("latitude") >= 0 || fields.indexOf("longitude") >= 0)) {
          problem(T.outside);
        } else {
          problem(T.rejected + ": " + (err.message || r.status));
        }
      });
    }).catch(function () { problem(T.failed); }).then(function () { sending = false; });
  }

  function onFix(pos) {
    if (!share.checked || sending) { return; }
    var c = pos.coords;
    var due = !lastSent || Date.now() - lastSentAt >= SEND_EVERY_MS || metres(lastSent, c) >= SEND_AFTER_M;
    if (due) { send(c, pos.timestamp || Date.now()); }
  }

  function onGeoError(err) {
    if (err && err.code === 1) { problem(T.denied); stop(); share.checked = false; return; }
    problem(err && err.code === 3 ? T.timeout : T.unavailable);
  }

  function start() {
    if (!navigator.geolocation) { problem(T.unsupported); share.checked = false; return; }
    var opts = { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 };
    posState.textContent = T.waiting_fix;
    problem("");
    watchId = navigator.geolocation.watchPosition(onFix, onGeoError, opts);
    fixTimer = setInterval(function () {
      navigator.geolocation.getCurrentPosition(onFix, onGeoError, { enableHighAccuracy: true, maximumAge: SEND_EVERY_MS, timeout: 30000 });
    }, SEND_EVERY_MS);
    try { localStorage.setItem(SHARE_KEY, "1"); } catch (e) { /* private mode */ }
  }

  function stop() {
    if (watchId !== null && navigator.geolocation) { navigator.geolocation.clearWatch(watchId); }
    clearInterval(fixTimer);
    watchId = null; fixTimer = null;
    posState.textContent = T.sharing_off;
    try { localStorage.removeItem(SHARE_KEY); } catch (e) { /* private mode */ }
  }

  if (share && posState && posError && unit) {
    share.disabled = false;
    posState.textContent = T.sharing_off;
    share.addEventListener("change", function () { if (share.checked) { start(); } else { stop(); } });
    var again = false;
    try { again = localStorage.getItem(SHARE_KEY) === "1"; } catch (e) { again = false; }
    if (again) { share.checked = true; start(); }
  }

  window.kgysField = { check: check, pollMs: function () { return pollMs; } };
  localTimes(document);
  if (unit) {
    setLink("polling");
    check().then(function () { schedule(); connect(); });
  }
}());
