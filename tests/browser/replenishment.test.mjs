// Replenishment for buyers in real Chromium against the real worker: the reorder list (at risk
// first, reasons shown), a SKU's plan with its chart, and both read offline from the last copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root, signIn as signInAt, weeklyHistory } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;

async function waitForList(predicate) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const list = await stockline.call('GET', '/v1/replenishment', 'dev-buyer');
    if (predicate(list)) return list;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the replenishment list never got there');
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  const call = stockline.call;
  await call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  await call('PUT', '/v1/suppliers/acme', 'dev-buyer', { name: 'Acme Tea Co', currency: 'EUR', lead_time_days: 5, lead_time_std_days: 1.5 });
  for (const [sku, stock] of [['TEA-1', 40], ['TEA-2', 90], ['TEA-3', 5000]]) {
    await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: `Tea ${sku}`, safety_stock: 0, unit_cost: '3.20' });
    await call('POST', `/v1/skus/${sku}/demand-history`, 'dev-buyer', { days: weeklyHistory() });
    await call('PUT', `/v1/skus/${sku}/policy`, 'dev-buyer', { supplier: 'acme', moq: 100, pack_multiple: 20 });
    await call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: stock });
  }
  await waitForList((list) => list.groups[0]?.lines.length === 2);
});

const signIn = (page, token) => signInAt(page, stockline.app, token);

/// A buyer's browser at `viewport`, on the plan of `sku`, its chart drawn.
async function openPlan(viewport, sku) {
  const browser = await launchBrowser(viewport);
  try {
    const page = await browser.context.newPage();
    await signIn(page, 'dev-buyer');
    await page.getByTestId('tab-replenishment').click();
    await page.getByTestId(`plan-line-${sku}`).click();
    await page.getByTestId('plan-chart').waitFor();
    return { browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

after(async () => {
  await stockline?.stop();
});

test('a buyer sees what to reorder, opens a plan, and reads both offline', async () => {
  const browser = await launchBrowser({ width: 768, height: 1024 });
  try {
    const page = await browser.context.newPage();
    await signIn(page, 'dev-buyer');
    await page.getByTestId('tab-replenishment').click();
    const first = page.getByTestId('plan-line-TEA-1');
    await first.waitFor();
    // At risk first: TEA-1 (40 on hand) runs out before an order could arrive; TEA-3 needs nothing.
    const lines = await page.locator('.plan-line').allTextContents();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /TEA-1\s*At risk\s*Order \d+ · \d+(\.\d+)? EUR/);
    assert.match(lines[0], /order now/);
    assert.equal(await page.getByTestId('plan-line-TEA-3').count(), 0);
    await page.screenshot({ path: join(shots, 'replenishment-tablet.png'), fullPage: true });

    await first.click();
    await page.getByTestId('plan-chart').waitFor();
    assert.match(await page.getByTestId('plan-reason').textContent(), /^Order \d+\. position 40 ≤ reorder point \d+ \([\d.]+\/day × 5 days \+ safety \d+\); order \d+/);
    await page.getByTestId('stockout-marker').waitFor({ state: 'attached' });
    assert.match(await page.getByTestId('plan-action').textContent(), /runs out .* order now/);
    const facts = await page.getByTestId('plan-facts').textContent();
    assert.match(facts, /Forecast(seasonal_naive|holt_winters) \(MASE 0\.\d\d; runner-up/);
    assert.match(facts, /Lead time5 ± 1.5 days \(supplier\)/);
    await page.screenshot({ path: join(shots, 'plan-tablet.png'), fullPage: true });

    // Offline after a reload: the list and the plan from this device's last copies.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await browser.context.setOffline(true);
    await page.reload();
    await page.getByTestId('tab-replenishment').click();
    await page.getByTestId('plan-line-TEA-1').waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId('list-freshness').textContent(), /^Offline: saved copy from/);
    await page.getByTestId('plan-sku').click();
    await page.keyboard.type('tea-1');
    await page.keyboard.press('Enter');
    await page.getByTestId('plan-chart').waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId('plan-freshness').textContent(), /^Offline: saved copy from/);
    await page.screenshot({ path: join(shots, 'plan-offline.png'), fullPage: true });
    // A plan never opened on this device says so.
    await page.getByTestId('plan-back').click();
    await page.getByTestId('plan-sku').click();
    await page.keyboard.type('TEA-2');
    await page.keyboard.press('Enter');
    await page.getByText('was never opened on this device').waitFor();
    await browser.context.setOffline(false);
  } finally {
    await browser.close();
  }
});

test('the plan and its what-if read on a phone and on a desktop', async () => {
  for (const [name, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]]) {
    const { browser, page } = await openPlan(viewport, 'TEA-2');
    try {
      const box = await page.getByTestId('plan-chart').boundingBox();
      assert.ok(box.width <= viewport.width, `the chart fits the ${name} screen: ${box.width}`);
      await page.screenshot({ path: join(shots, `plan-${name}.png`), fullPage: true });

      // The what-if fields take typing on this screen too, and nothing scrolls sideways.
      const facts = page.getByTestId('plan-facts');
      const safety = async () => Number((await facts.textContent()).match(/Safety stock(\d+)/)[1]);
      const saved = await safety();
      await page.getByTestId('what-if-service-level').scrollIntoViewIfNeeded();
      await page.getByTestId('what-if-service-level').click();
      await page.keyboard.type('99.5');
      await page.getByTestId('plan-freshness').filter({ hasText: 'What if' }).waitFor();
      assert.ok((await safety()) > saved, `on the ${name} screen, 99.5% holds more safety stock`);
      for (const field of ['what-if-service-level', 'what-if-lead-time', 'what-if-lead-time-std', 'what-if-moq']) {
        const fieldBox = await page.getByTestId(field).boundingBox();
        assert.ok(fieldBox.x >= 0 && fieldBox.x + fieldBox.width <= viewport.width, `${field} fits the ${name} screen`);
        assert.ok(fieldBox.height >= 32, `${field} is big enough to tap on the ${name} screen: ${fieldBox.height}`);
      }
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= viewport.width, `no sideways scrolling on the ${name} screen: ${wide}`);
      await page.getByTestId('what-if').screenshot({ path: join(shots, `plan-what-if-${name}.png`) });
    } finally {
      await browser.close();
    }
  }
});

test('what-if: service level, lead time and MOQ recompute the plan in the browser, without a request', async () => {
  const { browser, page } = await openPlan({ width: 768, height: 1024 }, 'TEA-2');
  try {
    await page.getByTestId('what-if-service-level').waitFor();
    const facts = page.getByTestId('plan-facts');
    const figure = async (name) => Number((await facts.textContent()).match(new RegExp(`${name}(\\d+)`))[1]);
    const chart = async () => page.getByTestId('plan-chart').innerHTML();
    const saved = { safety: await figure('Safety stock'), reorder: await figure('Reorder point'), chart: await chart() };
    const reason = await page.getByTestId('plan-reason').textContent();

    // From here on, nothing may go to the server.
    const requests = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/v1/')) requests.push(request.url());
    });
    await page.getByTestId('what-if-service-level').click();
    await page.keyboard.type('99.5');
    await page.getByTestId('plan-freshness').filter({ hasText: 'What if' }).waitFor();
    const higher = await figure('Safety stock');
    assert.ok(higher > saved.safety, `safety stock ${higher} > ${saved.safety} at 99.5%`);
    assert.ok((await figure('Reorder point')) > saved.reorder);
    assert.notEqual(await chart(), saved.chart, 'the chart follows the what-if');
    await page.getByTestId('what-if-lead-time').click();
    await page.keyboard.type('15');
    await page.waitForFunction(() => /Lead time15 ±/.test(document.querySelector('[data-testid=plan-facts]').textContent));
    assert.ok((await figure('Reorder point')) > (await figure('Safety stock')) + 15 * 20, 'a longer lead time covers more demand');
    await page.getByTestId('what-if-moq').click();
    await page.keyboard.type('5000');
    await page.getByTestId('plan-reason').filter({ hasText: /order 5000 = MOQ|position \d+ >/ }).waitFor();
    await page.screenshot({ path: join(shots, 'plan-what-if-tablet.png'), fullPage: true });

    // Out of bounds: the engine's own refusal, and the saved plan stays shown.
    await page.getByTestId('what-if-service-level').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('100');
    await page.getByTestId('what-if-problem').filter({ hasText: 'service_level: must be 0.5..=0.999' }).waitFor();
    assert.equal(await page.getByTestId('plan-reason').textContent(), reason);
    await page.getByTestId('what-if-service-level').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('9x');
    await page.getByTestId('what-if-problem').filter({ hasText: 'Service level: type a number, not “9x”' }).waitFor();

    // Back to the saved policy: the server's plan again.
    await page.getByTestId('what-if-service-level').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('99');
    await page.getByTestId('what-if-reset').click();
    await page.getByTestId('plan-freshness').filter({ hasNotText: 'What if' }).waitFor();
    assert.equal(await figure('Safety stock'), saved.safety);
    assert.equal(await chart(), saved.chart);
    assert.deepEqual(requests, [], 'no request was made for any what-if');
  } finally {
    await browser.close();
  }
});
