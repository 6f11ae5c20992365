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
