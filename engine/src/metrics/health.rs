//! Stock health as of now, from the health each SKU's latest plan measured (`StockHealth`): a
//! gauge, not a window. The host sums rows (all SKUs, or per location) and hands them over; the
//! figures, the ranking and the bounds are decided here.

use super::read::{Keyed, MetricsBy, GROUPS_MAX};
use crate::planning::aging::{AgeBands, AGED_BUCKETS, AGE_BAND_NAMES};
use crate::position::Bucket;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Units of one aged bucket in one age band, summed by the host for a key (the total's is empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgingRow {
    pub key: String,
    pub bucket: Bucket,
    pub band: u32,
    pub units: i64,
}

/// Units in one age band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandUnits {
    /// `under_30_days`, `30_to_59_days`, `60_to_89_days`, `90_to_179_days`, `180_days_or_more`.
    pub band: String,
    pub units: i64,
}

/// How long units have been on hand, in quarantine and damaged, by band (youngest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aging {
    pub on_hand: Vec<BandUnits>,
    pub quarantined: Vec<BandUnits>,
    pub damaged: Vec<BandUnits>,
}

impl Aging {
    fn of(bands: &AgeBands) -> Aging {
        let units = |bucket: Bucket| {
            AGE_BAND_NAMES
                .iter()
                .zip(bands.bands(bucket))
                .map(|(band, units)| BandUnits { band: band.to_string(), units: *units })
                .collect()
        };
        Aging {
            on_hand: units(Bucket::OnHand),
            quarantined: units(Bucket::Quarantined),
            damaged: units(Bucket::Damaged),
        }
    }
}

/// Each key's bands from the host's rows.
fn bands_by_key(rows: &[AgingRow]) -> BTreeMap<&str, AgeBands> {
    let mut by_key: BTreeMap<&str, AgeBands> = BTreeMap::new();
    for row in rows {
        assert!(AGED_BUCKETS.contains(&row.bucket) && (row.band as usize) < AGE_BAND_NAMES.len() && row.units >= 0);
        by_key.entry(row.key.as_str()).or_default().bands_mut(row.bucket)[row.band as usize] += row.units;
    }
    by_key
}

/// Summed health rows as the host reads them: one SKU (at a location, or over all), or a sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthRow {
    pub key: String,
    /// SKU rows summed (1 for one SKU).
    pub skus: i64,
    pub on_hand: i64,
    pub unsellable: i64,
    /// Sellable on hand of the rows with demand, and their mean daily demand: the cover.
    pub covered_sellable: i64,
    pub mean_daily_demand: f64,
    pub excess_units: i64,
    pub with_excess: i64,
    pub dead: i64,
    pub dead_units: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthFigures {
    /// SKUs (or SKU-locations) counted: those planned.
    pub skus: i64,
    pub on_hand: i64,
    /// Quarantined and damaged: on hand, not sellable.
    pub unsellable: i64,
    /// Sellable on hand of the SKUs with demand ÷ their forecast daily demand (one decimal).
    pub days_of_cover: Option<f64>,
    /// Units beyond `EXCESS_COVER_DAYS` of forecast demand, and the SKUs holding any.
    pub excess_units: i64,
    pub skus_with_excess: i64,
    /// SKUs with stock and no demand for `DEAD_STOCK_DAYS`, and their units on hand.
    pub dead_skus: i64,
    pub dead_units: i64,
    /// How long the units have been where they are.
    #[serde(default)]
    pub aging: Aging,
}

impl HealthFigures {
    fn of(row: &HealthRow, bands: Option<&AgeBands>) -> HealthFigures {
        assert!(row.skus >= 0 && row.on_hand >= row.unsellable.min(row.on_hand) && row.dead <= row.skus);
        let cover = (row.mean_daily_demand > 0.0)
            .then(|| (row.covered_sellable.max(0) as f64 / row.mean_daily_demand * 10.0).round() / 10.0);
        HealthFigures {
            skus: row.skus,
            on_hand: row.on_hand,
            unsellable: row.unsellable,
            days_of_cover: cover,
            excess_units: row.excess_units,
            skus_with_excess: row.with_excess,
            dead_skus: row.dead,
            dead_units: row.dead_units,
            aging: Aging::of(bands.unwrap_or(&AgeBands::default())),
        }
    }
}

/// `GET /v1/metrics/stock-health`: the planned SKUs' stock now; groups (by SKU or location) with
/// the most dead units first, then the most excess, then the fewest days of cover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockHealthReport {
    pub as_of: NaiveDate,
    pub by: Option<MetricsBy>,
    #[serde(flatten)]
    pub figures: HealthFigures,
    pub groups: Vec<Keyed<HealthFigures>>,
    /// The thresholds the figures use.
    pub excess_cover_days: i64,
    pub dead_stock_days: i64,
}

/// The report from the total row (all SKUs) and the group rows of `by`, with the age bands of
/// each (the total's keyed empty).
pub fn read_stock_health(
    total: &HealthRow,
    groups: &[HealthRow],
    aging: &[AgingRow],
    by: Option<MetricsBy>,
    today: NaiveDate,
) -> StockHealthReport {
    assert!(by.is_some() || groups.is_empty(), "groups come with a breakdown");
    assert!(total.key.is_empty() && groups.iter().all(|row| !row.key.is_empty()), "the total alone is keyed empty");
    let bands = bands_by_key(aging);
    let mut groups: Vec<Keyed<HealthFigures>> = groups
        .iter()
        .map(|row| Keyed { key: row.key.clone(), figures: HealthFigures::of(row, bands.get(row.key.as_str())) })
        .collect();
    groups.sort_by(|a, b| {
        let (x, y) = (&a.figures, &b.figures);
        y.dead_units
            .cmp(&x.dead_units)
            .then(y.excess_units.cmp(&x.excess_units))
            .then(x.days_of_cover.unwrap_or(f64::INFINITY).total_cmp(&y.days_of_cover.unwrap_or(f64::INFINITY)))
            .then_with(|| a.key.cmp(&b.key))
    });
    groups.truncate(GROUPS_MAX);
    StockHealthReport {
        as_of: today,
        by,
        figures: HealthFigures::of(total, bands.get("")),
        groups,
        excess_cover_days: crate::planning::EXCESS_COVER_DAYS,
        dead_stock_days: crate::planning::DEAD_STOCK_DAYS,
    }
}
