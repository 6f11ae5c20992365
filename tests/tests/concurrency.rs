//! Never oversell: many storefronts at once against one SKU, two SKUs, one Idempotency-Key.

use serde_json::{json, Value};
use std::sync::Barrier;
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";
const WAREHOUSE: &str = "dev-warehouse";
const STOREFRONT: &str = "dev-storefront";

fn stocked(skus: &[(&str, i64)]) -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.location("wh-2", "warehouse", 2);
    for (sku, qty) in skus {
        s.must(s.put(&format!("/v1/skus/{sku}"), ADMIN, &json!({"name": sku, "safety_stock": 0})));
        // Split across two locations so allocation crosses locations under load too.
        s.must(s.post(
            &format!("/v1/skus/{sku}/movements"),
            WAREHOUSE,
            &json!({"kind": "receive", "location": "wh-1", "qty": qty / 2}),
        ));
        s.must(s.post(
            &format!("/v1/skus/{sku}/movements"),
            WAREHOUSE,
            &json!({"kind": "receive", "location": "wh-2", "qty": qty - qty / 2}),
        ));
    }
    s
}

/// Sends `count` requests at once (released together by a barrier); returns every answer.
fn at_once(s: &Stockline, count: usize, body: &Value, key: Option<&str>) -> Vec<(u16, Value)> {
    let barrier = Barrier::new(count);
    let text = body.to_string();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&text), key)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("request thread")).collect()
    })
}

fn tally(answers: &[(u16, Value)]) -> (usize, usize) {
    let held = answers.iter().filter(|(status, _)| *status == 201).count();
    let short =
        answers.iter().filter(|(status, body)| *status == 409 && body["error"]["code"] == "insufficient_stock").count();
    let other: Vec<_> = answers.iter().filter(|(status, _)| *status != 201 && *status != 409).collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    (held, short)
}

fn reserved(s: &Stockline, sku: &str) -> (i64, i64) {
    let position = s.must(s.get(&format!("/v1/availability/{sku}"), STOREFRONT));
    (position["reserved"].as_i64().unwrap(), position["available"].as_i64().unwrap())
}

#[test]
fn five_hundred_storefronts_one_hundred_units() {
    let s = stocked(&[("HOT", 100)]);
    let answers = at_once(&s, 500, &json!({"lines": [{"sku": "HOT", "qty": 1}], "ttl_seconds": 600}), None);
    assert_eq!(tally(&answers), (100, 400));
    assert_eq!(reserved(&s, "HOT"), (100, 0));
    let mut ids: Vec<&str> =
        answers.iter().filter(|(st, _)| *st == 201).map(|(_, b)| b["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "every hold has its own id");
}

#[test]
fn two_hundred_two_sku_carts_against_fifty_and_fifty() {
    let s = stocked(&[("LEFT", 50), ("RIGHT", 50)]);
    let cart = json!({"lines": [{"sku": "RIGHT", "qty": 1}, {"sku": "LEFT", "qty": 1}], "ttl_seconds": 600});
    let answers = at_once(&s, 200, &cart, None);
    assert_eq!(tally(&answers), (50, 150));
    assert_eq!(reserved(&s, "LEFT"), (50, 0));
    assert_eq!(reserved(&s, "RIGHT"), (50, 0));
}

#[test]
fn twenty_retries_with_one_key_hold_once() {
    let s = stocked(&[("ONE", 10)]);
    for (key, body) in [
        ("checkout-1", json!({"lines": [{"sku": "ONE", "qty": 2}]})),
        ("checkout-2", json!({"lines": [{"sku": "ONE", "qty": 1}, {"sku": "ONE", "qty": 1, "location": "wh-2"}]})),
    ] {
        let answers = at_once(&s, 20, &body, Some(key));
        let ids: Vec<&str> =
            answers.iter().filter(|(st, _)| *st == 201).map(|(_, b)| b["id"].as_str().unwrap()).collect();
        assert!(!ids.is_empty(), "{answers:?}");
        assert!(ids.iter().all(|id| *id == ids[0]), "one reservation answered to every retry");
        for (status, body) in &answers {
            assert!(*status == 201 || (*status == 409 && body["error"]["code"] == "conflict"), "{status} {body}");
        }
    }
    assert_eq!(reserved(&s, "ONE").0, 4, "each key held exactly once");
}
