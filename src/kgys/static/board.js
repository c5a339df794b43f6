// The supervisor's board refreshes itself: every few seconds the page is read again and its board replaced, so
// that texts stay translated by the server. When the server cannot be reached the badge says so.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var live = document.getElementById("board-live");
  if (!board || !window.fetch || !window.DOMParser) { return; }
  var every = (parseFloat(board.getAttribute("data-refresh")) || 5) * 1000;
  var liveText = live ? live.textContent : "";

  function stale(yes) {
    if (!live) { return; }
    live.textContent = yes ? live.getAttribute("data-stale") : liveText;
    live.classList.toggle("non_compliant", yes);
  }

  function refresh() {
    fetch(window.location.href, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
      if (r.redirected || !r.ok) { throw new Error("status " + r.status); }
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
      if (!fresh) { throw new Error("no board"); }
      board.innerHTML = fresh.innerHTML;
      stale(false);
    }).catch(function () { stale(true); }).then(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
