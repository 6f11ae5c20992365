//! Reservations as two-phase holds, like TigerBeetle's pending transfers:
//! pending → committed (posted) | released (voided) | expired, resolved exactly once.
//!
//! A pending hold may also be *prepared* (the first phase of a coordinator's two-phase commit
//! across SKUs): it still reports `pending`, but it no longer expires and can only be committed
//! or released, so a coordinator that has prepared every SKU can commit them all.

use crate::error::HoldStatus;
use crate::ids::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Units of one line taken from one location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub location: Id,
    pub qty: i64,
}

/// One requested line of a hold on this SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldLineRequest {
    pub qty: i64,
    pub location: Option<Id>,
}

/// What the host asks the ledger to hold. Ids and times come from the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequest {
    pub id: Id,
    pub channel: Option<Id>,
    pub lines: Vec<HoldLineRequest>,
    pub expires_at: DateTime<Utc>,
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldLine {
    pub qty: i64,
    pub location: Option<Id>,
    pub allocations: Vec<Allocation>,
}

/// A hold on one SKU. Open while pending, or committed with units still allocated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub id: Id,
    pub status: HoldStatus,
    pub channel: Option<Id>,
    pub reference: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<HoldLine>,
    /// Once committed: units still allocated per location; ships draw these down.
    pub allocated: Vec<Allocation>,
    /// A pending hold a coordinator prepared: it no longer expires; only commit or release end it.
    /// Absent on the wire and in older snapshots when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prepared: bool,
}

impl Hold {
    pub fn qty(&self) -> i64 {
        self.lines.iter().map(|line| line.qty).sum()
    }

    /// Held units per location, summed over lines, in first-allocated order.
    pub fn held_by_location(&self) -> Vec<Allocation> {
        let mut out: Vec<Allocation> = Vec::new();
        for allocation in self.lines.iter().flat_map(|line| &line.allocations) {
            match out.iter_mut().find(|a| a.location == allocation.location) {
                Some(existing) => existing.qty += allocation.qty,
                None => out.push(allocation.clone()),
            }
        }
        out
    }

    pub fn allocated_at(&self, location: &str) -> i64 {
        self.allocated.iter().filter(|a| a.location.as_str() == location).map(|a| a.qty).sum()
    }

    /// Whether the hold counts as expired at `now`: pending, not prepared, and past `expires_at`.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Pending && !self.prepared && self.expires_at <= now
    }

    pub fn expires_at_ms(&self) -> i64 {
        self.expires_at.timestamp_millis()
    }
}
