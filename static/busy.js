/* "Preparing…" on downloads that may take a few seconds (record PDF, status PDF, CSV/PDF lists).
   A form or link marked data-busy="Preparing…" shows that text with aria-busy while the server
   builds the file. It sends a random download_token; the download answer sets a cookie holding it
   (dpa_tracker/__init__.py, download_started), and when the cookie appears the control comes back.
   A timeout restores it anyway, so nothing stays stuck, and the page never freezes (no blocking
   work). Without JavaScript the links and forms simply work as before. Loaded with <script defer>
   from the app itself, so the CSP (script-src 'self') needs no exception. */
(function () {
  "use strict";
  var COOKIE = "download_token";
  var GIVE_UP_MS = 60000;
  var POLL_MS = 250;

  function newToken() {
    var bytes = new Uint8Array(10);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function cookieHas(token) {
    return document.cookie.split(";").some(function (c) { return c.trim() === COOKIE + "=" + token; });
  }

  function announce(text) {
    var live = document.getElementById("busy-status");
    if (live) live.textContent = text;
  }

  function restore(control) {
    if (control.getAttribute("aria-busy") !== "true") return;
    control.removeAttribute("aria-busy");
    if (control.tagName === "BUTTON") control.disabled = false;
    if (control.dataset.busyLabel !== undefined) control.textContent = control.dataset.busyLabel;
    announce("");
  }

  function markBusy(control, text, token) {
    control.dataset.busyLabel = control.textContent;
    control.setAttribute("aria-busy", "true");
    control.textContent = text;
    announce(text);
    // Disabled a moment later: a submit button disabled at once would not send its name=value.
    window.setTimeout(function () { if (control.tagName === "BUTTON") control.disabled = true; }, 50);
    var started = Date.now();
    var timer = window.setInterval(function () {
      var arrived = cookieHas(token);
      if (arrived || Date.now() - started > GIVE_UP_MS || control.getAttribute("aria-busy") !== "true") {
        window.clearInterval(timer);
        if (arrived) document.cookie = COOKIE + "=; max-age=0; path=/; samesite=strict";
        restore(control);
      }
    }, POLL_MS);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (!button || button.getAttribute("aria-busy") === "true") return;
    var token = newToken();
    var field = form.querySelector("input[name=download_token]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "download_token";
      form.appendChild(field);
    }
    field.value = token;
    markBusy(button, form.getAttribute("data-busy"), token);
  });

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-busy]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (link.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }  // no double request
    var token = newToken();
    var url = new URL(link.href, document.baseURI);
    url.searchParams.set("download_token", token);
    link.href = url.toString();
    markBusy(link, link.getAttribute("data-busy"), token);
  });

  // A page shown again from the back/forward cache never keeps a control in "Preparing…".
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[aria-busy=true]").forEach(restore);
  });
})();
