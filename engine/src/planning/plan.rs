//! A SKU's plan: the forecast, the policy's levels, the suggestion with its reason in words and
//! numbers, and the day-by-day projection with the predicted stockout date.

use super::class::{classify, DemandClass};
use super::expedite::ExpediteRequest;
use super::forecast::{choose, Candidate, Forecast, Method};
use super::history::DemandDay;
use super::policy::{
    lead_time_spread, order_quantity, safety_stock, undershoot, units_up, z_for_fill_rate, z_for_fill_rate_gamma,
};
use super::policy::{LeadTime, PlanningPolicy, ServiceMeasure};
use crate::ids::Id;
use crate::limits::PLAN_HORIZON_DAYS_MAX;
use crate::money::Money;
use crate::position::Position;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Units still expected in, by reference; `expected_on` when the reference said when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    pub location: Id,
    pub reference: String,
    pub qty: i64,
    pub expected_on: Option<NaiveDate>,
}

/// Another location's stock, for a location's plan to borrow from: its sellable units and its own
/// recent daily demand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Elsewhere {
    pub location: Id,
    pub free: i64,
    pub mean_daily: f64,
}

/// Units `elsewhere` can give without running short itself before a new order could reach it:
/// its free stock beyond its demand over the lead time and the review period.
pub fn spare(elsewhere: &Elsewhere, lead_time_days: f64, review_period_days: u32) -> i64 {
    let keeps = units_up(elsewhere.mean_daily.max(0.0) * (lead_time_days + f64::from(review_period_days)));
    (elsewhere.free - keeps).max(0)
}

/// What a plan is computed from; the host gathers it, the engine decides. On the wire as
/// `GET /v1/skus/{sku}/plan/basis[?location=]`, with the forecast chosen for it, so a device can
/// plan what-ifs without the backtest (`PlanBasis::what_if`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanBasis {
    pub sku: Id,
    /// The location planned for; `None` plans the SKU over every location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Id>,
    /// For a location's plan: the SKU's other locations (a transfer can come from them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elsewhere: Vec<Elsewhere>,
    pub today: NaiveDate,
    pub policy: PlanningPolicy,
    pub lead_time: LeadTime,
    /// Daily demand up to yesterday, from `history_first`.
    pub history_first: Option<NaiveDate>,
    pub history: Vec<f64>,
    /// Demand recorded so far today (not in `history`: the day is not over).
    pub demand_today: i64,
    /// The SKU's quantities summed over the locations planned for.
    pub stock: Position,
    pub inbound: Vec<Inbound>,
    pub unit_cost: Option<Money>,
    /// Escalated order lines waiting for the SKU, the oldest first (the plan over every location
    /// only: an order line is not tied to one location's plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expedites: Vec<ExpediteRequest>,
    /// The forecast chosen over `PLAN_HORIZON_DAYS_MAX` days, for `PlanBasis::plan` and what-ifs
    /// (absent: `PlanBasis::plan` chooses one; `plan` always does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
}

/// Escalated order lines a plan shows; the units count all of them.
pub const EXPEDITES_SHOWN_MAX: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistorySummary {
    pub first_date: Option<NaiveDate>,
    pub days: u32,
    pub days_with_demand: u32,
    pub total: i64,
    pub mean_daily: f64,
    /// Demand so far today.
    pub today: i64,
    /// The last `RECENT_DAYS` days, oldest first, for the chart.
    pub recent: Vec<DemandDay>,
    /// The last day with demand (today included), if any in the history kept.
    #[serde(default)]
    pub last_demand_on: Option<NaiveDate>,
}

pub const RECENT_DAYS: usize = 56;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayQty {
    pub date: NaiveDate,
    pub qty: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastView {
    pub method: Method,
    pub mase: Option<f64>,
    pub runner_up: Option<Candidate>,
    pub candidates: Vec<Candidate>,
    pub origins: u32,
    /// μD: mean daily demand forecast over the lead time.
    pub mean_daily: f64,
    /// σD: spread of daily demand around the forecast (the chosen method's backtest RMSE).
    pub std_daily: f64,
    pub daily: Vec<DayQty>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    pub on_hand: i64,
    /// Quarantined and damaged: on hand but not sellable.
    pub unsellable: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub inbound: i64,
    /// on_hand − unsellable − reserved − allocated + inbound.
    pub inventory_position: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub qty: i64,
    /// qty × unit cost, when the SKU has one.
    pub value: Option<Money>,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    OrderNow,
    Expedite,
    Transfer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub kind: ActionKind,
    /// The inbound to expedite.
    pub reference: Option<String>,
    /// A transfer's source and units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_location: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<i64>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionDay {
    pub date: NaiveDate,
    pub demand: f64,
    pub inbound: i64,
    /// Sellable on hand at the end of the day.
    pub on_hand: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub sku: Id,
    /// The location planned for; absent for the SKU over every location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Id>,
    pub as_of: NaiveDate,
    pub history: HistorySummary,
    pub demand_class: DemandClass,
    pub adi: Option<f64>,
    pub cv2: Option<f64>,
    pub forecast: ForecastView,
    pub supplier: Option<Id>,
    pub lead_time: LeadTime,
    pub service_level: f64,
    pub service_measure: ServiceMeasure,
    pub review_period_days: u32,
    pub moq: i64,
    pub pack_multiple: i64,
    /// The safety factor used.
    pub z: f64,
    pub safety_stock: i64,
    pub reorder_point: i64,
    pub order_up_to: i64,
    /// Whether min/max overrides set the reorder point and the order-up-to level.
    pub overridden: bool,
    pub position: PositionView,
    pub suggestion: Option<Suggestion>,
    /// Why there is (or is not) a suggestion, in words and numbers.
    pub reason: String,
    /// The last day to order before the position reaches the reorder point (today when it has).
    pub order_by: Option<NaiveDate>,
    pub projection: Vec<ProjectionDay>,
    pub stockout_date: Option<NaiveDate>,
    pub at_risk: bool,
    pub action: Option<Action>,
    /// Units escalated order lines wait for: the SKU is to be expedited (0: none escalated).
    #[serde(default)]
    pub expedite_qty: i64,
    /// The oldest of those lines, at most `EXPEDITES_SHOWN_MAX`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expedites: Vec<ExpediteRequest>,
    pub notes: Vec<String>,
    /// The latest day of the last week whose demand was far outside its expectation.
    #[serde(default)]
    pub anomaly: Option<DemandAnomaly>,
}

/// What the replenishment list keeps of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub sku: Id,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Id>,
    pub supplier: Option<Id>,
    pub as_of: NaiveDate,
    pub at_risk: bool,
    pub stockout_date: Option<NaiveDate>,
    pub order_by: Option<NaiveDate>,
    pub suggestion_qty: i64,
    pub value: Option<Money>,
    pub reason: String,
    pub action: Option<Action>,
    pub demand_class: DemandClass,
    pub method: Method,
    pub inventory_position: i64,
    pub reorder_point: i64,
    /// Units escalated order lines wait for (0: none).
    #[serde(default)]
    pub expedite_qty: i64,
    /// How healthy the stock is (none in a summary kept before it was measured).
    #[serde(default)]
    pub health: Option<StockHealth>,
    #[serde(default)]
    pub anomaly: Option<DemandAnomaly>,
}

/// Days back a demand anomaly is looked for (a plan refreshed daily sees each day; a week keeps
/// one found even when a refresh is missed).
pub const ANOMALY_DAYS: usize = 7;
/// How far from its expectation a day's demand is an anomaly: this many σD, and at least
/// `ANOMALY_UNITS_MIN` units (a steady series has σD near 0).
pub const ANOMALY_SIGMAS: f64 = 3.0;
pub const ANOMALY_UNITS_MIN: f64 = 5.0;

/// A day whose demand was far outside what the same weekday of the 4 weeks before it says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemandAnomaly {
    pub date: NaiveDate,
    pub qty: i64,
    /// The median of the same weekday over the 4 weeks before (one decimal).
    pub expected: f64,
    /// σD the day was judged with (the forecast's backtest spread).
    pub std_daily: f64,
}

/// The latest of the last `ANOMALY_DAYS` days of `history` (from `first`, ending yesterday) whose
/// demand is `ANOMALY_SIGMAS` σD (and `ANOMALY_UNITS_MIN` units) away from the mean of its
/// weekday over the 4 weeks before it (their median); none without 4 weeks before it.
pub fn demand_anomaly(first: Option<NaiveDate>, history: &[f64], std_daily: f64) -> Option<DemandAnomaly> {
    let first = first?;
    let threshold = (ANOMALY_SIGMAS * std_daily).max(ANOMALY_UNITS_MIN);
    (history.len().saturating_sub(ANOMALY_DAYS)..history.len()).rev().filter(|&index| index >= 28).find_map(|index| {
        // The median of the 4 weeks: one earlier spike does not move what a day should be.
        let mut weeks: [f64; 4] = [1, 2, 3, 4].map(|weeks| history[index - 7 * weeks]);
        weeks.sort_by(f64::total_cmp);
        let expected = (weeks[1] + weeks[2]) / 2.0;
        let qty = history[index];
        ((qty - expected).abs() >= threshold).then(|| DemandAnomaly {
            date: first + chrono::Days::new(index as u64),
            qty: qty.round() as i64,
            expected: round1(expected),
            std_daily: round2(std_daily),
        })
    })
}

/// Days of forecast demand beyond which on-hand stock is excess.
pub const EXCESS_COVER_DAYS: i64 = 90;
/// Days without demand after which stock on hand is dead.
pub const DEAD_STOCK_DAYS: i64 = 90;

/// The stock of a plan's scope against its demand: days of cover from the forecast, the units
/// beyond `EXCESS_COVER_DAYS` of it, and whether it is dead (on hand, no demand for
/// `DEAD_STOCK_DAYS` of history).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockHealth {
    pub on_hand: i64,
    /// Quarantined and damaged: on hand but not sellable.
    pub unsellable: i64,
    /// Sellable on hand ÷ the forecast's mean daily demand (one decimal); none without demand.
    pub days_of_cover: Option<f64>,
    /// The forecast's mean daily demand the cover is counted in.
    pub mean_daily_demand: f64,
    pub excess_units: i64,
    pub last_demand_on: Option<NaiveDate>,
    pub dead: bool,
    /// The day it became dead: `DEAD_STOCK_DAYS` after its last demand (or after its history
    /// began, with none in it).
    #[serde(default)]
    pub dead_since: Option<NaiveDate>,
    /// Units on hand, quarantined and damaged by how long they have been there (set by the host
    /// from the SKU's age layers: `aging::age_summaries`).
    #[serde(default)]
    pub aging: Option<super::aging::AgeBands>,
}

impl Plan {
    /// The stock's health as of the plan's day.
    pub fn health(&self) -> StockHealth {
        let sellable = (self.position.on_hand - self.position.unsellable).max(0);
        let mean_daily = self.forecast.mean_daily;
        let covered = (mean_daily > 0.0).then(|| (mean_daily * EXCESS_COVER_DAYS as f64).ceil() as i64);
        // No demand in the history kept: dead once that history is long enough.
        let quiet_from = self.history.last_demand_on.or(self.history.first_date);
        let since_demand = quiet_from.map(|day| (self.as_of - day).num_days());
        let dead = self.position.on_hand > 0 && since_demand.is_some_and(|days| days >= DEAD_STOCK_DAYS);
        StockHealth {
            on_hand: self.position.on_hand,
            unsellable: self.position.unsellable,
            days_of_cover: (mean_daily > 0.0).then(|| round1(sellable as f64 / mean_daily)),
            mean_daily_demand: mean_daily,
            excess_units: covered.map_or(0, |covered| (sellable - covered).max(0)),
            last_demand_on: self.history.last_demand_on,
            dead,
            dead_since: quiet_from
                .filter(|_| dead)
                .and_then(|day| day.checked_add_days(chrono::Days::new(DEAD_STOCK_DAYS as u64))),
            aging: None,
        }
    }

    pub fn summary(&self) -> PlanSummary {
        PlanSummary {
            sku: self.sku.clone(),
            location: self.location.clone(),
            supplier: self.supplier.clone(),
            as_of: self.as_of,
            at_risk: self.at_risk,
            stockout_date: self.stockout_date,
            order_by: self.order_by,
            suggestion_qty: self.suggestion.as_ref().map_or(0, |s| s.qty),
            value: self.suggestion.as_ref().and_then(|s| s.value),
            reason: self.reason.clone(),
            action: self.action.clone(),
            demand_class: self.demand_class,
            method: self.forecast.method,
            inventory_position: self.position.inventory_position,
            reorder_point: self.reorder_point,
            expedite_qty: self.expedite_qty,
            health: Some(self.health()),
            anomaly: self.anomaly.clone(),
        }
    }
}

/// Something a team should act on while it can still change the outcome: a predicted stockout
/// (here), an order's SLA at risk (`orders`), a supplier's lead time drifting (`metrics`). Each
/// names its owner team, what it is about and where to act.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub owner: String,
    /// The SKU it is about (none for a supplier's drift).
    pub sku: Option<Id>,
    pub supplier: Option<Id>,
    /// The customer order it is about (an SLA at risk).
    pub order: Option<Id>,
    /// When it was raised: the SKU became at risk, the SLA watch raised the exception, the drift
    /// was measured.
    pub raised_at: DateTime<Utc>,
    pub stockout_date: Option<NaiveDate>,
    pub action: Option<Action>,
    pub suggestion_qty: i64,
    pub message: String,
    /// Where the plan behind it is read.
    pub link: String,
}

impl Alert {
    /// An alert of `kind` about `subject` (its id: `kind:subject`) for the `owner` team; what it
    /// is about beyond that (a SKU, a supplier, an order, a stockout) is set on the value.
    pub fn new(
        kind: &str,
        subject: &str,
        owner: &str,
        raised_at: DateTime<Utc>,
        message: String,
        link: String,
    ) -> Alert {
        Alert {
            id: format!("{kind}:{subject}"),
            kind: kind.to_string(),
            owner: owner.to_string(),
            sku: None,
            supplier: None,
            order: None,
            raised_at,
            stockout_date: None,
            action: None,
            suggestion_qty: 0,
            message,
            link,
        }
    }

    /// `lists` (each newest first or not) as one list, newest first, at most `limit`; ties by id.
    pub fn merged(lists: Vec<Vec<Alert>>, limit: usize) -> Vec<Alert> {
        let mut all: Vec<Alert> = lists.into_iter().flatten().collect();
        all.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then_with(|| a.id.cmp(&b.id)));
        all.truncate(limit);
        all
    }
}

impl PlanSummary {
    /// The alert dead stock raises, for purchasing (to stop reordering it, return or clear it),
    /// raised the day it became dead.
    pub fn dead_stock_alert(&self) -> Option<Alert> {
        let health = self.health.as_ref().filter(|health| health.dead)?;
        let since = health.dead_since?;
        let quiet = health.last_demand_on.map_or_else(
            || format!("no demand in {DEAD_STOCK_DAYS} days of history"),
            |last| format!("no demand since {last}"),
        );
        let raised_at = since.and_hms_opt(0, 0, 0)?.and_utc();
        let message = format!("{} on hand, {quiet}", health.on_hand);
        let link = "/v1/metrics/stock-health?by=sku".to_string();
        Some(self.about(Alert::new("dead_stock", self.sku.as_str(), "purchasing", raised_at, message, link)))
    }

    /// The alert a demand anomaly raises, for purchasing (is it a trend, a one-off, a data
    /// error?), raised the day after it (when the day was complete).
    pub fn anomaly_alert(&self) -> Option<Alert> {
        let anomaly = self.anomaly.as_ref()?;
        let direction = if anomaly.qty as f64 > anomaly.expected { "above" } else { "below" };
        let raised_at = anomaly.date.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc();
        let message = format!(
            "demand on {} was {}, far {direction} the {} expected (σD {})",
            anomaly.date, anomaly.qty, anomaly.expected, anomaly.std_daily
        );
        let link = format!("/v1/skus/{}/plan", self.sku);
        Some(self.about(Alert::new("demand_anomaly", self.sku.as_str(), "purchasing", raised_at, message, link)))
    }

    /// `alert`, about this SKU and its supplier.
    fn about(&self, alert: Alert) -> Alert {
        Alert { sku: Some(self.sku.clone()), supplier: self.supplier.clone(), ..alert }
    }

    /// The alert this summary raises: a predicted stockout when it is at risk.
    pub fn stockout_alert(&self, raised_at: DateTime<Utc>) -> Option<Alert> {
        self.at_risk.then(|| {
            let message = self.action.as_ref().map_or_else(|| self.reason.clone(), |a| a.message.clone());
            let link = format!("/v1/skus/{}/plan", self.sku);
            Alert {
                stockout_date: self.stockout_date,
                action: self.action.clone(),
                suggestion_qty: self.suggestion_qty,
                ..self.about(Alert::new(
                    "predicted_stockout",
                    self.sku.as_str(),
                    "purchasing",
                    raised_at,
                    message,
                    link,
                ))
            }
        })
    }

    /// Whether a buyer has something to do: customers wait on an escalated line, an order is
    /// suggested, or it runs out too soon.
    pub fn needs_action(&self) -> bool {
        self.expedite_qty > 0 || self.at_risk || self.suggestion_qty > 0
    }

    /// Its place in the replenishment list, as text that sorts most urgent first: escalated to
    /// be expedited, then at risk, then the earliest stockout, then the earliest order-by date,
    /// then a suggestion at all, then the SKU (so it is unique among one location's summaries,
    /// and a list cursor).
    pub fn sort_key(&self) -> String {
        let date = |d: Option<NaiveDate>| d.map_or_else(|| "9999-12-31".to_string(), |d| d.to_string());
        format!(
            "{}{}|{}|{}|{}|{}",
            u8::from(self.expedite_qty == 0),
            u8::from(!self.at_risk),
            date(self.stockout_date),
            date(self.order_by),
            u8::from(self.suggestion_qty == 0),
            self.sku
        )
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn days(date: NaiveDate, count: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(count)).expect("plans stay within chrono's dates")
}

/// "12", "12.5": a figure as a buyer reads it.
fn figure(value: f64) -> String {
    let rounded = round2(value);
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{}", (value * 10.0).round() / 10.0)
    }
}

/// Computes a SKU's plan, choosing its forecast by backtest.
pub fn plan(input: &PlanBasis) -> Plan {
    let forecast =
        choose(&input.history, classify(&input.history).class, horizon_days(&input.lead_time, &input.policy));
    plan_with(input, &forecast)
}

/// Days a plan looks ahead: the lead time with its spread, a review period and two weeks.
pub(crate) fn horizon_days(lead_time: &LeadTime, policy: &PlanningPolicy) -> usize {
    let review_days = i64::from(policy.review_period_days);
    let horizon = (((lead_time.mean_days + 3.0 * lead_time.std_days).ceil() as i64) + review_days + 14)
        .clamp(28, i64::from(PLAN_HORIZON_DAYS_MAX));
    usize::try_from(horizon).expect("bounded")
}

/// Computes a SKU's plan with `chosen`, the forecast chosen for the same history over at least
/// the plan's horizon (a what-if on a device reuses the server's: the backtest is not run, nor
/// even in the device's download).
pub fn plan_with(input: &PlanBasis, chosen: &Forecast) -> Plan {
    let policy = &input.policy;
    let lead_time = &input.lead_time;
    let review_days = i64::from(policy.review_period_days);
    let lead_days = lead_time.mean_days.ceil() as i64;
    let horizon_days = horizon_days(lead_time, policy);

    let stats = classify(&input.history);
    assert!(chosen.daily.len() >= horizon_days, "a forecast chosen over a shorter horizon");
    let forecast = Forecast { daily: chosen.daily[..horizon_days].to_vec(), ..chosen.clone() };
    let over_lead = &forecast.daily[..usize::try_from(lead_days.max(1)).expect("bounded").min(horizon_days)];
    let mean_daily = over_lead.iter().sum::<f64>() / over_lead.len() as f64;
    let std_daily = forecast.std_daily;
    let mut notes = Vec::new();

    // Levels. The position is looked at once a day and a day's demand comes at once, so when it
    // reaches the reorder point it is on average `under_mean` below it: that is covered too, and
    // the undershoot's variance adds to the spread of lead-time demand.
    let (under_mean, under_variance) = undershoot(&input.history);
    let spread = (lead_time_spread(mean_daily, std_daily, lead_time).powi(2) + under_variance).sqrt();
    let cycle_qty = order_quantity(units_up(mean_daily * review_days.max(1) as f64), policy.moq, policy.pack_multiple);
    // Sizes that vary a lot (erratic, lumpy) make lead-time demand right-skewed: the fill rate's
    // factor then comes from a gamma of the same mean and spread, not the normal.
    let skewed = matches!(stats.class, DemandClass::Erratic | DemandClass::Lumpy);
    let z = if skewed && policy.service_measure == ServiceMeasure::FillRate {
        let lead_mean = mean_daily * lead_time.mean_days + under_mean;
        z_for_fill_rate_gamma(policy.service_level, cycle_qty as f64, lead_mean, spread)
    } else {
        z_for_fill_rate(policy.service_measure, policy.service_level, cycle_qty as f64, spread)
    };
    let safety = safety_stock(z, spread, under_mean);
    let lead_demand = units_up(mean_daily * lead_time.mean_days);
    let (reorder_point, order_up_to, overridden) = match (policy.min_qty, policy.max_qty) {
        (Some(min), Some(max)) => (min, max, true),
        _ => {
            let reorder_point = lead_demand + safety;
            (reorder_point, reorder_point + units_up(mean_daily * review_days as f64), false)
        }
    };
    assert!(reorder_point >= 0 && order_up_to >= reorder_point);

    // Position.
    let stock = input.stock;
    let unsellable = stock.quarantined + stock.damaged;
    let inbound_total: i64 = input.inbound.iter().map(|line| line.qty).sum();
    let free = stock.on_hand - unsellable - stock.reserved - stock.allocated;
    let position = PositionView {
        on_hand: stock.on_hand,
        unsellable,
        reserved: stock.reserved,
        allocated: stock.allocated,
        inbound: inbound_total,
        inventory_position: free + inbound_total,
    };
    let ip = position.inventory_position;

    // Suggestion and its reason.
    let level_words = if overridden {
        format!("reorder point {reorder_point} (min override)")
    } else {
        format!(
            "reorder point {reorder_point} ({}/day × {} days + safety {safety})",
            figure(mean_daily),
            figure(lead_time.mean_days)
        )
    };
    let has_demand = mean_daily > 0.0 || overridden;
    let (suggestion, reason) = if !has_demand {
        (None, "no demand in the history and no min/max: nothing to reorder".to_string())
    } else if ip <= reorder_point {
        let needed = order_up_to - ip;
        let qty = order_quantity(needed, policy.moq, policy.pack_multiple);
        let how = if qty == policy.moq && needed < policy.moq {
            " = MOQ".to_string()
        } else if qty != needed {
            format!(" = {needed} to reach {order_up_to}, in packs of {}", policy.pack_multiple)
        } else {
            format!(
                " to reach {}",
                if overridden { "the max".to_string() } else { format!("order-up-to {order_up_to}") }
            )
        };
        let reason = format!("position {ip} ≤ {level_words}; order {qty}{how}");
        let value = input.unit_cost.and_then(|cost| cost.times(qty));
        (Some(Suggestion { qty, value, reason: reason.clone() }), reason)
    } else {
        (None, format!("position {ip} > {level_words}; no order needed yet"))
    };
    let order_by = if !has_demand {
        None
    } else if ip <= reorder_point {
        Some(input.today)
    } else {
        let mut left = ip as f64;
        forecast.daily.iter().enumerate().find_map(|(i, demand)| {
            left -= demand;
            (left <= reorder_point as f64).then(|| days(input.today, i as i64))
        })
    };

    // Projection: sellable on hand, minus forecast demand, plus inbound on its day.
    let arrival = |line: &Inbound| match line.expected_on {
        Some(date) if date >= input.today => date,
        Some(_) => input.today,
        None => days(input.today, 1),
    };
    for line in &input.inbound {
        match line.expected_on {
            None => notes
                .push(format!("inbound {} ({}) has no expected date: counted from tomorrow", line.qty, line.reference)),
            Some(date) if date < input.today => {
                notes.push(format!("inbound {} ({}) was due {date}: counted from today", line.qty, line.reference))
            }
            Some(_) => {}
        }
    }
    let mut level = free as f64;
    let mut projection = Vec::with_capacity(horizon_days);
    let mut stockout_date = None;
    for (i, &demand) in forecast.daily.iter().enumerate() {
        let date = days(input.today, i as i64);
        let arriving: i64 = input.inbound.iter().filter(|line| arrival(line) == date).map(|line| line.qty).sum();
        level += arriving as f64 - demand;
        if stockout_date.is_none() && level <= 0.0 && demand > 0.0 {
            stockout_date = Some(date);
        }
        projection.push(ProjectionDay { date, demand: round2(demand), inbound: arriving, on_hand: round2(level) });
    }
    let next_receipt = days(input.today, lead_days);
    let at_risk = stockout_date.is_some_and(|date| date < next_receipt);
    // What a transfer has to bring: demand until an order placed today arrives, plus the safety
    // stock, less what is free and what arrives before then.
    let arriving_before: i64 =
        input.inbound.iter().filter(|line| arrival(line) < next_receipt).map(|line| line.qty).sum();
    let demand_until_receipt: f64 =
        forecast.daily.iter().take(usize::try_from(lead_days.max(0)).expect("bounded")).sum();
    let transfer_need = (units_up(demand_until_receipt) + safety - free - arriving_before).max(1);
    let action = at_risk.then(|| {
        let stockout = stockout_date.expect("at risk");
        let late = input.inbound.iter().filter(|line| arrival(line) > stockout).min_by_key(|line| arrival(line));
        let donor = input
            .elsewhere
            .iter()
            .filter(|other| Some(&other.location) != input.location.as_ref())
            .map(|other| (other, spare(other, lead_time.mean_days, policy.review_period_days)))
            .filter(|(_, spare)| *spare > 0)
            .max_by(|(a, spare_a), (b, spare_b)| spare_a.cmp(spare_b).then_with(|| b.location.cmp(&a.location)));
        match (late, donor) {
            (Some(line), _) => Action {
                kind: ActionKind::Expedite,
                reference: Some(line.reference.clone()),
                from_location: None,
                qty: None,
                message: format!(
                    "runs out {stockout}; expedite {} ({} due {}) to arrive before then",
                    line.reference,
                    line.qty,
                    arrival(line)
                ),
            },
            (None, Some((other, spare))) => {
                let qty = spare.min(transfer_need);
                Action {
                    kind: ActionKind::Transfer,
                    reference: None,
                    from_location: Some(other.location.clone()),
                    qty: Some(qty),
                    message: format!(
                        "runs out {stockout}, before an order placed today can arrive ({next_receipt}): transfer {qty} from {} (it can spare {spare})",
                        other.location
                    ),
                }
            }
            (None, None) => Action {
                kind: ActionKind::OrderNow,
                reference: None,
                from_location: None,
                qty: None,
                message: format!(
                    "runs out {stockout}, before an order placed today can arrive ({next_receipt}): order now"
                ),
            },
        }
    });
    let (mut suggestion, mut reason, mut action, mut order_by) = (suggestion, reason, action, order_by);
    let expedite_qty: i64 = input.expedites.iter().map(|request| request.qty).sum();
    if let Some(oldest) = input.expedites.first() {
        let lines = input.expedites.len();
        let waiting = format!(
            "{expedite_qty} unit{} for {lines} escalated order line{} (waiting since {})",
            if expedite_qty == 1 { "" } else { "s" },
            if lines == 1 { "" } else { "s" },
            oldest.since.date_naive()
        );
        order_by = Some(input.today);
        // The units customers wait for are demand the position does not hold yet (a backorder
        // reserves nothing): the order covers them on top of the policy's need. With nothing
        // inbound, at least they are ordered.
        let effective = ip - expedite_qty;
        let covering = if effective <= reorder_point { order_up_to - effective } else { 0 };
        let floor = if input.inbound.is_empty() { expedite_qty } else { 0 };
        let needed = covering.max(floor);
        if needed > 0 {
            let qty = order_quantity(needed, policy.moq, policy.pack_multiple);
            if suggestion.as_ref().is_none_or(|s| s.qty < qty) {
                reason = if covering >= floor {
                    format!(
                        "position {ip} − {expedite_qty} customers wait for = {effective} ≤ {level_words}; order {qty}"
                    )
                } else {
                    format!("customers wait for {waiting} and nothing is inbound; order {qty}")
                };
                let value = input.unit_cost.and_then(|cost| cost.times(qty));
                suggestion = Some(Suggestion { qty, value, reason: reason.clone() });
            }
        }
        let soonest =
            input.inbound.iter().min_by(|a, b| arrival(a).cmp(&arrival(b)).then(a.reference.cmp(&b.reference)));
        action = Some(match soonest {
            Some(line) => Action {
                kind: ActionKind::Expedite,
                reference: Some(line.reference.clone()),
                from_location: None,
                qty: None,
                message: format!(
                    "customers wait for {waiting}: expedite {} ({} due {})",
                    line.reference,
                    line.qty,
                    arrival(line)
                ),
            },
            None => {
                let qty = suggestion.as_ref().map_or(0, |s| s.qty);
                Action {
                    kind: ActionKind::OrderNow,
                    reference: None,
                    from_location: None,
                    qty: Some(qty),
                    message: format!("customers wait for {waiting}, nothing is inbound: order {qty} now"),
                }
            }
        });
    }
    if forecast.origins == 0 && stats.days_with_demand > 0 {
        notes.push(format!(
            "only {} days of history: the mean of the last days is used, not a backtested method",
            stats.days
        ));
    }

    let recent_start = input.history.len().saturating_sub(RECENT_DAYS);
    let recent = match input.history_first {
        Some(first) => input.history[recent_start..]
            .iter()
            .enumerate()
            .map(|(i, &qty)| DemandDay { date: days(first, (recent_start + i) as i64), qty: qty as i64 })
            .collect(),
        None => Vec::new(),
    };
    let total: f64 = input.history.iter().sum();
    Plan {
        sku: input.sku.clone(),
        location: input.location.clone(),
        as_of: input.today,
        history: HistorySummary {
            first_date: input.history_first,
            days: stats.days,
            days_with_demand: stats.days_with_demand,
            total: total as i64,
            today: input.demand_today,
            mean_daily: round2(if input.history.is_empty() { 0.0 } else { total / input.history.len() as f64 }),
            recent,
            last_demand_on: if input.demand_today > 0 {
                Some(input.today)
            } else {
                input.history_first.and_then(|first| {
                    let last = input.history.iter().rposition(|qty| *qty > 0.0)?;
                    first.checked_add_days(chrono::Days::new(last as u64))
                })
            },
        },
        demand_class: stats.class,
        adi: stats.adi.map(round2),
        cv2: stats.cv2.map(round2),
        forecast: ForecastView {
            method: forecast.method,
            mase: forecast.mase.map(round2),
            runner_up: forecast.runner_up,
            candidates: forecast.candidates.clone(),
            origins: forecast.origins,
            mean_daily: round2(mean_daily),
            std_daily: round2(std_daily),
            daily: forecast
                .daily
                .iter()
                .enumerate()
                .map(|(i, &qty)| DayQty { date: days(input.today, i as i64), qty: round2(qty) })
                .collect(),
        },
        supplier: policy.supplier.clone(),
        lead_time: lead_time.clone(),
        service_level: policy.service_level,
        service_measure: policy.service_measure,
        review_period_days: policy.review_period_days,
        moq: policy.moq,
        pack_multiple: policy.pack_multiple,
        z: (z * 1000.0).round() / 1000.0,
        safety_stock: safety,
        reorder_point,
        order_up_to,
        overridden,
        position,
        suggestion,
        reason,
        order_by,
        projection,
        stockout_date,
        at_risk,
        action,
        expedite_qty,
        expedites: input.expedites.iter().take(EXPEDITES_SHOWN_MAX).cloned().collect(),
        notes,
        anomaly: demand_anomaly(input.history_first, &input.history, std_daily),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    struct Case {
        on_hand: i64,
        reserved: i64,
        /// (qty, days from today; None: no date)
        inbound: Vec<(i64, Option<i64>)>,
        moq: i64,
        pack: i64,
        min_max: Option<(i64, i64)>,
        location: Option<Id>,
        elsewhere: Vec<Elsewhere>,
        /// Units each escalated order line waits for.
        expedites: Vec<i64>,
    }

    fn case(on_hand: i64) -> Case {
        Case {
            on_hand,
            reserved: 0,
            inbound: Vec::new(),
            moq: 1,
            pack: 1,
            min_max: None,
            location: None,
            elsewhere: Vec::new(),
            expedites: Vec::new(),
        }
    }

    fn other(location: &str, free: i64, mean_daily: f64) -> Elsewhere {
        Elsewhere { location: Id::new(location).expect("id"), free, mean_daily }
    }

    /// 60 days of exactly 10 a day (μD 10, σD 0), lead time 3 ± 1 days, cycle service 95%
    /// (z 1.645), review every 7 days. The position reaches the reorder point 0..=9 below it
    /// (undershoot mean 4.5, variance 8.25): SS = ⌈4.5 + 1.645·√(3·0 + 100·1 + 8.25)⌉ =
    /// ⌈21.61⌉ = 22, reorder point 3·10 + 22 = 52, order-up-to 52 + 70 = 122.
    fn run(case: &Case) -> Plan {
        let today = date("2026-12-02");
        let sku = Id::new("SKU-1").expect("id");
        let policy = PlanningPolicy {
            service_measure: ServiceMeasure::Cycle,
            moq: case.moq,
            pack_multiple: case.pack,
            min_qty: case.min_max.map(|m| m.0),
            max_qty: case.min_max.map(|m| m.1),
            ..PlanningPolicy::default()
        };
        let history = vec![10.0; 60];
        let inbound: Vec<Inbound> = case
            .inbound
            .iter()
            .enumerate()
            .map(|(i, &(qty, day))| Inbound {
                location: Id::new("east").expect("id"),
                reference: format!("PO-{i}"),
                qty,
                expected_on: day.map(|d| days(today, d)),
            })
            .collect();
        let expedites: Vec<ExpediteRequest> = case
            .expedites
            .iter()
            .enumerate()
            .map(|(i, &qty)| ExpediteRequest {
                exception: Id::new(format!("ex-{i}")).expect("id"),
                order: Id::new(format!("o-{i}")).expect("id"),
                line: 1,
                qty,
                since: DateTime::from_timestamp(1_796_000_000 + i as i64 * 60, 0).expect("a time"),
                by: "buyer".to_string(),
            })
            .collect();
        plan(&PlanBasis {
            expedites,
            sku,
            location: case.location.clone(),
            elsewhere: case.elsewhere.clone(),
            today,
            policy,
            lead_time: LeadTime { mean_days: 3.0, std_days: 1.0, source: "policy".into() },
            history_first: Some(days(today, -60)),
            history,
            stock: Position { on_hand: case.on_hand, reserved: case.reserved, ..Position::default() },
            inbound,
            demand_today: 0,
            unit_cost: Some(Money::parse("2.50").expect("money")),
            forecast: None,
        })
    }

    #[test]
    fn levels_from_a_steady_history() {
        let plan = run(&case(200));
        assert_eq!((plan.forecast.mean_daily, plan.forecast.std_daily), (10.0, 0.0));
        assert_eq!(plan.demand_class, DemandClass::Smooth);
        assert!((plan.z - 1.645).abs() < 1e-3);
        assert_eq!((plan.safety_stock, plan.reorder_point, plan.order_up_to), (22, 52, 122));
        assert_eq!(plan.suggestion, None);
        assert_eq!(plan.reason, "position 200 > reorder point 52 (10/day × 3 days + safety 22); no order needed yet");
        // 200 − 10 a day reaches 52 after 15 days (200 − 150 = 50): the 15th day, today + 14.
        assert_eq!(plan.order_by, Some(date("2026-12-16")));
        assert_eq!(plan.history.recent.len(), RECENT_DAYS);
        assert_eq!(plan.history.recent.last().map(|d| d.date), Some(date("2026-12-01")));
    }

    #[test]
    fn a_day_far_from_its_weekday_is_an_anomaly() {
        let first = date("2026-10-01");
        // A weekly shape: 10 on weekdays, 40 on the 6th day; 8 weeks.
        let shape = |i: usize| if i % 7 == 5 { 40.0 } else { 10.0 };
        let steady: Vec<f64> = (0..56).map(shape).collect();
        // (case, days changed: (index, qty), σD, the anomaly expected: (date, qty, expected))
        type Row<'a> = (&'a str, Vec<(usize, f64)>, f64, Option<(&'a str, i64, f64)>);
        let table: [Row; 5] = [
            ("the busy day is expected", vec![], 0.0, None),
            ("a spike yesterday", vec![(55, 60.0)], 2.0, Some(("2026-11-25", 60, 10.0))),
            ("a quiet busy day", vec![(54, 0.0)], 2.0, Some(("2026-11-24", 0, 40.0))),
            ("within 3 σD", vec![(55, 25.0)], 6.0, None),
            ("under 5 units: noise", vec![(55, 14.0)], 0.1, None),
        ];
        for (case, changes, std, expect) in table {
            let mut history = steady.clone();
            for (index, qty) in changes {
                history[index] = qty;
            }
            let found = demand_anomaly(Some(first), &history, std).map(|a| (a.date, a.qty, a.expected));
            let expect = expect.map(|(day, qty, expected)| (date(day), qty, expected));
            assert_eq!(found, expect, "{case}");
        }
        // The latest of several; a day older than a week is no longer looked at.
        let mut two = steady.clone();
        two[50] = 90.0;
        two[53] = 90.0;
        assert_eq!(demand_anomaly(Some(first), &two, 1.0).map(|a| a.date), Some(date("2026-11-23")));
        let mut old = steady.clone();
        old[48] = 90.0;
        assert_eq!(demand_anomaly(Some(first), &old, 1.0), None, "and it does not skew the week after");
        assert_eq!(demand_anomaly(Some(first), &steady[..20], 1.0), None, "four weeks needed before");
        // A summary's anomaly is an alert, raised the day after.
        let mut plan = run(&case(200));
        plan.anomaly = demand_anomaly(
            Some(first),
            &{
                let mut h = steady.clone();
                h[55] = 60.0;
                h
            },
            2.0,
        );
        let alert = plan.summary().anomaly_alert().expect("an alert");
        assert_eq!(
            (alert.kind.as_str(), alert.raised_at.to_rfc3339().as_str()),
            ("demand_anomaly", "2026-11-26T00:00:00+00:00")
        );
        assert_eq!(alert.message, "demand on 2026-11-25 was 60, far above the 10 expected (σD 2)");
        assert_eq!(run(&case(200)).summary().anomaly_alert(), None, "a steady history has none");
    }

    #[test]
    fn stock_health_counts_cover_excess_and_dead_stock() {
        // 10 a day: 200 on hand is 20 days of cover; 1,000 is 100 days, 100 beyond the 90 days
        // that are not excess.
        let health = run(&case(200)).health();
        assert_eq!((health.days_of_cover, health.excess_units, health.dead), (Some(20.0), 0, false));
        assert_eq!(health.last_demand_on, Some(date("2026-12-01")), "yesterday's demand");
        let heavy = run(&case(1_000)).health();
        assert_eq!((heavy.days_of_cover, heavy.excess_units), (Some(100.0), 100));
        // The same plan 90 days after its last demand: dead, however much cover the forecast claims.
        let mut stale = run(&case(200));
        stale.as_of = date("2027-03-01");
        assert_eq!((stale.as_of - date("2026-12-01")).num_days(), 90);
        assert_eq!((stale.health().dead, stale.health().dead_since), (true, Some(date("2027-03-01"))));
        let alert = stale.summary().dead_stock_alert().expect("dead stock is an alert");
        assert_eq!(
            (alert.id.as_str(), alert.owner.as_str(), alert.raised_at.to_rfc3339().as_str()),
            ("dead_stock:SKU-1", "purchasing", "2027-03-01T00:00:00+00:00")
        );
        assert_eq!(alert.message, "200 on hand, no demand since 2026-12-01");
        assert_eq!(run(&case(200)).summary().dead_stock_alert(), None);
        stale.as_of = date("2027-02-28");
        assert!(!stale.health().dead, "89 days: not yet");
        // Nothing on hand is never dead stock.
        let mut empty = run(&case(0));
        empty.as_of = date("2027-06-01");
        assert!(!empty.health().dead);
        assert_eq!(run(&case(200)).summary().health, Some(health));
    }

    #[test]
    fn suggestions_in_words_and_numbers() {
        // (case, qty, reason)
        let table = [
            (Case { reserved: 5, ..case(40) }, 87, "position 35 ≤ reorder point 52 (10/day × 3 days + safety 22); order 87 to reach order-up-to 122"),
            (Case { moq: 120, ..case(40) }, 120, "position 40 ≤ reorder point 52 (10/day × 3 days + safety 22); order 120 = MOQ"),
            (Case { moq: 50, pack: 12, ..case(40) }, 84, "position 40 ≤ reorder point 52 (10/day × 3 days + safety 22); order 84 = 82 to reach 122, in packs of 12"),
            (Case { inbound: vec![(30, Some(5))], ..case(22) }, 70, "position 52 ≤ reorder point 52 (10/day × 3 days + safety 22); order 70 to reach order-up-to 122"),
            (Case { min_max: Some((60, 150)), ..case(50) }, 100, "position 50 ≤ reorder point 60 (min override); order 100 to reach the max"),
        ];
        for (case, qty, reason) in table {
            let plan = run(&case);
            let suggestion = plan.suggestion.clone().expect("a suggestion");
            assert_eq!((suggestion.qty, suggestion.reason.as_str()), (qty, reason));
            assert_eq!(plan.reason, reason);
            assert_eq!(plan.order_by, Some(date("2026-12-02")));
            assert_eq!(suggestion.value, Money::parse("2.50").expect("money").times(qty));
        }
    }

    #[test]
    fn projection_and_stockout() {
        // (case, stockout in days from today, at risk, action)
        type Expect<'a> = Option<(ActionKind, Option<&'a str>)>;
        let table: Vec<(Case, Option<i64>, bool, Expect)> = vec![
            // 35 → 25, 15, +20 = 25, 15, 5, −5: out on day 5; an order today lands on day 3.
            (Case { reserved: 5, inbound: vec![(20, Some(2))], ..case(40) }, Some(5), false, None),
            // 35 → 25, 15, 5, −5: out on day 3, the day an order placed today arrives: not at risk.
            (Case { reserved: 5, ..case(40) }, Some(3), false, None),
            // 30 → 20, 10, 0: out on day 2, before day 3.
            (case(30), Some(2), true, Some((ActionKind::OrderNow, None))),
            // The same with 50 due on day 4: expedite it.
            (
                Case { inbound: vec![(50, Some(4))], ..case(30) },
                Some(2),
                true,
                Some((ActionKind::Expedite, Some("PO-0"))),
            ),
            // Undated inbound counts from tomorrow: 30 − 10 = 20, +15 − 10 = 25, 15, 5, −5 on day 4.
            (Case { inbound: vec![(15, None)], ..case(30) }, Some(4), false, None),
            // Overdue inbound counts today: 10 + 40 − 10 = 40, 30, 20, 10, 0 on day 4.
            (Case { inbound: vec![(40, Some(-3))], ..case(10) }, Some(4), false, None),
            // Nothing sellable today: out today.
            (case(0), Some(0), true, Some((ActionKind::OrderNow, None))),
            (case(1000), None, false, None),
        ];
        for (case, stockout, at_risk, action) in table {
            let plan = run(&case);
            let today = date("2026-12-02");
            assert_eq!(
                plan.stockout_date,
                stockout.map(|d| days(today, d)),
                "{:?}",
                plan.projection.iter().take(6).collect::<Vec<_>>()
            );
            assert_eq!(plan.at_risk, at_risk);
            assert_eq!(plan.action.as_ref().map(|a| (a.kind, a.reference.as_deref())), action);
            assert_eq!(plan.projection.len(), 28);
            assert_eq!(plan.projection[0].date, today);
        }
        let plan = run(&Case { inbound: vec![(15, None)], ..case(30) });
        assert_eq!(plan.notes, vec!["inbound 15 (PO-0) has no expected date: counted from tomorrow".to_string()]);
        let plan = run(&Case { inbound: vec![(50, Some(4))], ..case(30) });
        assert_eq!(
            plan.action.map(|a| a.message),
            Some("runs out 2026-12-04; expedite PO-0 (50 due 2026-12-06) to arrive before then".to_string())
        );
    }

    #[test]
    fn a_location_at_risk_borrows_from_one_with_spare_stock() {
        // East has 30 and sells 10 a day (out on day 2, an order lands on day 3): it needs 3 × 10
        // + safety 22 − 30 = 22. West keeps 4 a day × (3 + 7) days = 40 of its 100: it can spare 60.
        // North keeps all it has.
        let east = Id::new("east").expect("id");
        let plan = run(&Case {
            location: Some(east.clone()),
            elsewhere: vec![other("north", 20, 5.0), other("west", 100, 4.0), other("east", 500, 0.0)],
            ..case(30)
        });
        let action = plan.action.expect("at risk");
        assert_eq!(
            (action.kind, action.from_location.as_ref().map(Id::as_str), action.qty),
            (ActionKind::Transfer, Some("west"), Some(22))
        );
        assert_eq!(
            action.message,
            "runs out 2026-12-04, before an order placed today can arrive (2026-12-05): transfer 22 from west (it can spare 60)"
        );
        assert_eq!(plan.location, Some(east));
        // Nobody can spare anything: order now. An inbound due later still comes first: expedite.
        let plan = run(&Case { elsewhere: vec![other("north", 20, 5.0)], ..case(30) });
        assert_eq!(plan.action.map(|a| a.kind), Some(ActionKind::OrderNow));
        let plan = run(&Case { inbound: vec![(50, Some(4))], elsewhere: vec![other("west", 100, 4.0)], ..case(30) });
        assert_eq!(plan.action.map(|a| a.kind), Some(ActionKind::Expedite));
        assert_eq!(spare(&other("west", 100, 4.0), 3.0, 7), 60);
        assert_eq!(spare(&other("west", 10, 4.0), 3.0, 7), 0);
    }

    /// Escalated order lines put the SKU first in the list, whatever its levels: the inbound that
    /// arrives first is expedited, or, with nothing inbound, at least what customers wait for is
    /// ordered (MOQ and packs kept).
    #[test]
    fn escalated_lines_ask_to_expedite() {
        // (on hand, inbound (qty, day), moq, pack, escalated lines) →
        // (action, its reference or qty, suggestion, message)
        type Row =
            (i64, Vec<(i64, Option<i64>)>, i64, i64, Vec<i64>, ActionKind, Option<&'static str>, Option<i64>, i64);
        let rows: Vec<Row> = vec![
            // plenty on hand (a reorder is not due) but two lines wait: nothing inbound → order 7
            (1000, vec![], 1, 1, vec![5, 2], ActionKind::OrderNow, None, Some(7), 7),
            // the MOQ and the pack multiple still hold
            (1000, vec![], 10, 4, vec![5, 2], ActionKind::OrderNow, None, Some(12), 12),
            // a due reorder covers what waits on top: 122 − (40 − 3) = 85
            (40, vec![], 1, 1, vec![3], ActionKind::OrderNow, None, Some(85), 85),
            // inbound: the soonest arrival is expedited, no extra order while the position covers
            (1000, vec![(50, Some(9)), (20, Some(4))], 1, 1, vec![6], ActionKind::Expedite, Some("PO-1"), None, 0),
            // inbound too small for 50 waiting: expedite it and order 122 − (2 − 50) = 170 besides
            (0, vec![(2, Some(4))], 1, 1, vec![50], ActionKind::Expedite, Some("PO-0"), None, 170),
        ];
        for (on_hand, inbound, moq, pack, expedites, kind, reference, qty, suggested) in rows {
            let waiting: i64 = expedites.iter().sum();
            let plan = run(&Case { inbound, moq, pack, expedites: expedites.clone(), ..case(on_hand) });
            let action = plan.action.clone().expect("an action");
            assert_eq!(
                (action.kind, action.reference.as_deref(), action.qty),
                (kind, reference, qty),
                "{on_hand} {expedites:?}"
            );
            assert_eq!(plan.suggestion.as_ref().map_or(0, |s| s.qty), suggested, "{on_hand} {expedites:?}");
            assert_eq!((plan.expedite_qty, plan.expedites.len()), (waiting, expedites.len()));
            assert_eq!(plan.order_by, Some(plan.as_of));
            let lines = if expedites.len() == 1 { "line" } else { "lines" };
            let prefix = format!(
                "customers wait for {waiting} units for {} escalated order {lines} (waiting since 2026-11-30)",
                expedites.len()
            );
            assert!(action.message.starts_with(&prefix), "{}", action.message);
            let summary = plan.summary();
            assert!(summary.needs_action() && summary.sort_key().starts_with("0"), "{}", summary.sort_key());
        }
        // Expedited before anything at risk; not escalated sorts after.
        let at_risk = run(&case(0)).summary();
        assert!(at_risk.at_risk && at_risk.sort_key().starts_with("10|"), "{}", at_risk.sort_key());
        let quiet = run(&case(1000));
        assert_eq!((quiet.expedite_qty, quiet.expedites.len(), quiet.summary().needs_action()), (0, 0, false));
    }

    #[test]
    fn the_list_sorts_the_most_urgent_first() {
        let summary = |sku: &str, case: Case| {
            let mut summary = run(&case).summary();
            summary.sku = Id::new(sku).expect("id");
            summary
        };
        let mut list = [
            summary("E-fine", case(1000)),
            summary("D-order", case(40)),
            summary("C-later", case(30)),
            summary("B-soonest", case(0)),
            summary("A-also-later", case(30)),
        ];
        list.sort_by_key(PlanSummary::sort_key);
        let order: Vec<&str> = list.iter().map(|s| s.sku.as_str()).collect();
        assert_eq!(order, ["B-soonest", "A-also-later", "C-later", "D-order", "E-fine"]);
        assert_eq!(list.iter().map(PlanSummary::needs_action).collect::<Vec<_>>(), [true, true, true, true, false]);
        let now = DateTime::from_timestamp(1_796_000_000, 0).expect("a time");
        let alert = list[0].stockout_alert(now).expect("at risk");
        assert_eq!(
            (alert.id.as_str(), alert.owner.as_str(), alert.link.as_str()),
            ("predicted_stockout:B-soonest", "purchasing", "/v1/skus/B-soonest/plan")
        );
        assert!(alert.message.ends_with("order now"), "{}", alert.message);
        assert_eq!(list[3].stockout_alert(now), None);
    }

    #[test]
    fn no_history_no_suggestion() {
        let sku = Id::new("NEW").expect("id");
        let policy = PlanningPolicy { lead_time_days: Some(5.0), ..PlanningPolicy::default() };
        let plan = plan(&PlanBasis {
            expedites: Vec::new(),
            sku,
            location: None,
            elsewhere: Vec::new(),
            today: date("2026-12-02"),
            policy,
            lead_time: LeadTime { mean_days: 5.0, std_days: 0.0, source: "policy".into() },
            history_first: None,
            history: Vec::new(),
            stock: Position::default(),
            inbound: Vec::new(),
            demand_today: 0,
            unit_cost: None,
            forecast: None,
        });
        assert_eq!(plan.demand_class, DemandClass::NoDemand);
        assert_eq!((plan.suggestion, plan.stockout_date, plan.at_risk, plan.order_by), (None, None, false, None));
        assert_eq!(plan.reason, "no demand in the history and no min/max: nothing to reorder");
    }
}
