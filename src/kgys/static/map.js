/* The dashboard map: sites as circles coloured by compliance, from the JSON embedded in the page or, for
   many sites, from the compact rows at data.src ({"fields": [...], "rows": [[...], ...]}). */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var data;
  try { data = JSON.parse(dataEl.textContent || "{}"); } catch (e) { return; }
  var colours = { compliant: "#1f7a3a", non_compliant: "#b3261e", no_system: "#c77700" };
  var labels = data.labels || {};
  var map = L.map(el, { zoomControl: true, attributionControl: Boolean(data.tile_url) });
  if (data.tile_url) {
    L.tileLayer(data.tile_url, { maxZoom: 19 }).addTo(map);
  }
  function draw(points) {
    var bounds = [];
    points.forEach(function (p) {
      if (typeof p.lat !== "number" || typeof p.lon !== "number") { return; }
      var colour = colours[p.compliance] || "#637081";
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.priority <= 2 ? 7 : 5, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.9
      });
      marker.bindPopup(function () {
        var box = document.createElement("div");
        var link = document.createElement("a");
        link.href = "/sites/" + encodeURIComponent(p.code);
        link.textContent = p.name;
        var meta = document.createElement("div");
        meta.className = "muted";
        meta.textContent = p.code + " · " + (labels[p.compliance] || p.compliance);
        box.appendChild(link);
        box.appendChild(meta);
        if (data.wall) {
          var wall = document.createElement("a");
          wall.className = "map-wall";
          wall.href = "/wall?site=" + encodeURIComponent(p.code);
          wall.textContent = data.wall;
          box.appendChild(document.createElement("br"));
          box.appendChild(wall);
        }
        return box;
      });
      marker.bindTooltip(p.name);
      marker.addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length === 1) {
      map.setView(bounds[0], 13);
    } else if (bounds.length > 1) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
    }
  }
  map.setView([39.0, 35.0], 5);
  if (data.src) {
    fetch(data.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { fields: [], rows: [] }; })
      .then(function (compact) {
        var fields = compact.fields || [];
        draw((compact.rows || []).map(function (row) {
          var p = {};
          fields.forEach(function (f, i) { p[f] = row[i]; });
          return p;
        }));
      })
      .catch(function () { /* the figures stay usable without the map */ });
  } else {
    draw(data.points || []);
  }
})();
