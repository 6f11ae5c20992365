//! Replenishment planning: daily demand history, the demand class, forecasts chosen by backtest,
//! the policy (safety stock from demand *and* lead-time spread, reorder point, order-up-to level),
//! the suggestion with its reason, and the day-by-day projection with the predicted stockout.
//!
//! Sans-IO like the rest of the engine: "today", the history, the stock and the inbound come in as
//! arguments; a [`plan::Plan`] comes out. Forecasting is arithmetic on `f64` (demand rates are not
//! money); every quantity a buyer acts on is rounded up to whole units at the end.

pub mod aging;
pub mod class;
pub mod expedite;
pub mod forecast;
pub mod history;
pub mod ledger;
pub mod plan;
pub mod policy;
pub mod what_if;

use chrono::NaiveDate;

pub use aging::{age_summaries, AgeBands, AgeLayers, LayerRow, AGED_BUCKETS, AGE_BAND_NAMES};
pub use class::{classify, DemandClass, DemandStats};
pub use expedite::{ExpediteBook, ExpediteChange, ExpediteRequest};
pub use forecast::{choose, Candidate, Forecast, Method};
pub use history::{demand_of, oldest_kept, DemandDay, DemandHistory, DemandImport, UNLOCATED};
pub use ledger::{bases, out_of_stock, refresh_scopes, stockout_day, STOCKOUT_REPORT_DAYS};
pub use plan::{
    demand_anomaly, plan, plan_with, spare, Action, ActionKind, Alert, DemandAnomaly, Elsewhere, Inbound, Plan,
    PlanBasis, PlanSummary, ProjectionDay, StockHealth, Suggestion, DEAD_STOCK_DAYS, EXCESS_COVER_DAYS,
};
pub use policy::{
    order_quantity, safety_stock, z_for_fill_rate, LeadTime, PlanningPolicy, ServiceMeasure, Supplier, SupplierSpec,
};
pub use what_if::WhatIf;

/// A calendar day as days since 1970-01-01 (UTC), for arithmetic; dates on the wire.
pub type Day = i32;

pub fn day_of(date: NaiveDate) -> Day {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
    i32::try_from((date - epoch).num_days()).expect("chrono dates fit i32 days")
}

/// The date of a day number; `None` outside chrono's range (never for days made by `day_of`).
pub fn date_of(day: Day) -> Option<NaiveDate> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    epoch.checked_add_signed(chrono::Duration::days(i64::from(day)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for text in ["1970-01-01", "2024-02-29", "2026-12-02", "1969-12-31"] {
            let date: NaiveDate = text.parse().expect("a date");
            assert_eq!(date_of(day_of(date)), Some(date));
        }
        assert_eq!(day_of("1970-01-02".parse().expect("a date")), 1);
    }
}
