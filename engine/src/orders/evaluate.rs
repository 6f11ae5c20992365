//! Routing rules are versioned: before a draft set is activated it is replayed over recent
//! orders — each with the stock, nodes and rates it was allocated against — beside the active
//! set, so a manager sees what each would have cost, how often it splits and how many promises
//! it keeps, and how many orders it would route differently.

use super::allocate::{
    allocate, AllocationRequest, LineRequest, Node, Outcome, RoutingRules, ServiceLevel, ShippingRates, SkuStock,
    SplitPolicy,
};
use crate::error::EngineError;
use crate::ids::Id;
use crate::money::Money;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Orders one evaluation replays, at most.
pub const EVALUATION_ORDERS_MAX: usize = 1_000;

/// One past order as it was allocated: what it asked for and what the allocator saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationCase {
    pub order: Id,
    pub lines: Vec<LineRequest>,
    pub region: String,
    pub service_level: ServiceLevel,
    pub promised_by: Option<DateTime<Utc>>,
    pub split: SplitPolicy,
    pub locations: Vec<Id>,
    pub stock: Vec<SkuStock>,
    pub nodes: Vec<Node>,
    pub at: DateTime<Utc>,
}

/// What one rule set does over the cases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesOutcome {
    pub version: u32,
    /// Shipping cost and penalties over every order that ships now.
    pub cost: Money,
    pub shipping_cost: Money,
    pub shipments: u32,
    /// Orders that ship now in more than one shipment (of those that ship now), in percent.
    pub split_rate_pct: u32,
    /// Orders whose plan arrives by the promise (of those with a promise that ship now), in percent.
    pub promises_met_pct: u32,
    pub backordered_orders: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub orders: u32,
    pub active: RulesOutcome,
    pub draft: RulesOutcome,
    /// Orders the draft routes to other locations or quantities than the active set.
    pub rerouted: Vec<Id>,
}

fn pct(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        100
    } else {
        (u64::from(part) * 100 / u64::from(whole)) as u32
    }
}

/// Where an order's units go under a rule set: (location, SKU, qty), sorted.
type Route = Vec<(Id, Id, i64)>;

/// Replays `cases` under the active and the draft rules with the same rates.
pub fn evaluate(
    cases: &[EvaluationCase],
    rates: &ShippingRates,
    active: &RoutingRules,
    draft: &RoutingRules,
) -> Result<Evaluation, EngineError> {
    if cases.len() > EVALUATION_ORDERS_MAX {
        return Err(EngineError::invalid("orders", format!("at most {EVALUATION_ORDERS_MAX}")));
    }
    draft.check()?;
    let run = |rules: &RoutingRules| -> Result<(RulesOutcome, Vec<Route>), EngineError> {
        let (mut cost, mut shipping) = (Decimal::ZERO, Decimal::ZERO);
        let (mut shipments, mut shipped, mut split, mut promised, mut kept, mut backordered) = (0, 0, 0, 0, 0, 0);
        let mut routes = Vec::with_capacity(cases.len());
        for case in cases {
            let choice = allocate(&AllocationRequest {
                lines: &case.lines,
                region: &case.region,
                service_level: case.service_level,
                promised_by: case.promised_by,
                split: case.split,
                locations: &case.locations,
                stock: &case.stock,
                nodes: &case.nodes,
                rates,
                rules,
                now: case.at,
            })?;
            if matches!(choice.outcome, Outcome::Backordered | Outcome::SplitNeedsApproval) {
                backordered += 1;
            }
            let mut route: Route = Vec::new();
            if let Some(plan) = &choice.plan {
                cost += plan.cost.amount();
                shipping += plan.shipping_cost.amount();
                shipments += plan.shipments.len() as u32;
                shipped += 1;
                if plan.shipments.len() > 1 {
                    split += 1;
                }
                if case.promised_by.is_some() {
                    promised += 1;
                    if plan.meets_promise {
                        kept += 1;
                    }
                }
                for shipment in &plan.shipments {
                    route.extend(shipment.lines.iter().map(|l| (shipment.location.clone(), l.sku.clone(), l.qty)));
                }
                route.sort();
            }
            routes.push(route);
        }
        let money =
            |amount: Decimal| Money::from_decimal(amount).ok_or_else(|| EngineError::invalid("cost", "is too large"));
        Ok((
            RulesOutcome {
                version: rules.version,
                cost: money(cost)?,
                shipping_cost: money(shipping)?,
                shipments,
                split_rate_pct: pct(split, shipped),
                promises_met_pct: pct(kept, promised),
                backordered_orders: backordered,
            },
            routes,
        ))
    };
    let (active_outcome, active_routes) = run(active)?;
    let (draft_outcome, draft_routes) = run(draft)?;
    let rerouted = cases
        .iter()
        .zip(active_routes.iter().zip(&draft_routes))
        .filter(|(_, (a, d))| a != d)
        .map(|(case, _)| case.order.clone())
        .collect();
    Ok(Evaluation { orders: cases.len() as u32, active: active_outcome, draft: draft_outcome, rerouted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::allocate::{LocationStock, ShippingRate};
    use chrono::TimeZone;

    fn id(text: &str) -> Id {
        Id::new(text).expect("a test id")
    }

    fn m(text: &str) -> Money {
        Money::parse(text).expect("test money")
    }

    /// An order of S1 and S2 with each SKU at its own location (B, C) and both at A: a split
    /// from B + C (2 + 2) or one box from A (8).
    fn case(name: &str) -> EvaluationCase {
        let stock = |sku: &str| SkuStock {
            sku: id(sku),
            sellable: 10,
            locations: vec![
                LocationStock { location: id("A"), available: 5, reorder_point: None },
                LocationStock { location: id(if sku == "S1" { "B" } else { "C" }), available: 5, reorder_point: None },
            ],
        };
        EvaluationCase {
            order: id(name),
            lines: ["S1", "S2"]
                .iter()
                .enumerate()
                .map(|(i, sku)| LineRequest { line: i as u32 + 1, sku: id(sku), qty: 1, unit_price: m("10") })
                .collect(),
            region: "eu".to_string(),
            service_level: ServiceLevel::Standard,
            promised_by: Some(Utc.with_ymd_and_hms(2026, 12, 2, 23, 0, 0).single().expect("a time")),
            split: SplitPolicy::Allow,
            locations: vec![id("A"), id("B"), id("C")],
            stock: vec![stock("S1"), stock("S2")],
            nodes: vec![],
            at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("a time"),
        }
    }

    #[test]
    fn a_draft_is_compared_with_the_active_rules_over_past_orders() {
        let rate = |location: &str, cost: &str, days: u32| ShippingRate {
            location: id(location),
            region: "eu".to_string(),
            service_level: ServiceLevel::Standard,
            cost: m(cost),
            transit_days: days,
        };
        let rates = ShippingRates::new("EUR".into(), vec![rate("A", "8", 1), rate("B", "2", 1), rate("C", "2", 1)])
            .expect("rates");
        let active = RoutingRules { version: 1, shipment_penalty: m("5"), drain_penalty: m("0") };
        let draft = RoutingRules { version: 2, shipment_penalty: m("1"), drain_penalty: m("0") };
        let cases = [case("o-1"), case("o-2")];
        let evaluation = evaluate(&cases, &rates, &active, &draft).expect("an evaluation");
        // Active: one box from A each (8 against 2 + 2 + 5 for a split).
        assert_eq!(
            evaluation.active,
            RulesOutcome {
                version: 1,
                cost: m("16"),
                shipping_cost: m("16"),
                shipments: 2,
                split_rate_pct: 0,
                promises_met_pct: 100,
                backordered_orders: 0
            },
            "one box each"
        );
        // Draft: B + C each (2 + 2 + 1), every order split.
        assert_eq!(
            evaluation.draft,
            RulesOutcome {
                version: 2,
                cost: m("10"),
                shipping_cost: m("8"),
                shipments: 4,
                split_rate_pct: 100,
                promises_met_pct: 100,
                backordered_orders: 0
            }
        );
        assert_eq!(evaluation.rerouted, [id("o-1"), id("o-2")]);
        // The same rules route nothing differently.
        assert!(evaluate(&cases, &rates, &active, &active).expect("an evaluation").rerouted.is_empty());
        let bad = RoutingRules { drain_penalty: m("-1"), ..draft };
        assert!(evaluate(&cases, &rates, &active, &bad).is_err());
    }
}
