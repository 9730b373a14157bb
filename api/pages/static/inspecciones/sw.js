// Linde · inspecciones: the service worker of the inspectors' app (scope /inspecciones/).
// It keeps a versioned app shell so the app opens with no signal. It answers GETs of the
// shell, and the offline map's tiles; writes (POST) and API reads go to the network as if
// it were not here.
"use strict";
var VERSION = "__VERSION__";
var CACHE = "linde-inspecciones-" + VERSION;
var SHELL = [
  __SHELL__
];
var PAGE = "/inspecciones/nueva";
// the offline map pack's tiles, kept by the page in caches named "linde-mapa-…"
var TILES = "/inspecciones/mapa/teselas/";
var MVT = "application/vnd.mapbox-vector-tile";

function keepPage(cache, response) {
  // a redirect to /entrar (no session) is never kept as the app's page
  if (response.ok && !response.redirected && response.type === "basic") {
    return cache.put(PAGE, response.clone());
  }
  return Promise.resolve();
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    var rest = SHELL.filter(function (p) { return p !== PAGE; });
    return cache.addAll(rest).then(function () {
      return fetch(PAGE, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return keepPage(cache, r);
      });
    });
  }));
});

self.addEventListener("activate", function (event) {
  // the old shells go only once this one is complete (install waited for it)
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("linde-inspecciones-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// the page asks for the switch when its queue is not being sent
self.addEventListener("message", function (event) {
  if (event.data === "activar") { self.skipWaiting(); }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // writes: never intercepted
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === PAGE && request.mode === "navigate") {
    // the page: fresh from the network when there is signal, else the kept one
    event.respondWith(fetch(request).then(function (response) {
      if (!response.redirected) {
        caches.open(CACHE).then(function (cache) { return keepPage(cache, response); });
      }
      return response;
    }, function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(PAGE); }).then(function (kept) {
        return kept || new Response(
          "<!doctype html><meta charset=utf-8><title>Sin señal</title>" +
          "<p>Sin señal, y esta aplicación aún no se guardó en el teléfono. " +
          "Ábrala una vez con señal.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    }));
    return;
  }
  if (url.pathname.indexOf(TILES) === 0) {
    if (url.search) { return; }  // the page downloading a pack: straight to the server
    // a kept tile; else the server; with no signal, an empty tile (nothing drawn there)
    event.respondWith(caches.match(url.pathname).then(function (kept) {
      return kept || fetch(request).catch(function () {
        return new Response(new Uint8Array(0), { status: 200, headers: { "Content-Type": MVT } });
      });
    }));
    return;
  }
  if (SHELL.indexOf(url.pathname) >= 0 && !url.search) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (kept) { return kept || fetch(request); });
    }));
  }
});
