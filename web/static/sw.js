// Precaches the app shell and every lazily loaded part of it, so the app starts and each screen
// opens with no network. Data lives in IndexedDB, so API requests are never cached here. The build
// writes its stamp into BUILD (a new stamp renews the cache) and the list of its files into SHELL.
const BUILD = '__BUILD__';
const CACHE = `stockline-shell-${BUILD}`;
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
  // A part of another build (a page still running the last build's main module asks for its
  // parts after this build took over) must not be linked into it: refused, the page says so.
  const build = url.searchParams.get('build');
  if (build !== null && build !== BUILD) {
    event.respondWith(new Response(`this is build ${BUILD}; reload the app`, { status: 410 }));
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(caches.match('./index.html').then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request)));
});
