// Low-latency live video for kgys: fragmented MP4 from /live/{id}/ws (a text message with the codec, then binary
// messages: the init segment and a fragment per frame, the frames of about a tenth of a second in one message)
// appended as they come to a Media Source Extensions SourceBuffer. The playhead is
// kept at the live edge: more than half a second behind, it jumps; a little behind, it plays slightly faster.
// Used by the video wall (wall.js) and the site's live grid (live.js); both fall back to HLS (hls.js) when this
// path is not available: no MediaSource or WebSocket, a codec the browser cannot decode, or a socket that fails
// before the first frame.
(function () {
  "use strict";

  // The server sends the frames of about a tenth of a second together: a jump puts the playhead two tenths
  // behind the newest frame (BEHIND_AIM), so that it does not run dry before the next message.
  var BEHIND_JUMP = 0.5, BEHIND_FAST = 0.2, BEHIND_AIM = 0.2, KEEP = 8, STALL_MS = 6000;

  function supported() {
    return typeof window.MediaSource !== "undefined" && typeof window.WebSocket !== "undefined" &&
      typeof window.MediaSource.isTypeSupported === "function";
  }
  // the socket of a live viewing, from the playlist URL POST /api/v1/cameras/{id}/live answered (same ticket)
  function socketUrl(playlist) {
    var u = new URL(playlist.replace("/index.m3u8", "/ws"), window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }

  // Plays `url` in `video`. on.playing(): the first frame is shown. on.fallback(code, reason): this path cannot
  // play here (try HLS). on.ended(code, reason): the stream ended after it played, or the server refused it with
  // a reason (4403: the ticket or sign-in ended; 4404: no live video). Returns {stop}.
  function play(video, url, on) {
    var ms = new window.MediaSource(), ws = null, sb = null, queue = [], playing = false, done = false;
    var last = Date.now(), timer = null, src = URL.createObjectURL(ms);
    video.src = src;

    function stop() {
      if (done) { return; }
      done = true;
      clearInterval(timer);
      if (ws) { ws.onmessage = ws.onclose = ws.onerror = null; try { ws.close(); } catch (e) { /* closed */ } }
      video.removeAttribute("src");
      try { video.load(); } catch (e) { /* detached */ }
      URL.revokeObjectURL(src);
    }
    function finish(fallback, code, reason) {
      if (done) { return; }
      stop();
      if (fallback) { on.fallback(code, reason); } else { on.ended(code, reason); }
    }
    function pump() {
      if (done || !sb || sb.updating || !queue.length) { return; }
      try {
        sb.appendBuffer(queue.shift());
      } catch (e) {
        if (e.name === "QuotaExceededError" && video.buffered.length) {
          queue = []; sb.remove(0, Math.max(0, video.currentTime - 1));
        } else {
          finish(!playing, 0, String(e.name || e));
        }
      }
    }
    function tick() {
      if (done) { return; }
      if (Date.now() - last > STALL_MS) { finish(!playing, 0, "stalled"); return; }
      var b = video.buffered;
      if (!b.length) { return; }
      var start = b.start(b.length - 1), end = b.end(b.length - 1), behind = end - video.currentTime;
      if (behind > BEHIND_JUMP || video.currentTime < start) {
        video.currentTime = Math.max(start, end - BEHIND_AIM);
      }
      video.playbackRate = behind > BEHIND_FAST && behind <= BEHIND_JUMP ? 1.1 : 1.0;
      video.dataset.behind = behind.toFixed(3);
      if (video.paused) { video.play().catch(function () { /* a muted video may autoplay */ }); }
      if (sb && !sb.updating && video.currentTime - b.start(0) > KEEP * 2) {
        try { sb.remove(0, video.currentTime - KEEP); } catch (e) { /* retried at the next tick */ }
      }
    }
    video.addEventListener("playing", function once() {
      video.removeEventListener("playing", once);
      if (!done && !playing) { playing = true; on.playing(); }
    });
    ms.addEventListener("sourceopen", function () {
      if (done) { return; }
      try { ws = new window.WebSocket(url); } catch (e) { finish(true, 0, "socket"); return; }
      ws.binaryType = "arraybuffer";
      ws.onmessage = function (ev) {
        last = Date.now();
        if (typeof ev.data === "string") {
          var type = 'video/mp4; codecs="' + JSON.parse(ev.data).codec + '"';
          if (!window.MediaSource.isTypeSupported(type)) { finish(true, 4415, "codec"); return; }
          if (!sb) {
            try { sb = ms.addSourceBuffer(type); } catch (e) { finish(true, 4415, "codec"); return; }
            sb.mode = "segments";
            sb.addEventListener("updateend", pump);
            sb.addEventListener("error", function () { finish(!playing, 0, "decode"); });
          }
          return;
        }
        if (!sb) { return; }
        queue.push(ev.data);
        pump();
      };
      ws.onclose = function (ev) {
        var refused = ev.code === 4403 || ev.code === 4404;
        finish(ev.code === 4415 || (!playing && !refused), ev.code, ev.reason);
      };
    });
    timer = setInterval(tick, 200);
    return {stop: stop};
  }

  window.KgysLowLat = {supported: supported, socketUrl: socketUrl, play: play};
})();
