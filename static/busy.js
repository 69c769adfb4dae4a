/* "Preparing…" on downloads that may take a few seconds (record PDF, status PDF, CSV/PDF lists).
   A form or link marked data-busy="Preparing…" shows that text and aria-busy while the server
   builds the file; the control comes back when the page is shown again or after a timeout (a file
   download leaves the page in place and fires no event). Without JavaScript the download simply
   works as before. Loaded with <script defer> from the app itself, so the CSP needs no exception. */
(function () {
  "use strict";
  var RESTORE_AFTER_MS = 8000;

  function markBusy(control, text) {
    if (control.getAttribute("aria-busy") === "true") return false;
    var label = control.textContent;
    control.setAttribute("aria-busy", "true");
    control.dataset.busyLabel = label;
    control.textContent = text;
    var live = document.getElementById("busy-status");
    if (live) live.textContent = text;
    // Disabled a moment later: a submit button disabled at once would not send its name=value.
    window.setTimeout(function () {
      if (control.tagName === "BUTTON") control.disabled = true;
    }, 50);
    window.setTimeout(function () { restore(control); }, RESTORE_AFTER_MS);
    return true;
  }

  function restore(control) {
    if (control.getAttribute("aria-busy") !== "true") return;
    control.removeAttribute("aria-busy");
    if (control.tagName === "BUTTON") control.disabled = false;
    if (control.dataset.busyLabel !== undefined) control.textContent = control.dataset.busyLabel;
    var live = document.getElementById("busy-status");
    if (live) live.textContent = "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (button) markBusy(button, form.getAttribute("data-busy"));
  });

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-busy]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (!markBusy(link, link.getAttribute("data-busy"))) event.preventDefault();  // no double request
  });

  // Back/forward cache or a re-shown page: never leave a control stuck in "Preparing…".
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[aria-busy=true]").forEach(restore);
  });
})();
