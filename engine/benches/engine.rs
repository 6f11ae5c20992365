//! Engine benchmarks. Targets: reserve + commit < 1 µs; availability at 10 locations < 200 ns;
//! replay ≥ 5 M entries/s; no operation whose cost grows with open holds or entries.
//!
//! Run: `cargo bench -p stockline-engine` (add `-- --quick` for a fast pass).

use chrono::{DateTime, Duration, Utc};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Instant;
use stockline_engine::{
    Actor, Catalog, ChannelSpec, Ctx, Entry, Event, HoldLineRequest, HoldRequest, Id, LocationKind, LocationSpec,
    Movement, MovementKind, Role, SkuLedger, SkuSpec,
};

fn id(value: &str) -> Id {
    Id::new(value).unwrap()
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

fn ctx(now: DateTime<Utc>) -> Ctx {
    Ctx::new(Actor { subject: "bench".into(), role: Role::Storefront }, now)
}

/// A catalog of `n` locations (`L0` ships first) and a channel `web` over all of them.
fn catalog(n: usize) -> Catalog {
    let mut catalog = Catalog::default();
    let mut ids = Vec::new();
    for i in 0..n {
        let spec = LocationSpec {
            name: format!("Location {i}"),
            kind: LocationKind::Warehouse,
            region: "eu".into(),
            priority: i as i64,
        };
        catalog.put_location(id(&format!("L{i}")), spec).unwrap();
        ids.push(id(&format!("L{i}")));
    }
    let spec = ChannelSpec { name: "Web".into(), locations: ids, buffer: 5, cap: None, stop_below: Some(10) };
    catalog.put_channel(id("web"), spec).unwrap();
    catalog
}

/// The benches' SKU: safety stock 3, nothing else set.
fn thing() -> SkuSpec {
    SkuSpec {
        name: "Thing".into(),
        safety_stock: 3,
        unit_cost: None,
        barcodes: Vec::new(),
        critical: false,
        substitutes: Vec::new(),
    }
}

/// A defined SKU with `per_location` units received at every location.
fn stocked(catalog: &Catalog, per_location: i64) -> SkuLedger {
    let mut ledger = SkuLedger::new(id("SKU-1"));
    let spec = thing();
    ledger.define(catalog, spec, &ctx(start())).unwrap();
    for location in catalog.locations() {
        let mut left = per_location;
        while left > 0 {
            let qty = left.min(1_000_000_000);
            receive(&mut ledger, catalog, location.id.clone(), qty);
            left -= qty;
        }
    }
    ledger
}

fn receive(ledger: &mut SkuLedger, catalog: &Catalog, location: Id, qty: i64) {
    let movement = Movement {
        into: None,
        disposition: None,
        kind: MovementKind::Receive,
        location,
        qty,
        to_location: None,
        reason: None,
        reference: None,
        counted_at_version: None,
        includes_versions: Vec::new(),
    };
    ledger.record_movement(catalog, movement, &ctx(start())).unwrap();
}

/// A one-line reservation through `web` expiring 15 minutes after `placed_at`.
fn hold_request(hold_id: Id, qty: i64, placed_at: DateTime<Utc>) -> HoldRequest {
    HoldRequest {
        id: hold_id,
        channel: Some(id("web")),
        lines: vec![HoldLineRequest { qty, location: None }],
        expires_at: placed_at + Duration::seconds(900),
        reference: None,
    }
}

fn ship_all(ledger: &mut SkuLedger, catalog: &Catalog, hold_id: &Id, now: DateTime<Utc>) {
    let allocated = ledger.hold(hold_id.as_str()).map(|h| h.allocated.clone()).unwrap_or_default();
    for allocation in allocated {
        let movement = Movement {
            into: None,
            disposition: None,
            kind: MovementKind::Ship,
            location: allocation.location,
            qty: allocation.qty,
            to_location: None,
            reason: None,
            reference: Some(hold_id.to_string()),
            counted_at_version: None,
            includes_versions: Vec::new(),
        };
        ledger.record_movement(catalog, movement, &ctx(now)).unwrap();
    }
}

fn reserve_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("reserve_commit");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    // Committed holds are shipped between timed batches of 1,000, so open holds stay bounded (as
    // in a live system) and the stock lasts.
    let catalog = catalog(10);
    let mut ledger = stocked(&catalog, 1_000_000_000);
    let ctx = ctx(start());
    let mut counter: u64 = 0;
    group.throughput(Throughput::Elements(1));
    group.bench_function("10_locations", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let batch = (iters - done).min(1_000);
                let first = counter;
                let timer = Instant::now();
                for _ in 0..batch {
                    counter += 1;
                    let hold_id = Id::new(format!("res-{counter:016x}")).unwrap();
                    let entry = ledger.place_hold(&catalog, hold_request(hold_id, 3, ctx.now), &ctx).unwrap();
                    let Event::HoldPlaced { hold } = &entry.event else { unreachable!() };
                    black_box(ledger.commit_hold(&catalog, hold.id.as_str(), None, &ctx).unwrap());
                }
                total += timer.elapsed();
                // Untimed: ship what was committed so open holds stay bounded.
                for n in first + 1..=counter {
                    let hold_id = Id::new(format!("res-{n:016x}")).unwrap();
                    ship_all(&mut ledger, &catalog, &hold_id, ctx.now);
                }
                done += batch;
            }
            total
        })
    });
    group.finish();
}

fn availability(c: &mut Criterion) {
    let mut group = c.benchmark_group("availability");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    for n in [1, 10, 100] {
        let catalog = catalog(n);
        let mut ledger = stocked(&catalog, 50);
        // Some reservations so positions are not trivial.
        for i in 0..n.min(20) {
            ledger.place_hold(&catalog, hold_request(id(&format!("h{i}")), 2, start()), &ctx(start())).unwrap();
        }
        group.bench_function(format!("available_to_promise/{n}_locations"), |b| {
            b.iter(|| black_box(&ledger).available_to_promise(&catalog, black_box(Some("web"))).unwrap())
        });
        if n == 10 {
            group.bench_function("availability/10_locations", |b| {
                b.iter(|| black_box(&ledger).availability(&catalog, black_box(Some("web"))).unwrap())
            });
        }
    }
    group.finish();
}

/// A realistic mix: receive, place, commit, ship, place, release — six entries per cycle.
fn build_entries(catalog: &Catalog, count: usize) -> Vec<Entry> {
    let mut ledger = SkuLedger::new(id("SKU-1"));
    let mut now = start();
    let spec = thing();
    let mut entries = vec![ledger.define(catalog, spec, &ctx(now)).unwrap()];
    let locations: Vec<Id> = catalog.locations().iter().map(|l| l.id.clone()).collect();
    for location in &locations {
        let movement = Movement {
            into: None,
            disposition: None,
            kind: MovementKind::Receive,
            location: location.clone(),
            qty: 100,
            to_location: None,
            reason: None,
            reference: None,
            counted_at_version: None,
            includes_versions: Vec::new(),
        };
        entries.push(ledger.record_movement(catalog, movement, &ctx(now)).unwrap().entry);
    }
    let mut cycle = 0_usize;
    while entries.len() < count {
        cycle += 1;
        now += Duration::milliseconds(7);
        let ctx = ctx(now);
        let movement = Movement {
            into: None,
            disposition: None,
            kind: MovementKind::Receive,
            location: locations[cycle % locations.len()].clone(),
            qty: 5,
            to_location: None,
            reason: None,
            reference: None,
            counted_at_version: None,
            includes_versions: Vec::new(),
        };
        entries.push(ledger.record_movement(catalog, movement, &ctx).unwrap().entry);
        let order = id(&format!("order-{cycle}"));
        entries.push(ledger.place_hold(catalog, hold_request(order.clone(), 3, now), &ctx).unwrap());
        entries.push(ledger.commit_hold(catalog, order.as_str(), None, &ctx).unwrap());
        let allocated = ledger.hold(order.as_str()).unwrap().allocated.clone();
        for allocation in allocated {
            let movement = Movement {
                into: None,
                disposition: None,
                kind: MovementKind::Ship,
                location: allocation.location,
                qty: allocation.qty,
                to_location: None,
                reason: None,
                reference: Some(order.to_string()),
                counted_at_version: None,
                includes_versions: Vec::new(),
            };
            entries.push(ledger.record_movement(catalog, movement, &ctx).unwrap().entry);
        }
        let cart = id(&format!("cart-{cycle}"));
        entries.push(ledger.place_hold(catalog, hold_request(cart.clone(), 2, now), &ctx).unwrap());
        entries.push(ledger.release_hold(catalog, cart.as_str(), &ctx).unwrap());
    }
    entries.truncate(count);
    entries
}

/// Only stock movements: receive, quarantine, release_quarantine, adjust, count, in turn.
fn build_movement_entries(catalog: &Catalog, count: usize) -> Vec<Entry> {
    let mut ledger = SkuLedger::new(id("SKU-1"));
    let now = start();
    let ctx = ctx(now);
    let spec = thing();
    let mut entries = vec![ledger.define(catalog, spec, &ctx).unwrap()];
    let locations: Vec<Id> = catalog.locations().iter().map(|l| l.id.clone()).collect();
    let mut i = 4_usize;
    while entries.len() < count {
        i += 1;
        let location = locations[(i / 5) % locations.len()].clone();
        let (kind, qty, reason, counted_at_version) = match i % 5 {
            0 => (MovementKind::Receive, 10, None, None),
            1 => (MovementKind::Quarantine, 2, None, None),
            2 => (MovementKind::ReleaseQuarantine, 2, None, None),
            3 => (MovementKind::Adjust, -1, Some("cycle count".to_string()), None),
            _ => (MovementKind::Count, 0, None, Some(ledger.version().saturating_sub(3))),
        };
        let qty = if kind == MovementKind::Count {
            ledger.position(catalog.slot(location.as_str()).unwrap()).on_hand
        } else {
            qty
        };
        let movement = Movement {
            into: None,
            disposition: None,
            kind,
            location,
            qty,
            to_location: None,
            reason,
            reference: None,
            counted_at_version,
            includes_versions: Vec::new(),
        };
        entries.push(ledger.record_movement(catalog, movement, &ctx).unwrap().entry);
    }
    entries
}

fn replay(c: &mut Criterion) {
    const ENTRIES: usize = 1_000_000;
    let mut group = c.benchmark_group("replay");
    group.sample_size(10).measurement_time(std::time::Duration::from_secs(6));
    group.throughput(Throughput::Elements(ENTRIES as u64));
    let catalog = catalog(10);
    // Entries are built once, outside the timed loop, and only when the benchmark is selected.
    let mixed = std::cell::OnceCell::new();
    let build_mixed = || build_entries(&catalog, ENTRIES);
    let variants: [(&str, &dyn Fn() -> Vec<Entry>); 3] = [
        ("mixed", &|| mixed.get_or_init(build_mixed).clone()),
        // As loaded from storage: every entry deserialized on its own, so no id is shared.
        ("mixed_deserialized", &|| {
            let mixed = mixed.get_or_init(build_mixed);
            mixed.iter().map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap()).collect()
        }),
        ("movements_only", &|| build_movement_entries(&catalog, ENTRIES)),
    ];
    for (name, build) in variants {
        let mut entries: Option<Vec<Entry>> = None;
        group.bench_function(format!("1M_entries/{name}"), |b| {
            let entries = entries.get_or_insert_with(|| {
                let entries = build();
                assert_eq!(entries.len(), ENTRIES);
                entries
            });
            // Batched so dropping the rebuilt ledger is not timed.
            b.iter_batched(
                || (),
                |()| SkuLedger::replay(&catalog, id("SKU-1"), black_box(&*entries)).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn crowded(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_holds");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    for open in [0_usize, 10_000] {
        let catalog = catalog(10);
        let mut ledger = stocked(&catalog, 1_000_000);
        let ctx = ctx(start());
        // Holds placed one every 7 ms, so their expiries differ as in a live shop.
        let placed_at = |n: u64| start() + Duration::milliseconds(7 * n as i64);
        for i in 0..open {
            let request = hold_request(id(&format!("open-{i}")), 1, placed_at(i as u64));
            ledger.place_hold(&catalog, request, &ctx).unwrap();
        }
        assert_eq!(ledger.pending_hold_count(), open);
        let mut counter = open as u64;
        group.bench_function(format!("place_release/{open}_open"), |b| {
            b.iter(|| {
                counter += 1;
                let hold_id = Id::new(format!("res-{counter:016x}")).unwrap();
                let entry = ledger.place_hold(&catalog, hold_request(hold_id, 2, placed_at(counter)), &ctx).unwrap();
                let Event::HoldPlaced { hold } = &entry.event else { unreachable!() };
                black_box(ledger.release_hold(&catalog, hold.id.as_str(), &ctx).unwrap())
            })
        });
        assert_eq!(ledger.pending_hold_count(), open);
    }
    group.finish();
}

fn movements(c: &mut Criterion) {
    let mut group = c.benchmark_group("movement");
    group.sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    let catalog = catalog(10);
    let mut ledger = stocked(&catalog, 1_000);
    let ctx = ctx(start());
    let location = id("L3");
    // One unit received at `location`.
    let one_in = |location: &Id| Movement {
        into: None,
        disposition: None,
        kind: MovementKind::Receive,
        location: location.clone(),
        qty: 1,
        to_location: None,
        reason: None,
        reference: None,
        counted_at_version: None,
        includes_versions: Vec::new(),
    };
    group.bench_function("receive", |b| {
        b.iter(|| {
            let movement = one_in(&location);
            black_box(ledger.record_movement(&catalog, movement, &ctx).unwrap())
        })
    });
    // The same with what the SKU object keeps beside the ledger for the metrics: the entry moves
    // the age layers, and the stockout check looks at every location.
    let mut aging = stockline_engine::planning::AgeLayers::default();
    group.bench_function("receive + age layers and stockout check", |b| {
        b.iter(|| {
            let movement = one_in(&location);
            let entry = ledger.record_movement(&catalog, movement, &ctx).unwrap().entry;
            let layers = aging.apply(&entry);
            let out = stockline_engine::planning::stockout_day(
                &ledger,
                &catalog,
                std::slice::from_ref(&entry),
                None,
                start().date_naive(),
            );
            black_box((entry, layers, out))
        })
    });
    group.finish();
}

criterion_group!(benches, reserve_commit, availability, replay, crowded, movements);
criterion_main!(benches);
