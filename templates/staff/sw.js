// Staff service worker: serves the staff pages and their assets when the venue network is down.
// Its scope is "/staff" (allowed by the Service-Worker-Allowed header), so it also answers the
// printed entry URL /staff and /staff/, which offline open the saved capture page. It leaves
// every other page alone: only navigations to /staff pages and the assets those pages load
// pass through it.
// Pages: network first (fresh station and topics), cache when offline or slow. Assets are
// versioned (?v=...) and fonts named by their characters, so cache first is safe. The JSON
// API is never touched: the page's outbox (IndexedDB) owns retries, and a cached API answer
// would lie.
"use strict";
const VERSION = {{ version|tojson }};
const CACHE = "tracker-staff-" + VERSION;
const PRECACHE = {{ precache|tojson }};
const ENTRIES = {{ entries|tojson }};
const NAVIGATION_TIMEOUT_MS = 4000;

async function putIfGood(cache, request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        PRECACHE.map(async (url) => {
          // Pages are kept under their path (an ?edit=... link opens the same shell).
          const key = url.startsWith("/static/") ? url : url.split("?")[0];
          const request = new Request(url, { credentials: "same-origin", cache: "reload" });
          await putIfGood(cache, key, await fetch(request));
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
        if (name.startsWith("tracker-staff-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function fetchWithTimeout(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(request, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

// In the language the staff pages spoke when this worker was installed.
const OFFLINE = {{ {"lang": lang, "dir": dir, "title": _("Offline"),
                    "text": _("You are offline and this page is not saved on this device yet. Open the staff page once while online.")}|tojson }};

function offlinePage() {
  const text = (s) => s.replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  return new Response(
    `<!doctype html><html lang="${text(OFFLINE.lang)}" dir="${text(OFFLINE.dir)}"><meta charset="utf-8">` +
      `<meta name=viewport content='width=device-width'><title>${text(OFFLINE.title)}</title>` +
      `<p style='font:18px system-ui;padding:1rem'>${text(OFFLINE.text)}</p>`,
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
  );
}

async function page(request, path) {
  const cache = await caches.open(CACHE);
  const entry = ENTRIES.includes(path);
  try {
    const response = await fetchWithTimeout(request, NAVIGATION_TIMEOUT_MS);
    // The entry answers with a redirect once signed in (or the sign-in form, which needs the
    // network anyway): never kept. Offline it opens the capture page below.
    return entry ? response : await putIfGood(cache, path, response);
  } catch (err) {
    const cached = (!entry && (await cache.match(path))) || (await cache.match(PRECACHE[0]));
    return cached || offlinePage();
  }
}

async function asset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  return putIfGood(cache, request, await fetch(request));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (request.mode === "navigate") {
    // The scope "/staff" is a prefix: "/staffroom" would match it too, and is not ours.
    if ((path === "/staff" || path.startsWith("/staff/")) && !path.endsWith(".js")) {
      event.respondWith(page(request, path));
    }
  } else if (path.startsWith("/static/") || path.startsWith("/fonts/")) {
    // A page's font is named by its characters (web/fonts.py): the same URL, the same file.
    event.respondWith(asset(request));
  }
});
