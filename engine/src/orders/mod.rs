//! Customer orders and their fulfilment: placement, allocation to locations as a priced and
//! explained choice, split policies, backorders with promise dates, the SLA watch, and the
//! exceptions routed to the team that owns them.
//!
//! Sans-IO like the rest of the engine: stock per location, shipping rates, node capacity, the
//! routing rules, the caller and the time come in as arguments. An order changes only through its
//! methods, each checking the version the caller saw and leaving an audited event.

pub mod allocate;
pub mod evaluate;
pub mod exceptions;
pub mod expedite;
pub mod order;
pub mod placement;
pub mod promise;
#[cfg(test)]
pub(crate) mod tests;
pub mod triage;

pub use allocate::{
    allocate, check_nodes, AllocationRequest, Choice, Drained, LineRequest, LocationStock, Node, Outcome, Plan,
    RejectReason, Rejection, RoutingRules, ServiceLevel, Shipment, ShipmentLine, ShippingRate, ShippingRates, SkuStock,
    SplitPolicy,
};
pub use evaluate::{evaluate, Evaluation, EvaluationCase, RulesOutcome, EVALUATION_ORDERS_MAX};
pub use exceptions::{
    may_act, may_raise, queue, Closure, ExceptionAction, ExceptionKind, ExceptionSpec, ExceptionStatus, FollowUp,
    OrderException, Resolution, Team, ESCALATION_DUE_IN_MINUTES,
};
pub use expedite::{expedite_change, expedite_request};
pub use order::{HoldKind, Order, OrderAction, OrderEvent, OrderLine, OrderLineSpec, OrderSpec, OrderStatus};
pub use placement::{
    draw, substitutes_to_read, Holding, Placement, PlacementStep, Routing, StockRead, PLACEMENT_ATTEMPTS_MAX,
    PLACEMENT_TTL_SECONDS,
};
pub use promise::{
    backorder_queue, promise, sla_watch, Incoming, Promise, PromiseSlice, SlaState, SlaWatch, SubstituteStock,
};
pub use triage::{reconcile, settled, triage, Reconciled, ORDER_EXCEPTIONS_KEPT_MAX};
