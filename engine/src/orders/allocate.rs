//! Allocation as a priced choice: which locations ship which lines of an order.
//!
//! The allocator enumerates a bounded set of feasible plans over the channel's locations, prices
//! each (shipping cost from a location × region rate table, a penalty per extra shipment, a
//! penalty per SKU a plan drains below its reorder point at a location), dates each (the node's
//! carrier cut-off and daily capacity, then the rate's transit days) and picks, in this order:
//! the plan that leaves the fewest units backordered, then one that meets the promised-by time,
//! then the cheapest, the earliest, the fewest shipments, and the channel's location order.
//!
//! The plans it considers, at most `ALLOCATION_PLANS_MAX`:
//! - every location that can ship the whole order alone;
//! - a greedy cover seeded at each location: the seed takes what it can, then the location that
//!   covers most of the rest, until nothing is left or nobody has more;
//! - every location in order of its rate, each taking what it can.
//!
//! Stock comes in already as what the order's channel may sell: `sellable` per SKU (after safety
//! stock, the channel's buffer and cap) and `available` per location. A plan never takes more
//! than either, so safety stock and buffers hold whatever the plan.
//!
//! The answer explains itself: the plan, the runner-up, and why every other location of the
//! channel was not used ("wh-west: 6.80 in 2 shipments vs 4.10").

use crate::error::EngineError;
use crate::ids::Id;
use crate::limits::{
    ALLOCATION_PLANS_MAX, LOCATIONS_MAX, ORDER_LINES_MAX, QTY_STORED_MAX, SHIPPING_RATES_MAX, TRANSIT_DAYS_MAX,
};
use crate::money::{check_currency, Money};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use rust_decimal::Decimal;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevel {
    #[default]
    Standard,
    Express,
}

impl ServiceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceLevel::Standard => "standard",
            ServiceLevel::Express => "express",
        }
    }
}

/// Whether and how an order may ship in parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitPolicy {
    /// One shipment with everything, or wait.
    ShipComplete,
    /// Any split, and a partial shipment with the rest backordered.
    #[default]
    Allow,
    /// A split or partial shipment only when every part — each shipment and the backordered
    /// rest — is worth at least this much (in the order's currency).
    AllowAbove(Money),
}

/// What shipping from a location to a region costs and takes, at a service level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingRate {
    pub location: Id,
    pub region: String,
    #[serde(default)]
    pub service_level: ServiceLevel,
    /// Per shipment, in the table's currency.
    pub cost: Money,
    pub transit_days: u32,
}

/// `PUT /v1/shipping-rates`: one currency, each location × region × service level once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RatesData", into = "RatesData")]
pub struct ShippingRates {
    currency: String,
    rates: Vec<ShippingRate>,
    index: BTreeMap<(Id, String, ServiceLevel), usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesData {
    currency: String,
    rates: Vec<ShippingRate>,
}

impl TryFrom<RatesData> for ShippingRates {
    type Error = EngineError;
    fn try_from(data: RatesData) -> Result<ShippingRates, EngineError> {
        ShippingRates::new(data.currency, data.rates)
    }
}

impl From<ShippingRates> for RatesData {
    fn from(rates: ShippingRates) -> RatesData {
        RatesData { currency: rates.currency, rates: rates.rates }
    }
}

impl ShippingRates {
    pub fn new(currency: String, rates: Vec<ShippingRate>) -> Result<ShippingRates, EngineError> {
        check_currency("currency", &currency)?;
        if rates.len() > SHIPPING_RATES_MAX {
            return Err(EngineError::invalid("rates", format!("at most {SHIPPING_RATES_MAX}")));
        }
        let mut index = BTreeMap::new();
        for (i, rate) in rates.iter().enumerate() {
            let field = |name: &str| format!("rates[{i}].{name}");
            crate::ids::check_text("region", &rate.region).map_err(|error| match error {
                EngineError::InvalidRequest { message, .. } => EngineError::invalid(&field("region"), message),
                other => other,
            })?;
            if rate.cost.is_negative() {
                return Err(EngineError::invalid(&field("cost"), "cannot be negative"));
            }
            if rate.transit_days > TRANSIT_DAYS_MAX {
                return Err(EngineError::invalid(&field("transit_days"), format!("must be 0..={TRANSIT_DAYS_MAX}")));
            }
            let key = (rate.location.clone(), rate.region.clone(), rate.service_level);
            if index.insert(key, i).is_some() {
                return Err(EngineError::invalid(
                    &format!("rates[{i}]"),
                    format!(
                        "{} to {} ({}) is already in the table",
                        rate.location,
                        rate.region,
                        rate.service_level.as_str()
                    ),
                ));
            }
        }
        Ok(ShippingRates { currency, rates, index })
    }

    pub fn currency(&self) -> &str {
        &self.currency
    }

    pub fn rates(&self) -> &[ShippingRate] {
        &self.rates
    }

    pub fn rate(&self, location: &Id, region: &str, level: ServiceLevel) -> Option<&ShippingRate> {
        // One allocation asks once per location; a clone of two short strings is cheap beside it.
        self.index.get(&(location.clone(), region.to_string(), level)).map(|&i| &self.rates[i])
    }
}

/// A location as a shipping node today: when the carrier leaves and how many shipments it can
/// still hand over. A location without a node ships the same day, without a limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub location: Id,
    /// Minutes after midnight UTC; a shipment planned after it leaves the next day. 1440: none.
    pub cutoff_minute_utc: u16,
    /// Shipments a day; None: no limit.
    pub capacity_per_day: Option<u32>,
    /// Shipments already planned for today.
    pub shipments_today: u32,
}

impl Node {
    /// A location's node as configured (no shipments planned yet).
    pub fn new(location: Id, cutoff_minute_utc: u16, capacity_per_day: Option<u32>) -> Node {
        Node { location, cutoff_minute_utc, capacity_per_day, shipments_today: 0 }
    }
}

/// A node table as configured: each location once, cut-offs within the day, a capacity of at
/// least one shipment, at most `LOCATIONS_MAX` nodes.
pub fn check_nodes(nodes: &[Node]) -> Result<(), EngineError> {
    if nodes.len() > LOCATIONS_MAX {
        return Err(EngineError::invalid("nodes", format!("at most {LOCATIONS_MAX}")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, node) in nodes.iter().enumerate() {
        let field = |name: &str| format!("nodes[{i}].{name}");
        if !seen.insert(&node.location) {
            return Err(EngineError::invalid(&field("location"), format!("{} is listed twice", node.location)));
        }
        if node.cutoff_minute_utc > 24 * 60 {
            return Err(EngineError::invalid(&field("cutoff_minute_utc"), "must be 0..=1440 (1440: no cut-off)"));
        }
        if node.capacity_per_day == Some(0) || node.capacity_per_day.is_some_and(|c| c > CAPACITY_PER_DAY_MAX) {
            return Err(EngineError::invalid(
                &field("capacity_per_day"),
                format!("must be 1..={CAPACITY_PER_DAY_MAX}, or absent for no limit"),
            ));
        }
    }
    Ok(())
}

/// The most shipments a node can be said to hand over in a day.
pub const CAPACITY_PER_DAY_MAX: u32 = 1_000_000;

/// How plans are priced. Versioned: a draft set is evaluated against past orders before use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    #[serde(default)]
    pub version: u32,
    /// Added for every shipment after the first.
    pub shipment_penalty: Money,
    /// Added for every SKU a plan leaves below its reorder point at a location.
    pub drain_penalty: Money,
}

impl RoutingRules {
    pub fn check(&self) -> Result<(), EngineError> {
        for (field, money) in [("shipment_penalty", self.shipment_penalty), ("drain_penalty", self.drain_penalty)] {
            if money.is_negative() {
                return Err(EngineError::invalid(field, "cannot be negative"));
            }
        }
        Ok(())
    }
}

/// One line to allocate. SKUs are distinct within an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRequest {
    pub line: u32,
    pub sku: Id,
    pub qty: i64,
    pub unit_price: Money,
}

/// One SKU's stock as the order's channel may sell it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuStock {
    pub sku: Id,
    /// What the channel may sell over all its locations (after safety stock, buffer and cap).
    pub sellable: i64,
    pub locations: Vec<LocationStock>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationStock {
    pub location: Id,
    pub available: i64,
    /// From the SKU's plan at this location, when it has one.
    pub reorder_point: Option<i64>,
}

/// Everything one allocation reads.
#[derive(Clone, Debug)]
pub struct AllocationRequest<'a> {
    pub lines: &'a [LineRequest],
    pub region: &'a str,
    pub service_level: ServiceLevel,
    pub promised_by: Option<DateTime<Utc>>,
    pub split: SplitPolicy,
    /// The channel's locations, in its order (the last tie-break).
    pub locations: &'a [Id],
    pub stock: &'a [SkuStock],
    pub nodes: &'a [Node],
    pub rates: &'a ShippingRates,
    pub rules: &'a RoutingRules,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub line: u32,
    pub sku: Id,
    pub qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub location: Id,
    pub lines: Vec<ShipmentLine>,
    pub ship_on: NaiveDate,
    pub arrives_on: NaiveDate,
    pub cost: Money,
    /// What its lines are worth at the order's prices.
    pub value: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drained {
    pub sku: Id,
    pub location: Id,
    pub left: i64,
    pub reorder_point: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub shipments: Vec<Shipment>,
    /// What no location can ship now.
    pub backordered: Vec<ShipmentLine>,
    pub shipping_cost: Money,
    pub penalties: Money,
    /// shipping_cost + penalties: what the plan is ranked by.
    pub cost: Money,
    pub drained: Vec<Drained>,
    /// When the last shipment arrives.
    pub arrives_on: Option<NaiveDate>,
    pub meets_promise: bool,
}

impl Plan {
    pub fn backordered_qty(&self) -> i64 {
        self.backordered.iter().map(|line| line.qty).sum()
    }

    pub fn allocated_qty(&self) -> i64 {
        self.shipments.iter().flat_map(|shipment| &shipment.lines).map(|line| line.qty).sum()
    }

    pub fn locations(&self) -> Vec<&Id> {
        self.shipments.iter().map(|shipment| &shipment.location).collect()
    }

    /// "wh-east ships complete, 1 day, 4.10" / "wh-east + wh-west in 2 shipments, 2 days, 6.80".
    pub fn describe(&self, today: NaiveDate) -> String {
        let names: Vec<&str> = self.shipments.iter().map(|s| s.location.as_str()).collect();
        let how = match (self.shipments.len(), self.backordered.is_empty()) {
            (1, true) => "ships complete".to_string(),
            (n, true) => format!("in {n} shipments"),
            (n, false) => format!("in {n} shipment{}, {} backordered", plural(n as i64), self.backordered_qty()),
        };
        let days = self.arrives_on.map_or(0, |day| (day - today).num_days());
        let mut text = format!("{} {how}, {days} day{}, {}", names.join(" + "), plural(days), shown(self.cost));
        if !self.drained.is_empty() {
            let drained: Vec<String> =
                self.drained.iter().map(|d| format!("{} at {} below reorder point", d.sku, d.location)).collect();
            text.push_str(&format!(" (leaves {})", drained.join(", ")));
        }
        if !self.meets_promise {
            text.push_str(", misses the promise");
        }
        text
    }
}

/// "s" unless `n` is one: "1 day", "2 days".
pub(crate) fn plural(n: impl Into<i64>) -> &'static str {
    if n.into() == 1 {
        ""
    } else {
        "s"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every unit has a location.
    Allocated,
    /// Some ship now, the rest is backordered (the split policy allows it).
    PartiallyAllocated,
    /// Nothing ships now; everything waits for stock.
    Backordered,
    /// A ship-complete order could go now only as a split: the customer (service) decides.
    SplitNeedsApproval,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// None of the order's SKUs is available there for the channel.
    NoStock,
    /// No rate from there to the region at the service level.
    NoRate,
    /// Its best plan costs more than the chosen one.
    Costlier,
    /// Its best plan arrives after the promised-by time.
    TooLate,
    /// Its best plan covers fewer units.
    FillsLess,
    /// Every plan with it breaks the split policy.
    SplitPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub location: Id,
    pub reason: RejectReason,
    pub text: String,
}

/// The allocator's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub outcome: Outcome,
    /// None when nothing ships now.
    pub plan: Option<Plan>,
    /// The next best valid plan (or, for `split_needs_approval`, the split that could ship now).
    pub runner_up: Option<Plan>,
    pub rejected: Vec<Rejection>,
    /// The choice in words and numbers.
    pub explanation: String,
    /// Plans priced.
    pub plans_considered: u32,
}

/// Allocates an order's lines. Decides nothing it was not given: the host reserves what the plan
/// says, through the SKU ledgers, and stores the choice on the order.
pub fn allocate(request: &AllocationRequest) -> Result<Choice, EngineError> {
    let table = Table::new(request)?;
    let mut plans: Vec<Built> = Vec::new();
    let mut seen: HashSet<Vec<(usize, usize, i64)>, FxBuildHasher> = HashSet::default();
    // Many seeds lead to the same plan: its parts (plain integers) are compared before the plan
    // is priced and written out.
    let mut consider = |sequence: &[usize], plans: &mut Vec<Built>| -> Result<(), EngineError> {
        let parts = table.parts(sequence);
        if parts.is_empty() {
            return Ok(());
        }
        let mut signature = parts.clone();
        signature.sort_unstable();
        if seen.insert(signature) {
            plans.push(table.build(parts)?);
        }
        Ok(())
    };
    let eligible: Vec<usize> = (0..table.locations.len()).filter(|&l| table.rate[l].is_some()).collect();
    for &l in &eligible {
        if table.covers_all(l) {
            consider(&[l], &mut plans)?;
        }
    }
    for &seed in &eligible {
        consider(&table.greedy_from(seed, &eligible), &mut plans)?;
    }
    let mut by_rate = eligible.clone();
    by_rate.sort_by(|&a, &b| table.rate_cost(a).cmp(&table.rate_cost(b)).then(a.cmp(&b)));
    consider(&by_rate, &mut plans)?;
    assert!(plans.len() <= ALLOCATION_PLANS_MAX, "at most one plan per kind and location");

    plans.sort_by_cached_key(Built::rank);
    let valid: Vec<&Built> = plans.iter().filter(|plan| table.allows(plan)).collect();
    let best = valid.first().copied();
    let runner = valid.get(1).copied();
    let today = request.now.date_naive();
    let (outcome, plan, runner_up) = match best {
        Some(best) if best.plan.backordered.is_empty() => (Outcome::Allocated, Some(best), runner),
        Some(best) => (Outcome::PartiallyAllocated, Some(best), runner),
        None => {
            let could_split = plans.iter().find(|plan| plan.plan.backordered.is_empty());
            match (request.split, could_split) {
                (SplitPolicy::ShipComplete, Some(split)) => (Outcome::SplitNeedsApproval, None, Some(split)),
                _ => (Outcome::Backordered, None, None),
            }
        }
    };
    let rejected = table.rejections(&plans, plan, today);
    let explanation = explain(outcome, plan, runner_up, &rejected, &table, today);
    Ok(Choice {
        outcome,
        plan: plan.map(|built| built.plan.clone()),
        runner_up: runner_up.map(|built| built.plan.clone()),
        rejected,
        explanation,
        plans_considered: plans.len() as u32,
    })
}

fn explain(
    outcome: Outcome,
    plan: Option<&Built>,
    runner_up: Option<&Built>,
    rejected: &[Rejection],
    table: &Table,
    today: NaiveDate,
) -> String {
    let mut text = match (outcome, plan) {
        (Outcome::SplitNeedsApproval, _) => format!(
            "ship complete: no location has it all; {} could ship now",
            runner_up.map_or(String::new(), |split| split.plan.describe(today))
        ),
        (Outcome::Backordered, _) => {
            let short: Vec<String> = table
                .lines
                .iter()
                .enumerate()
                .filter(|(i, line)| table.total_available(*i) < line.qty)
                .map(|(i, line)| format!("{} needs {}, {} sellable", line.sku, line.qty, table.total_available(i)))
                .collect();
            if short.is_empty() {
                "backordered: the split policy allows no part to ship now".to_string()
            } else {
                format!("backordered: {}", short.join("; "))
            }
        }
        (_, Some(plan)) => {
            let mut text = plan.plan.describe(today);
            if let Some(runner) = runner_up {
                text.push_str(&format!("; runner-up {}", runner.plan.describe(today)));
            }
            text
        }
        (_, None) => unreachable!("an allocated outcome has a plan"),
    };
    for rejection in rejected {
        text.push_str(&format!("; {}", rejection.text));
    }
    text
}

/// A priced plan with the indices it was built from.
#[derive(Clone, Debug)]
struct Built {
    plan: Plan,
    /// The channel order of its locations, for the last tie-break.
    order: Vec<usize>,
}

impl Built {
    fn rank(&self) -> (i64, bool, Money, Option<NaiveDate>, usize, Vec<usize>) {
        let mut order = self.order.clone();
        order.sort_unstable();
        (
            self.plan.backordered_qty(),
            !self.plan.meets_promise,
            self.plan.cost,
            self.plan.arrives_on,
            self.plan.shipments.len(),
            order,
        )
    }

    fn uses(&self, location: usize) -> bool {
        self.order.contains(&location)
    }
}

/// The request resolved into dense indices: lines × channel locations.
struct Table<'a> {
    request: &'a AllocationRequest<'a>,
    lines: &'a [LineRequest],
    locations: &'a [Id],
    /// available[location][line], already capped at the SKU's sellable.
    available: Vec<Vec<i64>>,
    reorder_point: Vec<Vec<Option<i64>>>,
    sellable: Vec<i64>,
    rate: Vec<Option<&'a ShippingRate>>,
    ship_on: Vec<NaiveDate>,
}

impl<'a> Table<'a> {
    fn new(request: &'a AllocationRequest<'a>) -> Result<Table<'a>, EngineError> {
        let lines = request.lines;
        if lines.is_empty() || lines.len() > ORDER_LINES_MAX {
            return Err(EngineError::invalid("lines", format!("1..={ORDER_LINES_MAX} lines")));
        }
        if request.locations.len() > LOCATIONS_MAX {
            return Err(EngineError::invalid("locations", format!("at most {LOCATIONS_MAX}")));
        }
        request.rules.check()?;
        let index: std::collections::HashMap<&Id, usize, FxBuildHasher> =
            request.locations.iter().enumerate().map(|(l, id)| (id, l)).collect();
        let mut sellable = Vec::with_capacity(lines.len());
        let mut available = vec![vec![0_i64; lines.len()]; request.locations.len()];
        let mut reorder_point = vec![vec![None; lines.len()]; request.locations.len()];
        for (i, line) in lines.iter().enumerate() {
            if lines[..i].iter().any(|other| other.sku == line.sku) {
                return Err(EngineError::invalid(&format!("lines[{i}].sku"), "appears twice"));
            }
            if !(1..=QTY_STORED_MAX).contains(&line.qty) {
                return Err(EngineError::invalid(&format!("lines[{i}].qty"), "must be positive"));
            }
            let stock = request.stock.iter().find(|stock| stock.sku == line.sku);
            let cap = stock.map_or(0, |stock| stock.sellable.max(0));
            sellable.push(cap);
            for location in stock.map_or(&[][..], |stock| &stock.locations) {
                if let Some(&l) = index.get(&location.location) {
                    available[l][i] = location.available.clamp(0, cap);
                    reorder_point[l][i] = location.reorder_point;
                }
            }
        }
        let minute = request.now.hour() * 60 + request.now.minute();
        let today = request.now.date_naive();
        let rate: Vec<Option<&ShippingRate>> = request
            .locations
            .iter()
            .map(|location| request.rates.rate(location, request.region, request.service_level))
            .collect();
        let mut node_at: Vec<Option<&Node>> = vec![None; request.locations.len()];
        for node in request.nodes {
            if let Some(&l) = index.get(&node.location) {
                node_at[l] = Some(node);
            }
        }
        let ship_on = node_at
            .iter()
            .map(|node| match node {
                Some(node) => {
                    let full = node.capacity_per_day.is_some_and(|capacity| node.shipments_today >= capacity);
                    if full || minute >= u32::from(node.cutoff_minute_utc) {
                        today + Duration::days(1)
                    } else {
                        today
                    }
                }
                None => today,
            })
            .collect();
        Ok(Table { request, lines, locations: request.locations, available, reorder_point, sellable, rate, ship_on })
    }

    fn rate_cost(&self, l: usize) -> Money {
        self.rate[l].map_or(Money::ZERO, |rate| rate.cost)
    }

    fn total_available(&self, line: usize) -> i64 {
        let sum: i64 = self.available.iter().map(|row| row[line]).sum();
        sum.min(self.sellable[line])
    }

    fn covers_all(&self, l: usize) -> bool {
        self.lines.iter().enumerate().all(|(i, line)| self.available[l][i] >= line.qty)
    }

    /// The seed, then each time the location that covers most of what is left.
    fn greedy_from(&self, seed: usize, eligible: &[usize]) -> Vec<usize> {
        let mut left: Vec<i64> = self.lines.iter().map(|line| line.qty).collect();
        let mut budget = self.sellable.clone();
        let mut used = vec![false; self.locations.len()];
        let mut sequence = vec![seed];
        used[seed] = true;
        self.take(seed, &mut left, &mut budget);
        // Only lines still open are looked at: the scan shrinks as the plan fills.
        let mut open: Vec<usize> = (0..left.len()).filter(|&i| left[i].min(budget[i]) > 0).collect();
        while !open.is_empty() {
            let mut best: Option<(usize, i64)> = None;
            for &l in eligible.iter().filter(|&&l| !used[l]) {
                let covers: i64 = open.iter().map(|&i| self.available[l][i].min(left[i]).min(budget[i])).sum();
                let better = match best {
                    None => covers > 0,
                    Some((b, best_covers)) => {
                        covers > best_covers || (covers == best_covers && self.rate_cost(l) < self.rate_cost(b))
                    }
                };
                if better {
                    best = Some((l, covers));
                }
            }
            let Some((l, _)) = best else { break };
            sequence.push(l);
            used[l] = true;
            self.take(l, &mut left, &mut budget);
            open.retain(|&i| left[i].min(budget[i]) > 0);
        }
        sequence
    }

    /// Takes from location `l` what it can of what is left.
    fn take(&self, l: usize, left: &mut [i64], budget: &mut [i64]) {
        for i in 0..left.len() {
            let qty = self.available[l][i].min(left[i]).min(budget[i]);
            if qty > 0 {
                left[i] -= qty;
                budget[i] -= qty;
            }
        }
    }

    /// What the locations take, in this order: (location, line, qty) for every part.
    fn parts(&self, sequence: &[usize]) -> Vec<(usize, usize, i64)> {
        let mut left: Vec<i64> = self.lines.iter().map(|line| line.qty).collect();
        let mut budget = self.sellable.clone();
        let mut parts = Vec::new();
        for &l in sequence.iter().filter(|&&l| self.rate[l].is_some()) {
            for i in 0..left.len() {
                let qty = self.available[l][i].min(left[i]).min(budget[i]);
                if qty > 0 {
                    left[i] -= qty;
                    budget[i] -= qty;
                    parts.push((l, i, qty));
                }
            }
        }
        parts
    }

    /// The plan of these parts (grouped by location, in their order), dated and priced.
    fn build(&self, parts: Vec<(usize, usize, i64)>) -> Result<Built, EngineError> {
        let mut left: Vec<i64> = self.lines.iter().map(|line| line.qty).collect();
        let mut shipments: Vec<Shipment> = Vec::new();
        let mut order: Vec<usize> = Vec::new();
        let mut values: Vec<Decimal> = Vec::new();
        let mut drained = Vec::new();
        let mut shipping = Decimal::ZERO;
        for &(l, i, qty) in &parts {
            let rate = self.rate[l].ok_or_else(|| EngineError::conflict("a part from a location without a rate"))?;
            if order.last() != Some(&l) {
                assert!(!order.contains(&l), "a location's parts are together");
                shipping += rate.cost.amount();
                let ship_on = self.ship_on[l];
                shipments.push(Shipment {
                    location: self.locations[l].clone(),
                    lines: Vec::new(),
                    ship_on,
                    arrives_on: ship_on + Duration::days(i64::from(rate.transit_days)),
                    cost: rate.cost,
                    value: Money::ZERO,
                });
                order.push(l);
                values.push(Decimal::ZERO);
            }
            let line = &self.lines[i];
            left[i] -= qty;
            assert!(left[i] >= 0 && qty <= self.available[l][i], "a part within what is there and what is ordered");
            if let (Some(shipment), Some(value)) = (shipments.last_mut(), values.last_mut()) {
                *value += line.unit_price.amount() * Decimal::from(qty);
                shipment.lines.push(ShipmentLine { line: line.line, sku: line.sku.clone(), qty });
            }
            if let Some(reorder_point) = self.reorder_point[l][i] {
                let left_there = self.available[l][i] - qty;
                if left_there < reorder_point {
                    drained.push(Drained {
                        sku: line.sku.clone(),
                        location: self.locations[l].clone(),
                        left: left_there,
                        reorder_point,
                    });
                }
            }
        }
        for (shipment, value) in shipments.iter_mut().zip(values) {
            shipment.value = money(value)?;
        }
        let backordered: Vec<ShipmentLine> = self
            .lines
            .iter()
            .zip(&left)
            .filter(|(_, &qty)| qty > 0)
            .map(|(line, &qty)| ShipmentLine { line: line.line, sku: line.sku.clone(), qty })
            .collect();
        let rules = self.request.rules;
        let extra_shipments = Decimal::from(shipments.len().saturating_sub(1) as u64);
        let penalties = rules.shipment_penalty.amount() * extra_shipments
            + rules.drain_penalty.amount() * Decimal::from(drained.len() as u64);
        let arrives_on = shipments.iter().map(|shipment| shipment.arrives_on).max();
        let meets_promise = match (self.request.promised_by, arrives_on) {
            (Some(promised_by), Some(arrives_on)) => arrives_on <= promised_by.date_naive(),
            _ => true,
        };
        let plan = Plan {
            shipments,
            backordered,
            shipping_cost: money(shipping)?,
            penalties: money(penalties)?,
            cost: money(shipping + penalties)?,
            drained,
            arrives_on,
            meets_promise,
        };
        debug_assert!(plan.allocated_qty() + plan.backordered_qty() == self.lines.iter().map(|l| l.qty).sum::<i64>());
        Ok(Built { plan, order })
    }

    /// Whether the split policy allows the plan.
    fn allows(&self, built: &Built) -> bool {
        let plan = &built.plan;
        let whole = plan.shipments.len() == 1 && plan.backordered.is_empty();
        match self.request.split {
            SplitPolicy::ShipComplete => whole,
            SplitPolicy::Allow => true,
            SplitPolicy::AllowAbove(minimum) => whole || self.part_below(plan, minimum).is_none(),
        }
    }

    /// The first part of a split worth less than `minimum`, in words.
    fn part_below(&self, plan: &Plan, minimum: Money) -> Option<String> {
        if let Some(shipment) = plan.shipments.iter().find(|shipment| shipment.value < minimum) {
            return Some(format!(
                "the shipment from {} is worth {} < {}",
                shipment.location,
                shown(shipment.value),
                shown(minimum)
            ));
        }
        let rest: Decimal = plan
            .backordered
            .iter()
            .map(|part| {
                let price = self
                    .lines
                    .iter()
                    .find(|line| line.line == part.line)
                    .map_or(Decimal::ZERO, |l| l.unit_price.amount());
                price * Decimal::from(part.qty)
            })
            .sum();
        (!plan.backordered.is_empty() && rest < minimum.amount()).then(|| {
            format!(
                "the backordered rest is worth {} < {}",
                Money::from_decimal(rest).map_or(rest.to_string(), shown),
                shown(minimum)
            )
        })
    }

    /// Why each channel location the chosen plan does not use was left out.
    fn rejections(&self, plans: &[Built], chosen: Option<&Built>, today: NaiveDate) -> Vec<Rejection> {
        let mut out = Vec::new();
        for (l, location) in self.locations.iter().enumerate() {
            if chosen.is_some_and(|built| built.uses(l)) {
                continue;
            }
            let has_stock = (0..self.lines.len()).any(|i| self.available[l][i] > 0);
            let reject = |reason: RejectReason, text: String| Rejection { location: location.clone(), reason, text };
            if !has_stock {
                out.push(reject(RejectReason::NoStock, format!("{location}: none of the order's SKUs sellable there")));
                continue;
            }
            if self.rate[l].is_none() {
                out.push(reject(
                    RejectReason::NoRate,
                    format!("{location}: no {} rate to {}", self.request.service_level.as_str(), self.request.region),
                ));
                continue;
            }
            let with: Vec<&Built> = plans.iter().filter(|built| built.uses(l)).collect();
            let Some(best) = with.iter().find(|built| self.allows(built)) else {
                let why = with
                    .first()
                    .and_then(|built| match self.request.split {
                        SplitPolicy::AllowAbove(minimum) => self.part_below(&built.plan, minimum),
                        _ => None,
                    })
                    .unwrap_or_else(|| "cannot ship the order complete".to_string());
                out.push(reject(RejectReason::SplitPolicy, format!("{location}: {why}")));
                continue;
            };
            let text = |reason: &str| format!("{location}: {reason}");
            let rejection = match chosen {
                Some(chosen) if best.plan.backordered_qty() > chosen.plan.backordered_qty() => reject(
                    RejectReason::FillsLess,
                    text(&format!(
                        "its best plan leaves {} backordered vs {}",
                        best.plan.backordered_qty(),
                        chosen.plan.backordered_qty()
                    )),
                ),
                Some(chosen) if !best.plan.meets_promise && chosen.plan.meets_promise => reject(
                    RejectReason::TooLate,
                    text(&format!(
                        "arrives {} after the promise {}",
                        best.plan.arrives_on.map_or("?".to_string(), |day| day.to_string()),
                        self.request.promised_by.map_or("?".to_string(), |at| at.date_naive().to_string())
                    )),
                ),
                Some(chosen) => reject(
                    RejectReason::Costlier,
                    text(&format!("{} vs {}", best.plan.describe(today), shown(chosen.plan.cost))),
                ),
                None => reject(RejectReason::SplitPolicy, text("no part may ship now")),
            };
            out.push(rejection);
        }
        out
    }
}

/// Money in explanations: at least cents ("8.00", "0.125").
fn shown(money: Money) -> String {
    let amount = money.amount().normalize();
    if amount.scale() <= 2 {
        format!("{amount:.2}")
    } else {
        amount.to_string()
    }
}

fn money(amount: Decimal) -> Result<Money, EngineError> {
    Money::from_decimal(amount).ok_or_else(|| EngineError::invalid("cost", "is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeSet;

    fn id(text: &str) -> Id {
        Id::new(text).expect("a test id")
    }

    fn m(text: &str) -> Money {
        Money::parse(text).expect("test money")
    }

    /// One allocation scenario, written compactly.
    struct Scenario {
        /// (sku, qty, unit price)
        lines: Vec<(&'static str, i64, &'static str)>,
        /// (location, rate cost, transit days); a location without a rate: cost "-".
        locations: Vec<(&'static str, &'static str, u32)>,
        /// (sku, location, available, reorder point)
        stock: Vec<(&'static str, &'static str, i64, Option<i64>)>,
        /// sku → sellable, when less than the sum at locations.
        sellable: Vec<(&'static str, i64)>,
        /// (location, cut-off minute, capacity, shipments today)
        nodes: Vec<(&'static str, u16, Option<u32>, u32)>,
        split: SplitPolicy,
        promised_in_days: Option<i64>,
        shipment_penalty: &'static str,
        drain_penalty: &'static str,
        /// Minutes after midnight UTC.
        now_minute: u32,
    }

    impl Default for Scenario {
        fn default() -> Scenario {
            Scenario {
                lines: vec![],
                locations: vec![],
                stock: vec![],
                sellable: vec![],
                nodes: vec![],
                split: SplitPolicy::Allow,
                promised_in_days: None,
                shipment_penalty: "2.00",
                drain_penalty: "0",
                now_minute: 9 * 60,
            }
        }
    }

    impl Scenario {
        fn run(&self) -> Choice {
            let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("a time")
                + Duration::minutes(i64::from(self.now_minute));
            let lines: Vec<LineRequest> = self
                .lines
                .iter()
                .enumerate()
                .map(|(i, (sku, qty, price))| LineRequest {
                    line: i as u32 + 1,
                    sku: id(sku),
                    qty: *qty,
                    unit_price: m(price),
                })
                .collect();
            let locations: Vec<Id> = self.locations.iter().map(|(l, _, _)| id(l)).collect();
            let rates = ShippingRates::new(
                "EUR".to_string(),
                self.locations
                    .iter()
                    .filter(|(_, cost, _)| *cost != "-")
                    .map(|(l, cost, days)| ShippingRate {
                        location: id(l),
                        region: "eu".to_string(),
                        service_level: ServiceLevel::Standard,
                        cost: m(cost),
                        transit_days: *days,
                    })
                    .collect(),
            )
            .expect("test rates");
            let skus: BTreeSet<&str> = self.lines.iter().map(|(sku, _, _)| *sku).collect();
            let stock: Vec<SkuStock> = skus
                .into_iter()
                .map(|sku| {
                    let locations: Vec<LocationStock> = self
                        .stock
                        .iter()
                        .filter(|(s, ..)| *s == sku)
                        .map(|(_, l, available, reorder_point)| LocationStock {
                            location: id(l),
                            available: *available,
                            reorder_point: *reorder_point,
                        })
                        .collect();
                    let sum = locations.iter().map(|l| l.available).sum();
                    let sellable = self.sellable.iter().find(|(s, _)| *s == sku).map_or(sum, |(_, n)| *n);
                    SkuStock { sku: id(sku), sellable, locations }
                })
                .collect();
            let nodes: Vec<Node> = self
                .nodes
                .iter()
                .map(|(l, cutoff, capacity, today)| Node {
                    location: id(l),
                    cutoff_minute_utc: *cutoff,
                    capacity_per_day: *capacity,
                    shipments_today: *today,
                })
                .collect();
            let rules = RoutingRules {
                version: 1,
                shipment_penalty: m(self.shipment_penalty),
                drain_penalty: m(self.drain_penalty),
            };
            let request = AllocationRequest {
                lines: &lines,
                region: "eu",
                service_level: ServiceLevel::Standard,
                promised_by: self.promised_in_days.map(|days| now + Duration::days(days)),
                split: self.split,
                locations: &locations,
                stock: &stock,
                nodes: &nodes,
                rates: &rates,
                rules: &rules,
                now,
            };
            allocate(&request).expect("a valid request")
        }
    }

    /// Runs a scenario and checks the outcome, the chosen plan ("A:sku=qty,sku=qty|B:…", then
    /// "/bo sku=qty" for what is backordered; "-" for none) and words the explanation must hold.
    #[track_caller]
    fn check(scenario: Scenario, outcome: Outcome, plan: &str, says: &[&str]) -> Choice {
        let choice = scenario.run();
        assert_eq!(choice.outcome, outcome, "{}", choice.explanation);
        let shown = choice.plan.as_ref().map_or("-".to_string(), |plan| {
            let mut text = plan
                .shipments
                .iter()
                .map(|s| {
                    let lines: Vec<String> = s.lines.iter().map(|l| format!("{}={}", l.sku, l.qty)).collect();
                    format!("{}:{}", s.location, lines.join(","))
                })
                .collect::<Vec<_>>()
                .join("|");
            if !plan.backordered.is_empty() {
                let rest: Vec<String> = plan.backordered.iter().map(|l| format!("{}={}", l.sku, l.qty)).collect();
                text.push_str(&format!("/bo {}", rest.join(",")));
            }
            text
        });
        assert_eq!(shown, plan, "{}", choice.explanation);
        for words in says {
            assert!(choice.explanation.contains(words), "`{words}` not in: {}", choice.explanation);
        }
        choice
    }

    fn two_lines() -> Vec<(&'static str, i64, &'static str)> {
        vec![("S1", 2, "10.00"), ("S2", 1, "30.00")]
    }

    #[test]
    fn ship_complete_from_one_node_against_a_cheaper_split() {
        let base = || Scenario {
            lines: two_lines(),
            locations: vec![("A", "8.00", 1), ("B", "2.00", 1), ("C", "2.00", 1)],
            stock: vec![("S1", "A", 5, None), ("S2", "A", 5, None), ("S1", "B", 5, None), ("S2", "C", 5, None)],
            ..Scenario::default()
        };
        // Split 2 + 2 + penalty 5 = 9 > 8: one box from A.
        let choice = check(
            Scenario { shipment_penalty: "5.00", ..base() },
            Outcome::Allocated,
            "A:S1=2,S2=1",
            &[
                "A ships complete, 1 day, 8.00",
                "runner-up B + C in 2 shipments, 1 day, 9.00",
                "B: B + C in 2 shipments",
            ],
        );
        assert_eq!(choice.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(), [RejectReason::Costlier; 2]);
        // Split 2 + 2 + penalty 1 = 5 < 8: two boxes.
        check(
            Scenario { shipment_penalty: "1.00", ..base() },
            Outcome::Allocated,
            "B:S1=2|C:S2=1",
            &["B + C in 2 shipments, 1 day, 5.00", "runner-up A ships complete, 1 day, 8.00", "A: A ships complete"],
        );
        // The same split under ship_complete is refused: A ships, B and C are named as split-refused.
        let choice = check(
            Scenario { shipment_penalty: "1.00", split: SplitPolicy::ShipComplete, ..base() },
            Outcome::Allocated,
            "A:S1=2,S2=1",
            &["A ships complete, 1 day, 8.00", "B: cannot ship the order complete"],
        );
        assert_eq!(choice.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(), [RejectReason::SplitPolicy; 2]);
    }

    #[test]
    fn ship_complete_without_a_complete_node_asks_before_splitting() {
        check(
            Scenario {
                lines: two_lines(),
                locations: vec![("B", "2.00", 1), ("C", "2.00", 1)],
                stock: vec![("S1", "B", 5, None), ("S2", "C", 5, None)],
                split: SplitPolicy::ShipComplete,
                ..Scenario::default()
            },
            Outcome::SplitNeedsApproval,
            "-",
            &["no location has it all; B + C in 2 shipments"],
        );
    }

    #[test]
    fn allow_above_holds_for_every_part() {
        // S1: 2 × 10 = 20 at B; S2: 1 × 30 = 30 at C.
        let base = |minimum: &str, s2_stock: i64| Scenario {
            lines: two_lines(),
            locations: vec![("B", "2.00", 1), ("C", "2.00", 1)],
            stock: vec![("S1", "B", 5, None), ("S2", "C", s2_stock, None)],
            split: SplitPolicy::AllowAbove(m(minimum)),
            ..Scenario::default()
        };
        check(base("20", 5), Outcome::Allocated, "B:S1=2|C:S2=1", &[]);
        check(base("20.01", 5), Outcome::Backordered, "-", &["split policy allows no part", "worth 20.00 < 20.01"]);
        // S2 has none: B ships 20 now, the rest (30) waits — both parts reach 20.
        check(base("20", 0), Outcome::PartiallyAllocated, "B:S1=2/bo S2=1", &["1 backordered"]);
        // Both must reach it: the shipped part (20) is under 25, so everything waits.
        check(base("25", 0), Outcome::Backordered, "-", &[]);
    }

    #[test]
    fn safety_stock_and_buffers_bound_what_is_taken() {
        // 4 + 4 at the locations but the channel may sell 5 of S1 in all (safety stock, buffer).
        check(
            Scenario {
                lines: vec![("S1", 6, "1.00")],
                locations: vec![("A", "1.00", 1), ("B", "1.00", 1)],
                stock: vec![("S1", "A", 4, None), ("S1", "B", 4, None)],
                sellable: vec![("S1", 5)],
                ..Scenario::default()
            },
            Outcome::PartiallyAllocated,
            "A:S1=4|B:S1=1/bo S1=1",
            &[],
        );
        check(
            Scenario {
                lines: vec![("S1", 1, "1.00")],
                locations: vec![("A", "1.00", 1)],
                stock: vec![("S1", "A", 4, None)],
                sellable: vec![("S1", 0)],
                ..Scenario::default()
            },
            Outcome::Backordered,
            "-",
            &["S1 needs 1, 0 sellable", "A: none of the order's SKUs sellable there"],
        );
    }

    #[test]
    fn cut_offs_and_capacity_decide_the_promise() {
        let base = |now_minute: u32, nodes: Vec<(&'static str, u16, Option<u32>, u32)>| Scenario {
            lines: vec![("S1", 1, "10.00")],
            locations: vec![("A", "3.00", 1), ("B", "6.00", 1)],
            stock: vec![("S1", "A", 5, None), ("S1", "B", 5, None)],
            nodes,
            promised_in_days: Some(1),
            now_minute,
            ..Scenario::default()
        };
        // Before A's 14:00 cut-off, A is cheaper and arrives tomorrow.
        check(
            base(13 * 60, vec![("A", 14 * 60, None, 0)]),
            Outcome::Allocated,
            "A:S1=1",
            &["A ships complete, 1 day, 3.00"],
        );
        // After it, A ships tomorrow and arrives a day late: B, dearer, keeps the promise.
        let choice = check(
            base(15 * 60, vec![("A", 14 * 60, None, 0)]),
            Outcome::Allocated,
            "B:S1=1",
            &["B ships complete, 1 day, 6.00", "A: arrives 2026-12-03 after the promise 2026-12-02"],
        );
        assert_eq!(choice.rejected[0].reason, RejectReason::TooLate);
        // A node at capacity ships tomorrow too.
        check(
            base(9 * 60, vec![("A", 24 * 60, Some(100), 100)]),
            Outcome::Allocated,
            "B:S1=1",
            &["A: arrives 2026-12-03"],
        );
        // Without a promise, the cheaper late plan wins.
        check(
            Scenario { promised_in_days: None, ..base(15 * 60, vec![("A", 14 * 60, None, 0)]) },
            Outcome::Allocated,
            "A:S1=1",
            &["A ships complete, 2 days, 3.00"],
        );
    }

    #[test]
    fn stock_across_two_locations_is_found() {
        // medusajs/medusa#14987: Medusa reserves from the first location only, and refuses.
        check(
            Scenario {
                lines: vec![("S1", 5, "10.00")],
                locations: vec![("A", "3.00", 1), ("B", "3.00", 1)],
                stock: vec![("S1", "A", 3, None), ("S1", "B", 2, None)],
                ..Scenario::default()
            },
            Outcome::Allocated,
            "A:S1=3|B:S1=2",
            &["A + B in 2 shipments, 1 day, 8.00"],
        );
    }

    #[test]
    fn saleor_strategies_are_cost_ties_broken_by_the_channel_order() {
        // Saleor's "prioritize sorting order": equal prices, the channel's first location ships.
        let base = |locations: Vec<(&'static str, &'static str, u32)>| Scenario {
            lines: vec![("S1", 2, "10.00")],
            locations,
            stock: vec![("S1", "A", 2, None), ("S1", "B", 50, None)],
            ..Scenario::default()
        };
        check(base(vec![("A", "3.00", 1), ("B", "3.00", 1)]), Outcome::Allocated, "A:S1=2", &[]);
        check(base(vec![("B", "3.00", 1), ("A", "3.00", 1)]), Outcome::Allocated, "B:S1=2", &[]);
        // "Prioritize high stock" is what the drain penalty prices: A would fall below its reorder
        // point, B (high stock) would not.
        check(
            Scenario {
                stock: vec![("S1", "A", 2, Some(1)), ("S1", "B", 50, Some(5))],
                drain_penalty: "0.50",
                ..base(vec![("A", "3.00", 1), ("B", "3.00", 1)])
            },
            Outcome::Allocated,
            "B:S1=2",
            &["A: A ships complete, 1 day, 3.50 (leaves S1 at A below reorder point) vs 3.00"],
        );
        // A cheaper rate still beats the penalty when it saves more than it costs.
        check(
            Scenario {
                stock: vec![("S1", "A", 2, Some(1)), ("S1", "B", 50, Some(5))],
                drain_penalty: "0.50",
                ..base(vec![("A", "2.00", 1), ("B", "3.00", 1)])
            },
            Outcome::Allocated,
            "A:S1=2",
            &["A ships complete, 1 day, 2.50 (leaves S1 at A below reorder point)"],
        );
    }

    #[test]
    fn locations_without_a_rate_or_stock_are_named() {
        let choice = check(
            Scenario {
                lines: vec![("S1", 1, "10.00")],
                locations: vec![("A", "-", 0), ("B", "4.00", 2), ("C", "1.00", 1)],
                stock: vec![("S1", "A", 9, None), ("S1", "B", 9, None)],
                ..Scenario::default()
            },
            Outcome::Allocated,
            "B:S1=1",
            &["B ships complete, 2 days, 4.00", "A: no standard rate to eu", "C: none of the order's SKUs"],
        );
        assert_eq!(
            choice.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
            [RejectReason::NoRate, RejectReason::NoStock]
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let refused = |scenario: Scenario, field: &str| {
            let result = std::panic::catch_unwind(|| scenario.run());
            assert!(result.is_err(), "{field} accepted");
        };
        refused(Scenario { lines: vec![], ..Scenario::default() }, "lines");
        refused(Scenario { lines: vec![("S1", 1, "1"), ("S1", 2, "1")], ..Scenario::default() }, "duplicate sku");
        refused(Scenario { lines: vec![("S1", 0, "1")], ..Scenario::default() }, "qty 0");
        let rates = ShippingRates::new(
            "EUR".to_string(),
            vec![
                ShippingRate {
                    location: id("A"),
                    region: "eu".into(),
                    service_level: ServiceLevel::Standard,
                    cost: m("1"),
                    transit_days: 1,
                },
                ShippingRate {
                    location: id("A"),
                    region: "eu".into(),
                    service_level: ServiceLevel::Standard,
                    cost: m("2"),
                    transit_days: 1,
                },
            ],
        );
        assert!(matches!(rates, Err(EngineError::InvalidRequest { field, .. }) if field == "rates[1]"));
        let rates = ShippingRates::new(
            "EUR".to_string(),
            vec![ShippingRate {
                location: id("A"),
                region: "eu".into(),
                service_level: ServiceLevel::Standard,
                cost: m("-1"),
                transit_days: 1,
            }],
        );
        assert!(matches!(rates, Err(EngineError::InvalidRequest { field, .. }) if field == "rates[0].cost"));
    }
}
