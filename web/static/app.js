// Fuju pages work without this file; it only adds "use my location", the
// "swipe to see more" line over tables wider than the screen, the print
// button of receipts and the copy buttons next to secrets shown once.
(function () {
  "use strict";
  function round(x) { return Math.round(x * 1000) / 1000; }
  document.querySelectorAll(".js-near").forEach(function (btn) {
    if (!("geolocation" in navigator)) { return; }
    btn.hidden = false;
    var status = btn.parentNode.querySelector(".js-near-status");
    btn.addEventListener("click", function () {
      btn.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var url = new URL(window.location.href);
        url.searchParams.delete("district");
        url.searchParams.delete("page");
        url.searchParams.set("near", round(pos.coords.latitude) + "," + round(pos.coords.longitude));
        if (url.pathname === "/") { url.pathname = "/stations"; }
        if (url.pathname === "/products") { url.searchParams.set("sort", "distance"); url.hash = "results"; }
        window.location.assign(url.toString());
      }, function () {
        btn.disabled = false;
        if (status) { status.textContent = btn.getAttribute("data-denied"); }
        var sel = btn.parentNode.querySelector("select");
        if (sel) { sel.focus(); }
      }, { timeout: 10000, maximumAge: 600000 });
    });
  });
  var scrollers = document.querySelectorAll(".table-wrap.scroller");
  function hints() {
    scrollers.forEach(function (wrap) {
      var hint = wrap.previousElementSibling;
      if (hint && hint.classList.contains("scroll-hint")) {
        hint.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
      }
    });
  }
  if (scrollers.length) { hints(); window.addEventListener("resize", hints); }
  document.querySelectorAll(".js-print").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { window.print(); });
  });
})();

(function () {
  "use strict";
  document.querySelectorAll(".js-copy").forEach(function (btn) {
    var field = document.querySelector(btn.getAttribute("data-copy"));
    if (!field) { return; }
    var status = btn.parentNode.querySelector(".js-copy-status");
    btn.hidden = false;
    function say(key) { if (status) { status.textContent = btn.getAttribute(key); } }
    function fallback() {
      field.focus();
      field.select();
      try { say(document.execCommand("copy") ? "data-copied" : "data-failed"); } catch (e) { say("data-failed"); }
    }
    btn.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say("data-copied"); }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
