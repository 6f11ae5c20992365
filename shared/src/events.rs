//! The event feed on the wire: `GET /v1/events?after=&types=&limit=`.

use serde::{Deserialize, Serialize};
use stockline_engine::feed::FeedEvent;

/// One event of the feed with its cursor: pass it as `after` to read what came after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    pub cursor: String,
    #[serde(flatten)]
    pub event: FeedEvent,
}

/// A page of the feed, oldest first. `next_cursor` is always given: read on from it (also when
/// `events` is empty: the page looked that far and found nothing of the asked types).
/// `has_more`: the feed holds events past `next_cursor` now. (The edge writes this JSON from the
/// stored events directly; this is its shape for clients.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<FeedItem>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// Events one page answers when `limit` is not given.
pub const EVENTS_PAGE_DEFAULT: u32 = 100;

/// One attempt to deliver an event to a webhook. `outcome`: `delivered`, `failed` (tried again
/// later), `gave_up` (tried for 24 h; the next event goes) or `paused` (the receiver failed too
/// often in a row).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub event_id: String,
    pub cursor: String,
    /// 1 for the first try of this event, counting failures in a row.
    pub attempt: u32,
    pub at: chrono::DateTime<chrono::Utc>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub outcome: String,
}

/// `GET /v1/webhooks/{id}/deliveries`: the latest attempts, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveriesPage {
    pub deliveries: Vec<DeliveryAttempt>,
}
