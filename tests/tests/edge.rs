//! The contract (../shared/API.md) against the built worker running in workerd.

use serde_json::{json, Value};
use stockline_tests::{Stockline, ADMIN, STOREFRONT, WAREHOUSE};

fn seeded() -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.location("st-1", "store", 2);
    s.sku("SKU-1", 2);
    s
}

#[test]
fn receive_then_read_survives_a_kill_and_restart() {
    let mut s = seeded();
    let answer = s.must(s.post(
        "/v1/skus/SKU-1/movements",
        WAREHOUSE,
        &json!({"kind": "receive", "location": "wh-1", "qty": 40}),
    ));
    assert_eq!(answer["entry"]["version"], 2);
    assert_eq!(answer["position"]["on_hand"], 40);
    s.must(s.post("/v1/skus/SKU-1/movements", WAREHOUSE, &json!({"kind": "receive", "location": "st-1", "qty": 5})));

    let (status, before) = s.get("/v1/availability/SKU-1", STOREFRONT);
    assert_eq!(status, 200);
    for field in [
        "sku",
        "channel",
        "available",
        "on_hand",
        "reserved",
        "allocated",
        "quarantined",
        "damaged",
        "inbound",
        "return_pending",
        "safety_stock",
        "version",
        "as_of",
        "locations",
    ] {
        assert!(before.get(field).is_some(), "availability lacks `{field}`: {before}");
    }
    assert_eq!(before["on_hand"], 45);
    assert_eq!(before["available"], 43, "45 on hand minus safety stock 2");
    assert_eq!(before["locations"][0]["location"], "wh-1", "priority order");
    assert_eq!(before["locations"][0]["available"], 40);
    assert_eq!(before["locations"][1]["on_hand"], 5);

    s.kill_and_restart();
    let (status, after) = s.get("/v1/availability/SKU-1", STOREFRONT);
    assert_eq!(status, 200);
    for field in ["on_hand", "available", "version", "locations"] {
        assert_eq!(before[field], after[field], "`{field}` after restart");
    }
    let answer = s.must(s.post(
        "/v1/skus/SKU-1/movements",
        WAREHOUSE,
        &json!({"kind": "receive", "location": "wh-1", "qty": 1}),
    ));
    assert_eq!(
        answer["entry"]["version"],
        before["version"].as_u64().unwrap() + 1,
        "versions continue after a restart"
    );
}

#[test]
fn auth_and_roles() {
    let s = seeded();
    let receive = r#"{"kind":"receive","location":"wh-1","qty":1}"#;
    s.expect("GET", "/v1/availability/SKU-1", None, None, 401, "unauthorized");
    s.expect("GET", "/v1/availability/SKU-1", Some("nobody"), None, 401, "unauthorized");
    s.expect("POST", "/v1/skus/SKU-1/movements", None, Some(receive), 401, "unauthorized");
    s.expect("POST", "/v1/skus/SKU-1/movements", Some(STOREFRONT), Some(receive), 403, "forbidden");
    s.expect("POST", "/v1/skus/SKU-1/movements", Some("dev-buyer"), Some(receive), 403, "forbidden");
    s.expect("PUT", "/v1/skus/SKU-2", Some(WAREHOUSE), Some(r#"{"name":"x","safety_stock":0}"#), 403, "forbidden");
    s.expect(
        "PUT",
        "/v1/locations/x",
        Some(STOREFRONT),
        Some(r#"{"name":"x","kind":"store","region":"r","priority":1}"#),
        403,
        "forbidden",
    );
    for token in ["dev-storefront", "dev-warehouse", "dev-buyer", "dev-approver", "dev-admin"] {
        s.expect("GET", "/v1/availability/SKU-1", Some(token), None, 200, "");
    }
    s.expect("POST", "/v1/skus/SKU-1/movements", Some(ADMIN), Some(receive), 201, "");
    assert_eq!(s.version("SKU-1"), 2, "only the admin's receive applied");
}

#[test]
fn unknown_things_are_not_found() {
    let s = seeded();
    s.expect("GET", "/v1/availability/NEVER", Some(STOREFRONT), None, 404, "not_found");
    s.expect(
        "POST",
        "/v1/skus/NEVER/movements",
        Some(WAREHOUSE),
        Some(r#"{"kind":"receive","location":"wh-1","qty":1}"#),
        404,
        "not_found",
    );
    s.expect(
        "POST",
        "/v1/skus/SKU-1/movements",
        Some(WAREHOUSE),
        Some(r#"{"kind":"receive","location":"nowhere","qty":1}"#),
        404,
        "not_found",
    );
    s.expect("GET", "/v1/availability/SKU-1?channel=none", Some(STOREFRONT), None, 404, "not_found");
    s.expect("GET", "/v1/nothing-here", Some(STOREFRONT), None, 404, "not_found");
    assert_eq!(s.version("SKU-1"), 1);
}

#[test]
fn bad_input_is_rejected_and_changes_nothing() {
    let s = seeded();
    s.must(s.post("/v1/skus/SKU-1/movements", WAREHOUSE, &json!({"kind": "receive", "location": "wh-1", "qty": 10})));
    let path = "/v1/skus/SKU-1/movements";
    let table: &[(&str, u16, &str)] = &[
        ("{", 400, "invalid_request"),
        ("", 400, "invalid_request"),
        ("[]", 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":"5"}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":1.5}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":0}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":-3}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":1000000001}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":99999999999999999999999}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"wh-1","qty":1,"colour":"red"}"#, 400, "invalid_request"),
        (r#"{"kind":"teleport","location":"wh-1","qty":1}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","location":"bad id!","qty":1}"#, 400, "invalid_request"),
        (r#"{"kind":"receive","qty":1}"#, 400, "invalid_request"),
        (r#"{"kind":"adjust","location":"wh-1","qty":-1}"#, 400, "invalid_request"),
        (r#"{"kind":"adjust","location":"wh-1","qty":-11,"reason":"lost"}"#, 409, "conflict"),
        (r#"{"kind":"count","location":"wh-1","qty":3,"counted_at_version":99}"#, 400, "invalid_request"),
        (r#"{"kind":"ship","location":"wh-1","qty":1,"reference":"none"}"#, 409, "conflict"),
        (r#"{"kind":"scrap","location":"wh-1","qty":1}"#, 409, "conflict"),
    ];
    let before = s.get("/v1/availability/SKU-1", STOREFRONT).1;
    for (body, status, code) in table {
        s.expect("POST", path, Some(WAREHOUSE), Some(body), *status, code);
    }
    s.expect("PUT", "/v1/skus/SKU-1", Some(ADMIN), Some(r#"{"name":"Mug","safety_stock":-1}"#), 400, "invalid_request");
    s.expect(
        "PUT",
        "/v1/locations/wh-1",
        Some(ADMIN),
        Some(r#"{"name":"Main","kind":"castle","region":"eu","priority":1}"#),
        400,
        "invalid_request",
    );
    let after = s.get("/v1/availability/SKU-1", STOREFRONT).1;
    assert_eq!(before["version"], after["version"], "a failed request changes nothing");
    assert_eq!(before["locations"], after["locations"]);
}

#[test]
fn idempotent_replays_apply_once() {
    let s = seeded();
    let body = r#"{"kind":"receive","location":"wh-1","qty":7}"#;
    let path = "/v1/skus/SKU-1/movements";
    let (first_status, first) = s.send("POST", path, Some(WAREHOUSE), Some(body), Some("receipt-1"));
    assert_eq!(first_status, 201, "{first}");
    // The same body with other whitespace and key order is the same request.
    let same = r#"{ "qty": 7, "location": "wh-1", "kind": "receive" }"#;
    let (again_status, again) = s.send("POST", path, Some(WAREHOUSE), Some(same), Some("receipt-1"));
    assert_eq!((again_status, &again), (201, &first), "a replay answers the first response");
    let other = r#"{"kind":"receive","location":"wh-1","qty":8}"#;
    let (status, answer) = s.send("POST", path, Some(WAREHOUSE), Some(other), Some("receipt-1"));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "idempotency_mismatch");
    let (status, answer) = s.send("POST", path, Some(WAREHOUSE), Some(body), Some(&"k".repeat(129)));
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_request")));
    let position = s.get("/v1/availability/SKU-1", STOREFRONT).1;
    assert_eq!(position["on_hand"], 7);
    assert_eq!(position["version"], 2);
}

/// Sends a raw HTTP/1.1 request and returns the status and body of the answer.
fn raw(s: &Stockline, head: &str, body: &[u8]) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    stream.write_all(head.as_bytes()).expect("send the head");
    // The server may answer and close before the whole body is sent; that is its right.
    let _ = stream.write_all(body);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let json = answer.split("\r\n\r\n").nth(1).and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn bodies_over_one_mebibyte_are_refused() {
    let s = seeded();
    let path = "/v1/skus/SKU-1/movements";
    let auth = "Authorization: Bearer dev-warehouse\r\nContent-Type: application/json";
    // Declared too large: refused from the header, before the body is read.
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        2 * 1024 * 1024
    );
    let (status, body) = raw(&s, &head, b"");
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    // Not declared (chunked) but too large once read.
    let mut chunked = Vec::new();
    let big = format!(r#"{{"kind":"receive","location":"wh-1","qty":1,"reason":"{}"}}"#, "x".repeat(1024 * 1024));
    chunked.extend_from_slice(format!("{:x}\r\n", big.len()).as_bytes());
    chunked.extend_from_slice(big.as_bytes());
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let head =
        format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    let (status, body) = raw(&s, &head, &chunked);
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    assert_eq!(s.version("SKU-1"), 1, "nothing changed");
}

#[test]
fn batch_availability_lists_missing_skus() {
    let s = seeded();
    s.must(s.post("/v1/skus/SKU-1/movements", WAREHOUSE, &json!({"kind": "receive", "location": "wh-1", "qty": 3})));
    let answer = s.must(s.post("/v1/availability", STOREFRONT, &json!({"skus": ["SKU-1", "GHOST"]})));
    assert_eq!(answer["items"][0]["sku"], "SKU-1");
    assert_eq!(answer["items"][0]["on_hand"], 3);
    assert_eq!(answer["missing"], json!(["GHOST"]));
    let too_many: Vec<String> = (0..101).map(|i| format!("S-{i}")).collect();
    let (status, answer) = s.post("/v1/availability", STOREFRONT, &json!({ "skus": too_many }));
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_request")));
}

#[test]
fn master_data_changes_reach_every_sku() {
    let s = seeded();
    s.must(s.post("/v1/skus/SKU-1/movements", WAREHOUSE, &json!({"kind": "receive", "location": "st-1", "qty": 9})));
    // A location created after the SKU object cached its catalog is usable at once.
    s.must(s.put(
        "/v1/locations/wh-2",
        ADMIN,
        &json!({"name": "Second", "kind": "warehouse", "region": "eu", "priority": 0}),
    ));
    s.must(s.post("/v1/skus/SKU-1/movements", WAREHOUSE, &json!({"kind": "receive", "location": "wh-2", "qty": 4})));
    let position = s.get("/v1/availability/SKU-1", STOREFRONT).1;
    assert_eq!(position["locations"][0]["location"], "wh-2", "priority 0 ships first");
    // A channel change is visible on the next read that names its catalog version.
    let changed = s.must(s.put(
        "/v1/channels/web",
        ADMIN,
        &json!({"name": "Web", "locations": ["st-1"], "buffer": 1, "cap": null, "stop_below": null}),
    ));
    let web = s.get_seeing("/v1/availability/SKU-1?channel=web", STOREFRONT, &changed["catalog_version"]).1;
    assert_eq!(web["available"], 9 - 2 - 1);
    let changed = s.must(s.put(
        "/v1/channels/web",
        ADMIN,
        &json!({"name": "Web", "locations": ["st-1"], "buffer": 0, "cap": 3, "stop_below": null}),
    ));
    let web = s.get_seeing("/v1/availability/SKU-1?channel=web", STOREFRONT, &changed["catalog_version"]).1;
    assert_eq!(web["available"], 3, "cap applies at once");
    assert_eq!(web["locations"].as_array().map(Vec::len), Some(1));
}

#[test]
fn paths_are_percent_decoded_and_wrong_methods_are_405() {
    let s = seeded();
    s.must(s.put("/v1/skus/A%3AB", ADMIN, &json!({"name": "colon", "safety_stock": 0})));
    let receive = r#"{"kind":"receive","location":"wh-1","qty":2}"#;
    let (first, _) = s.send("POST", "/v1/skus/A:B/movements", Some(WAREHOUSE), Some(receive), Some("colon-1"));
    let (again, _) = s.send("POST", "/v1/skus/A%3AB/movements/", Some(WAREHOUSE), Some(receive), Some("colon-1"));
    assert_eq!((first, again), (201, 201));
    assert_eq!(s.get("/v1/availability/A:B", STOREFRONT).1["on_hand"], 2, "one resource, applied once");
    s.expect("GET", "/v1/availability/A%ZZ", Some(STOREFRONT), None, 400, "invalid_request");
    for (method, path) in [
        ("PUT", "/v1/locations"),
        ("POST", "/v1/skus/SKU-1/entries"),
        ("DELETE", "/v1/health"),
        ("POST", "/v1/openapi.json"),
        ("DELETE", "/v1/availability/SKU-1"),
        ("GET", "/v1/reservations"),
        ("DELETE", "/v1/suppliers/acme"),
        ("POST", "/v1/suppliers"),
        ("GET", "/v1/skus/SKU-1/policy"),
        ("GET", "/v1/skus/SKU-1/demand-history"),
        ("POST", "/v1/skus/SKU-1/plan"),
        ("POST", "/v1/replenishment"),
        ("PUT", "/v1/alerts"),
    ] {
        s.expect(method, path, Some(ADMIN), Some("{}"), 405, "method_not_allowed");
    }
    for query in
        ["after_version=-1", "after_version=%2B3", "after_version=9007199254740992", "limit=0", "limit=1001", "x=1"]
    {
        s.expect("GET", &format!("/v1/skus/SKU-1/entries?{query}"), Some(WAREHOUSE), None, 400, "invalid_request");
    }
}

#[test]
fn the_openapi_document_is_served_and_lists_every_route() {
    let s = Stockline::start();
    let (status, served) = s.send("GET", "/v1/openapi.json", None, None, None);
    assert_eq!(status, 200);
    let file: Value = serde_json::from_str(include_str!("../../shared/openapi.json")).expect("the document parses");
    assert!(served == file, "the worker serves the committed document (rebuild the edge after editing it)");
    assert_eq!(file["openapi"], "3.1.0");
    // Every operation the worker routes is documented, and every documented one is routed.
    let routed = [
        ("get", "/v1/health"),
        ("get", "/v1/openapi.json"),
        ("get", "/v1/me"),
        ("put", "/v1/locations/{location}"),
        ("put", "/v1/channels/{channel}"),
        ("get", "/v1/locations"),
        ("get", "/v1/channels"),
        ("get", "/v1/catalog"),
        ("get", "/v1/skus"),
        ("put", "/v1/skus/{sku}"),
        ("post", "/v1/skus/{sku}/movements"),
        ("get", "/v1/skus/{sku}/entries"),
        ("get", "/v1/skus/{sku}/replica"),
        ("get", "/v1/availability/{sku}"),
        ("post", "/v1/availability"),
        ("post", "/v1/reservations"),
        ("get", "/v1/reservations/{id}"),
        ("post", "/v1/reservations/{id}/commit"),
        ("post", "/v1/reservations/{id}/release"),
        ("post", "/v1/sync/push"),
        ("put", "/v1/suppliers/{id}"),
        ("get", "/v1/suppliers"),
        ("put", "/v1/skus/{sku}/policy"),
        ("post", "/v1/skus/{sku}/demand-history"),
        ("get", "/v1/skus/{sku}/plan"),
        ("get", "/v1/skus/{sku}/plan/basis"),
        ("get", "/v1/replenishment"),
        ("get", "/v1/alerts"),
        ("put", "/v1/approval-rules"),
        ("get", "/v1/approval-rules"),
        ("post", "/v1/purchase-orders"),
        ("get", "/v1/purchase-orders"),
        ("post", "/v1/purchase-orders/from-suggestions"),
        ("get", "/v1/purchase-orders/{id}"),
        ("post", "/v1/purchase-orders/{id}/submit"),
        ("post", "/v1/purchase-orders/{id}/approve"),
        ("post", "/v1/purchase-orders/{id}/reject"),
        ("post", "/v1/purchase-orders/{id}/send"),
        ("post", "/v1/purchase-orders/{id}/cancel"),
        ("post", "/v1/purchase-orders/{id}/close"),
        ("post", "/v1/purchase-orders/{id}/receipts"),
        ("post", "/v1/purchase-orders/{id}/invoices"),
        ("get", "/v1/suppliers/{id}/scorecard"),
        ("get", "/v1/approvals"),
        ("get", "/v1/deliveries"),
        ("put", "/v1/shipping-rates"),
        ("get", "/v1/shipping-rates"),
        ("put", "/v1/routing-rules"),
        ("get", "/v1/routing-rules"),
        ("post", "/v1/routing-rules/evaluate"),
        ("post", "/v1/routing-rules/activate"),
        ("post", "/v1/orders"),
        ("get", "/v1/orders"),
        ("get", "/v1/orders/{id}"),
        ("post", "/v1/orders/{id}/release"),
        ("post", "/v1/orders/{id}/pick"),
        ("post", "/v1/orders/{id}/ship"),
        ("post", "/v1/orders/{id}/deliver"),
        ("post", "/v1/orders/{id}/cancel"),
        ("post", "/v1/orders/{id}/release-hold"),
        ("get", "/v1/exceptions"),
        ("post", "/v1/exceptions/{id}/resolve"),
        ("get", "/v1/metrics/fill-rate"),
        ("get", "/v1/metrics/cycle-time"),
        ("get", "/v1/metrics/stock-health"),
        ("get", "/v1/metrics/suppliers"),
        ("get", "/v1/metrics/margin"),
        ("get", "/v1/events"),
        ("put", "/v1/webhooks/{id}"),
        ("get", "/v1/webhooks/{id}"),
        ("get", "/v1/webhooks/{id}/deliveries"),
        ("post", "/v1/imports"),
        ("get", "/v1/exports/{kind}"),
    ];
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in file["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = routed.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    assert_eq!(documented, expected);
    // Each routed operation answers something other than what an unrouted path answers (auth
    // errors are fine). The baseline is asked for, not written down, so a reworded message
    // cannot make this pass vacuously.
    let (unrouted_status, unrouted) = s.send("GET", "/v1/no-such-route", Some("dev-admin"), None, None);
    assert_eq!(unrouted_status, 404, "{unrouted}");
    for (method, path) in routed {
        let concrete = path
            .replace("{location}", "x")
            .replace("{channel}", "x")
            .replace("{sku}", "x")
            .replace("{id}", "x")
            .replace("{kind}", "skus");
        let (status, body) = s.send(&method.to_uppercase(), &concrete, Some("dev-admin"), Some("{}"), None);
        assert!(!(status == 404 && body == unrouted), "{method} {path} is not routed: {body}");
        assert!(status != 405, "{method} {path}: {body}");
    }
}

/// The app's own origin answers the API (`/v1/`) as a deployment serving both does, and its files
/// with their content types; so the app talks to where it was loaded from.
#[test]
fn the_app_origin_serves_the_app_and_the_api() {
    let s = seeded();
    let agent = ureq::AgentBuilder::new().build();
    let app = s.app_base();
    let page = agent.get(&format!("{app}/")).call().expect("the app's page");
    assert_eq!(page.content_type(), "text/html");
    let me = agent
        .get(&format!("{app}/v1/me"))
        .set("authorization", "Bearer dev-warehouse")
        .call()
        .expect("the API through the app's origin");
    let me: Value = serde_json::from_str(&me.into_string().unwrap()).unwrap();
    assert_eq!(me["role"], "warehouse");
    let posted = agent
        .post(&format!("{app}/v1/skus/SKU-1/movements"))
        .set("authorization", "Bearer dev-warehouse")
        .set("content-type", "application/json")
        .send_string(r#"{"kind": "receive", "location": "wh-1", "qty": 3}"#)
        .expect("a write through the app's origin");
    assert_eq!(posted.status(), 201);
    assert_eq!(s.must(s.get("/v1/availability/SKU-1", ADMIN))["on_hand"], 3);
}
