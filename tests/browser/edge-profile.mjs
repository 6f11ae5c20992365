// Where the edge spends its CPU: V8's sampling profiler over workerd's inspector while one of
// the load run's requests is repeated. Not a benchmark (the profiler slows what it watches; the
// figures to quote come from `cargo xtask bench`): it says which code the time goes to.
//
//   node tests/browser/edge-profile.mjs orders|reserve|receipt [count] [concurrency]
//
// Prints the isolate's busy time per request, that time by the nearest two Stockline frames
// (SQL and JSON below them count to them), and the heaviest functions by self time. In workerd
// every object of the worker shares one isolate, so a request's latency is at least its share
// of that busy time.
import { startStockline, freePort } from './harness.mjs';

const mode = process.argv[2] ?? 'orders';
const count = Number(process.argv[3] ?? (mode === 'receipt' ? 40 : 300));
const concurrency = Number(process.argv[4] ?? (mode === 'receipt' ? 1 : 8));
if (!['orders', 'reserve', 'receipt'].includes(mode) || !(count > 0) || !(concurrency > 0)) {
  console.error('usage: node tests/browser/edge-profile.mjs orders|reserve|receipt [count] [concurrency]');
  process.exit(2);
}
const inspectorPort = await freePort();
const stockline = await startStockline([`--inspector-addr=127.0.0.1:${inspectorPort}`]);
const call = stockline.call;

async function stockedSkus(skus) {
  for (const [id, priority] of [['wh-1', 1], ['wh-2', 2]]) {
    await call('PUT', `/v1/locations/${id}`, 'dev-admin', { name: id, kind: 'warehouse', region: 'eu', priority });
  }
  for (const sku of skus) {
    await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: sku, safety_stock: 1 });
    for (const location of ['wh-1', 'wh-2']) {
      await call('POST', `/v1/skus/${sku}/movements`, 'dev-warehouse', { kind: 'receive', location, qty: 100_000_000 });
    }
  }
}

/// The request to profile, as the load run (`tests/src/bin/load.rs`) makes it.
async function scenario() {
  if (mode === 'receipt') {
    await call('PUT', '/v1/locations/wh-1', 'dev-admin', { name: 'wh-1', kind: 'warehouse', region: 'eu', priority: 1 });
    await call('PUT', '/v1/approval-rules', 'dev-admin', {
      base_currency: 'EUR',
      bands: [{ up_to: '1000', approvals: 0, roles: [] }, { up_to: null, approvals: 1, roles: ['approver', 'admin'] }],
    });
    await call('PUT', '/v1/suppliers/bench', 'dev-buyer', { name: 'Bench', currency: 'EUR', lead_time_days: 7 });
    const skus = Array.from({ length: 100 }, (_, i) => `SKU-${String(i).padStart(3, '0')}`);
    for (const sku of skus) await call('PUT', `/v1/skus/${sku}`, 'dev-admin', { name: sku, safety_stock: 0 });
    const expected_on = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    let order = null;
    let received = 0;
    // Ten receipts of 10 on each of an order's 100 lines, then the next order.
    return async (i) => {
      if (received % 10 === 0) {
        const lines = skus.map((sku) => ({ sku, location: 'wh-1', qty: 100, unit_price: '12.50', expected_on }));
        const draft = await call('POST', '/v1/purchase-orders', 'dev-buyer', { supplier: 'bench', currency: 'EUR', lines });
        let version = draft.version;
        for (const [action, token] of [['submit', 'dev-buyer'], ['approve', 'dev-admin'], ['send', 'dev-buyer']]) {
          version = (await call('POST', `/v1/purchase-orders/${draft.id}/${action}`, token, { version })).version;
        }
        order = draft.id;
      }
      received += 1;
      const body = { lines: skus.map((_, line) => ({ line: line + 1, qty: 10 })) };
      return () => call('POST', `/v1/purchase-orders/${order}/receipts`, 'dev-warehouse', body, { 'idempotency-key': `r-${i}` });
    };
  }
  const skus = Array.from({ length: 5 }, (_, i) => `SKU-${String(10 + i).padStart(3, '0')}`);
  await stockedSkus(skus);
  if (mode === 'reserve') {
    const body = { lines: skus.map((sku) => ({ sku, qty: 1 })), ttl_seconds: 1 };
    return async () => () => call('POST', '/v1/reservations', 'dev-storefront', body);
  }
  await call('PUT', '/v1/channels/web', 'dev-admin', { name: 'Web', locations: ['wh-1', 'wh-2'], buffer: 0, cap: null, stop_below: null });
  await call('PUT', '/v1/shipping-rates', 'dev-admin', {
    currency: 'EUR',
    rates: [
      { location: 'wh-1', region: 'eu', cost: '4.10', transit_days: 1 },
      { location: 'wh-2', region: 'eu', cost: '6.80', transit_days: 2 },
    ],
  });
  const order = { channel: 'web', currency: 'EUR', ship_to_region: 'eu', lines: skus.map((sku) => ({ sku, qty: 1, unit_price: '10.00' })) };
  return async (i) => () => call('POST', '/v1/orders', 'dev-storefront', order, { 'idempotency-key': `order-${i}` });
}

/// A connection to the inspector of the worker `main` (the API and every Durable Object).
async function inspector() {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl.endsWith('/main'));
  if (!target) throw new Error(`no inspector target for the worker main: ${JSON.stringify(targets)}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  let next = 0;
  const waiting = new Map();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      next += 1;
      waiting.set(next, resolve);
      socket.send(JSON.stringify({ id: next, method, params }));
    });
  return { send, close: () => socket.close() };
}

/// Runs `count` requests, `concurrency` at a time; their latencies in ms, in order.
async function drive(prepare, from, n) {
  const latencies = [];
  let next = from;
  const worker = async () => {
    while (next < from + n) {
      const request = await prepare(next++);
      const started = performance.now();
      await request();
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

const frameName = (frame) => frame.functionName || '(anonymous)';
const short = (name) => name.replace(/::h[0-9a-f]{16}/g, '').replace(/\{\{closure\}\}/g, 'c').slice(0, 110);

function report(profile, latencies) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const self = new Map();
  const near = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const leaf = nodes.get(profile.samples[i]);
    const name = frameName(leaf.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    if (name === '(idle)') continue;
    busy += us;
    const chain = [];
    for (let id = profile.samples[i]; id !== undefined && chain.length < 2; id = parents.get(id)) {
      const frame = frameName(nodes.get(id).callFrame);
      if (frame.includes('stockline_edge::') || frame.includes('stockline_engine::')) chain.push(short(frame));
    }
    const key = chain.join(' < ') || '(runtime: requests, responses, promises, GC — no Stockline frame)';
    near.set(key, (near.get(key) ?? 0) + us);
  }
  const per = (us) => `${(us / 1000 / count).toFixed(3).padStart(8)} ms`;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)].toFixed(1);
  console.log(`${count} × ${mode}, ${concurrency} at a time: isolate busy ${per(busy)} per request; latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (profiler on)`);
  console.log('\nBusy time per request by the nearest Stockline frames:');
  for (const [key, us] of [...near].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${per(us)}  ${key}`);
  console.log('\nSelf time per request, heaviest functions:');
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${per(us)}  ${short(key)}`);
}

try {
  const prepare = await scenario();
  await drive(prepare, 0, mode === 'receipt' ? 10 : 50);
  const { send, close } = await inspector();
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  const latencies = await drive(prepare, 1_000_000, count);
  const { result } = await send('Profiler.stop');
  close();
  report(result.profile, latencies);
} finally {
  await stockline.stop();
}
