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
/// `has_more`: the feed holds events past `next_cursor` now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<FeedItem>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// Events one page answers when `limit` is not given.
pub const EVENTS_PAGE_DEFAULT: u32 = 100;
