/* Small page behaviours without inline scripts (the CSP forbids them). */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      ev.preventDefault();
    }
  });
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });
})();

/* Times in the page's zone: the zone the server shows times in (<html data-tz>, the reader's own or the
   installation's), never the browser's. window.kgysTime.dateTime(x) → "2026-12-06 08:10:32", .time(x) →
   "08:10", .time(x, true) → "08:10:32"; x is a Date, milliseconds or an ISO 8601 text (UTC from the server). */
window.kgysTime = (function () {
  "use strict";
  var root = document.documentElement;
  var formats = {};
  function zone() { return root.getAttribute("data-tz") || "Europe/Istanbul"; }
  function label() { return root.getAttribute("data-tz-label") || zone(); }
  function format() {
    var key = zone();
    if (!formats[key]) {
      var opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                   second: "2-digit", hourCycle: "h23", timeZone: key };
      try { formats[key] = new Intl.DateTimeFormat(root.lang || "tr", opts); } catch (e) {
        delete opts.timeZone; formats[key] = new Intl.DateTimeFormat(root.lang || "tr", opts);
      }
    }
    return formats[key];
  }
  function parts(value) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) { return null; }
    var out = {};
    format().formatToParts(d).forEach(function (p) { out[p.type] = p.value; });
    if (out.hour === "24") { out.hour = "00"; }
    return out;
  }
  return {
    zone: zone,
    label: label,
    dateTime: function (value) {
      var p = parts(value);
      return p ? p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second : "–";
    },
    time: function (value, seconds) {
      var p = parts(value);
      return p ? p.hour + ":" + p.minute + (seconds ? ":" + p.second : "") : "–";
    }
  };
})();
