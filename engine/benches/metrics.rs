//! Metrics benchmarks: what keeping them adds to an order's save (observing its facts and
//! turning them into bucket additions), and reading a 90-day window broken down by 10,000 SKUs
//! from its buckets (the rows the edge hands over: per-day totals, per-SKU sums).
//!
//! Run: `cargo bench -p stockline-engine --bench metrics` (add `-- --quick` for a fast pass).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stockline_engine::metrics::{
    dim, metric, read_cycle_time, read_fill_rate, BucketRow, LineFill, MetricsBy, OrderFacts, Window,
};
use stockline_engine::orders::{Order, OrderLineSpec, OrderSpec, OrderStatus, ServiceLevel, SplitPolicy};
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
    };
    for line in &mut order.lines {
        line.shipped = line.qty;
    }
    order.status = OrderStatus::Shipped;
    let after = OrderFacts::observe(Some(&before), &order);
    // The final fill and the cycle time, each for all, the channel and 5 SKUs; the backlog (all,
    // the channel) loses the order.
    assert_eq!(OrderFacts::deltas(Some(&before), &after).len(), 7 + 7 + 2);
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

/// The rows the edge reads for a 90-day window by SKU: per-day totals for the window and the one
/// before, and each SKU's sums over the window (summed in SQLite).
fn rows(to: NaiveDate) -> Vec<BucketRow> {
    let window = Window::ending(to, WINDOW_DAYS);
    let mut rows = Vec::new();
    for back in 0..(2 * WINDOW_DAYS as i64) {
        let day = to - Duration::days(back);
        for name in [metric::FILL_FIRST, metric::FILL_FINAL] {
            let values = [400, 380, 2_000, 1_950, 6_000, 5_900];
            rows.push(BucketRow {
                metric: name.to_string(),
                dim: dim::ALL.to_string(),
                key: String::new(),
                day,
                bin: 0,
                values,
            });
        }
        rows.push(BucketRow {
            metric: metric::CYCLE.to_string(),
            dim: dim::ALL.to_string(),
            key: String::new(),
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
                metric: name.to_string(),
                dim: dim::SKU.to_string(),
                key: format!("SKU-{s:05}"),
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
}

criterion_group!(benches, save, read);
criterion_main!(benches);
