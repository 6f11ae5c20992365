// The web app against the real worker in real Chromium: look up a SKU, go offline, reload, and
// the app still shows the SKU from its service-worker-cached shell and IndexedDB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  await stockline.call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  await stockline.call('PUT', '/v1/locations/st-1', 'dev-admin', { name: 'Shop', kind: 'store', region: 'eu', priority: 2 });
  await stockline.call('PUT', '/v1/skus/MUG-1', 'dev-admin', { name: 'Mug', safety_stock: 1 });
  await stockline.call('POST', '/v1/skus/MUG-1/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 12 });
  await stockline.call('POST', '/v1/skus/MUG-1/movements', 'dev-warehouse', { kind: 'receive', location: 'st-1', qty: 5 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stockline?.stop();
});

test('looks up a SKU, then shows it offline after a reload', async () => {
  const page = await browser.context.newPage();
  await page.goto(stockline.app);
  await page.getByTestId('token').fill('dev-storefront');
  await page.getByTestId('sign-in').click();
  await page.getByTestId('sku-input').fill('MUG-1');
  await page.getByTestId('sku-input').press('Enter');
  await page.getByTestId('card-sku').filter({ hasText: 'MUG-1' }).waitFor();
  assert.equal(await page.getByTestId('on-hand').textContent(), '17');
  assert.equal(await page.getByTestId('available').textContent(), '16');
  await page.screenshot({ path: join(shots, 'lookup-online.png') });

  // The service worker must control the page before the shell can load offline.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.getByTestId('card-sku').filter({ hasText: 'MUG-1' }).waitFor();

  // Controlled by the service worker, the page loads every part of the app from its cache at
  // start, the office screens' too, which this role never opens.
  await page.waitForFunction(() => performance.getEntriesByType('resource')
    .some((entry) => entry.name.includes('/pkg/split_office.wasm?build=')), null, { timeout: 10_000 });
  // A part of another build is refused (a page of the last build must not link this build's code).
  const answers = await page.evaluate(async () => {
    const loader = await (await fetch('./pkg/__wasm_split.js')).text();
    const build = loader.match(/split_floor\.wasm\?build=(\d+)/)[1];
    const current = await fetch(`./pkg/split_floor.wasm?build=${build}`);
    const other = await fetch(`./pkg/split_floor.wasm?build=${Number(build) - 1}`);
    return [current.status, other.status];
  });
  assert.deepEqual(answers, [200, 410]);

  await browser.context.setOffline(true);
  await page.reload();
  await page.getByTestId('card-sku').filter({ hasText: 'MUG-1' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('on-hand').textContent(), '17');
  await page.getByTestId('saved-badge').waitFor();
  assert.equal(await page.getByTestId('network').textContent(), 'Offline');
  await page.screenshot({ path: join(shots, 'lookup-offline.png') });
  await browser.context.setOffline(false);
});

test('an unknown SKU says so and changes nothing', async () => {
  const page = await browser.context.newPage();
  await page.goto(stockline.app);
  await page.getByTestId('sku-input').fill('NOPE-1');
  await page.getByTestId('lookup').click();
  await page.getByTestId('message').filter({ hasText: 'NOPE-1' }).waitFor();
  assert.equal(await page.getByTestId('stock-card').count(), 0);
});

test('a screen whose code cannot be fetched says so, and opens once it can', async () => {
  // No service worker (it would precache the part first), and the Lookup screen's part refused,
  // as a flaky network on the first visit does.
  const device = await launchBrowser(undefined, { serviceWorkers: 'block' });
  try {
    const refused = [];
    const lookupPart = /\/pkg\/split_lookup\.wasm\?build=\d+$/;
    await device.context.route(lookupPart, (route) => {
      refused.push(route.request().url());
      return route.abort('connectionreset');
    });
    const page = await device.context.newPage();
    const crashes = [];
    page.on('pageerror', (error) => crashes.push(error.message));
    await page.goto(stockline.app);
    await page.getByTestId('token').click();
    await page.keyboard.type('dev-storefront');
    await page.keyboard.press('Enter');
    const notLoaded = page.getByTestId('screen-not-loaded');
    await notLoaded.filter({ hasText: 'Stock could not be downloaded to this device' }).waitFor();
    assert.ok(refused.length >= 1);
    assert.equal(await page.getByTestId('sku-input').count(), 0);
    await page.screenshot({ path: join(shots, 'screen-not-loaded.png') });
    // On a phone the message and both buttons fit the width.
    await page.setViewportSize({ width: 390, height: 844 });
    const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('body *')]
      .map((element) => element.getBoundingClientRect().right)));
    assert.ok(widest <= 390, `an element reaches ${widest} px on a 390 px screen`);
    await page.getByTestId('screen-reload').waitFor();
    await page.screenshot({ path: join(shots, 'phone-screen-not-loaded.png') });

    // The network is back: trying again fetches the part and the screen works.
    await device.context.unroute(lookupPart);
    await page.getByTestId('screen-retry').click();
    await page.getByTestId('sku-input').click();
    await page.keyboard.type('MUG-1');
    await page.keyboard.press('Enter');
    await page.getByTestId('card-sku').filter({ hasText: 'MUG-1' }).waitFor();
    assert.equal(await notLoaded.count(), 0);
    assert.deepEqual(crashes, []);
  } finally {
    await device.close();
  }
});
