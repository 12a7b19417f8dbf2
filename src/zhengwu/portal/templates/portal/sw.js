/* The portal's service worker (scope /portal/), served by zhengwu.portal.pwa.service_worker.
 * Precaches the shell under a versioned cache; navigations go to the network and fall back to the
 * offline page; personal pages and non-GET requests are never stored. */
"use strict";
const CONFIG = {{ config|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CONFIG.cache)
      // credentials omitted: the precached shell is what an anonymous visitor gets, never a person's page.
      .then((cache) => cache.addAll(CONFIG.shell.map((url) => new Request(url, { credentials: "omit", cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith(CONFIG.cachePrefix) && key !== CONFIG.cache).map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

function isPrivate(url) {
  return CONFIG.private.some((prefix) => url.pathname.startsWith(prefix));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // POST and the rest: straight to the network, never stored
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages always come from the network (fresh, and personal pages stay out of every cache);
    // when the network is down, the offline page.
    event.respondWith(
      fetch(request).catch(() => caches.open(CONFIG.cache).then((cache) => cache.match(CONFIG.offline)))
    );
    return;
  }
  if (isPrivate(url)) return;
  if (CONFIG.shell.includes(url.pathname)) {
    // The shell: from the cache (it is versioned), else the network.
    event.respondWith(
      caches.open(CONFIG.cache).then((cache) => cache.match(url.pathname).then((hit) => hit || fetch(request)))
    );
  }
});
