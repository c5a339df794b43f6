/* The dispatch map: the units of the operator's scope as markers coloured by status (a stale position greyed,
   with its age), the open incidents as markers coloured by priority, and side panels (open incidents with the
   units on them, units by status, units without a position). It starts from the board embedded in the page,
   then follows the events stream after the board's event number; after a reconnect it is sent what it missed,
   after "resync" it reads the board again (/dispatch/board.json). */
(function () {
  "use strict";
  var root = document.getElementById("dispatch");
  var dataEl = document.getElementById("dispatch-data");
  if (!root || !dataEl) { return; }
  var cfg = JSON.parse(dataEl.textContent || "{}");
  var T = cfg.texts || {};
  var STATUSES = ["available", "en_route", "on_scene", "busy", "off_duty"];
  var units = new Map(), incidents = new Map();
  var unitMarkers = new Map(), incidentMarkers = new Map();
  var seq = 0, socket = null, retry = 500, staleAfter = 300, drawn = false, fitted = false;
  var link = document.getElementById("dispatch-link");

  var map = null;
  if (typeof L !== "undefined") {
    map = L.map("dispatch-map", { zoomControl: true, attributionControl: Boolean(cfg.tile_url) });
    if (cfg.tile_url) { L.tileLayer(cfg.tile_url, { maxZoom: 19 }).addTo(map); }
    map.setView([39.0, 35.0], 5);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function fill(template, n) { return String(template || "%(n)s").replace("%(n)s", String(n)); }

  function age(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 120) { return fill(T.seconds, s); }
    if (s < 7200) { return fill(T.minutes, Math.round(s / 60)); }
    return fill(T.hours, Math.round(s / 3600));
  }

  function isStale(u) {
    return !!u.position && (Date.now() - Date.parse(u.position.reported_at)) / 1000 > staleAfter;
  }

  function label(table, key) { return (T[table] || {})[key] || key; }

  /* Units */

  function unitIcon(u) {
    var stale = isStale(u);
    var box = el("span", "unit-marker status-" + u.status + (stale ? " stale" : ""));
    box.dataset.unit = u.call_sign; box.dataset.status = u.status; box.dataset.stale = stale ? "true" : "false";
    box.appendChild(el("b", null, u.call_sign));
    if (stale) { box.appendChild(el("small", null, " " + T.stale + " · " + age(u.position.reported_at))); }
    return L.divIcon({ className: "unit-icon", html: box, iconSize: null, iconAnchor: [0, 0] });
  }

  function unitPopup(u) {
    var box = el("div");
    box.appendChild(el("strong", null, u.call_sign));
    box.appendChild(el("div", "muted", label("kinds", u.kind) + " · " + label("statuses", u.status)));
    if (u.station) { box.appendChild(el("div", null, u.station)); }
    if (u.position) { box.appendChild(el("div", "muted", age(u.position.reported_at))); }
    return box;
  }

  function placeUnit(u) {
    if (!map) { return; }
    var m = unitMarkers.get(u.call_sign);
    if (!u.position) {
      if (m) { map.removeLayer(m); unitMarkers.delete(u.call_sign); }
      return;
    }
    var at = [u.position.latitude, u.position.longitude];
    if (!m) {
      m = L.marker(at, { icon: unitIcon(u), keyboard: false });
      m.bindPopup(function () { return unitPopup(units.get(u.call_sign) || u); });
      m.addTo(map);
      unitMarkers.set(u.call_sign, m);
    } else {
      m.setLatLng(at);
      m.setIcon(unitIcon(u));
    }
  }

  function putUnit(u) {
    var known = units.get(u.call_sign);
    if (known && known.version > u.version) { return; }
    units.set(u.call_sign, u);
    placeUnit(u);
  }

  /* Incidents */

  function incidentIcon(i) {
    var box = el("span", "incident-marker prio-" + i.priority);
    box.dataset.incident = i.number; box.dataset.state = i.state;
    box.appendChild(el("b", null, i.number));
    box.appendChild(el("small", null, " " + label("categories", i.category)));
    return L.divIcon({ className: "incident-icon", html: box, iconSize: null, iconAnchor: [0, 0] });
  }

  function incidentPopup(number) {
    var i = incidents.get(number);
    var box = el("div");
    if (!i) { return box; }
    var a = el("a", null, i.number + " · " + label("categories", i.category));
    a.href = "/incidents/" + encodeURIComponent(i.number);
    a.className = "incident-link";
    box.appendChild(a);
    box.appendChild(el("div", "muted", "P" + i.priority + " · " + label("states", i.state) + " · " + age(i.reported_at)));
    if (i.details) { box.appendChild(el("div", null, i.details)); }
    box.appendChild(el("div", null, sentText(i)));
    return box;
  }

  function sentText(i) {
    var sent = (i.assignments || []).map(function (a) {
      return a.unit + " (" + label("assignment_states", a.state) + ")";
    });
    return sent.length ? sent.join(", ") : T.none_sent;
  }

  function placeIncident(i) {
    if (!map) { return; }
    var m = incidentMarkers.get(i.number);
    if (!m) {
      m = L.marker([i.latitude, i.longitude], { icon: incidentIcon(i), keyboard: false, zIndexOffset: 1000 });
      m.bindPopup(function () { return incidentPopup(i.number); });
      m.addTo(map);
      incidentMarkers.set(i.number, m);
    } else {
      m.setLatLng([i.latitude, i.longitude]);
      m.setIcon(incidentIcon(i));
    }
  }

  function dropIncident(number) {
    incidents.delete(number);
    var m = incidentMarkers.get(number);
    if (m && map) { map.removeLayer(m); }
    incidentMarkers.delete(number);
  }

  function putIncident(i) {
    var known = incidents.get(i.number);
    if (known && known.version > i.version) { return; }
    if (i.state === "closed") { dropIncident(i.number); return; }
    i.assignments = i.assignments || (known ? known.assignments : []);
    incidents.set(i.number, i);
    placeIncident(i);
  }

  function putAssignment(a) {
    var i = incidents.get(a.incident);
    if (!i) { return; }
    var rest = (i.assignments || []).filter(function (x) { return x.id !== a.id; });
    if (!a.ended_at) { rest.push(a); rest.sort(function (x, y) { return x.id - y.id; }); }
    i.assignments = rest;
    placeIncident(i);
  }

  /* Side panels */

  function renderIncidents() {
    var list = document.getElementById("incident-list");
    list.textContent = "";
    var items = Array.from(incidents.values()).sort(function (a, b) {
      return a.priority - b.priority || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);
    });
    document.getElementById("incident-count").textContent = String(items.length);
    if (!items.length) { list.appendChild(el("li", "empty muted", T.no_incidents)); }
    items.forEach(function (i) {
      var li = el("li", "incident-item prio-border-" + i.priority);
      li.dataset.incident = i.number; li.dataset.state = i.state;
      var head = el("div", "incident-head");
      var a = el("a", null, i.number); a.href = "/incidents/" + encodeURIComponent(i.number);
      head.appendChild(el("span", "badge prio-" + i.priority, "P" + i.priority));
      head.appendChild(document.createTextNode(" "));
      head.appendChild(a);
      head.appendChild(document.createTextNode(" · " + label("categories", i.category)));
      li.appendChild(head);
      li.appendChild(el("div", "muted small-text", label("states", i.state) + " · " + age(i.reported_at)));
      li.appendChild(el("div", "incident-units small-text", sentText(i)));
      li.addEventListener("click", function (e) {
        if (e.target.tagName === "A" || !map) { return; }
        map.setView([i.latitude, i.longitude], Math.max(map.getZoom(), 14));
        var m = incidentMarkers.get(i.number);
        if (m) { m.openPopup(); }
      });
      list.appendChild(li);
    });
  }

  function renderUnits() {
    var counts = document.getElementById("unit-counts");
    var groups = document.getElementById("unit-groups");
    var unplaced = document.getElementById("unplaced");
    counts.textContent = ""; groups.textContent = ""; unplaced.textContent = "";
    var all = Array.from(units.values()).sort(function (a, b) { return a.call_sign < b.call_sign ? -1 : 1; });
    if (!all.length) { groups.appendChild(el("p", "muted", T.no_units)); }
    STATUSES.forEach(function (status) {
      var these = all.filter(function (u) { return u.status === status; });
      var c = el("li", "unit-count status-" + status);
      c.dataset.status = status; c.dataset.count = String(these.length);
      c.appendChild(el("span", "swatch status-" + status));
      c.appendChild(document.createTextNode(label("statuses", status) + ": " + these.length));
      counts.appendChild(c);
      if (!these.length) { return; }
      var group = el("div", "unit-group"); group.dataset.status = status;
      group.appendChild(el("h3", null, label("statuses", status) + " (" + these.length + ")"));
      var ul = el("ul", "unit-list");
      these.forEach(function (u) {
        var li = el("li", "unit-item" + (isStale(u) ? " stale" : ""));
        li.dataset.unit = u.call_sign; li.dataset.status = u.status;
        li.appendChild(el("b", null, u.call_sign));
        li.appendChild(document.createTextNode(" " + label("kinds", u.kind)));
        if (isStale(u)) { li.appendChild(el("small", "muted", " · " + T.stale + " " + age(u.position.reported_at))); }
        li.addEventListener("click", function () {
          var m = unitMarkers.get(u.call_sign);
          if (m && map) { map.setView(m.getLatLng(), Math.max(map.getZoom(), 14)); m.openPopup(); }
        });
        ul.appendChild(li);
      });
      group.appendChild(ul);
      groups.appendChild(group);
    });
    all.filter(function (u) { return !u.position; }).forEach(function (u) {
      var li = el("li", "unit-item status-" + u.status);
      li.dataset.unit = u.call_sign; li.dataset.status = u.status;
      li.appendChild(el("b", null, u.call_sign));
      li.appendChild(document.createTextNode(" · " + label("statuses", u.status)));
      unplaced.appendChild(li);
    });
    document.getElementById("unplaced-box").hidden = !unplaced.children.length;
  }

  /* The side panels are drawn again at most every 300 ms, however many positions arrive meanwhile. */
  var pending = false;
  function render() {
    if (pending) { return; }
    pending = true;
    setTimeout(function () {
      pending = false;
      renderIncidents();
      renderUnits();
      drawn = true;
      root.dataset.seq = String(seq);
    }, drawn ? 300 : 0);
  }

  function fit() {
    if (!map || fitted) { return; }
    var points = [];
    units.forEach(function (u) { if (u.position) { points.push([u.position.latitude, u.position.longitude]); } });
    incidents.forEach(function (i) { points.push([i.latitude, i.longitude]); });
    if (points.length === 1) { map.setView(points[0], 14); fitted = true; }
    else if (points.length > 1) { map.fitBounds(points, { padding: [30, 30], maxZoom: 15 }); fitted = true; }
  }

  function load(board) {
    seq = board.seq || 0;
    staleAfter = board.stale_after_seconds || staleAfter;
    unitMarkers.forEach(function (m) { if (map) { map.removeLayer(m); } });
    incidentMarkers.forEach(function (m) { if (map) { map.removeLayer(m); } });
    units.clear(); incidents.clear(); unitMarkers.clear(); incidentMarkers.clear();
    (board.units || []).forEach(putUnit);
    (board.incidents || []).forEach(putIncident);
    fit();
    render();
  }

  function reload() {
    return fetch("/dispatch/board.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(load);
  }

  function apply(topic, data) {
    if (topic === "unit" && data.unit) { putUnit(data.unit); }
    else if (topic === "incident" && data.incident) { putIncident(data.incident); }
    else if (topic === "assignment" && data.assignment) { putAssignment(data.assignment); }
    render();
  }

  function setLink(state) {
    link.dataset.state = state;
    link.textContent = state === "live" ? T.connected : T.reconnecting;
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/api/v1/events/stream?topics=unit,incident,assignment&after=" + seq);
    socket.onopen = function () { retry = 500; setLink("live"); };
    socket.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "event") { seq = msg.seq; apply(msg.topic, msg.data); }
      else if (msg.type === "resync") { reload(); }
    };
    socket.onclose = function (e) {
      setLink("reconnecting");
      if (e.code === 4401) { location.href = "/login?next=/dispatch"; return; }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  /* Ages and staleness move on without events. */
  setInterval(function () {
    units.forEach(function (u) { placeUnit(u); });
    render();
  }, 15000);

  window.kgysDispatch = {
    seq: function () { return seq; },
    drawn: function () { return drawn; },
    drop: function () { if (socket) { socket.close(); } }
  };
  load(cfg);
  connect();
}());
