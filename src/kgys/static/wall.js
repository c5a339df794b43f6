// The video wall of kgys: a camera tree of the viewer's scope, a grid of tiles each playing one camera live, layouts
// saved per user and shared per role. A tile plays over the low-latency path (fragmented MP4 over a WebSocket into
// Media Source Extensions, lowlat.js) when the browser can, else over HLS (hls.js); its badge says which ("LL" or
// "HLS", the reason in its title). A tile that cannot use the low-latency path (no MediaSource or WebSocket, a
// codec the browser cannot decode, a socket that fails before the first frame, an H.265 camera) plays HLS. Opening a camera is audited once per viewing: a tile
// that loses its stream keeps its viewing ticket and loads the same playlist again after a growing pause
// (5, 10, 30, 60 s), showing the camera's state and reason meanwhile. Texts come translated from data-t-*.
(function () {
  "use strict";

  var BACKOFF = [5, 10, 30, 60];
  var wall, T, csrf, gridEl, treeEl;
  var cams = {};            // camera id → {id, name, site, state, reason, codec}
  var tree = null;          // the compact tree as the server sent it
  var views = {};           // camera id → {playlist, until}: viewing tickets already opened (one audit entry each)
  var layout = {rows: 2, cols: 2, tiles: []};
  var current = null;       // the saved layout shown (as the server sent it), or null
  var saved = [];           // the layouts of the list
  var reason = null;        // the stated reason; nothing plays before it is given
  var selected = -1;        // index of the selected tile
  var players = [];         // per tile index: {hls, ll, path, retry, attempt}

  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts);
  }
  function hlsAvailable() { return typeof window.Hls !== "undefined" && window.Hls.isSupported(); }
  function llAvailable(cam) { return cam.codec !== "h265" && !!window.KgysLowLat && window.KgysLowLat.supported(); }
  function stopPlayer(p) {
    if (!p) { return; }
    clearTimeout(p.retry);
    if (p.hls) { p.hls.destroy(); p.hls = null; }
    if (p.ll) { p.ll.stop(); p.ll = null; }
  }
  function playable(codec) {
    return codec !== "h265" || (typeof window.MediaSource !== "undefined" &&
      window.MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L120.90"'));
  }
  function stateText(cam) {
    var text = T["t" + cam.state.charAt(0).toUpperCase() + cam.state.slice(1)] || cam.state;
    return cam.reason ? text + ": " + cam.reason : text;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // ---- the grid -------------------------------------------------------------------------------------------
  function fill() {
    // every cell not covered by a tile gets an empty 1×1 tile, in reading order
    var taken = {};
    layout.tiles.forEach(function (t) {
      for (var r = t.row; r < t.row + t.rows; r++) { for (var c = t.col; c < t.col + t.cols; c++) { taken[r + ":" + c] = 1; } }
    });
    for (var r = 0; r < layout.rows; r++) {
      for (var c = 0; c < layout.cols; c++) {
        if (!taken[r + ":" + c]) { layout.tiles.push({row: r, col: c, rows: 1, cols: 1, camera_id: null}); }
      }
    }
    layout.tiles.sort(function (a, b) { return a.row - b.row || a.col - b.col; });
  }
  function setGrid(rows, cols, ids) {
    var keep = ids || layout.tiles.map(function (t) { return t.camera_id; }).filter(function (x) { return x; });
    layout = {rows: rows, cols: cols, tiles: []};
    fill();
    keep.slice(0, layout.tiles.length).forEach(function (id, i) { layout.tiles[i].camera_id = id; });
    selected = -1;
    render();
  }
  function stopAll() {
    players.forEach(stopPlayer);
    players = [];
  }
  function render() {
    stopAll();
    gridEl.classList.remove("zoomed");
    gridEl.innerHTML = "";
    gridEl.style.gridTemplateColumns = "repeat(" + layout.cols + ", 1fr)";
    gridEl.style.gridTemplateRows = "repeat(" + layout.rows + ", minmax(90px, 1fr))";
    wall.dataset.rows = layout.rows; wall.dataset.cols = layout.cols;
    layout.tiles.forEach(function (_t, i) { gridEl.appendChild(buildTile(i)); showTile(gridEl.lastChild, i); });
  }
  // one tile changed its camera: only that tile's player starts over, the others play on
  function refreshTile(i) {
    var old = gridEl.querySelector(".wall-tile[data-index='" + i + "']");
    var p = players[i];
    if (p) { stopPlayer(p); players[i] = null; }
    var tile = buildTile(i);
    gridEl.querySelectorAll(".wall-tile.selected").forEach(function (x) { x.classList.remove("selected"); });
    if (i === selected) { tile.classList.add("selected"); }
    gridEl.replaceChild(tile, old);
    showTile(tile, i);
  }
  function buildTile(i) {
    var t = layout.tiles[i];
    var tile = el("figure", "wall-tile");
    tile.tabIndex = 0;
    tile.dataset.index = i;
    tile.style.gridArea = (t.row + 1) + " / " + (t.col + 1) + " / span " + t.rows + " / span " + t.cols;
    tile.appendChild(el("video")).muted = true;
    var cap = tile.appendChild(el("figcaption", "caption"));
    cap.appendChild(el("span", "name"));
    cap.appendChild(el("span", "state")).setAttribute("aria-live", "polite");
    cap.appendChild(el("span", "path")).hidden = true;
    if (i === selected) { tile.classList.add("selected"); }
    wireTile(tile, i);
    return tile;
  }
  function show(tile, text, cls, state) {
    var s = tile.querySelector(".state");
    s.textContent = text; s.className = "state " + (cls || "");
    if (state) { tile.dataset.state = state; }
  }
  function showTile(tile, i) {
    var t = layout.tiles[i];
    tile.classList.toggle("empty", !t.camera_id);
    if (t.unavailable) {
      tile.dataset.state = "unavailable";
      show(tile, T.tUnavailable, "bad", "unavailable");
      return;
    }
    if (!t.camera_id) { show(tile, T.tEmpty, "", "empty"); return; }
    var cam = cams[t.camera_id] || {id: t.camera_id, name: "#" + t.camera_id, state: "unknown", reason: "", codec: "h264"};
    tile.dataset.camera = t.camera_id;
    tile.querySelector(".name").textContent = cam.name + (cam.siteName ? " · " + cam.siteName : "");
    // instant replay of the last two minutes, for those who may play recordings back
    if (T.tReplay) {
      var replay = tile.querySelector(".caption").appendChild(el("a", "replay", T.tReplay));
      replay.href = "/playback?cameras=" + t.camera_id + "&replay=120";
      replay.title = T.tReplayTitle;
      replay.addEventListener("click", function (ev) { ev.stopPropagation(); });
    }
    var rm = tile.appendChild(el("button", "remove", "×"));
    rm.type = "button"; rm.title = T.tRemove; rm.setAttribute("aria-label", T.tRemove);
    rm.addEventListener("click", function (ev) { ev.stopPropagation(); t.camera_id = null; refreshTile(i); });
    if (!reason) { show(tile, T.tWaiting, "", "waiting"); return; }
    if (!hlsAvailable() && !llAvailable(cam)) { show(tile, T.tNoplayer, "bad", "noplayer"); return; }
    if (!playable(cam.codec)) { show(tile, T.tNohevc, "bad", "unplayable"); return; }
    if (cam.state === "unconnected" || cam.state === "disabled") { show(tile, stateText(cam), "bad", cam.state); return; }
    players[i] = {hls: null, ll: null, path: llAvailable(cam) ? "ll" : "hls", why: cam.codec === "h265" ? T.tPathHevc : "",
                  retry: null, attempt: 0};
    openTile(tile, i, t.camera_id);
  }

  // ---- playing a tile --------------------------------------------------------------------------------------
  function ticket(id) {
    var v = views[id];
    if (v && v.until > Date.now() + 5000) { return Promise.resolve(v); }
    return api("POST", "/api/v1/cameras/" + id + "/live", {reason: reason}).then(function (r) {
      if (r.status === 403 || r.status === 404) { return null; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json().then(function (b) {
        views[id] = {playlist: b.playlist, until: Date.parse(b.expires)};
        return views[id];
      });
    });
  }
  function openTile(tile, i, id) {
    var p = players[i];
    if (!p || layout.tiles[i].camera_id !== id) { return; }
    show(tile, T.tConnecting, "", "connecting");
    ticket(id).then(function (v) {
      if (players[i] !== p) { return; }
      if (!v) { show(tile, T.tUnavailable, "bad", "unavailable"); return; }
      if (p.path === "ll") { playLL(tile, i, id, v.playlist); } else { play(tile, i, id, v.playlist); }
    }).catch(function () { failed(tile, i, id); });
  }
  // the badge of the path a tile plays over, with why it is not the low-latency one
  function badge(tile, path, why) {
    var b = tile.querySelector(".path");
    tile.dataset.path = path;
    b.hidden = false;
    b.textContent = path === "ll" ? "LL" : "HLS";
    b.className = "path " + path;
    b.title = path === "ll" ? T.tPathLl : T.tPathHls + (why ? " " + why : "");
  }
  function playLL(tile, i, id, url) {
    var p = players[i], video = tile.querySelector("video");
    badge(tile, "ll");
    p.ll = window.KgysLowLat.play(video, window.KgysLowLat.socketUrl(url), {
      playing: function () {
        if (players[i] !== p) { return; }
        p.attempt = 0;
        show(tile, T.tLive, "ok", "playing");
      },
      fallback: function () {  // this browser or network cannot take the low-latency path: HLS from now on
        if (players[i] !== p) { return; }
        p.ll = null; p.path = "hls"; p.why = T.tPathFailed;
        if (hlsAvailable()) { play(tile, i, id, url); } else { show(tile, T.tNoplayer, "bad", "noplayer"); }
      },
      ended: function (code) {
        if (players[i] !== p) { return; }
        p.ll = null;
        if (code === 4403) { delete views[id]; }  // the ticket ended (expired, signed out): open a new viewing
        failed(tile, i, id);
      }
    });
  }
  function play(tile, i, id, url) {
    var p = players[i], video = tile.querySelector("video");
    badge(tile, "hls", p.why);
    var hls = new window.Hls({
      enableWorker: false, lowLatencyMode: false, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3,
      maxLiveSyncPlaybackRate: 1.5, backBufferLength: 10, manifestLoadingMaxRetry: 1
    });
    p.hls = hls;
    hls.on(window.Hls.Events.ERROR, function (_e, data) {
      if (!data.fatal || players[i] !== p) { return; }
      var code = data.response && data.response.code;
      if (code === 403) { delete views[id]; }  // the ticket ended (expired, signed out): open a new viewing
      hls.destroy(); p.hls = null;
      failed(tile, i, id);
    });
    hls.on(window.Hls.Events.FRAG_BUFFERED, function () {
      if (players[i] !== p) { return; }
      p.attempt = 0;
      show(tile, T.tLive, "ok", "playing");
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(function () { /* a muted video may autoplay */ });
  }
  function failed(tile, i, id) {
    var p = players[i];
    if (!p) { return; }
    var wait = BACKOFF[Math.min(p.attempt, BACKOFF.length - 1)];
    p.attempt += 1;
    tile.dataset.attempts = p.attempt;
    fetch("/api/v1/live/cameras?ids=" + id, {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json() : [];
    }).catch(function () { return []; }).then(function (rows) {
      if (players[i] !== p) { return; }
      var cam = cams[id] || {};
      if (rows.length) { cam.state = rows[0].state; cam.reason = rows[0].reason; }
      var text = cam.state && cam.state !== "recording" ? stateText(cam) : T.tNolive;
      show(tile, text + " · " + T.tRetry.replace("{s}", wait), "bad", "offline");
    });
    p.retry = setTimeout(function () { if (players[i] === p) { openTile(tile, i, id); } }, wait * 1000);
  }

  // ---- placing cameras -------------------------------------------------------------------------------------
  function place(id, i) {
    if (i < 0 || i >= layout.tiles.length) {
      i = layout.tiles.findIndex(function (t) { return !t.camera_id; });
      if (i < 0) { i = 0; }
    }
    layout.tiles[i].camera_id = id; layout.tiles[i].unavailable = false;
    selected = i;
    refreshTile(i);
  }
  function wireTile(tile, i) {
    tile.addEventListener("dragover", function (ev) { ev.preventDefault(); tile.classList.add("over"); });
    tile.addEventListener("dragleave", function () { tile.classList.remove("over"); });
    tile.addEventListener("drop", function (ev) {
      ev.preventDefault();
      var id = parseInt(ev.dataTransfer.getData("text/plain"), 10);
      if (id) { place(id, i); }
    });
    tile.addEventListener("click", function () {
      selected = i;
      gridEl.querySelectorAll(".wall-tile.selected").forEach(function (x) { x.classList.remove("selected"); });
      tile.classList.add("selected");
    });
    tile.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); tile.click(); } });
    tile.addEventListener("dblclick", function () {
      var on = !tile.classList.contains("zoom");
      gridEl.querySelectorAll(".wall-tile.zoom").forEach(function (x) { x.classList.remove("zoom"); });
      tile.classList.toggle("zoom", on);
      gridEl.classList.toggle("zoomed", on);
    });
  }
  function grow() {
    var t = layout.tiles[selected];
    if (!t || t.row + t.rows >= layout.rows || t.col + t.cols >= layout.cols) { return; }
    t.rows += 1; t.cols += 1;
    layout.tiles = layout.tiles.filter(function (o) {
      return o === t || o.row + o.rows <= t.row || o.row >= t.row + t.rows || o.col + o.cols <= t.col || o.col >= t.col + t.cols;
    });
    fill(); selected = layout.tiles.indexOf(t); render();
  }
  function split() {
    var t = layout.tiles[selected];
    if (!t) { return; }
    t.rows = 1; t.cols = 1; fill(); selected = layout.tiles.indexOf(t); render();
  }

  // ---- the camera tree -------------------------------------------------------------------------------------
  function camItem(c) {
    var item = el("div", "cam");
    item.setAttribute("role", "treeitem");
    item.tabIndex = 0; item.draggable = true;
    item.dataset.camera = c.id; item.dataset.state = c.state;
    item.title = stateText(c);
    item.appendChild(el("span", "dot"));
    item.appendChild(el("span", "nm", c.name));
    item.appendChild(el("span", "st", T["t" + c.state.charAt(0).toUpperCase() + c.state.slice(1)] || c.state));
    item.addEventListener("dragstart", function (ev) { ev.dataTransfer.setData("text/plain", String(c.id)); });
    item.addEventListener("click", function () { place(c.id, selected); });
    item.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); place(c.id, selected); } });
    return item;
  }
  function node(label, cls, fillIn) {
    var d = el("details", cls), s = el("summary", "", label);
    d.appendChild(s);
    d.addEventListener("toggle", function () { if (d.open && !d.dataset.done) { d.dataset.done = "1"; fillIn(d); } });
    return d;
  }
  function renderTree() {
    treeEl.innerHTML = "";
    var bySite = {}, byDistrict = {}, byProvince = {};
    tree.cameras.forEach(function (c) { (bySite[c[2]] = bySite[c[2]] || []).push(c[0]); });
    tree.sites.forEach(function (s, i) { (byDistrict[s[2]] = byDistrict[s[2]] || []).push(i); });
    tree.districts.forEach(function (d, i) { (byProvince[d[2]] = byProvince[d[2]] || []).push(i); });
    tree.provinces.forEach(function (p, pi) {
      treeEl.appendChild(node(p[1], "province", function (pd) {
        (byProvince[pi] || []).forEach(function (di) {
          var d = tree.districts[di];
          pd.appendChild(node(d[1], "district", function (dd) {
            (byDistrict[di] || []).forEach(function (si) {
              var s = tree.sites[si];
              var sd = node(s[1] + " (" + s[0] + ")", "site", function (x) {
                (bySite[si] || []).forEach(function (id) { x.appendChild(camItem(cams[id])); });
                if (!bySite[si]) { x.appendChild(el("p", "muted", T.tNocams)); }
              });
              sd.dataset.site = s[0];
              dd.appendChild(sd);
            });
          }));
        });
      }));
    });
  }
  function search(q) {
    if (!tree) { return; }
    q = q.trim().toLocaleLowerCase();
    if (q.length < 2) { renderTree(); return; }
    treeEl.innerHTML = "";
    var n = 0;
    Object.keys(cams).some(function (id) {
      var c = cams[id];
      if ((c.name + " " + c.siteName + " " + c.siteCode).toLocaleLowerCase().indexOf(q) < 0) { return false; }
      var item = camItem(c);
      item.querySelector(".nm").textContent = c.name + " · " + c.siteName;
      treeEl.appendChild(item);
      n += 1;
      return n >= 200;
    });
    if (!n) { treeEl.appendChild(el("p", "muted", T.tNomatch)); }
  }
  function loadTree() {
    return fetch("/api/v1/live/tree", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (body) {
      tree = body;
      body.cameras.forEach(function (c) {
        var s = body.sites[c[2]];
        cams[c[0]] = {id: c[0], name: c[1], site: c[2], siteName: s[1], siteCode: s[0], state: c[3], reason: c[4], codec: c[5]};
      });
      renderTree();
    });
  }

  // the states of the cameras on the wall, refreshed in the tree every half minute
  function refreshStates() {
    var ids = layout.tiles.map(function (t) { return t.camera_id; }).filter(function (x) { return x; }).slice(0, 64);
    if (!ids.length || document.hidden) { return; }
    fetch("/api/v1/live/cameras?ids=" + ids.join(","), {credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.json() : [];
    }).then(function (rows) {
      rows.forEach(function (row) {
        var cam = cams[row.camera_id];
        if (!cam) { return; }
        cam.state = row.state; cam.reason = row.reason;
        treeEl.querySelectorAll(".cam[data-camera='" + row.camera_id + "']").forEach(function (item) {
          item.dataset.state = cam.state; item.title = stateText(cam);
          item.querySelector(".st").textContent = T["t" + cam.state.charAt(0).toUpperCase() + cam.state.slice(1)] || cam.state;
        });
      });
    }).catch(function () { /* the next round tries again */ });
  }

  // ---- saved layouts ---------------------------------------------------------------------------------------
  function message(text) { document.getElementById("layout-msg").textContent = text; }
  function loadList(pick) {
    return fetch("/api/v1/live/layouts", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (rows) {
      saved = rows;
      var sel = document.getElementById("layout-list");
      sel.innerHTML = "";
      sel.appendChild(el("option", "", T.tNew)).value = "";
      rows.forEach(function (l) {
        var o = sel.appendChild(el("option", "", l.name + (l.mine ? "" : " (" + T.tShared + ")")));
        o.value = l.id;
      });
      if (pick) { sel.value = String(pick); }
    });
  }
  function useLayout(l) {
    current = l;
    document.getElementById("layout-name").value = l ? l.name : "";
    document.getElementById("layout-share").value = l && l.shared_role ? l.shared_role : "";
    if (!l) { return; }
    layout = {rows: l.rows, cols: l.cols, tiles: l.tiles.map(function (t) {
      return {row: t.row, col: t.col, rows: t.rows, cols: t.cols, camera_id: t.camera_id, unavailable: !t.available};
    })};
    fill(); selected = -1; render();
  }
  function saveLayout() {
    var body = {name: document.getElementById("layout-name").value.trim() || T.tNew, rows: layout.rows, cols: layout.cols,
      shared_role: document.getElementById("layout-share").value || null,
      tiles: layout.tiles.map(function (t) { return {row: t.row, col: t.col, rows: t.rows, cols: t.cols, camera_id: t.camera_id}; })};
    var mine = current && current.mine;
    if (mine) { body.version = current.version; }
    api(mine ? "PUT" : "POST", "/api/v1/live/layouts" + (mine ? "/" + current.id : ""), body).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) {
          var err = b.error || {}, f = (err.fields || []).map(function (x) { return x.field + ": " + x.message; }).join("; ");
          message(T.tFailed.replace("{m}", f || err.message || r.status)); return;
        }
        current = b; message(T.tSaved); wall.dataset.saved = b.id;
        loadList(b.id);
      });
    });
  }
  function deleteLayout() {
    if (!current || !current.mine) { return; }
    api("DELETE", "/api/v1/live/layouts/" + current.id + "?version=" + current.version).then(function (r) {
      if (r.ok) { current = null; message(T.tDeleted); loadList(""); useLayout(null); }
    });
  }

  // ---- start -----------------------------------------------------------------------------------------------
  function start() {
    wall = document.getElementById("wall");
    T = wall.dataset; csrf = T.csrf;
    gridEl = document.getElementById("wall-grid"); treeEl = document.getElementById("tree");
    var form = document.getElementById("wall-reason");
    form.reason.addEventListener("change", function () { form.other.hidden = form.reason.value !== "other"; });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = form.reason.value === "other" ? form.other.value.trim() : form.reason.value;
      if (text.length < 3) { form.other.hidden = false; form.other.focus(); return; }
      reason = text; form.hidden = true; wall.dataset.reason = "given";
      render();
    });
    wall.querySelectorAll("[data-grid]").forEach(function (b) {
      b.addEventListener("click", function () { var n = parseInt(b.dataset.grid, 10); setGrid(n, n); });
    });
    document.getElementById("grid-apply").addEventListener("click", function () {
      var max = parseInt(T.max, 10);
      var r = Math.max(1, Math.min(max, parseInt(document.getElementById("grid-rows").value, 10) || 1));
      var c = Math.max(1, Math.min(max, parseInt(document.getElementById("grid-cols").value, 10) || 1));
      setGrid(r, c);
    });
    document.getElementById("tile-grow").addEventListener("click", grow);
    document.getElementById("tile-split").addEventListener("click", split);
    document.getElementById("wall-fullscreen").addEventListener("click", function () {
      var main = document.getElementById("wall-main");
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (main.requestFullscreen) { main.requestFullscreen(); }
    });
    document.getElementById("tree-search").addEventListener("input", function (ev) { search(ev.target.value); });
    document.getElementById("layout-list").addEventListener("change", function (ev) {
      var id = parseInt(ev.target.value, 10);
      useLayout(saved.filter(function (l) { return l.id === id; })[0] || null);
    });
    document.getElementById("layout-save").addEventListener("click", saveLayout);
    document.getElementById("layout-delete").addEventListener("click", deleteLayout);
    window.addEventListener("pagehide", stopAll);
    var initial = (T.initial || "").split(",").filter(function (x) { return x; }).map(Number);
    var n = initial.length <= 1 ? 1 : initial.length <= 4 ? 2 : initial.length <= 9 ? 3 : 4;
    loadTree().then(function () {
      setGrid(initial.length ? n : 2, initial.length ? n : 2, initial);
      wall.dataset.ready = "1";
    });
    loadList("");
    setInterval(refreshStates, 30000);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
