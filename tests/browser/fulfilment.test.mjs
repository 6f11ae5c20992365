// Customer orders in real Chromium against the real worker: the warehouse releases, picks and
// ships from its location's pick list on a tablet; customer service releases a fraud hold from
// its queue on a phone in two taps; a buyer escalates a shortage, and offline is told nothing was
// done; once escalated, the SKU tops the buyer's reorder list to be expedited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root, signIn as signInAt, warehouseDevice, tab, sellingStore } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;
const orders = {};

const order = (sku, qty, extra = {}) => ({
  channel: 'web', currency: 'EUR', ship_to_region: 'eu', lines: [{ sku, qty, unit_price: '12.00' }], ...extra,
});

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  const call = stockline.call;
  await sellingStore(call, ['TEE', 'HOT']);
  await call('PUT', '/v1/suppliers/acme', 'dev-buyer', { name: 'Acme', currency: 'EUR', lead_time_days: 4 });
  await call('PUT', '/v1/skus/HOT/policy', 'dev-buyer', { supplier: 'acme', moq: 6 });
  await call('POST', '/v1/skus/TEE/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 5 });
  const place = (key, body) => call('POST', '/v1/orders', 'dev-storefront', body, { 'idempotency-key': key });
  orders.picked = (await place('o-pick', order('TEE', 2, { priority: 20 }))).id;
  orders.short = (await place('o-short', order('HOT', 1))).id;
  orders.held = (await place('o-held', order('TEE', 1, { hold: 'fraud' }))).id;
});

after(async () => {
  await stockline?.stop();
});

const status = async (id) => (await stockline.call('GET', `/v1/orders/${id}`, 'dev-admin')).status;

test('the warehouse releases, picks and ships from its pick list', async () => {
  const { browser, page } = await warehouseDevice(stockline.app, { width: 768, height: 1024 });
  try {
    await tab(page, 'picking');
    await page.getByTestId('to-release').waitFor();
    assert.match(await page.getByTestId('to-release').textContent(), /1 allocated order/);
    await page.getByTestId('release-next').click();
    const ticket = page.getByTestId(`ticket-${orders.picked}`);
    await ticket.waitFor();
    assert.equal(await ticket.getByTestId('ticket-status').textContent(), 'released');
    assert.deepEqual(await ticket.getByTestId('pick-line').allTextContents(), ['2 × TEE']);
    assert.match(await ticket.textContent(), /priority 20/);
    await page.screenshot({ path: join(shots, 'pick-list-tablet.png'), fullPage: true });

    await ticket.getByTestId('ticket-pick').click();
    await ticket.getByTestId('ticket-status').getByText('picked').waitFor();
    // The order's timeline, from the ticket.
    await ticket.getByTestId('ticket-open').click();
    const timeline = page.getByTestId('sales-order-timeline');
    await timeline.waitFor();
    assert.match(await timeline.textContent(), /pick.*released → picked.*dev-warehouse \(warehouse\).*release.*allocated → released.*allocate.*place/s);
    assert.match(await page.getByTestId('sales-order-explanation').textContent(), /wh-1/);
    await page.screenshot({ path: join(shots, 'order-timeline-tablet.png'), fullPage: true });
    await page.getByTestId('sales-order-back').click();

    await page.getByTestId(`ticket-${orders.picked}`).getByTestId('ticket-ship').click();
    await page.getByTestId('nothing-to-pick').waitFor();
    assert.equal(await status(orders.picked), 'shipped');
    const tee = await stockline.call('GET', '/v1/availability/TEE', 'dev-admin');
    assert.equal(tee.on_hand, 3, 'the shipment left the warehouse');
  } finally {
    await browser.close();
  }
});

test('customer service releases a fraud hold from its queue in two taps, on a phone', async () => {
  const browser = await launchBrowser({ width: 390, height: 844 });
  try {
    const page = await browser.context.newPage();
    await signInAt(page, stockline.app, 'dev-customer-service');
    await tab(page, 'exceptions');
    const line = page.locator('li[data-testid^="exception-SO-"]').filter({ hasText: orders.held });
    await line.waitFor();
    assert.equal(await line.getByTestId('exception-kind').textContent(), 'fraud hold');
    assert.match(await line.getByTestId('exception-due').textContent(), /due in \d+ min/);
    await page.screenshot({ path: join(shots, 'exceptions-phone.png'), fullPage: true });
    await line.getByTestId('act-release_hold').click();
    await line.getByTestId('act-confirm').click();
    await page.getByTestId('queue-empty').waitFor();
    assert.match(await page.getByTestId('status').textContent(), /Release the hold · the order is allocated/);
    assert.equal(await status(orders.held), 'allocated');
  } finally {
    await browser.close();
  }
});

test('a buyer escalates a shortage; offline nothing is done and the app says so', async () => {
  const browser = await launchBrowser({ width: 768, height: 1024 });
  try {
    const page = await browser.context.newPage();
    await signInAt(page, stockline.app, 'dev-buyer');
    await tab(page, 'exceptions');
    const line = page.locator('li[data-testid^="exception-SO-"]').filter({ hasText: orders.short });
    await line.waitFor();
    assert.equal(await line.getByTestId('exception-kind').textContent(), 'shortage');
    assert.match(await line.getByTestId('exception-detail').textContent(), /1 × HOT short/);
    // A first tap only chooses; "Not now" takes it back.
    await line.getByTestId('act-cancel_line').click();
    await line.getByTestId('act-cancel').click();
    assert.equal(await status(orders.short), 'backordered', 'one tap changes nothing');

    await browser.context.setOffline(true);
    await line.getByTestId('act-keep_backorder').click();
    await line.getByTestId('act-confirm').click();
    await page.getByTestId('status').getByText(/Offline: orders are read and changed on the server/).waitFor();
    await page.screenshot({ path: join(shots, 'exceptions-offline-tablet.png'), fullPage: true });
    await browser.context.setOffline(false);
    const queue = await stockline.call('GET', '/v1/exceptions?team=procurement', 'dev-buyer');
    assert.equal(queue.exceptions[0].status, 'open', 'nothing was done offline');

    await page.reload();
    await tab(page, 'exceptions');
    const again = page.locator('li[data-testid^="exception-SO-"]').filter({ hasText: orders.short });
    await again.getByTestId('act-escalate').click();
    await again.getByTestId('act-confirm').click();
    await page.getByTestId('status').getByText(/Escalate to procurement/).waitFor();
    const escalated = await stockline.call('GET', '/v1/exceptions?team=procurement', 'dev-buyer');
    assert.equal(escalated.exceptions[0].escalated, true, `${JSON.stringify(escalated)}`);
    // Escalated once: no second escalation offered.
    const after = page.locator('li[data-testid^="exception-SO-"]').filter({ hasText: orders.short });
    await after.getByTestId('act-keep_backorder').waitFor();
    assert.equal(await after.getByTestId('act-escalate').count(), 0);

    // The reorder list now has HOT first, to expedite: the customer waits for 1, MOQ 6 ordered.
    for (let tries = 0; ; tries++) {
      const list = await stockline.call('GET', '/v1/replenishment', 'dev-buyer');
      if (list.groups[0]?.lines[0]?.expedite_qty === 1) break;
      assert.ok(tries < 150, `HOT never reached the list: ${JSON.stringify(list)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await tab(page, 'replenishment');
    const hot = page.getByTestId('plan-line-HOT');
    await hot.waitFor();
    assert.equal(await hot.getByTestId('expedite-badge').textContent(), 'Expedite · 1 waiting');
    assert.match(await hot.textContent(), /Order 6/);
    assert.match(await hot.textContent(), /customers wait for 1 unit for 1 escalated order line/);
    await page.screenshot({ path: join(shots, 'replenishment-expedite-tablet.png'), fullPage: true });
    await hot.click();
    const waiting = page.getByTestId('plan-expedites');
    await waiting.waitFor();
    assert.match(await waiting.textContent(), new RegExp(`Order ${orders.short} line 1: 1 waiting, escalated by`));
  } finally {
    await browser.close();
  }
});

test('customer service accepts a substitute in two taps on a phone, and the order takes it', async () => {
  const call = stockline.call;
  await call('PUT', '/v1/skus/BLUE', 'dev-admin', { name: 'Blue tee', safety_stock: 0 });
  await call('POST', '/v1/skus/BLUE/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 3 });
  await call('PUT', '/v1/skus/RED', 'dev-admin', { name: 'Red tee', safety_stock: 0, substitutes: ['BLUE'] });
  const id = (await call('POST', '/v1/orders', 'dev-storefront', order('RED', 2), { 'idempotency-key': 'o-sub' })).id;
  const browser = await launchBrowser({ width: 390, height: 844 });
  try {
    const page = await browser.context.newPage();
    await signInAt(page, stockline.app, 'dev-customer-service');
    await tab(page, 'exceptions');
    const line = page.locator('li[data-testid^="exception-SO-"]').filter({ hasText: id });
    await line.waitFor();
    assert.equal(await line.getByTestId('exception-kind').textContent(), 'substitution offered');
    assert.match(await line.getByTestId('exception-detail').textContent(), /2 × RED waiting; BLUE can ship 2 now/);
    await page.screenshot({ path: join(shots, 'substitute-offer-phone.png'), fullPage: true });
    await line.getByTestId('act-accept_substitute').click();
    await line.getByTestId('act-confirm').click();
    await page.getByTestId('status').getByText(/Accept the substitute/).waitFor();
    for (let tries = 0; (await status(id)) !== 'allocated'; tries++) {
      assert.ok(tries < 100, `the substitute was never allocated: ${await status(id)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const taken = await call('GET', `/v1/orders/${id}`, 'dev-admin');
    assert.deepEqual(
      taken.lines.map((l) => [l.sku, l.qty, l.substituted ?? 0, l.substitute_for ?? null]),
      [['RED', 2, 2, null], ['BLUE', 2, 0, 1]],
    );
  } finally {
    await browser.close();
  }
});
