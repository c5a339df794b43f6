// Synchronised playback of several cameras for kgys: one master clock that every camera's video follows, and one
// zoomable timeline of the cameras' coverage, gaps (by cause), legal holds and bookmarks. hls.js (served by kgys)
// plays each camera's HLS VOD playlist; its #EXT-X-PROGRAM-DATE-TIME tags map each video's time to the wall-clock
// time it was recorded. Texts come translated from data-t-* attributes; times are shown in the reader's zone.
(function () {
  "use strict";

  var SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
  var FRAME = 0.04; // one frame at 25 fps
  var SEEK_OFF = 0.25; // a video further off the master clock than this is seeked; closer, nudged
  var MIN_SPAN = 10, MAX_SPAN = 86400;
  var STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  function hlsAvailable() { return typeof window.Hls !== "undefined" && window.Hls.isSupported(); }
  function playable(codec) {
    return codec !== "h265" || (typeof window.MediaSource !== "undefined" &&
      window.MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L120.90"'));
  }
  function clamp(x, a, b) { return Math.min(b, Math.max(a, x)); }

  function start(section) {
    var data = JSON.parse(document.getElementById("review-data").textContent);
    var t = section.dataset, zone = data.zone, lang = t.lang || "tr";
    var r0 = data.from, r1 = data.to;
    var view = [r0, r1];
    var master = data.at, playing = true, rate = 1, lastTick = null, holdSince = null;
    var timelineEl = document.getElementById("timeline"), scale = document.getElementById("tl-scale");
    var cursor = document.getElementById("cursor"), tip = document.getElementById("tl-tip");
    var thumb = document.getElementById("tl-thumb"), tipText = document.getElementById("tl-tip-text");
    var clock = document.getElementById("clock"), player = document.getElementById("player");
    var message = document.getElementById("pb-message");
    var byId = {};
    data.cameras.forEach(function (c) { byId[c.id] = c; });

    // ---- time in the reader's zone ---------------------------------------------------------------
    function fmt(opts) { return new Intl.DateTimeFormat(lang, Object.assign({timeZone: zone, hourCycle: "h23"}, opts)); }
    var fullFmt = fmt({year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                       second: "2-digit"});
    var secFmt = fmt({hour: "2-digit", minute: "2-digit", second: "2-digit"});
    var minFmt = fmt({hour: "2-digit", minute: "2-digit"});
    var dayFmt = fmt({month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
    function shown(sec, withMs) {
      var text = fullFmt.format(new Date(sec * 1000));
      if (withMs) { text += "." + String(Math.floor((sec % 1) * 1000 + 1000)).slice(1); }
      return text;
    }
    // The zone's offset from UTC (seconds) at `sec`, so that ticks fall on whole local minutes, hours and days.
    function zoneOffset(sec) {
      var parts = {};
      fmt({year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric"})
        .formatToParts(new Date(Math.floor(sec) * 1000)).forEach(function (p) { parts[p.type] = p.value; });
      var local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
      return (local - Math.floor(sec) * 1000) / 1000;
    }

    // ---- the cameras -----------------------------------------------------------------------------
    var cams = [];
    player && player.querySelectorAll(".pb-tile").forEach(function (tile) {
      var info = byId[tile.dataset.camera];
      var cam = {info: info, tile: tile, video: tile.querySelector("video"), overlay: tile.querySelector(".pb-overlay"),
                 state: tile.querySelector(".state"), frags: [], hls: null, ready: false, lastSeek: 0, broken: false,
                 ticket: info.playlist ? new URL(info.playlist, location.href).searchParams.get("t") : null};
      cams.push(cam);
      tile.addEventListener("click", function () { select(info.id); });
      if (!hlsAvailable()) { cam.broken = true; say(cam, t.tNoplayer); return; }
      if (!playable(tile.dataset.codec)) { cam.broken = true; tile.dataset.unplayable = "h265"; say(cam, t.tNohevc); return; }
      if (!info.playlist) { return; }
      cam.hls = new window.Hls({enableWorker: false, maxBufferLength: 20, backBufferLength: 30});
      cam.hls.on(window.Hls.Events.LEVEL_LOADED, function (_e, d) {
        cam.frags = d.details.fragments.map(function (f) {
          return {wall: f.programDateTime / 1000, start: f.start, dur: f.duration};
        });
        cam.ready = true;
        follow(cam, true);
      });
      cam.hls.on(window.Hls.Events.ERROR, function (_e, d) { if (d.fatal) { cam.broken = true; say(cam, t.tError); } });
      cam.hls.loadSource(info.playlist);
      cam.hls.attachMedia(cam.video);
    });
    function say(cam, text) {
      cam.overlay.textContent = text || "";
      cam.overlay.hidden = !text;
    }
    function select(id) {
      var target = document.getElementById("pb-target");
      if (target) { target.value = String(id); }
      cams.forEach(function (c) { c.tile.classList.toggle("selected", c.info.id === +id); });
    }
    if (cams.length) { select(cams[0].info.id); }

    // The video time of wall-clock time `wall` for a camera, or null when it has no recording then.
    function toMedia(cam, wall) {
      for (var i = 0; i < cam.frags.length; i++) {
        var f = cam.frags[i];
        if (wall >= f.wall && wall < f.wall + f.dur) { return f.start + (wall - f.wall); }
      }
      return null;
    }
    function toWall(cam, media) {
      for (var i = 0; i < cam.frags.length; i++) {
        var f = cam.frags[i];
        if (media >= f.start - 0.001 && media < f.start + f.dur) { return f.wall + (media - f.start); }
      }
      return null;
    }
    function gapAt(info, wall) {
      for (var i = 0; i < info.gaps.length; i++) {
        var g = info.gaps[i];
        if (wall >= g[0] && wall < g[1]) { return g; }
      }
      return null;
    }

    // Make one camera follow the master clock: seek when far off, nudge its rate when a little off, or show why it
    // has nothing to show at this time.
    function follow(cam, force) {
      if (!cam.hls || cam.broken || !cam.ready) { return; }
      var v = cam.video, target = toMedia(cam, master);
      if (target === null) {
        if (!v.paused) { v.pause(); }
        var g = gapAt(cam.info, master);
        say(cam, t.tNorec + (g ? ": " + g[3] + (g[4] ? " (" + g[4] + ")" : "") : ""));
        cam.tile.dataset.gap = "1";
        delete cam.tile.dataset.wall;
        return;
      }
      if (cam.tile.dataset.gap) { delete cam.tile.dataset.gap; say(cam, ""); force = true; }
      var off = v.currentTime - target, now = performance.now();
      if (force || (Math.abs(off) > SEEK_OFF && !v.seeking && now - cam.lastSeek > 1000) || (!playing && Math.abs(off) > 0.02)) {
        v.currentTime = target;
        cam.lastSeek = now;
        v.playbackRate = rate;
      } else if (playing) {
        // within a quarter second: a small change of speed brings it back without a visible jump
        v.playbackRate = rate * clamp(1 - off * 0.5, 0.9, 1.1);
      }
      if (playing && v.paused) { v.play().catch(function () {}); }
      if (!playing && !v.paused) { v.pause(); }
    }

    // A camera that should be playing but is still loading or seeking holds the master clock (at most 5 s).
    function waiting() {
      return cams.some(function (cam) {
        if (!cam.hls || cam.broken) { return false; }
        if (!cam.ready) { return true; }
        return toMedia(cam, master) !== null && (cam.video.seeking || cam.video.readyState < 3);
      });
    }

    function tick(now) {
      if (lastTick !== null && playing) {
        var hold = waiting();
        if (hold && holdSince === null) { holdSince = now; }
        if (!hold) { holdSince = null; }
        if (!hold || now - holdSince > 5000) {
          master = Math.min(r1, master + (now - lastTick) / 1000 * rate);
          if (master >= r1) { setPlaying(false); }
        }
      }
      lastTick = now;
      cams.forEach(function (cam) {
        follow(cam, false);
        if (cam.ready && !cam.tile.dataset.gap && cam.video.readyState >= 2) {
          var w = toWall(cam, cam.video.currentTime);
          if (w !== null) { cam.tile.dataset.wall = w.toFixed(3); }
        }
      });
      if (player) { player.dataset.master = master.toFixed(3); }
      if (clock) { clock.textContent = shown(master, !playing); }
      drawCursor();
      window.requestAnimationFrame(tick);
    }

    function seekAll(wall) {
      master = clamp(wall, r0, r1 - 0.001);
      holdSince = null;
      cams.forEach(function (cam) { follow(cam, true); });
      drawCursor();
    }
    function setPlaying(on) {
      playing = on;
      var btn = document.getElementById("pb-play");
      if (btn) { btn.textContent = on ? btn.dataset.tPause : btn.dataset.tPlay; }
      cams.forEach(function (cam) { follow(cam, !on); });
    }

    // ---- the controls ----------------------------------------------------------------------------
    function on(id, ev, fn) { var el = document.getElementById(id); if (el) { el.addEventListener(ev, fn); } }
    on("pb-play", "click", function () { setPlaying(!playing); });
    on("pb-speed", "change", function (ev) {
      var value = parseFloat(ev.target.value);
      rate = SPEEDS.indexOf(value) >= 0 ? value : 1;
      cams.forEach(function (cam) { cam.video.playbackRate = rate; });
    });
    function step(frames) { setPlaying(false); seekAll(master + frames * FRAME); }
    on("pb-back", "click", function () { step(-1); });
    on("pb-fwd", "click", function () { step(1); });
    document.addEventListener("keydown", function (ev) {
      if (!cams.length || ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") { return; }
      if (ev.key === " ") { ev.preventDefault(); setPlaying(!playing); }
      else if (ev.key === "ArrowLeft" && !playing) { step(-1); }
      else if (ev.key === "ArrowRight" && !playing) { step(1); }
    });

    // ---- the timeline ----------------------------------------------------------------------------
    var tracks = Array.prototype.slice.call(timelineEl.querySelectorAll(".tl-track"));
    function width() { return tracks.length ? tracks[0].clientWidth : scale.clientWidth; }
    function left() { return tracks.length ? tracks[0].getBoundingClientRect().left : scale.getBoundingClientRect().left; }
    function xOf(sec) { return (sec - view[0]) / (view[1] - view[0]) * width(); }
    function timeAt(clientX) { return view[0] + (clientX - left()) / width() * (view[1] - view[0]); }
    function box(cls, a, b, title) {
      var x0 = clamp(xOf(a), -2, width() + 2), x1 = clamp(xOf(b), -2, width() + 2);
      if (x1 - x0 < 0.5 && cls.indexOf("mark") < 0) { return null; }
      var el = document.createElement("div");
      el.className = cls;
      el.style.left = x0 + "px";
      if (cls !== "mark") { el.style.width = Math.max(1, x1 - x0) + "px"; }
      if (title) { el.title = title; }
      return el;
    }
    function draw() {
      tracks.forEach(function (track) {
        var info = byId[track.parentNode.dataset.camera], items = [];
        items.push(box("outside", view[0] - 1e9, r0), box("outside", r1, view[1] + 1e9));
        info.recorded.forEach(function (r) { items.push(box("bar recorded", r[0], r[1])); });
        info.gaps.forEach(function (g) {
          var el = box("bar gap cause-" + g[2], g[0], g[1], t.tGap + ": " + g[3] + (g[4] ? " · " + g[4] : ""));
          if (el) { el.dataset.cause = g[2]; el.dataset.kind = "gap"; }
          items.push(el);
        });
        info.holds.forEach(function (h) { items.push(box("hold", h[0], h[1], t.tHold)); });
        info.bookmarks.forEach(function (m) {
          var el = m.to ? box("mark span", m.at, m.to, m.note) : box("mark", m.at, m.at, m.note);
          if (el) { el.dataset.bookmark = m.id; }
          items.push(el);
        });
        track.textContent = "";
        items.forEach(function (el) { if (el) { track.appendChild(el); } });
      });
      drawScale();
      drawCursor();
    }
    function drawScale() {
      var span = view[1] - view[0], w = width(), stepS = STEPS[STEPS.length - 1];
      for (var i = 0; i < STEPS.length; i++) { if (STEPS[i] / span * w >= 80) { stepS = STEPS[i]; break; } }
      var off = zoneOffset(view[0]), label = stepS < 60 ? secFmt : (stepS >= 10800 ? dayFmt : minFmt);
      var first = Math.ceil((view[0] + off) / stepS) * stepS - off;
      scale.textContent = "";
      scale.style.marginLeft = (left() - timelineEl.getBoundingClientRect().left) + "px";
      for (var s = first; s <= view[1]; s += stepS) {
        var el = document.createElement("span");
        el.className = "tick";
        el.style.left = xOf(s) + "px";
        el.textContent = label.format(new Date(s * 1000));
        el.dataset.t = String(s);
        scale.appendChild(el);
      }
    }
    function drawCursor() {
      var x = xOf(master);
      cursor.style.display = x >= 0 && x <= width() ? "block" : "none";
      cursor.style.left = (left() - timelineEl.getBoundingClientRect().left + x) + "px";
    }
    function zoom(factor, around) {
      var span = clamp((view[1] - view[0]) * factor, MIN_SPAN, MAX_SPAN);
      var frac = (around - view[0]) / (view[1] - view[0]);
      view = [around - frac * span, around - frac * span + span];
      timelineEl.dataset.viewFrom = view[0].toFixed(3);
      timelineEl.dataset.viewTo = view[1].toFixed(3);
      draw();
    }
    on("zoom-in", "click", function () { zoom(0.5, clamp(master, view[0], view[1])); });
    on("zoom-out", "click", function () { zoom(2, clamp(master, view[0], view[1])); });
    on("zoom-all", "click", function () { view = [r0, r1]; draw(); });
    timelineEl.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      zoom(ev.deltaY > 0 ? 1.25 : 0.8, timeAt(ev.clientX));
    }, {passive: false});

    // drag to pan, two fingers to zoom, a click (no drag) to seek
    var pointers = {}, drag = null;
    timelineEl.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest(".tl-name")) { return; }
      pointers[ev.pointerId] = ev.clientX;
      timelineEl.setPointerCapture(ev.pointerId);
      var xs = Object.keys(pointers).map(function (k) { return pointers[k]; });
      drag = {x: ev.clientX, view: view.slice(), moved: false,
              pinch: xs.length === 2 ? Math.abs(xs[0] - xs[1]) : null};
    });
    timelineEl.addEventListener("pointermove", function (ev) {
      hover(ev);
      if (!drag || !(ev.pointerId in pointers)) { return; }
      pointers[ev.pointerId] = ev.clientX;
      var xs = Object.keys(pointers).map(function (k) { return pointers[k]; });
      if (drag.pinch && xs.length === 2) {
        var d = Math.abs(xs[0] - xs[1]);
        if (d > 10) { view = drag.view.slice(); zoom(drag.pinch / d, timeAt((xs[0] + xs[1]) / 2)); }
        drag.moved = true;
        return;
      }
      var dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 3) { drag.moved = true; }
      if (drag.moved) {
        var shift = -dx / width() * (drag.view[1] - drag.view[0]);
        view = [drag.view[0] + shift, drag.view[1] + shift];
        draw();
      }
    });
    function release(ev) {
      delete pointers[ev.pointerId];
      if (drag && !drag.moved && ev.type === "pointerup" && !drag.pinch) { seekAll(timeAt(ev.clientX)); }
      if (!Object.keys(pointers).length) { drag = null; }
    }
    timelineEl.addEventListener("pointerup", release);
    timelineEl.addEventListener("pointercancel", release);
    timelineEl.addEventListener("pointerleave", function () { tip.hidden = true; });

    // hovering: the time, what is there, and a thumbnail of the keyframe from the server
    var thumbTimer = null;
    function hover(ev) {
      var row = ev.target.closest ? ev.target.closest(".tl-row") : null;
      var sec = timeAt(ev.clientX);
      if (!row || sec < view[0] || sec > view[1]) { tip.hidden = true; return; }
      var info = byId[row.dataset.camera], lines = [info.name + " · " + shown(sec)];
      var g = gapAt(info, sec);
      if (sec < r0 || sec > r1) { lines.push(t.tOutside); }
      else if (g) { lines.push(t.tGap + ": " + g[3] + (g[4] ? " · " + g[4] : "")); }
      info.holds.forEach(function (h) { if (sec >= h[0] && sec < h[1]) { lines.push(t.tHold); } });
      info.bookmarks.forEach(function (m) {
        var near = 6 / width() * (view[1] - view[0]);
        if (Math.abs(sec - m.at) < near || (m.to && sec >= m.at && sec < m.to)) { lines.push(t.tBookmark + ": " + m.note); }
      });
      tipText.textContent = lines.join("\n");
      tipText.style.whiteSpace = "pre-line";
      tip.hidden = false;
      tip.style.left = clamp(ev.clientX - timelineEl.getBoundingClientRect().left - 80, 0,
                             timelineEl.clientWidth - 170) + "px";
      var cam = cams.filter(function (c) { return c.info.id === info.id; })[0];
      var recorded = info.recorded.some(function (r) { return sec >= r[0] && sec < r[1]; });
      clearTimeout(thumbTimer);
      if (!cam || !cam.ticket || !recorded || sec < r0 || sec >= r1) { thumb.hidden = true; return; }
      thumbTimer = setTimeout(function () {
        var src = "/cameras/" + info.id + "/playback/thumb.jpg?at=" + Math.floor(sec / 2) * 2 +
          "&t=" + encodeURIComponent(cam.ticket);
        if (thumb.getAttribute("src") !== src) { thumb.src = src; }
        thumb.hidden = false;
      }, 150);
    }
    thumb.addEventListener("error", function () { thumb.hidden = true; });

    // ---- bookmarks and snapshots -----------------------------------------------------------------
    function iso(sec) { return new Date(Math.round(sec * 1000)).toISOString(); }
    function api(url, body) {
      return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                         headers: {"Content-Type": "application/json", "X-CSRF-Token": t.csrf}})
        .then(function (r) {
          if (r.ok) { return r; }
          return r.json().then(function (b) { throw new Error((b.error && b.error.message) || ("HTTP " + r.status)); },
                               function () { throw new Error("HTTP " + r.status); });
        });
    }
    function tell(text) { if (message) { message.textContent = text; } }
    function target() { var el = document.getElementById("pb-target"); return el ? +el.value : cams[0].info.id; }
    function listBookmarks() {
      var list = document.getElementById("bookmarks"), any = false;
      list.textContent = "";
      data.cameras.forEach(function (info) {
        info.bookmarks.forEach(function (m) {
          any = true;
          var li = document.createElement("li"), a = document.createElement("a");
          li.dataset.bookmark = m.id;
          a.href = "#";
          a.textContent = shown(m.at) + (m.to ? " – " + shown(m.to) : "");
          a.addEventListener("click", function (ev) { ev.preventDefault(); seekAll(m.at); });
          li.appendChild(a);
          li.appendChild(document.createTextNode(" · " + info.name + (m.note ? " · " + m.note : "")));
          list.appendChild(li);
        });
      });
      if (!any) { list.textContent = list.dataset.tNone; }
    }
    on("pb-bookmark", "click", function () {
      var note = document.getElementById("pb-note"), cam = target(), at = master;
      api("/api/v1/bookmarks", {camera_id: cam, at: iso(at), note: note.value})
        .then(function (r) { return r.json(); })
        .then(function (b) {
          byId[cam].bookmarks.push({id: b.id, at: Date.parse(b.at) / 1000, to: b.to ? Date.parse(b.to) / 1000 : null,
                                    note: b.note, mine: true});
          note.value = "";
          tell(t.tSaved);
          draw(); listBookmarks();
        })
        .catch(function (e) { tell(t.tFailed.replace("{reason}", e.message)); });
    });
    on("pb-snapshot", "click", function () {
      var cam = target();
      api("/api/v1/cameras/" + cam + "/snapshot", {at: iso(master), reason: t.reason})
        .then(function (r) {
          var name = (r.headers.get("Content-Disposition") || "").replace(/.*filename="([^"]+)".*/, "$1") || "snapshot.png";
          return r.blob().then(function (blob) {
            var a = document.createElement("a");
            a.href = URL.createObjectURL(blob);
            a.download = name;
            document.body.appendChild(a);
            a.click();
            setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
            tell(t.tSnapshot);
          });
        })
        .catch(function (e) { tell(t.tFailed.replace("{reason}", e.message)); });
    });

    window.addEventListener("resize", draw);
    draw();
    listBookmarks();
    section.kgysSeek = seekAll;
    // a range that starts before any recording plays from the first recorded moment
    if (master === r0 && !data.cameras.some(function (c) { return c.recorded.some(function (r) { return r[0] <= r0; }); })) {
      var firsts = data.cameras.map(function (c) { return c.recorded.length ? c.recorded[0][0] : r1; });
      master = clamp(Math.min.apply(null, firsts), r0, r1);
    }
    if (cams.length) { window.requestAnimationFrame(tick); }
    else {
      // before the reason is given: a click on the timeline only moves where playback will start
      section.kgysSeek = function (wall) {
        master = clamp(wall, r0, r1);
        var at = document.querySelector("#reason-form input[name=at]");
        if (at) { at.value = new Date(master * 1000).toISOString().slice(0, 19) + "Z"; }
        drawCursor();
      };
      seekAll = section.kgysSeek;
      drawCursor();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("review");
    if (section) { start(section); }
  });
})();
