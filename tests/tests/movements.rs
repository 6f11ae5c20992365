//! Every movement kind of the contract's table, with its effect and its conflicts, over HTTP.

use serde_json::{json, Value};
use stockline_tests::Stockline;

const WAREHOUSE: &str = "dev-warehouse";

fn seeded() -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.location("wh-2", "warehouse", 2);
    s.sku("M", 0);
    s
}

/// Posts a movement; checks the status and then `location.field=value` pairs of the position.
#[track_caller]
fn check(s: &Stockline, body: Value, status: u16, expect: &str) -> Value {
    let (got, answer) = s.post("/v1/skus/M/movements", WAREHOUSE, &body);
    assert_eq!(got, status, "{body}: {answer}");
    let position = s.must(s.get("/v1/availability/M", WAREHOUSE));
    for pair in expect.split_whitespace() {
        let (path, value) = pair.split_once('=').expect("location.field=value");
        let (location, field) = path.split_once('.').expect("location.field");
        let line = position["locations"].as_array().unwrap().iter().find(|l| l["location"] == location).unwrap();
        assert_eq!(line[field].to_string(), value, "{pair} after {body}: {position}");
    }
    answer
}

#[test]
fn every_kind_applies_its_effect() {
    let s = seeded();
    check(&s, json!({"kind": "receive", "location": "wh-1", "qty": 10}), 201, "wh-1.on_hand=10 wh-1.available=10");
    check(
        &s,
        json!({"kind": "adjust", "location": "wh-1", "qty": -2, "reason": "broken on arrival"}),
        201,
        "wh-1.on_hand=8",
    );
    check(&s, json!({"kind": "quarantine", "location": "wh-1", "qty": 3}), 201, "wh-1.quarantined=3 wh-1.available=5");
    check(&s, json!({"kind": "release_quarantine", "location": "wh-1", "qty": 1}), 201, "wh-1.quarantined=2");
    check(&s, json!({"kind": "release_quarantine", "location": "wh-1", "qty": 3}), 409, "wh-1.quarantined=2");
    check(&s, json!({"kind": "damage", "location": "wh-1", "qty": 1}), 201, "wh-1.damaged=1 wh-1.available=5");
    check(&s, json!({"kind": "scrap", "location": "wh-1", "qty": 1}), 201, "wh-1.damaged=0 wh-1.on_hand=7");
    check(&s, json!({"kind": "quarantine", "location": "wh-1", "qty": 6}), 409, "wh-1.quarantined=2");
    check(
        &s,
        json!({"kind": "transfer", "location": "wh-1", "qty": 2, "to_location": "wh-2", "reference": "T-1"}),
        201,
        "wh-1.on_hand=5 wh-2.inbound=2",
    );
    check(
        &s,
        json!({"kind": "transfer", "location": "wh-1", "qty": 2, "to_location": "wh-1", "reference": "T-2"}),
        400,
        "wh-1.on_hand=5",
    );
    check(&s, json!({"kind": "transfer", "location": "wh-1", "qty": 2, "to_location": "wh-2"}), 400, "wh-1.on_hand=5");
    check(
        &s,
        json!({"kind": "receive", "location": "wh-2", "qty": 5, "reference": "T-1"}),
        201,
        "wh-2.on_hand=5 wh-2.inbound=0",
    );
    check(&s, json!({"kind": "return_expected", "location": "wh-1", "qty": 4}), 201, "wh-1.return_pending=4");
    check(
        &s,
        json!({"kind": "return_receive", "location": "wh-1", "qty": 3}),
        201,
        "wh-1.return_pending=1 wh-1.on_hand=8",
    );
    check(&s, json!({"kind": "return_receive", "location": "wh-1", "qty": 2}), 409, "wh-1.return_pending=1");
    check(&s, json!({"kind": "count", "location": "wh-1", "qty": 6}), 201, "wh-1.on_hand=6");
    check(&s, json!({"kind": "adjust", "location": "wh-2", "qty": 3, "reason": "found"}), 201, "wh-2.on_hand=8");
}

#[test]
fn a_count_at_a_version_merges_what_happened_since() {
    let s = seeded();
    check(&s, json!({"kind": "receive", "location": "wh-1", "qty": 10}), 201, "wh-1.on_hand=10");
    let seen = s.must(s.get("/v1/availability/M", WAREHOUSE))["version"].as_u64().unwrap();
    // While the counter counts 9 (one went missing), 4 are received and another tablet counts too.
    check(&s, json!({"kind": "receive", "location": "wh-1", "qty": 4}), 201, "wh-1.on_hand=14");
    check(
        &s,
        json!({"kind": "count", "location": "wh-1", "qty": 9, "counted_at_version": seen}),
        201,
        "wh-1.on_hand=13",
    );
    check(
        &s,
        json!({"kind": "count", "location": "wh-1", "qty": 9, "counted_at_version": seen}),
        201,
        "wh-1.on_hand=13",
    );
    check(
        &s,
        json!({"kind": "count", "location": "wh-1", "qty": 9, "counted_at_version": 999}),
        400,
        "wh-1.on_hand=13",
    );
}

#[test]
fn a_count_that_uncovers_a_reservation_applies_and_raises_an_exception() {
    let s = seeded();
    check(&s, json!({"kind": "receive", "location": "wh-1", "qty": 6}), 201, "wh-1.on_hand=6");
    let (status, reservation) =
        s.post("/v1/reservations", "dev-storefront", &json!({"lines": [{"sku": "M", "qty": 5}]}));
    assert_eq!(status, 201);
    let answer = check(
        &s,
        json!({"kind": "count", "location": "wh-1", "qty": 3}),
        201,
        "wh-1.on_hand=3 wh-1.reserved=5 wh-1.available=0",
    );
    let exception = &answer["exceptions"][0];
    assert_eq!(exception["location"], "wh-1");
    assert_eq!(exception["shortfall"], 2);
    assert_eq!(exception["holds"][0]["reservation"], reservation["id"]);
    // Other movements still may not make it worse.
    check(&s, json!({"kind": "adjust", "location": "wh-1", "qty": -1, "reason": "lost"}), 409, "wh-1.on_hand=3");
    check(&s, json!({"kind": "receive", "location": "wh-1", "qty": 1}), 201, "wh-1.on_hand=4");
}
