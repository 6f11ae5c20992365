// The warehouse app against the real worker in real Chromium: online and offline work, exactly-once
// sync, two tablets counting the same shelf, a rejected operation, and a screenshot of every screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, launchBrowser, root } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;

const position = async (sku) => stockline.call('GET', `/v1/availability/${sku}`, 'dev-warehouse');
const at = (p, location) => p.locations.find((l) => l.location === location);

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  await stockline.call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main warehouse', kind: 'warehouse', region: 'eu', priority: 1 });
  await stockline.call('PUT', '/v1/locations/wh-2', 'dev-admin', { name: 'Overflow', kind: 'warehouse', region: 'eu', priority: 2 });
  for (const sku of ['W-1', 'W-2', 'W-3', 'W-4']) {
    await stockline.call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: sku, safety_stock: 0 });
    await stockline.call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 50 });
  }
});

after(async () => {
  await stockline?.stop();
});

async function tablet(viewport = { width: 768, height: 1024 }) {
  const browser = await launchBrowser(viewport);
  const page = await browser.context.newPage();
  await page.goto(stockline.app);
  await page.getByTestId('token').fill('dev-warehouse');
  await page.getByTestId('sign-in').click();
  await page.getByTestId('location-wh-1').click();
  await page.getByTestId('tab-receive').waitFor();
  return { browser, page };
}

async function tab(page, name) {
  await page.getByTestId(`tab-${name}`).click();
}

async function queued(page, text) {
  await page.getByTestId('message').filter({ hasText: text }).waitFor();
}

async function synced(page) {
  await page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor({ timeout: 20_000 });
}

async function receive(page, sku, qty, { reference = '', quarantine = false } = {}) {
  await tab(page, 'receive');
  await page.getByTestId('sku').fill(sku);
  await page.getByTestId('qty').fill(String(qty));
  if (reference) await page.getByTestId('reference').fill(reference);
  if (quarantine) await page.getByTestId('to-quarantine').check();
  await page.getByTestId('submit').click();
  await queued(page, `receive ${qty} × ${sku}`);
}

async function lookup(page, sku) {
  await tab(page, 'lookup');
  await page.getByTestId('sku-input').fill(sku);
  await page.getByTestId('sku-input').press('Enter');
  await page.getByTestId('card-sku').filter({ hasText: sku }).waitFor();
}

test('online: a receive reaches the server at once', async () => {
  const { browser, page } = await tablet();
  try {
    const before = at(await position('W-1'), 'wh-1').on_hand;
    await receive(page, 'W-1', 10);
    await synced(page);
    assert.equal(at(await position('W-1'), 'wh-1').on_hand, before + 10);
  } finally {
    await browser.close();
  }
});

test('offline: 20 operations survive a reload and sync exactly once', async () => {
  const { browser, page } = await tablet();
  try {
    const before = Object.fromEntries(await Promise.all(['W-1', 'W-2', 'W-3', 'W-4'].map(async (s) => [s, await position(s)])));
    await browser.context.setOffline(true);
    for (let i = 1; i <= 6; i++) await receive(page, 'W-1', i); // 6 ops
    await tab(page, 'adjust');
    for (let i = 0; i < 4; i++) {
      await page.getByTestId('sku').fill('W-2');
      await page.getByTestId('qty').fill('-1');
      await page.getByTestId('reason').fill('lost');
      await page.getByTestId('submit').click();
      await page.getByTestId('outbox-count').filter({ hasText: `${7 + i} to sync` }).waitFor();
    } // 4 ops
    // Into quarantine is one operation, one entry: the units are never sellable on the way.
    await receive(page, 'W-4', 3, { quarantine: true }); // 1 op
    await receive(page, 'W-4', 2, { quarantine: true, reference: 'PO-77' }); // 1 op
    await receive(page, 'W-4', 4, { quarantine: true }); // 1 op
    await receive(page, 'W-4', 1); // 1 op
    await tab(page, 'returns');
    for (const qty of [1, 2]) {
      await page.getByTestId('sku').fill('W-3');
      await page.getByTestId('qty').fill(String(qty));
      await page.getByTestId('return-expected').click();
      await queued(page, `return_expected ${qty} × W-3`);
      await page.getByTestId('sku').fill('W-3');
      await page.getByTestId('qty').fill(String(qty));
      await page.getByTestId('return-received').click();
      await queued(page, `return_receive ${qty} × W-3`);
    } // 4 ops
    await tab(page, 'transfer');
    for (const qty of [4, 5]) {
      await page.getByTestId('sku').fill('W-3');
      await page.getByTestId('qty').fill(String(qty));
      await page.getByTestId('to-location').selectOption('wh-2');
      await page.getByTestId('submit').click();
      await queued(page, `transfer ${qty} × W-3`);
    } // 2 ops
    await page.getByTestId('outbox-count').filter({ hasText: '20 to sync' }).waitFor();

    // Nothing reached the server, and a reload while offline loses nothing.
    assert.equal((await position('W-1')).version, before['W-1'].version);
    await page.reload();
    await page.getByTestId('outbox-count').filter({ hasText: '20 to sync' }).waitFor();
    await tab(page, 'outbox');
    assert.equal(await page.locator('[data-testid=op][data-state=pending]').count(), 20);
    await page.screenshot({ path: join(shots, 'outbox-offline.png') });

    await browser.context.setOffline(false);
    await page.getByTestId('sync-now').click();
    await synced(page);
    assert.equal(await page.locator('[data-testid=op][data-state=applied]').count(), 20);
    const after = Object.fromEntries(await Promise.all(['W-1', 'W-2', 'W-3', 'W-4'].map(async (s) => [s, await position(s)])));
    assert.equal(after['W-1'].version - before['W-1'].version, 6);
    assert.equal(after['W-2'].version - before['W-2'].version, 4);
    assert.equal(after['W-3'].version - before['W-3'].version, 6);
    assert.equal(after['W-4'].version - before['W-4'].version, 4);
    assert.equal(at(after['W-1'], 'wh-1').on_hand, at(before['W-1'], 'wh-1').on_hand + 21);
    assert.equal(at(after['W-2'], 'wh-1').on_hand, at(before['W-2'], 'wh-1').on_hand - 4);
    assert.equal(at(after['W-3'], 'wh-1').on_hand, at(before['W-3'], 'wh-1').on_hand + 3 - 9);
    assert.equal(at(after['W-3'], 'wh-2').inbound, 9);
    assert.equal(at(after['W-4'], 'wh-1').quarantined, 9);
    assert.equal(at(after['W-4'], 'wh-1').on_hand, at(before['W-4'], 'wh-1').on_hand + 10);

    // Syncing again applies nothing twice.
    await page.getByTestId('sync-now').click();
    await page.waitForTimeout(500);
    for (const sku of ['W-1', 'W-2', 'W-3', 'W-4']) {
      assert.equal((await position(sku)).version, after[sku].version, sku);
    }
  } finally {
    await browser.close();
  }
});

test('quantities are recorded exactly as typed, key by key', async () => {
  const { browser, page } = await tablet();
  try {
    const start = await position('W-2');
    // Adjust by -3, typed as a person (or a scanner) does: characters, Enter to move on.
    await tab(page, 'adjust');
    await page.getByTestId('sku').click();
    await page.keyboard.type('W-2');
    await page.keyboard.press('Enter');
    await page.keyboard.type('-3');
    assert.equal(await page.getByTestId('qty').inputValue(), '-3', 'the field shows what was typed');
    await page.getByTestId('reason').click();
    await page.keyboard.type('lost');
    await page.getByTestId('submit').click();
    await queued(page, 'adjust -3 × W-2');
    await synced(page);
    const adjusted = await position('W-2');
    assert.equal(at(adjusted, 'wh-1').on_hand, at(start, 'wh-1').on_hand - 3, 'the ledger records −3, not +3');
    // A fraction and an exponent are refused with a message, and nothing is queued.
    await tab(page, 'receive');
    for (const typed of ['12.5', '1e3']) {
      await page.getByTestId('sku').click();
      await page.keyboard.type('W-2');
      await page.keyboard.press('Enter');
      await page.keyboard.type(typed);
      assert.equal(await page.getByTestId('qty').inputValue(), typed);
      await page.getByTestId('submit').click();
      await page.getByTestId('message').filter({ hasText: 'whole number' }).waitFor();
      await page.getByTestId('qty').fill('');
      await page.getByTestId('sku').fill('');
    }
    // A count of -1 is refused too.
    await tab(page, 'count');
    await page.getByTestId('sku').click();
    await page.keyboard.type('W-2');
    await page.keyboard.press('Enter');
    await page.keyboard.type('-1');
    await page.getByTestId('submit').click();
    await page.getByTestId('message').filter({ hasText: 'Count must be 0 or more' }).waitFor();
    await page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor();
    assert.equal((await position('W-2')).version, adjusted.version, 'refused input queued nothing');
  } finally {
    await browser.close();
  }
});

test('two tablets count one shelf offline while stock arrives; both counts merge', async () => {
  const a = await tablet();
  const b = await tablet();
  try {
    const start = at(await position('W-2'), 'wh-1').on_hand;
    await lookup(a.page, 'W-2');
    await lookup(b.page, 'W-2');
    const seen = (await position('W-2')).version;
    await a.browser.context.setOffline(true);
    await b.browser.context.setOffline(true);
    const counted = start - 3; // three went missing
    for (const t of [a, b]) {
      await tab(t.page, 'count');
      await t.page.getByTestId('sku').fill('W-2');
      await t.page.getByTestId('count-basis').filter({ hasText: `version ${seen}` }).waitFor();
      await t.page.getByTestId('qty').fill(String(counted));
      await t.page.getByTestId('submit').click();
      await queued(t.page, `count ${counted} × W-2`);
    }
    await stockline.call('POST', '/v1/skus/W-2/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 5 });
    for (const t of [a, b]) {
      await t.browser.context.setOffline(false);
      await t.page.getByTestId('sync-now').click();
      await synced(t.page);
    }
    // The contract's count rule: what was counted plus the movements recorded since the version seen.
    assert.equal(at(await position('W-2'), 'wh-1').on_hand, counted + 5);
    const { entries } = await stockline.call('GET', `/v1/skus/W-2/entries?after_version=${seen}`, 'dev-warehouse');
    const counts = entries.filter((e) => e.event.type === 'movement' && e.event.movement.kind === 'count');
    assert.equal(counts.length, 2);
    for (const c of counts) assert.equal(c.event.movement.counted_at_version, seen);
  } finally {
    await a.browser.close();
    await b.browser.close();
  }
});

test('a rejected operation shows why and can be corrected', async () => {
  const reservation = await stockline.call('POST', '/v1/reservations', 'dev-storefront', { lines: [{ sku: 'W-1', qty: 2, location: 'wh-1' }] });
  await stockline.call('POST', `/v1/reservations/${reservation.id}/commit`, 'dev-storefront', {});
  const { browser, page } = await tablet();
  try {
    await tab(page, 'ship');
    await page.getByTestId('reservation').fill(reservation.id);
    await page.getByTestId('load-picks').click();
    await page.getByTestId('pick-list').waitFor();
    await page.screenshot({ path: join(shots, 'screen-ship-picklist.png') });
    await page.getByTestId('sku').fill('W-1');
    await page.getByTestId('qty').fill('5');
    await page.getByTestId('submit').click();
    await page.getByTestId('outbox-count').filter({ hasText: 'need attention' }).waitFor({ timeout: 20_000 });
    await tab(page, 'outbox');
    const rejected = page.locator('[data-testid=op][data-state=rejected]');
    await rejected.getByTestId('op-state').filter({ hasText: 'conflict' }).waitFor();
    assert.match(await rejected.getByTestId('op-state').textContent(), /2 allocated/);
    await page.screenshot({ path: join(shots, 'outbox-rejected.png') });
    await rejected.getByTestId('resend-qty').fill('2');
    await rejected.getByTestId('resend').click();
    await synced(page);
    const w1 = await position('W-1');
    assert.equal(w1.allocated, 0, 'the corrected ship applied');
  } finally {
    await browser.close();
  }
});

test('every screen at tablet and phone size', async () => {
  for (const [name, viewport] of [['tablet', { width: 768, height: 1024 }], ['phone', { width: 390, height: 844 }]]) {
    const { browser, page } = await tablet(viewport);
    try {
      for (const screen of ['lookup', 'receive', 'ship', 'count', 'adjust', 'transfer', 'returns', 'outbox']) {
        await tab(page, screen);
        if (screen === 'lookup') await lookup(page, 'W-1');
        await page.screenshot({ path: join(shots, `${name}-${screen}.png`), fullPage: true });
      }
    } finally {
      await browser.close();
    }
  }
});
