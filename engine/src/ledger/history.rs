//! The net on-hand change at one location over versions, for merging counts taken earlier.

use super::*;

/// Net on-hand change at one location, as cumulative points, for counts at an earlier version.
/// Counts themselves are not movements of stock and are left out: two people counting the same
/// shelf from the same version must land on the same on_hand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct OnHandHistory {
    /// (version, cumulative net change up to and including it), versions ascending.
    pub(super) points: VecDeque<(u64, i64)>,
    /// The newest point dropped to keep the bound, if any.
    pub(super) dropped: Option<(u64, i64)>,
    pub(super) cumulative: i64,
    /// The version of the last count at this location (0: none), to tell counts that disagree.
    #[serde(default)]
    pub(super) last_count_version: u64,
}

impl OnHandHistory {
    pub(super) fn record(&mut self, version: u64, delta: i64) {
        self.cumulative += delta;
        match self.points.back_mut() {
            Some(last) if last.0 == version => last.1 = self.cumulative,
            _ => self.points.push_back((version, self.cumulative)),
        }
        if self.points.len() > COUNT_HISTORY_POINTS_MAX {
            self.dropped = self.points.pop_front();
        }
    }

    /// The net change recorded by the entry at `version` itself (0 when it moved nothing here),
    /// or None when that far back is forgotten.
    pub(super) fn change_at(&self, version: u64) -> Option<i64> {
        let index = self.points.partition_point(|&(v, _)| v < version);
        match self.points.get(index) {
            Some(&(v, cumulative)) if v == version => {
                let before = match index {
                    0 => self.dropped.map_or(0, |(_, c)| c),
                    _ => self.points[index - 1].1,
                };
                Some(cumulative - before)
            }
            _ => match self.dropped {
                Some((dropped_version, _)) if version <= dropped_version => None,
                _ => Some(0),
            },
        }
    }

    /// Net change recorded after `version`, or None when that far back is forgotten.
    pub(super) fn change_since(&self, version: u64) -> Option<i64> {
        let index = self.points.partition_point(|&(v, _)| v <= version);
        let base = if index > 0 {
            self.points[index - 1].1
        } else {
            match self.dropped {
                Some((dropped_version, cumulative)) if version >= dropped_version => cumulative,
                Some(_) => return None,
                None => 0,
            }
        };
        Some(self.cumulative - base)
    }
}
