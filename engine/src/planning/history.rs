//! Daily demand per location: kept from the ledger as it moves, or imported from the system a
//! team comes from. Bounded to `DEMAND_DAYS_MAX` days back from today.
//!
//! What counts as demand: the units a reservation commits, on the day it commits, at each
//! location it allocates from. Every `ship` draws on a committed reservation, so counting ships
//! as well would count the same units twice; returns do not cancel demand (the customer wanted
//! the item on that day).

use super::{date_of, day_of, Day};
use crate::catalog::Catalog;
use crate::error::EngineError;
use crate::ids::Id;
use crate::ledger::{Effect, Entry, Event};
use crate::limits::{DEMAND_DAYS_MAX, DEMAND_IMPORT_DAYS_MAX, QTY_REQUEST_MAX};
use crate::position::Bucket;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One day of demand, as the wire carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandDay {
    pub date: NaiveDate,
    pub qty: i64,
}

/// `POST /v1/skus/{sku}/demand-history`: replaces these dates (at `location`, or at the SKU's
/// "all locations" series when none is named).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandImport {
    #[serde(default)]
    pub location: Option<Id>,
    pub days: Vec<DemandDay>,
}

/// The series key of demand imported without a location.
pub const UNLOCATED: &str = "*";

impl DemandImport {
    /// Checks every day before anything is replaced: the location exists, dates within the last
    /// `DEMAND_DAYS_MAX` days and not after `today`, each date once, quantities
    /// 0..=`QTY_REQUEST_MAX`.
    pub fn check(&self, catalog: &Catalog, today: NaiveDate) -> Result<(), EngineError> {
        if let Some(location) = &self.location {
            catalog.slot_or_not_found(location.as_str())?;
        }
        if self.days.is_empty() || self.days.len() > DEMAND_IMPORT_DAYS_MAX {
            return Err(EngineError::invalid("days", format!("must list 1..={DEMAND_IMPORT_DAYS_MAX} days")));
        }
        let today_day = day_of(today);
        let oldest = oldest_kept(today);
        let mut seen = std::collections::BTreeSet::new();
        for (index, day) in self.days.iter().enumerate() {
            let field = format!("days[{index}]");
            let number = day_of(day.date);
            if number > today_day {
                return Err(EngineError::invalid(&format!("{field}.date"), format!("{} is after today", day.date)));
            }
            if number < oldest {
                return Err(EngineError::invalid(
                    &format!("{field}.date"),
                    format!("{} is more than {DEMAND_DAYS_MAX} days ago", day.date),
                ));
            }
            if !seen.insert(number) {
                return Err(EngineError::invalid(&format!("{field}.date"), format!("{} is listed twice", day.date)));
            }
            if !(0..=QTY_REQUEST_MAX).contains(&day.qty) {
                return Err(EngineError::invalid(
                    &format!("{field}.qty"),
                    format!("must be a whole number 0..={QTY_REQUEST_MAX}"),
                ));
            }
        }
        Ok(())
    }

    /// The series this import replaces days of.
    pub fn series_key(&self) -> &str {
        self.location.as_ref().map_or(UNLOCATED, Id::as_str)
    }
}

/// The oldest day a history keeps on `today` (a host pruning its storage uses the same rule).
pub fn oldest_kept(today: NaiveDate) -> Day {
    day_of(today) - DEMAND_DAYS_MAX + 1
}

/// The demand an entry records: (location, date, units). Only a commit is demand (see the module).
pub fn demand_of(entry: &Entry) -> Vec<(Id, NaiveDate, i64)> {
    let Event::HoldCommitted { .. } = entry.event else { return Vec::new() };
    let date = entry.occurred_at.date_naive();
    let mut demand: Vec<(Id, NaiveDate, i64)> = Vec::new();
    for effect in &entry.effects {
        if let Effect::Qty { location, bucket: Bucket::Allocated, delta } = effect {
            if *delta <= 0 {
                continue;
            }
            match demand.iter_mut().find(|(at, _, _)| at == location) {
                Some((_, _, qty)) => *qty += delta,
                None => demand.push((location.clone(), date, *delta)),
            }
        }
    }
    demand
}

/// Daily demand by series (a location id, or `UNLOCATED` for imported totals) and day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemandHistory {
    days: BTreeMap<String, BTreeMap<Day, i64>>,
}

impl DemandHistory {
    pub fn add(&mut self, series: &str, date: NaiveDate, qty: i64) {
        assert!(qty >= 0);
        *self.days.entry(series.to_string()).or_default().entry(day_of(date)).or_insert(0) += qty;
    }

    pub fn set(&mut self, series: &str, date: NaiveDate, qty: i64) {
        assert!(qty >= 0);
        self.days.entry(series.to_string()).or_default().insert(day_of(date), qty);
    }

    /// Applies a checked import: its dates replace what the series had.
    pub fn import(&mut self, import: &DemandImport) {
        for day in &import.days {
            self.set(import.series_key(), day.date, day.qty);
        }
    }

    /// Forgets days older than `DEMAND_DAYS_MAX` before `today`.
    pub fn prune(&mut self, today: NaiveDate) {
        let oldest = oldest_kept(today);
        for days in self.days.values_mut() {
            days.retain(|&day, _| day >= oldest);
        }
        self.days.retain(|_, days| !days.is_empty());
    }

    /// Whether any demand was recorded at this series (a location, or `UNLOCATED`).
    pub fn has_series(&self, series: &str) -> bool {
        self.days.contains_key(series)
    }

    /// Demand on one day: at a series, or summed over every series (`None`).
    pub fn on(&self, series: Option<&str>, date: NaiveDate) -> i64 {
        let day = day_of(date);
        self.days
            .iter()
            .filter(|(key, _)| series.is_none_or(|series| series == key.as_str()))
            .filter_map(|(_, days)| days.get(&day))
            .sum()
    }

    /// Mean demand a day at a series over the `days` days up to and including `until`.
    pub fn mean_daily(&self, series: &str, until: NaiveDate, days: i32) -> f64 {
        assert!(days > 0);
        let until_day = day_of(until);
        let total: i64 =
            self.days.get(series).map_or(0, |kept| kept.range(until_day - days + 1..=until_day).map(|(_, q)| q).sum());
        total as f64 / f64::from(days)
    }

    /// Every (series, date, qty) kept, for a host to store.
    pub fn rows(&self) -> impl Iterator<Item = (&str, NaiveDate, i64)> {
        self.days.iter().flat_map(|(series, days)| {
            days.iter().filter_map(move |(&day, &qty)| Some((series.as_str(), date_of(day)?, qty)))
        })
    }

    /// The daily series up to and including `until` (yesterday, for a plan): from the first day
    /// with a record (at most `DEMAND_DAYS_MAX` days back), zeros where nothing was recorded.
    /// `location` narrows it to one location's series; `None` sums every series.
    pub fn series(&self, location: Option<&str>, until: NaiveDate) -> (Option<NaiveDate>, Vec<f64>) {
        let until_day = day_of(until);
        let oldest = until_day - DEMAND_DAYS_MAX + 1;
        let mut totals: BTreeMap<Day, i64> = BTreeMap::new();
        for (series, days) in &self.days {
            if location.is_some_and(|location| location != series) {
                continue;
            }
            for (&day, &qty) in days.range(oldest..=until_day) {
                *totals.entry(day).or_insert(0) += qty;
            }
        }
        let Some((&first, _)) = totals.first_key_value() else { return (None, Vec::new()) };
        let length = usize::try_from(until_day - first + 1).expect("first <= until");
        let mut values = vec![0.0; length];
        for (day, qty) in totals {
            values[usize::try_from(day - first).expect("in range")] = qty as f64;
        }
        (date_of(first), values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[track_caller]
    fn check_import(days: &[(&str, i64)], expect: Result<(), &str>) {
        let import = DemandImport {
            location: None,
            days: days.iter().map(|&(d, qty)| DemandDay { date: date(d), qty }).collect(),
        };
        let got = import.check(&Catalog::default(), date("2026-12-02")).map_err(|error| error.to_string());
        match expect {
            Ok(()) => assert_eq!(got, Ok(())),
            Err(part) => assert!(got.as_ref().is_err_and(|m| m.contains(part)), "{got:?} lacks {part}"),
        }
    }

    #[test]
    fn imports_are_checked_whole() {
        check_import(&[("2026-12-02", 3), ("2024-12-03", 0)], Ok(()));
        check_import(&[("2026-12-03", 3)], Err("after today"));
        check_import(&[("2024-12-02", 3)], Err("more than 730 days ago"));
        check_import(&[("2026-12-01", 3), ("2026-12-01", 4)], Err("days[1].date: 2026-12-01 is listed twice"));
        check_import(&[("2026-12-01", -1)], Err("days[0].qty"));
        check_import(&[("2026-12-01", 1_000_000_001)], Err("days[0].qty"));
        check_import(&[], Err("days: must list"));
        let elsewhere = DemandImport { location: Some(Id::new("nowhere").expect("id")), days: Vec::new() };
        assert_eq!(
            elsewhere.check(&Catalog::default(), date("2026-12-02")),
            Err(EngineError::not_found("location", "nowhere"))
        );
    }

    #[test]
    fn series_sums_locations_and_fills_gaps() {
        let mut history = DemandHistory::default();
        history.add("east", date("2026-11-28"), 2);
        history.add("east", date("2026-11-28"), 3);
        history.add("west", date("2026-11-30"), 4);
        history.set(UNLOCATED, date("2026-11-29"), 1);
        history.add("east", date("2026-12-02"), 9); // today: after `until`, left out
        let (first, values) = history.series(None, date("2026-12-01"));
        assert_eq!(first, Some(date("2026-11-28")));
        assert_eq!(values, vec![5.0, 1.0, 4.0, 0.0]);
        let (first, values) = history.series(Some("west"), date("2026-12-01"));
        assert_eq!((first, values), (Some(date("2026-11-30")), vec![4.0, 0.0]));
        assert_eq!((history.on(None, date("2026-11-28")), history.on(Some("east"), date("2026-12-02"))), (5, 9));
        assert_eq!(history.on(Some("west"), date("2026-11-28")), 0);
        // East over the 3 days to Dec 1: 0 + 0 + 0 (Nov 29..Dec 1); over 4 days: 5 on Nov 28.
        assert_eq!(history.mean_daily("east", date("2026-12-01"), 3), 0.0);
        assert_eq!(history.mean_daily("east", date("2026-12-01"), 4), 1.25);
        assert!(history.has_series("east") && !history.has_series("north"));
        assert_eq!(history.series(Some("north"), date("2026-12-01")), (None, Vec::new()));
        // An import replaces its dates, and pruning keeps 730 days.
        history.import(&DemandImport {
            location: Some(Id::new("east").expect("id")),
            days: vec![DemandDay { date: date("2026-11-28"), qty: 1 }],
        });
        assert_eq!(history.series(Some("east"), date("2026-11-28")).1, vec![1.0]);
        history.add("east", date("2024-12-02"), 7);
        history.prune(date("2026-12-01"));
        assert_eq!(history.rows().filter(|(_, d, _)| *d == date("2024-12-02")).count(), 1);
        history.prune(date("2026-12-02"));
        assert_eq!(history.rows().filter(|(_, d, _)| *d == date("2024-12-02")).count(), 0);
    }
}
