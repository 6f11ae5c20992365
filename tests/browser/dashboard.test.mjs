// The managers' dashboard in real Chromium against the real worker: orders placed, shipped,
// left short and cancelled through the API; the admin's tiles say the figures those imply, a
// tap drills into the SKUs behind the fill rate, the chart draws the day, and after a reload
// offline the last copy is shown with its time. Tablet and desktop screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { adminDevice, startStockline, root, tab, warehouseDevice, sellingStore } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;

const order = (sku, qty) => ({
  channel: 'web', currency: 'EUR', ship_to_region: 'eu', lines: [{ sku, qty, unit_price: '12.00' }],
});

/// The order once its placement has settled (allocated, short or waiting).
async function settled(id) {
  for (let tries = 0; tries < 300; tries++) {
    const found = await stockline.call('GET', `/v1/orders/${id}`, 'dev-admin');
    if (found.placing === false && found.status !== 'placed') return found;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`order ${id} did not settle`);
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  const call = stockline.call;
  await sellingStore(call, ['TEE', 'SOCK', 'CAP', 'HAT']);
  await call('POST', '/v1/skus/TEE/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 5 });
  const place = async (key, body) =>
    (await call('POST', '/v1/orders', 'dev-storefront', body, { 'idempotency-key': key })).id;
  // 3 of 3 found and shipped.
  const shipped = await place('d-1', order('TEE', 3));
  let seen = await settled(shipped);
  for (const step of ['release', 'pick', 'ship']) {
    seen = await call('POST', `/v1/orders/${shipped}/${step}`, 'dev-warehouse', { version: seen.version });
  }
  // 2 of 4 found (the rest waits): open.
  assert.equal((await settled(await place('d-2', order('TEE', 4)))).status, 'partially_allocated');
  // None of 2 found, then cancelled.
  const cancelled = await place('d-3', order('SOCK', 2));
  seen = await settled(cancelled);
  await call('POST', `/v1/orders/${cancelled}/cancel`, 'dev-customer-service', { version: seen.version });
  // A purchase order sent today: its CAP line received in full at once (on time), 2 of its 5
  // HAT into quarantine (short, not due for a week: not judged yet).
  await call('PUT', '/v1/suppliers/basics-co', 'dev-admin', { name: 'Basics Co', currency: 'EUR', lead_time_days: 5 });
  await call('PUT', '/v1/approval-rules', 'dev-admin', {
    base_currency: 'EUR', rates: {}, bands: [{ up_to: null, approvals: 0, roles: [] }],
  });
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  const line = (sku, qty) => ({ sku, location: 'wh-1', qty, unit_price: '3.00', expected_on: due });
  let po = await call('POST', '/v1/purchase-orders', 'dev-buyer', { supplier: 'basics-co', currency: 'EUR', lines: [line('CAP', 10), line('HAT', 5)] });
  po = await call('POST', `/v1/purchase-orders/${po.id}/submit`, 'dev-buyer', { version: po.version });
  po = await call('POST', `/v1/purchase-orders/${po.id}/send`, 'dev-buyer', { version: po.version });
  await call('POST', `/v1/purchase-orders/${po.id}/receipts`, 'dev-warehouse',
    { lines: [{ line: 1, qty: 10, into: 'stock' }, { line: 2, qty: 2, into: 'quarantine' }] }, { 'idempotency-key': 'd-dock' });
});

after(async () => {
  await stockline?.stop();
});

const tile = (page, id) => ({
  value: () => page.getByTestId(`tile-${id}`).getByTestId('tile-value').textContent(),
  detail: () => page.getByTestId(`tile-${id}`).getByTestId('tile-detail').textContent(),
  trend: () => page.getByTestId(`tile-${id}`).getByTestId('tile-trend').textContent(),
});

test('a manager reads the KPIs, drills into the SKUs behind them, and reads them offline', async () => {
  const { browser, page } = await adminDevice(stockline.app, { width: 768, height: 1024 });
  try {
    await tab(page, 'dashboard');
    await page.getByTestId('tile-fill-first').waitFor();
    assert.match(await page.getByTestId('dashboard-freshness').textContent(), /^Live · orders of /);
    // First allocation: 3 of 3, 2 of 4, 0 of 2 → 5 of 9 units, 1 of 3 orders.
    const first = tile(page, 'fill-first');
    assert.equal(await first.value(), '55.6%');
    assert.equal(await first.detail(), '5 of 9 units · 1 of 3 orders complete');
    assert.equal(await first.trend(), 'nothing to compare in the 30 days before');
    // Ended: the shipped order (3 of 3) and the cancelled one (0 of 2); the short one is open.
    const ended = tile(page, 'fill-final');
    assert.equal(await ended.value(), '60.0%');
    assert.equal(await ended.detail(), '3 of 5 units · 1 of 2 orders complete');
    assert.match(await tile(page, 'cycle').detail(), /· 1 order shipped$/);
    assert.equal(await tile(page, 'backlog').value(), '1');
    assert.equal(await page.getByTestId('alerts').locator('h3').textContent(), 'Alerts (0)');
    // The chart draws today's point of each line.
    assert.equal(await page.getByTestId('fill-chart').locator('circle.fill-first').count(), 1);
    assert.equal(await page.getByTestId('fill-chart').locator('circle.fill-final').count(), 1);

    // A tap on the tile: the SKUs behind it, the worst first.
    await page.getByTestId('tile-fill-first').click();
    const rows = page.getByTestId('drill-down').getByTestId('drill-row');
    await rows.first().waitFor();
    assert.deepEqual(await rows.allTextContents(), ['SOCK0.0%0.0%0 of 2', 'TEE71.4%100.0%5 of 7']);
    // Each figure sits under its heading: the same column, not a table beside the headings.
    const headings = page.getByTestId('drill-down').locator('th');
    for (let column = 0; column < 4; column++) {
      const heading = await headings.nth(column).boundingBox();
      const cell = await rows.first().locator('td').nth(column).boundingBox();
      assert.equal(Math.round(cell.x), Math.round(heading.x), `column ${column} lines up under its heading`);
      assert.ok(cell.y > heading.y, `column ${column}: the row is below its heading`);
    }
    await page.screenshot({ path: join(shots, 'dashboard-tablet.png'), fullPage: true });
    // The supplier tile: 1 line judged, on time; a tap shows the supplier's row.
    const suppliers = tile(page, 'suppliers');
    assert.equal(await suppliers.value(), '100.0%');
    assert.equal(await suppliers.detail(), '1 of 1 line due · fill 100.0%');
    await page.getByTestId('tile-suppliers').click();
    await page.getByTestId('drill-down').getByText('basics-co').waitFor();
    assert.deepEqual(await rows.allTextContents(), ['basics-co100.0%100.0%0.0 ± 0.0 days16.7%—']);
    await page.screenshot({ path: join(shots, 'dashboard-suppliers-tablet.png'), fullPage: true });
    // The margin tile: one order shipped in one parcel, no invoice, no planned SKU out: nothing
    // leaked; a tap shows the SKU that sold.
    const margin = tile(page, 'margin');
    assert.equal(await margin.value(), '0.00 EUR');
    assert.equal(await margin.detail(), 'lost sales 0.00 · split 0.00 · expedite 0.00 · price 0.00');
    await page.getByTestId('tile-margin').click();
    await page.getByTestId('drill-down').getByText('SKUs behind the leak, the largest first').waitFor();
    assert.match(await page.getByTestId('drill-down').getByTestId('drill-row').first().textContent(), /^TEE0\.00 EUR/);
    // The backlog tile: open orders by age and by state.
    await page.getByTestId('tile-backlog').click();
    await page.getByTestId('drill-down').getByText('partially allocated').waitFor();

    // Offline after a reload: the last copy, marked with its time.
    await browser.context.setOffline(true);
    await page.reload();
    await tab(page, 'dashboard');
    await page.getByTestId('tile-fill-first').waitFor();
    assert.match(await page.getByTestId('dashboard-freshness').textContent(), /^Offline: saved copy from just now/);
    assert.equal(await tile(page, 'fill-first').value(), '55.6%');
    await browser.context.setOffline(false);
  } finally {
    await browser.context.close();
  }
});

test('on a desktop the tiles sit in two rows of three under the alerts; the warehouse has no dashboard', async () => {
  // An order promised for tomorrow that waits for stock: an SLA at risk for the warehouse.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const late = await stockline.call('POST', '/v1/orders', 'dev-storefront',
    { ...order('SOCK', 2), promised_by: `${tomorrow}T18:00:00Z` }, { 'idempotency-key': 'd-sla' });
  for (let tries = 0; ; tries++) {
    const { alerts } = await stockline.call('GET', '/v1/alerts', 'dev-admin');
    if (alerts.some((a) => a.kind === 'sla_at_risk')) break;
    assert.ok(tries < 300, 'the SLA alert is raised');
    await new Promise((done) => setTimeout(done, 100));
  }
  const { browser, page } = await adminDevice(stockline.app, { width: 1280, height: 800 });
  try {
    await tab(page, 'dashboard');
    await page.getByTestId('tile-cycle').waitFor();
    const alerts = page.getByTestId('alerts');
    assert.equal(await alerts.locator('h3').textContent(), 'Alerts (1)');
    assert.match(await alerts.getByTestId('alert').textContent(), new RegExp(`^SLA at risk · warehouse · order ${late.id} · raised `));
    const tops = await Promise.all(
      ['fill-first', 'fill-final', 'cycle', 'backlog', 'suppliers', 'margin'].map(async (id) => (await page.getByTestId(`tile-${id}`).boundingBox()).y),
    );
    const rows = [tops.slice(0, 3), tops.slice(3)];
    assert.ok(rows.every((row) => row.every((y) => y === row[0])) && rows[1][0] > rows[0][0], `two rows of three: ${tops}`);
    await page.getByTestId('tile-cycle').click();
    assert.deepEqual(
      (await page.getByTestId('drill-down').getByTestId('drill-row').allTextContents()).length, 1,
      'the one channel that shipped',
    );
    await page.screenshot({ path: join(shots, 'dashboard-desktop.png'), fullPage: true });
  } finally {
    await browser.context.close();
  }
  const warehouse = await warehouseDevice(stockline.app, { width: 768, height: 1024 });
  try {
    assert.equal(await warehouse.page.getByTestId('tab-dashboard').count(), 0);
    await warehouse.page.getByTestId('menu').click();
    assert.equal(await warehouse.page.getByTestId('menu-tab-dashboard').count(), 0);
  } finally {
    await warehouse.browser.context.close();
  }
});

test('on a phone the tiles pair up within the screen, without sideways scrolling', async () => {
  const { browser, page } = await adminDevice(stockline.app, { width: 390, height: 844 });
  try {
    await tab(page, 'dashboard');
    await page.getByTestId('tile-suppliers').waitFor();
    await page.getByTestId('tile-suppliers').click();
    await page.getByTestId('drill-down').getByText('basics-co').waitFor();
    const boxes = await Promise.all(
      ['fill-first', 'fill-final', 'cycle', 'backlog', 'suppliers', 'margin'].map((id) => page.getByTestId(`tile-${id}`).boundingBox()),
    );
    assert.deepEqual(boxes.map((box) => box.x), [boxes[0].x, boxes[1].x, boxes[0].x, boxes[1].x, boxes[0].x, boxes[1].x], 'two columns');
    assert.ok(boxes.every((box) => box.x >= 0 && box.x + box.width <= 390), 'every tile within the screen');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow} px too wide)`);
    await page.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });
  } finally {
    await browser.context.close();
  }
});
