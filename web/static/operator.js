// The operator console works without this file; it only adds "use my current
// location" to the station form, filling in latitude and longitude.
(function () {
  "use strict";
  function round(x) { return Math.round(x * 1e6) / 1e6; }
  document.querySelectorAll(".js-locate").forEach(function (btn) {
    if (!("geolocation" in navigator)) { return; }
    var form = btn.form;
    var status = form.querySelector(".js-locate-status");
    btn.hidden = false;
    btn.addEventListener("click", function () {
      btn.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        btn.disabled = false;
        form.querySelector("[name=lat]").value = round(pos.coords.latitude);
        form.querySelector("[name=lng]").value = round(pos.coords.longitude);
        if (status) { status.textContent = btn.getAttribute("data-done"); }
      }, function () {
        btn.disabled = false;
        if (status) { status.textContent = btn.getAttribute("data-denied"); }
        form.querySelector("[name=lat]").focus();
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
})();
