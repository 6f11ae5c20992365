//! How long units have been where they are: per location, first-in-first-out layers of the days
//! units came on hand, into quarantine and into damaged, kept from the ledger's entries (units
//! leave from the oldest layer). Stock health reads them as bands of age.
//!
//! A transfer's units start a new layer where they arrive (their age is time at that location).
//! Layers kept before a SKU's units were aged (or merged past the cap) are dated no earlier than
//! known, so an age reads as "at least".

use super::{date_of, day_of, Day};
use crate::catalog::Catalog;
use crate::ids::Id;
use crate::ledger::{Effect, Entry, SkuLedger};
use crate::position::Bucket;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The buckets whose units are aged.
pub const AGED_BUCKETS: [Bucket; 3] = [Bucket::OnHand, Bucket::Quarantined, Bucket::Damaged];
/// Where each age band ends, in days: under 30, 30–59, 60–89, 90–179, 180 or more.
pub const AGE_BAND_ENDS_DAYS: [i64; 4] = [30, 60, 90, 180];
/// The bands' names, youngest first.
pub const AGE_BAND_NAMES: [&str; 5] =
    ["under_30_days", "30_to_59_days", "60_to_89_days", "90_to_179_days", "180_days_or_more"];
/// Layers one bucket at one location keeps at most: past it the two oldest merge (dated the
/// newer of the two, so their age reads as at least).
pub const AGE_LAYERS_MAX: usize = 400;

/// Units of one bucket by age band (youngest first).
pub type Bands = [i64; 5];

/// Units of the aged buckets by age band.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeBands {
    pub on_hand: Bands,
    pub quarantined: Bands,
    pub damaged: Bands,
}

impl AgeBands {
    pub fn bands(&self, bucket: Bucket) -> &Bands {
        match bucket {
            Bucket::Quarantined => &self.quarantined,
            Bucket::Damaged => &self.damaged,
            _ => &self.on_hand,
        }
    }

    pub fn bands_mut(&mut self, bucket: Bucket) -> &mut Bands {
        match bucket {
            Bucket::Quarantined => &mut self.quarantined,
            Bucket::Damaged => &mut self.damaged,
            _ => &mut self.on_hand,
        }
    }
}

/// Each summary's stock health with the age of its units (its location's, or every location's).
pub fn age_summaries(summaries: &mut [super::PlanSummary], layers: &AgeLayers, today: NaiveDate) {
    for summary in summaries {
        let bands = layers.bands(summary.location.as_ref(), today);
        if let Some(health) = summary.health.as_mut() {
            health.aging = Some(bands);
        }
    }
}

/// The band of units `age_days` old.
pub fn age_band(age_days: i64) -> usize {
    AGE_BAND_ENDS_DAYS.iter().position(|end| age_days < *end).unwrap_or(AGE_BAND_ENDS_DAYS.len())
}

/// One stored layer: what the host writes (a qty of 0: delete it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRow {
    pub location: Id,
    pub bucket: Bucket,
    pub day: Day,
    pub qty: i64,
}

/// One SKU's layers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgeLayers {
    layers: BTreeMap<(Id, Bucket), VecDeque<(Day, i64)>>,
}

impl AgeLayers {
    /// A stored layer, as loaded.
    pub fn set(&mut self, row: &LayerRow) {
        assert!(AGED_BUCKETS.contains(&row.bucket) && row.qty > 0, "a stored layer is of an aged bucket");
        let layers = self.layers.entry((row.location.clone(), row.bucket)).or_default();
        let at = layers.partition_point(|(day, _)| *day < row.day);
        match layers.get_mut(at) {
            Some((day, qty)) if *day == row.day => *qty = row.qty,
            _ => layers.insert(at, (row.day, row.qty)),
        }
    }

    /// Moves the layers as `entry` moves units; answers the layers it changed.
    pub fn apply(&mut self, entry: &Entry) -> Vec<LayerRow> {
        let today = day_of(entry.occurred_at.date_naive());
        let mut changed = Vec::new();
        for effect in &entry.effects {
            let Effect::Qty { location, bucket, delta } = effect else { continue };
            if AGED_BUCKETS.contains(bucket) && *delta != 0 {
                changed.extend(self.add(location, *bucket, today, *delta));
            }
        }
        changed
    }

    /// Brings each aged bucket's layers to what the ledger holds (units with no layer, kept before
    /// they were aged, dated `today`; layers beyond the units, the oldest first, gone).
    pub fn reconcile(&mut self, ledger: &SkuLedger, catalog: &Catalog, today: NaiveDate) -> Vec<LayerRow> {
        let mut changed = Vec::new();
        for (slot, location) in catalog.locations().iter().enumerate() {
            let position = ledger.position(slot as u32);
            for bucket in AGED_BUCKETS {
                let layered: i64 =
                    self.layers.get(&(location.id.clone(), bucket)).map_or(0, |l| l.iter().map(|(_, q)| q).sum());
                let gap = position.get(bucket).max(0) - layered;
                if gap != 0 {
                    changed.extend(self.add(&location.id, bucket, day_of(today), gap));
                }
            }
        }
        changed
    }

    /// Units in (`delta` > 0, a layer dated `day`) or out (from the oldest).
    fn add(&mut self, location: &Id, bucket: Bucket, day: Day, delta: i64) -> Vec<LayerRow> {
        let layers = self.layers.entry((location.clone(), bucket)).or_default();
        let row = |day: Day, qty: i64| LayerRow { location: location.clone(), bucket, day, qty };
        let mut changed = Vec::new();
        if delta > 0 {
            match layers.back_mut() {
                Some((last, qty)) if *last >= day => *qty += delta,
                _ => layers.push_back((day, delta)),
            }
            let (last, qty) = *layers.back().expect("just added");
            changed.push(row(last, qty));
            if layers.len() > AGE_LAYERS_MAX {
                let (oldest_day, oldest) = layers.pop_front().expect("over the cap");
                let (next_day, next) = layers.front_mut().expect("over the cap");
                *next += oldest;
                changed.push(row(oldest_day, 0));
                changed.push(row(*next_day, *next));
            }
        } else {
            let mut out = -delta;
            while out > 0 {
                let Some((oldest_day, qty)) = layers.front_mut() else { break };
                let taken = out.min(*qty);
                *qty -= taken;
                out -= taken;
                changed.push(row(*oldest_day, *qty));
                if *qty == 0 {
                    layers.pop_front();
                }
            }
        }
        changed
    }

    /// Units by age band on `today`, at `location` or over every location.
    pub fn bands(&self, location: Option<&Id>, today: NaiveDate) -> AgeBands {
        let mut bands = AgeBands::default();
        for ((at, bucket), layers) in &self.layers {
            if location.is_some_and(|location| location != at) {
                continue;
            }
            for (day, qty) in layers {
                let age_days = date_of(*day).map_or(0, |date| (today - date).num_days().max(0));
                bands.bands_mut(*bucket)[age_band(age_days)] += qty;
            }
        }
        bands
    }

    /// Every layer, as stored.
    pub fn rows(&self) -> impl Iterator<Item = LayerRow> + '_ {
        self.layers.iter().flat_map(|((location, bucket), layers)| {
            layers.iter().map(|(day, qty)| LayerRow {
                location: location.clone(),
                bucket: *bucket,
                day: *day,
                qty: *qty,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Actor, Event};
    use crate::Role;
    use chrono::{Duration, TimeZone, Utc};

    fn id(value: &str) -> Id {
        Id::new(value).expect("an id")
    }

    /// An entry on day `day` (days after 2026-01-01) moving `effects` (location, bucket, delta).
    fn entry(day: i64, effects: &[(&str, Bucket, i64)]) -> Entry {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().expect("a time") + Duration::days(day);
        Entry {
            version: 1,
            event: Event::HoldReleased { reservation: id("r") },
            effects: effects
                .iter()
                .map(|&(location, bucket, delta)| Effect::Qty { location: id(location), bucket, delta })
                .collect(),
            actor: Actor { subject: "test".into(), role: Role::Admin },
            occurred_at: at,
            recorded_at: at,
        }
    }

    fn day(offset: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date") + Duration::days(offset)
    }

    /// Feeds `entries` and reads the bands at A on `today` (days after 2026-01-01).
    fn check(entries: &[Entry], today: i64, on_hand: Bands, quarantined: Bands, damaged: Bands) {
        let mut layers = AgeLayers::default();
        for entry in entries {
            layers.apply(entry);
        }
        let bands = layers.bands(Some(&id("A")), day(today));
        assert_eq!(bands, AgeBands { on_hand, quarantined, damaged });
        assert!(layers.rows().all(|row| row.qty > 0), "no empty layer is kept");
    }

    #[test]
    fn units_leave_from_the_oldest_layer() {
        use Bucket::*;
        // 10 on day 0, 5 on day 50; 12 out on day 60: 3 of day 50's are left, 50 days old on day 100.
        check(
            &[entry(0, &[("A", OnHand, 10)]), entry(50, &[("A", OnHand, 5)]), entry(60, &[("A", OnHand, -12)])],
            100,
            [0, 3, 0, 0, 0],
            [0; 5],
            [0; 5],
        );
        // Nothing out: 10 are 200 days old, 5 are 150.
        check(&[entry(0, &[("A", OnHand, 10)]), entry(50, &[("A", OnHand, 5)])], 200, [0, 0, 0, 5, 10], [0; 5], [0; 5]);
        // Quarantined on day 80 (on hand stays): quarantine ages from day 80.
        check(
            &[entry(0, &[("A", OnHand, 10)]), entry(80, &[("A", Quarantined, 4)])],
            100,
            [0, 0, 0, 10, 0],
            [4, 0, 0, 0, 0],
            [0; 5],
        );
        // Damaged then scrapped in part; another location's units are not A's.
        check(
            &[
                entry(0, &[("A", OnHand, 6), ("A", Damaged, 6), ("B", OnHand, 9)]),
                entry(10, &[("A", OnHand, -2), ("A", Damaged, -2)]),
            ],
            45,
            [0, 4, 0, 0, 0],
            [0; 5],
            [0, 4, 0, 0, 0],
        );
    }

    #[test]
    fn layers_are_capped_and_their_age_reads_as_at_least() {
        let mut layers = AgeLayers::default();
        for day in 0..(AGE_LAYERS_MAX as i64 + 10) {
            layers.apply(&entry(day, &[("A", Bucket::OnHand, 1)]));
        }
        assert_eq!(layers.rows().count(), AGE_LAYERS_MAX);
        assert_eq!(layers.rows().map(|row| row.qty).sum::<i64>(), AGE_LAYERS_MAX as i64 + 10);
        // The oldest merged into the next: 11 units dated day 10.
        let oldest = layers.rows().next().expect("a layer");
        assert_eq!((oldest.day, oldest.qty), (day_of(day(10)), 11));
    }

    #[test]
    fn the_bands_have_the_names_and_ends_they_say() {
        for (age_days, band) in [(0, 0), (29, 0), (30, 1), (59, 1), (60, 2), (89, 2), (90, 3), (179, 3), (180, 4)] {
            assert_eq!(age_band(age_days), band, "{age_days} days");
        }
        assert_eq!(AGE_BAND_NAMES.len(), AGE_BAND_ENDS_DAYS.len() + 1);
    }
}
