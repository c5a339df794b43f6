/* The operator's console: the open alerts live (queue read once, then the event stream over a WebSocket with
   replay after a reconnect), the chosen alert on the map with its accuracy circle and its site's card (with its
   lockdown state, the Lockdown / All clear orders and its floor plans), and the operator's moves by button or key. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  var dataEl = document.getElementById("console-data");
  if (!root || !dataEl) { return; }
  var cfg = JSON.parse(dataEl.textContent || "{}");
  var T = cfg.texts || {};
  var csrf = root.dataset.csrf;
  var alerts = new Map();
  var seq = 0, selected = null, socket = null, retry = 500;
  var list = document.getElementById("queue");
  var link = document.getElementById("console-link");
  var card = document.getElementById("alert-card");
  var errorEl = document.getElementById("card-error");
  var OPEN = { "new": 1, claimed: 1, acknowledged: 1, dispatched: 1 };

  var map = null, marker = null, circle = null;
  if (typeof L !== "undefined") {
    map = L.map("console-map", { zoomControl: true, attributionControl: Boolean(cfg.tile_url) });
    if (cfg.tile_url) { L.tileLayer(cfg.tile_url, { maxZoom: 19 }).addTo(map); }
    map.setView([39.0, 35.0], 5);
  }

  var outcome = document.getElementById("card-outcome");
  Object.keys(T.outcomes || {}).forEach(function (k) {
    var o = document.createElement("option"); o.value = k; o.textContent = T.outcomes[k]; outcome.appendChild(o);
  });

  function setLink(state) {
    link.dataset.state = state;
    link.textContent = state === "live" ? T.connected : T.reconnecting;
  }

  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no sound where the browser allows none */ }
  }

  function order(a, b) {
    return a.priority - b.priority || (a.received_at < b.received_at ? -1 : a.received_at > b.received_at ? 1 : a.id - b.id);
  }

  function render() {
    var items = Array.from(alerts.values()).sort(order);
    list.textContent = "";
    if (!items.length) {
      var empty = document.createElement("li"); empty.className = "empty muted"; empty.textContent = T.empty;
      list.appendChild(empty);
    }
    items.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "queue-item prio-" + a.priority + (a.id === selected ? " selected" : "") + (a.drill ? " drill" : "");
      li.dataset.alert = a.id; li.dataset.state = a.state; li.dataset.priority = a.priority;
      li.tabIndex = 0;
      var head = document.createElement("div");
      head.className = "queue-head";
      head.textContent = "P" + a.priority + " · " + ((T.kinds || {})[a.kind] || a.kind);
      var where = document.createElement("div");
      where.textContent = a.site_name ? a.site_name + " (" + a.site + ")" : (a.district || T.installation);
      var meta = document.createElement("div");
      meta.className = "muted small-text";
      meta.textContent = ((T.sources || {})[a.source] || a.source) + " · " + ((T.states || {})[a.state] || a.state)
        + (a.claimed_by ? " · " + T.taken_by + " " + a.claimed_by : "")
        + (a.repeats > 1 ? " · ×" + a.repeats : "") + " · " + window.kgysTime.time(a.received_at, true);
      li.appendChild(head); li.appendChild(where); li.appendChild(meta);
      li.addEventListener("click", function () { choose(a.id); });
      list.appendChild(li);
    });
    showCard();
  }

  function showCard() {
    var a = selected !== null ? alerts.get(selected) : null;
    card.hidden = !a;
    if (!a) { return; }
    document.getElementById("card-title").textContent = "P" + a.priority + " · " + ((T.kinds || {})[a.kind] || a.kind) + " #" + a.id;
    document.getElementById("card-meta").textContent = ((T.sources || {})[a.source] || a.source) + " · "
      + ((T.states || {})[a.state] || a.state) + (a.claimed_by ? " · " + T.taken_by + " " + a.claimed_by : "");
    document.getElementById("card-details").textContent = a.text || a.details || "";
    document.getElementById("card-link").href = "/alerts/" + a.id;
    var make = document.getElementById("card-incident");
    make.href = "/incidents/new?alert=" + a.id;
    make.hidden = !cfg.can_dispatch;
    document.getElementById("card-actions").hidden = !cfg.can_handle;
  }

  function showSite(a) {
    var box = document.getElementById("card-site");
    box.textContent = "";
    if (!a.site) { return; }
    fetch("/api/v1/sites/" + encodeURIComponent(a.site), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (site) {
        if (!site || selected !== a.id) { return; }
        var name = document.createElement("a"); name.href = "/sites/" + encodeURIComponent(site.code);
        name.textContent = site.name;
        var contact = document.createElement("div"); contact.className = "muted";
        contact.textContent = [site.address, site.contact_name, site.contact_phone].filter(Boolean).join(" · ");
        var live = document.createElement("a"); live.href = "/sites/" + encodeURIComponent(site.code) + "/live";
        live.className = "button"; live.id = "card-live"; live.textContent = "▶ " + (T.live || "Live");
        var wallLink = document.createElement("a"); wallLink.href = "/wall?site=" + encodeURIComponent(site.code) + "&from=alert";
        wallLink.className = "button secondary"; wallLink.id = "card-wall"; wallLink.textContent = T.wall || "Video wall";
        box.appendChild(name); box.appendChild(contact); box.appendChild(live); box.appendChild(wallLink);
        if (a.latitude === null && typeof site.latitude === "number") { place(site.latitude, site.longitude, null); }
        var lock = document.createElement("div"); lock.id = "card-lockdown"; box.appendChild(lock);
        var plans = document.createElement("div"); plans.id = "card-plans"; plans.className = "floor-plans";
        box.appendChild(plans);
        showLockdown(a, site.code, lock);
        showPlans(a, site.code, plans);
      });
  }

  function siteApi(code, tail) { return "/api/v1/sites/" + encodeURIComponent(code) + "/" + tail; }

  function showLockdown(a, code, box) {
    fetch(siteApi(code, "lockdown"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (!st || selected !== a.id) { return; }
        box.textContent = "";
        var line = document.createElement("p"); line.id = "card-lockdown-state";
        line.dataset.locked = st.locked ? "true" : "false";
        var cur = st.current;
        line.textContent = !cur ? T.unlocked : (st.locked ? T.locked : T.cleared);
        line.className = st.locked ? "error" : "muted";
        if (cur) {
          line.textContent += " · " + window.kgysTime.dateTime(cur.created_at).slice(0, 16) + " · " + cur.created_by
            + (cur.reason ? " · " + cur.reason : "") + (cur.sent_at ? "" : " · " + T.pending);
        }
        box.appendChild(line);
        if (!cfg.can_handle) { return; }
        var reason = document.createElement("input");
        reason.id = "card-lockdown-reason"; reason.maxLength = 200; reason.placeholder = T.reason;
        reason.setAttribute("aria-label", T.reason);
        var row = document.createElement("div"); row.className = "actions";
        row.appendChild(reason);
        ["lockdown", "all_clear"].forEach(function (action) {
          var b = document.createElement("button"); b.type = "button"; b.dataset.lockdown = action;
          b.textContent = T[action]; b.className = action === "lockdown" ? "danger" : "secondary";
          b.addEventListener("click", function () { orderLockdown(a, code, action, reason.value, box); });
          row.appendChild(b);
        });
        box.appendChild(row);
      });
  }

  function orderLockdown(a, code, action, reason, box) {
    fetch(siteApi(code, "lockdown"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ action: action, reason: reason, alert_id: a.id })
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) {
          var f = j.error && j.error.fields && j.error.fields[0];
          errorEl.textContent = f ? f.field + ": " + f.message : ((j.error && j.error.message) || String(r.status));
          return;
        }
        errorEl.textContent = "";
        showLockdown(a, code, box);
      });
    });
  }

  function showPlans(a, code, box) {
    fetch(siteApi(code, "floor-plans"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (plans) {
        if (!plans || !plans.length || selected !== a.id) { return; }
        var head = document.createElement("div"); head.className = "muted"; head.textContent = T.floor_plans;
        box.appendChild(head);
        plans.forEach(function (plan) {
          var link = document.createElement("a"); link.href = plan.url; link.target = "_blank"; link.rel = "noopener";
          link.title = plan.title;
          var img = document.createElement("img"); img.src = plan.url; img.alt = plan.title; img.loading = "lazy";
          img.className = "floor-plan-thumb";
          link.appendChild(img); box.appendChild(link);
        });
      });
  }

  function place(lat, lon, accuracy) {
    if (!map) { return; }
    if (marker) { map.removeLayer(marker); marker = null; }
    if (circle) { map.removeLayer(circle); circle = null; }
    marker = L.marker([lat, lon]).addTo(map);
    if (accuracy) { circle = L.circle([lat, lon], { radius: accuracy, color: "#b3261e", weight: 1 }).addTo(map); }
    map.setView([lat, lon], accuracy && accuracy > 500 ? 13 : 16);
  }

  function choose(id) {
    selected = id;
    errorEl.textContent = "";
    var a = alerts.get(id);
    render();
    if (!a) { return; }
    if (a.latitude !== null && a.longitude !== null) { place(a.latitude, a.longitude, a.accuracy_m); }
    showSite(a);
  }

  function apply(data) {
    var a = data.alert;
    if (!a) { return; }
    var known = alerts.has(a.id);
    var before = alerts.get(a.id);
    if (!a.text && before && before.details === a.details) { a.text = before.text; }
    if (!a.text && OPEN[a.state]) { translate(a.id); }
    if (OPEN[a.state]) { alerts.set(a.id, a); } else { alerts.delete(a.id); if (selected === a.id) { selected = null; } }
    if (!known && data.move === "raise" && a.priority === 1) { beep(); }
    render();
  }

  // an event carries the English details: the server says them in the reader's language
  function translate(id) {
    fetch("/api/v1/alerts/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fresh) {
        var a = alerts.get(id);
        if (fresh && a && fresh.text && fresh.details === a.details) { a.text = fresh.text; render(); }
      });
  }

  function move(name) {
    if (selected === null || !cfg.can_handle) { return; }
    var a = alerts.get(selected);
    var body = { version: a.version };
    if (name === "resolve") { body.outcome = outcome.value; }
    fetch("/api/v1/alerts/" + a.id + "/" + name, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        var msg = (j.error && j.error.message) || String(r.status);
        if (!r.ok) { errorEl.textContent = r.status === 409 ? T.conflict + " " + msg : msg; return; }
        errorEl.textContent = "";
        apply({ move: name, alert: j });
      });
    });
  }

  document.getElementById("card-actions").addEventListener("click", function (e) {
    var m = e.target && e.target.dataset ? e.target.dataset.move : null;
    if (m) { move(m); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) { return; }
    var items = Array.from(alerts.values()).sort(order);
    var at = items.findIndex(function (a) { return a.id === selected; });
    var keys = { c: "claim", a: "acknowledge", r: "resolve", Escape: "release" };
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var next = items[Math.max(0, Math.min(items.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))];
      if (next) { choose(next.id); }
    } else if (keys[e.key]) {
      e.preventDefault();
      move(keys[e.key]);
    }
  });

  function load() {
    return fetch("/api/v1/alerts/queue", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (q) {
        alerts.clear();
        q.items.forEach(function (a) { alerts.set(a.id, a); });
        seq = q.seq;
        render();
      });
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/api/v1/alerts/stream?after=" + seq);
    socket.onopen = function () { retry = 500; setLink("live"); };
    socket.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "event") { seq = msg.seq; apply(msg.data); }
      else if (msg.type === "resync") { load(); }
    };
    socket.onclose = function (e) {
      setLink("reconnecting");
      if (e.code === 4401) { location.href = "/login?next=/console"; return; }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  window.kgysConsole = { seq: function () { return seq; }, drop: function () { if (socket) { socket.close(); } } };
  load().then(connect, function () { setLink("reconnecting"); setTimeout(function () { load().then(connect); }, 2000); });
}());
