//! `GET /v1/me` and the warehouse app's sync push (`POST /v1/sync/push`) against workerd: every
//! operation is the movement post it stands for, keyed by its `op_id`, so nothing applies twice.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use stockline_tests::{Stockline, ADMIN, STOREFRONT, WAREHOUSE};

const PUSH: &str = "/v1/sync/push";

fn seeded() -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    for sku in ["A", "B", "C"] {
        s.sku(sku, 0);
    }
    s
}

/// One operation: `receive`/`adjust`/`ship`… of `qty` at wh-1.
fn op(op_id: &str, sku: &str, kind: &str, qty: i64) -> Value {
    let mut movement = json!({"kind": kind, "location": "wh-1", "qty": qty});
    if kind == "adjust" {
        movement["reason"] = json!("sync test");
    }
    json!({"op_id": op_id, "sku": sku, "movement": movement})
}

/// Pushes operations as the warehouse; returns the results (the push itself must answer 200).
#[track_caller]
fn push(s: &Stockline, ops: &[Value]) -> Vec<Value> {
    let answer = s.expect("POST", PUSH, Some(WAREHOUSE), Some(&json!({ "ops": ops }).to_string()), 200, "");
    let results = answer["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), ops.len(), "one result per operation: {answer}");
    for (result, op) in results.iter().zip(ops) {
        assert_eq!(result["op_id"], op["op_id"], "results in request order: {answer}");
    }
    results
}

fn position(s: &Stockline, sku: &str) -> Value {
    s.must(s.get(&format!("/v1/availability/{sku}"), STOREFRONT))
}

fn entries(s: &Stockline, sku: &str) -> Vec<Value> {
    let answer = s.must(s.get(&format!("/v1/skus/{sku}/entries"), WAREHOUSE));
    answer["entries"].as_array().expect("entries").clone()
}

/// This machine's clock (workerd runs on it too).
fn now() -> DateTime<Utc> {
    DateTime::from(std::time::SystemTime::now())
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("not a time: {value}"))
}

#[test]
fn me_names_the_principal_of_the_token() {
    let s = Stockline::start();
    for (token, role) in [
        ("dev-storefront", "storefront"),
        ("dev-warehouse", "warehouse"),
        ("dev-buyer", "buyer"),
        ("dev-approver", "approver"),
        ("dev-admin", "admin"),
    ] {
        let me = s.expect("GET", "/v1/me", Some(token), None, 200, "");
        assert_eq!(me, json!({"role": role, "subject": token}));
    }
    s.expect("GET", "/v1/me", None, None, 401, "unauthorized");
    s.expect("GET", "/v1/me", Some("nobody"), None, 401, "unauthorized");
    s.expect("POST", "/v1/me", Some(ADMIN), Some("{}"), 405, "method_not_allowed");
}

#[test]
fn a_push_applies_in_request_order_per_sku_and_a_second_push_applies_nothing() {
    let s = seeded();
    let ops = [
        op("t1-1", "A", "receive", 10),
        op("t1-2", "B", "receive", 5),
        op("t1-3", "A", "adjust", -2),
        op("t1-4", "C", "receive", 3),
        op("t1-5", "B", "receive", 1),
        op("t1-6", "A", "receive", 4),
    ];
    let first = push(&s, &ops);
    for result in &first {
        assert_eq!(result["outcome"], "applied", "{result}");
        assert_eq!(result["http_status"], 201, "{result}");
        assert!(result.get("error").is_none(), "{result}");
    }
    // Each SKU was defined at version 1; its operations follow in the order they were sent.
    let versions: Vec<u64> = first.iter().map(|r| r["version"].as_u64().expect("version")).collect();
    assert_eq!(versions, [2, 2, 3, 2, 3, 4]);
    for (sku, on_hand, version) in [("A", 12, 4), ("B", 6, 3), ("C", 3, 2)] {
        let position = position(&s, sku);
        assert_eq!(position["on_hand"], on_hand, "{sku}: {position}");
        assert_eq!(position["version"], version, "{sku}: {position}");
        assert_eq!(position["locations"][0]["on_hand"], on_hand, "{sku}: {position}");
    }
    let a: Vec<Value> = entries(&s, "A").iter().skip(1).map(|e| e["event"]["movement"]["qty"].clone()).collect();
    assert_eq!(a, [json!(10), json!(-2), json!(4)], "A's entries in request order");

    // The tablet did not hear back and sends everything again: the recorded answers, nothing applied.
    let again = push(&s, &ops);
    assert_eq!(again, first);
    for (sku, on_hand, version) in [("A", 12, 4), ("B", 6, 3), ("C", 3, 2)] {
        let position = position(&s, sku);
        assert_eq!((position["on_hand"].as_i64(), position["version"].as_u64()), (Some(on_hand), Some(version)));
    }
}

#[test]
fn a_direct_post_then_a_push_of_the_same_op_applies_once() {
    let s = seeded();
    // Same movement, other key order and whitespace: the same request under the same key.
    let direct = r#"{ "qty": 7, "kind": "receive",  "location": "wh-1" }"#;
    let (status, posted) = s.send("POST", "/v1/skus/A/movements", Some(WAREHOUSE), Some(direct), Some("op-direct"));
    assert_eq!(status, 201, "{posted}");
    let results = push(&s, &[op("op-direct", "A", "receive", 7), op("op-after", "A", "receive", 1)]);
    assert_eq!(results[0]["outcome"], "applied", "{results:?}");
    assert_eq!(results[0]["http_status"], 201);
    assert_eq!(results[0]["version"], posted["entry"]["version"], "the recorded answer");
    assert_eq!(results[1]["version"], 3);
    let a = position(&s, "A");
    assert_eq!((a["on_hand"].as_i64(), a["version"].as_u64()), (Some(8), Some(3)));

    // The other way round: pushed first, then posted directly, is also one write.
    let (status, replay) = s.send(
        "POST",
        "/v1/skus/A/movements",
        Some(WAREHOUSE),
        Some(r#"{"kind":"receive","location":"wh-1","qty":1}"#),
        Some("op-after"),
    );
    assert_eq!(status, 201, "{replay}");
    assert_eq!(replay["entry"]["version"], 3);
    // The same op_id with another movement is the key's misuse, refused like a direct post.
    let results = push(&s, &[op("op-direct", "A", "receive", 8)]);
    assert_eq!(results[0]["outcome"], "rejected");
    assert_eq!(results[0]["http_status"], 422);
    assert_eq!(results[0]["error"]["code"], "idempotency_mismatch");
    assert_eq!(position(&s, "A")["version"], 3);
}

#[test]
fn a_conflicting_op_is_rejected_and_the_others_apply() {
    let s = seeded();
    s.must(s.post("/v1/skus/A/movements", WAREHOUSE, &json!({"kind": "receive", "location": "wh-1", "qty": 5})));
    let reservation = s.must(s.post("/v1/reservations", STOREFRONT, &json!({"lines": [{"sku": "A", "qty": 2}]})));
    let id = reservation["id"].as_str().expect("reservation id");
    s.must(s.post(&format!("/v1/reservations/{id}/commit"), STOREFRONT, &json!({})));
    let before = position(&s, "A");
    assert_eq!(before["allocated"], 2, "{before}");
    let ship = |op_id: &str, qty: i64| json!({"op_id": op_id, "sku": "A", "movement": {"kind": "ship", "location": "wh-1", "qty": qty, "reference": id}});
    let results =
        push(&s, &[ship("c-1", 3), op("c-2", "B", "receive", 2), ship("c-3", 2), op("c-4", "A", "receive", 1)]);
    let outcomes: Vec<&str> = results.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["rejected", "applied", "applied", "applied"], "{results:?}");
    assert_eq!(results[0]["http_status"], 409);
    assert_eq!(results[0]["error"]["code"], "conflict");
    assert!(results[0]["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", results[0]);
    assert!(results[0].get("version").is_none(), "{}", results[0]);
    let version = before["version"].as_u64().unwrap();
    assert_eq!(
        (results[2]["version"].as_u64(), results[3]["version"].as_u64()),
        (Some(version + 1), Some(version + 2))
    );
    let after = position(&s, "A");
    assert_eq!((after["on_hand"].as_i64(), after["allocated"].as_i64()), (Some(5 - 2 + 1), Some(0)), "{after}");
    assert_eq!(position(&s, "B")["on_hand"], 2);
    // A rejected op is not recorded under its key (it changed nothing): the op_id is still free.
    let results = push(&s, &[op("c-1", "A", "receive", 1)]);
    assert_eq!(results[0]["outcome"], "applied", "{results:?}");
}

#[test]
fn an_op_for_an_unknown_sku_is_rejected_not_found() {
    let s = seeded();
    let results = push(&s, &[op("u-1", "GHOST", "receive", 1), op("u-2", "A", "receive", 1)]);
    assert_eq!(results[0]["outcome"], "rejected");
    assert_eq!(results[0]["http_status"], 404);
    assert_eq!(results[0]["error"]["code"], "not_found");
    assert_eq!(results[0]["error"]["details"]["kind"], "sku");
    assert_eq!(results[1]["outcome"], "applied");
    // An op the ledger refuses as invalid is rejected too (and checked there, as a direct post is).
    let results = push(&s, &[op("u-3", "A", "receive", 0)]);
    assert_eq!((results[0]["outcome"].as_str(), results[0]["http_status"].as_u64()), (Some("rejected"), Some(400)));
    assert_eq!(results[0]["error"]["code"], "invalid_request");
}

#[test]
fn bad_pushes_are_refused_whole_and_change_nothing() {
    let s = seeded();
    let too_many: Vec<Value> = (0..101).map(|i| op(&format!("m-{i}"), "A", "receive", 1)).collect();
    let table: Vec<(String, u16, &str)> = vec![
        (json!({ "ops": too_many }).to_string(), 400, "invalid_request"),
        (json!({ "ops": [] }).to_string(), 400, "invalid_request"),
        (json!({ "ops": [op("x-1", "A", "receive", 1)], "device": "t1" }).to_string(), 400, "invalid_request"),
        (
            json!({ "ops": [{"op_id": "x-1", "sku": "A", "movement": {"kind": "receive", "location": "wh-1", "qty": 1}, "colour": "red"}] })
                .to_string(),
            400,
            "invalid_request",
        ),
        (
            json!({ "ops": [{"op_id": "x-1", "sku": "A", "movement": {"kind": "receive", "location": "wh-1", "qty": 1, "colour": "red"}}] })
                .to_string(),
            400,
            "invalid_request",
        ),
        (json!({ "ops": [op("bad id!", "A", "receive", 1)] }).to_string(), 400, "invalid_request"),
        (json!({ "ops": [{"op_id": "x-1", "sku": "A"}] }).to_string(), 400, "invalid_request"),
        ("{".to_string(), 400, "invalid_request"),
        (String::new(), 400, "invalid_request"),
    ];
    for (body, status, code) in &table {
        s.expect("POST", PUSH, Some(WAREHOUSE), Some(body), *status, code);
    }
    let exactly_max: Vec<Value> = (0..100).map(|i| op(&format!("m-{i}"), "B", "receive", 1)).collect();
    assert!(push(&s, &exactly_max).iter().all(|r| r["outcome"] == "applied"));
    assert_eq!(position(&s, "B")["on_hand"], 100);

    let one = json!({ "ops": [op("r-1", "A", "receive", 1)] }).to_string();
    s.expect("POST", PUSH, None, Some(&one), 401, "unauthorized");
    s.expect("POST", PUSH, Some(STOREFRONT), Some(&one), 403, "forbidden");
    s.expect("POST", PUSH, Some("dev-buyer"), Some(&one), 403, "forbidden");
    s.expect("GET", PUSH, Some(WAREHOUSE), None, 405, "method_not_allowed");
    s.expect("PUT", PUSH, Some(WAREHOUSE), Some(&one), 405, "method_not_allowed");
    assert_eq!(position(&s, "A")["version"], 1, "nothing reached A");
    // The admin may push too.
    s.expect("POST", PUSH, Some(ADMIN), Some(&one), 200, "");
    assert_eq!(position(&s, "A")["version"], 2);
}

#[test]
fn occurred_at_is_when_the_tablet_did_it() {
    let s = seeded();
    let before = now();
    let yesterday: DateTime<Utc> = "2025-01-02T03:04:05Z".parse().unwrap();
    let mut past = op("o-1", "A", "receive", 2);
    past["occurred_at"] = json!(yesterday);
    let mut soon = op("o-2", "A", "receive", 3);
    let soon_at = now() + Duration::hours(1);
    soon["occurred_at"] = json!(soon_at);
    let mut too_late = op("o-3", "A", "receive", 4);
    too_late["occurred_at"] = json!(now() + Duration::hours(25));
    let results = push(&s, &[past, soon, too_late, op("o-4", "A", "receive", 1)]);
    let outcomes: Vec<&str> = results.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["applied", "applied", "rejected", "applied"], "{results:?}");
    assert_eq!(results[2]["http_status"], 400);
    assert_eq!(results[2]["error"]["code"], "invalid_request");
    assert_eq!(results[2]["error"]["details"]["field"], "occurred_at");

    let entries = entries(&s, "A");
    assert_eq!(entries.len(), 4, "defined, then o-1, o-2 and o-4");
    assert_eq!(time(&entries[1]["occurred_at"]), yesterday);
    assert!(time(&entries[1]["recorded_at"]) >= before - Duration::seconds(5), "recorded_at is the server's time");
    assert_eq!(time(&entries[2]["occurred_at"]).timestamp_millis(), soon_at.timestamp_millis());
    // Without occurred_at (a push or a direct post), it is when the ledger recorded it.
    assert_eq!(entries[3]["occurred_at"], entries[3]["recorded_at"]);
    let direct =
        s.must(s.post("/v1/skus/A/movements", WAREHOUSE, &json!({"kind": "receive", "location": "wh-1", "qty": 1})));
    assert_eq!(direct["entry"]["occurred_at"], direct["entry"]["recorded_at"]);
    assert_eq!(position(&s, "A")["on_hand"], 2 + 3 + 1 + 1);
}

#[test]
fn ops_of_one_sku_keep_their_order() {
    let s = seeded();
    // Receive 5 then take 5 away: fine in this order.
    let results = push(&s, &[op("k-1", "A", "receive", 5), op("k-2", "B", "receive", 1), op("k-3", "A", "adjust", -5)]);
    assert!(results.iter().all(|r| r["outcome"] == "applied"), "{results:?}");
    assert_eq!(position(&s, "A")["on_hand"], 0);
    // The other way round the first one cannot apply: there is nothing to take away yet.
    let results = push(&s, &[op("k-4", "C", "adjust", -5), op("k-5", "A", "receive", 1), op("k-6", "C", "receive", 5)]);
    let outcomes: Vec<&str> = results.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["rejected", "applied", "applied"], "{results:?}");
    assert_eq!(results[0]["error"]["code"], "conflict");
    assert_eq!(position(&s, "C")["on_hand"], 5);
    // Many ops of one SKU, interleaved with another: each sees the ones before it.
    let ops: Vec<Value> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                op(&format!("n-{i}"), "B", "receive", 1)
            } else {
                op(&format!("n-{i}"), "B", "adjust", -1)
            }
        })
        .collect();
    let results = push(&s, &ops);
    assert!(results.iter().all(|r| r["outcome"] == "applied"), "{results:?}");
    let versions: Vec<u64> = results.iter().map(|r| r["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, (3..23).collect::<Vec<u64>>());
    assert_eq!(position(&s, "B")["on_hand"], 1);
}

#[test]
fn a_count_names_the_tablets_own_receive_and_disagreeing_counts_raise_an_exception() {
    let s = seeded();
    s.receive("A", "wh-1", 20);
    let seen = s.version("A");
    // The tablet receives 5 (applied), then counts the 25 on the shelf from what it had read.
    let received = push(&s, &[op("rcv-1", "A", "receive", 5)]);
    let own_version = received[0]["version"].as_u64().expect("applied");
    assert_eq!(received[0]["position"]["version"].as_u64(), Some(own_version), "the position after it travels back");
    let mut count = op("cnt-1", "A", "count", 25);
    count["movement"]["counted_at_version"] = json!(seen);
    count["movement"]["includes_versions"] = json!([own_version]);
    let counted = push(&s, &[count]);
    assert_eq!(counted[0]["outcome"], "applied", "{counted:?}");
    assert_eq!(position(&s, "A")["on_hand"], 25, "the receive is not added again");
    assert!(counted[0].get("exceptions").is_none(), "{counted:?}");
    // A second tablet had read the same version and counts 24: applied, and a recount is asked for.
    let mut other = op("cnt-2", "A", "count", 24);
    other["movement"]["counted_at_version"] = json!(seen);
    let disagreeing = push(&s, &[other]);
    let exception = &disagreeing[0]["exceptions"][0];
    assert_eq!(exception["kind"], "counts_disagree", "{disagreeing:?}");
    assert_eq!(exception["disagreement"]["other_on_hand"], 25);
    assert_eq!(exception["disagreement"]["this_on_hand"], 29, "24 counted + the receive after what it read");
    // A version the ledger does not have yet is refused, and changes nothing.
    let version = s.version("A");
    let mut ahead = op("cnt-3", "A", "count", 1);
    ahead["movement"]["counted_at_version"] = json!(seen);
    ahead["movement"]["includes_versions"] = json!([version + 5]);
    let refused = push(&s, &[ahead]);
    assert_eq!(refused[0]["outcome"], "rejected");
    assert_eq!(refused[0]["error"]["details"]["field"], "includes_versions", "{refused:?}");
    assert_eq!(s.version("A"), version);
}

#[test]
fn items_are_found_by_sku_name_or_barcode_in_any_case() {
    let s = seeded();
    s.must(s.put(
        "/v1/skus/TEE-BLU-M",
        ADMIN,
        &json!({"name": "Blue T-shirt, medium", "safety_stock": 0, "barcodes": ["4006381333931"]}),
    ));
    s.must(s.put("/v1/skus/MUG-1", ADMIN, &json!({"name": "Coffee mug", "safety_stock": 0})));
    let find = |query: &str| -> Vec<String> {
        let page = s.must(s.get(&format!("/v1/skus?{query}"), WAREHOUSE));
        page["items"].as_array().expect("items").iter().map(|i| i["sku"].as_str().unwrap().to_string()).collect()
    };
    // The index follows the PUT within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while find("q=mug").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(find("q=mug"), ["MUG-1"]);
    assert_eq!(find("q=T-SHIRT"), ["TEE-BLU-M"], "any case, by name");
    assert_eq!(find("q=tee-blu"), ["TEE-BLU-M"], "part of the SKU");
    assert_eq!(find("q=4006381333931"), ["TEE-BLU-M"], "by barcode");
    assert_eq!(find("q=nothing-like-it"), Vec::<String>::new());
    // The whole list, a page at a time.
    assert_eq!(find("limit=2"), ["A", "B"]);
    let page = s.must(s.get("/v1/skus?limit=2", WAREHOUSE));
    assert_eq!(page["next_after"], "B");
    assert_eq!(find("after=B&limit=1000"), ["C", "MUG-1", "TEE-BLU-M"]);
    // A rename reaches the index; barcodes must be real GTINs; bad queries are refused.
    s.must(s.put("/v1/skus/MUG-1", ADMIN, &json!({"name": "Tea mug", "safety_stock": 0})));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while find("q=tea").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(find("q=tea"), ["MUG-1"]);
    let (status, body) =
        s.put("/v1/skus/MUG-1", ADMIN, &json!({"name": "Mug", "safety_stock": 0, "barcodes": ["4006381333932"]}));
    assert_eq!((status, body["error"]["details"]["field"].as_str()), (400, Some("barcodes")), "{body}");
    for bad in ["q=", "limit=0", "limit=1001", "after=no%20spaces", "colour=blue"] {
        let (status, body) = s.get(&format!("/v1/skus?{bad}"), WAREHOUSE);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = s.get("/v1/skus", "nobody");
    assert_eq!(status, 401);
}

/// `GET /v1/skus/{sku}/replica`: a device's replica, fed the server's entries over the wire,
/// reaches the server's positions; a projection of queued movements decides as the server then
/// does, with its words.
#[test]
fn a_replica_follows_the_servers_entries_and_projects_as_the_server_decides() {
    use stockline_engine::{Actor, Ctx, Entry, Movement, Replica, ReplicaSnapshot, Role};
    // Both locations before the SKU: its object takes the catalog with both when it is created
    // (a location added later reaches it within seconds, and the replica carries its copy).
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    s.location("wh-2", "warehouse", 2);
    s.sku("A", 0);
    push(&s, &[op("r-1", "A", "receive", 40)]);
    let snapshot: ReplicaSnapshot =
        serde_json::from_value(s.must(s.get("/v1/skus/A/replica", STOREFRONT))).expect("a replica snapshot");
    assert!(snapshot.catalog.suppliers().is_empty());
    let mut replica = Replica::new(snapshot).expect("restores");
    assert_eq!(replica.position("wh-1").expect("wh-1").on_hand, 40);
    let seen = replica.version();

    // Movements the device queues, projected on the replica: the second is refused.
    let movement = |body: Value| -> Movement { serde_json::from_value(body).expect("a movement") };
    let queued = [
        movement(json!({"kind": "receive", "location": "wh-1", "qty": 20})),
        movement(json!({"kind": "transfer", "location": "wh-1", "qty": 75, "to_location": "wh-2", "reference": "T-9"})),
        movement(json!({"kind": "adjust", "location": "wh-1", "qty": -5, "reason": "sync test"})),
    ];
    let ctx = Ctx::new(Actor { subject: "tablet".into(), role: Role::Warehouse }, now());
    let projection = replica.project(&queued, &ctx);
    let refusal = projection.outcomes[1].clone().expect_err("75 out of 60");
    assert_eq!(replica.projected(&projection, "wh-1").expect("wh-1").on_hand, 55);

    // The same movements through the sync push: the server decides the same, in the same words.
    let ops: Vec<Value> =
        queued.iter().enumerate().map(|(i, m)| json!({"op_id": format!("q-{i}"), "sku": "A", "movement": m})).collect();
    let results = push(&s, &ops);
    assert_eq!(
        results.iter().map(|r| r["outcome"].as_str().unwrap_or("")).collect::<Vec<_>>(),
        ["applied", "rejected", "applied"]
    );
    assert_eq!(
        (results[1]["error"]["code"].as_str(), results[1]["error"]["message"].as_str()),
        (Some(refusal.code()), Some(refusal.to_string().as_str()))
    );

    // Fed the server's entries after the version it saw, the replica is the server's.
    let entries: Vec<Entry> = entries(&s, "A")
        .into_iter()
        .map(|e| serde_json::from_value(e).expect("an entry"))
        .filter(|e: &Entry| e.version > seen)
        .collect();
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        replica.apply(entry).expect("applies");
    }
    let fresh: ReplicaSnapshot =
        serde_json::from_value(s.must(s.get("/v1/skus/A/replica", WAREHOUSE))).expect("snapshot");
    assert_eq!(replica.ledger().snapshot(&fresh.catalog), fresh.ledger);
    assert_eq!(replica.projected(&projection, "wh-1").ok(), replica.position("wh-1").ok());

    s.expect("GET", "/v1/skus/NOPE/replica", Some(WAREHOUSE), None, 404, "not_found");
    s.expect("POST", "/v1/skus/A/replica", Some(WAREHOUSE), Some("{}"), 405, "method_not_allowed");
    s.expect("GET", "/v1/skus/A/replica", None, None, 401, "unauthorized");
}
