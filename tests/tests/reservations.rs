//! Reservations by the contract: placement, allocation, channels, commit, release, expiry.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::time::Duration;
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";
const WAREHOUSE: &str = "dev-warehouse";
const STOREFRONT: &str = "dev-storefront";

/// Locations wh-1 (priority 1), wh-2 (2), st-1 (3); channel `web` over the warehouses with buffer 1.
/// SKU A: 3 at wh-1, 5 at wh-2, 4 at st-1, safety stock 1. SKU B: 2 at wh-1.
fn seeded() -> Stockline {
    let s = Stockline::start();
    for (id, kind, priority) in [("wh-1", "warehouse", 1), ("wh-2", "warehouse", 2), ("st-1", "store", 3)] {
        s.must(s.put(
            &format!("/v1/locations/{id}"),
            ADMIN,
            &json!({"name": id, "kind": kind, "region": "eu", "priority": priority}),
        ));
    }
    s.must(s.put(
        "/v1/channels/web",
        ADMIN,
        &json!({"name": "Web", "locations": ["wh-1", "wh-2"], "buffer": 1, "cap": null, "stop_below": null}),
    ));
    s.must(s.put("/v1/skus/A", ADMIN, &json!({"name": "A", "safety_stock": 1})));
    s.must(s.put("/v1/skus/B", ADMIN, &json!({"name": "B", "safety_stock": 0})));
    for (sku, location, qty) in [("A", "wh-1", 3), ("A", "wh-2", 5), ("A", "st-1", 4), ("B", "wh-1", 2)] {
        s.must(s.post(
            &format!("/v1/skus/{sku}/movements"),
            WAREHOUSE,
            &json!({"kind": "receive", "location": location, "qty": qty}),
        ));
    }
    s
}

fn position(s: &Stockline, sku: &str) -> Value {
    s.must(s.get(&format!("/v1/availability/{sku}"), STOREFRONT))
}

fn at<'a>(position: &'a Value, location: &str) -> &'a Value {
    position["locations"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["location"] == location))
        .expect("location listed")
}

/// Places a reservation and checks the status, the error code and (on success) the allocations.
#[track_caller]
fn check(s: &Stockline, body: Value, status: u16, expect: &str) -> Value {
    let (got, answer) = s.post("/v1/reservations", STOREFRONT, &body);
    assert_eq!(got, status, "{body}: {answer}");
    if status == 201 {
        let allocations: Vec<String> = answer["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                line["allocations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| format!("{}:{}", a["location"].as_str().unwrap(), a["qty"]))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        assert_eq!(allocations.join(" "), expect, "{answer}");
        assert_eq!(answer["status"], "pending");
    } else {
        assert_eq!(answer["error"]["code"], expect, "{answer}");
    }
    answer
}

#[test]
fn placement_follows_priority_channels_and_pins() {
    let s = seeded();
    // Need 5 from locations holding 3 and 5: 3 + 2, in priority order.
    check(&s, json!({"lines": [{"sku": "A", "qty": 5}]}), 201, "wh-1:3+wh-2:2");
    // Pinned location.
    check(&s, json!({"lines": [{"sku": "A", "qty": 2, "location": "st-1"}]}), 201, "st-1:2");
    // Pinned location outside the channel: 400.
    check(&s, json!({"channel": "web", "lines": [{"sku": "A", "qty": 1, "location": "st-1"}]}), 400, "invalid_request");
    // Channel web: wh-1 0 + wh-2 3 left = 3, minus safety stock 1 and buffer 1 = 1.
    let (_, short) =
        s.post("/v1/reservations", STOREFRONT, &json!({"channel": "web", "lines": [{"sku": "A", "qty": 2}]}));
    assert_eq!(short["error"]["code"], "insufficient_stock");
    assert_eq!(short["error"]["details"]["shortages"], json!([{"sku": "A", "requested": 2, "available": 1}]));
    check(&s, json!({"channel": "web", "lines": [{"sku": "A", "qty": 1}]}), 201, "wh-2:1");
    let a = position(&s, "A");
    assert_eq!((a["reserved"].as_i64(), at(&a, "wh-2")["reserved"].as_i64()), (Some(8), Some(3)));
    // Two lines of one SKU count together; a pinned line cannot exceed its location.
    // wh-2 2 + st-1 2 left, minus safety stock 1 = 3.
    check(&s, json!({"lines": [{"sku": "A", "qty": 2}, {"sku": "A", "qty": 2}]}), 409, "insufficient_stock");
    check(&s, json!({"lines": [{"sku": "A", "qty": 3, "location": "st-1"}]}), 409, "insufficient_stock");
}

#[test]
fn a_shortfall_on_any_line_holds_nothing() {
    let s = seeded();
    let before = (position(&s, "A")["version"].clone(), position(&s, "B")["version"].clone());
    let (status, answer) =
        s.post("/v1/reservations", STOREFRONT, &json!({"lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 3}]}));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["details"]["shortages"], json!([{"sku": "B", "requested": 3, "available": 2}]));
    assert_eq!(position(&s, "A")["reserved"], 0);
    assert_eq!(position(&s, "B")["reserved"], 0);
    // Every SKU short is listed, not only the first.
    let (_, answer) =
        s.post("/v1/reservations", STOREFRONT, &json!({"lines": [{"sku": "A", "qty": 99}, {"sku": "B", "qty": 3}]}));
    let skus: Vec<&str> = answer["error"]["details"]["shortages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["A", "B"]);
    // A line for a SKU never PUT: 404, nothing held.
    let (status, _) =
        s.post("/v1/reservations", STOREFRONT, &json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "GHOST", "qty": 1}]}));
    assert_eq!(status, 404);
    assert_eq!(position(&s, "A")["reserved"], 0);
    // Every SKU is checked before any is held: a shortage or an unknown SKU seen up front leaves
    // no entry at all, not even a placed-and-voided pair.
    let after = (position(&s, "A")["version"].clone(), position(&s, "B")["version"].clone());
    assert_eq!(before.0, after.0, "A was never held");
    assert_eq!(before.1, after.1, "B was never held");
}

#[test]
fn commit_release_and_resolving_twice() {
    let s = seeded();
    let single = check(&s, json!({"lines": [{"sku": "A", "qty": 4}], "reference": "order-1"}), 201, "wh-1:3+wh-2:1");
    let id = single["id"].as_str().unwrap();
    assert_eq!(s.must(s.get(&format!("/v1/reservations/{id}"), "dev-buyer"))["status"], "pending");
    // Commit part: 3 of 4 move to allocated, 1 is released.
    let committed = s.must(s.post(
        &format!("/v1/reservations/{id}/commit"),
        STOREFRONT,
        &json!({"lines": [{"sku": "A", "qty": 3}]}),
    ));
    assert_eq!(committed["status"], "committed");
    let a = position(&s, "A");
    assert_eq!((a["reserved"].as_i64(), a["allocated"].as_i64()), (Some(0), Some(3)));
    assert_eq!(at(&a, "wh-1")["allocated"], 3, "commit takes the first allocations first");
    let (status, again) = s.post(&format!("/v1/reservations/{id}/release"), STOREFRONT, &json!({}));
    assert_eq!(
        (status, &again["error"]["code"], &again["error"]["details"]["status"]),
        (409, &json!("already_resolved"), &json!("committed"))
    );
    // Ship what was committed: allocated and on_hand fall together; more than allocated is a conflict.
    let ship = |qty: i64| {
        s.post(
            "/v1/skus/A/movements",
            WAREHOUSE,
            &json!({"kind": "ship", "location": "wh-1", "qty": qty, "reference": id}),
        )
    };
    assert_eq!(ship(4).0, 409);
    assert_eq!(ship(3).0, 201);
    let a = position(&s, "A");
    assert_eq!((at(&a, "wh-1")["on_hand"].as_i64(), a["allocated"].as_i64()), (Some(0), Some(0)));

    // A multi-SKU reservation commits in full without a body, and releases are refused after.
    let multi = check(&s, json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]}), 201, "wh-2:1 wh-1:2");
    let mid = multi["id"].as_str().unwrap();
    let (status, body) = s.send("POST", &format!("/v1/reservations/{mid}/commit"), Some(STOREFRONT), None, None);
    assert_eq!((status, &body["status"]), (200, &json!("committed")), "{body}");
    assert_eq!(position(&s, "B")["allocated"], 2);
    let (status, again) = s.post(&format!("/v1/reservations/{mid}/commit"), STOREFRONT, &json!({}));
    assert_eq!((status, &again["error"]["details"]["status"]), (409, &json!("committed")));

    // Release frees the units at once.
    let held = check(&s, json!({"lines": [{"sku": "B", "qty": 0}]}), 400, "invalid_request");
    assert!(held["error"]["message"].as_str().is_some());
    let multi = check(
        &s,
        json!({"lines": [{"sku": "A", "qty": 2}, {"sku": "A", "qty": 1, "location": "st-1"}]}),
        201,
        "wh-2:2 st-1:1",
    );
    let rid = multi["id"].as_str().unwrap();
    assert_eq!(
        s.must(s.post(&format!("/v1/reservations/{rid}/release"), STOREFRONT, &json!({})))["status"],
        "released"
    );
    assert_eq!(position(&s, "A")["reserved"], 0);
    let (status, again) = s.post(&format!("/v1/reservations/{rid}/commit"), STOREFRONT, &json!({}));
    assert_eq!((status, &again["error"]["details"]["status"]), (409, &json!("released")));
    // Committing more than held, or a SKU not in the reservation: 400, still pending.
    let other = check(&s, json!({"lines": [{"sku": "A", "qty": 1}]}), 201, "wh-2:1");
    let oid = other["id"].as_str().unwrap();
    for lines in [json!([{"sku": "A", "qty": 2}]), json!([{"sku": "B", "qty": 1}])] {
        let (status, _) = s.post(&format!("/v1/reservations/{oid}/commit"), STOREFRONT, &json!({ "lines": lines }));
        assert_eq!(status, 400);
    }
    assert_eq!(s.must(s.get(&format!("/v1/reservations/{oid}"), STOREFRONT))["status"], "pending");
    // Unknown and malformed ids are not found.
    for id in ["nope", "s.x", "m99.x", "sAAAA.x"] {
        assert_eq!(s.get(&format!("/v1/reservations/{id}"), STOREFRONT).0, 404, "{id}");
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| t.parse().ok()).expect("an RFC 3339 time")
}

#[test]
fn expiry_frees_units_within_five_seconds_without_a_request() {
    let s = seeded();
    let single = check(&s, json!({"lines": [{"sku": "A", "qty": 1}], "ttl_seconds": 1}), 201, "wh-1:1");
    let multi = check(
        &s,
        json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}], "ttl_seconds": 2}),
        201,
        "wh-1:1 wh-1:1",
    );
    let placed_at = time(&multi["created_at"]);
    // No request reaches the SKU objects until after expiry: only their alarms can expire the holds.
    std::thread::sleep(Duration::from_millis(4500));
    let now = time(&s.must(s.get("/v1/health", STOREFRONT))["time"]);
    for sku in ["A", "B"] {
        let entries = s.must(s.get(&format!("/v1/skus/{sku}/entries"), WAREHOUSE));
        let expired: Vec<&Value> =
            entries["entries"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "hold_expired").collect();
        assert_eq!(expired.len(), if sku == "A" { 2 } else { 1 }, "{entries}");
        for entry in expired {
            assert_eq!(entry["actor"]["role"], "system");
            let (occurred, recorded) = (time(&entry["occurred_at"]), time(&entry["recorded_at"]));
            assert!(recorded >= occurred, "expired at or after expires_at");
            assert!(recorded < now, "the alarm expired it before any read");
            assert!(recorded - placed_at < chrono::Duration::seconds(2 + 5), "within 5 s of expiry");
        }
    }
    assert_eq!(position(&s, "A")["reserved"], 0);
    assert_eq!(position(&s, "B")["reserved"], 0);
    for reservation in [&single, &multi] {
        let id = reservation["id"].as_str().unwrap();
        assert_eq!(s.must(s.get(&format!("/v1/reservations/{id}"), STOREFRONT))["status"], "expired");
        let (status, body) = s.post(&format!("/v1/reservations/{id}/commit"), STOREFRONT, &json!({}));
        assert_eq!((status, &body["error"]["details"]["status"]), (409, &json!("expired")));
    }
}

#[test]
fn reservation_input_is_checked_before_anything_is_held() {
    let s = seeded();
    let table = [
        json!({"lines": []}),
        json!({"lines": [{"sku": "A", "qty": 1}], "ttl_seconds": 0}),
        json!({"lines": [{"sku": "A", "qty": 1}], "ttl_seconds": 86401}),
        json!({"lines": [{"sku": "A", "qty": 1000000001}]}),
        json!({"lines": [{"sku": "A", "qty": 1, "colour": "red"}]}),
        json!({"lines": [{"sku": "A", "qty": 1}], "priority": "high"}),
        json!({"lines": [{"sku": "bad sku", "qty": 1}]}),
        json!({"lines": (0..101).map(|_| json!({"sku": "A", "qty": 1})).collect::<Vec<_>>()}),
    ];
    for body in table {
        let (status, answer) = s.post("/v1/reservations", STOREFRONT, &body);
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_request")), "{body}");
    }
    let (status, answer) =
        s.post("/v1/reservations", STOREFRONT, &json!({"channel": "nope", "lines": [{"sku": "A", "qty": 1}]}));
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(s.post("/v1/reservations", WAREHOUSE, &json!({"lines": [{"sku": "A", "qty": 1}]})).0, 403);
    assert_eq!(position(&s, "A")["reserved"], 0);
    assert_eq!(position(&s, "A")["version"], 4, "no entry was written");
}

#[test]
fn idempotent_reservations_hold_once() {
    let s = seeded();
    for body in
        [json!({"lines": [{"sku": "A", "qty": 2}]}), json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]})]
    {
        let key = format!("cart-{}", body["lines"].as_array().unwrap().len());
        let first = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&body.to_string()), Some(&key));
        let again = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&body.to_string()), Some(&key));
        assert_eq!(first.0, 201, "{}", first.1);
        assert_eq!(first, again, "the replay answers the first response");
        let other = json!({"lines": [{"sku": "A", "qty": 3}]});
        let (status, _) = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&other.to_string()), Some(&key));
        assert_eq!(status, 422);
    }
    assert_eq!(position(&s, "A")["reserved"], 3);
    assert_eq!(position(&s, "B")["reserved"], 1);
}
