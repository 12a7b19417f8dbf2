/* zhengwu portal (门户) — the public layout's script. No framework, no CDN, no inline handlers (CSP). */
(function () {
  "use strict";

  // The 栏目 button opens and closes the main navigation on a phone.
  document.querySelectorAll("[data-portal-toggle]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-portal-toggle"));
    if (!target) return;
    button.addEventListener("click", function () {
      var open = target.classList.toggle("is-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });

  // The offline page's 重试 button.
  document.querySelectorAll("[data-portal-reload]").forEach(function (button) {
    button.addEventListener("click", function () { window.location.reload(); });
  });

  // The installable app: register the service worker (scope /portal/).
  var body = document.body;
  var swUrl = body && body.getAttribute("data-sw-url");
  if (swUrl && "serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(swUrl, { scope: body.getAttribute("data-sw-scope") || "/portal/" })
        .catch(function () { /* the site works without it; nothing to tell the visitor */ });
    });
  }
})();
