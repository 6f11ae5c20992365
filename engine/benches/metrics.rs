//! Metrics benchmarks: what keeping them adds to an order's save (observing its facts and
//! turning them into bucket additions) and to a purchase order's receipt, and reading a 90-day
//! window broken down by 10,000 SKUs from its buckets (the rows the edge hands over: per-day
//! totals, per-SKU sums).
//!
//! Run: `cargo bench -p stockline-engine --bench metrics` (add `-- --quick` for a fast pass).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stockline_engine::metrics::{
    currency_bin, dim, metric, read_cycle_time, read_fill_rate, read_margin, read_suppliers, BucketRow, LineFill,
    MetricsBy, OrderFacts, PoFacts, ShipCosts, StockoutDays, Window,
};
use stockline_engine::orders::{Order, OrderLineSpec, OrderSpec, OrderStatus, ServiceLevel, SplitPolicy};
use stockline_engine::procurement::{
    ApprovalRules, Band, MatchTolerance, PoLineSpec, PoSpec, PurchaseOrder, ReceiptLine, ReceiptSpec, ReceiveTo,
};
use stockline_engine::{audit::Decision, Catalog};
use stockline_engine::{Actor, Id, Money, Role};

const SKUS: usize = 10_000;
const WINDOW_DAYS: u32 = 90;

fn id(value: &str) -> Id {
    Id::new(value).expect("a bench id")
}

fn save(c: &mut Criterion) {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("a time");
    let spec = OrderSpec {
        channel: id("web"),
        currency: "EUR".to_string(),
        ship_to_region: "eu".to_string(),
        service_level: ServiceLevel::Standard,
        priority: 0,
        promised_by: None,
        split: SplitPolicy::Allow,
        hold: None,
        reference: None,
        lines: (0..5)
            .map(|l| OrderLineSpec {
                sku: id(&format!("SKU-{l}")),
                qty: 2,
                unit_price: Money::parse("9.00").expect("money"),
            })
            .collect(),
    };
    let actor = Actor { subject: "shop".to_string(), role: Role::Storefront };
    let mut order = Order::place(id("SO-1"), &spec, &actor, at).expect("placed");
    // Allocated in full at placement, then shipped: the save that moves the most figures
    // (the final fill, the cycle time, the order leaving the backlog).
    let before = OrderFacts {
        placed_at: at,
        channel: id("web"),
        open: Some(OrderStatus::Picked),
        first: Some(
            order.lines.iter().map(|l| LineFill { sku: l.sku.clone(), ordered: l.qty, filled: l.qty }).collect(),
        ),
        ended: None,
        shipped_at: None,
        ships_from: vec![id("wh-1")],
        currency: "EUR".to_string(),
        promised_by: None,
        costs: Some(ShipCosts { shipping_cents: 410, split_cents: 0, expedite_cents: 0 }),
        sold: vec![],
    };
    for line in &mut order.lines {
        line.shipped = line.qty;
    }
    order.status = OrderStatus::Shipped;
    let after = OrderFacts::observe(Some(&before), &order);
    // The final fill and the cycle time, each for all, the channel and 5 SKUs (the cycle time
    // also for the location it ships from); the backlog (all, the channel) loses the order; the
    // shipping cost (all, the channel) and the revenue (all, the channel, 5 SKUs).
    assert_eq!(OrderFacts::deltas(Some(&before), &after).len(), 7 + 8 + 2 + 2 + 7);
    c.bench_function("metrics/observe + deltas: a 5-line order ships", |b| {
        b.iter(|| {
            let after = OrderFacts::observe(Some(black_box(&before)), black_box(&order));
            OrderFacts::deltas(Some(&before), &after)
        })
    });
    let picked = OrderFacts { open: Some(OrderStatus::Released), ..before.clone() };
    c.bench_function("metrics/observe + deltas: a pick (moves the backlog only)", |b| {
        b.iter(|| {
            let after = OrderFacts::observe(Some(black_box(&picked)), black_box(&order));
            OrderFacts::deltas(Some(&picked), &after)
        })
    });
}

/// A 5-line purchase order, sent, then received in full: the save that moves the most supplier
/// figures (5 lines judged, 5 lead-time samples).
fn receipt(c: &mut Criterion) {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("a time");
    let mut catalog = Catalog::default();
    let location =
        serde_json::from_value(serde_json::json!({"name": "WH", "kind": "warehouse", "region": "eu", "priority": 1}))
            .expect("a location spec");
    catalog.put_location(id("wh-1"), location).expect("a location");
    let supplier = serde_json::from_value(serde_json::json!({"name": "S", "currency": "EUR", "lead_time_days": 5}))
        .expect("a supplier spec");
    catalog.put_supplier(id("basics-co"), supplier, Role::Admin).expect("a supplier");
    let spec = PoSpec {
        supplier: id("basics-co"),
        currency: "EUR".to_string(),
        lines: (0..5)
            .map(|l| PoLineSpec {
                sku: id(&format!("SKU-{l}")),
                location: id("wh-1"),
                qty: 20,
                unit_price: Money::parse("3.00").expect("money"),
                expected_on: (at + Duration::days(7)).date_naive(),
            })
            .collect(),
        comment: None,
    };
    let rules = ApprovalRules {
        base_currency: "EUR".into(),
        rates: Default::default(),
        bands: vec![Band { up_to: None, approvals: 0, roles: vec![] }],
        watch_extra_approvals: 0,
        critical_extra_approvals: 0,
        strict_roles: vec![Role::Admin],
        match_tolerance: MatchTolerance::default(),
    };
    let buyer = Actor { subject: "carl".to_string(), role: Role::Buyer };
    let mut order = PurchaseOrder::create(id("PO-1"), &spec, &catalog, &buyer, at).expect("a draft");
    let decide = |order: &PurchaseOrder| Decision { actor: &buyer, at, seen_version: order.version, comment: None };
    order.submit(&decide(&order), Some((&rules, 1)), &catalog, &[]).expect("approved");
    order.send(&decide(&order)).expect("sent");
    let before = PoFacts::observe(None, &order, &[]);
    let lines = (1..=5).map(|line| ReceiptLine { line, qty: 20, into: ReceiveTo::Stock }).collect();
    order
        .receive(&id("R-1"), &ReceiptSpec { lines, comment: None }, 0, &buyer, at + Duration::days(4))
        .expect("received");
    let after = PoFacts::observe(Some(&before), &order, &[]);
    // The 5 lines leave their expected day and are judged on the receipt's; 5 receipt samples.
    // Each is kept for all, the supplier, the location (one bucket each) and its SKU (5).
    assert_eq!(PoFacts::deltas(Some(&before), &after).len(), 8 + 8 + 8);
    c.bench_function("metrics/observe + deltas: a 5-line purchase order received in full", |b| {
        b.iter(|| {
            let after = PoFacts::observe(Some(black_box(&before)), black_box(&order), &[]);
            PoFacts::deltas(Some(&before), &after)
        })
    });
}

/// The rows the edge reads for a 90-day window by SKU: per-day totals for the window and the one
/// before, and each SKU's sums over the window (summed in SQLite).
fn rows(to: NaiveDate) -> Vec<BucketRow<'static>> {
    let window = Window::ending(to, WINDOW_DAYS);
    let mut rows = Vec::new();
    for back in 0..(2 * WINDOW_DAYS as i64) {
        let day = to - Duration::days(back);
        for name in [metric::FILL_FIRST, metric::FILL_FINAL] {
            let values = [400, 380, 2_000, 1_950, 6_000, 5_900];
            rows.push(BucketRow {
                metric: name.to_string().into(),
                dim: dim::ALL.into(),
                key: "".into(),
                day,
                bin: 0,
                values,
            });
        }
        rows.push(BucketRow {
            metric: metric::CYCLE.into(),
            dim: dim::ALL.into(),
            key: "".into(),
            day,
            bin: (back % 80) as u32,
            values: [400, 0, 0, 0, 0, 0],
        });
    }
    for s in 0..SKUS {
        for name in [metric::FILL_FIRST, metric::FILL_FINAL] {
            let units = 50 + (s as i64 * 7) % 40;
            let values = [
                units / 2,
                units / 2 - (s as i64 % 3),
                units / 2,
                units / 2 - (s as i64 % 3),
                units,
                units - (s as i64 % 5),
            ];
            rows.push(BucketRow {
                metric: name.to_string().into(),
                dim: dim::SKU.into(),
                key: format!("SKU-{s:05}").into(),
                day: window.to,
                bin: 0,
                values,
            });
        }
    }
    rows
}

fn read(c: &mut Criterion) {
    let to = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let window = Window::ending(to, WINDOW_DAYS);
    let rows = rows(to);
    let read = read_fill_rate(&rows, window, Some(MetricsBy::Sku));
    assert_eq!((read.days.len(), read.groups.len()), (WINDOW_DAYS as usize, 200));
    c.bench_function("metrics/read fill rate: 90 days by SKU, 10,000 SKUs", |b| {
        b.iter(|| read_fill_rate(black_box(&rows), window, Some(MetricsBy::Sku)))
    });
    c.bench_function("metrics/read cycle time: 90 days", |b| {
        b.iter(|| read_cycle_time(black_box(&rows), window, None, to))
    });
    // By SKU: each SKU's orders fell in 10 bins of the 160 (100,000 rows, as SQLite sums them).
    let mut by_sku = rows.clone();
    for s in 0..SKUS {
        for bin in (20..80).step_by(6) {
            by_sku.push(BucketRow {
                metric: metric::CYCLE.into(),
                dim: dim::SKU.into(),
                key: format!("SKU-{s:05}").into(),
                day: window.to,
                bin: (bin + s % 7) as u32,
                values: [2, 1, (s % 2) as i64, 0, 0, 0],
            });
        }
    }
    let read = read_cycle_time(&by_sku, window, Some(MetricsBy::Sku), to);
    assert_eq!(read.window.groups.len(), 200);
    c.bench_function("metrics/read cycle time: 90 days by SKU, 10,000 SKUs x 10 bins", |b| {
        b.iter(|| read_cycle_time(black_box(&by_sku), window, Some(MetricsBy::Sku), to))
    });
}

/// Supplier figures for 90 days by SKU over 10,000 SKUs: per-day totals of the window and the
/// one before, and each SKU's sums over both (drift compares them).
fn read_supply(c: &mut Criterion) {
    let to = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let window = Window::ending(to, WINDOW_DAYS);
    let mut rows = Vec::new();
    let row = |name: &str, dim: &str, key: String, day: NaiveDate, values: [i64; 6]| BucketRow {
        metric: name.to_string().into(),
        dim: dim.to_string().into(),
        key: key.into(),
        day,
        bin: 0,
        values,
    };
    for back in 0..(2 * WINDOW_DAYS as i64) {
        let day = to - Duration::days(back);
        rows.push(row(metric::PO_LINE, dim::ALL, String::new(), day, [120, 100, 6_000, 5_800, 0, 0]));
        rows.push(row(metric::PO_RECEIPT, dim::ALL, String::new(), day, [150, 900, 6_000, 7_000, 40, 0]));
        rows.push(row(metric::PO_INVOICE, dim::ALL, String::new(), day, [80, 400_000, 404_000, 0, 0, 0]));
    }
    for (day, previous) in [(window.to, false), (window.previous().to, true)] {
        for s in 0..SKUS {
            let key = format!("SKU-{s:05}");
            let late = (s as i64 + i64::from(previous)) % 4;
            rows.push(row(metric::PO_LINE, dim::SKU, key.clone(), day, [4, 4 - late, 200, 200 - late, 0, 0]));
            let (sum, squares) = if previous { (24, 146) } else { (24, 170) };
            rows.push(row(metric::PO_RECEIPT, dim::SKU, key, day, [4, sum, squares, 200, s as i64 % 3, 0]));
        }
    }
    let read = read_suppliers(&rows, window, Some(MetricsBy::Sku), to);
    assert_eq!((read.days.len(), read.groups.len()), (WINDOW_DAYS as usize, 200));
    c.bench_function("metrics/read suppliers: 90 days by SKU, 10,000 SKUs, with drift", |b| {
        b.iter(|| read_suppliers(black_box(&rows), window, Some(MetricsBy::Sku), to))
    });
}

/// Margin for 90 days by SKU over 10,000 SKUs: per-day totals (shipping, revenue, invoices) of
/// the window and the one before; each SKU's revenue in both; 2,000 SKUs with stockout days.
fn read_margin_10k(c: &mut Criterion) {
    let to = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let window = Window::ending(to, WINDOW_DAYS);
    let eur = currency_bin("EUR").expect("a code");
    let row = |name: &str, dim: &str, key: String, day: NaiveDate, values: [i64; 6]| BucketRow {
        metric: name.to_string().into(),
        dim: dim.to_string().into(),
        key: key.into(),
        day,
        bin: eur,
        values,
    };
    let (mut orders, mut purchases) = (Vec::new(), Vec::new());
    for back in 0..(2 * WINDOW_DAYS as i64) {
        let day = to - Duration::days(back);
        orders.push(row(metric::SHIPPING, dim::ALL, String::new(), day, [160_000, 9_000, 2_000, 400, 30, 8]));
        orders.push(row(metric::REVENUE, dim::ALL, String::new(), day, [4_000_000, 6_000, 0, 0, 0, 0]));
        purchases.push(row(metric::PO_INVOICE, dim::ALL, String::new(), day, [80, 400_000, 404_000, 0, 0, 0]));
    }
    for day in [window.to, window.previous().to] {
        for s in 0..SKUS {
            let cents = 40_000 + (s as i64 * 37) % 9_000;
            orders.push(row(metric::REVENUE, dim::SKU, format!("SKU-{s:05}"), day, [cents, 60, 0, 0, 0, 0]));
        }
    }
    let stockouts: Vec<StockoutDays> = (0..SKUS)
        .step_by(5)
        .map(|s| StockoutDays { sku: format!("SKU-{s:05}"), days: 1 + s as i64 % 9, previous_days: s as i64 % 4 })
        .collect();
    let read = read_margin(&orders, &purchases, &stockouts, window, Some(MetricsBy::Sku), to);
    assert_eq!((read.days.len(), read.groups.len()), (WINDOW_DAYS as usize, 200));
    c.bench_function("metrics/read margin: 90 days by SKU, 10,000 SKUs, 2,000 with stockouts", |b| {
        b.iter(|| read_margin(black_box(&orders), &purchases, &stockouts, window, Some(MetricsBy::Sku), to))
    });
}

criterion_group!(benches, save, receipt, read, read_supply, read_margin_10k);
criterion_main!(benches);
