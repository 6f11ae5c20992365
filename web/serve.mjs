// Serves web/dist for the local run and the tests: workerd's disk service sends every file as
// application/octet-stream, so this worker in front of it names the content types. `/v1/` goes
// to the API, so the app talks to its own origin here as it does when deployed.
const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  wasm: 'application/wasm',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // The API on the app's own origin, as when deployed (one Worker serves both).
    if (url.pathname.startsWith('/v1/')) {
      return env.api.fetch(request);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed', { status: 405 });
    }
    const path = url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname;
    const file = await env.files.fetch(new URL(path, url.origin), { method: request.method });
    const headers = new Headers(file.headers);
    headers.set('content-type', TYPES[path.split('.').pop()] ?? 'application/octet-stream');
    // Always revalidate: the service worker, not the HTTP cache, keeps the offline copy.
    headers.set('cache-control', 'no-cache');
    return new Response(file.body, { status: file.status, headers });
  },
};
