//! The event feed over HTTP, in the real worker: every ledger entry of every SKU appears once, in
//! its stream's version order, read page by page while writes go on; orders and their exceptions
//! join it; a kill -9 right after acknowledged writes loses none of their events and repeats none;
//! bad requests are refused.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";
const STOREFRONT: &str = "dev-storefront";
const WAREHOUSE: &str = "dev-warehouse";

/// How long the feed may take to hold an acknowledged write (producers send from alarms).
const FEED_TIMEOUT: Duration = Duration::from_secs(30);

/// A reader of the feed that keeps its cursor and checks, page by page, what the contract says:
/// cursors rise, no event twice, each stream's versions one after the other from 1.
struct Reader {
    cursor: String,
    types: Option<&'static str>,
    seen: HashSet<String>,
    last_cursor: u64,
    /// Stream → (last version seen, events of each type).
    streams: BTreeMap<String, u64>,
    events: Vec<Value>,
}

impl Reader {
    fn new(types: Option<&'static str>) -> Reader {
        Reader {
            cursor: "0".into(),
            types,
            seen: HashSet::new(),
            last_cursor: 0,
            streams: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// Reads one page; answers whether the feed said it has more.
    fn page(&mut self, s: &Stockline, limit: u32) -> bool {
        let types = self.types.map_or(String::new(), |t| format!("&types={t}"));
        let path = format!("/v1/events?after={}&limit={limit}{types}", self.cursor);
        let page = s.must(s.get(&path, ADMIN));
        for event in page["events"].as_array().expect("events") {
            let cursor: u64 = event["cursor"].as_str().expect("cursor").parse().expect("a number");
            assert!(cursor > self.last_cursor, "cursors rise: {cursor} after {}", self.last_cursor);
            self.last_cursor = cursor;
            let id = event["id"].as_str().expect("id").to_string();
            assert!(self.seen.insert(id.clone()), "{id} twice");
            let stream = event["stream"].as_str().expect("stream").to_string();
            let version = event["version"].as_u64().expect("version");
            assert_eq!(id, format!("{stream}:{version}"));
            let last = self.streams.entry(stream.clone()).or_insert(0);
            if self.types.is_none() {
                assert_eq!(event["prev_version"].as_u64(), Some(*last), "{stream}: {event}");
                if stream.starts_with("sku:") {
                    assert_eq!(version, *last + 1, "{stream}: entries one after the other");
                }
            }
            assert!(version > *last, "{stream}: versions rise");
            *last = version;
            self.events.push(event.clone());
        }
        let next = page["next_cursor"].as_str().expect("next_cursor");
        assert!(next.parse::<u64>().unwrap() >= self.cursor.parse::<u64>().unwrap(), "the cursor never goes back");
        self.cursor = next.to_string();
        page["has_more"].as_bool().expect("has_more")
    }

    /// Reads until the feed holds `want` (stream → version) or the time is up.
    fn until(&mut self, s: &Stockline, want: &BTreeMap<String, u64>) {
        let started = Instant::now();
        loop {
            let more = self.page(s, 200);
            let missing: Vec<_> = want.iter().filter(|(stream, v)| self.streams.get(*stream) < Some(v)).collect();
            if missing.is_empty() {
                return;
            }
            assert!(started.elapsed() < FEED_TIMEOUT, "the feed lacks {missing:?}\n{}", s.log_tail());
            if !more {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn setup(skus: &[&str]) -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.location("wh-2", "warehouse", 2);
    for sku in skus {
        s.sku(sku, 0);
        s.receive(sku, "wh-1", 10_000);
    }
    s
}

fn versions(s: &Stockline, skus: &[&str]) -> BTreeMap<String, u64> {
    skus.iter().map(|sku| (format!("sku:{sku}"), s.version(sku))).collect()
}

#[test]
fn every_entry_once_in_stream_order_while_writes_go_on() {
    let skus = ["FA", "FB", "FC", "FD", "FE"];
    let s = setup(&skus);
    let stop = AtomicBool::new(false);
    let mut reader = Reader::new(None);
    std::thread::scope(|scope| {
        for writer in 0..4usize {
            let (s, stop) = (&s, &stop);
            scope.spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let (a, b) = (skus[(writer + n) % skus.len()], skus[(writer + n + 1) % skus.len()]);
                    match n % 4 {
                        // One SKU, straight to its object; then released.
                        0 => {
                            let body = json!({"lines": [{"sku": a, "qty": 1}], "ttl_seconds": 60});
                            let held = s.must(s.post("/v1/reservations", STOREFRONT, &body));
                            let id = held["id"].as_str().unwrap();
                            s.must(s.post(&format!("/v1/reservations/{id}/release"), STOREFRONT, &json!({})));
                        }
                        // Two SKUs through a coordinator; then committed.
                        1 => {
                            let body = json!({"lines": [{"sku": a, "qty": 1}, {"sku": b, "qty": 2}], "ttl_seconds": 60});
                            let held = s.must(s.post("/v1/reservations", STOREFRONT, &body));
                            let id = held["id"].as_str().unwrap();
                            s.must(s.post(&format!("/v1/reservations/{id}/commit"), STOREFRONT, &json!({})));
                        }
                        2 => {
                            let reference = format!("T-{writer}-{n}");
                            let body = json!({"kind": "transfer", "location": "wh-1", "to_location": "wh-2", "qty": 1, "reference": reference});
                            s.must(s.post(&format!("/v1/skus/{a}/movements"), WAREHOUSE, &body));
                        }
                        _ => s.receive(a, "wh-2", 3),
                    }
                    n += 1;
                }
            });
        }
        // Read while the writers write: every page must already keep the promises.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            if !reader.page(&s, 37) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    let want = versions(&s, &skus);
    assert!(want.values().all(|v| *v > 20), "the writers wrote: {want:?}");
    reader.until(&s, &want);
    // Nothing beyond the ledger: the feed's last version of each SKU is the SKU's.
    for (stream, version) in &want {
        assert_eq!(reader.streams.get(stream), Some(version), "{stream}");
    }
    // Each event is its ledger entry.
    let sku = skus[0];
    let page = s.must(s.get(&format!("/v1/skus/{sku}/entries?after_version=0&limit=1000"), WAREHOUSE));
    let entries = page["entries"].as_array().unwrap();
    let fed: Vec<&Value> = reader.events.iter().filter(|e| e["stream"] == format!("sku:{sku}")).collect();
    assert_eq!(fed.len(), entries.len());
    for (event, entry) in fed.iter().zip(entries) {
        assert_eq!(event["data"]["entry"]["version"], entry["version"]);
        assert_eq!(event["data"]["entry"]["event"], entry["event"], "{event}");
        let kind = event["type"].as_str().unwrap();
        let expected = match entry["event"]["type"].as_str().unwrap() {
            "movement" => format!("stock.{}", entry["event"]["movement"]["kind"].as_str().unwrap()),
            "hold_placed" => "reservation.placed".into(),
            "hold_prepared" => "reservation.prepared".into(),
            "hold_committed" => "reservation.committed".into(),
            "hold_released" => "reservation.released".into(),
            "sku_defined" => "sku.defined".into(),
            other => panic!("unexpected entry {other}"),
        };
        assert_eq!(kind, expected);
    }
    // A filtered reader sees exactly the events of its types, in the same order.
    let mut filtered = Reader::new(Some("stock,reservation.committed"));
    while filtered.page(&s, 100) {}
    let expected: Vec<&Value> = reader
        .events
        .iter()
        .filter(|e| {
            let kind = e["type"].as_str().unwrap();
            kind.starts_with("stock.") || kind == "reservation.committed"
        })
        .collect();
    assert_eq!(filtered.events.len(), expected.len());
    for (a, b) in filtered.events.iter().zip(expected) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["cursor"], b["cursor"]);
    }
}

#[test]
fn orders_and_exceptions_join_the_feed_and_kill_nine_loses_nothing() {
    let skus = ["KA", "KB"];
    let mut s = setup(&skus);
    let channel = json!({"name": "Web", "locations": ["wh-1"], "buffer": 0, "cap": null, "stop_below": null});
    s.must(s.put("/v1/channels/web", ADMIN, &channel));
    let rates = json!({
        "currency": "EUR",
        "rates": [{"location": "wh-1", "region": "eu", "cost": "4.10", "transit_days": 1}],
        "nodes": [{"location": "wh-1", "cutoff_minute_utc": 1440}]
    });
    s.must(s.put("/v1/shipping-rates", ADMIN, &rates));
    // 20,000 of KB would be a shortage: the order is partly allocated and raises an exception.
    let body = json!({"channel": "web", "currency": "EUR", "ship_to_region": "eu", "split": "allow", "priority": 1,
        "lines": [{"sku": "KA", "qty": 2, "unit_price": "5.00"}, {"sku": "KB", "qty": 20000, "unit_price": "5.00"}]});
    let (status, placed) =
        s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body.to_string()), Some("feed-order-1"));
    assert_eq!(status, 201, "{placed}");
    let order = placed["id"].as_str().unwrap().to_string();
    // Writes acknowledged right before a kill -9: their events are not lost.
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        let sku = skus[n % 2];
        let body = json!({"kind": "adjust", "location": "wh-2", "qty": 1, "reason": "found"});
        let (status, answer) = s.post(&format!("/v1/skus/{sku}/movements"), WAREHOUSE, &body);
        assert_eq!(status, 201, "{answer}");
        acknowledged.push((sku, answer["entry"]["version"].as_u64().expect("version")));
    }
    s.kill_and_restart();
    let mut want = versions(&s, &skus);
    for (sku, version) in &acknowledged {
        assert!(want[&format!("sku:{sku}")] >= *version, "the ledger kept the write");
    }
    let shown = s.must(s.get(&format!("/v1/orders/{order}"), ADMIN));
    want.insert(format!("order:{order}"), shown["version"].as_u64().expect("order version"));
    let mut reader = Reader::new(None);
    reader.until(&s, &want);
    let of_order: Vec<&str> = reader
        .events
        .iter()
        .filter(|e| e["stream"] == format!("order:{order}"))
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(of_order.first(), Some(&"order.place"), "{of_order:?}");
    assert!(
        reader.events.iter().any(|e| e["type"] == "exception.raised" && e["data"]["exception"]["order"] == order),
        "the shortage's exception is in the feed"
    );
    // Another kill: reading on from the cursor after a restart neither repeats nor skips.
    let cursor = reader.cursor.clone();
    s.kill_and_restart();
    s.receive("KA", "wh-1", 1);
    want.insert("sku:KA".into(), s.version("KA"));
    assert_eq!(reader.cursor, cursor);
    reader.until(&s, &want);
}

#[test]
fn bad_feed_requests_are_refused() {
    let s = Stockline::start();
    for query in [
        "after=abc",
        "after=-1",
        "after=",
        "after=99999999999999999",
        "types=nope",
        "types=stock.Receive",
        "types=order,order",
        "limit=0",
        "limit=501",
        "limit=ten",
        "color=red",
    ] {
        s.expect("GET", &format!("/v1/events?{query}"), Some(ADMIN), None, 400, "invalid_request");
    }
    s.expect("GET", "/v1/events", Some(WAREHOUSE), None, 403, "forbidden");
    s.expect("GET", "/v1/events", None, None, 401, "unauthorized");
    s.expect("POST", "/v1/events", Some(ADMIN), Some("{}"), 405, "");
    let empty = s.must(s.get("/v1/events", ADMIN));
    assert_eq!(empty, json!({"events": [], "next_cursor": "0", "has_more": false}));
}
