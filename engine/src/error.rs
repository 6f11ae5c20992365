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

/// Errors travel between a coordinator and SKU ledgers as these typed values (serde), never as
/// re-parsed HTTP error bodies.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// The host could not reach another party or its storage; nothing was decided. Retry.
    #[error("unavailable: {message}")]
    Unavailable { message: String },
    /// The caller may not do this here: a rule (segregation of duties, a spend limit, a blocked
    /// supplier) refuses it, named by `rule`. Nothing changed.
    #[error("{message}")]
    Forbidden { rule: String, message: String },
}

/// The kinds of thing that can be `NotFound`, as the static names the engine uses.
const NOT_FOUND_KINDS: [&str; 9] =
    ["sku", "location", "channel", "reservation", "supplier", "policy", "purchase_order", "approval_rules", "invoice"];

/// `EngineError` as it is read back: the same shape with an owned `kind`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireError {
    InvalidRequest { field: String, message: String },
    NotFound { kind: String, id: String },
    InsufficientStock { shortages: Vec<Shortage> },
    AlreadyResolved { status: HoldStatus },
    Conflict { message: String },
    IdempotencyMismatch,
    Unavailable { message: String },
    Forbidden { rule: String, message: String },
}

// By hand, not derived: a derive would make `kind: &'static str` borrow from the input.
impl<'de> Deserialize<'de> for EngineError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<EngineError, D::Error> {
        EngineError::try_from(WireError::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<WireError> for EngineError {
    type Error = String;

    fn try_from(wire: WireError) -> Result<EngineError, String> {
        Ok(match wire {
            WireError::InvalidRequest { field, message } => EngineError::InvalidRequest { field, message },
            WireError::NotFound { kind, id } => {
                let kind = NOT_FOUND_KINDS
                    .iter()
                    .find(|known| **known == kind)
                    .copied()
                    .ok_or_else(|| format!("`{kind}` is not a kind of thing the engine finds"))?;
                EngineError::NotFound { kind, id }
            }
            WireError::InsufficientStock { shortages } => EngineError::InsufficientStock { shortages },
            WireError::AlreadyResolved { status } => EngineError::AlreadyResolved { status },
            WireError::Conflict { message } => EngineError::Conflict { message },
            WireError::IdempotencyMismatch => EngineError::IdempotencyMismatch,
            WireError::Unavailable { message } => EngineError::Unavailable { message },
            WireError::Forbidden { rule, message } => EngineError::Forbidden { rule, message },
        })
    }
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

    pub fn unavailable(message: impl Into<String>) -> EngineError {
        EngineError::Unavailable { message: message.into() }
    }

    pub fn forbidden(rule: &str, message: impl Into<String>) -> EngineError {
        EngineError::Forbidden { rule: rule.to_string(), message: message.into() }
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
            EngineError::Unavailable { .. } => "unavailable",
            EngineError::Forbidden { .. } => "forbidden",
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
            EngineError::Unavailable { .. } => 503,
            EngineError::Forbidden { .. } => 403,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_typed_values() {
        let errors = [
            EngineError::invalid("qty", "must be 1..=10"),
            EngineError::not_found("reservation", "r-1"),
            EngineError::InsufficientStock {
                shortages: vec![Shortage { sku: "A".into(), requested: 3, available: 1 }],
            },
            EngineError::AlreadyResolved { status: HoldStatus::Expired },
            EngineError::conflict("on_hand would be negative"),
            EngineError::IdempotencyMismatch,
            EngineError::unavailable("storage"),
            EngineError::forbidden("segregation_of_duties", "you submitted this order"),
        ];
        for error in errors {
            let text = serde_json::to_string(&error).expect("serialises");
            let back: EngineError = serde_json::from_str(&text).expect("reads back");
            assert_eq!(back, error, "{text}");
        }
        let unknown = r#"{"not_found":{"kind":"planet","id":"x"}}"#;
        assert!(serde_json::from_str::<EngineError>(unknown).is_err());
    }
}
