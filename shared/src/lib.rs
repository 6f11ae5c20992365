//! The wire contract of ../shared/API.md as Rust types, used by the edge (server) and the web app
//! (client). Engine types whose JSON already is the contract's are re-exported, not copied.

pub mod auth;
pub mod decisions;
pub mod error;
pub mod events;
pub mod imports;
pub mod orders;
pub mod outbox;
pub mod receiving;
pub mod sync;
pub mod wire;

pub use auth::{Action, Principal};
pub use decisions::{DecisionKind, DecisionState, Decisions, QueuedDecision};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use events::{DeliveriesPage, DeliveryAttempt, EventsPage, FeedItem, EVENTS_PAGE_DEFAULT};
pub use imports::{Atomic, ImportReport, ImportRequest};
pub use outbox::{CountBasis, OpState, Outbox, QueuedOp, Tally};
pub use receiving::{
    DeliveriesResponse, QueuedReceipt, ReceiptState, Receiving, DELIVERIES_MAX, RECEIPT_TOLERANCE_PCT,
};
/// The engine's limits, so clients say the same bounds the server enforces.
pub use stockline_engine::limits;
/// The metrics' answers (`GET /v1/metrics/…`), as the engine reads them from their buckets.
pub use stockline_engine::metrics;
pub use stockline_engine::Role;
pub use sync::{Me, SyncOp, SyncOpResult, SyncOutcome, SyncPushRequest, SyncPushResponse, SYNC_OPS_MAX};
pub use wire::*;

/// Request bodies over this size get 413 `payload_too_large`.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;
