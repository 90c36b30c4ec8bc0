// Service worker of the door scanner (/scan). Registered by assets/offline_scan.js with scope
// "/scan", so it controls the scan page only; other pages never see it.
//
// VERSION and PRECACHE are filled in at build time by bilten/pwa.py (the page's HTML, its JS
// chunks and CSS, the zxing decoder, the manifest and icons). The REST API and the Reflex
// websocket are never cached: the page keeps its own ticket data (see offline_scan.js).

const VERSION = "dev";
const PRECACHE = ["/scan/"];

const CACHE = `bilten-scan-${VERSION}`;
const PAGE = "/scan/";
const NAVIGATION_TIMEOUT_MS = 4000;
const PASS_THROUGH = ["/api/", "/_event", "/_upload", "/ping", "/__manifest", "/sw.js"];

/** A copy without the "redirected" flag: such a response cannot answer a navigation. */
async function clean(response) {
  if (!response.redirected) return response;
  return new Response(await response.blob(), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        PRECACHE.map(async (url) => {
          const response = await fetch(url, { cache: "reload" });
          if (!response.ok) throw new Error(`precache failed: ${url} ${response.status}`);
          await cache.put(url, await clean(response));
        }),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("bilten-scan-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (PASS_THROUGH.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") {
    if (url.pathname === "/scan" || url.pathname.startsWith("/scan/")) event.respondWith(navigation(request));
    return;
  }
  event.respondWith(asset(request));
});

/** The page: from the network when it answers in time (fresh HTML for fresh chunks), else cached. */
async function navigation(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), NAVIGATION_TIMEOUT_MS)),
    ]);
    if (response.ok && response.type === "basic") {
      const copy = await clean(response.clone());
      cache.put(PAGE, copy).catch(() => {});
    }
    if (response.ok || response.type === "opaqueredirect") return response;
  } catch {
    // Offline, or too slow: the cached page decides on the device.
  }
  const cached = await cache.match(PAGE, { ignoreSearch: true, ignoreVary: true });
  return cached || fetch(request);
}

/** JS chunks, CSS, the decoder, icons: cache first (their names carry content hashes). */
async function asset(request) {
  const cache = await caches.open(CACHE);
  // Every response carries "Vary: Origin" (CORS middleware): ignore it or nothing matches.
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") cache.put(request, response.clone()).catch(() => {});
  return response;
}
