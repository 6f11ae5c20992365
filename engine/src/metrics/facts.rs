//! What one order means for the figures, and the bucket additions a change of it makes.

use super::margin::currency_bin;
use super::{dim, metric};
use crate::ids::Id;
use crate::money::Money;
use crate::orders::{Choice, Order, OrderAction, OrderLine, OrderStatus};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Cycle-time bins: bin 0 holds up to a minute, each next bin is about 10% wider than the one
/// before (integer steps, so every host agrees), the last holds everything beyond (years).
pub const CYCLE_BINS: u32 = 160;

/// Each bin's largest cycle time, in seconds: 60, then about 10% more per bin (integer steps).
const CYCLE_BIN_UPPER_SECONDS: [i64; CYCLE_BINS as usize] = {
    let mut uppers = [0_i64; CYCLE_BINS as usize];
    let mut upper = 60_i64;
    let mut bin = 0;
    while bin < uppers.len() {
        uppers[bin] = upper;
        upper += if upper / 10 > 1 { upper / 10 } else { 1 };
        bin += 1;
    }
    uppers
};

/// The largest cycle time, in seconds, bin `bin` holds.
pub fn cycle_bin_upper_seconds(bin: u32) -> i64 {
    assert!(bin < CYCLE_BINS, "bin {bin} is beyond the last");
    CYCLE_BIN_UPPER_SECONDS[bin as usize]
}

/// The bin a cycle time falls in (negative times, a clock step back, count as none).
pub fn cycle_bin(seconds: i64) -> u32 {
    let last = CYCLE_BIN_UPPER_SECONDS.len() - 1;
    // The first bin whose upper bound holds it; beyond every bound but the last's, the last.
    let bin = CYCLE_BIN_UPPER_SECONDS[..last].partition_point(|upper| *upper < seconds);
    u32::try_from(bin).expect("fewer bins than u32::MAX")
}

/// A line as a fill-rate figure counts it: units ordered, units found (allocated at the first
/// allocation; shipped, substitutes included, at the end). `filled` never exceeds `ordered`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFill {
    pub sku: Id,
    pub ordered: i64,
    pub filled: i64,
}

impl LineFill {
    fn complete(&self) -> bool {
        self.filled >= self.ordered
    }
}

/// One order, as the figures see it. Kept by the host beside the order; each change is observed
/// from the facts before it, so what happened once (the first allocation, the shipment) stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFacts {
    pub placed_at: DateTime<Utc>,
    pub channel: Id,
    /// The order's state while it is open (in the backlog); none once it shipped or was cancelled.
    pub open: Option<OrderStatus>,
    /// The lines as the first allocation left them; none until an allocation ran.
    pub first: Option<Vec<LineFill>>,
    /// The lines as they ended: shipped (or delivered) or cancelled.
    pub ended: Option<Vec<LineFill>>,
    /// When the order shipped complete.
    pub shipped_at: Option<DateTime<Utc>>,
    /// The locations of its allocations as last seen before it shipped: where it ships from
    /// (shipping clears the allocations, so the facts keep them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ships_from: Vec<Id>,
    /// The order's currency: what its prices, and the margin figures it adds, are in (empty in
    /// facts kept before margins were: they add none).
    #[serde(default)]
    pub currency: String,
    /// The promise its shipment is judged against (an SLA breach: shipped after it).
    #[serde(default)]
    pub promised_by: Option<DateTime<Utc>>,
    /// What shipping it costs, as its plan was last seen before it shipped.
    #[serde(default)]
    pub costs: Option<ShipCosts>,
    /// What it sold, by SKU, once it ended (substitutes under their own SKU and price).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sold: Vec<Sold>,
}

/// An allocation plan's cost, in cents of the order's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipCosts {
    /// Every shipment's rate.
    pub shipping_cents: i64,
    /// What splitting added: the plan's shipping less its dearest shipment (what one parcel
    /// would have cost at least); 0 for one shipment.
    pub split_cents: i64,
    /// What keeping the promise added: the plan's shipping less the next best plan's, when that
    /// plan filled as much but would have arrived late; 0 otherwise.
    pub expedite_cents: i64,
}

impl ShipCosts {
    /// The costs of the plan `choice` picked; none when nothing ships.
    pub fn of(choice: &Choice) -> Option<ShipCosts> {
        let plan = choice.plan.as_ref()?;
        let dearest = plan.shipments.iter().map(|shipment| shipment.cost).max().unwrap_or(Money::ZERO);
        let split =
            if plan.shipments.len() > 1 { plan.shipping_cost.amount() - dearest.amount() } else { Decimal::ZERO };
        let expedite = match &choice.runner_up {
            Some(late)
                if plan.meets_promise
                    && !late.meets_promise
                    && late.backordered_qty() == plan.backordered_qty()
                    && late.shipping_cost < plan.shipping_cost =>
            {
                plan.shipping_cost.amount() - late.shipping_cost.amount()
            }
            _ => Decimal::ZERO,
        };
        let costs = ShipCosts {
            shipping_cents: cents(plan.shipping_cost.amount()),
            split_cents: cents(split),
            expedite_cents: cents(expedite),
        };
        assert!(costs.split_cents >= 0 && costs.expedite_cents >= 0);
        assert!(costs.split_cents <= costs.shipping_cents && costs.expedite_cents <= costs.shipping_cents);
        Some(costs)
    }
}

/// Units of one SKU an order shipped, and what they sold for (cents of its currency).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sold {
    pub sku: Id,
    pub units: i64,
    pub cents: i64,
}

/// `amount` in whole cents, half away from zero. Amounts are `Money` (12 whole digits at most)
/// or a line's qty × price, which an order or invoice refuses beyond those digits.
pub(super) fn cents(amount: Decimal) -> i64 {
    let rounded = (amount * Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    rounded.to_i64().expect("an amount within Money's 12 whole digits is within i64 cents")
}

/// One addition to one bucket: `values` are added to the bucket's counters (`n0..n5`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delta {
    pub metric: String,
    pub dim: &'static str,
    pub key: String,
    pub day: NaiveDate,
    pub bin: u32,
    pub values: [i64; 6],
}

type Key = (String, &'static str, String, NaiveDate, u32);

/// Contributions to buckets being summed: one fact's (sign 1) less the one before it (sign −1).
#[derive(Default)]
pub(super) struct Sums(BTreeMap<Key, [i64; 6]>);

impl Sums {
    pub(super) fn add(
        &mut self,
        metric: &str,
        dim: &'static str,
        key: &str,
        day: NaiveDate,
        bin: u32,
        values: [i64; 6],
    ) {
        let slot = self.0.entry((metric.to_string(), dim, key.to_string(), day, bin)).or_insert([0; 6]);
        for (total, value) in slot.iter_mut().zip(values) {
            *total += value;
        }
    }

    /// The additions left once the two sides cancel: none for a change that moved no figure.
    pub(super) fn deltas(self) -> Vec<Delta> {
        self.0
            .into_iter()
            .filter(|(_, values)| values.iter().any(|value| *value != 0))
            .map(|((metric, dim, key, day, bin), values)| Delta { metric, dim, key, day, bin, values })
            .collect()
    }
}

impl OrderFacts {
    /// The facts after a change of `order`, from the facts before it (none: first seen).
    pub fn observe(before: Option<&OrderFacts>, order: &Order) -> OrderFacts {
        let ended = matches!(order.status, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Cancelled);
        let first = match before.and_then(|facts| facts.first.clone()) {
            Some(first) => Some(first),
            None if order.choice.is_some() => Some(fills(order, |line| line.allocated() + line.shipped)),
            None => None,
        };
        let ended_lines = match before.and_then(|facts| facts.ended.clone()) {
            Some(lines) => Some(lines),
            None if ended => Some(fills(order, |line| line.shipped)),
            None => None,
        };
        let shipped_at = match before.and_then(|facts| facts.shipped_at) {
            Some(at) => Some(at),
            None if matches!(order.status, OrderStatus::Shipped | OrderStatus::Delivered) => Some(
                order
                    .events
                    .iter()
                    .rev()
                    .find(|event| event.action == OrderAction::Ship)
                    .map_or(order.placed_at, |event| event.at),
            ),
            None => None,
        };
        let mut allocated_at: Vec<Id> =
            order.lines.iter().flat_map(|line| line.allocations.iter().map(|a| a.location.clone())).collect();
        allocated_at.sort();
        allocated_at.dedup();
        let ships_from = match before {
            Some(facts) if facts.shipped_at.is_some() || allocated_at.is_empty() => facts.ships_from.clone(),
            _ => allocated_at,
        };
        // The costs of the plan it ships on: kept once it shipped (shipping settles the plan).
        let costs = match before {
            Some(facts) if facts.shipped_at.is_some() => facts.costs.clone(),
            _ => order.choice.as_ref().and_then(ShipCosts::of).or_else(|| before.and_then(|f| f.costs.clone())),
        };
        let sold = match before {
            Some(facts) if facts.ended.is_some() => facts.sold.clone(),
            _ if ended => sold(order),
            _ => Vec::new(),
        };
        let facts = OrderFacts {
            ships_from,
            currency: order.currency.clone(),
            promised_by: order.promised_by,
            costs,
            sold,
            placed_at: order.placed_at,
            channel: order.channel.clone(),
            open: if ended { None } else { Some(order.status) },
            first,
            ended: ended_lines,
            shipped_at,
        };
        facts.check();
        facts
    }

    fn check(&self) {
        for lines in [&self.first, &self.ended].into_iter().flatten() {
            assert!(!lines.is_empty(), "an order has lines");
            for line in lines {
                assert!(line.ordered > 0 && (0..=line.ordered).contains(&line.filled), "fill of {}", line.sku);
            }
        }
        assert!(self.open.is_none() || self.ended.is_none(), "an order is open or ended, not both");
        assert!(self.sold.iter().all(|sold| sold.units > 0 && sold.cents >= 0), "sales are units sold");
    }

    fn placed_on(&self) -> NaiveDate {
        self.placed_at.date_naive()
    }

    /// Everything this order adds to the buckets.
    fn contributions(&self, into: &mut Sums, sign: i64) {
        let mut add = |metric: &str, dim: &'static str, key: &str, day: NaiveDate, bin: u32, values: [i64; 6]| {
            into.add(metric, dim, key, day, bin, values.map(|value| sign * value))
        };
        let channel = self.channel.as_str();
        for (name, lines) in [(metric::FILL_FIRST, &self.first), (metric::FILL_FINAL, &self.ended)] {
            let Some(lines) = lines else { continue };
            let complete = i64::from(lines.iter().all(LineFill::complete));
            let whole = [
                1,
                complete,
                lines.len() as i64,
                lines.iter().filter(|line| line.complete()).count() as i64,
                lines.iter().map(|line| line.ordered).sum(),
                lines.iter().map(|line| line.filled).sum(),
            ];
            add(name, dim::ALL, "", self.placed_on(), 0, whole);
            add(name, dim::CHANNEL, channel, self.placed_on(), 0, whole);
            for line in lines {
                let one = [1, complete, 1, i64::from(line.complete()), line.ordered, line.filled];
                add(name, dim::SKU, line.sku.as_str(), self.placed_on(), 0, one);
            }
        }
        if let Some(shipped_at) = self.shipped_at {
            let bin = cycle_bin((shipped_at - self.placed_at).num_seconds());
            let promised = self.promised_by.map(|by| [1, i64::from(shipped_at > by)]).unwrap_or([0, 0]);
            let one = [1, promised[0], promised[1], 0, 0, 0];
            let day = shipped_at.date_naive();
            add(metric::CYCLE, dim::ALL, "", day, bin, one);
            add(metric::CYCLE, dim::CHANNEL, channel, day, bin, one);
            for line in self.ended.iter().flatten() {
                add(metric::CYCLE, dim::SKU, line.sku.as_str(), day, bin, one);
            }
            for location in &self.ships_from {
                add(metric::CYCLE, dim::LOCATION, location.as_str(), day, bin, one);
            }
            if let (Some(costs), Some(money)) = (&self.costs, currency_bin(&self.currency)) {
                let [split, expedited] = [costs.split_cents, costs.expedite_cents].map(|cents| i64::from(cents > 0));
                let values = [costs.shipping_cents, costs.split_cents, costs.expedite_cents, 1, split, expedited];
                add(metric::SHIPPING, dim::ALL, "", day, money, values);
                add(metric::SHIPPING, dim::CHANNEL, channel, day, money, values);
            }
            if let Some(money) = currency_bin(&self.currency) {
                for sold in &self.sold {
                    let values = [sold.cents, sold.units, 0, 0, 0, 0];
                    add(metric::REVENUE, dim::ALL, "", day, money, values);
                    add(metric::REVENUE, dim::CHANNEL, channel, day, money, values);
                    add(metric::REVENUE, dim::SKU, sold.sku.as_str(), day, money, values);
                }
            }
        }
        if let Some(status) = self.open {
            let name = format!("{}{}", metric::BACKLOG_PREFIX, status.as_str());
            add(&name, dim::ALL, "", self.placed_on(), 0, [1, 0, 0, 0, 0, 0]);
            add(&name, dim::CHANNEL, channel, self.placed_on(), 0, [1, 0, 0, 0, 0, 0]);
        }
    }

    /// The bucket additions that turn `before`'s contributions into `after`'s: nothing when the
    /// change moved no figure (a pick, say).
    pub fn deltas(before: Option<&OrderFacts>, after: &OrderFacts) -> Vec<Delta> {
        let mut sums = Sums::default();
        after.contributions(&mut sums, 1);
        if let Some(before) = before {
            before.contributions(&mut sums, -1);
        }
        sums.deltas()
    }
}

/// What the order shipped, by SKU, at its lines' prices.
fn sold(order: &Order) -> Vec<Sold> {
    let mut by_sku: BTreeMap<&Id, (i64, Decimal)> = BTreeMap::new();
    for line in order.lines.iter().filter(|line| line.shipped > 0) {
        let slot = by_sku.entry(&line.sku).or_insert((0, Decimal::ZERO));
        slot.0 += line.shipped;
        slot.1 += line.unit_price.amount() * Decimal::from(line.shipped);
    }
    by_sku.into_iter().map(|(sku, (units, value))| Sold { sku: sku.clone(), units, cents: cents(value) }).collect()
}

/// The order's lines as fills: substitutes count for the line they replaced, not as lines.
fn fills(order: &Order, found: impl Fn(&OrderLine) -> i64) -> Vec<LineFill> {
    order
        .lines
        .iter()
        .filter(|line| line.substitute_for.is_none())
        .map(|line| {
            let substitutes: i64 =
                order.lines.iter().filter(|other| other.substitute_for == Some(line.line)).map(&found).sum();
            LineFill {
                sku: line.sku.clone(),
                ordered: line.qty,
                filled: (found(line) + substitutes).clamp(0, line.qty),
            }
        })
        .collect()
}
