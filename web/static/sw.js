// Precaches the app shell and every lazily loaded part of it, so the app starts and each screen
// opens with no network. Data lives in IndexedDB, so API requests are never cached here. The build
// replaces __BUILD__ (which renews the cache) and '__PKG__' (the list of files under pkg/).
const CACHE = 'stockline-shell-__BUILD__';
const SHELL = ['./', './index.html', './app.css', './manifest.webmanifest', './icon.svg', '__PKG__'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The API (same origin when deployed) is never answered from the cache.
  if (url.pathname.startsWith('/v1/')) return;
  if (request.mode === 'navigate') {
    event.respondWith(caches.match('./index.html').then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request)));
});
