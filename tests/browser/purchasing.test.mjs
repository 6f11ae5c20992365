// Purchase orders in real Chromium against the real worker: a buyer drafts an order from the
// replenishment suggestions in two clicks and submits it; an approver approves it while offline,
// comes back online, and the decision applies once; a decision that meets an order changed since
// it was read is refused with the reason and offered for a fresh look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root, signIn as signInAt, weeklyHistory } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  const call = stockline.call;
  await call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  await call('PUT', '/v1/suppliers/acme', 'dev-buyer', { name: 'Acme Tea Co', currency: 'EUR', lead_time_days: 5 });
  await call('PUT', '/v1/approval-rules', 'dev-admin', {
    base_currency: 'EUR',
    bands: [{ up_to: null, approvals: 1, roles: ['approver', 'admin'] }],
  });
  for (const [sku, stock] of [['TEA-1', 40], ['TEA-2', 90]]) {
    await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: `Tea ${sku}`, safety_stock: 0, unit_cost: '3.20' });
    await call('POST', `/v1/skus/${sku}/demand-history`, 'dev-buyer', { days: weeklyHistory() });
    await call('PUT', `/v1/skus/${sku}/policy`, 'dev-buyer', { supplier: 'acme', moq: 100, pack_multiple: 20 });
    await call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: stock });
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const list = await call('GET', '/v1/replenishment', 'dev-buyer');
    if (list.groups[0]?.lines.length === 2) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the suggestions never came');
});

const signIn = (page, token) => signInAt(page, stockline.app, token);

after(async () => {
  await stockline?.stop();
});

/// A draft from the suggestions, submitted, through the API (for the approver's tests).
async function submittedOrder() {
  const draft = await stockline.call('POST', '/v1/purchase-orders/from-suggestions', 'dev-buyer', { supplier: 'acme', location: 'wh-1' });
  return stockline.call('POST', `/v1/purchase-orders/${draft.id}/submit`, 'dev-buyer', { version: draft.version });
}

test('a buyer drafts an order from the suggestions in two clicks and submits it', async () => {
  const browser = await launchBrowser({ width: 768, height: 1024 });
  try {
    const page = await browser.context.newPage();
    await signIn(page, 'dev-buyer');
    await page.getByTestId('tab-replenishment').click();
    await page.getByTestId('draft-acme').click();
    await page.getByTestId('order').waitFor();
    assert.equal(await page.getByTestId('order-status').textContent(), 'draft');
    assert.match(await page.getByTestId('status').textContent(), /Draft PO-\d+ with 2 lines/);
    const rows = page.getByTestId('order-lines').locator('tbody tr');
    assert.equal(await rows.count(), 2);
    for (const qty of await rows.locator('td:nth-child(4)').allTextContents()) {
      assert.ok(Number(qty) >= 100 && Number(qty) % 20 === 0, `MOQ 100 and packs of 20 kept: ${qty}`);
    }
    await page.screenshot({ path: join(shots, 'order-draft-tablet.png'), fullPage: true });

    await page.getByTestId('order-comment').click();
    await page.keyboard.type('weekend peak');
    await page.getByTestId('order-submit').click();
    await page.getByTestId('order-status').getByText('submitted').waitFor();
    const timeline = await page.getByTestId('order-timeline').textContent();
    assert.match(timeline, /submit.*draft → submitted.*dev-buyer \(buyer\).*“weekend peak”.*create/s);
    assert.match(await page.getByTestId('order-route').textContent(), /1 approval/);
    await page.screenshot({ path: join(shots, 'order-submitted-tablet.png'), fullPage: true });

    await page.getByTestId('order-back').click();
    const listed = page.locator('[data-testid^="order-PO-"]');
    await listed.first().waitFor();
    assert.match(await listed.first().textContent(), /submitted.*acme/);
    await page.screenshot({ path: join(shots, 'orders-tablet.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test('an approver approves offline; back online the decision applies once', async () => {
  const order = await submittedOrder();
  const browser = await launchBrowser({ width: 768, height: 1024 });
  try {
    const page = await browser.context.newPage();
    await signIn(page, 'dev-approver-2');
    await page.getByTestId('tab-approvals').click();
    const line = page.getByTestId(`inbox-${order.id}`);
    await line.waitFor();
    assert.match(await page.getByTestId('spend-limit').textContent(), /up to 100000/);
    await page.screenshot({ path: join(shots, 'approvals-tablet.png'), fullPage: true });

    await page.evaluate(() => navigator.serviceWorker.ready);
    await browser.context.setOffline(true);
    await line.getByTestId('decision-comment').click();
    await page.keyboard.type('ok for the peak');
    await line.getByTestId('approve').click();
    await line.getByTestId('decision-state').getByText('Waiting to send').waitFor();
    await page.screenshot({ path: join(shots, 'approvals-offline.png'), fullPage: true });
    const unsent = await stockline.call('GET', `/v1/purchase-orders/${order.id}`, 'dev-buyer');
    assert.equal(unsent.status, 'submitted', 'nothing sent while offline');
    // After a reload the decision is still on the device (sent at most once: see receiving.test.mjs
    // on Chromium's offline emulation right after a reload).
    await page.reload();
    await page.getByTestId('tab-approvals').click();
    await page.getByTestId(`decision-${order.id}`).waitFor();

    await browser.context.setOffline(false);
    await page.getByTestId(`decision-${order.id}`).getByText('done (approved)').waitFor({ timeout: 15_000 });
    const read = await stockline.call('GET', `/v1/purchase-orders/${order.id}`, 'dev-buyer');
    assert.equal(read.status, 'approved');
    assert.equal(read.approvals.length, 1);
    const approve = read.events.find((e) => e.action === 'approve');
    assert.equal(approve.comment, 'ok for the peak');
    assert.equal(approve.actor.subject, 'dev-approver-2');
    // Another reload and wait: nothing is sent twice.
    await page.reload();
    await page.getByTestId('tab-approvals').click();
    await page.getByTestId(`decision-${order.id}`).waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await stockline.call('GET', `/v1/purchase-orders/${order.id}`, 'dev-buyer');
    assert.equal(again.version, read.version, 'applied once');
    await page.screenshot({ path: join(shots, 'approvals-applied.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test('a decision on an order changed since it was read is refused and offered for a fresh look', async () => {
  const order = await submittedOrder();
  const browser = await launchBrowser({ width: 390, height: 844 });
  try {
    const page = await browser.context.newPage();
    await signIn(page, 'dev-approver-2');
    await page.getByTestId('menu').click();
    await page.getByTestId('menu-tab-approvals').click();
    const line = page.getByTestId(`inbox-${order.id}`);
    await line.waitFor();
    await page.evaluate(() => navigator.serviceWorker.ready);
    await browser.context.setOffline(true);
    await line.getByTestId('approve').click();
    await line.getByTestId('decision-state').getByText('Waiting to send').waitFor();
    // Meanwhile the buyer cancels it.
    await stockline.call('POST', `/v1/purchase-orders/${order.id}/cancel`, 'dev-buyer', { version: order.version, comment: 'supplier out' });
    await browser.context.setOffline(false);
    const state = line.getByTestId('decision-state');
    await state.getByText('Not applied').waitFor({ timeout: 15_000 });
    assert.match(await state.textContent(), /version/);
    await page.screenshot({ path: join(shots, 'approvals-refused-phone.png'), fullPage: true });
    const read = await stockline.call('GET', `/v1/purchase-orders/${order.id}`, 'dev-buyer');
    assert.equal(read.status, 'cancelled');
    assert.equal(read.approvals.length, 0);
    await line.getByTestId('look-again').click();
    await page.getByTestId(`inbox-${order.id}`).waitFor({ state: 'detached' });
  } finally {
    await browser.close();
  }
});

test('supplier cards show the scorecard as a chart, on a tablet and a phone', async () => {
  const call = stockline.call;
  const expected_on = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  const draft = await call('POST', '/v1/purchase-orders', 'dev-buyer', {
    supplier: 'acme',
    currency: 'EUR',
    lines: [
      { sku: 'TEA-1', location: 'wh-1', qty: 8, unit_price: '3.00', expected_on },
      { sku: 'TEA-2', location: 'wh-1', qty: 2, unit_price: '3.00', expected_on },
    ],
  });
  const submitted = await call('POST', `/v1/purchase-orders/${draft.id}/submit`, 'dev-buyer', { version: draft.version });
  const approved = await call('POST', `/v1/purchase-orders/${draft.id}/approve`, 'dev-approver-2', { version: submitted.version });
  await call('POST', `/v1/purchase-orders/${draft.id}/send`, 'dev-buyer', { version: approved.version });
  // In full and early; the two of TEA-2 into quarantine: 2 of 10 received are QC rejects.
  const receipt = await stockline.call('POST', `/v1/purchase-orders/${draft.id}/receipts`, 'dev-warehouse',
    { lines: [{ line: 1, qty: 8 }, { line: 2, qty: 2, into: 'quarantine' }] }, { 'Idempotency-Key': `scorecard-${draft.id}` });
  assert.equal(receipt.status, 'received');

  for (const [viewport, name] of [[{ width: 768, height: 1024 }, 'tablet'], [{ width: 390, height: 844 }, 'phone']]) {
    const browser = await launchBrowser(viewport);
    try {
      const page = await browser.context.newPage();
      await signIn(page, 'dev-buyer');
      await page.getByTestId('menu').waitFor();
      if (await page.getByTestId('tab-suppliers').isVisible()) {
        await page.getByTestId('tab-suppliers').click();
      } else {
        await page.getByTestId('menu').click();
        await page.getByTestId('menu-tab-suppliers').click();
      }
      const card = page.getByTestId('supplier-acme');
      await card.getByTestId('scorecard-chart').waitFor();
      assert.equal(await card.getByTestId('standing').textContent(), 'good');
      const values = await card.getByTestId('score-value').allTextContents();
      assert.equal(values[0], '100% 2 of 2 lines', 'on time in full');
      assert.equal(values[1], '100% of what was due', 'fill rate');
      assert.equal(values[2], '20% of what was received', 'QC rejects');
      assert.match(await card.getByTestId('lead-time').textContent(), /^0\.0 ± 0\.0 days over 2 receipt lines \(declared 5\)$/);
      assert.match(await card.getByTestId('scorecard-summary').textContent(), /^1 order sent · no invoices yet$/);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= viewport.width, `nothing wider than the screen: ${wide}`);
      await page.screenshot({ path: join(shots, `suppliers-${name}.png`), fullPage: true });
    } finally {
      await browser.close();
    }
  }
});
