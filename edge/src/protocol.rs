//! What the Worker and the Durable Objects say to each other: the objects' binding names and the
//! commands each object takes. Every object module and the API import this; no object module
//! imports another, so the modules depend one way: protocol ← objects ← api.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::orders::{ExceptionStatus, Holding, OrderAction, OrderSpec, RoutingRules, Team};
use stockline_engine::planning::{DemandImport, ExpediteChange, LeadTime, PlanSummary, PlanningPolicy, SupplierSpec};
use stockline_engine::procurement::{
    ApprovalRules, FromSuggestions, InvoiceSpec, PoAction, PoSpec, PoStatus, ReceiptSpec,
};
use stockline_engine::Money;
use stockline_engine::{
    Catalog, ChannelSpec, CommitRequest, HoldRequest, Id, InboundTarget, LocationSpec, Movement, OrderReceipt,
    ReservationRequest, SkuSpec,
};
pub use stockline_shared::orders::{OrderActionRequest, ResolveRequest, ShippingSpec};
use stockline_shared::Item;

/// The SKU ledger objects (one per SKU, named by the SKU).
pub mod sku {
    pub const BINDING: &str = "SKU_LEDGER";
}

/// The Directory (one object: master data, the item index).
pub mod directory {
    pub const BINDING: &str = "DIRECTORY";
    pub const NAME: &str = "global";
    /// Items one `GET /v1/skus` answers at most.
    pub const ITEMS_PAGE_MAX: u32 = 1_000;
    /// Lines one `GET /v1/replenishment` page (or alerts one `GET /v1/alerts`) answers at most.
    pub const PLANS_PAGE_MAX: u32 = 500;
}

/// Orders (one object: customer orders, their exceptions, shipping rates and routing rules).
pub mod orders {
    pub const BINDING: &str = "ORDERS";
    pub const NAME: &str = "global";
    /// Orders or exceptions one list answers at most.
    pub const PAGE_MAX: u32 = 200;
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OrdersCommand {
    PutShipping {
        spec: ShippingSpec,
    },
    GetShipping,
    /// A draft rule set (the next version).
    PutRules {
        rules: RoutingRules,
    },
    GetRules,
    /// The draft replayed over the last `orders` allocations beside the active set.
    EvaluateRules {
        orders: u32,
    },
    ActivateRules {
        version: u32,
    },
    Place {
        spec: OrderSpec,
    },
    Get {
        id: Id,
    },
    List {
        status: Option<stockline_engine::orders::OrderStatus>,
        location: Option<Id>,
        /// The previous page's `next_cursor`: orders placed before that one.
        before: Option<i64>,
        limit: u32,
    },
    Act {
        id: Id,
        action: OrderAction,
        request: OrderActionRequest,
    },
    Exceptions {
        team: Option<Team>,
        status: Option<ExceptionStatus>,
        limit: u32,
    },
    /// `GET /v1/metrics/{fill-rate|cycle-time}`: the window's figures from the day buckets.
    Metrics {
        kind: MetricsKind,
        window: stockline_engine::metrics::Window,
        by: Option<stockline_engine::metrics::MetricsBy>,
    },
    /// `GET /v1/metrics/margin`: the shipping and revenue buckets it is read from (with
    /// Purchasing's and the Directory's), and the revenue of `skus` (those out of stock some day).
    MarginRows {
        window: stockline_engine::metrics::Window,
        by: Option<stockline_engine::metrics::MetricsBy>,
        skus: Vec<Id>,
    },
    Resolve {
        id: Id,
        request: ResolveRequest,
    },
    /// Stock arrived (a receipt): the sweep that places waiting orders again runs now.
    StockArrived,
    /// The alerts of open exceptions (SLAs at risk), newest first.
    Alerts {
        limit: u32,
    },
}

/// The metrics the Orders object keeps (from its orders' changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsKind {
    FillRate,
    CycleTime,
}

impl OrdersCommand {
    /// Commands that may change an order or an exception.
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            OrdersCommand::Place { .. }
                | OrdersCommand::Act { .. }
                | OrdersCommand::Resolve { .. }
                | OrdersCommand::StockArrived
        )
    }
}

/// Purchasing (one object: purchase orders, the approval rules).
pub mod purchasing {
    pub const BINDING: &str = "PURCHASING";
    pub const NAME: &str = "global";
    /// Orders one `GET /v1/purchase-orders` page (or one approvals inbox) answers at most.
    pub const ORDERS_PAGE_MAX: u32 = 200;
    pub use stockline_shared::RECEIPT_TOLERANCE_PCT;
}

/// The event feed (one object: the log every producer appends to).
pub mod feed {
    pub const BINDING: &str = "FEED";
    pub const NAME: &str = "global";
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedCommand {
    /// A producer's events, in its streams' order, each its JSON text (the log reads its head and
    /// keeps the text: the data is not decoded again).
    Append {
        events: Vec<String>,
    },
    /// `GET /v1/events`: events after the cursor `after`, of `types` (types or families; all when empty).
    Read {
        after: u64,
        types: Vec<String>,
        limit: u32,
    },
    PutWebhook {
        id: Id,
        spec: stockline_engine::webhooks::WebhookSpec,
    },
    GetWebhook {
        id: Id,
    },
    /// A webhook's attempts, newest first.
    Deliveries {
        id: Id,
        limit: u32,
    },
}

impl PurchasingCommand {
    /// Commands that may change a purchase order.
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            PurchasingCommand::Create { .. }
                | PurchasingCommand::FromSuggestions { .. }
                | PurchasingCommand::Decide { .. }
                | PurchasingCommand::Receive { .. }
                | PurchasingCommand::Invoice { .. }
        )
    }
}

/// The reservation coordinator shards (multi-SKU and keyed reservations).
pub mod coordinator {
    pub const BINDING: &str = "COORDINATOR";
    pub fn shard_name(shard: u32) -> String {
        format!("shard-{shard:02}")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SkuCommand {
    Define {
        sku: Id,
        spec: SkuSpec,
    },
    Movement {
        sku: Id,
        movement: Movement,
        /// When the movement happened, if not now (a tablet syncing later); recorded_at stays now.
        #[serde(default)]
        occurred_at: Option<DateTime<Utc>>,
    },
    Availability {
        sku: Id,
        channel: Option<Id>,
        /// Also answer the promise for this many units.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qty: Option<i64>,
    },
    /// A single-SKU reservation this object owns, record and all.
    Reserve {
        sku: Id,
        id: Id,
        request: ReservationRequest,
    },
    Commit {
        id: Id,
        request: CommitRequest,
    },
    Release {
        id: Id,
    },
    Get {
        id: Id,
    },
    /// The ledger's entries after a version, oldest first (the audit trail).
    Entries {
        sku: Id,
        after_version: u64,
        limit: u32,
    },
    /// One SKU's part of a multi-SKU reservation (the coordinator keeps the record).
    PlaceHold {
        sku: Id,
        hold: HoldRequest,
        check_only: bool,
    },
    /// Two-phase commit: the hold stops expiring; only the coordinator's commit or release ends it.
    PrepareHold {
        sku: Id,
        id: Id,
    },
    CommitHold {
        sku: Id,
        id: Id,
        qty: i64,
    },
    ReleaseHold {
        sku: Id,
        id: Id,
    },
    /// The Directory pushes a new catalog.
    Catalog {
        catalog: Catalog,
    },
    /// `PUT /v1/skus/{sku}/policy`.
    PutPolicy {
        sku: Id,
        policy: PlanningPolicy,
    },
    /// `POST /v1/skus/{sku}/demand-history`.
    ImportDemand {
        sku: Id,
        import: DemandImport,
    },
    /// `GET /v1/skus/{sku}/plan[?location=]`.
    Plan {
        sku: Id,
        location: Option<Id>,
    },
    /// `GET /v1/skus/{sku}/plan/basis[?location=]`: what the plan is computed from, its forecast
    /// chosen, for a device's what-if.
    PlanBasis {
        sku: Id,
        location: Option<Id>,
    },
    /// `GET /v1/skus/{sku}/replica`: the ledger's snapshot and the stock part of the catalog.
    Replica {
        sku: Id,
    },
    /// The replenishment policy as set (none when never set), for an export.
    PolicyOf {
        sku: Id,
    },
    /// The demand history kept, by series (a location, or `*`) and date, for an export.
    DemandOf {
        sku: Id,
    },
    /// From Purchasing: what is expected from a purchase order at a location (a target).
    ExpectInbound {
        sku: Id,
        target: InboundTarget,
    },
    /// From Purchasing: a receipt against a purchase order at one location.
    ReceiveFromOrder {
        sku: Id,
        receipt: OrderReceipt,
    },
    /// From Purchasing: a matched invoice's landed cost for units that arrived earlier.
    Revalue {
        sku: Id,
        reference: String,
        qty: i64,
        delta_per_unit: Money,
    },
    /// From Orders: the SKU's stock as a channel may sell it, by location, and the promise for
    /// `qty` (a placement's stock read).
    StockRead {
        sku: Id,
        channel: Id,
        qty: i64,
    },
    /// From Orders: ship `qty` an order holds at `location` under `reservation`.
    ShipHeld {
        sku: Id,
        holding: Holding,
        order: Id,
    },
    /// From Orders: give back `qty` a cancelled order held at `location` under `reservation`.
    ReleaseHeld {
        sku: Id,
        holding: Holding,
    },
    /// From Orders: an escalated order line asks the SKU to be expedited, or no longer does.
    Expedite {
        sku: Id,
        change: ExpediteChange,
    },
}

impl SkuCommand {
    /// A coordinator's command about one hold: answered as a typed `Result<_, EngineError>` in a
    /// 200, so errors between objects stay typed.
    /// Commands that only read (a due hold may still expire on the way: its alarm is set).
    pub(crate) fn is_read(&self) -> bool {
        matches!(
            self,
            SkuCommand::Availability { .. }
                | SkuCommand::Get { .. }
                | SkuCommand::Entries { .. }
                | SkuCommand::Catalog { .. }
                | SkuCommand::Plan { .. }
                | SkuCommand::PlanBasis { .. }
                | SkuCommand::Replica { .. }
                | SkuCommand::PolicyOf { .. }
                | SkuCommand::DemandOf { .. }
                | SkuCommand::StockRead { .. }
        )
    }

    pub(crate) fn is_internal(&self) -> bool {
        matches!(
            self,
            SkuCommand::PlaceHold { .. }
                | SkuCommand::PrepareHold { .. }
                | SkuCommand::CommitHold { .. }
                | SkuCommand::ReleaseHold { .. }
                | SkuCommand::ExpectInbound { .. }
                | SkuCommand::ReceiveFromOrder { .. }
                | SkuCommand::Revalue { .. }
                | SkuCommand::StockRead { .. }
                | SkuCommand::ShipHeld { .. }
                | SkuCommand::ReleaseHeld { .. }
                | SkuCommand::Expedite { .. }
        )
    }

    pub(crate) fn sku(&self) -> Option<&Id> {
        match self {
            SkuCommand::Define { sku, .. }
            | SkuCommand::Movement { sku, .. }
            | SkuCommand::Availability { sku, .. }
            | SkuCommand::Entries { sku, .. }
            | SkuCommand::Reserve { sku, .. }
            | SkuCommand::PlaceHold { sku, .. }
            | SkuCommand::PrepareHold { sku, .. }
            | SkuCommand::CommitHold { sku, .. }
            | SkuCommand::ReleaseHold { sku, .. }
            | SkuCommand::PutPolicy { sku, .. }
            | SkuCommand::ImportDemand { sku, .. }
            | SkuCommand::Plan { sku, .. }
            | SkuCommand::PlanBasis { sku, .. }
            | SkuCommand::Replica { sku }
            | SkuCommand::PolicyOf { sku }
            | SkuCommand::DemandOf { sku }
            | SkuCommand::ExpectInbound { sku, .. }
            | SkuCommand::ReceiveFromOrder { sku, .. }
            | SkuCommand::Revalue { sku, .. }
            | SkuCommand::StockRead { sku, .. }
            | SkuCommand::ShipHeld { sku, .. }
            | SkuCommand::ReleaseHeld { sku, .. }
            | SkuCommand::Expedite { sku, .. } => Some(sku),
            SkuCommand::Commit { .. }
            | SkuCommand::Release { .. }
            | SkuCommand::Get { .. }
            | SkuCommand::Catalog { .. } => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DirectoryCommand {
    PutLocation {
        id: Id,
        spec: LocationSpec,
    },
    PutChannel {
        id: Id,
        spec: ChannelSpec,
    },
    PutSupplier {
        id: Id,
        spec: SupplierSpec,
    },
    /// From Purchasing: the lead time a supplier's receipts measured (None: too few yet).
    SetMeasuredLeadTime {
        id: Id,
        lead_time: Option<LeadTime>,
    },
    /// A SKU object's refreshed plans (over all locations, and per location), for the
    /// replenishment list and the alerts; they replace the SKU's earlier ones.
    PlanSummaries {
        sku: Id,
        summaries: Vec<PlanSummary>,
        /// Days it was out of stock lately (`planning::STOCKOUT_REPORT_DAYS`), for lost sales.
        #[serde(default)]
        stockout_days: Vec<chrono::NaiveDate>,
    },
    /// `GET /v1/metrics/margin`: each SKU's stockout days in the window and the one before.
    Stockouts {
        window: stockline_engine::metrics::Window,
    },
    /// `GET /v1/replenishment`: summaries that need action, most urgent first, after `cursor`;
    /// the SKU over all locations, or at `location`.
    Replenishment {
        supplier: Option<Id>,
        location: Option<Id>,
        at_risk: Option<bool>,
        cursor: Option<String>,
        limit: u32,
    },
    /// `GET /v1/metrics/stock-health`: the planned SKUs' stock health now.
    StockHealth {
        by: Option<stockline_engine::metrics::MetricsBy>,
    },
    /// `GET /v1/alerts`: predicted stockouts, newest first.
    Alerts {
        limit: u32,
    },
    /// A created SKU's object asks for the catalog and subscribes to changes; with its item
    /// (name, barcodes) for the index, when it has one loaded.
    /// Which of these SKUs are critical.
    Critical {
        skus: Vec<Id>,
    },
    /// Which of these SKUs exist (are in the item index).
    Defined {
        skus: Vec<Id>,
    },
    /// The items (with their definitions) of those of `skus` that exist.
    ItemsOf {
        skus: Vec<Id>,
    },
    Subscribe {
        sku: Id,
        #[serde(default)]
        item: Option<Item>,
    },
    /// `GET /v1/skus`: items whose SKU, name or barcode contains `q` (any case), after `after`.
    Items {
        q: Option<String>,
        after: Option<Id>,
        limit: u32,
    },
    List,
    /// The catalog, read only (a SKU being created reads it before it subscribes).
    Catalog,
    /// How far the current catalog has spread: created SKUs, and how many still have an older copy.
    Status,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CoordinatorCommand {
    Reserve { id: Id, request: ReservationRequest },
    Commit { id: Id, request: CommitRequest },
    Release { id: Id },
    Get { id: Id },
}

impl CoordinatorCommand {
    pub(crate) fn reservation(&self) -> &Id {
        match self {
            CoordinatorCommand::Reserve { id, .. }
            | CoordinatorCommand::Commit { id, .. }
            | CoordinatorCommand::Release { id }
            | CoordinatorCommand::Get { id } => id,
        }
    }
}

pub use stockline_shared::DecisionRequest;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PurchasingCommand {
    PutRules {
        rules: ApprovalRules,
    },
    GetRules,
    Create {
        spec: PoSpec,
    },
    /// A draft from the supplier's replenishment suggestions (read from the Directory).
    FromSuggestions {
        request: FromSuggestions,
    },
    Get {
        id: Id,
    },
    /// The orders on their way to a receiving location (`GET /v1/deliveries`).
    Deliveries {
        location: Id,
    },
    /// Orders, newest first, after `after` (an order id).
    List {
        status: Option<PoStatus>,
        supplier: Option<Id>,
        after: Option<Id>,
        limit: u32,
    },
    Decide {
        id: Id,
        action: PoAction,
        request: DecisionRequest,
        /// The caller's spend limit (from the token table), for approvals.
        spend_limit: Option<Money>,
    },
    /// A receipt against the order; `receipt` is derived from the request's Idempotency-Key.
    Receive {
        id: Id,
        receipt: Id,
        spec: ReceiptSpec,
    },
    /// A supplier's invoice against the order: matched, or an exception for finance.
    Invoice {
        id: Id,
        spec: InvoiceSpec,
    },
    /// A supplier's scorecard from its orders, receipts and invoices.
    Scorecard {
        supplier: Id,
    },
    /// Drifting suppliers over the last 30 days, as alerts.
    Alerts,
    /// `GET /v1/metrics/margin`: the invoice buckets the margin is read from.
    MarginRows {
        window: stockline_engine::metrics::Window,
        by: Option<stockline_engine::metrics::MetricsBy>,
    },
    /// `GET /v1/metrics/suppliers`: the window's figures from the day buckets.
    Metrics {
        window: stockline_engine::metrics::Window,
        by: Option<stockline_engine::metrics::MetricsBy>,
    },
    /// The submitted orders the caller may approve now.
    Inbox {
        spend_limit: Option<Money>,
        limit: u32,
    },
}
