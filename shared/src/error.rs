//! The contract's error envelope: `{"error": {"code", "message", "details"}}`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stockline_engine::EngineError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub details: Value,
}

/// An error as the API answers it: a status and the envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>, details: Value) -> ApiError {
        ApiError {
            status,
            body: ErrorBody { error: ErrorDetail { code: code.to_string(), message: message.into(), details } },
        }
    }

    pub fn code(&self) -> &str {
        &self.body.error.code
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "unauthorized", "a valid bearer token is required", json!({}))
    }

    pub fn forbidden(role: &str, action: &str) -> ApiError {
        ApiError::new(
            403,
            "forbidden",
            format!("role `{role}` may not {action}"),
            json!({ "role": role, "action": action }),
        )
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(404, "not_found", format!("{what} not found"), json!({}))
    }

    pub fn method_not_allowed(allowed: &[&str]) -> ApiError {
        ApiError::new(405, "method_not_allowed", "method not allowed on this path", json!({ "allowed": allowed }))
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(400, "invalid_request", format!("{field}: {message}"), json!({ "field": field }))
    }

    pub fn payload_too_large(limit_bytes: usize) -> ApiError {
        ApiError::new(
            413,
            "payload_too_large",
            format!("request body is over {limit_bytes} bytes"),
            json!({ "limit_bytes": limit_bytes }),
        )
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "conflict", message, json!({}))
    }

    /// A failure of the service itself (configuration, a call between objects, storage): the
    /// contract's 503 `unavailable` — nothing was applied, retry with the same key.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::unavailable(message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "unavailable", message, json!({}))
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        let details = match &error {
            EngineError::InvalidRequest { field, .. } => json!({ "field": field }),
            EngineError::NotFound { kind, id } => json!({ "kind": kind, "id": id }),
            EngineError::InsufficientStock { shortages } => json!({ "shortages": shortages }),
            EngineError::AlreadyResolved { status } => json!({ "status": status }),
            EngineError::Forbidden { rule, .. } => json!({ "rule": rule }),
            EngineError::Conflict { .. } | EngineError::IdempotencyMismatch | EngineError::Unavailable { .. } => {
                json!({})
            }
        };
        ApiError::new(error.http_status(), error.code(), error.to_string(), details)
    }
}

impl ErrorBody {
    /// The engine's outcome a reservation answer carries, for the two a host acts on: a
    /// shortage (`insufficient_stock`, with its shortages) and a hold already resolved. The
    /// inverse of `From<EngineError>` for those codes; None for every other answer.
    pub fn hold_outcome(&self) -> Option<EngineError> {
        let details = &self.error.details;
        match self.error.code.as_str() {
            "insufficient_stock" => serde_json::from_value(details["shortages"].clone())
                .ok()
                .map(|shortages| EngineError::InsufficientStock { shortages }),
            "already_resolved" => serde_json::from_value(details["status"].clone())
                .ok()
                .map(|status| EngineError::AlreadyResolved { status }),
            _ => None,
        }
    }
}

/// Decodes a JSON body strictly: malformed JSON, wrong types, out-of-range numbers and unknown
/// fields are all 400 `invalid_request`, with serde's words for where.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid("body", "a JSON body is required"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        ApiError::new(
            400,
            "invalid_request",
            format!("body: {message}"),
            json!({ "line": e.line(), "column": e.column() }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockline_engine::HoldStatus;

    /// What a host reads back from a reservation answer is the engine's error it came from.
    #[test]
    fn hold_outcomes_round_trip() {
        let shortage: EngineError = serde_json::from_value(json!({
            "insufficient_stock": { "shortages": [{ "sku": "A", "requested": 5, "available": 2 }] }
        }))
        .expect("a shortage");
        for error in [shortage, EngineError::AlreadyResolved { status: HoldStatus::Expired }] {
            assert_eq!(ApiError::from(error.clone()).body.hold_outcome(), Some(error));
        }
        assert_eq!(ApiError::from(EngineError::conflict("busy")).body.hold_outcome(), None);
        assert_eq!(ApiError::unavailable("down").body.hold_outcome(), None);
    }
}
