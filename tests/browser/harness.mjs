// Shared set-up for the browser tests: the built worker in workerd on free ports with a fresh
// state directory, an API helper, and headless Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const root = resolve(import.meta.dirname, '../..');

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

// Ready means a real answer from /v1/health from this very process; an exit first is reported
// with what workerd wrote.
async function waitReady(port, child, output) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return { exited: `workerd exited (${child.exitCode ?? child.signalCode}):\n${output.join('').slice(-4000)}` };
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/health`);
      if (response.ok) return { ready: true };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`workerd did not answer /v1/health within 60 s:\n${output.join('').slice(-4000)}`);
}

function spawnWorkerd(state, apiPort, webPort, output, extraArgs) {
  const child = spawn(
    join(root, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd'),
    [
      'serve', join(root, 'edge/workerd.capnp'),
      `--socket-addr=http=127.0.0.1:${apiPort}`,
      `--socket-addr=web=127.0.0.1:${webPort}`,
      `--directory-path=do-storage=${state}`,
      `--directory-path=web-files=${join(root, 'web/dist')}`,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      output.push(chunk.toString());
      if (output.length > 200) output.splice(0, output.length - 200);
    });
  }
  return child;
}

/// Signs in as a person does: the token typed into the sign-in field, then Enter.
export async function signIn(page, app, token) {
  await page.goto(app);
  await page.getByTestId('token').click();
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
}

/// A warehouse tablet (or phone) signed in at wh-1, once its item list has arrived: names and
/// barcodes work from then on, offline too.
export async function warehouseDevice(app, viewport) {
  const browser = await launchBrowser(viewport);
  const page = await browser.context.newPage();
  await signIn(page, app, 'dev-warehouse');
  await page.getByTestId('location-wh-1').click();
  await page.getByTestId('tab-receive').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=menu]'));
  await page.getByTestId('menu').click();
  await page.getByText('items on this device').filter({ hasNotText: /^0 / }).waitFor();
  await page.getByTestId('menu').click();
  return { browser, page };
}

/// An admin's tablet (or `viewport`), signed in at wh-1, with the menu up.
export async function adminDevice(app, viewport) {
  const browser = await launchBrowser(viewport);
  const page = await browser.context.newPage();
  await signIn(page, app, 'dev-admin');
  await page.getByTestId('location-wh-1').click();
  await page.getByTestId('menu').waitFor();
  return { browser, page };
}

/// Opens a screen as a person does: the tab, or on a phone "More" and then the screen.
export async function tab(page, name) {
  // The tabs and "More" render together: wait for the bar before asking whether a tab is on it
  // (right after a reload the header can show before the bar does).
  await page.getByTestId('menu').waitFor();
  const button = page.getByTestId(`tab-${name}`);
  if (await button.isVisible()) {
    await button.click();
  } else {
    await page.getByTestId('menu').click();
    await page.getByTestId(`menu-tab-${name}`).click();
  }
  // A screen's code may still be loading (each group of screens is a part of its own): wait until
  // the screen is shown, as a person does.
  await page.locator(`[data-screen=tab-${name}]`).waitFor();
}

// Two years of a weekly shape (weekends busy), up to the day before yesterday (UTC).

export function weeklyHistory() {
  const shape = [15, 20, 22, 25, 24, 40, 60]; // Sunday first, as getUTCDay counts
  const days = [];
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  for (let back = 700; back >= 2; back--) {
    const date = new Date(today - back * 86_400_000);
    days.push({ date: date.toISOString().slice(0, 10), qty: shape[date.getUTCDay()] + (back % 5) - 2 });
  }
  return days;
}

// A store that sells: warehouse wh-1 in the eu, channel web selling from it, EUR shipping rates,
// and the SKUs named, no safety stock.
export async function sellingStore(call, skus) {
  await call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  await call('PUT', '/v1/channels/web', 'dev-admin', { name: 'Web', locations: ['wh-1'], buffer: 0 });
  await call('PUT', '/v1/shipping-rates', 'dev-admin', {
    currency: 'EUR',
    rates: [{ location: 'wh-1', region: 'eu', cost: '4.00', transit_days: 1 }],
  });
  for (const sku of skus) {
    await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: `Item ${sku}`, safety_stock: 0 });
  }
}

/// `extraArgs`: more workerd flags (the edge profiler adds `--inspector-addr`).
export async function startStockline(extraArgs = []) {
  const state = mkdtempSync(join(tmpdir(), 'stockline-browser-'));
  const output = [];
  let child, apiPort, webPort;
  // A port found free can be taken by another process before workerd binds it: then workerd
  // exits at once, and it is started again on other ports (never more than a few times).
  for (let attempt = 1; ; attempt++) {
    apiPort = await freePort();
    webPort = await freePort();
    if (apiPort === webPort) continue;
    child = spawnWorkerd(state, apiPort, webPort, output, extraArgs);
    const outcome = await waitReady(apiPort, child, output);
    if (outcome.ready) break;
    if (attempt >= 5) throw new Error(outcome.exited);
  }
  const api = `http://127.0.0.1:${apiPort}`;
  return {
    api,
    app: `http://127.0.0.1:${webPort}/index.html?api=${encodeURIComponent(api)}`,
    async call(method, path, token, body, headers = {}) {
      const response = await fetch(api + path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await response.json();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    },
    async stop() {
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      rmSync(state, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(viewport = { width: 768, height: 1024 }, options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'stockline-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    ...options,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context: browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
