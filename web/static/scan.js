// Staff desk: scan a unit's QR asset tag with the tablet's camera. The form
// works without this file (staff type the tag, or a hardware scanner types it
// and presses Enter); this file only unhides the scan buttons where a camera can
// be used, and never listens to keys in the form, so hardware scanners still work.
// Page contract, per form:
//   <input name="unit" id="…" data-scan-target>
//   <button type="button" class="js-scan" hidden data-cancel="取消 / Cancel"
//           data-denied="…message…" [data-autosubmit]>扫码 / Scan</button>
// Frames are decoded by BarcodeDetector where it reads QR codes, else by jsQR,
// loaded on first use from /static/vendor/jsqr.min.js (or from the URL in a
// data-jsqr attribute on this file's <script> element). Needs a secure context
// (HTTPS or localhost): elsewhere browsers have no navigator.mediaDevices.
(function () {
  "use strict";
  var media = navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== "function") { return; }
  var me = document.currentScript;
  var jsqrSrc = (me && me.getAttribute("data-jsqr")) || "/static/vendor/jsqr.min.js";
  var jsqrLoading = null; // one <script> per page, however often staff scan

  // loadJsQR adds the decoder as a same-origin <script>: no eval, no inline
  // code, so a CSP of script-src 'self' allows it.
  function loadJsQR() {
    if (!jsqrLoading) {
      jsqrLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = jsqrSrc;
        s.onload = function () { return window.jsQR ? resolve(window.jsQR) : reject(new Error("no jsQR")); };
        s.onerror = function () { jsqrLoading = null; s.remove(); reject(new Error("jsQR did not load")); };
        document.head.appendChild(s);
      });
    }
    return jsqrLoading;
  }

  // makeDecoder resolves to an async function(video) returning the text of a
  // QR code in the current frame, or "".
  async function makeDecoder() {
    if ("BarcodeDetector" in window) {
      try { // the class can exist without QR support (e.g. desktop Linux)
        if ((await window.BarcodeDetector.getSupportedFormats()).indexOf("qr_code") >= 0) {
          var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async function (video) {
            var codes = await detector.detect(video);
            return codes.length ? codes[0].rawValue : "";
          };
        }
      } catch (e) { /* fall through to jsQR */ }
    }
    var jsQR = await loadJsQR();
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    return async function (video) {
      // 640 px across reads a label at arm's length and keeps each frame fast.
      var scale = Math.min(1, 640 / video.videoWidth);
      var w = canvas.width = Math.round(video.videoWidth * scale);
      var h = canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, w, h);
      var code = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
      return code ? code.data : "";
    };
  }

  // css styles through the CSSOM, which CSP style-src 'self' allows (unlike style attributes).
  function css(el, props) { Object.assign(el.style, props); return el; }

  // scan shows the rear camera full screen until a code is read, staff cancel
  // (button or Escape), or the page is hidden; the camera stops on every path.
  async function scan(btn, input, status) {
    var dialog = css(document.createElement("dialog"), {
      position: "fixed", top: "0", left: "0", width: "100%", height: "100%", maxWidth: "none",
      maxHeight: "none", margin: "0", padding: "0", border: "0", background: "#000" });
    dialog.setAttribute("aria-label", btn.textContent.trim());
    var video = css(document.createElement("video"), { width: "100%", height: "100%", objectFit: "cover" });
    video.muted = true;
    video.setAttribute("playsinline", ""); // iOS: in the page, not the full-screen player
    var cancel = css(document.createElement("button"), {
      position: "absolute", left: "50%", bottom: "2rem", transform: "translateX(-50%)",
      minWidth: "10rem", minHeight: "3.5rem", padding: "0.5rem 1.5rem", fontSize: "1.5rem" });
    cancel.type = "button";
    cancel.textContent = btn.getAttribute("data-cancel") || "取消 / Cancel";
    dialog.append(video, cancel);
    document.body.appendChild(dialog);
    if (dialog.showModal) { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    cancel.focus();

    var stream = null, done = false;
    function close() {
      if (done) { return; }
      done = true;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      video.srcObject = null;
      document.removeEventListener("visibilitychange", onHidden);
      if (dialog.open && dialog.close) { dialog.close(); }
      dialog.remove();
    }
    function onHidden() { if (document.hidden) { close(); } }
    cancel.addEventListener("click", close);
    dialog.addEventListener("close", close); // Escape closes a modal dialog natively
    document.addEventListener("visibilitychange", onHidden);

    var decoding = makeDecoder(); // fetch the decoder while the camera starts
    decoding.catch(function () { /* reported below, once awaited */ });
    var decode;
    try {
      stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      if (done) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
      video.srcObject = stream;
      await video.play();
      decode = await decoding;
    } catch (err) { // refused, no camera, or no decoder: staff type the tag instead
      if (done) { return; }
      close();
      status.textContent = btn.getAttribute("data-denied") || String(err && err.message);
      input.focus();
      return;
    }

    while (!done) {
      var text = "";
      if (video.readyState >= 2 && video.videoWidth) {
        try { text = (await decode(video)).trim().toUpperCase(); } catch (e) { /* try the next frame */ }
      }
      if (text && !done) {
        input.value = text;
        close();
        input.dispatchEvent(new Event("input", { bubbles: true }));
        if (btn.hasAttribute("data-autosubmit") && input.form) {
          if (input.form.requestSubmit) { input.form.requestSubmit(); } else { input.form.submit(); }
        } else {
          input.focus();
        }
        return;
      }
      await new Promise(function (r) { setTimeout(r, 100); });
    }
  }

  function init() {
    document.querySelectorAll(".js-scan").forEach(function (btn) {
      var input = btn.form && btn.form.querySelector("[data-scan-target]");
      if (!input) { return; }
      // A live region that exists before it speaks is announced reliably.
      var status = btn.nextElementSibling;
      if (!status || status.getAttribute("role") !== "status") {
        status = document.createElement("span");
        status.setAttribute("role", "status");
        status.className = "scan-status";
        btn.insertAdjacentElement("afterend", status);
      }
      var busy = false;
      btn.addEventListener("click", function () {
        if (busy) { return; }
        busy = true;
        status.textContent = "";
        var idle = function () { busy = false; };
        scan(btn, input, status).then(idle, idle);
      });
      btn.hidden = false;
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();

// Desk receipts: a print button where scripts run (elsewhere the browser's own
// print command prints the same page).
(function () {
  "use strict";
  function init() {
    document.querySelectorAll(".js-print").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
