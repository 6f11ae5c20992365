// One engine in both places: the tablet keeps a replica of a SKU's ledger and applies its queued
// movements to it with the engine's own code. Offline it shows stock after them and flags, in
// the engine's words, what the server would refuse before it is queued; queued anyway, the
// server refuses it with the same words; after sync, what someone else moved meanwhile is shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, root, tab, warehouseDevice } from './harness.mjs';

const shots = join(root, 'target/screenshots');
const TABLET = { width: 768, height: 1024 };
const PHONE = { width: 390, height: 844 };
let stockline;

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  await stockline.call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main warehouse', kind: 'warehouse', region: 'eu', priority: 1 });
  await stockline.call('PUT', '/v1/locations/wh-2', 'dev-admin', { name: 'Overflow', kind: 'warehouse', region: 'eu', priority: 2 });
  for (const sku of ['R-1', 'R-2', 'R-3', 'R-4', 'R-5']) {
    await stockline.call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: `Replica ${sku}`, safety_stock: 0 });
  }
  const deadline = Date.now() + 10_000;
  while ((await stockline.call('GET', '/v1/skus?q=R-5', 'dev-warehouse')).items.length === 0) {
    if (Date.now() > deadline) throw new Error('the item index did not follow');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await stockline?.stop();
});

const onHand = async (sku, location) =>
  (await stockline.call('GET', `/v1/availability/${sku}`, 'dev-warehouse')).locations.find((l) => l.location === location)?.on_hand ?? 0;

async function scan(page, code) {
  await page.waitForFunction(() => document.activeElement?.tagName === 'INPUT', null, { timeout: 5_000 });
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
}

async function lookup(page, sku) {
  await tab(page, 'lookup');
  await scan(page, sku);
  await page.getByTestId('card-sku').filter({ hasText: sku }).waitFor();
}

async function receive(page, sku, qty) {
  await tab(page, 'receive');
  await scan(page, sku);
  await page.keyboard.type(String(qty));
  await page.keyboard.press('Enter');
  await page.getByTestId('message').filter({ hasText: `Receive ${qty} × ${sku}` }).waitFor();
}

async function transfer(page, sku, qty) {
  await tab(page, 'transfer');
  await page.getByTestId('to-location').selectOption('wh-2');
  await page.getByTestId('sku').click();
  await scan(page, sku);
  await page.keyboard.type(String(qty));
  await page.keyboard.press('Enter');
}

for (const [size, viewport] of [['tablet', TABLET], ['phone', PHONE]]) {
  const sku = size === 'tablet' ? 'R-1' : 'R-2';
  test(`${size}: offline, the engine on the device flags a movement the server would refuse, with the server's words`, async () => {
    const { browser, page } = await warehouseDevice(stockline.app, viewport);
    try {
      // Looked up online: the replica is kept. Nothing here yet.
      await lookup(page, sku);
      const projection = page.getByTestId('card-projection');
      await projection.filter({ hasText: /^On hand now: 0 \(server, \d\d:\d\d\)$/ }).waitFor();

      await browser.context.setOffline(true);
      await receive(page, sku, 20);
      await lookup(page, sku);
      await projection.filter({ hasText: /^On hand now: 0 \(server, \d\d:\d\d\) → 20 after your queued operation$/ }).waitFor();

      // 25 out of the 20 this device received: refused by the engine here, nothing queued.
      await transfer(page, sku, 25);
      const flagged = page.getByTestId('flagged-reason');
      await flagged.waitFor();
      const flag = await flagged.textContent();
      assert.match(flag, /^By this device's copy from \d\d:\d\d, the server would refuse this: /);
      const reason = flag.replace(/^By this device's copy from \d\d:\d\d, the server would refuse this: /, '');
      assert.equal(reason, 'there is not enough stock here for this (on_hand at wh-1 would become -5)');
      assert.match(await page.getByTestId('flagged-what').textContent(), new RegExp(`^Transfer 25 × ${sku}`));
      assert.match(await page.getByTestId('outbox-count').textContent(), /^1 to sync/);
      await page.screenshot({ path: join(shots, `${size}-replica-flagged.png`), fullPage: true });

      // Queued anyway, marked as expected to fail.
      await page.getByTestId('queue-anyway').click();
      await page.getByTestId('outbox-count').filter({ hasText: '2 to sync' }).waitFor();
      await tab(page, 'outbox');
      await page.getByTestId('expected-to-fail').waitFor();
      assert.equal(await page.getByTestId('expected-to-fail').count(), 1);

      // Another device receives 7 at wh-2 meanwhile.
      await stockline.call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location: 'wh-2', qty: 7 });

      await browser.context.setOffline(false);
      const rejected = page.locator('[data-testid=op][data-state=rejected] [data-testid=op-state]');
      await rejected.waitFor({ timeout: 20_000 });
      assert.equal(await rejected.textContent(), `Not done: ${reason}`, 'the server refused it in the same words');
      assert.equal(await onHand(sku, 'wh-1'), 20);

      // The replica is the server's again; the card says what changed that this device did not do.
      await lookup(page, sku);
      await projection.filter({ hasText: /^On hand now: 20 \(server, \d\d:\d\d\)$/ }).waitFor();
      const differences = page.getByTestId('card-differences');
      await differences.waitFor();
      assert.match(await differences.textContent(), /At wh-2 the server has 7 on hand, this device expected 0 \(\+7\): someone else moved stock meanwhile/);
      await page.screenshot({ path: join(shots, `${size}-replica-differences.png`), fullPage: true });
      await page.getByTestId('dismiss-differences').click();
      await differences.waitFor({ state: 'detached' });
      // Seen stays seen across a reload.
      await page.reload();
      await lookup(page, sku);
      await projection.waitFor();
      assert.equal(await differences.count(), 0);
    } finally {
      await browser.close();
    }
  });
}

test('tablet: once the outbox forgets its applied operations, a replica older than them is fetched again or forgotten', async () => {
  const { browser, page } = await warehouseDevice(stockline.app, TABLET);
  try {
    await page.clock.install();
    await page.reload();
    await page.getByTestId('tab-receive').waitFor();
    const projection = page.getByTestId('card-projection');
    for (const sku of ['R-3', 'R-5']) {
      await lookup(page, sku);
      await projection.filter({ hasText: /^On hand now: 0 \(server, \d\d:\d\d\)$/ }).waitFor();
    }
    // The server cannot give these replicas for now: after the sync they stay older than it.
    const blocked = (sku) => `**/v1/skus/${sku}/replica`;
    await page.route(blocked('R-3'), (route) => route.abort());
    await page.route(blocked('R-5'), (route) => route.abort());
    await browser.context.setOffline(true);
    await receive(page, 'R-3', 5);
    await receive(page, 'R-5', 4);
    await browser.context.setOffline(false);
    await page.getByTestId('outbox-count').filter({ hasText: /^All synced$/ }).waitFor({ timeout: 20_000 });
    assert.equal(await onHand('R-3', 'wh-1'), 5);
    await browser.context.setOffline(true);
    await lookup(page, 'R-3');
    // The outbox still has the applied receive: the old replica projects it.
    await projection.filter({ hasText: /^On hand now: 0 \(server, \d\d:\d\d\) → 5 after your queued operation$/ }).waitFor();
    await browser.context.setOffline(false);

    // Sixteen minutes on, another sync clears those applied receives from the outbox. R-3's
    // replica can be fetched again, R-5's cannot.
    await page.clock.fastForward('16:00');
    await page.unroute(blocked('R-3'));
    const refetched = page.waitForResponse((r) => r.url().endsWith('/v1/skus/R-3/replica') && r.status() === 200);
    const refused = page.waitForEvent('requestfailed', (r) => r.url().endsWith('/v1/skus/R-5/replica'));
    await receive(page, 'R-4', 1);
    await Promise.all([refetched, refused]);
    await page.getByTestId('outbox-count').filter({ hasText: /^All synced$/ }).waitFor({ timeout: 20_000 });

    // Offline, the kept copies: R-3's is the server's with the receive in it; R-5's is gone, so
    // the card says nothing about it rather than 0 without the receive.
    await browser.context.setOffline(true);
    await lookup(page, 'R-3');
    await projection.filter({ hasText: /^On hand now: 5 \(server, \d\d:\d\d\)$/ }).waitFor();
    await lookup(page, 'R-5');
    await page.getByTestId('card-sku').filter({ hasText: 'R-5' }).waitFor();
    await page.waitForTimeout(300);
    assert.equal(await projection.count(), 0, 'no projection from a replica that misses this device\'s receive');
    await page.screenshot({ path: join(shots, 'tablet-replica-forgotten.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
