//! Typed errors. Each maps to exactly one contract error code (see `code`).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One line the engine could not hold in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

/// The final state a reservation was resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Pending,
    Committed,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Pending => "pending",
            HoldStatus::Committed => "committed",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The request is malformed or out of range; nothing changed.
    #[error("{field}: {message}")]
    InvalidRequest { field: String, message: String },
    /// A SKU, location, channel or reservation that does not exist.
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    /// One or more lines cannot be held in full; nothing was held.
    #[error("insufficient stock")]
    InsufficientStock { shortages: Vec<Shortage> },
    /// The reservation was already committed, released or expired.
    #[error("reservation is already {}", status.as_str())]
    AlreadyResolved { status: HoldStatus },
    /// The operation contradicts the current state (negative quantities, uncovered commitments).
    #[error("{message}")]
    Conflict { message: String },
    /// The same idempotency key was used for a different request.
    #[error("idempotency key was used for a different request")]
    IdempotencyMismatch,
}

impl EngineError {
    pub fn invalid(field: &str, message: impl Into<String>) -> EngineError {
        EngineError::InvalidRequest { field: field.to_string(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> EngineError {
        EngineError::Conflict { message: message.into() }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> EngineError {
        EngineError::NotFound { kind, id: id.into() }
    }

    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidRequest { .. } => "invalid_request",
            EngineError::NotFound { .. } => "not_found",
            EngineError::InsufficientStock { .. } => "insufficient_stock",
            EngineError::AlreadyResolved { .. } => "already_resolved",
            EngineError::Conflict { .. } => "conflict",
            EngineError::IdempotencyMismatch => "idempotency_mismatch",
        }
    }

    /// The contract's HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            EngineError::InvalidRequest { .. } => 400,
            EngineError::NotFound { .. } => 404,
            EngineError::InsufficientStock { .. }
            | EngineError::AlreadyResolved { .. }
            | EngineError::Conflict { .. } => 409,
            EngineError::IdempotencyMismatch => 422,
        }
    }
}
