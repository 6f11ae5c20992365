//! The orders API's wire: shipping rates and nodes, order steps, exception resolutions, and the
//! views the Orders object answers (`shared/openapi.json`, tag `orders`).

use serde::{Deserialize, Serialize};
pub use stockline_engine::orders::{
    Evaluation, ExceptionAction, Holding, Node, Order, OrderAction, OrderException, RoutingRules, ShippingRate,
    SlaWatch,
};
use stockline_engine::Id;

/// The engine's order types the app shows and acts on.
pub use stockline_engine::orders::{
    Choice, ExceptionKind, ExceptionStatus, OrderEvent, OrderLine, OrderStatus, Outcome, Team,
};
pub use stockline_engine::Role;

/// `PUT /v1/shipping-rates`: the rate table and the nodes' cut-offs and capacity.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingSpec {
    pub currency: String,
    pub rates: Vec<ShippingRate>,
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
}

/// A location as a shipping node: its carrier cut-off and shipments a day.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub location: Id,
    /// Minutes after midnight UTC (0..=1440; 1440: no cut-off).
    pub cutoff_minute_utc: u16,
    #[serde(default)]
    pub capacity_per_day: Option<u32>,
}

/// `POST /v1/orders/{id}/{action}` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderActionRequest {
    pub version: u32,
    #[serde(default)]
    pub comment: Option<String>,
    /// `cancel` only: one line instead of the whole order.
    #[serde(default)]
    pub line: Option<u32>,
}

/// `POST /v1/exceptions/{id}/resolve` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub action: ExceptionAction,
    pub version: u32,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `GET /v1/orders/{id}`: the order (its plan, explanation and timeline in `events`), the units
/// it holds by reservation, its exceptions, the SLA watch, and what may be done next.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    pub holdings: Vec<Holding>,
    pub exceptions: Vec<OrderException>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaWatch>,
    pub actions: Vec<OrderAction>,
    /// Still being placed (a step failed on the way and is retried): read again shortly.
    #[serde(default)]
    pub placing: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrdersResponse {
    pub orders: Vec<OrderView>,
    /// Pass as `cursor` for the next page; none on the last.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExceptionsResponse {
    pub exceptions: Vec<OrderException>,
}

/// `GET /v1/shipping-rates`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShippingResponse {
    pub currency: String,
    pub rates: Vec<ShippingRate>,
    pub nodes: Vec<Node>,
}

/// `GET /v1/routing-rules`: the active set and the draft, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoutingRulesResponse {
    pub active: RoutingRules,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<RoutingRules>,
}

/// `POST /v1/routing-rules/evaluate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvaluationResponse {
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

/// `POST /v1/exceptions/{id}/resolve`: the exception as resolved and the order after the follow-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResolveResponse {
    pub exception: OrderException,
    pub order: OrderView,
}
