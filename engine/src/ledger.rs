//! The per-SKU ledger: an append-only sequence of entries and the positions they add up to.
//!
//! Every change goes the same way: *decide* (validate the request against the current state and
//! produce an [`Entry`] with its [`Effect`]s) and then *apply* (add the effects to the state).
//! Replay applies stored entries without deciding again, so a ledger rebuilt from its entries
//! equals the one kept incrementally.

use crate::catalog::Catalog;
use crate::error::{EngineError, HoldStatus, Shortage};
use crate::hold::{Allocation, Hold, HoldLine, HoldRequest};
use crate::ids::{check_barcode, check_text, Id, IdMap};
use crate::limits::*;
use crate::position::{channel_available, Bucket, Position};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Storefront,
    Warehouse,
    Buyer,
    Approver,
    Admin,
    /// The host itself (alarms, expiry).
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Storefront => "storefront",
            Role::Warehouse => "warehouse",
            Role::Buyer => "buyer",
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }
}

/// Who asked for a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub subject: String,
    pub role: Role,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { subject: "system".to_string(), role: Role::System }
    }
}

/// The caller and the clock, passed into every decision (the engine has neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub actor: Actor,
    /// The host's time when the change is recorded.
    pub now: DateTime<Utc>,
    /// The caller's time when the change happened (offline tablets sync later); defaults to `now`.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl Ctx {
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Ctx {
        Ctx { actor, now, occurred_at: None }
    }
}

/// A SKU's policy, set by `PUT /v1/skus/{sku}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuSpec {
    pub name: String,
    pub safety_stock: i64,
    #[serde(default, deserialize_with = "money")]
    pub unit_cost: Option<Decimal>,
    /// What scanners read off the item: GTIN-8/12/13/14, at most `BARCODES_MAX`.
    #[serde(default)]
    pub barcodes: Vec<String>,
}

/// Money on the wire: a plain decimal string ("12.50"), at most 12 whole and 6 fractional digits.
/// Numbers, exponents and signs are refused: a price is never a float and never negative.
fn money<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole, 12) || (text.contains('.') && fraction.is_empty()) || !digits(fraction, 6) {
        return Err(serde::de::Error::custom(format!("`{text}` is not money: use a decimal string such as \"12.50\"")));
    }
    text.parse::<Decimal>().map(Some).map_err(serde::de::Error::custom)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Receive,
    Adjust,
    Count,
    Ship,
    Transfer,
    Quarantine,
    ReleaseQuarantine,
    Damage,
    Scrap,
    ReturnExpected,
    ReturnReceive,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receive => "receive",
            MovementKind::Adjust => "adjust",
            MovementKind::Count => "count",
            MovementKind::Ship => "ship",
            MovementKind::Transfer => "transfer",
            MovementKind::Quarantine => "quarantine",
            MovementKind::ReleaseQuarantine => "release_quarantine",
            MovementKind::Damage => "damage",
            MovementKind::Scrap => "scrap",
            MovementKind::ReturnExpected => "return_expected",
            MovementKind::ReturnReceive => "return_receive",
        }
    }
}

/// Where a `receive` puts the units: sellable stock, or on hand but quarantined (inspection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveInto {
    Stock,
    Quarantine,
}

/// What a `return_receive` does with the returned units: back to stock, quarantine or damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Restock,
    Quarantine,
    Damage,
}

/// A movement as the contract's `POST /v1/skus/{sku}/movements` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    pub kind: MovementKind,
    /// `receive` only: `stock` (default) or `quarantine`, in the same entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<ReceiveInto>,
    /// `return_receive` only: `restock` (default), `quarantine` or `damage`, in the same entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    pub location: Id,
    pub qty: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_location: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_at_version: Option<u64>,
    /// `count` only: versions after `counted_at_version` whose movements the counter made before
    /// counting (a tablet's own receive, say). Those units are already in the count, so their
    /// on_hand change is not added again. Ascending, at most `COUNT_INCLUDES_MAX`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes_versions: Vec<u64>,
}

impl Movement {
    /// The checks that need no ledger: the quantity for the kind, the fields the kind requires and
    /// the ones it does not take, text lengths. `record_movement` runs them first; a tablet runs
    /// the very same before it queues anything, so it never queues what the server will refuse
    /// for its shape.
    pub fn check(&self) -> Result<(), EngineError> {
        let qty = self.qty;
        match self.kind {
            MovementKind::Adjust => {
                if qty == 0 || qty.abs() > QTY_REQUEST_MAX {
                    return Err(EngineError::invalid(
                        "qty",
                        format!("must be a non-zero whole number within ±{QTY_REQUEST_MAX}"),
                    ));
                }
                if self.reason.is_none() {
                    return Err(EngineError::invalid("reason", "is required for an adjust"));
                }
            }
            MovementKind::Count => {
                if !(0..=QTY_REQUEST_MAX).contains(&qty) {
                    return Err(EngineError::invalid("qty", format!("must be a whole number 0..={QTY_REQUEST_MAX}")));
                }
            }
            _ => check_request_qty("qty", qty)?,
        }
        if let Some(reason) = &self.reason {
            check_text("reason", reason)?;
        }
        if let Some(reference) = &self.reference {
            check_text("reference", reference)?;
        }
        if self.counted_at_version.is_some() && self.kind != MovementKind::Count {
            return Err(EngineError::invalid("counted_at_version", "only a count takes counted_at_version"));
        }
        if !self.includes_versions.is_empty() {
            let Some(seen) = self.counted_at_version else {
                return Err(EngineError::invalid("includes_versions", "needs counted_at_version"));
            };
            if self.includes_versions.len() > COUNT_INCLUDES_MAX {
                return Err(EngineError::invalid("includes_versions", format!("at most {COUNT_INCLUDES_MAX}")));
            }
            let ascending = self.includes_versions.windows(2).all(|pair| pair[0] < pair[1]);
            if !ascending || self.includes_versions[0] <= seen {
                return Err(EngineError::invalid(
                    "includes_versions",
                    "must be ascending versions after counted_at_version",
                ));
            }
        }
        if self.to_location.is_some() && self.kind != MovementKind::Transfer {
            return Err(EngineError::invalid("to_location", "only a transfer takes to_location"));
        }
        if self.into.is_some() && self.kind != MovementKind::Receive {
            return Err(EngineError::invalid("into", "only a receive takes into"));
        }
        if self.disposition.is_some() && self.kind != MovementKind::ReturnReceive {
            return Err(EngineError::invalid("disposition", "only a return_receive takes disposition"));
        }
        match self.kind {
            MovementKind::Ship if self.reference.is_none() => {
                Err(EngineError::invalid("reference", "a ship names the committed reservation"))
            }
            MovementKind::Transfer => match (&self.to_location, &self.reference) {
                (None, _) => Err(EngineError::invalid("to_location", "a transfer names where it goes")),
                (_, None) => Err(EngineError::invalid("reference", "a transfer names the transfer")),
                (Some(to), _) if *to == self.location => {
                    Err(EngineError::invalid("to_location", "must differ from location"))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// What a count raised for people to resolve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountExceptionKind {
    /// The count left reservations or allocations without units to cover them.
    #[default]
    Shortfall,
    /// Another count of the same location, recorded after the version this counter had read,
    /// found a different quantity: someone has to count again.
    CountsDisagree,
}

/// A count that raised an exception: uncovered commitments, or counts that disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountException {
    #[serde(default)]
    pub kind: CountExceptionKind,
    /// The version of the count entry that raised it.
    pub version: u64,
    pub location: Id,
    /// Units committed at the location beyond what is on hand (`shortfall` only).
    pub shortfall: i64,
    /// The commitments at that location (at most `LINES_MAX` listed; `shortfall` only).
    pub holds: Vec<HoldShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<CountDisagreement>,
}

/// Two counts of one shelf that do not agree. The later count still applies (a count records
/// what is there); the exception asks for a recount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountDisagreement {
    /// The other count's entry, recorded after the version this count was taken at.
    pub other_count_version: u64,
    /// on_hand as the other count (and the movements after it) left it.
    pub other_on_hand: i64,
    /// on_hand as this count says it is.
    pub this_on_hand: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldShare {
    pub reservation: Id,
    pub status: HoldStatus,
    pub qty: i64,
}

/// One change to one bucket or expectation; entries carry their effects so replay needs no decisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Effect {
    Qty {
        location: Id,
        bucket: Bucket,
        delta: i64,
    },
    /// What is still expected into `location` under `reference` (a purchase order or transfer).
    Expected {
        location: Id,
        reference: String,
        delta: i64,
    },
}

/// What an entry records. `HoldPrepared`: a coordinator prepared a pending hold (two-phase commit
/// across SKUs); it no longer expires and moves no units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    SkuDefined {
        name: String,
        safety_stock: i64,
        unit_cost: Option<Decimal>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        barcodes: Vec<String>,
    },
    Movement {
        movement: Movement,
        exceptions: Vec<CountException>,
    },
    HoldPlaced {
        hold: Hold,
    },
    HoldPrepared {
        reservation: Id,
    },
    HoldCommitted {
        reservation: Id,
    },
    HoldReleased {
        reservation: Id,
    },
    HoldExpired {
        reservation: Id,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u64,
    pub event: Event,
    pub effects: Vec<Effect>,
    pub actor: Actor,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuPolicy {
    pub name: String,
    pub safety_stock: i64,
    pub unit_cost: Option<Decimal>,
    #[serde(default)]
    pub barcodes: Vec<String>,
}

/// One location's line in an availability answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationAvailability {
    pub location: Id,
    pub available: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub quarantined: i64,
    pub damaged: i64,
    pub inbound: i64,
    pub return_pending: i64,
}

/// The contract's availability answer (the host adds `as_of`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub sku: Id,
    pub channel: Option<Id>,
    pub available: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub quarantined: i64,
    pub damaged: i64,
    pub inbound: i64,
    pub return_pending: i64,
    pub safety_stock: i64,
    pub version: u64,
    pub locations: Vec<LocationAvailability>,
}

/// Net on-hand change at one location, as cumulative points, for counts at an earlier version.
/// Counts themselves are not movements of stock and are left out: two people counting the same
/// shelf from the same version must land on the same on_hand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct OnHandHistory {
    /// (version, cumulative net change up to and including it), versions ascending.
    points: VecDeque<(u64, i64)>,
    /// The newest point dropped to keep the bound, if any.
    dropped: Option<(u64, i64)>,
    cumulative: i64,
    /// The version of the last count at this location (0: none), to tell counts that disagree.
    #[serde(default)]
    last_count_version: u64,
}

impl OnHandHistory {
    fn record(&mut self, version: u64, delta: i64) {
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
    fn change_at(&self, version: u64) -> Option<i64> {
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
    fn change_since(&self, version: u64) -> Option<i64> {
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
    exceptions: VecDeque<CountException>,
}

/// Everything a ledger holds, keyed by ids rather than catalog slots, for storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    pub sku: Id,
    pub policy: Option<SkuPolicy>,
    pub version: u64,
    pub positions: Vec<(Id, Position)>,
    history: Vec<(Id, OnHandHistory)>,
    pub holds: Vec<Hold>,
    pub resolved: Vec<(Id, HoldStatus)>,
    pub expected: Vec<(Id, String, i64)>,
    pub exceptions: Vec<CountException>,
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

    // ---------------------------------------------------------------- decisions

    /// Creates or updates the SKU's policy.
    pub fn define(&mut self, catalog: &Catalog, spec: SkuSpec, ctx: &Ctx) -> Result<Entry, EngineError> {
        check_text("name", &spec.name)?;
        if !(0..=QTY_STORED_MAX).contains(&spec.safety_stock) {
            return Err(EngineError::invalid("safety_stock", "must be a whole number >= 0"));
        }
        if let Some(cost) = spec.unit_cost {
            if cost.is_sign_negative() {
                return Err(EngineError::invalid("unit_cost", "must be >= 0"));
            }
        }
        if spec.barcodes.len() > BARCODES_MAX {
            return Err(EngineError::invalid("barcodes", format!("at most {BARCODES_MAX}")));
        }
        for (index, barcode) in spec.barcodes.iter().enumerate() {
            check_barcode(barcode)?;
            if spec.barcodes[..index].contains(barcode) {
                return Err(EngineError::invalid("barcodes", "each barcode once"));
            }
        }
        let event = Event::SkuDefined {
            name: spec.name,
            safety_stock: spec.safety_stock,
            unit_cost: spec.unit_cost,
            barcodes: spec.barcodes,
        };
        let entry = self.entry(event, Vec::new(), ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Records a movement of the contract's table. All-or-nothing: on error nothing changed.
    pub fn record_movement(
        &mut self,
        catalog: &Catalog,
        movement: Movement,
        ctx: &Ctx,
    ) -> Result<MovementOutcome, EngineError> {
        self.policy_or_not_found()?;
        let slot = catalog.slot_or_not_found(movement.location.as_str())?;
        movement.check()?;
        let qty = movement.qty;
        let location = movement.location.clone();
        let position = self.position(slot);
        let mut effects: Vec<Effect> = Vec::with_capacity(2);
        let qty_effect = |bucket: Bucket, delta: i64| Effect::Qty { location: location.clone(), bucket, delta };
        let mut exceptions = Vec::new();
        match movement.kind {
            MovementKind::Receive => {
                effects.push(qty_effect(Bucket::OnHand, qty));
                if movement.into == Some(ReceiveInto::Quarantine) {
                    effects.push(qty_effect(Bucket::Quarantined, qty));
                }
                if let Some(reference) = &movement.reference {
                    let still_expected = self.expected(location.as_str(), reference);
                    let settled = qty.min(still_expected);
                    if settled > 0 {
                        effects.push(qty_effect(Bucket::Inbound, -settled));
                        effects.push(Effect::Expected {
                            location: location.clone(),
                            reference: reference.clone(),
                            delta: -settled,
                        });
                    }
                }
            }
            MovementKind::Adjust => effects.push(qty_effect(Bucket::OnHand, qty)),
            MovementKind::Count => {
                let history = self.history.get(slot as usize);
                let on_hand_new = match movement.counted_at_version {
                    None => qty,
                    Some(seen) if seen > self.version => {
                        return Err(EngineError::invalid(
                            "counted_at_version",
                            format!("version {seen} is above the current version {}", self.version),
                        ));
                    }
                    Some(_) if movement.includes_versions.last().is_some_and(|&v| v > self.version) => {
                        return Err(EngineError::invalid(
                            "includes_versions",
                            format!("names a version above the current version {}", self.version),
                        ));
                    }
                    Some(seen) => {
                        let since = history.map_or(Some(0), |h| h.change_since(seen));
                        let included: Option<i64> = movement
                            .includes_versions
                            .iter()
                            .map(|&v| history.map_or(Some(0), |h| h.change_at(v)))
                            .sum();
                        match (since, included) {
                            (Some(since), Some(included)) => (qty + since - included).max(0),
                            _ => {
                                return Err(EngineError::conflict(format!(
                                    "version {seen} is too old to merge a count with; count again"
                                )))
                            }
                        }
                    }
                };
                let delta = on_hand_new - position.on_hand;
                if delta != 0 {
                    effects.push(qty_effect(Bucket::OnHand, delta));
                }
                let last_count_version = history.map_or(0, |h| h.last_count_version);
                match movement.counted_at_version {
                    Some(seen) if last_count_version > seen && delta != 0 => exceptions.push(CountException {
                        kind: CountExceptionKind::CountsDisagree,
                        version: self.version + 1,
                        location: location.clone(),
                        shortfall: 0,
                        holds: Vec::new(),
                        disagreement: Some(CountDisagreement {
                            other_count_version: last_count_version,
                            other_on_hand: position.on_hand,
                            this_on_hand: on_hand_new,
                        }),
                    }),
                    _ => {}
                }
                let shortfall = position.committed() - on_hand_new;
                if shortfall > 0 {
                    exceptions.push(CountException {
                        kind: CountExceptionKind::Shortfall,
                        version: self.version + 1,
                        location: location.clone(),
                        shortfall,
                        holds: self.commitments_at(location.as_str()),
                        disagreement: None,
                    });
                }
            }
            MovementKind::Ship => {
                let Some(reference) = &movement.reference else {
                    unreachable!("Movement::check: a ship names its reservation");
                };
                let allocated = match self.holds.get(reference.as_str()) {
                    Some(hold) if hold.status == HoldStatus::Committed => hold.allocated_at(location.as_str()),
                    _ => 0,
                };
                if qty > allocated {
                    return Err(EngineError::conflict(format!(
                        "reservation `{reference}` has {allocated} allocated at `{location}`, cannot ship {qty}"
                    )));
                }
                effects.push(qty_effect(Bucket::Allocated, -qty));
                effects.push(qty_effect(Bucket::OnHand, -qty));
            }
            MovementKind::Transfer => {
                let (Some(to_location), Some(reference)) = (movement.to_location.clone(), movement.reference.clone())
                else {
                    unreachable!("Movement::check: a transfer names where it goes and the transfer");
                };
                catalog.slot_or_not_found(to_location.as_str())?;
                if self.expected(to_location.as_str(), &reference) == 0 && self.expected.len() >= EXPECTATIONS_MAX {
                    return Err(EngineError::conflict(format!("at most {EXPECTATIONS_MAX} open expectations")));
                }
                effects.push(qty_effect(Bucket::OnHand, -qty));
                effects.push(Effect::Qty { location: to_location.clone(), bucket: Bucket::Inbound, delta: qty });
                effects.push(Effect::Expected { location: to_location, reference, delta: qty });
            }
            MovementKind::Quarantine => effects.push(qty_effect(Bucket::Quarantined, qty)),
            MovementKind::ReleaseQuarantine => effects.push(qty_effect(Bucket::Quarantined, -qty)),
            MovementKind::Damage => effects.push(qty_effect(Bucket::Damaged, qty)),
            MovementKind::Scrap => {
                effects.push(qty_effect(Bucket::Damaged, -qty));
                effects.push(qty_effect(Bucket::OnHand, -qty));
            }
            MovementKind::ReturnExpected => effects.push(qty_effect(Bucket::ReturnPending, qty)),
            MovementKind::ReturnReceive => {
                effects.push(qty_effect(Bucket::ReturnPending, -qty));
                effects.push(qty_effect(Bucket::OnHand, qty));
                match movement.disposition.unwrap_or(Disposition::Restock) {
                    Disposition::Restock => {}
                    Disposition::Quarantine => effects.push(qty_effect(Bucket::Quarantined, qty)),
                    Disposition::Damage => effects.push(qty_effect(Bucket::Damaged, qty)),
                }
            }
        }
        if movement.kind != MovementKind::Count {
            self.check_effects(catalog, &effects)?;
        }
        let event = Event::Movement { movement, exceptions: exceptions.clone() };
        let entry = self.entry(event, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(MovementOutcome { entry, exceptions })
    }

    /// Rejects effects that would make a bucket negative or leave stock uncovered (or worse covered).
    fn check_effects(&self, catalog: &Catalog, effects: &[Effect]) -> Result<(), EngineError> {
        let mut touched: Vec<(u32, Position)> = Vec::with_capacity(2);
        for effect in effects {
            let Effect::Qty { location, bucket, delta } = effect else { continue };
            let slot = catalog.slot_or_not_found(location.as_str())?;
            let index = match touched.iter().position(|(s, _)| *s == slot) {
                Some(index) => index,
                None => {
                    touched.push((slot, self.position(slot)));
                    touched.len() - 1
                }
            };
            let value = touched[index].1.get_mut(*bucket);
            *value += delta;
            if !check_stored(*value) {
                return Err(EngineError::conflict(format!("{} at `{location}` would exceed ±2^53−1", bucket.as_str())));
            }
        }
        for (slot, after) in &touched {
            let location = &catalog.location(*slot).id;
            for bucket in Bucket::ALL {
                if after.get(bucket) < 0 {
                    return Err(EngineError::conflict(format!(
                        "{} at `{location}` would become {}",
                        bucket.as_str(),
                        after.get(bucket)
                    )));
                }
            }
            let before = self.position(*slot);
            if after.free() < 0 && after.free() < before.free() {
                return Err(EngineError::conflict(format!(
                    "on_hand at `{location}` would be {} but {} is quarantined, damaged, reserved or allocated",
                    after.on_hand,
                    after.committed()
                )));
            }
        }
        Ok(())
    }

    fn commitments_at(&self, location: &str) -> Vec<HoldShare> {
        let mut shares: Vec<HoldShare> = self
            .holds
            .values()
            .filter_map(|hold| {
                let qty = match hold.status {
                    HoldStatus::Pending => hold
                        .lines
                        .iter()
                        .flat_map(|line| &line.allocations)
                        .filter(|a| a.location.as_str() == location)
                        .map(|a| a.qty)
                        .sum(),
                    _ => hold.allocated_at(location),
                };
                (qty > 0).then(|| HoldShare { reservation: hold.id.clone(), status: hold.status, qty })
            })
            .collect();
        shares.sort_by(|a, b| a.reservation.cmp(&b.reservation));
        shares.truncate(LINES_MAX);
        shares
    }

    /// Places a pending hold, all lines or none. Lines are checked in order against what the
    /// earlier lines of the same request already took.
    pub fn place_hold(&mut self, catalog: &Catalog, request: HoldRequest, ctx: &Ctx) -> Result<Entry, EngineError> {
        let entry = self.plan_hold(catalog, request, ctx)?;
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Decides a hold without placing it: the entry `place_hold` would apply, or why it cannot.
    /// A coordinator uses it to report every SKU's shortage once one SKU fell short.
    pub fn plan_hold(&self, catalog: &Catalog, request: HoldRequest, ctx: &Ctx) -> Result<Entry, EngineError> {
        self.policy_or_not_found()?;
        if request.lines.is_empty() || request.lines.len() > LINES_MAX {
            return Err(EngineError::invalid("lines", format!("must hold 1..={LINES_MAX} lines")));
        }
        if request.expires_at <= ctx.now {
            return Err(EngineError::invalid("ttl_seconds", "the hold would expire before it is placed"));
        }
        if let Some(reference) = &request.reference {
            check_text("reference", reference)?;
        }
        if self.hold_status(request.id.as_str()).is_some() {
            return Err(EngineError::conflict(format!("reservation `{}` already exists", request.id)));
        }
        if self.holds.len() >= OPEN_HOLDS_MAX {
            return Err(EngineError::conflict(format!("this SKU already has {OPEN_HOLDS_MAX} open reservations")));
        }
        let channel = match &request.channel {
            Some(id) => Some(catalog.channel_or_not_found(id.as_str())?),
            None => None,
        };
        let slots: &[u32] = match channel {
            Some(view) => &view.slots,
            None => catalog.ordered_slots(),
        };
        let (buffer, cap, stop_below) = match channel {
            Some(view) => (view.channel.buffer, view.channel.cap, view.channel.stop_below),
            None => (0, None, None),
        };
        let safety_stock = self.safety_stock();
        // Units taken by earlier lines of this request, per slot.
        let mut taken: Vec<(u32, i64)> = Vec::new();
        let taken_at =
            |taken: &Vec<(u32, i64)>, slot: u32| taken.iter().find(|(s, _)| *s == slot).map_or(0, |(_, qty)| *qty);
        let mut lines = Vec::with_capacity(request.lines.len());
        let mut shortages = Vec::new();
        for line in &request.lines {
            check_request_qty("qty", line.qty)?;
            let pinned = match &line.location {
                Some(location) => {
                    let slot = catalog.slot_or_not_found(location.as_str())?;
                    if !slots.contains(&slot) {
                        return Err(EngineError::invalid(
                            "location",
                            format!("location `{location}` is not one of the channel's locations"),
                        ));
                    }
                    Some(slot)
                }
                None => None,
            };
            let available_at =
                |slot: u32, taken: &Vec<(u32, i64)>| (self.position(slot).free() - taken_at(taken, slot)).max(0);
            let sum: i64 = slots.iter().map(|&slot| available_at(slot, &taken)).sum();
            let mut limit = channel_available(sum, safety_stock, buffer, cap, stop_below);
            if let Some(slot) = pinned {
                limit = limit.min(available_at(slot, &taken));
            }
            if line.qty > limit {
                shortages.push(Shortage { sku: self.sku.to_string(), requested: line.qty, available: limit });
                continue;
            }
            let mut allocations = Vec::new();
            let mut remaining = line.qty;
            let order: &[u32] = match &pinned {
                Some(slot) => std::slice::from_ref(slot),
                None => slots,
            };
            for &slot in order {
                if remaining == 0 {
                    break;
                }
                let take = available_at(slot, &taken).min(remaining);
                if take == 0 {
                    continue;
                }
                remaining -= take;
                match taken.iter_mut().find(|(s, _)| *s == slot) {
                    Some(entry) => entry.1 += take,
                    None => taken.push((slot, take)),
                }
                allocations.push(Allocation { location: catalog.location(slot).id.clone(), qty: take });
            }
            assert_eq!(remaining, 0, "channel available never exceeds the sum of location available");
            lines.push(HoldLine { qty: line.qty, location: line.location.clone(), allocations });
        }
        if !shortages.is_empty() {
            return Err(EngineError::InsufficientStock { shortages });
        }
        let effects = taken
            .iter()
            .map(|&(slot, qty)| Effect::Qty {
                location: catalog.location(slot).id.clone(),
                bucket: Bucket::Reserved,
                delta: qty,
            })
            .collect();
        let hold = Hold {
            id: request.id,
            status: HoldStatus::Pending,
            channel: request.channel,
            reference: request.reference,
            placed_at: ctx.now,
            expires_at: request.expires_at,
            lines,
            allocated: Vec::new(),
            prepared: false,
        };
        Ok(self.entry(Event::HoldPlaced { hold }, effects, ctx))
    }

    /// The hold if it is pending at `now`: a prepared hold is, whatever the time.
    fn pending_hold(&self, id: &str, now: DateTime<Utc>) -> Result<&Hold, EngineError> {
        match self.holds.get(id) {
            Some(hold) if hold.is_expired_at(now) => Err(EngineError::AlreadyResolved { status: HoldStatus::Expired }),
            Some(hold) if hold.status == HoldStatus::Pending => Ok(hold),
            Some(hold) => Err(EngineError::AlreadyResolved { status: hold.status }),
            None => match self.resolved.get(id) {
                Some(&status) => Err(EngineError::AlreadyResolved { status }),
                None => Err(EngineError::not_found("reservation", id)),
            },
        }
    }

    /// Prepares a pending, unexpired hold for a coordinator's commit across SKUs (two-phase commit,
    /// presumed abort): from now on it does not expire and only `commit_hold` or `release_hold` end
    /// it. `Ok(None)` when it is already prepared (a retried prepare changes nothing).
    pub fn prepare_hold(&mut self, catalog: &Catalog, id: &str, ctx: &Ctx) -> Result<Option<Entry>, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        if hold.prepared {
            return Ok(None);
        }
        let entry = self.entry(Event::HoldPrepared { reservation: hold.id.clone() }, Vec::new(), ctx);
        self.apply(catalog, &entry)?;
        Ok(Some(entry))
    }

    /// Commits a pending hold (prepared or not): `qty` units (all when None) move to allocated,
    /// the rest is released.
    pub fn commit_hold(
        &mut self,
        catalog: &Catalog,
        id: &str,
        qty: Option<i64>,
        ctx: &Ctx,
    ) -> Result<Entry, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        let held = hold.qty();
        let mut to_commit = qty.unwrap_or(held);
        if !(0..=held).contains(&to_commit) {
            return Err(EngineError::invalid("qty", format!("can commit 0..={held} units of `{}`", self.sku)));
        }
        let mut effects = Vec::new();
        for allocation in hold.held_by_location() {
            let committed = allocation.qty.min(to_commit);
            to_commit -= committed;
            effects.push(Effect::Qty {
                location: allocation.location.clone(),
                bucket: Bucket::Reserved,
                delta: -allocation.qty,
            });
            if committed > 0 {
                effects.push(Effect::Qty {
                    location: allocation.location,
                    bucket: Bucket::Allocated,
                    delta: committed,
                });
            }
        }
        assert_eq!(to_commit, 0);
        let entry = self.entry(Event::HoldCommitted { reservation: hold.id.clone() }, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Releases a pending hold, prepared or not (void).
    pub fn release_hold(&mut self, catalog: &Catalog, id: &str, ctx: &Ctx) -> Result<Entry, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        let effects = Self::release_effects(hold);
        let entry = self.entry(Event::HoldReleased { reservation: hold.id.clone() }, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    fn release_effects(hold: &Hold) -> Vec<Effect> {
        hold.held_by_location()
            .into_iter()
            .map(|a| Effect::Qty { location: a.location, bucket: Bucket::Reserved, delta: -a.qty })
            .collect()
    }

    /// Expires every pending hold whose `expires_at` is at or before `now`, earliest first.
    /// Prepared holds are not in the index and never expire.
    /// Cost grows with the holds expired, not with the holds open.
    pub fn expire_due(&mut self, catalog: &Catalog, now: DateTime<Utc>) -> Vec<Entry> {
        let now_ms = now.timestamp_millis();
        let ctx = Ctx::new(Actor::system(), now);
        let mut entries = Vec::new();
        while let Some((expires_at_ms, id)) = self.expiry_index.first().cloned() {
            if expires_at_ms > now_ms {
                break;
            }
            let hold = &self.holds[&id];
            assert_eq!(hold.status, HoldStatus::Pending, "only pending holds are in the expiry index");
            assert!(!hold.prepared, "prepared holds are not in the expiry index");
            let effects = Self::release_effects(hold);
            let mut entry = self.entry(Event::HoldExpired { reservation: id }, effects, &ctx);
            entry.occurred_at = hold.expires_at;
            self.apply(catalog, &entry).expect("expiring a pending hold always applies");
            entries.push(entry);
        }
        entries
    }

    // ---------------------------------------------------------------- apply

    /// Adds an entry's effects to the state. Used by every decision and by replay.
    pub fn apply(&mut self, catalog: &Catalog, entry: &Entry) -> Result<(), EngineError> {
        if entry.version != self.version + 1 {
            return Err(EngineError::conflict(format!(
                "entry version {} does not follow version {}",
                entry.version, self.version
            )));
        }
        let tracks_history = match &entry.event {
            Event::Movement { movement, .. } => movement.kind != MovementKind::Count,
            _ => false,
        };
        for effect in &entry.effects {
            match effect {
                Effect::Qty { location, bucket, delta } => {
                    let slot = catalog.slot_or_not_found(location.as_str())? as usize;
                    if self.positions.len() <= slot {
                        self.positions.resize(slot + 1, Position::default());
                        self.history.resize(slot + 1, OnHandHistory::default());
                    }
                    let value = self.positions[slot].get_mut(*bucket);
                    *value += delta;
                    assert!(*value >= 0 && *value <= QTY_STORED_MAX, "{} at {location} out of range", bucket.as_str());
                    if *bucket == Bucket::OnHand && tracks_history {
                        self.history[slot].record(entry.version, *delta);
                    }
                }
                Effect::Expected { location, reference, delta } => {
                    let key = (location.clone(), reference.clone());
                    let value = self.expected.entry(key.clone()).or_insert(0);
                    *value += delta;
                    assert!(*value >= 0);
                    if *value == 0 {
                        self.expected.remove(&key);
                    }
                }
            }
        }
        match &entry.event {
            Event::SkuDefined { name, safety_stock, unit_cost, barcodes } => {
                self.policy = Some(SkuPolicy {
                    name: name.clone(),
                    safety_stock: *safety_stock,
                    unit_cost: *unit_cost,
                    barcodes: barcodes.clone(),
                });
            }
            Event::Movement { movement, exceptions } => {
                if movement.kind == MovementKind::Count {
                    let slot = catalog.slot_or_not_found(movement.location.as_str())? as usize;
                    if self.positions.len() <= slot {
                        self.positions.resize(slot + 1, Position::default());
                        self.history.resize(slot + 1, OnHandHistory::default());
                    }
                    assert!(self.history[slot].last_count_version < entry.version);
                    self.history[slot].last_count_version = entry.version;
                }
                if movement.kind == MovementKind::Ship {
                    let reference = movement.reference.as_deref().expect("a ship has a reference");
                    let hold = self.holds.get_mut(reference).expect("a ship draws on an open committed hold");
                    let allocation = hold
                        .allocated
                        .iter_mut()
                        .find(|a| a.location == movement.location)
                        .expect("a ship draws on an allocation at its location");
                    allocation.qty -= movement.qty;
                    assert!(allocation.qty >= 0);
                    hold.allocated.retain(|a| a.qty > 0);
                    if hold.allocated.is_empty() {
                        self.retire(reference, HoldStatus::Committed);
                    }
                }
                for exception in exceptions {
                    if self.exceptions.len() == EXCEPTIONS_OPEN_MAX {
                        self.exceptions.pop_front();
                    }
                    self.exceptions.push_back(exception.clone());
                }
            }
            Event::HoldPlaced { hold } => {
                assert_eq!(hold.status, HoldStatus::Pending);
                assert!(!hold.prepared, "a hold is placed unprepared");
                assert!(entry.effects.iter().all(|e| matches!(e, Effect::Qty { bucket: Bucket::Reserved, .. })));
                self.expiry_index.insert((hold.expires_at_ms(), hold.id.clone()));
                self.pending_count += 1;
                let previous = self.holds.insert(hold.id.clone(), hold.clone());
                assert!(previous.is_none(), "a hold is placed once");
            }
            Event::HoldPrepared { reservation } => {
                assert!(entry.effects.is_empty(), "preparing a hold moves no units");
                let hold = self.holds.get_mut(reservation).expect("prepare names an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "only a pending hold is prepared");
                assert!(!hold.prepared, "a hold is prepared once");
                hold.prepared = true;
                let removed = self.expiry_index.remove(&(hold.expires_at_ms(), hold.id.clone()));
                assert!(removed, "an unprepared pending hold is in the expiry index");
                self.prepared_count += 1;
            }
            Event::HoldCommitted { reservation } => {
                let hold = self.holds.get_mut(reservation).expect("commit resolves an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "a hold resolves exactly once");
                let prepared = std::mem::take(&mut hold.prepared);
                hold.status = HoldStatus::Committed;
                hold.allocated = entry
                    .effects
                    .iter()
                    .filter_map(|effect| match effect {
                        Effect::Qty { location, bucket: Bucket::Allocated, delta } => {
                            Some(Allocation { location: location.clone(), qty: *delta })
                        }
                        _ => None,
                    })
                    .collect();
                let key = (hold.expires_at_ms(), hold.id.clone());
                let empty = hold.allocated.is_empty();
                self.unindex_pending(key, prepared);
                if empty {
                    self.retire(reservation.as_str(), HoldStatus::Committed);
                }
            }
            Event::HoldReleased { reservation } | Event::HoldExpired { reservation } => {
                let status = match entry.event {
                    Event::HoldReleased { .. } => HoldStatus::Released,
                    _ => HoldStatus::Expired,
                };
                let (id, hold) = self.holds.remove_entry(reservation).expect("release resolves an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "a hold resolves exactly once");
                assert!(status != HoldStatus::Expired || !hold.prepared, "a prepared hold never expires");
                let key = (hold.expires_at_ms(), id);
                self.unindex_pending(key.clone(), hold.prepared);
                self.remember_resolved(key.1, status);
            }
        }
        self.version = entry.version;
        assert!(self.prepared_count <= self.pending_count);
        debug_assert_eq!(self.pending_count, self.expiry_index.len() + self.prepared_count);
        Ok(())
    }

    /// Forgets a pending hold that was just resolved: from the expiry index, or the prepared count.
    fn unindex_pending(&mut self, key: (i64, Id), prepared: bool) {
        if prepared {
            assert!(self.prepared_count > 0);
            self.prepared_count -= 1;
        } else {
            let removed = self.expiry_index.remove(&key);
            assert!(removed, "an unprepared pending hold is in the expiry index");
        }
        assert!(self.pending_count > 0);
        self.pending_count -= 1;
    }

    /// Removes an open hold and remembers how it was resolved.
    fn retire(&mut self, id: &str, status: HoldStatus) {
        let (id, _) = self.holds.remove_entry(id).expect("only an open hold is retired");
        self.remember_resolved(id, status);
    }

    fn remember_resolved(&mut self, id: Id, status: HoldStatus) {
        if self.resolved_order.len() == RESOLVED_REMEMBERED_MAX {
            if let Some(oldest) = self.resolved_order.pop_front() {
                self.resolved.remove(&oldest);
            }
        }
        self.resolved.insert(id.clone(), status);
        self.resolved_order.push_back(id);
    }

    /// Rebuilds a ledger from its entries alone.
    pub fn replay<'a>(
        catalog: &Catalog,
        sku: Id,
        entries: impl IntoIterator<Item = &'a Entry>,
    ) -> Result<SkuLedger, EngineError> {
        let mut ledger = SkuLedger::new(sku);
        for entry in entries {
            ledger.apply(catalog, entry)?;
        }
        Ok(ledger)
    }

    // ---------------------------------------------------------------- reads

    /// The number a storefront promises: channel available (or all locations minus safety stock).
    pub fn available_to_promise(&self, catalog: &Catalog, channel: Option<&str>) -> Result<i64, EngineError> {
        let (slots, buffer, cap, stop_below) = match channel {
            Some(id) => {
                let view = catalog.channel_or_not_found(id)?;
                (&view.slots[..], view.channel.buffer, view.channel.cap, view.channel.stop_below)
            }
            None => (catalog.ordered_slots(), 0, None, None),
        };
        let sum: i64 = slots.iter().map(|&slot| self.position(slot).available()).sum();
        Ok(channel_available(sum, self.safety_stock(), buffer, cap, stop_below))
    }

    /// The contract's availability answer for this SKU.
    pub fn availability(&self, catalog: &Catalog, channel: Option<&str>) -> Result<Availability, EngineError> {
        let policy = self.policy_or_not_found()?;
        let view = match channel {
            Some(id) => Some(catalog.channel_or_not_found(id)?),
            None => None,
        };
        let (slots, buffer, cap, stop_below) = match view {
            Some(view) => (&view.slots[..], view.channel.buffer, view.channel.cap, view.channel.stop_below),
            None => (catalog.ordered_slots(), 0, None, None),
        };
        let mut total = Position::default();
        let mut sum_available = 0;
        let mut locations = Vec::with_capacity(slots.len());
        for &slot in slots {
            let p = self.position(slot);
            total.add(&p);
            sum_available += p.available();
            locations.push(LocationAvailability {
                location: catalog.location(slot).id.clone(),
                available: p.available(),
                on_hand: p.on_hand,
                reserved: p.reserved,
                allocated: p.allocated,
                quarantined: p.quarantined,
                damaged: p.damaged,
                inbound: p.inbound,
                return_pending: p.return_pending,
            });
        }
        Ok(Availability {
            sku: self.sku.clone(),
            channel: view.map(|view| view.channel.id.clone()),
            available: channel_available(sum_available, policy.safety_stock, buffer, cap, stop_below),
            on_hand: total.on_hand,
            reserved: total.reserved,
            allocated: total.allocated,
            quarantined: total.quarantined,
            damaged: total.damaged,
            inbound: total.inbound,
            return_pending: total.return_pending,
            safety_stock: policy.safety_stock,
            version: self.version,
            locations,
        })
    }

    // ---------------------------------------------------------------- storage

    pub fn snapshot(&self, catalog: &Catalog) -> LedgerSnapshot {
        let slot_id = |slot: usize| catalog.location(slot as u32).id.clone();
        LedgerSnapshot {
            sku: self.sku.clone(),
            policy: self.policy.clone(),
            version: self.version,
            positions: self
                .positions
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.is_zero())
                .map(|(slot, p)| (slot_id(slot), *p))
                .collect(),
            history: self
                .history
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.points.is_empty() || h.last_count_version > 0)
                .map(|(slot, h)| (slot_id(slot), h.clone()))
                .collect(),
            holds: {
                let mut holds: Vec<Hold> = self.holds.values().cloned().collect();
                holds.sort_by(|a, b| a.id.cmp(&b.id));
                holds
            },
            resolved: self.resolved_order.iter().map(|id| (id.clone(), self.resolved[id])).collect(),
            expected: self.expected.iter().map(|((l, r), q)| (l.clone(), r.clone(), *q)).collect(),
            exceptions: self.exceptions.iter().cloned().collect(),
        }
    }

    pub fn restore(catalog: &Catalog, snapshot: LedgerSnapshot) -> Result<SkuLedger, EngineError> {
        let mut ledger = SkuLedger::new(snapshot.sku);
        ledger.policy = snapshot.policy;
        ledger.version = snapshot.version;
        let size = catalog.location_count();
        ledger.positions = vec![Position::default(); size];
        ledger.history = vec![OnHandHistory::default(); size];
        for (location, position) in snapshot.positions {
            ledger.positions[catalog.slot_or_not_found(location.as_str())? as usize] = position;
        }
        for (location, history) in snapshot.history {
            ledger.history[catalog.slot_or_not_found(location.as_str())? as usize] = history;
        }
        for hold in snapshot.holds {
            if hold.status == HoldStatus::Pending {
                if hold.prepared {
                    ledger.prepared_count += 1;
                } else {
                    ledger.expiry_index.insert((hold.expires_at_ms(), hold.id.clone()));
                }
                ledger.pending_count += 1;
            } else if hold.prepared {
                return Err(EngineError::conflict(format!("snapshot: hold `{}` is prepared but not pending", hold.id)));
            }
            ledger.holds.insert(hold.id.clone(), hold);
        }
        for (id, status) in snapshot.resolved {
            ledger.resolved.insert(id.clone(), status);
            ledger.resolved_order.push_back(id);
        }
        ledger.expected = snapshot.expected.into_iter().map(|(l, r, q)| ((l, r), q)).collect();
        ledger.exceptions = snapshot.exceptions.into();
        Ok(ledger)
    }
}

#[cfg(test)]
mod money_tests {
    use super::SkuSpec;

    #[track_caller]
    fn check(unit_cost: &str, expect: Option<&str>) {
        let body = format!(r#"{{"name":"x","safety_stock":0,"unit_cost":{unit_cost}}}"#);
        let parsed = serde_json::from_str::<SkuSpec>(&body).ok().map(|spec| spec.unit_cost.map(|c| c.to_string()));
        assert_eq!(parsed, expect.map(|e| (e != "null").then(|| e.to_string())), "{unit_cost}");
    }

    #[test]
    fn money_is_a_plain_decimal_string() {
        check(r#""12.50""#, Some("12.50"));
        check(r#""0""#, Some("0"));
        check("null", Some("null"));
        for bad in [
            r#""1e3""#,
            r#"".5""#,
            r#""5.""#,
            r#""-1""#,
            r#""+1""#,
            "12.5",
            r#""1.1234567""#,
            r#""1234567890123""#,
            r#""""#,
        ] {
            check(bad, None);
        }
    }
}
