//! Never lose an acknowledged write: kill -9 the runtime in the middle of a stream of
//! reservations, restart it, and every 201 is there, nothing is held twice, expiries still fire.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use stockline_tests::Stockline;

const STOREFRONT: &str = "dev-storefront";

#[test]
fn kill_nine_mid_stream_loses_no_acknowledged_reservation() {
    let mut s = Stockline::start();
    s.must(s.put(
        "/v1/locations/wh-1",
        "dev-admin",
        &json!({"name": "Main", "kind": "warehouse", "region": "eu", "priority": 1}),
    ));
    s.must(s.put("/v1/skus/S", "dev-admin", &json!({"name": "S", "safety_stock": 0})));
    s.must(s.post(
        "/v1/skus/S/movements",
        "dev-warehouse",
        &json!({"kind": "receive", "location": "wh-1", "qty": 100000}),
    ));
    let ttl_seconds = 6;
    let acknowledged = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let mut attempted = 0usize;
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (s, acknowledged, stop) = (&s, &acknowledged, &stop);
                scope.spawn(move || {
                    let mut sent = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let body = json!({"lines": [{"sku": "S", "qty": 1}], "ttl_seconds": ttl_seconds, "reference": format!("w{writer}")});
                        let (status, answer) = s.post("/v1/reservations", STOREFRONT, &body);
                        sent += 1;
                        match status {
                            201 => acknowledged.lock().unwrap().push(answer["id"].as_str().unwrap().to_string()),
                            0 => break, // the runtime is gone
                            other => panic!("unexpected {other}: {answer}"),
                        }
                    }
                    sent
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(1500));
        s.kill_hard();
        stop.store(true, Ordering::Relaxed);
        attempted = writers.into_iter().map(|w| w.join().unwrap()).sum();
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() > 20, "the stream was running when killed ({} acknowledged)", acknowledged.len());
    s.restart();

    // Every acknowledged reservation exists, pending, and holds its unit once.
    for id in &acknowledged {
        let (status, reservation) = s.get(&format!("/v1/reservations/{id}"), STOREFRONT);
        assert_eq!(status, 200, "{id} was acknowledged before the kill: {reservation}");
        assert_eq!(reservation["status"], "pending");
    }
    let position = s.must(s.get("/v1/availability/S", STOREFRONT));
    let reserved = position["reserved"].as_i64().unwrap() as usize;
    // Requests in flight at the kill may have applied without an answer: at most one per writer.
    assert!(
        reserved >= acknowledged.len() && reserved <= acknowledged.len() + 4,
        "reserved {reserved}, acknowledged {}, attempted {attempted}",
        acknowledged.len()
    );
    assert_eq!(position["on_hand"], 100000);

    // Expiries set before the kill still fire: wait past the TTL plus the 5 s allowance; the
    // alarms, not a request, write the expiry entries.
    let version = position["version"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(ttl_seconds as u64 + 4));
    let now: DateTime<Utc> = s.must(s.get("/v1/health", STOREFRONT))["time"].as_str().unwrap().parse().unwrap();
    let mut expired = 0usize;
    let mut after = version;
    loop {
        let page = s.must(s.get(&format!("/v1/skus/S/entries?after_version={after}&limit=1000"), "dev-warehouse"));
        let entries = page["entries"].as_array().unwrap();
        if entries.is_empty() {
            break;
        }
        for entry in entries {
            assert_eq!(entry["event"]["type"], "hold_expired", "{entry}");
            let recorded: DateTime<Utc> = entry["recorded_at"].as_str().unwrap().parse().unwrap();
            assert!(recorded < now, "expired by an alarm before any read");
            expired += 1;
        }
        after = page["next_after_version"].as_u64().unwrap();
    }
    assert_eq!(expired, reserved, "each held unit expired exactly once");
    let position = s.must(s.get("/v1/availability/S", STOREFRONT));
    assert_eq!(position["reserved"], 0, "every hold expired");
    assert_eq!(position["available"], 100000);
    for id in acknowledged.iter().take(20) {
        assert_eq!(s.must(s.get(&format!("/v1/reservations/{id}"), STOREFRONT))["status"], "expired");
    }
}

/// A SKU object tells a new Idempotency-Key from a repeat without reading storage while it
/// knows every key it keeps (up to 1,024); past that, and after a restart, it reads. Either way
/// a repeat is answered as first, a reused key with another request is refused, and nothing
/// applies twice.
#[test]
fn keys_replay_past_the_keys_an_object_knows_and_after_a_kill() {
    const KEYS: usize = 1_100;
    let mut s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.sku("K", 0);
    let path = "/v1/skus/K/movements";
    let body = json!({"kind": "receive", "location": "wh-1", "qty": 1}).to_string();
    let keyed =
        |s: &Stockline, key: &str, body: &str| s.send("POST", path, Some("dev-warehouse"), Some(body), Some(key));
    let mut first = Vec::new();
    for n in 0..KEYS {
        let (status, answer) = keyed(&s, &format!("k-{n}"), &body);
        assert_eq!(status, 201, "{answer}");
        first.push(answer);
        if n == 0 {
            // While the object knows all its keys: a repeat is found in memory's set.
            assert_eq!(keyed(&s, "k-0", &body), (201, first[0].clone()));
        }
    }
    let on_hand = |s: &Stockline| s.must(s.get("/v1/availability/K", "dev-warehouse"))["on_hand"].clone();
    assert_eq!(on_hand(&s), KEYS);
    let check = |s: &Stockline| {
        for n in [0, 1, 1_023, 1_024, 1_025, KEYS - 1] {
            assert_eq!(keyed(s, &format!("k-{n}"), &body), (201, first[n].clone()), "k-{n} answered as first");
        }
        let other = json!({"kind": "receive", "location": "wh-1", "qty": 2}).to_string();
        let (status, refused) = keyed(s, "k-7", &other);
        assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("idempotency_mismatch")), "{refused}");
        assert_eq!(on_hand(s), KEYS, "no repeat applied");
    };
    check(&s);
    s.kill_and_restart();
    check(&s);
}
