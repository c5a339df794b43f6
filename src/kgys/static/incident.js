/* One incident's page: its place on the map (tiles only when configured) with the units recommended, and, where the event stream is there,
   a note that the incident or one of its assignments changed since the page was drawn. Without the stream (or
   without a script) the page works the same: every move is a plain form. */
(function () {
  "use strict";
  var dataEl = document.getElementById("incident-data");
  var box = document.getElementById("incident-map");
  if (!dataEl) { return; }
  var cfg = JSON.parse(dataEl.textContent || "{}");
  if (box && typeof L !== "undefined" && typeof cfg.lat === "number") {
    var map = L.map(box, { zoomControl: true, attributionControl: Boolean(cfg.tile_url) });
    if (cfg.tile_url) { L.tileLayer(cfg.tile_url, { maxZoom: 19 }).addTo(map); }
    L.marker([cfg.lat, cfg.lon]).addTo(map);
    if (cfg.accuracy) { L.circle([cfg.lat, cfg.lon], { radius: cfg.accuracy, color: "#b3261e", weight: 1 }).addTo(map); }
    var bounds = [[cfg.lat, cfg.lon]];
    (cfg.units || []).forEach(function (u) {
      var ranked = typeof u.rank === "number";
      L.circleMarker([u.lat, u.lon], {
        radius: ranked ? 7 : 5, color: "#fff", weight: 1, fillColor: ranked ? "#1f5fa8" : "#8a94a3", fillOpacity: 0.9
      }).bindTooltip((ranked ? u.rank + ". " : "") + u.call_sign).addTo(map);
      if (ranked && u.rank <= 3) { bounds.push([u.lat, u.lon]); }
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); }
    else { map.setView([cfg.lat, cfg.lon], cfg.accuracy && cfg.accuracy > 500 ? 13 : 15); }
  }

  var note = document.getElementById("incident-changed");
  if (!note || typeof WebSocket === "undefined") { return; }
  var tries = 0, seq = cfg.seq || 0;
  function mine(msg) {
    var d = msg.data || {};
    return (d.incident && d.incident.number === cfg.number) || (d.assignment && d.assignment.incident === cfg.number);
  }
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(proto + location.host + "/api/v1/events/stream?topics=incident,assignment&after="
        + encodeURIComponent(String(seq)));
    } catch (e) { return; }
    var opened = false;
    socket.onopen = function () { opened = true; tries = 0; };
    socket.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "event") {
        seq = msg.seq;
        if (mine(msg)) { note.hidden = false; }
      } else if (msg.type === "resync") { note.hidden = false; }
    };
    socket.onclose = function (e) {
      // no stream on this server, or no right to it: the page stays as it is
      if (!opened || e.code === 4401 || e.code === 4403) { return; }
      tries += 1;
      if (tries < 10) { setTimeout(connect, Math.min(500 * tries, 5000)); }
    };
  }
  connect();
}());
