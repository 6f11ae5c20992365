//! The event feed: every ledger entry, and every change of a customer order, a purchase order or an
//! order exception, as one typed event in its stream (the SKU, the order, the purchase order, the
//! exception) with its version in that stream.
//!
//! Producers (the objects that own a stream) hand their events to one feed log in stream order.
//! Each event names the version before it in its stream (`prev_version`), so the log can tell a
//! repeat (already appended: ignored) from a gap (an event in between is missing: refused, and the
//! producer sends again from what the log has). The log numbers events in the order it appends
//! them; that number is the reader's cursor, so a page never skips or repeats an event.

use crate::error::EngineError;
use crate::ids::Id;
use crate::ledger::{Entry, Event, MovementKind};
use crate::orders::{ExceptionStatus, OrderEvent, OrderException};
use crate::procurement::PoEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Events one producer hands over in one call, and one page of the feed, at most.
pub const FEED_BATCH_MAX: usize = 500;
/// Types one filter names at most.
pub const FEED_TYPES_MAX: usize = 32;
/// Days the feed keeps an event; a cursor older than that is refused.
pub const FEED_RETENTION_DAYS: i64 = 30;
/// A producer sends what it wrote this long after the change at the least (changes in between
/// go together)...
pub const SEND_DELAY_MS: i64 = 1_000;
/// ...and at most this much longer, its own fixed share of it: a purchase-order receipt writes
/// to 100 SKUs at once, and their sends would otherwise all fall due in the same millisecond,
/// holding up whatever request the runtime serves then behind all of them.
pub const SEND_SPREAD_MS: u64 = 1_000;

/// How long the producer named `producer` waits to send: `SEND_DELAY_MS` and its share of
/// `SEND_SPREAD_MS`, the same every time, producers spread evenly over the spread.
pub fn send_delay_ms(producer: &str) -> i64 {
    let share_ms =
        crate::idempotency::fingerprint(&[b"feed send spread", producer.as_bytes()]).prefix_u64() % SEND_SPREAD_MS;
    let delay_ms = SEND_DELAY_MS + share_ms as i64;
    assert!((SEND_DELAY_MS..SEND_DELAY_MS + SEND_SPREAD_MS as i64).contains(&delay_ms));
    delay_ms
}

/// What a stream is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Sku,
    Order,
    PurchaseOrder,
    Exception,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Sku => "sku",
            StreamKind::Order => "order",
            StreamKind::PurchaseOrder => "purchase_order",
            StreamKind::Exception => "exception",
        }
    }
}

/// A stream: `sku:TSHIRT-RED-M`, `order:SO-000001`, `purchase_order:PO-000003`, `exception:EX-7`.
/// The kind never holds a `:`, so the first one splits it from the id (which may hold more).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stream {
    pub kind: StreamKind,
    pub id: Id,
}

impl Stream {
    pub fn new(kind: StreamKind, id: Id) -> Stream {
        Stream { kind, id }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl std::str::FromStr for Stream {
    type Err = EngineError;
    fn from_str(text: &str) -> Result<Stream, EngineError> {
        let invalid = || EngineError::invalid("stream", format!("{text:?} is not kind:id"));
        let (kind, id) = text.split_once(':').ok_or_else(invalid)?;
        let kind = match kind {
            "sku" => StreamKind::Sku,
            "order" => StreamKind::Order,
            "purchase_order" => StreamKind::PurchaseOrder,
            "exception" => StreamKind::Exception,
            _ => return Err(invalid()),
        };
        Ok(Stream { kind, id: Id::new(id).map_err(|_| invalid())? })
    }
}

impl Serialize for Stream {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stream {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Stream, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What an event carries: the ledger entry, or the document's event, or the exception as it now is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeedData {
    Entry { sku: Id, entry: Entry },
    Order { order: Id, event: OrderEvent },
    PurchaseOrder { purchase_order: Id, event: PoEvent },
    Exception { exception: OrderException },
}

/// One event of the feed as a producer hands it over. `id` is `stream:version`: the same event
/// always has the same id (a webhook receiver de-duplicates on it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub stream: Stream,
    pub version: u64,
    /// The version of the stream's event before this one (0: this is its first).
    pub prev_version: u64,
    /// When the change was recorded.
    pub at: DateTime<Utc>,
    pub data: FeedData,
}

impl FeedEvent {
    fn new(stream: Stream, version: u64, prev_version: u64, kind: String, at: DateTime<Utc>, data: FeedData) -> Self {
        assert!(version > prev_version, "a stream's versions rise");
        FeedEvent { id: format!("{stream}:{version}"), kind, stream, version, prev_version, at, data }
    }

    /// A SKU ledger entry: its stream is the SKU and its version the entry's (entries are
    /// numbered from 1 without gaps, so the one before is `version - 1`).
    pub fn of_entry(sku: &Id, entry: &Entry) -> FeedEvent {
        assert!(entry.version >= 1, "ledger versions start at 1");
        let movement = match &entry.event {
            Event::Movement { movement, .. } => Some(movement.kind),
            _ => None,
        };
        let kind = entry_kind(entry.event.tag(), movement).expect("every event the ledger records has a feed type");
        FeedEvent::new(
            Stream::new(StreamKind::Sku, sku.clone()),
            entry.version,
            entry.version - 1,
            kind,
            entry.recorded_at,
            FeedData::Entry { sku: sku.clone(), entry: entry.clone() },
        )
    }

    /// A customer order's audited change; `prev_version` is the last one the producer handed over.
    pub fn of_order(order: &Id, event: &OrderEvent, prev_version: u64) -> FeedEvent {
        FeedEvent::new(
            Stream::new(StreamKind::Order, order.clone()),
            u64::from(event.version),
            prev_version,
            format!("order.{}", event.action.as_str()),
            event.at,
            FeedData::Order { order: order.clone(), event: event.clone() },
        )
    }

    /// A purchase order's audited change.
    pub fn of_purchase_order(po: &Id, event: &PoEvent, prev_version: u64) -> FeedEvent {
        FeedEvent::new(
            Stream::new(StreamKind::PurchaseOrder, po.clone()),
            u64::from(event.version),
            prev_version,
            format!("purchase_order.{}", event.action.as_str()),
            event.at,
            FeedData::PurchaseOrder { purchase_order: po.clone(), event: event.clone() },
        )
    }

    /// An order exception as it is at its version: raised, escalated, resolved, closed or
    /// otherwise changed (its due time moved, say).
    pub fn of_exception(exception: &OrderException, prev_version: u64) -> FeedEvent {
        let (kind, at) = match (&exception.status, &exception.closed, &exception.resolution) {
            (ExceptionStatus::Closed, Some(closed), _) => ("exception.closed", closed.at),
            (ExceptionStatus::Resolved, _, Some(resolution)) => ("exception.resolved", resolution.at),
            _ if exception.version == 1 => ("exception.raised", exception.raised_at),
            _ => match &exception.escalation {
                Some(escalation) => ("exception.escalated", escalation.at),
                None => ("exception.changed", exception.raised_at),
            },
        };
        FeedEvent::new(
            Stream::new(StreamKind::Exception, exception.id.clone()),
            u64::from(exception.version),
            prev_version,
            kind.to_string(),
            at,
            FeedData::Exception { exception: exception.clone() },
        )
    }
}

/// What the log reads of an event it appends: everything but its data (kept as sent).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FeedHead {
    #[serde(rename = "type")]
    pub kind: String,
    pub stream: Stream,
    pub version: u64,
    pub prev_version: u64,
    pub at: DateTime<Utc>,
}

/// The families of event types; a filter names a type (`stock.receive`) or a family (`stock`).
pub const FEED_FAMILIES: [&str; 9] =
    ["sku", "stock", "reservation", "allocation", "cost", "inbound", "order", "purchase_order", "exception"];

/// A reader's filter on types: the family of `stock.receive` is `stock`.
pub fn family_of(kind: &str) -> &str {
    kind.split_once('.').map_or(kind, |(family, _)| family)
}

/// Checks a `types=` filter: each name a known family, or a type in one (`family.name`, lower
/// case and `_`). At most `FEED_TYPES_MAX` names, none repeated.
pub fn check_types(types: &[String]) -> Result<(), EngineError> {
    if types.len() > FEED_TYPES_MAX {
        return Err(EngineError::invalid("types", format!("at most {FEED_TYPES_MAX} types")));
    }
    for (at, name) in types.iter().enumerate() {
        let family = family_of(name);
        let rest_ok = name.split_once('.').is_none_or(|(_, rest)| {
            !rest.is_empty() && rest.len() <= 40 && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        });
        if !FEED_FAMILIES.contains(&family) || !rest_ok {
            return Err(EngineError::invalid(
                "types",
                format!("{name:?} is not an event type; families: {}", FEED_FAMILIES.join(", ")),
            ));
        }
        if types[..at].contains(name) {
            return Err(EngineError::invalid("types", format!("{name:?} is named twice")));
        }
    }
    Ok(())
}

/// What the log does with an event, given the last version it holds of the event's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Append {
    /// The next event of its stream: append it.
    Next,
    /// Appended before (a producer's retry): nothing to do.
    Repeat,
    /// An event in between is missing: refuse it; the producer sends again from `last`.
    Gap { last: u64 },
}

/// What the log does with the event at `version` whose stream's version before it is
/// `prev_version`, given `last`, the stream's last version the log holds.
pub fn check_append(last: u64, prev_version: u64, version: u64) -> Append {
    assert!(version > prev_version, "a stream's versions rise");
    if version <= last {
        Append::Repeat
    } else if prev_version == last {
        Append::Next
    } else {
        Append::Gap { last }
    }
}

/// A ledger entry's type in the feed, from its event's tag (and a movement's kind).
fn entry_kind(tag: &str, movement: Option<MovementKind>) -> Result<String, EngineError> {
    Ok(match (tag, movement) {
        ("sku_defined", _) => "sku.defined".to_string(),
        ("movement", Some(kind)) => format!("stock.{}", kind.as_str()),
        ("hold_placed", _) => "reservation.placed".to_string(),
        ("hold_prepared", _) => "reservation.prepared".to_string(),
        ("hold_committed", _) => "reservation.committed".to_string(),
        ("hold_released", _) => "reservation.released".to_string(),
        ("hold_expired", _) => "reservation.expired".to_string(),
        ("allocation_released", _) => "allocation.released".to_string(),
        ("cost_revalued", _) => "cost.revalued".to_string(),
        ("inbound_expected", _) => "inbound.expected".to_string(),
        (other, _) => {
            return Err(EngineError::unavailable(format!("a ledger entry of type `{other}` has no feed type")));
        }
    })
}

/// `FeedEvent::of_entry(sku, entry)` as JSON, made from the entry's stored JSON without decoding
/// it whole: its version, time and type are read, the rest is spliced in as it is. A hot SKU hands
/// the feed hundreds of entries a second; this keeps that off its CPU. A text that is not an
/// entry is an error, never a guess.
pub fn entry_event_json(sku: &Id, entry_json: &str) -> Result<String, EngineError> {
    #[derive(Deserialize)]
    struct Head {
        version: u64,
        recorded_at: DateTime<Utc>,
        event: EventHead,
    }
    #[derive(Deserialize)]
    struct EventHead {
        #[serde(rename = "type")]
        tag: String,
        #[serde(default)]
        movement: Option<MovementHead>,
    }
    #[derive(Deserialize)]
    struct MovementHead {
        kind: MovementKind,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        stream: &'a Stream,
        version: u64,
        prev_version: u64,
        at: DateTime<Utc>,
        data: Data<'a>,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        sku: &'a Id,
        entry: &'a serde_json::value::RawValue,
    }
    let unreadable = |e: serde_json::Error| EngineError::unavailable(format!("a stored entry of {sku}: {e}"));
    let head: Head = serde_json::from_str(entry_json).map_err(unreadable)?;
    let raw: &serde_json::value::RawValue = serde_json::from_str(entry_json).map_err(unreadable)?;
    if head.version == 0 {
        return Err(EngineError::unavailable(format!("a stored entry of {sku} has version 0")));
    }
    let stream = Stream::new(StreamKind::Sku, sku.clone());
    let out = Out {
        id: format!("{stream}:{}", head.version),
        kind: entry_kind(&head.event.tag, head.event.movement.map(|m| m.kind))?,
        stream: &stream,
        version: head.version,
        prev_version: head.version - 1,
        at: head.recorded_at,
        data: Data { sku, entry: raw },
    };
    serde_json::to_string(&out).map_err(|e| EngineError::unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Actor, Role};

    #[test]
    fn producers_written_together_send_spread_over_the_second() {
        let skus: Vec<String> = (0..100).map(|i| format!("SKU-{i:03}")).collect();
        let delays: Vec<i64> = skus.iter().map(|sku| send_delay_ms(sku)).collect();
        let spread_ms = SEND_SPREAD_MS as i64;
        for (sku, delay_ms) in skus.iter().zip(&delays) {
            assert!((SEND_DELAY_MS..SEND_DELAY_MS + spread_ms).contains(delay_ms), "{sku}: {delay_ms}");
            assert_eq!(send_delay_ms(sku), *delay_ms, "{sku}: the same every time");
        }
        // A receipt's 100 SKUs fall in every tenth of the spread, none with more than a fifth.
        let mut tenths = [0u32; 10];
        for delay_ms in &delays {
            tenths[((delay_ms - SEND_DELAY_MS) * 10 / spread_ms) as usize] += 1;
        }
        assert!(tenths.iter().all(|&n| (1..=20).contains(&n)), "{tenths:?}");
    }

    fn entry(version: u64) -> Entry {
        Entry {
            version,
            event: Event::HoldCommitted { reservation: Id::new("r1").unwrap() },
            effects: Vec::new(),
            actor: Actor { role: Role::Storefront, subject: "shop".into() },
            occurred_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            recorded_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    /// The spliced JSON of every kind of entry is the typed event's, byte for byte; and the tag
    /// each event gives itself is the one its JSON carries.
    #[test]
    fn an_entry_spliced_into_its_event_is_the_typed_event() {
        let sku = Id::new("TEE-RED").unwrap();
        let at = "2026-12-03T10:00:00Z";
        let events = [
            serde_json::json!({"type": "sku_defined", "name": "Tee", "safety_stock": 2, "unit_cost": "4.10", "substitutes": ["TEE-BLUE"]}),
            serde_json::json!({"type": "movement", "movement": {"kind": "receive", "location": "A", "qty": 5}, "exceptions": []}),
            serde_json::json!({"type": "movement", "movement": {"kind": "return_receive", "location": "A", "qty": 1, "disposition": "damage"}, "exceptions": []}),
            serde_json::json!({"type": "hold_placed", "hold": {"id": "r1", "status": "pending", "channel": null, "reference": "cart \"7\"",
                "placed_at": at, "expires_at": at, "lines": [], "allocated": []}}),
            serde_json::json!({"type": "hold_prepared", "reservation": "r1"}),
            serde_json::json!({"type": "hold_committed", "reservation": "r1"}),
            serde_json::json!({"type": "hold_released", "reservation": "r1"}),
            serde_json::json!({"type": "hold_expired", "reservation": "r1"}),
            serde_json::json!({"type": "allocation_released", "reservation": "r1", "location": "A", "qty": 2}),
            serde_json::json!({"type": "cost_revalued", "unit_cost": "3.95", "reference": "PO-1/INV-2"}),
            serde_json::json!({"type": "inbound_expected", "location": "A", "reference": "PO-1", "qty": 40, "expected_on": "2026-12-09"}),
        ];
        for (n, json) in events.into_iter().enumerate() {
            let event: Event = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(json["type"], event.tag(), "{json}");
            let entry = Entry { event, ..entry(n as u64 + 1) };
            let stored = serde_json::to_string(&entry).unwrap();
            let typed = serde_json::to_string(&FeedEvent::of_entry(&sku, &entry)).unwrap();
            assert_eq!(entry_event_json(&sku, &stored), Ok(typed), "{stored}");
        }
        // Not an entry: an error, not a guess.
        for bad in [
            "",
            "{}",
            r#"{"version": 0, "recorded_at": "2026-12-03T10:00:00Z", "event": {"type": "hold_expired"}}"#,
            r#"{"version": 3, "recorded_at": "2026-12-03T10:00:00Z", "event": {"type": "teleported"}}"#,
        ] {
            assert!(matches!(entry_event_json(&sku, bad), Err(EngineError::Unavailable { .. })), "{bad}");
        }
    }

    #[test]
    fn appends_in_stream_order_once() {
        let sku = Id::new("TEE").unwrap();
        // (last version held, event version) → what the log does
        let table = [
            (0, 1, Append::Next),
            (1, 2, Append::Next),
            (2, 2, Append::Repeat),
            (5, 3, Append::Repeat),
            (1, 3, Append::Gap { last: 1 }),
            (0, 4, Append::Gap { last: 0 }),
        ];
        for (last, version, expected) in table {
            let event = FeedEvent::of_entry(&sku, &entry(version));
            assert_eq!(check_append(last, event.prev_version, event.version), expected, "last {last}, event {version}");
        }
    }

    #[test]
    fn entries_are_typed_and_named_by_stream_and_version() {
        let event = FeedEvent::of_entry(&Id::new("TEE:RED").unwrap(), &entry(7));
        assert_eq!(event.id, "sku:TEE:RED:7");
        assert_eq!(event.kind, "reservation.committed");
        assert_eq!((event.version, event.prev_version), (7, 6));
        let stream: Stream = "sku:TEE:RED".parse().unwrap();
        assert_eq!(stream, event.stream);
        for bad in ["TEE", "shelf:TEE", "sku:", "sku:a b"] {
            assert!(bad.parse::<Stream>().is_err(), "{bad}");
        }
    }

    #[test]
    fn type_filters() {
        let check = |names: &[&str]| check_types(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        for good in [&["stock"][..], &["stock.receive", "order"], &["exception.raised", "purchase_order.approve"]] {
            assert!(check(good).is_ok(), "{good:?}");
        }
        for bad in [&["stocks"][..], &["stock."], &["Stock.receive"], &["stock.Receive"], &["order", "order"]] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        assert_eq!(family_of("purchase_order.approve"), "purchase_order");
        assert_eq!(family_of("sku"), "sku");
    }
}
