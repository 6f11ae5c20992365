// CSV import in real Chromium against the real worker: an admin picks the kind and a file with
// bad rows; the preview lists every bad row with its line and reason and nothing is applied;
// "apply the good rows" applies exactly those; a clean file applies whole; offline, nothing is
// kept and the admin is told.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { adminDevice, startStockline, root, tab } from './harness.mjs';

const shots = join(root, 'target/screenshots');
let stockline;

before(async () => {
  mkdirSync(shots, { recursive: true });
  stockline = await startStockline();
  const call = stockline.call;
  await call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'Main', kind: 'warehouse', region: 'eu', priority: 1 });
  for (const sku of ['TEE', 'MUG']) {
    await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: `Item ${sku}`, safety_stock: 0 });
  }
});

after(async () => {
  await stockline?.stop();
});

const onHand = async (sku) => (await stockline.call('GET', `/v1/availability/${sku}`, 'dev-admin')).on_hand;

const file = (name, text) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });

test('a file with bad rows: preview and errors, nothing applied, then the good rows', async () => {
  const { browser, page } = await adminDevice(stockline.app, { width: 768, height: 1024 });
  try {
    await tab(page, 'import');
    await page.getByTestId('import-kind').selectOption('opening_stock');
    assert.equal(await page.getByTestId('import-header').textContent(), 'Columns: sku,location,qty');
    const csv = 'sku,location,qty\nTEE,wh-1,40\nHAT,wh-1,3\nMUG,wh-1,12\nTEE,wh-9,1\n';
    await page.getByTestId('import-file').setInputFiles(file('opening-stock.csv', csv));
    const summary = page.getByTestId('import-summary');
    await summary.waitFor();
    assert.equal(
      await summary.textContent(),
      'Preview — nothing applied yet. 4 rows: 2 new, 0 changing, 0 unchanged, 2 with errors.',
    );
    const errors = await page.getByTestId('import-error').allTextContents();
    assert.equal(errors.length, 2);
    assert.match(errors[0], /^3sku.*HAT.*does not exist/);
    assert.match(errors[1], /^5location.*wh-9.*does not exist/);
    assert.deepEqual(await page.getByTestId('import-row').allTextContents(), [
      '2newTEE at wh-1: 40 on hand',
      '4newMUG at wh-1: 12 on hand',
    ]);
    assert.equal(await page.getByTestId('import-apply').count(), 0, 'no "apply all" while rows are bad');
    await page.screenshot({ path: join(shots, 'import-errors-tablet.png'), fullPage: true });
    assert.equal(await onHand('TEE'), 0, 'a preview applies nothing');

    await page.getByTestId('import-apply-good').click();
    await summary.getByText(/^Applied 2 rows/).waitFor();
    assert.equal(await onHand('TEE'), 40);
    assert.equal(await onHand('MUG'), 12);
    await page.screenshot({ path: join(shots, 'import-applied-tablet.png'), fullPage: true });
  } finally {
    await browser.context.close();
  }
});

test('on a phone: a clean file applies whole; offline nothing is kept', async () => {
  const { browser, page } = await adminDevice(stockline.app, { width: 390, height: 844 });
  try {
    await tab(page, 'import');
    await page.getByTestId('import-kind').selectOption('skus');
    const csv = 'sku,name,safety_stock,barcodes\nCAP,Cap,1,4006381333931\nSOCK,Sock,0,\n';
    await page.getByTestId('import-file').setInputFiles(file('skus.csv', csv));
    await page.getByTestId('import-summary').getByText(/2 new, 0 changing, 0 unchanged, 0 with errors/).waitFor();
    await page.screenshot({ path: join(shots, 'import-preview-phone.png'), fullPage: true });
    await page.getByTestId('import-apply').click();
    await page.getByTestId('import-summary').getByText(/^Applied 2 rows/).waitFor();
    const cap = await stockline.call('GET', '/v1/skus?q=cap', 'dev-admin');
    assert.deepEqual(cap.items.map((item) => item.sku), ['CAP']);

    await browser.context.setOffline(true);
    await page.getByTestId('import-file').setInputFiles(file('more.csv', 'sku,name\nBAG,Bag\n'));
    await page.getByText(/Offline: an import is checked and applied by the server/).waitFor();
    await browser.context.setOffline(false);
    const bag = await stockline.call('GET', '/v1/skus?q=bag', 'dev-admin');
    assert.deepEqual(bag.items, [], 'nothing was kept or applied');
  } finally {
    await browser.context.close();
  }
});
