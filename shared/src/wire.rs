//! Request and response bodies. Names follow the contract exactly; everything here is plain data.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::limits::LINES_MAX;
pub use stockline_engine::procurement::{
    Invoice, MatchStatus, PoAction, PoEvent, PoLine, PoStatus, PoSummary, PurchaseOrder, ReceiptLine, ReceiptSpec,
    ReceiveTo, Route, Scorecard, Skipped,
};
use stockline_engine::Money;
pub use stockline_engine::{
    Actor, Allocation, Availability, ChannelSpec, CommitLine, CommitRequest, CountDisagreement, CountException,
    CountExceptionKind, Ctx, DeviceOp, Difference, Disposition, EngineError, Entry, HoldStatus, Id, Location,
    LocationAvailability, LocationKind, LocationSpec, Movement, MovementKind, Projection, ReceiveInto, Replica,
    ReplicaSnapshot, Reservation, ReservationLine, ReservationLineRequest, ReservationRequest, Shortage, SkuSpec,
};

/// `PUT /v1/skus/{sku}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuResponse {
    pub sku: Id,
    pub name: String,
    pub safety_stock: i64,
    pub unit_cost: Option<Money>,
    #[serde(default)]
    pub barcodes: Vec<String>,
    #[serde(default)]
    pub critical: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<Id>,
    pub version: u64,
}

/// An item as people find it: by SKU, name or barcode (`GET /v1/skus`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub sku: Id,
    pub name: String,
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// A critical SKU (see `SkuSpec::critical`); left out when not.
    #[serde(default, skip_serializing_if = "stockline_engine::is_false")]
    pub critical: bool,
    #[serde(default)]
    pub safety_stock: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<stockline_engine::Money>,
    /// What customer service may offer when it is short (see `SkuSpec::substitutes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<Id>,
}

impl Item {
    /// The definition that would leave the SKU as it is (`PUT /v1/skus/{sku}`).
    pub fn spec(&self) -> stockline_engine::SkuSpec {
        stockline_engine::SkuSpec {
            name: self.name.clone(),
            safety_stock: self.safety_stock,
            unit_cost: self.unit_cost,
            barcodes: self.barcodes.clone(),
            critical: self.critical,
            substitutes: self.substitutes.clone(),
        }
    }
}

/// `GET /v1/skus` answer: items in SKU order; `next_after` continues the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsResponse {
    pub items: Vec<Item>,
    pub next_after: Option<Id>,
}

/// `GET /v1/availability/{sku}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityResponse {
    #[serde(flatten)]
    pub availability: Availability,
    pub as_of: DateTime<Utc>,
    /// With `?qty=N`: how much of N can be had now and by which dates from inbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise: Option<stockline_engine::orders::Promise>,
}

/// `POST /v1/skus/{sku}/movements` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementResponse {
    pub entry: Entry,
    pub position: AvailabilityResponse,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<CountException>,
}

/// `POST /v1/availability` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchAvailabilityRequest {
    pub skus: Vec<Id>,
    #[serde(default)]
    pub channel: Option<Id>,
}

impl BatchAvailabilityRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.skus.is_empty() || self.skus.len() > LINES_MAX {
            return Err(ApiError::invalid("skus", format!("must hold 1..={LINES_MAX} SKUs")));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAvailabilityResponse {
    pub items: Vec<AvailabilityResponse>,
    pub missing: Vec<Id>,
}

pub use stockline_engine::planning::{Alert, Plan, PlanBasis, PlanSummary, Supplier, WhatIf};

/// One SKU on the replenishment list: its plan summary and since when it is at risk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplenishmentLine {
    #[serde(flatten)]
    pub summary: PlanSummary,
    pub at_risk_since: Option<DateTime<Utc>>,
}

/// The lines of one supplier (or of none) on a page of the list. `L` is how the lines are held:
/// decoded (`Vec<ReplenishmentLine>`), or at the edge the JSON array of the lines as stored (a
/// `RawValue`), so a page of hundreds of lines is not decoded and encoded again on every read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplenishmentGroup<L = Vec<ReplenishmentLine>> {
    pub supplier: Option<Id>,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub lines: L,
}

/// `GET /v1/replenishment`: the SKUs that need a buyer, most urgent first, grouped by supplier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplenishmentResponse<L = Vec<ReplenishmentLine>> {
    pub groups: Vec<ReplenishmentGroup<L>>,
    pub next_cursor: Option<String>,
}

/// `GET /v1/alerts`: predicted stockouts, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsResponse {
    pub alerts: Vec<Alert>,
}

/// `GET /v1/purchase-orders`: orders, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PurchaseOrdersResponse {
    pub orders: Vec<PoSummary>,
    pub next_cursor: Option<String>,
}

/// An order in an approver's inbox: what it is, whether this approval is on the stricter path,
/// and its route (the bands and reasons).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    #[serde(flatten)]
    pub summary: PoSummary,
    pub strict: bool,
    pub route: Option<Route>,
}

/// `GET /v1/approvals`: the submitted orders the caller may approve now, oldest first; their
/// spend limit; how many other submitted orders wait on someone else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxResponse {
    pub spend_limit: Option<Money>,
    pub orders: Vec<InboxItem>,
    pub waiting_on_others: u32,
}

/// `POST /v1/purchase-orders/from-suggestions`: the draft, and the suggestions it could not take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftFromSuggestions {
    #[serde(flatten)]
    pub order: PurchaseOrder,
    pub skipped: Vec<Skipped>,
}

/// A change to a SKU's stock that an order decision made and that is not yet on the SKU's ledger
/// (the object did not answer yet, or refused for now): it is retried until it applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPending {
    pub sku: Id,
    pub location: Id,
    /// `inbound` (the order sent or cancelled) or `receipt`.
    pub change: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// `GET /v1/purchase-orders/{id}` and a receipt's answer: the order, and its changes to stock
/// still on their way to the SKU ledgers (empty once every one applied).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PurchaseOrderView {
    #[serde(flatten)]
    pub order: PurchaseOrder,
    pub stock_pending: Vec<StockPending>,
    /// The supplier's invoices against it, oldest first (a corrected one says `replaced_by`).
    pub invoices: Vec<Invoice>,
}

/// A decision on a purchase order, as `POST /v1/purchase-orders/{id}/{action}` sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The version the caller read: a changed order is a 409 `conflict`.
    pub version: u32,
    #[serde(default)]
    pub comment: Option<String>,
}
