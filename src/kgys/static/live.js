// The live camera grid of a site (playback is playback.js). A live tile plays over the low-latency path
// (fragmented MP4 over a WebSocket, lowlat.js) where the browser can, else over HLS: hls.js (from npm, served by kgys) plays it through
// Media Source Extensions, because Chromium has no native HLS. The tile's badge says which path ("LL"/"HLS").
// Texts come translated from data-t-* attributes.
(function () {
  "use strict";

  function hlsAvailable() { return typeof window.Hls !== "undefined" && window.Hls.isSupported(); }
  // H.265 plays only where the browser decodes it (Debian's Chromium does not): say so instead of failing.
  function playable(codec) {
    return codec !== "h265" || (typeof window.MediaSource !== "undefined" &&
      window.MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L120.90"'));
  }

  // ---- live grid ---------------------------------------------------------------------------------
  function startLive(grid) {
    var csrf = grid.dataset.csrf, reason = grid.dataset.reason, t = grid.dataset;
    grid.querySelectorAll(".video-tile[data-camera]").forEach(function (tile) {
      var video = tile.querySelector("video"), state = tile.querySelector(".state");
      var camera = tile.dataset.camera, hls = null, ll = null, timer = null, playlist = null;
      var lowlat = tile.dataset.codec !== "h265" && !!window.KgysLowLat && window.KgysLowLat.supported();
      var why = tile.dataset.codec === "h265" ? t.tPathHevc : "";
      function show(text, cls) { state.textContent = text; state.className = "state " + (cls || ""); }
      function badge(path) {
        var b = tile.querySelector(".path");
        tile.dataset.path = path; b.hidden = false; b.className = "path " + path;
        b.textContent = path === "ll" ? "LL" : "HLS";
        b.title = path === "ll" ? t.tPathLl : t.tPathHls + (why ? " " + why : "");
      }
      if (!hlsAvailable() && !lowlat) { show(t.tNoplayer, "bad"); return; }
      if (!playable(tile.dataset.codec)) { show(t.tNohevc, "bad"); tile.dataset.unplayable = "h265"; return; }
      function open() {
        show(t.tConnecting);
        fetch("/api/v1/cameras/" + camera + "/live", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
          body: JSON.stringify({reason: reason})
        }).then(function (r) {
          if (r.status === 403 || r.status === 404) { show(t.tDenied, "bad"); return null; }
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        }).then(function (body) { if (body) { playlist = body.playlist; start(playlist); } })
          .catch(function () { show(t.tOffline, "bad"); retry(); });
      }
      // A stream that fails is loaded again with the same viewing ticket (one audit entry per viewing); only a
      // ticket that has ended (403) opens the camera anew.
      function retry() {
        if (hls) { hls.destroy(); hls = null; }
        if (ll) { ll.stop(); ll = null; }
        setTimeout(function () { if (playlist) { start(playlist); } else { open(); } }, 5000);
      }
      function start(url) { if (lowlat) { playLL(url); } else { play(url); } }
      function playLL(url) {
        badge("ll");
        ll = window.KgysLowLat.play(video, window.KgysLowLat.socketUrl(url), {
          playing: function () { show(t.tLive, "ok"); },
          fallback: function () {
            ll = null; lowlat = false; why = t.tPathFailed;
            if (hlsAvailable()) { play(url); } else { show(t.tNoplayer, "bad"); }
          },
          ended: function (code) {
            ll = null;
            if (code === 4403) { playlist = null; }
            show(t.tOffline, "bad"); retry();
          }
        });
      }
      function play(url) {
        badge("hls");
        hls = new window.Hls({
          enableWorker: false, lowLatencyMode: false, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3,
          maxLiveSyncPlaybackRate: 1.5, backBufferLength: 10, manifestLoadingMaxRetry: 2
        });
        hls.on(window.Hls.Events.ERROR, function (_e, data) {
          if (!data.fatal) { return; }
          if (data.response && data.response.code === 403) { playlist = null; }
          show(t.tOffline, "bad"); retry();
        });
        hls.loadSource(url);
        hls.attachMedia(video);
        video.play().catch(function () { /* autoplay of muted video is allowed; ignore */ });
      }
      if (timer === null) {
        timer = setInterval(function () {
          if (ll && video.dataset.behind) {  // the low-latency path: how far the playhead is behind what arrived
            show(t.tLive, "ok");
            return;
          }
          if (!hls || video.readyState < 2) { return; }
          var at = hls.playingDate;
          if (at) {
            var delay = Math.max(0, (Date.now() - at.getTime()) / 1000);
            tile.dataset.latency = delay.toFixed(2);
            show(t.tLive + " · " + t.tDelay.replace("{s}", delay.toFixed(1)), "ok");
          }
        }, 1000);
      }
      open();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var grid = document.getElementById("live-grid");
    if (grid) { startLive(grid); }
  });
})();
