// The web app's benchmark (not a test): download size, cold load online and offline, and the time
// to sync 1,000 queued operations, in headless Chromium against the worker in workerd.
// `cargo xtask bench` runs it.
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root } from './harness.mjs';

const OPS = 1000;
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const dist = join(root, 'web/dist/pkg');
const wasm = readFileSync(join(dist, 'app_bg.wasm'));
const js = readFileSync(join(dist, 'app.js'));
console.log(`web app: wasm ${kib(wasm.length)} raw / ${kib(gzipSync(wasm, { level: 9 }).length)} gzipped; ` +
  `JS ${kib(js.length)} raw / ${kib(gzipSync(js, { level: 9 }).length)} gzipped; ` +
  `together ${kib(gzipSync(wasm, { level: 9 }).length + gzipSync(js, { level: 9 }).length)} gzipped`);

const stockline = await startStockline();
const browser = await launchBrowser();
try {
  await stockline.call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  for (let i = 0; i < 10; i++) {
    await stockline.call('PUT', `/v1/skus/B-${i}`, 'dev-admin', { name: `B-${i}`, safety_stock: 0 });
  }
  const page = await browser.context.newPage();
  let started = performance.now();
  await page.goto(stockline.app);
  await page.getByTestId('token').waitFor();
  console.log(`cold load online (empty cache) to the first screen: ${(performance.now() - started).toFixed(0)} ms`);
  await page.getByTestId('token').fill('dev-warehouse');
  await page.getByTestId('sign-in').click();
  await page.getByTestId('location-wh-1').click();
  await page.getByTestId('tab-receive').waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);

  await browser.context.setOffline(true);
  started = performance.now();
  await page.reload();
  await page.getByTestId('tab-receive').waitFor();
  console.log(`load offline (service worker + IndexedDB) to a working screen: ${(performance.now() - started).toFixed(0)} ms`);

  // Queue 1,000 operations as the app stores them, then measure one sync of all of them.
  await page.evaluate(async (count) => {
    const db = await new Promise((ok, fail) => {
      const open = indexedDB.open('stockline');
      open.onsuccess = () => ok(open.result);
      open.onerror = () => fail(open.error);
    });
    const tx = db.transaction('outbox', 'readwrite');
    const store = tx.objectStore('outbox');
    const base = Date.now() * 1000;
    for (let i = 0; i < count; i++) {
      const op_id = `op-bench-${i}`;
      store.put({
        op: { op_id, sku: `B-${i % 10}`, movement: { kind: 'receive', location: 'wh-1', qty: 1 }, occurred_at: new Date().toISOString() },
        seq: base + i, screen: 'receive', state: { state: 'pending' }, attempts: 0,
      }, op_id);
    }
    await new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); });
    db.close();
  }, OPS);
  await page.reload();
  await page.getByTestId('outbox-count').filter({ hasText: `${OPS} to sync` }).waitFor();
  await page.getByTestId('tab-outbox').click();
  await browser.context.setOffline(false);
  started = performance.now();
  await page.getByTestId('sync-now').click();
  await page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor({ timeout: 120_000 });
  const seconds = (performance.now() - started) / 1000;
  let total = 0;
  for (let i = 0; i < 10; i++) total += (await stockline.call('GET', `/v1/availability/B-${i}`, 'dev-warehouse')).on_hand;
  if (total !== OPS) throw new Error(`expected ${OPS} units received, got ${total}`);
  console.log(`sync of ${OPS} queued operations: ${seconds.toFixed(2)} s (${(OPS / seconds).toFixed(0)} ops/s), each applied once`);

  // Receiving 10 different SKUs by scanning, as a keyboard-wedge scanner does (characters +
  // Enter), then the quantity and Enter. Every key and tap is counted; the time from the Enter
  // that submits to "Done: on the server" is measured per receive.
  await page.getByTestId('tab-receive').click();
  let keys = 0;
  let taps = 1; // the Receive tab
  const latencies = [];
  for (let i = 0; i < 10; i++) {
    // The cursor returns to the item field from an effect just after the screen draws.
    await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'sku', null, { timeout: 5_000 });
    await page.keyboard.type(`B-${i}`);
    await page.keyboard.press('Enter');
    await page.keyboard.type('10');
    keys += `B-${i}`.length + 1 + 2;
    const submitted = performance.now();
    await page.keyboard.press('Enter');
    keys += 1;
    await page.getByTestId('message').filter({ hasText: `Receive 10 × B-${i}` }).and(page.locator('[data-state=applied]')).waitFor();
    latencies.push(performance.now() - submitted);
  }
  latencies.sort((a, b) => a - b);
  console.log(`receive 10 SKUs by scanning: ${keys} keys (scanner included) and ${taps} tap; ` +
    `the flow before this change needed ${keys - 10} keys and 21 taps (a tap back into the item field and a ` +
    `tap on the submit button per SKU, plus the tab: the cursor stayed on the button and Enter in the quantity ` +
    `did not submit)`);
  console.log(`scan to "Done: on the server", online: median ${latencies[4].toFixed(0)} ms, ` +
    `worst ${latencies[9].toFixed(0)} ms (10 receives)`);
} finally {
  await browser.close();
  await stockline.stop();
}
