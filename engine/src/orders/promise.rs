//! Promises and watches over time: "N now, M by date" from inbound with expected dates, the order
//! in which backorders take arriving stock, and the SLA watch that raises `sla_at_risk` before a
//! promised-by time is missed.

use super::allocate::{Node, ShippingRates};
use super::order::{Order, OrderStatus};
use crate::error::EngineError;
use crate::ids::Id;
use crate::limits::{EXPECTATIONS_MAX, QTY_REQUEST_MAX};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseSlice {
    pub qty: i64,
    pub available_on: NaiveDate,
}

/// `GET /v1/availability/{sku}?qty=N`'s `promise`: how much of N can be had by when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub slices: Vec<PromiseSlice>,
    /// What neither stock nor dated inbound covers: no date can be promised for it.
    pub unpromised: i64,
    /// For a placement's read: the SKU's substitutes with stock the order's channel may sell now,
    /// in the SKU's order of preference (the host reads them from their own objects). What
    /// customer service may offer instead of waiting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<SubstituteStock>,
}

/// A substitute SKU and the units of it the order's channel may sell now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubstituteStock {
    pub sku: Id,
    pub sellable: i64,
}

/// Inbound expected at a date (None: on its way, no date known), net of what other backorders
/// already claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub qty: i64,
    pub expected_on: Option<NaiveDate>,
}

/// N now, then from each dated inbound in date order. `available_with(extra)` answers what could
/// be promised if `extra` more units were on hand: the ledger's channel arithmetic, so arriving
/// units refill safety stock and the channel's buffer before they are promised, and a cap still
/// holds. Inbound dated before today (overdue) is promised from tomorrow, not from a day already
/// gone. Undated inbound promises nothing: a date nobody knows is not a promise.
pub fn promise(
    qty: i64,
    incoming: &[Incoming],
    today: NaiveDate,
    available_with: impl Fn(i64) -> i64,
) -> Result<Promise, EngineError> {
    if !(1..=QTY_REQUEST_MAX).contains(&qty) {
        return Err(EngineError::invalid("qty", format!("must be 1..={QTY_REQUEST_MAX}")));
    }
    if incoming.len() > EXPECTATIONS_MAX {
        return Err(EngineError::invalid("incoming", format!("at most {EXPECTATIONS_MAX}")));
    }
    let mut slices: Vec<PromiseSlice> = Vec::new();
    let mut promised = 0_i64;
    let now = available_with(0).clamp(0, qty);
    if now > 0 {
        slices.push(PromiseSlice { qty: now, available_on: today });
        promised = now;
    }
    let mut dated: Vec<(NaiveDate, i64)> = incoming
        .iter()
        .filter(|incoming| incoming.qty > 0)
        .filter_map(|incoming| incoming.expected_on.map(|day| (day.max(today + Duration::days(1)), incoming.qty)))
        .collect();
    dated.sort();
    let mut arrived = 0_i64;
    for (day, qty_in) in dated {
        if promised == qty {
            break;
        }
        arrived = arrived.saturating_add(qty_in);
        let by_then = available_with(arrived).clamp(promised, qty);
        let more = by_then - promised;
        if more == 0 {
            continue;
        }
        promised = by_then;
        match slices.last_mut() {
            Some(last) if last.available_on == day => last.qty += more,
            _ => slices.push(PromiseSlice { qty: more, available_on: day }),
        }
    }
    debug_assert_eq!(slices.iter().map(|slice| slice.qty).sum::<i64>(), promised);
    Ok(Promise { slices, unpromised: qty - promised, substitutes: Vec::new() })
}

/// The order in which waiting orders take arriving stock: priority (higher first), then the time
/// they were placed, then their id — the same order on every host.
pub fn backorder_queue<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Vec<&'a Order> {
    let mut waiting: Vec<&Order> = orders
        .into_iter()
        .filter(|order| matches!(order.status, OrderStatus::Backordered | OrderStatus::PartiallyAllocated))
        .collect();
    waiting.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.placed_at.cmp(&b.placed_at)).then(a.id.cmp(&b.id)));
    waiting
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// The promise can still be kept with time to spare.
    OnTrack,
    /// Within the warning window of the last moment it can still ship in time.
    AtRisk,
    /// That moment has passed: the promise will be missed.
    Breached,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaWatch {
    pub state: SlaState,
    /// The last moment the slowest open shipment can leave and still arrive by the promise.
    pub ship_by: DateTime<Utc>,
    pub reason: String,
}

/// Watches an order that is not shipped yet against its promised-by time. For each location
/// still to ship, the latest departure is the promised day minus the transit days, at that node's
/// cut-off; the earliest of those is the order's `ship_by`. `warn_minutes` before it the order is
/// at risk; after it, breached. None: nothing promised, or nothing left to ship.
pub fn sla_watch(
    order: &Order,
    nodes: &[Node],
    rates: &ShippingRates,
    now: DateTime<Utc>,
    warn_minutes: u32,
) -> Option<SlaWatch> {
    let promised_by = order.promised_by?;
    if matches!(order.status, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Cancelled) {
        return None;
    }
    let mut locations: Vec<&crate::ids::Id> =
        order.lines.iter().flat_map(|line| line.allocations.iter().map(|a| &a.location)).collect();
    locations.sort();
    locations.dedup();
    let waiting: i64 = order.lines.iter().map(|line| line.backordered()).sum();
    let mut ship_by: Option<(DateTime<Utc>, String)> = None;
    for location in locations {
        let transit_days =
            rates.rate(location, &order.ship_to_region, order.service_level).map_or(0, |rate| rate.transit_days);
        let cutoff_minute =
            nodes.iter().find(|node| node.location == *location).map_or(24 * 60, |n| n.cutoff_minute_utc);
        let last_day = promised_by.date_naive() - Duration::days(i64::from(transit_days));
        let leave_by = last_day
            .and_hms_opt(0, 0, 0)
            .map(|midnight| midnight.and_utc() + Duration::minutes(i64::from(cutoff_minute)));
        if let Some(leave_by) = leave_by {
            if ship_by.as_ref().is_none_or(|(at, _)| leave_by < *at) {
                ship_by = Some((
                    leave_by,
                    format!(
                        "{location} must hand over by {} ({transit_days} day{} in transit)",
                        leave_by.format("%Y-%m-%d %H:%M UTC"),
                        super::allocate::plural(transit_days)
                    ),
                ));
            }
        }
    }
    let (ship_by, mut reason) = match ship_by {
        Some(found) => found,
        // Nothing allocated yet: it has to leave by the promised day itself at the latest.
        None if waiting > 0 => (promised_by, format!("{waiting} units still wait for stock")),
        None => return None,
    };
    if waiting > 0 && !reason.contains("wait") {
        reason.push_str(&format!("; {waiting} units still wait for stock"));
    }
    let state = if now > ship_by {
        SlaState::Breached
    } else if waiting > 0 || now + Duration::minutes(i64::from(warn_minutes)) >= ship_by {
        SlaState::AtRisk
    } else {
        SlaState::OnTrack
    };
    Some(SlaWatch { state, ship_by, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
    }

    /// `incoming`: "qty@date" or "qty@-" (undated); `expect`: "qty@date …", then "+N" unpromised.
    #[track_caller]
    fn check(qty: i64, available: i64, incoming: &[&str], expect: &str) {
        let incoming: Vec<Incoming> = incoming
            .iter()
            .map(|text| {
                let (qty, date) = text.split_once('@').expect("qty@date");
                Incoming { qty: qty.parse().expect("qty"), expected_on: (date != "-").then(|| day(date)) }
            })
            .collect();
        let promise =
            promise(qty, &incoming, day("2026-12-01"), |extra| (available + extra).max(0)).expect("a valid promise");
        let mut shown: Vec<String> = promise.slices.iter().map(|s| format!("{}@{}", s.qty, s.available_on)).collect();
        if promise.unpromised > 0 {
            shown.push(format!("+{}", promise.unpromised));
        }
        assert_eq!(shown.join(" "), expect);
    }

    #[test]
    fn promises_from_stock_then_dated_inbound() {
        check(5, 10, &[], "5@2026-12-01");
        check(5, 3, &["4@2026-12-05"], "3@2026-12-01 2@2026-12-05");
        check(10, 3, &["2@2026-12-09", "4@2026-12-05"], "3@2026-12-01 4@2026-12-05 2@2026-12-09 +1");
        check(5, 0, &["5@-"], "+5");
        check(5, 0, &["2@-", "9@2026-12-03"], "5@2026-12-03");
        // Overdue inbound is promised from tomorrow; the same day's inbound is one slice.
        check(6, 0, &["2@2026-11-20", "3@2026-12-02"], "5@2026-12-02 +1");
        check(4, 3, &["1@2026-12-04", "1@2026-12-04"], "3@2026-12-01 1@2026-12-04");
        // A location short after a count (free −3) takes the first arrivals back.
        check(4, -3, &["2@2026-12-04", "3@2026-12-06"], "2@2026-12-06 +2");
        assert!(promise(0, &[], day("2026-12-01"), |extra| extra).is_err());
        // Arrivals refill safety stock (8, with 5 on hand) before anything is promised from them.
        let refill =
            promise(4, &[Incoming { qty: 6, expected_on: Some(day("2026-12-05")) }], day("2026-12-01"), |extra| {
                crate::position::channel_available(5 + extra, 8, 0, None, None)
            })
            .expect("a promise");
        assert_eq!(
            (refill.slices, refill.unpromised),
            (vec![PromiseSlice { qty: 3, available_on: day("2026-12-05") }], 1)
        );
    }
}
