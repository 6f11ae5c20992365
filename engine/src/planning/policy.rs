//! The replenishment policy of a SKU, its supplier, and the arithmetic of safety stock, reorder
//! point and order quantity.
//!
//! Safety stock covers the spread of demand *and* of lead time over the lead time:
//! SS = z·√(μL·σD² + μD²·σL²). The service level is read as a fill rate by default (the share of
//! demanded units served from stock: what a storefront loses when it is missed), z then solved
//! from the normal loss function for the expected order quantity; `cycle` reads it as the chance
//! of no stockout in a replenishment cycle, z = Φ⁻¹(level).
//!
//! The position is looked at once a day and a day's demand comes at once, so it is below the
//! reorder point when an order goes out: the plan adds that undershoot's mean to the safety stock
//! and its variance to the spread. For erratic and lumpy demand (sizes that vary a lot) lead-time
//! demand is right-skewed, and the fill rate's factor comes from a gamma of the same mean and
//! spread instead of the normal.

use crate::catalog::Catalog;
use crate::error::EngineError;
use crate::ids::{check_text, Id};
use crate::limits::{LEAD_TIME_DAYS_MAX, QTY_REQUEST_MAX, REVIEW_PERIOD_DAYS_MAX};
use crate::money::check_currency;
use crate::procurement::Standing;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMeasure {
    /// The share of demanded units served from stock (β service).
    #[default]
    FillRate,
    /// The chance of no stockout in a replenishment cycle (α service).
    Cycle,
}

pub const SERVICE_LEVEL_DEFAULT: f64 = 0.95;
pub const SERVICE_LEVEL_MIN: f64 = 0.5;
pub const SERVICE_LEVEL_MAX: f64 = 0.999;
pub const REVIEW_PERIOD_DAYS_DEFAULT: u32 = 7;
/// The largest safety factor a policy uses (Φ(4) = 0.99997).
pub const Z_MAX: f64 = 4.0;

fn service_level_default() -> f64 {
    SERVICE_LEVEL_DEFAULT
}
fn review_period_default() -> u32 {
    REVIEW_PERIOD_DAYS_DEFAULT
}
fn one() -> i64 {
    1
}

/// `PUT /v1/skus/{sku}/policy`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningPolicy {
    #[serde(default = "service_level_default")]
    pub service_level: f64,
    #[serde(default)]
    pub service_measure: ServiceMeasure,
    #[serde(default = "review_period_default")]
    pub review_period_days: u32,
    #[serde(default)]
    pub supplier: Option<Id>,
    /// Mean lead time; the supplier's when not given.
    #[serde(default)]
    pub lead_time_days: Option<f64>,
    /// Its standard deviation; the supplier's when not given.
    #[serde(default)]
    pub lead_time_std_days: Option<f64>,
    #[serde(default = "one")]
    pub moq: i64,
    #[serde(default = "one")]
    pub pack_multiple: i64,
    /// Fixed reorder point (min) and order-up-to level (max): both or neither.
    #[serde(default)]
    pub min_qty: Option<i64>,
    #[serde(default)]
    pub max_qty: Option<i64>,
}

impl Default for PlanningPolicy {
    fn default() -> PlanningPolicy {
        PlanningPolicy {
            service_level: SERVICE_LEVEL_DEFAULT,
            service_measure: ServiceMeasure::FillRate,
            review_period_days: REVIEW_PERIOD_DAYS_DEFAULT,
            supplier: None,
            lead_time_days: None,
            lead_time_std_days: None,
            moq: 1,
            pack_multiple: 1,
            min_qty: None,
            max_qty: None,
        }
    }
}

fn check_days(field: &str, value: Option<f64>, min: f64) -> Result<(), EngineError> {
    match value {
        Some(days) if !(days.is_finite() && (min..=LEAD_TIME_DAYS_MAX).contains(&days)) => {
            Err(EngineError::invalid(field, format!("must be a number of days {min}..={LEAD_TIME_DAYS_MAX}")))
        }
        _ => Ok(()),
    }
}

impl PlanningPolicy {
    /// Checks the policy against the catalog (its supplier must exist) and its own bounds.
    pub fn check(&self, catalog: &Catalog) -> Result<(), EngineError> {
        self.check_bounds()?;
        let supplier = match &self.supplier {
            Some(id) => {
                Some(catalog.supplier(id.as_str()).ok_or_else(|| EngineError::not_found("supplier", id.as_str()))?)
            }
            None => None,
        };
        if self.lead_time_days.is_none() && supplier.is_none() {
            return Err(EngineError::invalid("lead_time_days", "is required when no supplier is named"));
        }
        Ok(())
    }

    /// The bounds of each figure, which need no catalog (a what-if on a device checks them too).
    pub fn check_bounds(&self) -> Result<(), EngineError> {
        if !(SERVICE_LEVEL_MIN..=SERVICE_LEVEL_MAX).contains(&self.service_level) {
            return Err(EngineError::invalid(
                "service_level",
                format!("must be {SERVICE_LEVEL_MIN}..={SERVICE_LEVEL_MAX}"),
            ));
        }
        if self.review_period_days > REVIEW_PERIOD_DAYS_MAX {
            return Err(EngineError::invalid("review_period_days", format!("must be 0..={REVIEW_PERIOD_DAYS_MAX}")));
        }
        check_days("lead_time_days", self.lead_time_days, 0.0)?;
        check_days("lead_time_std_days", self.lead_time_std_days, 0.0)?;
        for (field, value) in [("moq", self.moq), ("pack_multiple", self.pack_multiple)] {
            if !(1..=QTY_REQUEST_MAX).contains(&value) {
                return Err(EngineError::invalid(field, format!("must be a whole number 1..={QTY_REQUEST_MAX}")));
            }
        }
        match (self.min_qty, self.max_qty) {
            (None, None) => {}
            (Some(min), Some(max)) => {
                if !(0..=QTY_REQUEST_MAX).contains(&min) || !(1..=QTY_REQUEST_MAX).contains(&max) || min >= max {
                    return Err(EngineError::invalid("min_qty", "min_qty and max_qty must be 0 <= min_qty < max_qty"));
                }
            }
            _ => return Err(EngineError::invalid("min_qty", "give min_qty and max_qty together")),
        }
        Ok(())
    }

    /// The lead time this policy plans with: its own figures, else what its supplier's receipts
    /// measured, else the supplier's declared figures.
    pub fn lead_time(&self, catalog: &Catalog) -> Result<LeadTime, EngineError> {
        let supplier = self.supplier.as_ref().and_then(|id| catalog.supplier(id.as_str()));
        if self.lead_time_days.is_none() && self.lead_time_std_days.is_none() {
            if let Some(measured) = supplier.and_then(|s| s.measured_lead_time.as_ref()) {
                return Ok(measured.clone());
            }
        }
        let from_supplier = |pick: fn(&Supplier) -> f64| supplier.map(pick);
        let mean_days = self
            .lead_time_days
            .or_else(|| from_supplier(|s| s.lead_time_days))
            .ok_or_else(|| EngineError::invalid("lead_time_days", "no lead time: name a supplier or give one"))?;
        let std_days = self.lead_time_std_days.or_else(|| from_supplier(|s| s.lead_time_std_days)).unwrap_or(0.0);
        let source = if self.lead_time_days.is_some() { "policy" } else { "supplier" };
        Ok(LeadTime { mean_days, std_days, source: source.to_string() })
    }
}

/// The lead time a plan used, and where it came from (`policy` or `supplier`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    pub mean_days: f64,
    pub std_days: f64,
    pub source: String,
}

/// `PUT /v1/suppliers/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierSpec {
    pub name: String,
    /// ISO 4217, three capital letters.
    pub currency: String,
    pub lead_time_days: f64,
    #[serde(default)]
    pub lead_time_std_days: f64,
    /// Purchasing's standing: `watch` takes a stricter approval path, `blocked` stops new orders.
    /// None keeps the current one (`good` for a new supplier).
    #[serde(default)]
    pub standing: Option<Standing>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    #[serde(rename = "supplier")]
    pub id: Id,
    pub name: String,
    pub currency: String,
    pub lead_time_days: f64,
    pub lead_time_std_days: f64,
    #[serde(default)]
    pub standing: Standing,
    /// The lead time measured from this supplier's receipts (its scorecard), once there are
    /// enough of them: planning uses it instead of the declared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_lead_time: Option<LeadTime>,
}

impl SupplierSpec {
    pub fn check(&self) -> Result<(), EngineError> {
        check_text("name", &self.name)?;
        check_currency("currency", &self.currency)?;
        check_days("lead_time_days", Some(self.lead_time_days), 0.0)?;
        check_days("lead_time_std_days", Some(self.lead_time_std_days), 0.0)
    }
}

/// Standard deviation of demand over the lead time: √(μL·σD² + μD²·σL²).
pub fn lead_time_spread(mean_daily: f64, std_daily: f64, lead_time: &LeadTime) -> f64 {
    (lead_time.mean_days * std_daily * std_daily + mean_daily * mean_daily * lead_time.std_days * lead_time.std_days)
        .sqrt()
}

/// SS = undershoot + z·spread in whole units (rounded up), where spread is
/// √(μL·σD² + μD²·σL²) (`lead_time_spread`, with the undershoot's variance when there is one).
pub fn safety_stock(z: f64, spread: f64, undershoot_mean: f64) -> i64 {
    assert!(z >= 0.0 && spread >= 0.0 && undershoot_mean >= 0.0);
    units_up(undershoot_mean + z * spread)
}

/// Rounds a non-negative amount of units up, tolerating float noise (2.0000000001 is 2).
pub fn units_up(units: f64) -> i64 {
    assert!(units.is_finite() && units >= 0.0, "{units}");
    let rounded = (units - 1e-9).ceil().max(0.0);
    assert!(rounded <= crate::limits::QTY_STORED_MAX as f64);
    rounded as i64
}

/// The standard normal density, distribution and their loss function G(k) = φ(k) − k·(1 − Φ(k)).
fn normal_loss(k: f64) -> f64 {
    distrs::Normal::pdf(k, 0.0, 1.0) - k * (1.0 - distrs::Normal::cdf(k, 0.0, 1.0))
}

/// The safety factor z for a service level: Φ⁻¹(level) for `cycle`; for `fill_rate`, the k with
/// σ·G(k) = (1 − level)·Q (expected units short per cycle = the share allowed of an order),
/// by bisection. Between 0 and `Z_MAX`.
pub fn z_for_fill_rate(measure: ServiceMeasure, level: f64, order_qty: f64, spread: f64) -> f64 {
    assert!((SERVICE_LEVEL_MIN..=SERVICE_LEVEL_MAX).contains(&level));
    let z = match measure {
        ServiceMeasure::Cycle => distrs::Normal::ppf(level, 0.0, 1.0),
        ServiceMeasure::FillRate if spread <= 1e-12 => 0.0,
        ServiceMeasure::FillRate => least_factor(|k| spread * normal_loss(k), (1.0 - level) * order_qty.max(1.0)),
    };
    z.clamp(0.0, Z_MAX)
}

/// The least safety factor k in 0..=`Z_MAX` whose expected units short per cycle, `short(k)`
/// (decreasing in k), are at most `target`: 0 when none are needed, `Z_MAX` when even that falls
/// short; by bisection between.
fn least_factor(short: impl Fn(f64) -> f64, target: f64) -> f64 {
    if short(0.0) <= target {
        return 0.0;
    }
    if short(Z_MAX) > target {
        return Z_MAX;
    }
    let (mut low, mut high) = (0.0, Z_MAX);
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if short(middle) > target {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

/// The safety factor for a fill rate when lead-time demand is gamma-distributed (mean `mean`,
/// standard deviation `spread`) rather than normal: the k with E[(X − mean − k·spread)⁺] =
/// (1 − level)·Q, by bisection, between 0 and `Z_MAX`. For demand whose sizes vary a lot (erratic,
/// lumpy) lead-time demand is right-skewed, and the normal loss understates the units short.
pub fn z_for_fill_rate_gamma(level: f64, order_qty: f64, mean: f64, spread: f64) -> f64 {
    assert!((SERVICE_LEVEL_MIN..=SERVICE_LEVEL_MAX).contains(&level) && mean >= 0.0 && spread >= 0.0);
    if spread <= 1e-12 || mean <= 1e-12 {
        return 0.0;
    }
    least_factor(|k| gamma_loss(mean, spread, mean + k * spread), (1.0 - level) * order_qty.max(1.0))
}

/// E[(X − s)⁺] for X gamma-distributed with this mean and standard deviation (shape a = (m/σ)²,
/// scale θ = σ²/m, x = s/θ): m·Q(a + 1, x) − s·Q(a, x), with Q the regularized upper incomplete
/// gamma function (`puruspe`). Written with Q(a + 1, x) = Q(a, x) + xᵃe⁻ˣ/Γ(a + 1), so no two
/// nearly equal tails are subtracted (for a large shape they agree to many digits).
fn gamma_loss(mean: f64, sd: f64, s: f64) -> f64 {
    assert!(mean > 0.0 && sd > 0.0 && s >= 0.0);
    let shape = (mean / sd).powi(2);
    let x = s * mean / (sd * sd);
    let density_term = if x > 0.0 { (shape * x.ln() - x - puruspe::ln_gamma(shape + 1.0)).exp() } else { 0.0 };
    ((mean - s) * puruspe::gammq(shape, x) + mean * density_term).max(0.0)
}

/// How far below the reorder point the position is on the day it gets there, as (mean, variance):
/// it is looked at once a day and a day's demand comes at once, so it seldom lands on the point.
/// For whole-unit daily demand D the undershoot U has P(U = k) = P(D > k) / E[D] (k = 0, 1, …),
/// so E[U] = E[D(D − 1)] / 2E[D] and E[U²] = E[D(D − 1)(2D − 1)] / 6E[D]: from the raw moments of
/// the daily series. (0, 0) without demand.
pub fn undershoot(series: &[f64]) -> (f64, f64) {
    let (m1, m2, m3) = series.iter().fold((0.0, 0.0, 0.0), |(a, b, c), &d| (a + d, b + d * d, c + d * d * d));
    if m1 <= 0.0 {
        return (0.0, 0.0);
    }
    let n = series.len() as f64;
    let (m1, m2, m3) = (m1 / n, m2 / n, m3 / n);
    let mean = ((m2 - m1) / (2.0 * m1)).max(0.0);
    let square = (2.0 * m3 - 3.0 * m2 + m1) / (6.0 * m1);
    (mean, (square - mean * mean).max(0.0))
}

/// What to order for a shortfall of `needed` units: at least the MOQ, in whole packs.
pub fn order_quantity(needed: i64, moq: i64, pack_multiple: i64) -> i64 {
    assert!(moq >= 1 && pack_multiple >= 1);
    let qty = needed.max(moq);
    let packs = (qty + pack_multiple - 1) / pack_multiple;
    packs * pack_multiple
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(mean_days: f64, std_days: f64) -> LeadTime {
        LeadTime { mean_days, std_days, source: "policy".into() }
    }

    /// Where the lead time comes from: the policy's own figures, else the supplier's measured
    /// one, else the supplier's declared one.
    #[test]
    fn lead_time_sources() {
        let mut catalog = Catalog::default();
        let supplier = SupplierSpec {
            name: "Basics".into(),
            currency: "EUR".into(),
            lead_time_days: 7.0,
            lead_time_std_days: 1.0,
            standing: None,
        };
        let id = Id::new("basics-co").expect("id");
        catalog.put_supplier(id.clone(), supplier.clone(), crate::ledger::Role::Buyer).expect("a supplier");
        let named = PlanningPolicy { supplier: Some(id.clone()), ..PlanningPolicy::default() };
        let own = PlanningPolicy { lead_time_days: Some(3.0), ..named.clone() };
        let got = |policy: &PlanningPolicy, catalog: &Catalog| {
            let lead = policy.lead_time(catalog).expect("a lead time");
            (lead.mean_days, lead.std_days, lead.source)
        };
        assert_eq!(got(&named, &catalog), (7.0, 1.0, "supplier".to_string()));
        let measured = LeadTime { mean_days: 9.5, std_days: 2.5, source: "4 receipts".into() };
        let version = catalog.version();
        assert!(catalog.set_measured_lead_time("basics-co", Some(measured.clone())).expect("set").is_some());
        assert_eq!(catalog.version(), version + 1);
        assert!(catalog.set_measured_lead_time("basics-co", Some(measured)).expect("same").is_none(), "no change");
        assert_eq!(catalog.version(), version + 1);
        assert_eq!(got(&named, &catalog), (9.5, 2.5, "4 receipts".to_string()));
        assert_eq!(got(&own, &catalog), (3.0, 1.0, "policy".to_string()));
        // Declaring the supplier again keeps what was measured.
        catalog.put_supplier(id, supplier, crate::ledger::Role::Buyer).expect("again");
        assert_eq!(got(&named, &catalog).0, 9.5);
        let bad = LeadTime { mean_days: f64::NAN, std_days: 0.0, source: "x".into() };
        assert!(catalog.set_measured_lead_time("basics-co", Some(bad)).is_err());
        assert!(catalog.set_measured_lead_time("nobody", None).is_err());
    }

    #[test]
    fn safety_stock_table() {
        // (z, μD, σD, μL, σL, SS): worked by hand.
        let table = [
            // 1.645·√(4·9 + 100·0) = 1.645·6 = 9.87 → 10
            (1.645, 10.0, 3.0, 4.0, 0.0, 10),
            // demand steady, lead time spread only: 2·√(0 + 100·4) = 2·20 = 40
            (2.0, 10.0, 0.0, 5.0, 2.0, 40),
            // both: 1·√(9·16 + 144·1) = √288 = 16.97 → 17
            (1.0, 12.0, 4.0, 9.0, 1.0, 17),
            // issue example: 12/day, 3 days, σD 5, σL 1, z 1.2: √(75 + 144) = 14.80; ·1.2 = 17.76 → 18
            (1.2, 12.0, 5.0, 3.0, 1.0, 18),
            (0.0, 12.0, 5.0, 3.0, 1.0, 0),
            // 2·√(4·1 + 0) = 4 exactly, not 5
            (2.0, 0.0, 1.0, 4.0, 3.0, 4),
        ];
        // The undershoot's mean is added: 4.5 + 1·3 = 7.5 → 8.
        assert_eq!(safety_stock(1.0, 3.0, 4.5), 8);
        for (z, mean, std, lt_mean, lt_std, expect) in table {
            assert_eq!(
                safety_stock(z, lead_time_spread(mean, std, &lead(lt_mean, lt_std)), 0.0),
                expect,
                "z {z} μD {mean} σD {std} μL {lt_mean} σL {lt_std}"
            );
        }
    }

    #[test]
    fn order_quantity_table() {
        // (needed, MOQ, pack, ordered)
        for (needed, moq, pack, expect) in [
            (5, 1, 1, 5),
            (5, 12, 1, 12),
            (13, 12, 6, 18),
            (1, 10, 6, 12),
            (24, 10, 6, 24),
            (25, 10, 6, 30),
            (0, 1, 1, 1),
        ] {
            assert_eq!(order_quantity(needed, moq, pack), expect, "needed {needed} moq {moq} pack {pack}");
        }
    }

    #[test]
    fn undershoot_of_daily_lumps() {
        // One unit a day lands on the reorder point; 10 a day is 0..=9 below it (mean 4.5,
        // variance 99/12 = 8.25); no demand, none.
        assert_eq!(undershoot(&[1.0; 30]), (0.0, 0.0));
        let (mean, variance) = undershoot(&[10.0; 30]);
        assert!((mean - 4.5).abs() < 1e-9 && (variance - 8.25).abs() < 1e-9, "{mean} {variance}");
        assert_eq!(undershoot(&[0.0; 5]), (0.0, 0.0));
        // 6 on one day in three: sizes alone matter, 0..=5 below (mean 2.5).
        let series: Vec<f64> = (0..30).map(|t| if t % 3 == 0 { 6.0 } else { 0.0 }).collect();
        assert!((undershoot(&series).0 - 2.5).abs() < 1e-9);
    }

    #[test]
    fn gamma_safety_factors() {
        // Little skew (shape 400): close to the normal's factor.
        let normal = z_for_fill_rate(ServiceMeasure::FillRate, 0.95, 100.0, 20.0);
        let gamma = z_for_fill_rate_gamma(0.95, 100.0, 400.0, 20.0);
        assert!((gamma - normal).abs() < 0.03, "{gamma} {normal}");
        // Shape 1 is the exponential: E[(X − s)⁺] = m·e^(−s/m). At 99% of orders of 100 the
        // normal's k is 1.25 (G(k) = 0.05); the exponential needs 20·e^(−s/20) = 1, s = 59.9,
        // k = (59.9 − 20)/20 = 2.0.
        assert!((gamma_loss(20.0, 20.0, 30.0) - 20.0 * (-1.5f64).exp()).abs() < 1e-9);
        let normal = z_for_fill_rate(ServiceMeasure::FillRate, 0.99, 100.0, 20.0);
        let gamma = z_for_fill_rate_gamma(0.99, 100.0, 20.0, 20.0);
        assert!((normal - 1.25).abs() < 0.01 && (gamma - 1.996).abs() < 0.01, "{normal} {gamma}");
        assert_eq!(z_for_fill_rate_gamma(0.95, 1000.0, 400.0, 20.0), 0.0);
        assert_eq!(z_for_fill_rate_gamma(0.95, 100.0, 400.0, 0.0), 0.0);
    }

    #[test]
    fn safety_factors() {
        let cycle = z_for_fill_rate(ServiceMeasure::Cycle, 0.95, 0.0, 10.0);
        assert!((cycle - 1.6449).abs() < 1e-3, "{cycle}");
        assert!((z_for_fill_rate(ServiceMeasure::Cycle, 0.5, 0.0, 10.0)).abs() < 1e-9);
        // Fill rate 95%, orders of 100, σ 20: G(k) = 0.05·100/20 = 0.25 → k ≈ 0.3449.
        let k = z_for_fill_rate(ServiceMeasure::FillRate, 0.95, 100.0, 20.0);
        assert!((k - 0.3449).abs() < 2e-3, "{k}");
        assert!((normal_loss(k) - 0.25).abs() < 1e-6);
        // Big orders meet the fill rate from cycle stock alone: no safety factor.
        assert_eq!(z_for_fill_rate(ServiceMeasure::FillRate, 0.95, 1000.0, 20.0), 0.0);
        // No spread: nothing to cover.
        assert_eq!(z_for_fill_rate(ServiceMeasure::FillRate, 0.95, 100.0, 0.0), 0.0);
        // Higher levels never lower z.
        let mut last = 0.0;
        for level in [0.5, 0.8, 0.9, 0.95, 0.99, 0.999] {
            let k = z_for_fill_rate(ServiceMeasure::FillRate, level, 10.0, 20.0);
            assert!(k >= last, "{level}: {k} < {last}");
            last = k;
        }
    }
}
