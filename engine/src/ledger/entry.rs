//! Entries: what a decision records (its event and the effects on quantities), in order.

use super::*;

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
        unit_cost: Option<Money>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        barcodes: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        critical: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        substitutes: Vec<Id>,
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
    /// `qty` units a committed hold allocated at `location` go back to available: the order
    /// they were allocated to no longer ships them (a cancelled order or line).
    AllocationReleased {
        reservation: Id,
        location: Id,
        qty: i64,
    },
    /// The SKU's moving-average unit cost became `unit_cost` (in the approval rules' base
    /// currency): units arrived at another cost, or an invoice's landed cost trued it up.
    /// `reference` names the purchase order (and receipt or invoice).
    CostRevalued {
        unit_cost: Money,
        reference: String,
    },
    /// What is expected into `location` under `reference` became `qty` (a target), due on
    /// `expected_on`: a purchase order sent, or its open remainder cancelled.
    InboundExpected {
        location: Id,
        reference: String,
        qty: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_on: Option<chrono::NaiveDate>,
    },
}

impl Event {
    /// The event's `type` as the JSON names it (`hold_placed`, `movement`, …).
    pub fn tag(&self) -> &'static str {
        match self {
            Event::SkuDefined { .. } => "sku_defined",
            Event::Movement { .. } => "movement",
            Event::HoldPlaced { .. } => "hold_placed",
            Event::HoldPrepared { .. } => "hold_prepared",
            Event::HoldCommitted { .. } => "hold_committed",
            Event::HoldReleased { .. } => "hold_released",
            Event::HoldExpired { .. } => "hold_expired",
            Event::AllocationReleased { .. } => "allocation_released",
            Event::CostRevalued { .. } => "cost_revalued",
            Event::InboundExpected { .. } => "inbound_expected",
        }
    }
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
