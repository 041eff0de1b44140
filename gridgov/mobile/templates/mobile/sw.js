/* gridgov phone app: the service worker (scope /m/). Rendered by Django: the list of files it keeps names
   their hashed URLs, and its version changes with them, so a new release replaces the old caches.

   - install: keep the shell, the scripts, the style, the icons and Leaflet;
   - the shell (/m/): network first, the kept copy without a signal;
   - static files: cache first;
   - reads of /api/mobile/me|catalog|grid and of /api/cases/: network first, the last answer without a signal;
   - never a POST: the page's own queue (IndexedDB) keeps and sends those. */
"use strict";

const VERSION = "{{ version }}";
const SHELL = {{ shell|safe }};
const PRECACHE = {{ precache|safe }};
const STATIC_PREFIX = {{ static_prefix|safe }};
const STATIC = `gridgov-m-static-${VERSION}`;
const API = "gridgov-m-api";
const API_READS = /^\/api\/(mobile\/(me|catalog|grid)$|cases\/)/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC);
      await cache.addAll(PRECACHE);
      const shell = await fetch(SHELL, { credentials: "same-origin", cache: "no-cache" });
      if (shell.ok) await cache.put(SHELL, shell);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("gridgov-m-") && name !== STATIC && name !== API) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function shellFirstFromNetwork(request) {
  try {
    const response = await fetch(request);
    if (response.ok && new URL(request.url).pathname === SHELL) {
      const cache = await caches.open(STATIC);
      await cache.put(SHELL, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await caches.match(SHELL, { cacheName: STATIC, ignoreSearch: true, ignoreVary: true });
    if (kept) return kept;
    throw error;
  }
}

async function cacheFirst(request) {
  const kept = await caches.match(request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(STATIC);
    await cache.put(request, response.clone());
  }
  return response;
}

async function apiFirstFromNetwork(request) {
  const cache = await caches.open(API);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    else if (response.status === 401 || response.status === 404) await cache.delete(request);
    return response;
  } catch (error) {
    const kept = await cache.match(request, { ignoreVary: true });
    if (kept) {
      // Tell the page this is the last answer kept, not a fresh one.
      const headers = new Headers(kept.headers);
      headers.set("X-From-Cache", "1");
      return new Response(await kept.blob(), { status: kept.status, headers });
    }
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === SHELL) event.respondWith(shellFirstFromNetwork(request));
    return;
  }
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(cacheFirst(request));
  } else if (API_READS.test(url.pathname)) {
    event.respondWith(apiFirstFromNetwork(request));
  }
});

self.addEventListener("message", (event) => {
  // Signing out forgets the answers kept for the person who was signed in.
  if (event.data === "forget-api") event.waitUntil(caches.delete(API));
});
