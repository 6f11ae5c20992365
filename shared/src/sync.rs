//! The warehouse app's sync protocol: a batch push of queued movements with a result per
//! operation. Each operation's `op_id` is its Idempotency-Key at the SKU's ledger, with the same
//! fingerprint as `POST /v1/skus/{sku}/movements`, so a push and a direct post of the same
//! operation are one write: sending an operation again never applies it twice.

use crate::error::ErrorDetail;
use crate::wire::AvailabilityResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::{CountException, Id, Movement, Role};

/// Operations in one push.
pub const SYNC_OPS_MAX: usize = 100;

/// One queued movement, made on a device (perhaps offline) at `occurred_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOp {
    pub op_id: Id,
    pub sku: Id,
    pub movement: Movement,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// `POST /v1/sync/push` body: operations in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncPushRequest {
    pub ops: Vec<SyncOp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Recorded in the ledger (now or by an earlier push of the same operation).
    Applied,
    /// Refused for a reason a person must resolve (conflict, not found, invalid); nothing applied.
    Rejected,
    /// Not decided (the ledger was unreachable, or an earlier operation of the same SKU was not
    /// decided): send it again later.
    Retry,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncOpResult {
    pub op_id: Id,
    pub outcome: SyncOutcome,
    pub http_status: u16,
    /// The ledger version of the entry, when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// What an applied count raised (uncovered commitments, counts that disagree).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<CountException>,
    /// The SKU's availability right after this operation (for a replay of an earlier push, as it
    /// was then): the device's stock card follows without another request, newer versions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<AvailabilityResponse>,
}

/// `POST /v1/sync/push` answer: one result per operation, in request order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncPushResponse {
    pub results: Vec<SyncOpResult>,
}

/// `GET /v1/me`: who the token stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub role: Role,
    pub subject: String,
}
