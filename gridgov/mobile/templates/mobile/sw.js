/* gridgov phone app: the service worker (scope /m/). Rendered by Django: the list of files it keeps names
   their hashed URLs, and its version changes with them, so a new release replaces the old caches.

   - install: keep the shell, the scripts, the style, the icons and Leaflet;
   - the shell (/m/): network first, the kept copy without a signal;
   - static files: cache first;
   - reads of /api/mobile/me|catalog|grid and of /api/cases/: network first, the last answer without a signal;
     a case's photos in a cache of their own; both caches hold a limited number of answers, oldest out;
   - network first waits NETWORK_WAIT_MS at most before answering from the kept copy (a barely working
     connection would keep the person waiting minutes); the late answer still refreshes the copy;
   - no API answer kept or served while the page says nobody may see them (signed out, session ended), nor
     kept when the phone forgot its person after it was asked for (IndexedDB "gridgov-m", store kv; db.js);
   - never a POST: the page's own queue (IndexedDB) keeps and sends those. */
"use strict";

const VERSION = "{{ version }}";
const SHELL = {{ shell|safe }};
const PRECACHE = {{ precache|safe }};
const STATIC_PREFIX = {{ static_prefix|safe }};
const STATIC_PREFIX_CACHE = "gridgov-m-static-";
const STATIC = `${STATIC_PREFIX_CACHE}${VERSION}`;
const API = "gridgov-m-api";
const PHOTOS = "gridgov-m-photos";
const LIMITS = { [API]: 200, [PHOTOS]: 60 };
const API_READS = /^\/api\/(mobile\/(me|catalog|grid)$|cases\/)/;
const PHOTO_READS = /^\/api\/cases\/[^/]+\/evidence\//;
const NETWORK_WAIT_MS = 4000;

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
      // The release before stays one more release: a page opened with it may still ask for its files (Leaflet,
      // icons) until it reloads. Cache names come in the order they were made.
      const older = (await caches.keys()).filter((name) => name.startsWith(STATIC_PREFIX_CACHE) && name !== STATIC);
      for (const name of older.slice(0, -1)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

// ------------------------------------------------------------------------------------------ what the page says

let opening = null;

function database() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open("gridgov-m", 1);
    request.onupgradeneeded = () => {
      // The same stores as the page makes (db.js), should the worker be the first to open it.
      const db = request.result;
      if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "key" });
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = () => {
      opening = null;
      reject(request.error);
    };
  });
  return opening;
}

/** {gen, locked}: the generation of what the phone keeps for its person, and whether nobody may see the
    API answers kept (a sign-out the server has not heard of, or the session ended). */
async function phone() {
  try {
    const db = await database();
    return await new Promise((resolve) => {
      const store = db.transaction("kv", "readonly").objectStore("kv");
      const found = {};
      const keys = ["gen", "signed_out", "expired"];
      for (const key of keys) {
        const request = store.get(key);
        request.onsuccess = () => {
          found[key] = request.result;
          if (Object.keys(found).length === keys.length) {
            resolve({ gen: found.gen, locked: Boolean(found.signed_out || found.expired) });
          }
        };
        request.onerror = () => resolve({ gen: undefined, locked: false });
      }
    });
  } catch {
    return { gen: undefined, locked: false };
  }
}

// ------------------------------------------------------------------------------------------ network first

/** The network's answer, or after NETWORK_WAIT_MS (or an error) the kept copy if there is one. */
async function networkOrKept(network, fromCache) {
  let timer = 0;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, NETWORK_WAIT_MS, null);
  });
  try {
    const first = await Promise.race([network, late]);
    if (first) return first;
    return (await fromCache()) ?? (await network);
  } catch (error) {
    const kept = await fromCache();
    if (kept) return kept;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function shellFirstFromNetwork(event) {
  const network = fetch(event.request).then(async (response) => {
    if (response.ok && new URL(event.request.url).pathname === SHELL) {
      const cache = await caches.open(STATIC);
      await cache.put(SHELL, response.clone());
    }
    return response;
  });
  event.waitUntil(network.catch(() => {}));
  return networkOrKept(network, () => caches.match(SHELL, { cacheName: STATIC, ignoreSearch: true, ignoreVary: true }));
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

/** Keep an answer — unless the phone forgot its person since it was asked for (checked again after, as
    forgetting may happen meanwhile) — and drop the oldest beyond the cache's limit. */
async function keep(name, request, response, gen) {
  const cache = await caches.open(name);
  await cache.put(request, response);
  const now = await phone();
  if (now.gen !== gen || now.locked) {
    await cache.delete(request);
    return;
  }
  const keys = await cache.keys(); // oldest first (an entry kept again moves to the end)
  for (const old of keys.slice(0, Math.max(0, keys.length - LIMITS[name]))) await cache.delete(old);
}

async function apiFirstFromNetwork(event) {
  const request = event.request;
  const name = PHOTO_READS.test(new URL(request.url).pathname) ? PHOTOS : API;
  const before = await phone();
  const network = fetch(request).then(async (response) => {
    if (response.ok && !before.locked) await keep(name, request, response.clone(), before.gen);
    else if (response.status === 401 || response.status === 404) await (await caches.open(name)).delete(request);
    return response;
  });
  event.waitUntil(network.catch(() => {}));
  if (before.locked) return network;
  return networkOrKept(network, async () => {
    const cache = await caches.open(name);
    const kept = await cache.match(request, { ignoreVary: true });
    if (!kept) return null;
    // Tell the page this is the last answer kept, not a fresh one.
    const headers = new Headers(kept.headers);
    headers.set("X-From-Cache", "1");
    return new Response(await kept.blob(), { status: kept.status, headers });
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === SHELL) event.respondWith(shellFirstFromNetwork(event));
    return;
  }
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(cacheFirst(request));
  } else if (API_READS.test(url.pathname)) {
    event.respondWith(apiFirstFromNetwork(event));
  }
});

self.addEventListener("message", (event) => {
  // Signing out forgets the answers kept for the person who was signed in.
  if (event.data === "forget-api") event.waitUntil(Promise.all([caches.delete(API), caches.delete(PHOTOS)]));
});
