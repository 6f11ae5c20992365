//! Order allocation benchmark. Target: a 20-line order allocated over 50 locations < 1 ms native,
//! explanation included.
//!
//! Run: `cargo bench -p stockline-engine --bench orders` (add `-- --quick` for a fast pass).

use chrono::{TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use stockline_engine::orders::{
    allocate, AllocationRequest, LineRequest, LocationStock, Node, Outcome, RoutingRules, ServiceLevel, ShippingRate,
    ShippingRates, SkuStock, SplitPolicy,
};
use stockline_engine::{Id, Money};

const LINES: usize = 20;
const LOCATIONS: usize = 50;

fn id(value: &str) -> Id {
    Id::new(value).expect("a bench id")
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("bench money")
}

fn allocation(c: &mut Criterion) {
    let locations: Vec<Id> = (0..LOCATIONS).map(|l| id(&format!("wh-{l:02}"))).collect();
    // Every location stocks a deterministic, uneven part of the SKUs, so no single location has
    // the whole order and the plans have to split: the hard case.
    let stock: Vec<SkuStock> = (0..LINES)
        .map(|s| {
            let at: Vec<LocationStock> = locations
                .iter()
                .enumerate()
                .filter(|(l, _)| (l * 7 + s * 3) % 5 != 0)
                .map(|(l, location)| LocationStock {
                    location: location.clone(),
                    available: ((l * 13 + s * 17) % 9) as i64,
                    reorder_point: Some(3),
                })
                .collect();
            SkuStock { sku: id(&format!("SKU-{s:02}")), sellable: at.iter().map(|l| l.available).sum(), locations: at }
        })
        .collect();
    let lines: Vec<LineRequest> = (0..LINES)
        .map(|s| LineRequest {
            line: s as u32 + 1,
            sku: id(&format!("SKU-{s:02}")),
            qty: 4,
            unit_price: money("12.50"),
        })
        .collect();
    let rates = ShippingRates::new(
        "EUR".to_string(),
        locations
            .iter()
            .enumerate()
            .map(|(l, location)| ShippingRate {
                location: location.clone(),
                region: "eu".to_string(),
                service_level: ServiceLevel::Standard,
                cost: money(&format!("{}.{:02}", 3 + l % 7, (l * 37) % 100)),
                transit_days: 1 + (l % 4) as u32,
            })
            .collect(),
    )
    .expect("bench rates");
    let nodes: Vec<Node> = locations
        .iter()
        .map(|location| Node {
            location: location.clone(),
            cutoff_minute_utc: 16 * 60,
            capacity_per_day: Some(500),
            shipments_today: 10,
        })
        .collect();
    let rules = RoutingRules { version: 1, shipment_penalty: money("2.50"), drain_penalty: money("0.40") };
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 10, 0, 0).single().expect("a time");
    let request = AllocationRequest {
        lines: &lines,
        region: "eu",
        service_level: ServiceLevel::Standard,
        promised_by: Some(now + chrono::Duration::days(3)),
        split: SplitPolicy::Allow,
        locations: &locations,
        stock: &stock,
        nodes: &nodes,
        rates: &rates,
        rules: &rules,
        now,
    };
    let choice = allocate(&request).expect("an allocation");
    assert_eq!(choice.outcome, Outcome::Allocated, "{}", choice.explanation);
    assert!(choice.plans_considered > LOCATIONS as u32, "the bench prices many plans");
    c.bench_function("allocate 20 lines over 50 locations", |b| b.iter(|| allocate(black_box(&request))));
}

criterion_group!(benches, allocation);
criterion_main!(benches);
