//! The per-SKU ledger: an append-only sequence of entries and the positions they add up to.
//!
//! Every change goes the same way: *decide* (validate the request against the current state and
//! produce an [`Entry`] with its [`Effect`]s) and then *apply* (add the effects to the state).
//! Replay applies stored entries without deciding again, so a ledger rebuilt from its entries
//! equals the one kept incrementally.

use crate::catalog::Catalog;
use crate::error::{EngineError, HoldStatus, Shortage};
use crate::hold::{Allocation, Hold, HoldLine, HoldLineRequest, HoldRequest};
use crate::ids::{check_barcode, check_text, Id, IdMap};
use crate::limits::*;
use crate::money::Money;
use crate::position::{channel_available, Bucket, Position};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod actor;
mod apply;
mod entry;
mod history;
mod holds;
mod inbound;
mod movement;
mod movements;
mod reads;
mod replica;
mod sku;
mod snapshot;

pub use actor::{Actor, Ctx, Role};
pub use entry::{Effect, Entry, Event};
pub use inbound::{InboundTarget, OrderReceipt};
pub use movement::{
    CountDisagreement, CountException, CountExceptionKind, Disposition, HoldShare, Movement, MovementKind, ReceiveInto,
};
pub use reads::{Availability, LocationAvailability};
pub use replica::{DeviceOp, Difference, Projection, Replica, ReplicaSnapshot};
pub use sku::{is_false, SkuPolicy, SkuSpec};
pub use snapshot::LedgerSnapshot;

use history::OnHandHistory;

/// What a recorded movement gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovementOutcome {
    pub entry: Entry,
    pub exceptions: Vec<CountException>,
}

/// The authoritative state of one SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuLedger {
    sku: Id,
    policy: Option<SkuPolicy>,
    version: u64,
    /// Indexed by catalog slot; shorter than the catalog means zeros.
    positions: Vec<Position>,
    history: Vec<OnHandHistory>,
    /// Open holds: pending, or committed with units still allocated.
    holds: IdMap<Hold>,
    /// Pending holds that are not prepared, by expiry, for the next alarm and for expiring in order.
    expiry_index: BTreeSet<(i64, Id)>,
    /// Pending holds, prepared or not: `expiry_index.len() + prepared_count`.
    pending_count: usize,
    /// Pending holds a coordinator prepared (they do not expire).
    prepared_count: usize,
    /// Final statuses of recently resolved holds, oldest first.
    resolved: IdMap<HoldStatus>,
    resolved_order: VecDeque<Id>,
    /// Units still expected per (location, reference).
    expected: BTreeMap<(Id, String), i64>,
    /// The date each dated expectation (a purchase order's) is due; a key only while expected.
    expected_on: BTreeMap<(Id, String), chrono::NaiveDate>,
    exceptions: VecDeque<CountException>,
}

fn check_request_qty(field: &str, qty: i64) -> Result<(), EngineError> {
    if (1..=QTY_REQUEST_MAX).contains(&qty) {
        Ok(())
    } else {
        Err(EngineError::invalid(field, format!("must be a whole number 1..={QTY_REQUEST_MAX}")))
    }
}

fn check_stored(value: i64) -> bool {
    (-QTY_STORED_MAX..=QTY_STORED_MAX).contains(&value)
}

impl SkuLedger {
    pub fn new(sku: Id) -> SkuLedger {
        SkuLedger {
            sku,
            policy: None,
            version: 0,
            positions: Vec::new(),
            history: Vec::new(),
            holds: IdMap::default(),
            expiry_index: BTreeSet::new(),
            pending_count: 0,
            prepared_count: 0,
            resolved: IdMap::default(),
            resolved_order: VecDeque::new(),
            expected: BTreeMap::new(),
            expected_on: BTreeMap::new(),
            exceptions: VecDeque::new(),
        }
    }

    pub fn sku(&self) -> &Id {
        &self.sku
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn policy(&self) -> Option<&SkuPolicy> {
        self.policy.as_ref()
    }

    pub fn is_defined(&self) -> bool {
        self.policy.is_some()
    }

    pub fn position(&self, slot: u32) -> Position {
        self.positions.get(slot as usize).copied().unwrap_or_default()
    }

    pub fn hold(&self, id: &str) -> Option<&Hold> {
        self.holds.get(id)
    }

    pub fn open_hold_count(&self) -> usize {
        self.holds.len()
    }

    pub fn pending_hold_count(&self) -> usize {
        self.pending_count
    }

    /// Pending holds a coordinator prepared (they are among `pending_hold_count`).
    pub fn prepared_hold_count(&self) -> usize {
        self.prepared_count
    }

    /// The status of a hold this ledger knows of: open, or resolved and still remembered.
    pub fn hold_status(&self, id: &str) -> Option<HoldStatus> {
        self.holds.get(id).map(|hold| hold.status).or_else(|| self.resolved.get(id).copied())
    }

    pub fn open_exceptions(&self) -> impl Iterator<Item = &CountException> {
        self.exceptions.iter()
    }

    /// Every open expectation: (location, reference, units still expected).
    pub fn expectations(&self) -> impl Iterator<Item = (&Id, &str, i64)> {
        self.expected.iter().map(|((location, reference), &qty)| (location, reference.as_str(), qty))
    }

    pub fn expected(&self, location: &str, reference: &str) -> i64 {
        // A lookup, not a scan: every receive with a reference and every transfer asks this, with
        // up to EXPECTATIONS_MAX expectations open.
        match Id::new(location) {
            Ok(location) => self.expected.get(&(location, reference.to_string())).copied().unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// When the earliest pending hold expires, so a host can set one alarm. Prepared holds do not
    /// expire and are left out.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.expiry_index.first().and_then(|&(ms, _)| DateTime::from_timestamp_millis(ms))
    }

    fn policy_or_not_found(&self) -> Result<&SkuPolicy, EngineError> {
        self.policy.as_ref().ok_or_else(|| EngineError::not_found("sku", self.sku.as_str()))
    }

    fn safety_stock(&self) -> i64 {
        self.policy.as_ref().map_or(0, |policy| policy.safety_stock)
    }

    fn entry(&self, event: Event, effects: Vec<Effect>, ctx: &Ctx) -> Entry {
        Entry {
            version: self.version + 1,
            event,
            effects,
            actor: ctx.actor.clone(),
            occurred_at: ctx.occurred_at.unwrap_or(ctx.now),
            recorded_at: ctx.now,
        }
    }
}
