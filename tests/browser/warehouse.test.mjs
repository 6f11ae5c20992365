// The warehouse app against the real worker in real Chromium, driven as a person or a scanner does:
// real key events (keyboard.type and Enter, never fill) into whatever has the focus. Online and
// offline work, exactly-once sync, counts that include the tablet's own work, two tablets whose
// counts disagree, the pick list after a ship, a refused operation corrected in place, phone
// layout with absurd input, and a screenshot of every screen at tablet and phone size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStockline, root, tab, warehouseDevice } from './harness.mjs';

const shots = join(root, 'target/screenshots');
const TABLET = { width: 768, height: 1024 };
const PHONE = { width: 390, height: 844 };
const BARCODE_W1 = '4006381333931';
let stockline;

const position = async (sku) => stockline.call('GET', `/v1/availability/${sku}`, 'dev-warehouse');
const at = (p, location) => p.locations.find((l) => l.location === location) ?? { on_hand: 0, quarantined: 0, inbound: 0, allocated: 0 };

async function item(sku, name, qty, barcodes = []) {
  await stockline.call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name, safety_stock: 0, barcodes });
  if (qty > 0) await stockline.call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  await stockline.call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main warehouse', kind: 'warehouse', region: 'eu', priority: 1 });
  await stockline.call('PUT', '/v1/locations/wh-2', 'dev-admin', { name: 'Overflow', kind: 'warehouse', region: 'eu', priority: 2 });
  await item('W-1', 'Blue widget', 50, [BARCODE_W1]);
  await item('W-2', 'Green widget', 50);
  await item('W-3', 'Red gadget', 50);
  await item('W-4', 'Yellow gizmo', 50);
  await item('C-1', 'Counted crate', 20);
  await item('C-2', 'Offline crate', 20);
  await item('D-1', 'Disputed drum', 30);
  await item('S-1', 'Shipped sprocket', 10);
  // The item index follows the PUTs within moments.
  const deadline = Date.now() + 10_000;
  while ((await stockline.call('GET', '/v1/skus?q=sprocket', 'dev-warehouse')).items.length === 0) {
    if (Date.now() > deadline) throw new Error('the item index did not follow');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await stockline?.stop();
});

const tablet = (viewport = TABLET) => warehouseDevice(stockline.app, viewport);

async function focused(page) {
  return page.evaluate(() => document.activeElement?.dataset?.testid ?? document.activeElement?.tagName);
}

/// The app moves the cursor from an effect that runs just after the screen renders: wait for it
/// (a deadline, not a sleep), then say where it is if it never arrived.
async function expectFocus(page, testid, message) {
  try {
    await page.waitForFunction((id) => document.activeElement?.dataset?.testid === id, testid, { timeout: 5_000 });
  } catch {}
  assert.equal(await focused(page), testid, message);
}

/// A field the app fills (from a scan or a pick), as it reads once the app has drawn it.
async function expectValue(page, testid, value, message) {
  const field = page.getByTestId(testid);
  try {
    await page.waitForFunction(([id, v]) => document.querySelector(`[data-testid="${id}"]`)?.value === v, [testid, value], { timeout: 5_000 });
  } catch {}
  assert.equal(await field.inputValue(), value, message);
}

/// A keyboard-wedge scan: the characters, then Enter, into whatever has the focus. The app puts
/// the cursor in a field from an effect that runs just after a screen renders, so the scan waits
/// for a field to have it (unless it is meant for no field at all).
async function scan(page, code, { intoField = true } = {}) {
  if (intoField) await page.waitForFunction(() => document.activeElement?.tagName === 'INPUT', null, { timeout: 5_000 });
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
}

async function status(page, text, state) {
  const message = page.getByTestId('message').filter({ hasText: text });
  await (state ? message.and(page.locator(`[data-state=${state}]`)) : message).waitFor({ timeout: 20_000 });
}

async function synced(page) {
  await page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor({ timeout: 20_000 });
}

async function receive(page, sku, qty, { reference = '', quarantine = false } = {}) {
  await tab(page, 'receive');
  if (reference) {
    await page.getByTestId('reference').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(reference);
  }
  if (quarantine) await page.getByTestId('to-quarantine').check();
  if (reference || quarantine) await page.getByTestId('sku').click();
  await expectFocus(page, 'sku', 'the cursor waits in the item field');
  await scan(page, sku);
  await expectFocus(page, 'qty', 'a scan moves on to the quantity');
  await page.keyboard.type(String(qty));
  await page.keyboard.press('Enter');
  await status(page, `Receive ${qty} × ${sku}`);
  await expectFocus(page, 'sku', 'after a submit the cursor is back in the item field');
}

async function lookup(page, sku) {
  await tab(page, 'lookup');
  await scan(page, sku);
  await page.getByTestId('card-sku').filter({ hasText: sku }).waitFor();
}

test('online: a scanned receive reaches the server, and the line says so', async () => {
  const { browser, page } = await tablet();
  try {
    const before = at(await position('W-1'), 'wh-1').on_hand;
    await receive(page, 'W-1', 10);
    await status(page, 'Receive 10 × W-1 (Blue widget) — Done: on the server', 'applied');
    await synced(page);
    assert.equal(at(await position('W-1'), 'wh-1').on_hand, before + 10);
  } finally {
    await browser.close();
  }
});

test('a scan into any screen fills the item and moves to the quantity; barcodes, any case and names find items', async () => {
  const { browser, page } = await tablet();
  try {
    for (const screen of ['receive', 'count', 'adjust', 'transfer', 'returns']) {
      await tab(page, screen);
      await expectFocus(page, 'sku', `${screen}: the cursor is in the item field after switching`);
      await scan(page, 'W-1');
      await expectValue(page, 'sku', 'W-1', screen);
      await expectFocus(page, 'qty', `${screen}: Enter after a scan moves to the quantity`);
      await page.getByTestId('chosen-item').filter({ hasText: 'Blue widget' }).waitFor();
    }
    // A barcode, a SKU typed in lower case, and part of a name.
    await tab(page, 'receive');
    await scan(page, BARCODE_W1);
    await expectValue(page, 'sku', 'W-1', 'the barcode names W-1');
    await page.getByTestId('sku').click();
    await page.keyboard.press('Control+A');
    await scan(page, 'w-2');
    await expectValue(page, 'sku', 'W-2', 'any case');
    await page.getByTestId('sku').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('gadg');
    await page.getByTestId('suggestion').filter({ hasText: 'Red gadget' }).click();
    await expectValue(page, 'sku', 'W-3', 'picked by name');
    await expectFocus(page, 'qty');
    // An unknown item is refused at once, and nothing is queued.
    await page.getByTestId('sku').click();
    await page.keyboard.press('Control+A');
    await scan(page, 'W-9');
    await page.getByTestId('message').filter({ hasText: 'No item “W-9”' }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'No item “W-9”' }).waitFor();
    await page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor();
    // With no field focused (the outbox), a scan opens the item's stock.
    await tab(page, 'outbox');
    await page.locator('h2').first().click();
    await scan(page, 'W-2', { intoField: false });
    await page.getByTestId('card-sku').filter({ hasText: 'W-2' }).waitFor();
    await page.getByTestId('card-name').filter({ hasText: 'Green widget' }).waitFor();
    // The stock card leads with this location, and the item is now a recent one.
    await page.getByTestId('here-on-hand').waitFor();
    await page.getByTestId('recent-item').filter({ hasText: 'W-2' }).waitFor();
  } finally {
    await browser.close();
  }
});

test('quantities are recorded exactly as typed, key by key', async () => {
  const { browser, page } = await tablet();
  try {
    const start = await position('W-2');
    // Adjust: "-3" typed with its minus is −3.
    await tab(page, 'adjust');
    await scan(page, 'W-2');
    await page.keyboard.type('-3');
    assert.equal(await page.getByTestId('qty').inputValue(), '-3', 'the field shows what was typed');
    await page.getByTestId('adjust-preview').filter({ hasText: 'Records −3' }).waitFor();
    await page.keyboard.press('Enter');
    await expectFocus(page, 'reason', 'Enter goes on to the missing reason');
    await page.keyboard.type('lost');
    await page.keyboard.press('Enter');
    await status(page, 'Adjust −3 × W-2', 'applied');
    // The sign toggle: "+ Found" and 2 is +2; "− Lost" and 1 is −1.
    await page.getByTestId('sign-plus').click();
    await page.getByTestId('sku').click();
    await scan(page, 'W-2');
    await page.keyboard.type('2');
    await page.getByTestId('adjust-preview').filter({ hasText: 'Records +2' }).waitFor();
    await page.getByTestId('reason').click();
    await page.keyboard.type('found');
    await page.keyboard.press('Enter');
    await status(page, 'Adjust +2 × W-2', 'applied');
    const adjusted = await position('W-2');
    assert.equal(at(adjusted, 'wh-1').on_hand, at(start, 'wh-1').on_hand - 3 + 2, 'the ledger records −3 then +2');
    // A fraction or an exponent is refused with a message, and nothing is queued.
    await tab(page, 'receive');
    for (const typed of ['12.5', '1e3', '']) {
      await scan(page, 'W-2');
      await page.keyboard.type(typed);
      assert.equal(await page.getByTestId('qty').inputValue(), typed);
      await page.keyboard.press('Enter');
      await page.getByTestId('message').filter({ hasText: typed ? 'not a whole number' : 'Type the quantity' }).waitFor();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
      await page.getByTestId('sku').click();
      await page.keyboard.press('Control+A');
    }
    // Zero, and a count below zero, are the engine's to refuse.
    await scan(page, 'W-2');
    await page.keyboard.type('0');
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'from 1 to 1,000,000,000' }).waitFor();
    await tab(page, 'count');
    await scan(page, 'W-2');
    await page.keyboard.type('-1');
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: '0 or more' }).waitFor();
    // An over-long reason is refused before anything is queued.
    await tab(page, 'adjust');
    await scan(page, 'W-2');
    await page.keyboard.type('1');
    await page.getByTestId('reason').click();
    await page.keyboard.type('x'.repeat(257));
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'The reason must be 1..=256 characters' }).waitFor();
    await synced(page);
    assert.equal((await position('W-2')).version, adjusted.version, 'refused input queued nothing');
  } finally {
    await browser.close();
  }
});

test('look up, receive 5, count 25: on hand is 25 (online, and offline with stock arriving meanwhile)', async () => {
  const { browser, page } = await tablet();
  try {
    await lookup(page, 'C-1');
    assert.equal(await page.getByTestId('here-on-hand').textContent(), '20');
    await receive(page, 'C-1', 5);
    await status(page, 'Receive 5 × C-1', 'applied');
    await tab(page, 'count');
    await scan(page, 'C-1');
    await page.getByTestId('count-basis').filter({ hasText: '25 on hand here' }).waitFor();
    await page.keyboard.type('25');
    await page.keyboard.press('Enter');
    await status(page, 'Count 25 × C-1', 'applied');
    assert.equal(at(await position('C-1'), 'wh-1').on_hand, 25, 'not 30: the receive is not added twice');

    // Offline: the count says what it expects, and the server adds only what others did.
    await lookup(page, 'C-2');
    await browser.context.setOffline(true);
    await receive(page, 'C-2', 5);
    await tab(page, 'count');
    await scan(page, 'C-2');
    await page.getByTestId('count-basis').filter({ hasText: '+ your receive of 5 = 25 expected' }).waitFor();
    await page.keyboard.type('25');
    await page.keyboard.press('Enter');
    await status(page, 'Count 25 × C-2');
    await page.screenshot({ path: join(shots, 'tablet-count-offline-basis.png') });
    // Someone else receives 3 while the tablet is offline.
    await stockline.call('POST', '/v1/skus/C-2/movements', 'dev-warehouse', { kind: 'receive', location: 'wh-1', qty: 3 });
    await browser.context.setOffline(false);
    await synced(page);
    assert.equal(at(await position('C-2'), 'wh-1').on_hand, 28, '25 counted + the 3 received elsewhere since');
  } finally {
    await browser.close();
  }
});

test('offline: 20 operations survive a reload and sync exactly once', async () => {
  const { browser, page } = await tablet();
  try {
    const skus = ['W-1', 'W-2', 'W-3', 'W-4'];
    const before = Object.fromEntries(await Promise.all(skus.map(async (s) => [s, await position(s)])));
    await browser.context.setOffline(true);
    for (let i = 1; i <= 6; i++) await receive(page, 'W-1', i); // 6 ops
    await tab(page, 'adjust');
    for (let i = 0; i < 4; i++) {
      await scan(page, 'W-2');
      await page.keyboard.type('1');
      await page.keyboard.press('Enter');
      await page.keyboard.type('lost');
      await page.keyboard.press('Enter');
      await page.getByTestId('outbox-count').filter({ hasText: `${7 + i} to sync` }).waitFor();
    } // 4 ops, −1 each (the toggle starts at "− Lost")
    await receive(page, 'W-4', 3, { quarantine: true }); // 1 op
    await receive(page, 'W-4', 2, { quarantine: true, reference: 'PO-77' }); // 1 op
    await receive(page, 'W-4', 4, { quarantine: true }); // 1 op
    await receive(page, 'W-4', 1); // 1 op
    await tab(page, 'returns');
    for (const qty of [1, 2]) {
      await scan(page, 'W-3');
      await page.keyboard.type(String(qty));
      await page.getByTestId('return-expected').click();
      await status(page, `Return expected ${qty} × W-3`);
      await scan(page, 'W-3');
      await page.keyboard.type(String(qty));
      await page.keyboard.press('Enter');
      await status(page, `Return received ${qty} × W-3`);
    } // 4 ops
    await tab(page, 'transfer');
    for (const qty of [4, 5]) {
      await page.getByTestId('to-location').selectOption('wh-2');
      await page.getByTestId('sku').click();
      await scan(page, 'W-3');
      await page.keyboard.type(String(qty));
      await page.keyboard.press('Enter');
      await status(page, `Transfer ${qty} × W-3`);
    } // 2 ops
    await page.getByTestId('outbox-count').filter({ hasText: '20 to sync' }).waitFor();

    // Nothing reached the server, and a reload while offline loses nothing.
    assert.equal((await position('W-1')).version, before['W-1'].version);
    await page.reload();
    await page.getByTestId('outbox-count').filter({ hasText: '20 to sync' }).waitFor();
    await tab(page, 'outbox');
    assert.equal(await page.locator('[data-testid=op][data-state=pending]').count(), 20);
    await page.getByTestId('op-state').filter({ hasText: 'sends when back online' }).first().waitFor();
    await page.screenshot({ path: join(shots, 'tablet-outbox-offline.png') });

    await browser.context.setOffline(false);
    await page.getByTestId('sync-now').click();
    await synced(page);
    assert.equal(await page.locator('[data-testid=op][data-state=applied]').count(), 20);
    const after = Object.fromEntries(await Promise.all(skus.map(async (s) => [s, await position(s)])));
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
    for (const sku of skus) assert.equal((await position(sku)).version, after[sku].version, sku);
  } finally {
    await browser.close();
  }
});

test('two tablets counting 28 and 27 from the same look-up: an exception asks for a recount', async () => {
  const a = await tablet();
  const b = await tablet();
  try {
    await lookup(a.page, 'D-1');
    await lookup(b.page, 'D-1');
    await a.browser.context.setOffline(true);
    await b.browser.context.setOffline(true);
    for (const [t, counted] of [[a, 28], [b, 27]]) {
      await tab(t.page, 'count');
      await scan(t.page, 'D-1');
      await t.page.getByTestId('count-basis').filter({ hasText: '30 on hand here' }).waitFor();
      await t.page.keyboard.type(String(counted));
      await t.page.keyboard.press('Enter');
      await status(t.page, `Count ${counted} × D-1`);
    }
    await a.browser.context.setOffline(false);
    await synced(a.page);
    await b.browser.context.setOffline(false);
    await b.page.getByTestId('outbox-count').filter({ hasText: '1 need attention' }).waitFor({ timeout: 20_000 });
    await status(b.page, 'counts disagree: another count says 28, yours says 27', 'attention');
    const { entries } = await stockline.call('GET', '/v1/skus/D-1/entries?after_version=0&limit=1000', 'dev-warehouse');
    const counts = entries.filter((e) => e.event.type === 'movement' && e.event.movement.kind === 'count');
    assert.equal(counts.length, 2, 'both counts are in the ledger');
    assert.equal(counts[1].event.exceptions[0].kind, 'counts_disagree', 'the second one raised the exception');
    // From the header, by keyboard: the outbox, then "Count again" opens the count with the item.
    await b.page.getByTestId('outbox-count').focus();
    await b.page.keyboard.press('Enter');
    await b.page.locator('[data-testid=op][data-state=attention]').waitFor();
    await b.page.screenshot({ path: join(shots, 'tablet-outbox-counts-disagree.png') });
    await b.page.getByTestId('recount').click();
    await b.page.getByTestId('count-basis').filter({ hasText: 'on hand here' }).waitFor();
    await expectValue(b.page, 'sku', 'D-1');
    await expectFocus(b.page, 'qty');
    await b.page.keyboard.type('27');
    await b.page.keyboard.press('Enter');
    await status(b.page, 'Count 27 × D-1', 'applied');
    assert.equal(at(await position('D-1'), 'wh-1').on_hand, 27);
    await b.page.getByTestId('outbox-count').filter({ hasText: 'All synced' }).waitFor();
  } finally {
    await a.browser.close();
    await b.browser.close();
  }
});

test('the pick list after a ship offers no second ship; a refused ship is corrected in place', async () => {
  const order = await stockline.call('POST', '/v1/reservations', 'dev-storefront', { lines: [{ sku: 'S-1', qty: 2, location: 'wh-1' }] });
  await stockline.call('POST', `/v1/reservations/${order.id}/commit`, 'dev-storefront', {});
  const { browser, page } = await tablet();
  try {
    await tab(page, 'ship');
    await expectFocus(page, 'reservation', 'the ship screen starts at the order');
    await scan(page, order.id);
    await page.getByTestId('pick-list').waitFor();
    await page.getByTestId('pick-ship').filter({ hasText: 'Ship 2' }).click();
    await status(page, 'Ship 2 × S-1', 'applied');
    await page.getByTestId('pick-state').filter({ hasText: 'Shipped' }).waitFor();
    assert.equal(await page.getByTestId('pick-ship').count(), 0, 'no second Ship for the same allocation');
    await page.screenshot({ path: join(shots, 'tablet-ship-picklist-shipped.png') });
    assert.equal((await position('S-1')).allocated, 0);

    // A ship of more than the order has here is refused by the server; every field can be corrected.
    const second = await stockline.call('POST', '/v1/reservations', 'dev-storefront', { lines: [{ sku: 'S-1', qty: 2, location: 'wh-1' }] });
    await stockline.call('POST', `/v1/reservations/${second.id}/commit`, 'dev-storefront', {});
    await page.getByTestId('reservation').click();
    await page.keyboard.press('Control+A');
    await scan(page, second.id);
    await page.getByTestId('order-status').filter({ hasText: second.id }).waitFor();
    await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'sku');
    await scan(page, 'S-1');
    await page.waitForFunction(() => document.querySelector('[data-testid=qty]').value === '2');
    await expectFocus(page, 'qty', 'the quantity left to pick, ready to confirm or change');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('5');
    await page.keyboard.press('Enter');
    await page.getByTestId('outbox-count').filter({ hasText: 'need attention' }).waitFor({ timeout: 20_000 });
    await status(page, 'Not done: the order does not have that many to ship here', 'rejected');
    await page.getByTestId('outbox-count').click();
    const rejected = page.locator('[data-testid=op][data-state=rejected]');
    await rejected.waitFor();
    await page.screenshot({ path: join(shots, 'tablet-outbox-rejected.png') });
    await rejected.getByTestId('resend-qty').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('2');
    await rejected.getByTestId('resend').click();
    await synced(page);
    assert.equal((await position('S-1')).allocated, 0, 'the corrected ship applied');
  } finally {
    await browser.close();
  }
});

test('discard asks first and can be undone; sign-out refuses while work waits', async () => {
  const { browser, page } = await tablet();
  try {
    // A ship against an order that does not exist is refused by the server.
    await tab(page, 'ship');
    await page.getByTestId('sku').click();
    await scan(page, 'W-1');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: 'Load the order first' }).waitFor();
    await page.getByTestId('reservation').click();
    await page.keyboard.type('no-such-order');
    await page.getByTestId('sku').click();
    await scan(page, 'W-1');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await page.getByTestId('outbox-count').filter({ hasText: '1 need attention' }).waitFor({ timeout: 20_000 });
    // Signing out now would lose it: refused, with the choice to discard on purpose.
    await page.getByTestId('menu').click();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-out-discard').waitFor();
    await page.getByTestId('sign-out-cancel').click();
    await page.getByTestId('menu').click();
    await tab(page, 'outbox');
    const rejected = page.locator('[data-testid=op][data-state=rejected]');
    await rejected.getByTestId('discard').click();
    await rejected.getByTestId('discard-cancel').click();
    await rejected.getByTestId('discard').click();
    await rejected.getByTestId('discard-confirm').click();
    await page.getByTestId('undo-toast').waitFor();
    assert.equal(await page.locator('[data-testid=op][data-state=rejected]').count(), 0);
    await page.getByTestId('undo').click();
    await page.locator('[data-testid=op][data-state=rejected]').waitFor();
    await page.reload();
    await page.getByTestId('outbox-count').filter({ hasText: '1 need attention' }).waitFor();
    await tab(page, 'outbox');
    await page.locator('[data-testid=op][data-state=rejected]').getByTestId('discard').click();
    await page.getByTestId('discard-confirm').click();
    await synced(page);
    // Nothing waits: sign-out goes through and asks for a token again.
    await page.getByTestId('menu').click();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('token').waitFor();
  } finally {
    await browser.close();
  }
});

test('phone: no element wider than 390 px, whatever is typed; main screens in a bottom bar', async () => {
  const { browser, page } = await tablet(PHONE);
  const overflow = () => page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => !e.closest('.table-wrap'))
      .filter((e) => e.getBoundingClientRect().right > width + 0.5)
      .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);
    return { page: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5) };
  });
  try {
    const bar = await page.getByTestId('tab-receive').boundingBox();
    assert.ok(bar.y > 844 - 90, `the tabs sit at the bottom (y = ${bar.y})`);
    assert.ok(bar.height >= 44, 'tap targets of 44 px or more');
    assert.equal(await page.getByTestId('tab-adjust').isVisible(), false, 'the rest are under More');
    await tab(page, 'receive');
    await expectFocus(page, 'sku');
    await page.keyboard.type('X'.repeat(5000));
    await page.keyboard.press('Enter');
    await page.getByTestId('message').filter({ hasText: '5000 characters' }).waitFor();
    let measured = await overflow();
    assert.ok(measured.page <= 390, `page ${measured.page} px wide: ${measured.wide}`);
    assert.deepEqual(measured.wide, []);
    await page.screenshot({ path: join(shots, 'phone-receive-5000-characters.png'), fullPage: true });
    // A long order id in the outbox wraps too.
    await browser.context.setOffline(true);
    await tab(page, 'ship');
    await expectFocus(page, 'reservation');
    await page.keyboard.type('ORDER-'.repeat(10) + '1234');
    await page.getByTestId('sku').click();
    await scan(page, 'W-1');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await tab(page, 'outbox');
    await page.getByTestId('op').first().waitFor();
    measured = await overflow();
    assert.ok(measured.page <= 390, `outbox ${measured.page} px wide: ${measured.wide}`);
    assert.deepEqual(measured.wide, []);
    await page.screenshot({ path: join(shots, 'phone-outbox-long-order.png'), fullPage: true });
    await page.locator('[data-testid=op]').first().getByTestId('op-state').waitFor();
  } finally {
    await browser.close();
  }
});

test('every screen at tablet and phone size', async () => {
  for (const [name, viewport] of [['tablet', TABLET], ['phone', PHONE]]) {
    const { browser, page } = await tablet(viewport);
    try {
      for (const screen of ['lookup', 'receive', 'ship', 'count', 'adjust', 'transfer', 'returns', 'outbox']) {
        await tab(page, screen);
        if (screen === 'lookup') await lookup(page, 'W-1');
        if (screen === 'count') {
          await scan(page, 'W-1');
          await page.getByTestId('count-basis').filter({ hasText: 'on hand here' }).waitFor();
        }
        if (screen === 'receive') {
          await expectFocus(page, 'sku');
          await page.keyboard.type('widg');
          await page.getByTestId('suggestion').first().waitFor();
        }
        const shot = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(shot <= viewport.width, `${name} ${screen}: ${shot} px wide`);
        await page.screenshot({ path: join(shots, `${name}-${screen}.png`), fullPage: true });
      }
      await page.getByTestId('menu').click();
      await page.screenshot({ path: join(shots, `${name}-menu.png`), fullPage: true });
    } finally {
      await browser.close();
    }
  }
});
