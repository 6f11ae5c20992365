//! Property tests for order allocation: whatever the stock, rates, nodes and split policy, a plan
//! never takes more than a location has or the channel may sell, accounts for every unit ordered,
//! keeps the split policy, ships only from locations with a rate, and backorders nothing an
//! allowed split could ship now.

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::HashMap;
use stockline_engine::orders::{
    allocate, AllocationRequest, LineRequest, LocationStock, Node, Outcome, RoutingRules, ServiceLevel, ShippingRate,
    ShippingRates, SkuStock, SplitPolicy,
};
use stockline_engine::{Id, Money};

fn id(value: &str) -> Id {
    Id::new(value).expect("an id")
}

fn money(cents: u32) -> Money {
    Money::parse(&format!("{}.{:02}", cents / 100, cents % 100)).expect("money")
}

#[derive(Clone, Debug)]
struct Case {
    /// qty and unit price (cents) per SKU line.
    lines: Vec<(i64, u32)>,
    /// available[location][sku]
    available: Vec<Vec<i64>>,
    /// sellable per SKU, as a cut of the sum (percent).
    sellable_pct: Vec<u8>,
    /// Some((cost cents, transit days)) per location; None: no rate.
    rates: Vec<Option<(u32, u32)>>,
    /// (cut-off minute, capacity, shipments today) per location.
    nodes: Vec<(u16, Option<u32>, u32)>,
    split: u8,
    minimum_cents: u32,
    shipment_penalty_cents: u32,
    drain_penalty_cents: u32,
    promised_in_days: Option<i64>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=5, 1usize..=6).prop_flat_map(|(skus, locations)| {
        (
            prop::collection::vec((1i64..=12, 0u32..=5_000), skus),
            prop::collection::vec(prop::collection::vec(0i64..=10, skus), locations),
            prop::collection::vec(0u8..=100, skus),
            prop::collection::vec(prop::option::weighted(0.85, (0u32..=2_000, 0u32..=5)), locations),
            prop::collection::vec((0u16..=1440, prop::option::of(0u32..=3), 0u32..=3), locations),
            0u8..3,
            0u32..=8_000,
            (0u32..=500, 0u32..=500),
            prop::option::of(0i64..=6),
        )
            .prop_map(
                |(lines, available, sellable_pct, rates, nodes, split, minimum_cents, penalties, promised_in_days)| {
                    Case {
                        lines,
                        available,
                        sellable_pct,
                        rates,
                        nodes,
                        split,
                        minimum_cents,
                        shipment_penalty_cents: penalties.0,
                        drain_penalty_cents: penalties.1,
                        promised_in_days,
                    }
                },
            )
    })
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let locations: Vec<Id> = (0..case.available.len()).map(|l| id(&format!("L{l}"))).collect();
    let skus: Vec<Id> = (0..case.lines.len()).map(|s| id(&format!("S{s}"))).collect();
    let lines: Vec<LineRequest> = case
        .lines
        .iter()
        .enumerate()
        .map(|(s, (qty, cents))| LineRequest {
            line: s as u32 + 1,
            sku: skus[s].clone(),
            qty: *qty,
            unit_price: money(*cents),
        })
        .collect();
    let stock: Vec<SkuStock> = skus
        .iter()
        .enumerate()
        .map(|(s, sku)| {
            let sum: i64 = case.available.iter().map(|row| row[s]).sum();
            SkuStock {
                sku: sku.clone(),
                sellable: sum * i64::from(case.sellable_pct[s]) / 100,
                locations: locations
                    .iter()
                    .enumerate()
                    .map(|(l, location)| LocationStock {
                        location: location.clone(),
                        available: case.available[l][s],
                        reorder_point: Some(3),
                    })
                    .collect(),
            }
        })
        .collect();
    let rates = ShippingRates::new(
        "EUR".to_string(),
        case.rates
            .iter()
            .enumerate()
            .filter_map(|(l, rate)| {
                rate.map(|(cents, days)| ShippingRate {
                    location: locations[l].clone(),
                    region: "eu".to_string(),
                    service_level: ServiceLevel::Standard,
                    cost: money(cents),
                    transit_days: days,
                })
            })
            .collect(),
    )
    .expect("rates");
    let nodes: Vec<Node> = case
        .nodes
        .iter()
        .enumerate()
        .map(|(l, (cutoff, capacity, today))| Node {
            location: locations[l].clone(),
            cutoff_minute_utc: *cutoff,
            capacity_per_day: *capacity,
            shipments_today: *today,
        })
        .collect();
    let split = match case.split {
        0 => SplitPolicy::ShipComplete,
        1 => SplitPolicy::Allow,
        _ => SplitPolicy::AllowAbove(money(case.minimum_cents)),
    };
    let rules = RoutingRules {
        version: 1,
        shipment_penalty: money(case.shipment_penalty_cents),
        drain_penalty: money(case.drain_penalty_cents),
    };
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).single().expect("a time");
    let request = AllocationRequest {
        lines: &lines,
        region: "eu",
        service_level: ServiceLevel::Standard,
        promised_by: case.promised_in_days.map(|days| now + Duration::days(days)),
        split,
        locations: &locations,
        stock: &stock,
        nodes: &nodes,
        rates: &rates,
        rules: &rules,
        now,
    };
    let choice = allocate(&request).expect("a valid request");
    prop_assert!(!choice.explanation.is_empty());

    // What could ship now at all, per SKU: rated locations' stock, within the channel's sellable.
    let shippable: Vec<i64> = (0..skus.len())
        .map(|s| {
            let at_rated: i64 =
                (0..locations.len()).filter(|&l| case.rates[l].is_some()).map(|l| case.available[l][s]).sum();
            at_rated.min(stock[s].sellable)
        })
        .collect();
    let coverable = lines.iter().enumerate().all(|(s, line)| shippable[s] >= line.qty);

    match &choice.plan {
        None => {
            prop_assert!(matches!(choice.outcome, Outcome::Backordered | Outcome::SplitNeedsApproval));
            if split == SplitPolicy::Allow {
                prop_assert!(shippable.iter().all(|&n| n == 0), "nothing shipped although {shippable:?} could");
            }
        }
        Some(plan) => {
            let mut taken: HashMap<(Id, Id), i64> = HashMap::new();
            let mut per_sku: HashMap<Id, i64> = HashMap::new();
            let mut locations_used = Vec::new();
            for shipment in &plan.shipments {
                let l = locations.iter().position(|id| *id == shipment.location).expect("a channel location");
                prop_assert!(case.rates[l].is_some(), "ships from {} without a rate", shipment.location);
                prop_assert!(!locations_used.contains(&l), "one shipment per location");
                locations_used.push(l);
                for part in &shipment.lines {
                    prop_assert!(part.qty > 0);
                    *taken.entry((shipment.location.clone(), part.sku.clone())).or_default() += part.qty;
                    *per_sku.entry(part.sku.clone()).or_default() += part.qty;
                }
            }
            for ((location, sku), qty) in &taken {
                let l = locations.iter().position(|id| id == location).expect("a location");
                let s = skus.iter().position(|id| id == sku).expect("a sku");
                prop_assert!(*qty <= case.available[l][s], "{sku} at {location}: {qty} > {}", case.available[l][s]);
            }
            for (s, line) in lines.iter().enumerate() {
                let shipped = per_sku.get(&skus[s]).copied().unwrap_or(0);
                let waiting: i64 = plan.backordered.iter().filter(|b| b.sku == skus[s]).map(|b| b.qty).sum();
                prop_assert!(
                    shipped <= stock[s].sellable,
                    "{} ships {shipped} > sellable {}",
                    skus[s],
                    stock[s].sellable
                );
                prop_assert_eq!(shipped + waiting, line.qty, "every unit of line {} accounted for", line.line);
            }
            let whole = plan.shipments.len() == 1 && plan.backordered.is_empty();
            match split {
                SplitPolicy::ShipComplete => prop_assert!(whole),
                SplitPolicy::AllowAbove(minimum) if !whole => {
                    for shipment in &plan.shipments {
                        prop_assert!(shipment.value >= minimum);
                    }
                }
                _ => {}
            }
            prop_assert_eq!(choice.outcome == Outcome::Allocated, plan.backordered.is_empty());
            // Completeness: when every line can be covered and any split is allowed, nothing waits.
            if split == SplitPolicy::Allow && coverable {
                prop_assert!(
                    plan.backordered.is_empty(),
                    "backordered {:?} although it was coverable",
                    plan.backordered
                );
            }
            for rejection in &choice.rejected {
                prop_assert!(
                    !plan.shipments.iter().any(|s| s.location == rejection.location),
                    "a used location rejected"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn a_plan_never_takes_more_than_there_is_and_keeps_its_policy(case in case()) {
        check(&case)?;
    }
}
