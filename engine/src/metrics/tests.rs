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

fn money(text: &str) -> Decimal {
    text.parse().expect("a test amount")
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
        self.add(deltas);
        self.facts.insert(order.id.to_string(), after);
    }

    fn add(&mut self, deltas: Vec<Delta>) {
        self.saves += 1;
        self.saves_that_moved_figures += u32::from(!deltas.is_empty());
        for delta in deltas {
            let slot = self.buckets.entry((delta.metric, delta.dim, delta.key, delta.day, delta.bin)).or_insert([0; 6]);
            for (total, value) in slot.iter_mut().zip(delta.values) {
                *total += value;
                assert!(*total >= 0, "a bucket never goes below zero");
            }
        }
    }

    fn rows(&self) -> Vec<BucketRow<'static>> {
        self.buckets
            .iter()
            .map(|((metric, dim, key, day, bin), values)| BucketRow {
                metric: metric.clone().into(),
                dim: dim.to_string().into(),
                key: key.clone().into(),
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
    // By the locations they shipped from: O1 from A; O2 from A and B (the allocations seen last
    // before shipping, which clears them). Both as slow at p90: by name.
    let by_location = read_cycle_time(&host.rows(), window, Some(MetricsBy::Location), day("2026-12-03"));
    let groups: Vec<(&str, i64, Option<i64>)> =
        by_location.window.groups.iter().map(|g| (g.key.as_str(), g.figures.shipped, g.figures.p50_seconds)).collect();
    assert_eq!(groups, vec![("A", 2, Some(7_881)), ("B", 1, Some(113_583))]);

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

    // What a query names: the last 30 days by default; a report as of now takes no window.
    let today = day("2026-12-10");
    let asked = |report: Report, from: Option<&str>, to: Option<&str>| {
        report.window(from.map(day), to.map(day), today).map_err(|error| match error {
            crate::EngineError::InvalidRequest { field, .. } => field,
            other => panic!("{other:?}"),
        })
    };
    assert_eq!(asked(Report::Margin, None, None), Ok(Window { from: day("2026-11-11"), to: today }));
    assert_eq!(asked(Report::FillRate, None, Some("2026-11-30")), Ok(Window::ending(day("2026-11-30"), 30)));
    assert_eq!(asked(Report::Suppliers, Some("2026-12-01"), None), Ok(Window { from: day("2026-12-01"), to: today }));
    assert_eq!(asked(Report::CycleTime, Some("2026-12-11"), None), Err("from".to_string()));
    assert_eq!(asked(Report::StockHealth, None, None), Ok(Window::ending(today, 30)));
    assert_eq!(asked(Report::StockHealth, None, Some("2026-12-10")), Err("to".to_string()));
    assert_eq!(asked(Report::StockHealth, Some("2026-12-01"), None), Err("from".to_string()));
}

#[test]
fn stock_health_ranks_dead_stock_then_excess_then_the_least_cover() {
    let row = |key: &str, on_hand: i64, covered: i64, daily: f64, excess: i64, dead_units: i64| HealthRow {
        key: key.to_string(),
        skus: 1,
        on_hand,
        unsellable: 0,
        covered_sellable: covered,
        mean_daily_demand: daily,
        excess_units: excess,
        with_excess: i64::from(excess > 0),
        dead: i64::from(dead_units > 0),
        dead_units,
    };
    let groups = [
        row("FAST", 30, 30, 10.0, 0, 0),
        row("HOARD", 2_000, 2_000, 10.0, 1_100, 0),
        row("SLOW", 80, 80, 2.0, 0, 0),
        row("STALE", 40, 0, 0.0, 0, 40),
    ];
    let total = HealthRow {
        key: String::new(),
        skus: 4,
        on_hand: 2_150,
        unsellable: 0,
        covered_sellable: 2_110,
        mean_daily_demand: 22.0,
        excess_units: 1_100,
        with_excess: 1,
        dead: 1,
        dead_units: 40,
    };
    // Age bands: STALE's 40 on hand 180 days or more; 30 of FAST under 30 days and 5 of them
    // quarantined 30 to 59 days.
    let aged =
        |key: &str, bucket: crate::Bucket, band: u32, units: i64| AgingRow { key: key.into(), bucket, band, units };
    let aging = [
        aged("STALE", crate::Bucket::OnHand, 4, 40),
        aged("FAST", crate::Bucket::OnHand, 0, 30),
        aged("FAST", crate::Bucket::Quarantined, 1, 5),
        aged("", crate::Bucket::OnHand, 4, 40),
        aged("", crate::Bucket::OnHand, 0, 30),
        aged("", crate::Bucket::Quarantined, 1, 5),
    ];
    let read = read_stock_health(&total, &groups, &aging, Some(MetricsBy::Sku), day("2026-12-03"));
    let units = |bands: &[BandUnits]| bands.iter().map(|b| b.units).collect::<Vec<i64>>();
    assert_eq!(units(&read.figures.aging.on_hand), [30, 0, 0, 0, 40]);
    assert_eq!(units(&read.figures.aging.quarantined), [0, 5, 0, 0, 0]);
    assert_eq!(read.figures.aging.on_hand[4].band, "180_days_or_more");
    assert_eq!(units(&read.groups[0].figures.aging.on_hand), [0, 0, 0, 0, 40], "STALE's");
    assert_eq!(units(&read.groups[1].figures.aging.damaged), [0; 5], "HOARD has none aged");
    let ranked: Vec<(&str, Option<f64>)> =
        read.groups.iter().map(|g| (g.key.as_str(), g.figures.days_of_cover)).collect();
    assert_eq!(ranked, [("STALE", None), ("HOARD", Some(200.0)), ("FAST", Some(3.0)), ("SLOW", Some(40.0))]);
    // 2,110 sellable with demand over 22 a day: 95.9 days; the dead SKU's 40 are not cover.
    assert_eq!(read.figures.days_of_cover, Some(95.9));
    assert_eq!((read.figures.dead_skus, read.figures.dead_units, read.figures.skus_with_excess), (1, 40, 1));
    assert_eq!((read.excess_cover_days, read.dead_stock_days), (90, 90));
}

// Supplier performance: purchase orders driven through their own methods, each change observed
// as the Purchasing object does (facts before → after, with the order's invoices).

mod suppliers {
    use super::*;
    use crate::catalog::Catalog;
    use crate::ledger::{Actor, Role};
    use crate::money::Money;
    use crate::procurement::{
        scorecard, ApprovalRules, Band, Invoice, InvoiceLineSpec, InvoiceSpec, MatchTolerance, PoLineSpec, PoSpec,
        PurchaseOrder, ReceiptLine, ReceiptSpec, ReceiveTo,
    };

    /// 10:00 on November `day` (0 and below: days of October back from the 31st).
    fn at(day: i64) -> DateTime<Utc> {
        "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().expect("a test time") + Duration::days(day - 1)
    }

    fn buyer() -> Actor {
        Actor { subject: "carl".into(), role: Role::Buyer }
    }

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        for location in ["wh-1", "wh-2"] {
            let spec = serde_json::from_value(
                serde_json::json!({"name": location, "kind": "warehouse", "region": "eu", "priority": 1}),
            )
            .expect("a location spec");
            catalog.put_location(id(location), spec).expect("a location");
        }
        for supplier in ["basics-co", "slow-co"] {
            let spec = serde_json::from_value(
                serde_json::json!({"name": supplier, "currency": "EUR", "lead_time_days": 5, "standing": "good"}),
            )
            .expect("a supplier spec");
            catalog.put_supplier(id(supplier), spec, Role::Admin).expect("a supplier");
        }
        catalog
    }

    /// The Purchasing object's side in memory: each order's facts, its invoices, the buckets.
    #[derive(Default)]
    struct PoHost {
        host: Host,
        facts: BTreeMap<String, PoFacts>,
        orders: BTreeMap<String, PurchaseOrder>,
        invoices: BTreeMap<String, Vec<Invoice>>,
    }

    impl PoHost {
        fn save(&mut self, order: &PurchaseOrder) {
            let invoices = self.invoices.get(order.id.as_str()).cloned().unwrap_or_default();
            let before = self.facts.get(order.id.as_str());
            let after = PoFacts::observe(before, order, &invoices);
            self.host.add(PoFacts::deltas(before, &after));
            self.facts.insert(order.id.to_string(), after);
            self.orders.insert(order.id.to_string(), order.clone());
        }

        /// An order of `lines` (sku, location, qty, expected day) at 2.00, sent on `sent`.
        fn send(&mut self, name: &str, supplier: &str, sent: i64, lines: &[(&str, &str, i64, i64)]) {
            let spec = PoSpec {
                supplier: id(supplier),
                currency: "EUR".into(),
                lines: lines
                    .iter()
                    .map(|&(sku, location, qty, day)| PoLineSpec {
                        sku: id(sku),
                        location: id(location),
                        qty,
                        unit_price: Money::parse("2").expect("money"),
                        expected_on: at(day).date_naive(),
                    })
                    .collect(),
                comment: None,
            };
            let rules = ApprovalRules {
                base_currency: "EUR".into(),
                rates: BTreeMap::new(),
                bands: vec![Band { up_to: None, approvals: 0, roles: vec![] }],
                watch_extra_approvals: 0,
                critical_extra_approvals: 0,
                strict_roles: vec![Role::Admin],
                match_tolerance: MatchTolerance::default(),
            };
            let actor = buyer();
            let mut order = PurchaseOrder::create(id(name), &spec, &catalog(), &actor, at(sent)).expect("a draft");
            self.save(&order);
            let decision = |order: &PurchaseOrder| Decision {
                actor: &actor,
                at: at(sent),
                seen_version: order.version,
                comment: None,
            };
            order.submit(&decision(&order), Some((&rules, 1)), &catalog(), &[]).expect("approved on submit");
            self.save(&order);
            order.send(&decision(&order)).expect("sent");
            self.save(&order);
        }

        /// Receives `lines` (line, qty, into quarantine?) of order `name` on `day`.
        fn receive(&mut self, name: &str, day: i64, lines: &[(u32, i64, bool)]) {
            let mut order = self.orders[name].clone();
            let spec = ReceiptSpec {
                lines: lines
                    .iter()
                    .map(|&(line, qty, quarantine)| ReceiptLine {
                        line,
                        qty,
                        into: if quarantine { ReceiveTo::Quarantine } else { ReceiveTo::Stock },
                    })
                    .collect(),
                comment: None,
            };
            let receipt = id(&format!("R-{name}-{}", order.receipts.len()));
            order.receive(&receipt, &spec, 0, &buyer(), at(day)).expect("received");
            self.save(&order);
        }

        /// Invoices `lines` (line, qty, unit price) of order `name` on `day`, correcting `replaces`.
        fn invoice(&mut self, name: &str, number: &str, day: i64, lines: &[(u32, i64, &str)], replaces: Option<&str>) {
            let order = self.orders[name].clone();
            let spec = InvoiceSpec {
                number: number.into(),
                lines: lines
                    .iter()
                    .map(|&(line, qty, price)| InvoiceLineSpec {
                        line,
                        qty,
                        unit_price: Money::parse(price).expect("money"),
                    })
                    .collect(),
                freight: Money::ZERO,
                duty: Money::ZERO,
                spread_by: Default::default(),
                replaces: replaces.map(id),
            };
            let invoices = self.invoices.entry(name.to_string()).or_default();
            let invoice = order
                .invoice(invoices, id(number), &spec, &MatchTolerance::default(), "fay", at(day))
                .expect("an invoice");
            if let Some(earlier) = invoices.iter_mut().find(|i| Some(&i.id) == invoice.replaces.as_ref()) {
                earlier.replaced_by = Some(invoice.id.clone());
            }
            invoices.push(invoice);
            self.save(&order);
        }

        fn read(&self, from: &str, to: &str, by: Option<MetricsBy>, today: &str) -> Suppliers {
            read_suppliers(&self.host.rows(), Window::new(day(from), day(to)).expect("a window"), by, day(today))
        }
    }

    /// The scorecard's own history: PO-1 sent on the 1st, line 1 (10, due the 6th) in full on the
    /// 5th; line 2 (10, due the 6th) 6 on the 5th and 4 on the 8th (late). PO-2 sent on the 10th:
    /// line 1 (20 to wh-2, due the 15th) 18 on the 14th into quarantine; line 2 due the 30th.
    fn history() -> PoHost {
        let mut host = PoHost::default();
        host.send("PO-1", "basics-co", 1, &[("A", "wh-1", 10, 6), ("B", "wh-1", 10, 6)]);
        host.receive("PO-1", 5, &[(1, 10, false), (2, 6, false)]);
        host.receive("PO-1", 8, &[(2, 4, false)]);
        host.send("PO-2", "basics-co", 10, &[("A", "wh-2", 20, 15), ("C", "wh-1", 5, 30)]);
        host.receive("PO-2", 14, &[(1, 18, true)]);
        host
    }

    #[test]
    fn supplier_figures_kept_from_changes_equal_the_scorecard_read_from_the_orders() {
        let host = history();
        let got = host.read("2026-11-01", "2026-11-30", None, "2026-11-20");
        let figures = &got.figures;
        // Judged by the 20th: PO-1's two lines and PO-2's first; one on time in full.
        assert_eq!((figures.lines_due, figures.lines_on_time_in_full), (3, 1));
        assert_eq!(figures.on_time_in_full_pct, pct("33.33"));
        // 10 + 10 + 18 of 40 wanted.
        assert_eq!((figures.units_due, figures.units_received, figures.fill_rate_pct), (40, 38, pct("95.00")));
        // Lead times 4, 4, 7, 4: mean 4.75, σ 1.5.
        assert_eq!(
            (figures.lead_time_samples, figures.lead_time_days_mean, figures.lead_time_days_std),
            (4, Some(4.75), Some(1.5))
        );
        assert_eq!((figures.received, figures.quarantined, figures.qc_reject_pct), (38, 18, pct("47.37")));
        // The same figures as the scorecard, which reads every order again.
        let orders: Vec<(&PurchaseOrder, &[Invoice])> = host.orders.values().map(|o| (o, &[][..])).collect();
        let card = scorecard(&id("basics-co"), &orders, day("2026-11-20"));
        assert_eq!(
            (card.lines_due, card.lines_on_time_in_full, card.on_time_in_full_pct, card.fill_rate_pct),
            (3, 1, figures.on_time_in_full_pct, figures.fill_rate_pct)
        );
        assert_eq!((card.lead_time_days_mean, card.lead_time_days_std), (Some(4.75), Some(1.5)));
        assert_eq!(card.qc_reject_pct, figures.qc_reject_pct);
        // The day series: line 1 judged on the 5th (in full, on time), line 2 on the 6th (late),
        // PO-2's line 1 on the 15th (short); the 30th is after today, judged by nobody yet.
        let judged: Vec<(String, i64, i64)> = got
            .days
            .iter()
            .filter(|d| d.figures.lines_due > 0)
            .map(|d| (d.date.to_string(), d.figures.lines_due, d.figures.lines_on_time_in_full))
            .collect();
        assert_eq!(
            judged,
            [("2026-11-05".to_string(), 1, 1), ("2026-11-06".to_string(), 1, 0), ("2026-11-15".to_string(), 1, 0)]
        );
        assert_eq!(got.days.len(), 30);
        // Once the 30th has passed, PO-2's open line is judged: due and not received.
        let later = host.read("2026-11-01", "2026-11-30", None, "2026-12-01");
        assert_eq!((later.figures.lines_due, later.figures.units_due, later.figures.units_received), (4, 45, 38));
    }

    #[test]
    fn supplier_figures_by_location_and_sku_count_each_line_where_it_is() {
        let host = history();
        let by_location = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Location), "2026-11-20");
        let rows: Vec<(&str, i64, i64, i64)> = by_location
            .groups
            .iter()
            .map(|g| (g.key.as_str(), g.figures.lines_due, g.figures.received, g.figures.quarantined))
            .collect();
        // Worst on-time-in-full first: wh-2 (0 of 1) before wh-1 (1 of 2).
        assert_eq!(rows, [("wh-2", 1, 18, 18), ("wh-1", 2, 20, 0)]);
        let by_sku = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Sku), "2026-11-20");
        let keys: Vec<(&str, Option<Decimal>)> =
            by_sku.groups.iter().map(|g| (g.key.as_str(), g.figures.on_time_in_full_pct)).collect();
        // A: one on time of two; B: late; C: nothing judged yet (not listed).
        assert_eq!(keys, [("B", pct("0.00")), ("A", pct("50.00"))]);
    }

    #[test]
    fn price_variance_counts_invoices_until_corrected() {
        let mut host = history();
        // 10 of line 1 at 2.10 against 2.00: +5%; then corrected to 2.02: +1%.
        host.invoice("PO-1", "INV-1", 9, &[(1, 10, "2.10")], None);
        let first = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Supplier), "2026-11-20");
        assert_eq!((first.figures.invoice_lines, first.figures.price_variance_pct), (1, pct("5.00")));
        host.invoice("PO-1", "INV-1b", 12, &[(1, 10, "2.02")], Some("INV-1"));
        let corrected = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Supplier), "2026-11-20");
        assert_eq!((corrected.figures.invoice_lines, corrected.figures.price_variance_pct), (1, pct("1.00")));
        assert_eq!(corrected.groups[0].key, "basics-co");
        assert_eq!(corrected.groups[0].figures.price_variance_pct, pct("1.00"));
        // The same invoices as margin: 10 × 0.02 = 0.20 EUR billed over the 20.00 agreed.
        let window = Window::new(day("2026-11-01"), day("2026-11-30")).expect("a window");
        let margin = read_margin(&[], &host.host.rows(), &[], window, Some(MetricsBy::Supplier), day("2026-11-20"));
        let eur = &margin.figures.currencies[0];
        assert_eq!((eur.currency.as_str(), eur.price_variance, eur.invoiced), ("EUR", money("0.20"), money("20.20")));
        assert_eq!(
            (margin.groups[0].key.as_str(), margin.groups[0].figures.currencies[0].leak),
            ("basics-co", money("0.20"))
        );
    }

    #[test]
    fn price_variance_never_adds_up_money_in_different_currencies() {
        let mut host = history();
        // slow-co bills in USD: 10 of line 1 at 1.90 against 2.00 (−5%); basics-co in EUR at 2.10
        // against 2.00 (+5%). Added up, the two would show 0%.
        host.send("PO-U", "slow-co", 2, &[("A", "wh-1", 10, 6)]);
        let mut order = host.orders["PO-U"].clone();
        order.currency = "USD".into();
        host.save(&order);
        host.receive("PO-U", 5, &[(1, 10, false)]);
        host.invoice("PO-1", "INV-1", 9, &[(1, 10, "2.10")], None);
        host.invoice("PO-U", "INV-U", 9, &[(1, 10, "1.90")], None);
        let read = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Supplier), "2026-11-20");
        type ByCurrency<'a> = Vec<(Option<&'a str>, i64, Option<Decimal>)>;
        fn variance(figures: &SupplierFigures) -> (i64, Option<Decimal>, ByCurrency<'_>) {
            let by = figures
                .price_variance_by_currency
                .iter()
                .map(|c| (c.currency.as_deref(), c.invoice_lines, c.price_variance_pct))
                .collect();
            (figures.invoice_lines, figures.price_variance_pct, by)
        }
        assert_eq!(
            variance(&read.figures),
            (2, None, vec![(Some("EUR"), 1, pct("5.00")), (Some("USD"), 1, pct("-5.00"))])
        );
        let groups: Vec<(&str, Option<Decimal>)> =
            read.groups.iter().map(|g| (g.key.as_str(), g.figures.price_variance_pct)).collect();
        assert!(
            groups.contains(&("basics-co", pct("5.00"))) && groups.contains(&("slow-co", pct("-5.00"))),
            "{groups:?}"
        );
        // One currency alone: its figure is the whole figure.
        let basics = read.groups.iter().find(|g| g.key == "basics-co").expect("basics-co");
        assert_eq!(variance(&basics.figures), (1, pct("5.00"), vec![(Some("EUR"), 1, pct("5.00"))]));
    }

    #[test]
    fn lead_time_drift_is_sigma_doubled_against_the_window_before() {
        let mut host = PoHost::default();
        // October (days −30…0): basics-co's lead times 5, 6, 7 (σ 1); November 2, 6, 10 (σ 4):
        // drift. slow-co takes 10, 11, 12 days in both months: slow, steady, no drift.
        let mut number = 0;
        for (supplier, sent, leads) in [
            ("basics-co", -30, [5, 6, 7]),
            ("basics-co", 1, [2, 6, 10]),
            ("slow-co", -30, [10, 11, 12]),
            ("slow-co", 1, [10, 11, 12]),
        ] {
            for lead in leads {
                number += 1;
                let name = format!("PO-{number}");
                host.send(&name, supplier, sent, &[("A", "wh-1", 1, sent + 20)]);
                host.receive(&name, sent + lead, &[(1, 1, false)]);
            }
        }
        let got = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Supplier), "2026-11-30");
        let rows: Vec<(&str, bool, Option<f64>, Option<f64>)> = got
            .groups
            .iter()
            .map(|g| {
                (g.key.as_str(), g.figures.lead_time_drift, g.figures.lead_time_days_mean, g.figures.lead_time_days_std)
            })
            .collect();
        // Drifting first, whatever its on-time record.
        assert_eq!(rows, [("basics-co", true, Some(6.0), Some(4.0)), ("slow-co", false, Some(11.0), Some(1.0))]);
        // October alone has no month before it measured: no drift.
        let october = host.read("2026-10-02", "2026-10-31", Some(MetricsBy::Supplier), "2026-11-30");
        assert!(october.groups.iter().all(|g| !g.figures.lead_time_drift));
        // All suppliers together: σ of 2, 6, 10, 10, 11, 12 against 5, 6, 7, 10, 11, 12 — not doubled.
        assert!(!got.figures.lead_time_drift);
        // The drifting supplier is an alert for purchasing, linked to the figures behind it.
        let now = at(30);
        let alerts = got.drift_alerts(now);
        let ids: Vec<(&str, &str, Option<&str>, &str)> = alerts
            .iter()
            .map(|a| (a.id.as_str(), a.owner.as_str(), a.supplier.as_ref().map(|s| s.as_str()), a.link.as_str()))
            .collect();
        assert_eq!(
            ids,
            [(
                "supplier_drift:basics-co",
                "purchasing",
                Some("basics-co"),
                "/v1/metrics/suppliers?by=supplier&from=2026-11-01&to=2026-11-30"
            )]
        );
        assert!(alerts[0].message.contains("6.0 ± 4.0 days over 3 receipt lines"), "{}", alerts[0].message);
        assert_eq!((alerts[0].raised_at, alerts[0].sku.as_ref()), (now, None));
        // Read by SKU, the groups are not suppliers: no supplier alert comes of them.
        let by_sku = host.read("2026-11-01", "2026-11-30", Some(MetricsBy::Sku), "2026-11-30");
        assert!(by_sku.drift_alerts(now).is_empty());
    }
}

mod margin {
    use super::*;
    use crate::money::Money;
    use crate::orders::allocate::{Plan, Shipment};
    use crate::orders::{Choice, Outcome};

    /// Margin history (t0 is 2026-12-01 09:00 UTC), prices 10.00 a unit, promised by 12-04:
    /// - M1 (web, EUR): S1×2 (only A has it, 3.00) and S2×3 (only B, 5.00): two parcels, shipped
    ///   12-01; sold 20.00 of S1 and 30.00 of S2;
    /// - M2 (app, USD): S1×1 from A, shipped 12-05, after its promise; sold 10.00 of S1;
    /// - M3 (web, EUR): S2×1, cancelled before it shipped: sells and costs nothing.
    fn history() -> Host {
        let mut host = Host::default();
        let mut m1 = place(&mut host, "M1", "web", &[("S1", 2), ("S2", 3)], t0());
        allocate(&mut host, &mut m1, &[("S1", "A", 5), ("S2", "B", 5)], t0());
        ship(&mut host, &mut m1, t0() + Duration::hours(2));
        let spec = OrderSpec { channel: id("app"), currency: "USD".into(), ..spec(&[("S1", 1)], 0) };
        let mut m2 = Order::place(id("M2"), &spec, &storefront(), t0()).expect("placed");
        host.save(&m2);
        allocate(&mut host, &mut m2, &[("S1", "A", 5)], t0());
        ship(&mut host, &mut m2, t0() + Duration::days(4));
        let mut m3 = place(&mut host, "M3", "web", &[("S2", 1)], t0());
        allocate(&mut host, &mut m3, &[("S2", "A", 5)], t0());
        step(&mut host, &mut m3, OrderAction::Cancel, t0() + Duration::hours(1));
        host
    }

    /// Supplier invoices, as Purchasing's buckets hold them: 100.00 agreed, 105.00 billed (EUR),
    /// on S3 from SUP.
    fn invoices() -> Vec<BucketRow<'static>> {
        let bin = currency_bin("EUR").expect("a code");
        [(dim::ALL, ""), (dim::SKU, "S3"), (dim::SUPPLIER, "SUP")]
            .into_iter()
            .map(|(dim, key)| BucketRow {
                metric: metric::PO_INVOICE.into(),
                dim: dim.into(),
                key: key.into(),
                day: day("2026-12-03"),
                bin,
                values: [1, 10_000, 10_500, 0, 0, 0],
            })
            .collect()
    }

    /// Currency, price variance, split cost, revenue, lost sales, leak.
    type Row<'a> = (&'a str, Decimal, Decimal, Decimal, Option<Decimal>, Decimal);
    /// Key, stockout days, leak per currency.
    type Group<'a> = (&'a str, Option<i64>, Vec<(&'a str, Decimal)>);

    fn figures(margin: &MarginFigures) -> Vec<Row<'_>> {
        margin
            .currencies
            .iter()
            .map(|c| (c.currency.as_str(), c.price_variance, c.split_shipment_cost, c.revenue, c.lost_sales, c.leak))
            .collect()
    }

    #[test]
    fn margin_leaks_from_a_hand_made_history() {
        let host = history();
        let window = Window::new(day("2026-12-01"), day("2026-12-10")).expect("a window");
        // S1 was out 2 of the window's 10 days (and 3 of the 10 before, when it sold nothing).
        let out = [StockoutDays { sku: "S1".into(), days: 2, previous_days: 3 }];
        let margin = read_margin(&host.rows(), &invoices(), &out, window, None, day("2026-12-10"));
        // EUR: variance 5.00; split: 3.00 + 5.00 shipping less the dearest 5.00 = 3.00; revenue
        // 50.00; lost: S1 sold 20.00 over 8 days in stock, 2.50 a day × 2 days = 5.00.
        // USD: S1 sold 10.00 over 8 days: 1.25 × 2 = 2.50 lost.
        assert_eq!(
            figures(&margin.figures),
            vec![
                ("EUR", money("5.00"), money("3.00"), money("50.00"), Some(money("5.00")), money("13.00")),
                ("USD", money("0.00"), money("0.00"), money("10.00"), Some(money("2.50")), money("2.50")),
            ]
        );
        let f = &margin.figures;
        assert_eq!((f.orders_shipped, f.orders_split, f.orders_expedited, f.stockout_days), (2, 1, 0, Some(2)));
        assert_eq!(f.currencies[0].shipping_cost, money("8.00"));
        assert_eq!(margin.previous.stockout_days, Some(3));
        assert_eq!(figures(&margin.previous), vec![], "nothing sold before: nothing lost");
        // The day series: money as it happened; lost sales are not kept by day.
        let days: Vec<(NaiveDate, Vec<(&str, Decimal)>)> = margin
            .days
            .iter()
            .filter(|d| !d.figures.currencies.is_empty())
            .map(|d| (d.date, d.figures.currencies.iter().map(|c| (c.currency.as_str(), c.leak)).collect()))
            .collect();
        assert_eq!(
            days,
            vec![
                (day("2026-12-01"), vec![("EUR", money("3.00"))]),
                (day("2026-12-03"), vec![("EUR", money("5.00"))]),
                (day("2026-12-05"), vec![("USD", money("0.00"))]),
            ]
        );
        assert!(margin.days.iter().all(|d| d.figures.stockout_days.is_none()));

        // By SKU: S1's lost sales, S3's price variance (the same leak: by name), S2 none.
        let by_sku = read_margin(&host.rows(), &invoices(), &out, window, Some(MetricsBy::Sku), day("2026-12-10"));
        let groups: Vec<Group> = by_sku
            .groups
            .iter()
            .map(|g| {
                let leaks = g.figures.currencies.iter().map(|c| (c.currency.as_str(), c.leak)).collect();
                (g.key.as_str(), g.figures.stockout_days, leaks)
            })
            .collect();
        assert_eq!(
            groups,
            vec![
                ("S1", Some(2), vec![("EUR", money("5.00")), ("USD", money("2.50"))]),
                ("S3", Some(0), vec![("EUR", money("5.00"))]),
                ("S2", Some(0), vec![("EUR", money("0.00"))]),
            ]
        );
        // By channel: the orders' costs and revenue; invoices have no channel.
        let by_channel =
            read_margin(&host.rows(), &invoices(), &out, window, Some(MetricsBy::Channel), day("2026-12-10"));
        let groups: Vec<(&str, Vec<(&str, Decimal)>)> = by_channel
            .groups
            .iter()
            .map(|g| (g.key.as_str(), g.figures.currencies.iter().map(|c| (c.currency.as_str(), c.revenue)).collect()))
            .collect();
        assert_eq!(groups, vec![("web", vec![("EUR", money("50.00"))]), ("app", vec![("USD", money("10.00"))])]);
    }

    #[test]
    fn sla_breaches_are_orders_shipped_after_their_promise() {
        let host = history();
        let window = Window::new(day("2026-12-01"), day("2026-12-10")).expect("a window");
        let read = read_cycle_time(&host.rows(), window, Some(MetricsBy::Channel), day("2026-12-10"));
        let f = &read.window.figures;
        assert_eq!((f.shipped, f.promised, f.sla_breaches, f.sla_breach_pct), (2, 2, 1, pct("50.00")));
        let groups: Vec<(&str, i64)> =
            read.window.groups.iter().map(|g| (g.key.as_str(), g.figures.sla_breaches)).collect();
        assert_eq!(groups, vec![("app", 1), ("web", 0)]);
    }

    #[test]
    fn split_and_expedite_costs_of_a_plan() {
        let shipment = |cost: &str| Shipment {
            location: id("A"),
            lines: vec![],
            ship_on: day("2026-12-01"),
            arrives_on: day("2026-12-02"),
            cost: Money::parse(cost).expect("money"),
            value: Money::ZERO,
        };
        let plan = |costs: &[&str], backordered: i64, meets_promise: bool| {
            let shipments: Vec<Shipment> = costs.iter().map(|cost| shipment(cost)).collect();
            let total = shipments.iter().fold(Money::ZERO, |sum, s| sum.checked_add(s.cost).expect("sums"));
            Plan {
                shipments,
                backordered: (backordered > 0)
                    .then(|| crate::orders::allocate::ShipmentLine { line: 1, sku: id("S1"), qty: backordered })
                    .into_iter()
                    .collect(),
                shipping_cost: total,
                penalties: Money::ZERO,
                cost: total,
                drained: vec![],
                arrives_on: None,
                meets_promise,
            }
        };
        let choice = |chosen: Plan, runner_up: Option<Plan>| Choice {
            outcome: Outcome::Allocated,
            plan: Some(chosen),
            runner_up,
            rejected: vec![],
            explanation: String::new(),
            plans_considered: 2,
        };
        // (case, chosen, runner-up, shipping, split, expedite) in cents
        let table = [
            ("one parcel", plan(&["4.00"], 0, true), None, 400, 0, 0),
            ("three parcels: all but the dearest", plan(&["2.00", "5.00", "1.50"], 0, true), None, 850, 350, 0),
            ("dearer to keep the promise", plan(&["9.00"], 0, true), Some(plan(&["4.00"], 0, false)), 900, 0, 500),
            ("runner-up on time too: no premium", plan(&["9.00"], 0, true), Some(plan(&["4.00"], 0, true)), 900, 0, 0),
            ("runner-up fills less: no premium", plan(&["9.00"], 0, true), Some(plan(&["4.00"], 2, false)), 900, 0, 0),
            ("chosen late as well: no premium", plan(&["9.00"], 0, false), Some(plan(&["4.00"], 0, false)), 900, 0, 0),
        ];
        for (case, chosen, runner_up, shipping, split, expedite) in table {
            let costs = ShipCosts::of(&choice(chosen, runner_up)).expect("a plan");
            assert_eq!(
                (costs.shipping_cents, costs.split_cents, costs.expedite_cents),
                (shipping, split, expedite),
                "{case}"
            );
        }
    }

    #[test]
    fn a_currency_is_kept_in_a_bin_and_read_back() {
        for (code, bin) in [("AAA", Some(1)), ("EUR", Some(3_242)), ("ZZZ", Some(17_576)), ("eur", None), ("EU", None)]
        {
            assert_eq!(currency_bin(code), bin, "{code}");
            if let Some(bin) = bin {
                assert_eq!(bin_currency(bin).as_deref(), Some(code));
            }
        }
        assert_eq!((bin_currency(0), bin_currency(17_577)), (None, None));
    }
}
