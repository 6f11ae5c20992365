//! Failure paths that must tell the truth: each test here failed before its fix (issue 8).

use serde_json::{json, Value};
use stockline_tests::{Stockline, ADMIN, STOREFRONT, WAREHOUSE};

fn seeded() -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.sku("A", 0);
    s.sku("B", 0);
    s.receive("A", "wh-1", 10);
    s.receive("B", "wh-1", 10);
    s
}

#[test]
fn head_is_answered_wherever_get_is_and_405_names_the_allowed_methods() {
    let s = seeded();
    let auth = [("authorization", "Bearer dev-storefront")];
    for path in ["/v1/availability/A", "/v1/health", "/v1/locations", "/v1/skus/A/entries"] {
        let (get, _, get_body) = s.raw("GET", path, &auth, None, &[]);
        let (head, headers, head_body) = s.raw("HEAD", path, &auth, None, &["content-type"]);
        assert_eq!(get, 200, "GET {path}: {get_body}");
        assert_eq!(head, 200, "HEAD {path}");
        assert!(head_body.is_empty(), "HEAD {path} has no body: {head_body}");
        assert!(headers[0].as_deref().is_some_and(|t| t.starts_with("application/json")), "HEAD {path}: {headers:?}");
    }
    for (method, path, allowed) in [
        ("DELETE", "/v1/availability/A", "GET, HEAD, OPTIONS"),
        ("GET", "/v1/reservations", "POST, OPTIONS"),
        ("POST", "/v1/skus/A", "PUT, OPTIONS"),
        ("PUT", "/v1/skus/A/movements", "POST, OPTIONS"),
    ] {
        let (status, headers, body) = s.raw(method, path, &[("authorization", "Bearer dev-admin")], None, &["allow"]);
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(headers[0].as_deref(), Some(allowed), "{method} {path}");
        let body: Value = serde_json::from_str(&body).expect("an error envelope");
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let s = seeded();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} dev-storefront");
        let (status, _, body) = s.raw("GET", "/v1/me", &[("authorization", &header)], None, &[]);
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    for header in ["Basic dev-storefront", "Bearerdev-storefront", "dev-storefront", "Bearer "] {
        let (status, _, _) = s.raw("GET", "/v1/me", &[("authorization", header)], None, &[]);
        assert_eq!(status, 401, "{header}");
    }
}

#[test]
fn a_body_that_is_not_json_is_415_and_changes_nothing() {
    let s = seeded();
    let before = s.version("A");
    let movement = json!({"kind": "receive", "location": "wh-1", "qty": 5}).to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"] {
        let (status, _, body) = s.raw(
            "POST",
            "/v1/skus/A/movements",
            &[("authorization", "Bearer dev-warehouse"), ("content-type", content_type)],
            Some(&movement),
            &[],
        );
        assert_eq!(status, 415, "{content_type}: {body}");
        let body: Value = serde_json::from_str(&body).expect("an error envelope");
        assert_eq!(body["error"]["code"], "invalid_request");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(content_type)), "{body}");
    }
    assert_eq!(s.version("A"), before, "a refused body changed nothing");
    // JSON with parameters, in any case, and no content type at all are JSON bodies.
    for headers in [
        vec![("authorization", "Bearer dev-warehouse"), ("content-type", "Application/JSON; charset=utf-8")],
        vec![("authorization", "Bearer dev-warehouse")],
    ] {
        let (status, _, body) = s.raw("POST", "/v1/skus/A/movements", &headers, Some(&movement), &[]);
        assert_eq!(status, 201, "{headers:?}: {body}");
    }
    assert_eq!(s.version("A"), before + 2);
}

#[test]
fn a_recorded_answer_is_never_replayed_to_another_caller() {
    let s = seeded();
    let body = json!({"lines": [{"sku": "A", "qty": 1}], "ttl_seconds": 60}).to_string();
    let (first, first_answer) = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), Some("cart-1"));
    assert_eq!(first, 201, "{first_answer}");
    let (again, again_answer) = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), Some("cart-1"));
    assert_eq!((again, &again_answer["id"]), (201, &first_answer["id"]), "the same caller gets the replay");
    let (other, other_answer) = s.send("POST", "/v1/reservations", Some(ADMIN), Some(&body), Some("cart-1"));
    assert_eq!(other, 201, "{other_answer}");
    assert_ne!(other_answer["id"], first_answer["id"], "another caller's request is a new request");
    let (_, availability) = s.get("/v1/availability/A", ADMIN);
    assert_eq!(availability["reserved"], 2, "{availability}");
    // Movements too: another caller with the same key applies its own movement.
    let movement = json!({"kind": "receive", "location": "wh-1", "qty": 1}).to_string();
    let path = "/v1/skus/A/movements";
    assert_eq!(s.send("POST", path, Some(WAREHOUSE), Some(&movement), Some("m-1")).0, 201);
    assert_eq!(s.send("POST", path, Some(WAREHOUSE), Some(&movement), Some("m-1")).0, 201);
    assert_eq!(s.send("POST", path, Some(ADMIN), Some(&movement), Some("m-1")).0, 201);
    let (_, availability) = s.get("/v1/availability/A", ADMIN);
    assert_eq!(availability["on_hand"], 12, "{availability}");
}

#[test]
fn batch_availability_with_an_unknown_channel_is_404_even_when_every_sku_is_missing() {
    let s = seeded();
    let body = json!({"skus": ["NOPE-1", "NOPE-2"], "channel": "no-such-channel"}).to_string();
    let answer = s.expect("POST", "/v1/availability", Some(STOREFRONT), Some(&body), 404, "not_found");
    assert_eq!(answer["error"]["details"]["kind"], "channel", "{answer}");
    let body = json!({"skus": ["A", "NOPE-1"], "channel": "no-such-channel"}).to_string();
    s.expect("POST", "/v1/availability", Some(STOREFRONT), Some(&body), 404, "not_found");
    // A known channel with only missing SKUs is fine.
    s.must(s.put("/v1/channels/web", ADMIN, &json!({"name": "Web", "locations": ["wh-1"], "buffer": 0})));
    let (status, answer) = s.post("/v1/availability", STOREFRONT, &json!({"skus": ["NOPE-1"], "channel": "web"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["missing"], json!(["NOPE-1"]));
}

#[test]
fn reading_skus_that_were_never_created_leaves_no_trace() {
    let s = seeded();
    let (_, before) = s.get("/v1/catalog", ADMIN);
    assert_eq!(before["skus"], 2, "A and B are the created SKUs: {before}");
    for i in 0..30 {
        let sku = format!("JUNK-{i}");
        s.expect("GET", &format!("/v1/availability/{sku}"), Some(STOREFRONT), None, 404, "not_found");
        s.expect("GET", &format!("/v1/skus/{sku}/entries"), Some(STOREFRONT), None, 404, "not_found");
        let body = json!({"lines": [{"sku": sku, "qty": 1}]}).to_string();
        s.expect("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), 404, "not_found");
        let movement = json!({"kind": "receive", "location": "wh-1", "qty": 1}).to_string();
        s.expect("POST", &format!("/v1/skus/{sku}/movements"), Some(WAREHOUSE), Some(&movement), 404, "not_found");
    }
    let skus: Vec<String> = (0..100).map(|i| format!("JUNK-B{i}")).collect();
    let (status, answer) = s.post("/v1/availability", STOREFRONT, &json!({ "skus": skus }));
    assert_eq!((status, answer["missing"].as_array().map(Vec::len)), (200, Some(100)), "{answer}");
    // A refused PUT /v1/skus creates nothing either.
    let refused = json!({"name": "", "safety_stock": 0}).to_string();
    s.expect("PUT", "/v1/skus/JUNK-2", Some(ADMIN), Some(&refused), 400, "invalid_request");
    s.expect("GET", "/v1/availability/JUNK-2", Some(STOREFRONT), None, 404, "not_found");
    let (_, after) = s.get("/v1/catalog", ADMIN);
    assert_eq!(after["skus"], 2, "reads and refused writes subscribed nothing: {after}");
    // A SKU created after being read starts from nothing.
    s.sku("JUNK-1", 0);
    assert_eq!(s.version("JUNK-1"), 1);
    let (_, after) = s.get("/v1/catalog", ADMIN);
    assert_eq!(after["skus"], 3, "{after}");
}

#[test]
fn concurrent_catalog_writes_with_one_key_apply_once() {
    let s = seeded();
    let (_, before) = s.get("/v1/catalog", ADMIN);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..16)
            .map(|i| {
                let s = &s;
                scope.spawn(move || {
                    let body = json!({"name": format!("C{i}"), "locations": ["wh-1"], "buffer": 0}).to_string();
                    s.send("PUT", &format!("/v1/channels/ch-{i}"), Some(ADMIN), Some(&body), Some("one-key")).0
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().expect("a request thread")).collect()
    });
    assert_eq!(statuses.iter().filter(|&&st| st == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&st| st == 422).count(), 15, "{statuses:?}");
    let (_, channels) = s.get("/v1/channels", ADMIN);
    let created = channels["channels"].as_array().expect("channels").len();
    assert_eq!(created, 1, "{channels}");
    // The same key and body again is a replay: the catalog version does not move.
    let (_, middle) = s.get("/v1/catalog", ADMIN);
    assert_eq!(middle["version"].as_u64(), before["version"].as_u64().map(|v| v + 1));
    let body = json!({"name": "Again", "locations": ["wh-1"], "buffer": 0}).to_string();
    for _ in 0..3 {
        let (status, answer) = s.send("PUT", "/v1/channels/again", Some(ADMIN), Some(&body), Some("again-key"));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["catalog_version"].as_u64(), middle["version"].as_u64().map(|v| v + 1), "{answer}");
    }
    let (_, after) = s.get("/v1/catalog", ADMIN);
    assert_eq!(after["version"].as_u64(), middle["version"].as_u64().map(|v| v + 1));
}

#[test]
fn a_master_data_write_reaches_every_sku_and_the_writer_reads_it_at_once() {
    let s = seeded();
    s.must(s.put("/v1/channels/fresh", ADMIN, &json!({"name": "Fresh", "locations": ["wh-1"], "buffer": 0})));
    let (_, body) = s.get("/v1/availability/A?channel=fresh", STOREFRONT);
    assert_eq!(body["available"], 10, "{body}");
    // The buffer changes; the SKU object's copy is now stale until the push reaches it.
    let (status, answer) =
        s.put("/v1/channels/fresh", ADMIN, &json!({"name": "Fresh", "locations": ["wh-1"], "buffer": 3}));
    assert_eq!(status, 200, "{answer}");
    let catalog_version = answer["catalog_version"].as_u64().expect("the answer carries the catalog version");
    // Read-your-writes: naming the version makes the SKU object fetch the catalog first.
    let min = catalog_version.to_string();
    let (status, _, body) = s.raw(
        "GET",
        "/v1/availability/A?channel=fresh",
        &[("authorization", "Bearer dev-storefront"), ("stockline-min-catalog-version", &min)],
        None,
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["available"], 7, "buffer 3 applies: {body}");
    // The push reaches every created SKU in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, status) = s.get("/v1/catalog", ADMIN);
        if status["skus_behind"] == 0 && status["version"].as_u64() == Some(catalog_version) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the catalog did not reach every SKU: {status}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn entry_types_after(s: &Stockline, sku: &str, after_version: u64) -> Vec<String> {
    let (status, page) = s.get(&format!("/v1/skus/{sku}/entries?after_version={after_version}"), ADMIN);
    assert_eq!(status, 200, "{page}");
    page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["event"]["type"].as_str().expect("an event type").to_string())
        .collect()
}

#[test]
fn a_multi_sku_reservation_that_fails_up_front_leaves_no_trace() {
    let s = seeded();
    let (a, b) = (s.version("A"), s.version("B"));
    // An unknown SKU after a known one (SKU-id order: A is placed first).
    let body = json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "ZZZ-UNKNOWN", "qty": 1}]}).to_string();
    let answer = s.expect("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), 404, "not_found");
    assert_eq!(answer["error"]["details"]["kind"], "sku", "{answer}");
    // A shortage on the second SKU, visible before anything is placed: every shortage reported.
    let body = json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 11}]}).to_string();
    let answer = s.expect("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), 409, "insufficient_stock");
    assert_eq!(answer["error"]["details"]["shortages"], json!([{"sku": "B", "requested": 11, "available": 10}]));
    // An unknown channel.
    let body = json!({"channel": "nope", "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]}).to_string();
    s.expect("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), 404, "not_found");
    assert_eq!((s.version("A"), s.version("B")), (a, b), "no SKU's ledger changed");
    assert!(entry_types_after(&s, "A", a).is_empty());
}

#[test]
fn commits_of_nothing_are_refused_and_units_not_named_are_released() {
    let s = seeded();
    let body = json!({"lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 3}], "ttl_seconds": 60});
    let reservation = s.must(s.post("/v1/reservations", STOREFRONT, &body));
    let id = reservation["id"].as_str().expect("an id");
    let commit = format!("/v1/reservations/{id}/commit");
    let nothing = json!({"lines": [{"sku": "A", "qty": 0}, {"sku": "B", "qty": 0}]}).to_string();
    let answer = s.expect("POST", &commit, Some(STOREFRONT), Some(&nothing), 400, "invalid_request");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("release")), "{answer}");
    let (_, still) = s.get(&format!("/v1/reservations/{id}"), STOREFRONT);
    assert_eq!(still["status"], "pending", "a refused commit changed nothing: {still}");
    let (a, b) = (s.version("A"), s.version("B"));
    let committed = s.must(s.post(&commit, STOREFRONT, &json!({"lines": [{"sku": "A", "qty": 2}]})));
    assert_eq!(committed["status"], "committed", "{committed}");
    assert!(!entry_types_after(&s, "A", a).is_empty());
    assert_eq!(entry_types_after(&s, "A", a).last().map(String::as_str), Some("hold_committed"));
    assert_eq!(entry_types_after(&s, "B", b), ["hold_released"], "B was not named: its units are released");
    let (_, b_now) = s.get("/v1/availability/B", ADMIN);
    assert_eq!((b_now["reserved"].as_i64(), b_now["allocated"].as_i64()), (Some(0), Some(0)), "{b_now}");
    let (_, a_now) = s.get("/v1/availability/A", ADMIN);
    assert_eq!((a_now["reserved"].as_i64(), a_now["allocated"].as_i64()), (Some(0), Some(2)), "{a_now}");
}

/// Commits sent around the moment the holds expire: each is committed on every SKU or on none —
/// never "committed" with a SKU whose hold expired (it used to answer 200 with one SKU expired).
#[test]
fn a_multi_sku_commit_at_the_moment_of_expiry_is_all_or_nothing() {
    let s = seeded();
    const CARTS: i64 = 24;
    s.receive("A", "wh-1", 100);
    s.receive("B", "wh-1", 100);
    let outcomes: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let carts: Vec<_> = (0..CARTS)
            .map(|cart| {
                let s = &s;
                scope.spawn(move || {
                    let body = json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}], "ttl_seconds": 1});
                    let reservation = s.must(s.post("/v1/reservations", STOREFRONT, &body));
                    let expires_at: chrono::DateTime<chrono::Utc> =
                        reservation["expires_at"].as_str().expect("expires_at").parse().expect("a time");
                    // Aim from 60 ms before to 9 ms after the expiry, 3 ms apart (a commit takes a
                    // few ms to reach the SKUs, so the window where one SKU is still held and the
                    // other just expired lies in there).
                    let aim = expires_at + chrono::Duration::milliseconds(3 * cart - 60);
                    let now_ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .expect("the clock is past 1970")
                        .as_millis() as i64;
                    if let Ok(wait_ms) = u64::try_from(aim.timestamp_millis() - now_ms) {
                        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
                    }
                    let id = reservation["id"].as_str().expect("an id");
                    s.post(&format!("/v1/reservations/{id}/commit"), STOREFRONT, &json!({}))
                })
            })
            .collect();
        carts.into_iter().map(|cart| cart.join().expect("a cart")).collect()
    });
    let mut committed = 0;
    for (status, answer) in &outcomes {
        match status {
            200 => {
                assert_eq!(answer["status"], "committed", "{answer}");
                committed += 1;
            }
            409 => assert_eq!(answer["error"]["code"], "already_resolved", "{answer}"),
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    // Whatever the timing, every SKU allocated exactly what was answered committed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, a) = s.get("/v1/availability/A", ADMIN);
        let (_, b) = s.get("/v1/availability/B", ADMIN);
        if a["reserved"] == 0 && b["reserved"] == 0 {
            assert_eq!(a["allocated"], committed, "A: {a}");
            assert_eq!(b["allocated"], committed, "B: {b}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "holds did not expire: {a} {b}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("{committed} of {CARTS} commits sent around expiry were committed");
}

#[test]
fn receiving_into_quarantine_and_returns_with_a_disposition_are_one_entry() {
    let s = seeded();
    let path = "/v1/skus/A/movements";
    let before = s.version("A");
    s.must(s.post(path, WAREHOUSE, &json!({"kind": "receive", "location": "wh-1", "qty": 4, "into": "quarantine"})));
    s.must(s.post(path, WAREHOUSE, &json!({"kind": "return_expected", "location": "wh-1", "qty": 3})));
    for disposition in ["damage", "quarantine", "restock"] {
        let body = json!({"kind": "return_receive", "location": "wh-1", "qty": 1, "disposition": disposition});
        s.must(s.post(path, WAREHOUSE, &body));
    }
    assert_eq!(s.version("A"), before + 5, "one entry each");
    let (_, a) = s.get("/v1/availability/A", ADMIN);
    let expected = [("on_hand", 17), ("quarantined", 5), ("damaged", 1), ("return_pending", 0), ("available", 11)];
    for (field, value) in expected {
        assert_eq!(a[field], value, "{field}: {a}");
    }
    for body in [
        json!({"kind": "adjust", "location": "wh-1", "qty": 1, "reason": "found", "into": "quarantine"}),
        json!({"kind": "receive", "location": "wh-1", "qty": 1, "disposition": "damage"}),
        json!({"kind": "receive", "location": "wh-1", "qty": 1, "into": "shelf"}),
    ] {
        s.expect("POST", path, Some(WAREHOUSE), Some(&body.to_string()), 400, "invalid_request");
    }
    assert_eq!(s.version("A"), before + 5, "refused movements changed nothing");
}

#[test]
fn a_key_belongs_to_the_resource_it_was_used_for() {
    let s = seeded();
    // The key that created a reservation may be used again to commit it: another resource.
    let body = json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}], "ttl_seconds": 60}).to_string();
    let (status, reservation) = s.send("POST", "/v1/reservations", Some(STOREFRONT), Some(&body), Some("order-7"));
    assert_eq!(status, 201, "{reservation}");
    let commit = format!("/v1/reservations/{}/commit", reservation["id"].as_str().expect("an id"));
    let (status, committed) = s.send("POST", &commit, Some(STOREFRONT), Some("{}"), Some("order-7"));
    assert_eq!((status, &committed["status"]), (200, &json!("committed")), "{committed}");
    // The same key on another SKU's movements is another request too.
    let movement = json!({"kind": "receive", "location": "wh-1", "qty": 1}).to_string();
    assert_eq!(s.send("POST", "/v1/skus/A/movements", Some(WAREHOUSE), Some(&movement), Some("order-7")).0, 201);
    assert_eq!(s.send("POST", "/v1/skus/B/movements", Some(WAREHOUSE), Some(&movement), Some("order-7")).0, 201);
    let (_, b) = s.get("/v1/availability/B", ADMIN);
    assert_eq!((b["on_hand"].as_i64(), b["allocated"].as_i64()), (Some(11), Some(1)), "{b}");
}
