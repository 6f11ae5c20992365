//! Request and response bodies. Names follow the contract exactly; everything here is plain data.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::limits::{LINES_MAX, TTL_SECONDS_DEFAULT, TTL_SECONDS_MAX, TTL_SECONDS_MIN};
pub use stockline_engine::{
    Allocation, Availability, ChannelSpec, CountException, Entry, HoldStatus, Id, LocationAvailability, LocationSpec,
    Movement, MovementKind, Shortage, SkuSpec,
};

/// `PUT /v1/skus/{sku}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuResponse {
    pub sku: Id,
    pub name: String,
    pub safety_stock: i64,
    pub unit_cost: Option<String>,
    pub version: u64,
}

/// `GET /v1/availability/{sku}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityResponse {
    #[serde(flatten)]
    pub availability: Availability,
    pub as_of: DateTime<Utc>,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationLineRequest {
    pub sku: Id,
    pub qty: i64,
    #[serde(default)]
    pub location: Option<Id>,
}

/// `POST /v1/reservations` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    #[serde(default)]
    pub channel: Option<Id>,
    pub lines: Vec<ReservationLineRequest>,
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub reference: Option<String>,
}

impl ReservationRequest {
    pub fn ttl_seconds(&self) -> u32 {
        self.ttl_seconds.unwrap_or(TTL_SECONDS_DEFAULT)
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        if self.lines.is_empty() || self.lines.len() > LINES_MAX {
            return Err(ApiError::invalid("lines", format!("must hold 1..={LINES_MAX} lines")));
        }
        if !(TTL_SECONDS_MIN..=TTL_SECONDS_MAX).contains(&self.ttl_seconds()) {
            return Err(ApiError::invalid("ttl_seconds", format!("must be {TTL_SECONDS_MIN}..={TTL_SECONDS_MAX}")));
        }
        for line in &self.lines {
            if !(1..=stockline_engine::limits::QTY_REQUEST_MAX).contains(&line.qty) {
                return Err(ApiError::invalid("qty", "must be a whole number 1..=1000000000"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationLine {
    pub sku: Id,
    pub qty: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Id>,
    pub allocations: Vec<Allocation>,
}

/// A reservation as `POST /v1/reservations` and `GET /v1/reservations/{id}` answer it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Id,
    pub status: HoldStatus,
    pub channel: Option<Id>,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<ReservationLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitLine {
    pub sku: Id,
    pub qty: i64,
}

/// `POST /v1/reservations/{id}/commit` body (optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    #[serde(default)]
    pub lines: Option<Vec<CommitLine>>,
}
