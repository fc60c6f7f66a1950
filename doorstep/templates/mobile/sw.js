// Doorstep mobile workspace service worker (ADR 0024), rendered by doorstep.mobile.pwa_views.sw.
// Precaches the shell and its static files; serves the shell network-first (3 s) with the cached copy as
// the fallback, static files cache-first; API answers and every other request go to the network only and
// are never cached here (they hold personal data).
"use strict";

const VERSION = "{{ version }}";
const CACHE = "doorstep-m-" + VERSION;
const SHELL = {{ shell_json|safe }};
const PRECACHE = {{ precache_json|safe }};
const STATIC_PREFIX = {{ static_prefix_json|safe }};
const API_PREFIX = {{ api_prefix_json|safe }};
const NETWORK_TIMEOUT_MS = 3000;

// A usable shell is the page itself: not a redirect to the login page, not an error page.
function isShell(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE);
    const shell = await fetch(SHELL, { credentials: "same-origin", cache: "no-store" });
    if (isShell(shell)) await cache.put(SHELL, shell);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("doorstep-m-") && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

async function shellFirstFromNetwork(request) {
  const cache = await caches.open(CACHE);
  const controller = new AbortController();
  const network = fetch(request, { signal: controller.signal }).then(async (response) => {
    if (isShell(response)) await cache.put(SHELL, response.clone());
    return response;
  });
  network.catch(() => {}); // a late failure after the cached shell was served is not an error
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, "timeout"));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") return first;
  } catch (error) {
    // offline or refused: the cached shell below
  }
  const cached = await cache.match(SHELL);
  if (cached) {
    controller.abort();
    // Marked, so that one can tell (and the tests prove) the shell came from this cache.
    const headers = new Headers(cached.headers);
    headers.set("X-Doorstep-Shell", "cache");
    return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
  }
  return network; // nothing cached yet: wait for the network after all
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreSearch: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(API_PREFIX)) return; // network only, never cached
  if (request.mode === "navigate" && url.pathname === SHELL) {
    event.respondWith(shellFirstFromNetwork(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(cacheFirst(request));
  }
  // everything else: the browser's own network handling
});
