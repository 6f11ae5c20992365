//! The figures from small hand-made order histories, worked out by hand: each order is driven
//! through the engine's own methods, every change observed as the host does (facts before →
//! facts after → bucket additions), and the buckets read back as a window.

use super::*;
use crate::audit::Decision;
use crate::orders::tests::{allocate_from, id, spec, storefront, t0, warehouse};
use crate::orders::{Order, OrderAction, OrderSpec};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn day(text: &str) -> NaiveDate {
    text.parse().expect("a test date")
}

fn pct(text: &str) -> Option<Decimal> {
    Some(text.parse().expect("a test percentage"))
}

/// The host's side in memory: each order's facts and the buckets.
#[derive(Default)]
struct Host {
    facts: BTreeMap<String, OrderFacts>,
    buckets: BTreeMap<(String, &'static str, String, NaiveDate, u32), [i64; 6]>,
    saves: u32,
    saves_that_moved_figures: u32,
}

impl Host {
    fn save(&mut self, order: &Order) {
        let before = self.facts.get(order.id.as_str());
        let after = OrderFacts::observe(before, order);
        let deltas = OrderFacts::deltas(before, &after);
        self.saves += 1;
        self.saves_that_moved_figures += u32::from(!deltas.is_empty());
        for delta in deltas {
            let slot = self.buckets.entry((delta.metric, delta.dim, delta.key, delta.day, delta.bin)).or_insert([0; 6]);
            for (total, value) in slot.iter_mut().zip(delta.values) {
                *total += value;
                assert!(*total >= 0, "a bucket never goes below zero");
            }
        }
        self.facts.insert(order.id.to_string(), after);
    }

    fn rows(&self) -> Vec<BucketRow> {
        self.buckets
            .iter()
            .map(|((metric, dim, key, day, bin), values)| BucketRow {
                metric: metric.clone(),
                dim: dim.to_string(),
                key: key.clone(),
                day: *day,
                bin: *bin,
                values: *values,
            })
            .collect()
    }
}

fn step(host: &mut Host, order: &mut Order, action: OrderAction, at: DateTime<Utc>) {
    let actor = warehouse();
    let decision = Decision { actor: &actor, at, seen_version: order.version, comment: None };
    match action {
        OrderAction::Cancel => {
            order.cancel(None, &decision).expect("cancelled");
        }
        _ => order.advance(action, &decision).expect("a step"),
    }
    host.save(order);
}

fn ship(host: &mut Host, order: &mut Order, at: DateTime<Utc>) {
    for action in [OrderAction::Release, OrderAction::Pick, OrderAction::Ship] {
        step(host, order, action, at);
    }
}

fn place(host: &mut Host, name: &str, channel: &str, lines: &[(&str, i64)], at: DateTime<Utc>) -> Order {
    let spec = OrderSpec { channel: id(channel), ..spec(lines, 0) };
    let order = Order::place(id(name), &spec, &storefront(), at).expect("placed");
    host.save(&order);
    order
}

fn allocate(host: &mut Host, order: &mut Order, stock: &[(&str, &str, i64)], at: DateTime<Utc>) {
    allocate_from(order, stock, at);
    host.save(order);
}

/// The history every figure below is worked out from (t0 is 2026-12-01 09:00 UTC):
/// - O0 (web, 11-30): S1×1, allocated in full, still open;
/// - O1 (web, 12-01): S1×2, S2×3, allocated in full, shipped 2 h later;
/// - O2 (web, 12-01): S1×4, 1 found at first, 3 more on arrival, shipped 30 h after placing;
/// - O3 (app, 12-01): S2×2, nothing found, cancelled;
/// - O4 (app, 12-01): S1×1, placed, never allocated (open);
/// - O5 (web, 12-03): S2×1, allocated and released (open).
fn history() -> Host {
    let mut host = Host::default();
    let mut o0 = place(&mut host, "O0", "web", &[("S1", 1)], t0() - Duration::days(1));
    allocate(&mut host, &mut o0, &[("S1", "A", 9)], t0() - Duration::days(1));

    let mut o1 = place(&mut host, "O1", "web", &[("S1", 2), ("S2", 3)], t0());
    allocate(&mut host, &mut o1, &[("S1", "A", 5), ("S2", "A", 5)], t0());
    ship(&mut host, &mut o1, t0() + Duration::hours(2));

    let mut o2 = place(&mut host, "O2", "web", &[("S1", 4)], t0());
    allocate(&mut host, &mut o2, &[("S1", "A", 1)], t0());
    allocate(&mut host, &mut o2, &[("S1", "B", 3)], t0() + Duration::hours(20));
    ship(&mut host, &mut o2, t0() + Duration::hours(30));

    let mut o3 = place(&mut host, "O3", "app", &[("S2", 2)], t0());
    allocate(&mut host, &mut o3, &[], t0());
    step(&mut host, &mut o3, OrderAction::Cancel, t0() + Duration::hours(1));

    place(&mut host, "O4", "app", &[("S1", 1)], t0());

    let mut o5 = place(&mut host, "O5", "web", &[("S2", 1)], t0() + Duration::days(2));
    allocate(&mut host, &mut o5, &[("S2", "A", 1)], t0() + Duration::days(2));
    step(&mut host, &mut o5, OrderAction::Release, t0() + Duration::days(2));
    host
}

#[test]
fn fill_rate_first_time_and_final_from_a_hand_made_history() {
    let host = history();
    let window = Window::new(day("2026-12-01"), day("2026-12-02")).expect("a window");
    let read = read_fill_rate(&host.rows(), window, Some(MetricsBy::Channel));

    // First allocation: O1 complete; O2 1 of 4; O3 0 of 2 (O4 never allocated: not counted).
    let first = &read.figures.first_time;
    assert_eq!((first.orders, first.orders_filled, first.order_fill_rate_pct), (3, 1, pct("33.33")));
    assert_eq!((first.lines, first.lines_filled, first.line_fill_rate_pct), (4, 2, pct("50.00")));
    assert_eq!((first.units, first.units_filled, first.unit_fill_rate_pct), (11, 6, pct("54.55")));
    // Ended: O1 and O2 shipped complete, O3 cancelled with nothing.
    let ended = &read.figures.ended;
    assert_eq!((ended.orders, ended.orders_filled, ended.order_fill_rate_pct), (3, 2, pct("66.67")));
    assert_eq!((ended.lines, ended.lines_filled, ended.line_fill_rate_pct), (4, 3, pct("75.00")));
    assert_eq!((ended.units, ended.units_filled, ended.unit_fill_rate_pct), (11, 9, pct("81.82")));

    // The period before (11-29..11-30): O0, allocated in full, not ended yet.
    assert_eq!((read.previous.first_time.orders, read.previous.first_time.unit_fill_rate_pct), (1, pct("100.00")));
    assert_eq!((read.previous.ended.orders, read.previous.ended.unit_fill_rate_pct), (0, None));

    // By channel, the worst final unit fill first.
    let groups: Vec<(&str, i64, Option<Decimal>, Option<Decimal>)> = read
        .groups
        .iter()
        .map(|g| {
            (
                g.key.as_str(),
                g.figures.first_time.orders,
                g.figures.ended.unit_fill_rate_pct,
                g.figures.first_time.unit_fill_rate_pct,
            )
        })
        .collect();
    assert_eq!(groups, vec![("app", 1, pct("0.00"), pct("0.00")), ("web", 2, pct("100.00"), pct("66.67"))]);

    // Rates on the wire: always two decimals, as strings like money.
    let wire = serde_json::to_value(&read).expect("serialises");
    assert_eq!(
        (&wire["first_time"]["units"], &wire["previous"]["first_time"]["order_fill_rate_pct"]),
        (&serde_json::json!(11), &serde_json::json!("100.00"))
    );

    // The day series: every day of the window, the empty one included.
    let days: Vec<(NaiveDate, i64)> = read.days.iter().map(|d| (d.date, d.figures.first_time.orders)).collect();
    assert_eq!(days, vec![(day("2026-12-01"), 3), (day("2026-12-02"), 0)]);
    assert_eq!(read.days[1].figures.first_time.unit_fill_rate_pct, None, "no orders: no rate, not 0%");
}

#[test]
fn fill_rate_by_sku_counts_each_line_where_its_sku_is() {
    let host = history();
    let window = Window::new(day("2026-12-01"), day("2026-12-01")).expect("a window");
    let read = read_fill_rate(&host.rows(), window, Some(MetricsBy::Sku));
    let by_sku: Vec<(&str, i64, i64, i64, i64)> = read
        .groups
        .iter()
        .map(|g| {
            let (first, ended) = (&g.figures.first_time, &g.figures.ended);
            (g.key.as_str(), first.units, first.units_filled, ended.units, ended.units_filled)
        })
        .collect();
    // S2: O1's 3 found, O3's 2 not (final 3 of 5); S1: O1's 2 and O2's 1 of 4 at first, all 6 at the end.
    assert_eq!(by_sku, vec![("S2", 5, 3, 5, 3), ("S1", 6, 3, 6, 6)]);
}

#[test]
fn cycle_time_percentiles_and_the_backlog() {
    let host = history();
    let window = Window::new(day("2026-12-01"), day("2026-12-02")).expect("a window");
    let read = read_cycle_time(&host.rows(), window, Some(MetricsBy::Channel), day("2026-12-03"));
    // O1 took 7,200 s (bin up to 7,881 s), O2 108,000 s (bin up to 113,583 s). Nearest rank:
    // p50 is the 1st of 2, p90 the 2nd.
    assert_eq!(
        (read.window.figures.shipped, read.window.figures.p50_seconds, read.window.figures.p90_seconds),
        (2, Some(7_881), Some(113_583))
    );
    let days: Vec<(NaiveDate, i64, Option<i64>)> =
        read.window.days.iter().map(|d| (d.date, d.figures.shipped, d.figures.p50_seconds)).collect();
    assert_eq!(days, vec![(day("2026-12-01"), 1, Some(7_881)), (day("2026-12-02"), 1, Some(113_583))]);
    assert_eq!(read.window.previous.shipped, 0);
    assert_eq!(read.window.previous.p50_seconds, None);
    let groups: Vec<(&str, i64)> = read.window.groups.iter().map(|g| (g.key.as_str(), g.figures.shipped)).collect();
    assert_eq!(groups, vec![("web", 2)], "app shipped nothing: no group");

    // Open now: O0 allocated (placed 3 days ago), O4 placed (2 days ago), O5 released (today).
    let backlog = &read.backlog;
    assert_eq!(backlog.orders, 3);
    let states: Vec<(&str, i64)> = backlog.by_state.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(states, vec![("allocated", 1), ("placed", 1), ("released", 1)]);
    let ages: Vec<(&str, i64)> = backlog.by_age.iter().map(|a| (a.band.as_str(), a.orders)).collect();
    assert_eq!(ages, vec![("under_1_day", 1), ("1_to_2_days", 0), ("2_to_7_days", 2), ("7_days_or_more", 0)]);
}

#[test]
fn a_save_that_changes_no_figure_writes_no_bucket() {
    let mut host = history();
    // Every save of the history moved a figure: each changes an order's state (the backlog).
    assert_eq!((host.saves, host.saves_that_moved_figures), (20, 20));
    // Saved again as they are (an exception resolved on the order, a promise refreshed): nothing.
    let facts: Vec<OrderFacts> = host.facts.values().cloned().collect();
    for before in &facts {
        assert_eq!(OrderFacts::deltas(Some(before), before), Vec::new());
    }
    let rows = host.rows();
    let mut o4 =
        Order::place(id("O4"), &OrderSpec { channel: id("app"), ..spec(&[("S1", 1)], 0) }, &storefront(), t0())
            .expect("placed");
    o4.version = 1;
    host.save(&o4);
    assert_eq!(host.rows(), rows, "the same order saved again moves nothing");
}

#[test]
fn a_substitute_counts_for_the_line_it_replaced() {
    let mut order = Order::place(id("O9"), &spec(&[("S1", 3)], 0), &storefront(), t0()).expect("placed");
    order.lines[0].substituted = 2;
    order.lines[0].shipped = 1;
    let mut substitute = order.lines[0].clone();
    substitute.line = 2;
    substitute.sku = id("S1-ALT");
    substitute.qty = 2;
    substitute.shipped = 2;
    substitute.substituted = 0;
    substitute.substitute_for = Some(1);
    order.lines.push(substitute);
    order.status = crate::orders::OrderStatus::Shipped;
    let facts = OrderFacts::observe(None, &order);
    assert_eq!(facts.ended, Some(vec![LineFill { sku: id("S1"), ordered: 3, filled: 3 }]));
}

#[test]
fn cycle_bins_are_about_ten_percent_wide() {
    for (seconds, bin, upper) in [
        (-5, 0, 60),
        (0, 0, 60),
        (60, 0, 60),
        (61, 1, 66),
        (66, 1, 66),
        (67, 2, 72),
        (3_600, 44, 3_679),
        (86_400, 78, 93_871),
        (i64::MAX, CYCLE_BINS - 1, 211_503_438),
    ] {
        assert_eq!(cycle_bin(seconds), bin, "{seconds} s");
        assert_eq!(cycle_bin_upper_seconds(bin), upper, "bin {bin}");
    }
    for bin in 1..CYCLE_BINS {
        let (lower, upper) = (cycle_bin_upper_seconds(bin - 1), cycle_bin_upper_seconds(bin));
        assert!(upper > lower && (upper - lower) * 10 <= lower + 10, "bin {bin} is at most ~10% wider");
    }
}

#[test]
fn windows_are_bounded_and_know_the_one_before() {
    for (from, to, ok) in [
        ("2026-12-01", "2026-12-01", true),
        ("2026-12-02", "2026-12-01", false),
        ("2025-12-01", "2026-12-01", true),
        ("2025-11-30", "2026-12-01", false),
    ] {
        assert_eq!(Window::new(day(from), day(to)).is_ok(), ok, "{from}..{to}");
    }
    let window = Window::new(day("2026-12-01"), day("2026-12-10")).expect("a window");
    assert_eq!(window.previous(), Window { from: day("2026-11-21"), to: day("2026-11-30") });
    assert_eq!(Window::ending(day("2026-12-10"), 10), window);
}
