//! Orders over HTTP, in the real worker: a priced, explained allocation through the SKU objects'
//! holds, the fulfilment steps moving stock, cancellation giving units back, exceptions in their
//! team's queue, concurrent orders for the last units never oversold, backorders filled when a
//! purchase order is received, bad input refused with nothing changed, and kill -9 mid-placement.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";
const STOREFRONT: &str = "dev-storefront";
const WAREHOUSE: &str = "dev-warehouse";
const BUYER: &str = "dev-buyer";
const SERVICE: &str = "dev-customer-service";
const FINANCE: &str = "dev-finance";

/// How long an order may take to settle (placement steps retried, the sweep every 5 s).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Two warehouses selling on `web`: east ships to `eu` for 4.10 in a day, west for 6.80 in two.
fn setup() -> Stockline {
    let s = Stockline::start();
    s.location("wh-east", "warehouse", 1);
    s.location("wh-west", "warehouse", 2);
    let channel =
        json!({"name": "Web", "locations": ["wh-east", "wh-west"], "buffer": 0, "cap": null, "stop_below": null});
    s.must(s.put("/v1/channels/web", ADMIN, &channel));
    let rates = json!({
        "currency": "EUR",
        "rates": [
            {"location": "wh-east", "region": "eu", "cost": "4.10", "transit_days": 1},
            {"location": "wh-west", "region": "eu", "cost": "6.80", "transit_days": 2}
        ],
        "nodes": [
            {"location": "wh-east", "cutoff_minute_utc": 1440},
            {"location": "wh-west", "cutoff_minute_utc": 1440}
        ]
    });
    s.must(s.put("/v1/shipping-rates", ADMIN, &rates));
    s
}

fn order(lines: &[(&str, i64)], split: Value, priority: i64) -> Value {
    let lines: Vec<Value> =
        lines.iter().map(|(sku, qty)| json!({"sku": sku, "qty": qty, "unit_price": "20.00"})).collect();
    json!({"channel": "web", "currency": "EUR", "ship_to_region": "eu", "split": split, "priority": priority, "lines": lines})
}

fn place(s: &Stockline, body: &Value, key: &str) -> Value {
    let (status, placed) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body.to_string()), Some(key));
    assert_eq!(status, 201, "{placed}");
    placed
}

fn step(s: &Stockline, id: &str, action: &str, token: &str, seen: &Value) -> (u16, Value) {
    s.post(&format!("/v1/orders/{id}/{action}"), token, &json!({"version": seen["version"]}))
}

/// The order once it is no longer being placed nor waiting for its first decision.
fn settled(s: &Stockline, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let order = s.must(s.get(&format!("/v1/orders/{id}"), ADMIN));
        if order["placing"] == false && order["status"] != "placed" {
            return order;
        }
        assert!(started.elapsed() < SETTLE_TIMEOUT, "{id} still being placed: {order}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (on_hand, allocated, available) of a SKU over the channel.
fn stock(s: &Stockline, sku: &str) -> (i64, i64, i64) {
    let body = s.must(s.get(&format!("/v1/availability/{sku}?channel=web"), ADMIN));
    let n = |field: &str| body[field].as_i64().unwrap_or_else(|| panic!("`{field}`: {body}"));
    (n("on_hand"), n("allocated"), n("available"))
}

/// Units an order holds, by its lines' allocations and by its holdings; both must agree.
fn allocated(order: &Value) -> i64 {
    let by_lines: i64 = order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .flat_map(|line| line["allocations"].as_array().expect("allocations").iter())
        .map(|a| a["qty"].as_i64().expect("qty"))
        .sum();
    let by_holdings: i64 =
        order["holdings"].as_array().expect("holdings").iter().map(|h| h["qty"].as_i64().expect("qty")).sum();
    assert_eq!(by_lines, by_holdings, "allocations and holdings agree: {order}");
    by_lines
}

fn all_orders(s: &Stockline) -> Vec<Value> {
    let list = s.must(s.get("/v1/orders?limit=200", ADMIN));
    list["orders"].as_array().expect("orders").clone()
}

#[test]
fn an_order_is_priced_explained_and_walked_to_delivery() {
    let s = setup();
    s.sku("TEE", 0);
    s.receive("TEE", "wh-east", 5);
    s.receive("TEE", "wh-west", 5);

    let body = order(&[("TEE", 3)], json!("allow"), 10);
    let placed = place(&s, &body, "checkout-1");
    let id = placed["id"].as_str().expect("an id").to_string();
    let placed = settled(&s, &id);
    assert_eq!(placed["status"], "allocated", "{placed}");
    assert_eq!(placed["lines"][0]["allocations"], json!([{"location": "wh-east", "qty": 3}]), "{placed}");
    // The choice says why: the cheaper node, its price, and the one not taken.
    let explanation = placed["choice"]["explanation"].as_str().expect("an explanation");
    for word in ["wh-east", "4.10", "wh-west", "6.80"] {
        assert!(explanation.contains(word), "`{word}` in {explanation:?}");
    }
    let cost = placed["choice"]["plan"]["shipping_cost"].as_str().and_then(|c| c.parse::<f64>().ok());
    assert_eq!(cost, Some(4.1), "money as a decimal string: {placed}");
    assert_eq!(placed["choice"]["runner_up"]["shipments"][0]["location"], "wh-west", "{placed}");
    assert_eq!(placed["actions"], json!(["release", "cancel", "cancel_line"]));
    assert_eq!(stock(&s, "TEE"), (10, 3, 7), "the order holds its units through the SKU's ledger");

    // The same key is the same order; the same key with another body is refused.
    let (status, again) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body.to_string()), Some("checkout-1"));
    assert_eq!((status, &again["id"]), (201, &json!(id)), "{again}");
    let other = order(&[("TEE", 4)], json!("allow"), 10).to_string();
    let (status, refused) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&other), Some("checkout-1"));
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("idempotency_mismatch")), "{refused}");
    assert_eq!(stock(&s, "TEE"), (10, 3, 7), "nothing placed twice");
    assert_eq!(all_orders(&s).len(), 1);

    // Who may read and act.
    s.must(s.get(&format!("/v1/orders/{id}"), SERVICE));
    s.expect("GET", &format!("/v1/orders/{id}"), Some(FINANCE), None, 403, "forbidden");
    s.expect("POST", "/v1/orders", Some(WAREHOUSE), Some(&body.to_string()), 403, "forbidden");
    let seen = json!({"version": placed["version"]}).to_string();
    s.expect("POST", &format!("/v1/orders/{id}/release"), Some(STOREFRONT), Some(&seen), 403, "forbidden");
    // A step names the version it saw: an older one is refused.
    let stale = json!({"version": 0}).to_string();
    s.expect("POST", &format!("/v1/orders/{id}/release"), Some(WAREHOUSE), Some(&stale), 409, "conflict");
    // Out of order: an allocated order is not picked before it is released.
    s.expect("POST", &format!("/v1/orders/{id}/pick"), Some(WAREHOUSE), Some(&seen), 409, "conflict");

    let released = s.must(step(&s, &id, "release", WAREHOUSE, &placed));
    assert_eq!(released["status"], "released");
    let picked = s.must(step(&s, &id, "pick", WAREHOUSE, &released));
    assert_eq!(picked["status"], "picked");
    assert_eq!(stock(&s, "TEE"), (10, 3, 7), "picking moves no stock");
    let shipped = s.must(step(&s, &id, "ship", WAREHOUSE, &picked));
    assert_eq!(
        (shipped["status"].as_str(), &shipped["lines"][0]["shipped"]),
        (Some("shipped"), &json!(3)),
        "{shipped}"
    );
    assert_eq!(stock(&s, "TEE"), (7, 0, 7), "the shipment leaves the warehouse");
    let shipment = s.must(s.get("/v1/skus/TEE/entries?after_version=0&limit=100", ADMIN));
    let ships: Vec<&Value> = shipment["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event"]["movement"]["kind"] == "ship")
        .collect();
    assert_eq!(ships.len(), 1, "one shipment on the ledger: {shipment}");
    assert_eq!(ships[0]["event"]["movement"]["reason"], format!("order {id}"), "it names the order");
    let delivered = s.must(step(&s, &id, "deliver", WAREHOUSE, &shipped));
    assert_eq!((delivered["status"].as_str(), &delivered["actions"]), (Some("delivered"), &json!([])));
    // The timeline: every transition, in order, with who made it.
    let timeline: Vec<&str> = delivered["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().expect("an action"))
        .collect();
    assert_eq!(timeline, ["place", "allocate", "release", "pick", "ship", "deliver"], "{delivered}");
    s.expect(
        "POST",
        &format!("/v1/orders/{id}/ship"),
        Some(WAREHOUSE),
        Some(&json!({"version": delivered["version"]}).to_string()),
        409,
        "conflict",
    );
    let listed = s.must(s.get("/v1/orders?status=delivered", WAREHOUSE));
    assert_eq!(listed["orders"].as_array().map(Vec::len), Some(1), "{listed}");
    let listed = s.must(s.get("/v1/orders?status=allocated", WAREHOUSE));
    assert_eq!(listed["orders"], json!([]));
}

#[test]
fn cancelling_gives_units_back_and_bad_input_changes_nothing() {
    let s = setup();
    s.sku("TEE", 0);
    s.sku("CAP", 0);
    s.receive("TEE", "wh-east", 5);
    s.receive("CAP", "wh-east", 5);

    let whole = settled(&s, place(&s, &order(&[("TEE", 2)], json!("allow"), 0), "o-1")["id"].as_str().expect("an id"));
    assert_eq!(stock(&s, "TEE"), (5, 2, 3));
    let cancelled = s.must(s.send(
        "POST",
        &format!("/v1/orders/{}/cancel", whole["id"].as_str().expect("an id")),
        Some(STOREFRONT),
        Some(&json!({"version": whole["version"], "comment": "customer changed their mind"}).to_string()),
        None,
    ));
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(stock(&s, "TEE"), (5, 0, 5), "the units are sellable again");

    let two = settled(
        &s,
        place(&s, &order(&[("TEE", 1), ("CAP", 2)], json!("allow"), 0), "o-2")["id"].as_str().expect("an id"),
    );
    let id = two["id"].as_str().expect("an id").to_string();
    assert_eq!((stock(&s, "TEE"), stock(&s, "CAP")), ((5, 1, 4), (5, 2, 3)));
    let one_line = json!({"version": two["version"], "line": 2}).to_string();
    s.expect("POST", &format!("/v1/orders/{id}/release"), Some(WAREHOUSE), Some(&one_line), 400, "invalid_request");
    let less = s.must(s.send("POST", &format!("/v1/orders/{id}/cancel"), Some(SERVICE), Some(&one_line), None));
    assert_eq!((less["status"].as_str(), &less["lines"][1]["cancelled"]), (Some("allocated"), &json!(2)), "{less}");
    assert_eq!((stock(&s, "TEE"), stock(&s, "CAP")), ((5, 1, 4), (5, 0, 5)), "only line 2's units came back");

    // Bad input: a clear error, and nothing placed, held or numbered.
    let good = order(&[("TEE", 1)], json!("allow"), 0);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body.to_string()
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("{".into(), 400, "invalid_request"),
        ("[]".into(), 400, "invalid_request"),
        (with("lines", json!([])), 400, "invalid_request"),
        (with("lines", json!([{"sku": "TEE", "qty": 0, "unit_price": "1.00"}])), 400, "invalid_request"),
        (with("lines", json!([{"sku": "TEE", "qty": -1, "unit_price": "1.00"}])), 400, "invalid_request"),
        (with("lines", json!([{"sku": "TEE", "qty": 1.5, "unit_price": "1.00"}])), 400, "invalid_request"),
        (with("lines", json!([{"sku": "TEE", "qty": 1, "unit_price": "-1.00"}])), 400, "invalid_request"),
        (with("lines", json!([{"sku": "TEE", "qty": 1, "unit_price": 1.5}])), 400, "invalid_request"),
        (
            with(
                "lines",
                json!([{"sku": "TEE", "qty": 1, "unit_price": "1"}, {"sku": "TEE", "qty": 1, "unit_price": "1"}]),
            ),
            400,
            "invalid_request",
        ),
        (
            with("lines", json!([{"sku": "TEE", "qty": 1, "unit_price": "1.00", "colour": "red"}])),
            400,
            "invalid_request",
        ),
        (with("lines", json!([{"sku": "NOPE", "qty": 1, "unit_price": "1.00"}])), 404, "not_found"),
        (with("channel", json!("nope")), 404, "not_found"),
        (with("currency", json!("euros")), 400, "invalid_request"),
        (with("priority", json!(101)), 400, "invalid_request"),
        (with("split", json!("sometimes")), 400, "invalid_request"),
        (with("ship_to_region", json!("")), 400, "invalid_request"),
        (with("extra", json!(1)), 400, "invalid_request"),
        (with("hold", json!("fraud")).replace("\"TEE\"", "\"NOPE\""), 404, "not_found"),
    ];
    let before = (stock(&s, "TEE"), all_orders(&s));
    for (n, (body, status, code)) in cases.iter().enumerate() {
        let (got, answer) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(body), Some(&format!("bad-{n}")));
        assert_eq!((got, answer["error"]["code"].as_str()), (*status, Some(*code)), "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    s.expect("POST", "/v1/orders", Some(STOREFRONT), Some(&good.to_string()), 400, "invalid_request");
    s.expect("POST", "/v1/orders", None, Some(&good.to_string()), 401, "unauthorized");
    s.expect("GET", "/v1/orders/SO-999999", Some(ADMIN), None, 404, "not_found");
    s.expect("POST", &format!("/v1/orders/{id}/fly"), Some(ADMIN), Some("{}"), 404, "not_found");
    s.expect(
        "POST",
        &format!("/v1/orders/{id}/cancel"),
        Some(ADMIN),
        Some("{\"version\": \"x\"}"),
        400,
        "invalid_request",
    );
    s.expect(
        "POST",
        &format!("/v1/orders/{id}/cancel"),
        Some(ADMIN),
        Some(&json!({"version": less["version"], "line": 9}).to_string()),
        400,
        "invalid_request",
    );
    s.expect("GET", "/v1/orders?status=lost", Some(ADMIN), None, 400, "invalid_request");
    s.expect("GET", "/v1/orders?limit=0", Some(ADMIN), None, 400, "invalid_request");
    s.expect("GET", "/v1/exceptions?team=marketing", Some(ADMIN), None, 400, "invalid_request");
    assert_eq!((stock(&s, "TEE"), all_orders(&s)), before, "bad input changed nothing");
}

/// A ship-complete order that could go now only as a split asks customer service; a fraud hold
/// waits for them; the queue is theirs, the decision is checked against what they saw.
#[test]
fn exceptions_go_to_their_team_and_are_resolved_there() {
    let s = setup();
    s.sku("TEE", 0);
    s.receive("TEE", "wh-east", 2);
    s.receive("TEE", "wh-west", 2);

    let whole =
        settled(&s, place(&s, &order(&[("TEE", 4)], json!("ship_complete"), 0), "o-1")["id"].as_str().expect("an id"));
    let id = whole["id"].as_str().expect("an id").to_string();
    assert_eq!(whole["choice"]["outcome"], "split_needs_approval", "{whole}");
    assert_eq!(allocated(&whole), 0, "nothing held before the customer agrees");
    let queue = s.must(s.get("/v1/exceptions?team=customer_service&status=open", SERVICE));
    let queue = queue["exceptions"].as_array().expect("exceptions").clone();
    assert_eq!(queue.len(), 1, "{queue:?}");
    let exception = &queue[0];
    assert_eq!((&exception["kind"], &exception["order"]), (&json!("split_needs_approval"), &json!(id)), "{exception}");
    assert_eq!(s.must(s.get("/v1/exceptions?team=warehouse", WAREHOUSE))["exceptions"], json!([]));
    let path = format!("/v1/exceptions/{}/resolve", exception["id"].as_str().expect("an id"));
    let decision = |version: &Value| {
        json!({"action": "approve_split", "version": version, "comment": "customer agreed by phone"}).to_string()
    };
    s.expect("POST", &path, Some(STOREFRONT), Some(&decision(&exception["version"])), 403, "forbidden");
    s.expect("POST", &path, Some(WAREHOUSE), Some(&decision(&exception["version"])), 403, "forbidden");
    s.expect("POST", &path, Some(SERVICE), Some(&decision(&json!(0))), 409, "conflict");
    s.expect(
        "POST",
        &path,
        Some(SERVICE),
        Some(&json!({"action": "shrug", "version": 1}).to_string()),
        400,
        "invalid_request",
    );
    s.expect(
        "POST",
        "/v1/exceptions/SO-999999-x1/resolve",
        Some(SERVICE),
        Some(&decision(&json!(1))),
        404,
        "not_found",
    );
    let resolved = s.must(s.send("POST", &path, Some(SERVICE), Some(&decision(&exception["version"])), Some("r-1")));
    assert_eq!(resolved["exception"]["status"], "resolved", "{resolved}");
    let split = settled(&s, &id);
    assert_eq!((split["status"].as_str(), allocated(&split)), (Some("allocated"), 4), "{split}");
    assert_eq!(split["choice"]["plan"]["shipments"].as_array().map(Vec::len), Some(2), "{split}");
    assert_eq!(stock(&s, "TEE"), (4, 4, 0));
    // Resolved once: the same key answers the same; another decision is refused.
    let (status, again) = s.send("POST", &path, Some(SERVICE), Some(&decision(&exception["version"])), Some("r-1"));
    assert_eq!((status, &again["exception"]["id"]), (200, &exception["id"]), "{again}");
    s.expect("POST", &path, Some(SERVICE), Some(&decision(&resolved["exception"]["version"])), 409, "conflict");

    // A fraud hold: nothing held until customer service releases it.
    s.receive("TEE", "wh-east", 3);
    let mut held = order(&[("TEE", 1)], json!("allow"), 0);
    held["hold"] = json!("fraud");
    let held = place(&s, &held, "o-2");
    let held_id = held["id"].as_str().expect("an id").to_string();
    assert_eq!((held["status"].as_str(), allocated(&held)), (Some("on_hold"), 0), "{held}");
    let queue = s.must(s.get("/v1/exceptions?team=customer_service&status=open", SERVICE));
    assert_eq!(queue["exceptions"][0]["kind"], "fraud_hold", "{queue}");
    let seen = json!({"version": held["version"], "comment": "payment verified"}).to_string();
    s.expect("POST", &format!("/v1/orders/{held_id}/release-hold"), Some(STOREFRONT), Some(&seen), 403, "forbidden");
    let refused =
        s.expect("POST", &format!("/v1/orders/{held_id}/release-hold"), Some(WAREHOUSE), Some(&seen), 403, "forbidden");
    assert_eq!(refused["error"]["details"]["rule"], "team", "a fraud hold is customer service's: {refused}");
    s.must(s.send("POST", &format!("/v1/orders/{held_id}/release-hold"), Some(SERVICE), Some(&seen), None));
    let released = settled(&s, &held_id);
    assert_eq!((released["status"].as_str(), allocated(&released)), (Some("allocated"), 1), "{released}");
    let queue = s.must(s.get("/v1/exceptions?team=customer_service&status=open", SERVICE));
    assert_eq!(queue["exceptions"], json!([]), "the hold's exception closed itself");
}

fn supplier_and_rules(s: &Stockline) {
    let supplier = json!({"name": "Basics", "currency": "EUR", "lead_time_days": 5, "standing": "good"});
    s.must(s.put("/v1/suppliers/basics-co", ADMIN, &supplier));
    let rules = json!({"base_currency": "EUR", "rates": {}, "bands": [{"up_to": null, "approvals": 0, "roles": []}]});
    s.must(s.put("/v1/approval-rules", ADMIN, &rules));
}

/// A sent purchase order for `qty` of `sku` into wh-east; returns its id.
fn purchase(s: &Stockline, sku: &str, qty: i64) -> String {
    let expected_on = (stockline_tests::today() + chrono::Duration::days(4)).to_string();
    let po = json!({"supplier": "basics-co", "currency": "EUR",
        "lines": [{"sku": sku, "location": "wh-east", "qty": qty, "unit_price": "3.00", "expected_on": expected_on}]});
    let draft = s.must(s.post("/v1/purchase-orders", BUYER, &po));
    let id = draft["id"].as_str().expect("an id").to_string();
    let approved =
        s.must(s.post(&format!("/v1/purchase-orders/{id}/submit"), BUYER, &json!({"version": draft["version"]})));
    s.must(s.post(&format!("/v1/purchase-orders/{id}/send"), BUYER, &json!({"version": approved["version"]})));
    id
}

/// 24 storefronts race for the last 5 units over two nodes: never oversold, every order answered
/// and settled as allocated or backordered with an exception in procurement's queue. A received
/// purchase order then fills the backorders by priority, then age, and closes their exceptions.
#[test]
fn concurrent_orders_for_the_last_units_never_oversell_and_backorders_fill_on_receipt() {
    const ORDERS: usize = 24;
    let s = setup();
    supplier_and_rules(&s);
    s.sku("HOT", 0);
    s.receive("HOT", "wh-east", 3);
    s.receive("HOT", "wh-west", 2);

    let answered = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for n in 0..ORDERS {
            let (s, answered) = (&s, &answered);
            scope.spawn(move || {
                // Priorities 0, 50 and 100 in turn: the fill order is testable.
                let body = order(&[("HOT", 1)], json!("allow"), (n % 3) as i64 * 50).to_string();
                let (status, placed) =
                    s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body), Some(&format!("hot-{n}")));
                answered.lock().unwrap().push((status, placed));
            });
        }
    });
    let answered = answered.into_inner().unwrap();
    for (status, placed) in &answered {
        assert_eq!(*status, 201, "every order is taken (placed, backordered or waiting): {placed}");
    }
    let ids: Vec<String> =
        answered.iter().map(|(_, placed)| placed["id"].as_str().expect("an id").to_string()).collect();
    let settle =
        |ids: &[String]| -> BTreeMap<String, Value> { ids.iter().map(|id| (id.clone(), settled(&s, id))).collect() };
    let orders = settle(&ids);
    let held: i64 = orders.values().map(allocated).sum();
    assert_eq!(held, 5, "every unit to exactly one order");
    assert_eq!(stock(&s, "HOT"), (5, 5, 0), "the ledger agrees: nothing oversold");
    let waiting: Vec<&String> = orders.iter().filter(|(_, o)| o["status"] == "backordered").map(|(id, _)| id).collect();
    assert_eq!(waiting.len(), ORDERS - 5, "{orders:?}");
    let queue = s.must(s.get("/v1/exceptions?team=procurement&status=open", BUYER));
    let mut raised: Vec<&str> = queue["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .map(|e| e["order"].as_str().expect("an order"))
        .collect();
    raised.sort();
    let mut expected: Vec<&str> = waiting.iter().map(|id| id.as_str()).collect();
    expected.sort();
    assert_eq!(raised, expected, "one shortage per backordered order, owned by procurement");
    // Oldest due first within the team's queue.
    // Compared as times, not strings: a time on a whole second is written without a fraction
    // ("…:44Z" sorts after "…:44.003Z" as text).
    let due: Vec<chrono::DateTime<chrono::Utc>> = queue["exceptions"]
        .as_array()
        .expect("exceptions")
        .iter()
        .map(|e| e["due_at"].as_str().and_then(|t| t.parse().ok()).expect("due"))
        .collect();
    assert!(due.windows(2).all(|w| w[0] <= w[1]), "{due:?}");

    // 10 units arrive by purchase order: the 10 backorders first in line take them.
    let po = purchase(&s, "HOT", 10);
    let receipt = json!({"lines": [{"line": 1, "qty": 10, "into": "stock"}]}).to_string();
    let (status, got) =
        s.send("POST", &format!("/v1/purchase-orders/{po}/receipts"), Some(WAREHOUSE), Some(&receipt), Some("dock-1"));
    assert_eq!(status, 201, "{got}");
    let started = Instant::now();
    let orders = loop {
        let orders = settle(&ids);
        if orders.values().map(allocated).sum::<i64>() == 15 {
            break orders;
        }
        assert!(started.elapsed() < SETTLE_TIMEOUT, "backorders not filled: {orders:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(stock(&s, "HOT"), (15, 15, 0));
    // Which ones: highest priority first, then the oldest (ids number orders in placement order).
    let mut line: Vec<(i64, &String)> =
        waiting.iter().map(|id| (-orders[*id]["priority"].as_i64().expect("priority"), *id)).collect();
    line.sort();
    let first: Vec<&String> = line.iter().take(10).map(|(_, id)| *id).collect();
    for (priority, id) in &line {
        let filled = orders[*id]["status"] == "allocated";
        assert_eq!(filled, first.contains(id), "{id} (priority {}): {}", -priority, orders[*id]);
        let open = orders[*id]["exceptions"].as_array().expect("exceptions").iter().any(|e| e["status"] == "open");
        assert_eq!(open, !filled, "a filled order's exception closed itself, a waiting one's stays: {}", orders[*id]);
    }
}

/// A buyer escalates a shortage: the SKU goes to the top of the replenishment list to be
/// expedited, with the units the customer waits for and what to do (order the MOQ with nothing
/// inbound, expedite the purchase order once one is on its way); resolving the exception takes it
/// off again.
#[test]
fn an_escalated_shortage_tops_the_replenishment_list_until_it_is_resolved() {
    let s = setup();
    supplier_and_rules(&s);
    s.sku("RARE", 0);
    s.must(s.put("/v1/skus/RARE/policy", BUYER, &json!({"supplier": "basics-co", "moq": 10})));
    let placed = place(&s, &order(&[("RARE", 3)], json!("allow"), 0), "o-rare");
    let id = placed["id"].as_str().expect("an id").to_string();
    assert_eq!(settled(&s, &id)["status"], "backordered");
    let queue = s.must(s.get("/v1/exceptions?team=procurement&status=open", BUYER));
    let exception = queue["exceptions"][0].clone();
    assert_eq!((&exception["kind"], &exception["order"]), (&json!("shortage"), &json!(id)), "{queue}");
    let path = format!("/v1/exceptions/{}/resolve", exception["id"].as_str().expect("an id"));
    // No demand and nothing on order: the SKU asks for nothing before the escalation.
    let plan = s.must(s.get("/v1/skus/RARE/plan", BUYER));
    assert_eq!((&plan["expedite_qty"], &plan["suggestion"]), (&json!(0), &Value::Null), "{plan}");

    let escalate = json!({"action": "escalate", "version": exception["version"], "comment": "key account"});
    let escalated = s.must(s.send("POST", &path, Some(BUYER), Some(&escalate.to_string()), Some("esc-1")));
    assert_eq!(escalated["exception"]["escalated"], true, "{escalated}");
    let top = |list: &Value| list["groups"][0]["lines"][0].clone();
    let list = wait_for_list(&s, |list| top(list)["expedite_qty"] == 3);
    let line = top(&list);
    assert_eq!((&line["sku"], &line["suggestion_qty"]), (&json!("RARE"), &json!(10)), "the MOQ at least: {line}");
    assert_eq!(line["action"]["kind"], "order_now", "{line}");
    let message = line["action"]["message"].as_str().expect("a message");
    assert!(message.starts_with("customers wait for 3 units for 1 escalated order line"), "{message}");
    let plan = s.must(s.get("/v1/skus/RARE/plan", BUYER));
    let request = &plan["expedites"][0];
    assert_eq!((&request["order"], &request["line"], &request["qty"]), (&json!(id), &json!(1), &json!(3)), "{plan}");

    // A purchase order on its way: expedite it rather than order again.
    let po = purchase(&s, "RARE", 10);
    let list = wait_for_list(&s, |list| top(list)["action"]["kind"] == "expedite");
    let line = top(&list);
    assert_eq!((&line["action"]["reference"], &line["expedite_qty"]), (&json!(po), &json!(3)), "{line}");

    // Procurement cancels the line: the request is withdrawn and the SKU leaves the list.
    let exception = s.must(s.get("/v1/exceptions?team=procurement&status=open", BUYER))["exceptions"][0].clone();
    let cancel = json!({"action": "cancel_line", "version": exception["version"]});
    s.must(s.send("POST", &path, Some(BUYER), Some(&cancel.to_string()), Some("esc-2")));
    wait_for_list(&s, |list| list["groups"] == json!([]));
    let plan = s.must(s.get("/v1/skus/RARE/plan", BUYER));
    assert_eq!((&plan["expedite_qty"], &plan["expedites"]), (&json!(0), &Value::Null), "{plan}");
}

/// A SKU names its substitutes: an order short of it offers customer service the first that can
/// ship all the line waits for; accepting moves those units to a new line of the substitute, which
/// is allocated at once, and the shortage closes itself. Bad substitute lists change nothing.
#[test]
fn a_short_line_is_offered_its_substitute_and_accepting_ships_it() {
    let s = setup();
    s.sku("TEE-BLUE", 0);
    s.sku("TEE-GREEN", 0);
    s.receive("TEE-BLUE", "wh-east", 5);
    s.receive("TEE-GREEN", "wh-east", 1);
    let red = |substitutes: Value| json!({"name": "Red tee", "safety_stock": 0, "substitutes": substitutes});
    for (bad, why) in [
        (json!(["TEE-RED"]), "cannot substitute itself"),
        (json!(["TEE-BLUE", "TEE-BLUE"]), "named twice"),
        (json!(["A", "B", "C", "D", "E"]), "at most 4"),
        (json!(["not an id!"]), ""),
    ] {
        let refused =
            s.expect("PUT", "/v1/skus/TEE-RED", Some(ADMIN), Some(&red(bad).to_string()), 400, "invalid_request");
        assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains(why)), "{refused}");
    }
    s.expect("GET", "/v1/availability/TEE-RED", Some(ADMIN), None, 404, "not_found");
    let defined = s.must(s.put("/v1/skus/TEE-RED", ADMIN, &red(json!(["TEE-GREEN", "TEE-BLUE"]))));
    assert_eq!(defined["substitutes"], json!(["TEE-GREEN", "TEE-BLUE"]), "{defined}");

    // 2 red wanted, none in stock: green has 1 (not enough), blue has 5: blue is offered.
    let placed = place(&s, &order(&[("TEE-RED", 2)], json!("allow"), 0), "o-red");
    let id = placed["id"].as_str().expect("an id").to_string();
    assert_eq!(settled(&s, &id)["status"], "backordered");
    let queue = s.must(s.get("/v1/exceptions?team=customer_service&status=open", SERVICE));
    let offer = queue["exceptions"][0].clone();
    assert_eq!(
        (&offer["kind"], &offer["order"], &offer["substitute"]),
        (&json!("substitution_offered"), &json!(id), &json!("TEE-BLUE")),
        "{queue}"
    );
    assert_eq!(offer["detail"], "line 1: 2 × TEE-RED waiting; TEE-BLUE can ship 2 now (5 to sell)");
    let path = format!("/v1/exceptions/{}/resolve", offer["id"].as_str().expect("an id"));
    let accept = json!({"action": "accept_substitute", "version": offer["version"], "comment": "customer said yes"});
    s.expect("POST", &path, Some(WAREHOUSE), Some(&accept.to_string()), 403, "forbidden");
    let resolved = s.must(s.send("POST", &path, Some(SERVICE), Some(&accept.to_string()), Some("sub-1")));
    assert_eq!(resolved["exception"]["status"], "resolved", "{resolved}");

    let order = settled(&s, &id);
    assert_eq!(order["status"], "allocated", "{order}");
    let lines: Vec<(Value, Value, Value, Value, i64)> = order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            let held: i64 =
                l["allocations"].as_array().expect("allocations").iter().map(|a| a["qty"].as_i64().unwrap()).sum();
            (l["sku"].clone(), l["qty"].clone(), l["substituted"].clone(), l["substitute_for"].clone(), held)
        })
        .collect();
    assert_eq!(
        lines,
        [
            (json!("TEE-RED"), json!(2), json!(2), Value::Null, 0),
            (json!("TEE-BLUE"), json!(2), Value::Null, json!(1), 2),
        ],
        "{order}"
    );
    assert_eq!(stock(&s, "TEE-BLUE"), (5, 2, 3), "the substitute's units are held, nothing else");
    let open = s.must(s.get("/v1/exceptions?status=open", ADMIN));
    assert_eq!(open["exceptions"], json!([]), "the shortage closed itself: {open}");
    // Accepted once: the same key answers the same; the offer is not made again.
    let (status, again) = s.send("POST", &path, Some(SERVICE), Some(&accept.to_string()), Some("sub-1"));
    assert_eq!((status, &again["exception"]["status"]), (200, &json!("resolved")), "{again}");
}

/// A location's list holds every order with units there, page by page, however many newer orders
/// ship from elsewhere; paging the whole list repeats and skips nothing.
#[test]
fn a_locations_orders_page_through_however_many_ship_elsewhere() {
    let s = setup();
    s.sku("EAST-ONLY", 0);
    s.sku("WEST-ONLY", 0);
    s.receive("EAST-ONLY", "wh-east", 5);
    s.receive("WEST-ONLY", "wh-west", 20);
    let mut east = Vec::new();
    for n in 0..2 {
        east.push(place(&s, &order(&[("EAST-ONLY", 1)], json!("allow"), 0), &format!("e-{n}"))["id"].clone());
    }
    for n in 0..6 {
        place(&s, &order(&[("WEST-ONLY", 1)], json!("allow"), 0), &format!("w-{n}"));
    }
    let ids = |page: &Value| -> Vec<Value> {
        page["orders"].as_array().expect("orders").iter().map(|o| o["id"].clone()).collect()
    };
    let first = s.must(s.get("/v1/orders?location=wh-east&limit=1", WAREHOUSE));
    assert_eq!(ids(&first), [east[1].clone()], "{first}");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = s.must(s.get(&format!("/v1/orders?location=wh-east&limit=1&cursor={cursor}"), WAREHOUSE));
    assert_eq!((ids(&second), &second["next_cursor"]), (vec![east[0].clone()], &Value::Null), "{second}");

    let mut seen: Vec<Value> = Vec::new();
    let mut path = "/v1/orders?limit=3".to_string();
    loop {
        let page = s.must(s.get(&path, ADMIN));
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/orders?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.as_str().cmp(&a.as_str()));
    assert_eq!((seen.len(), &seen), (8, &newest_first), "every order once, newest first");
    s.expect("GET", "/v1/orders?cursor=soon", Some(ADMIN), None, 400, "invalid_request");
    s.expect("GET", "/v1/orders?cursor=-4", Some(ADMIN), None, 400, "invalid_request");
}

/// A bad shipping table is refused naming the field and its place in the list, and changes
/// nothing: the table in force stays as it was.
#[test]
fn a_bad_shipping_table_names_the_row_and_changes_nothing() {
    let s = setup();
    let before = s.must(s.get("/v1/shipping-rates", ADMIN));
    let rate = |location: &str, region: &str, cost: &str, days: i64| json!({"location": location, "region": region, "cost": cost, "transit_days": days});
    let node = |location: &str, cutoff: i64| json!({"location": location, "cutoff_minute_utc": cutoff});
    let table = |rates: Vec<Value>, nodes: Vec<Value>| json!({"currency": "EUR", "rates": rates, "nodes": nodes});
    let good = || rate("wh-east", "eu", "4.10", 1);
    let cases = [
        (table(vec![good(), rate("wh-west", "eu", "-1.00", 2)], vec![]), "rates[1].cost"),
        (table(vec![rate("wh-west", "eu", "6.80", 61)], vec![]), "rates[0].transit_days"),
        (table(vec![good(), rate("wh-west", "", "6.80", 2)], vec![]), "rates[1].region"),
        (table(vec![good(), good()], vec![]), "rates[1]"),
        (table(vec![good()], vec![node("wh-east", 600), node("wh-east", 700)]), "nodes[1].location"),
        (table(vec![good()], vec![node("wh-east", 1441)]), "nodes[0].cutoff_minute_utc"),
        (
            table(vec![good()], vec![json!({"location": "wh-east", "cutoff_minute_utc": 600, "capacity_per_day": 0})]),
            "nodes[0].capacity_per_day",
        ),
        (json!({"currency": "euro", "rates": [good()], "nodes": []}), "currency"),
    ];
    for (bad, field) in cases {
        let (status, answer) = s.put("/v1/shipping-rates", ADMIN, &bad);
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{bad}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request", "{answer}");
    }
    assert_eq!(s.must(s.get("/v1/shipping-rates", ADMIN)), before, "nothing changed");
}

/// Waits (up to 30 s) for the replenishment list, refreshed from alarms, to satisfy `ready`.
fn wait_for_list(s: &Stockline, ready: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let list = s.must(s.get("/v1/replenishment", BUYER));
        if ready(&list) {
            return list;
        }
        assert!(started.elapsed() < SETTLE_TIMEOUT, "the replenishment list never got there: {list}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// kill -9 while orders are being placed: after the restart (and clients retrying what got no
/// answer, with the same key) every acknowledged order is there once, and the SKU's ledger holds
/// exactly what the orders hold.
#[test]
fn kill_during_placements_loses_no_acknowledged_order() {
    let mut s = setup();
    s.sku("A", 0);
    s.sku("B", 0);
    s.receive("A", "wh-east", 400);
    s.receive("B", "wh-west", 400);

    let acknowledged = Mutex::new(Vec::<(String, String)>::new());
    let unanswered = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let body = order(&[("A", 1), ("B", 2)], json!("allow"), 0).to_string();
    std::thread::scope(|scope| {
        for writer in 0..3 {
            let (s, acknowledged, unanswered, stop, body) = (&s, &acknowledged, &unanswered, &stop, &body);
            scope.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let key = format!("k-{writer}-{n}");
                    let (status, answer) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(body), Some(&key));
                    match status {
                        201 => {
                            acknowledged.lock().unwrap().push((key, answer["id"].as_str().expect("an id").to_string()))
                        }
                        0 | 503 => {
                            unanswered.lock().unwrap().push(key);
                            break;
                        }
                        other => panic!("unexpected {other}: {answer}"),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        s.kill_hard();
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 3, "orders were flowing when killed ({})", acknowledged.len());
    s.restart();
    for key in unanswered.into_inner().unwrap() {
        let (status, answer) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body), Some(&key));
        assert_eq!(status, 201, "retry {key}: {answer}");
    }
    for (key, id) in &acknowledged {
        let (status, again) = s.send("POST", "/v1/orders", Some(STOREFRONT), Some(&body), Some(key));
        assert_eq!((status, again["id"].as_str()), (201, Some(id.as_str())), "{key}: the same order");
    }
    let orders = all_orders(&s);
    let ids: Vec<String> = orders.iter().map(|o| o["id"].as_str().expect("an id").to_string()).collect();
    for (_, id) in &acknowledged {
        assert!(ids.contains(id), "acknowledged {id} survived the kill");
    }
    let settled: Vec<Value> = ids.iter().map(|id| settled(&s, id)).collect();
    for order in &settled {
        assert_eq!((order["status"].as_str(), allocated(order)), (Some("allocated"), 3), "{order}");
    }
    let n = settled.len() as i64;
    // Reservations a crash left uncommitted were released: the ledger holds what orders hold.
    let started = Instant::now();
    loop {
        let (a, b) = (stock(&s, "A"), stock(&s, "B"));
        if (a, b) == ((400, n, 400 - n), (400, 2 * n, 400 - 2 * n)) {
            break;
        }
        let reserved = s.must(s.get("/v1/availability/A", ADMIN))["reserved"].clone();
        assert!(started.elapsed() < SETTLE_TIMEOUT, "{n} orders: A {a:?} B {b:?} (A reserved {reserved})");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Walks an order to shipped, one step at a time, each on the version it saw.
fn ship_order(s: &Stockline, id: &str) -> Value {
    let mut seen = settled(s, id);
    for action in ["release", "pick", "ship"] {
        seen = s.must(step(s, id, action, WAREHOUSE, &seen));
    }
    assert_eq!(seen["status"], "shipped", "{seen}");
    seen
}

/// Orders placed, shipped, backordered, filled by a received purchase order and cancelled
/// through the API: the metrics answer the figures those events imply, worked out by hand.
#[test]
fn the_metrics_answer_the_figures_the_orders_imply() {
    let s = setup();
    supplier_and_rules(&s);
    s.sku("TEE", 0);
    s.sku("SOCK", 0);
    s.receive("TEE", "wh-east", 5);

    // O1: 3 of 3 at once, shipped.
    let o1 = place(&s, &order(&[("TEE", 3)], json!("allow"), 0), "m-1")["id"].as_str().expect("id").to_string();
    ship_order(&s, &o1);
    // O2: 2 of 4 at first (2 left), the other 2 when a purchase order arrives; then shipped.
    let o2 = place(&s, &order(&[("TEE", 4)], json!("allow"), 0), "m-2")["id"].as_str().expect("id").to_string();
    assert_eq!(settled(&s, &o2)["status"], "partially_allocated");
    // O3: 2 socks, none anywhere: backordered, then cancelled.
    let o3 = place(&s, &order(&[("SOCK", 2)], json!("allow"), 0), "m-3")["id"].as_str().expect("id").to_string();
    let waiting = settled(&s, &o3);
    assert_eq!(waiting["status"], "backordered");
    s.must(s.send(
        "POST",
        &format!("/v1/orders/{o3}/cancel"),
        Some(SERVICE),
        Some(&json!({"version": waiting["version"]}).to_string()),
        Some("m-3-cancel"),
    ));
    let po = purchase(&s, "TEE", 10);
    let receipt = json!({"lines": [{"line": 1, "qty": 10, "into": "stock"}]}).to_string();
    let (status, got) =
        s.send("POST", &format!("/v1/purchase-orders/{po}/receipts"), Some(WAREHOUSE), Some(&receipt), Some("m-dock"));
    assert_eq!(status, 201, "{got}");
    let started = Instant::now();
    while settled(&s, &o2)["status"] != "allocated" {
        assert!(started.elapsed() < SETTLE_TIMEOUT, "O2 not filled on receipt");
        std::thread::sleep(Duration::from_millis(200));
    }
    ship_order(&s, &o2);
    // O4: allocated and released, still open.
    let o4 = place(&s, &order(&[("TEE", 1)], json!("allow"), 0), "m-4")["id"].as_str().expect("id").to_string();
    let seen = settled(&s, &o4);
    s.must(step(&s, &o4, "release", WAREHOUSE, &seen));

    let fill = s.must(s.get("/v1/metrics/fill-rate?by=sku", "dev-approver"));
    // First allocation: O1 3/3, O2 2/4, O3 0/2, O4 1/1.
    let first = &fill["first_time"];
    assert_eq!(
        (&first["orders"], &first["orders_filled"], &first["order_fill_rate_pct"]),
        (&json!(4), &json!(2), &json!("50.00")),
        "{fill}"
    );
    assert_eq!(
        (&first["units"], &first["units_filled"], &first["unit_fill_rate_pct"]),
        (&json!(10), &json!(6), &json!("60.00"))
    );
    // Ended: O1 and O2 shipped in full, O3 cancelled with nothing; O4 is still open.
    let ended = &fill["final"];
    assert_eq!(
        (
            &ended["orders"],
            &ended["orders_filled"],
            &ended["line_fill_rate_pct"],
            &ended["units"],
            &ended["units_filled"]
        ),
        (&json!(3), &json!(2), &json!("66.67"), &json!(9), &json!(7)),
        "{fill}"
    );
    let groups: Vec<(&str, &Value, &Value)> = fill["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (g["key"].as_str().expect("key"), &g["first_time"]["unit_fill_rate_pct"], &g["final"]["unit_fill_rate_pct"])
        })
        .collect();
    assert_eq!(groups, vec![("SOCK", &json!("0.00"), &json!("0.00")), ("TEE", &json!("75.00"), &json!("100.00"))]);
    let days = fill["days"].as_array().expect("days");
    assert_eq!(days.len(), 30, "the last 30 days by default, every one listed");
    assert_eq!(days[29]["date"], stockline_tests::today().to_string());
    assert_eq!(days[29]["first_time"]["orders"], 4);
    assert_eq!(fill["previous"]["first_time"]["order_fill_rate_pct"], Value::Null, "nothing before: no rate");

    let cycle = s.must(s.get("/v1/metrics/cycle-time", ADMIN));
    assert_eq!(cycle["shipped"], 2, "{cycle}");
    let p50 = cycle["p50_seconds"].as_i64().expect("a p50");
    let p90 = cycle["p90_seconds"].as_i64().expect("a p90");
    assert!(60 <= p50 && p50 <= p90 && p90 < 3_600, "{cycle}");
    assert_eq!(cycle["backlog"]["orders"], 1, "O4 is open: {cycle}");
    assert_eq!(cycle["backlog"]["by_state"], json!({"released": 1}));
    assert_eq!(cycle["backlog"]["by_age"][0], json!({"band": "under_1_day", "orders": 1}));
    // Both shipped orders left from wh-east, where their stock was.
    let by_location = s.must(s.get("/v1/metrics/cycle-time?by=location", ADMIN));
    let groups: Vec<(&str, &Value)> = by_location["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["key"].as_str().unwrap_or(""), &g["shipped"]))
        .collect();
    assert_eq!(groups, vec![("wh-east", &json!(2))], "{by_location}");

    // No order had a promise: none breached one.
    assert_eq!(
        (&cycle["promised"], &cycle["sla_breaches"], &cycle["sla_breach_pct"]),
        (&json!(0), &json!(0), &Value::Null)
    );

    // Margin: a planned SKU sells its last 2 units (40.00) and is out of stock today, 1 of the
    // window's 30 days: 40.00 over 29 days in stock is 1.38 of lost sales.
    s.sku("CAP", 0);
    s.must(s.put("/v1/skus/CAP/policy", BUYER, &json!({"supplier": "basics-co"})));
    s.receive("CAP", "wh-east", 2);
    let o5 = place(&s, &order(&[("CAP", 2)], json!("allow"), 0), "m-5")["id"].as_str().expect("id").to_string();
    ship_order(&s, &o5);
    let started = Instant::now();
    let margin = loop {
        let margin = s.must(s.get("/v1/metrics/margin?by=sku", BUYER));
        if margin["stockout_days"] == 1 {
            break margin;
        }
        assert!(started.elapsed() < SETTLE_TIMEOUT, "no stockout day reached the margin: {margin}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Shipped: O1 60.00, O2 80.00, O5 40.00, each one parcel from wh-east at 4.10.
    assert_eq!(
        (&margin["orders_shipped"], &margin["orders_split"], &margin["orders_expedited"]),
        (&json!(3), &json!(0), &json!(0)),
        "{margin}"
    );
    assert_eq!(
        margin["currencies"],
        json!([{"currency": "EUR", "price_variance": "0.00", "invoiced": "0.00", "shipping_cost": "12.30",
            "split_shipment_cost": "0.00", "expedite_cost": "0.00", "revenue": "180.00", "lost_sales": "1.38",
            "leak": "1.38"}]),
        "{margin}"
    );
    let cap = &margin["groups"][0];
    assert_eq!(
        (&cap["key"], &cap["stockout_days"], &cap["currencies"][0]["lost_sales"]),
        (&json!("CAP"), &json!(1), &json!("1.38")),
        "{margin}"
    );
    let by_channel = s.must(s.get("/v1/metrics/margin?by=channel", ADMIN));
    assert_eq!(
        (&by_channel["groups"][0]["key"], &by_channel["groups"][0]["currencies"][0]["revenue"]),
        (&json!("web"), &json!("180.00"))
    );
    assert_eq!(by_channel["days"][29]["currencies"][0]["lost_sales"], Value::Null, "not kept by day");
    let (status, refused) = s.get("/v1/metrics/margin?by=location", ADMIN);
    assert_eq!((status, &refused["error"]["details"]["field"]), (400, &json!("by")), "{refused}");

    // Who may read, and bad windows: a clear error each.
    s.expect("GET", "/v1/metrics/fill-rate", Some(STOREFRONT), None, 403, "forbidden");
    s.expect("GET", "/v1/metrics/fill-rate", Some(WAREHOUSE), None, 403, "forbidden");
    s.expect("GET", "/v1/metrics/margin", Some(WAREHOUSE), None, 403, "forbidden");
    s.expect("GET", "/v1/metrics/margin-leaks", Some(ADMIN), None, 404, "not_found");
    for (query, field) in [
        ("from=2026-12-05&to=2026-12-01", "from"),
        ("from=2026-13-01", "from"),
        ("from=2024-01-01&to=2026-01-01", "to"),
        ("by=location", "by"),
        ("color=red", "color"),
    ] {
        let (status, body) = s.get(&format!("/v1/metrics/fill-rate?{query}"), ADMIN);
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
}

/// Alerts of every team in one list: an order promised for tomorrow that waits for stock is an
/// SLA at risk for the warehouse, linked to the order; cancelled, it is gone.
#[test]
fn an_sla_at_risk_is_an_alert_for_its_team_until_it_settles() {
    let s = setup();
    supplier_and_rules(&s);
    s.sku("SOCK", 0);
    assert_eq!(s.must(s.get("/v1/alerts", STOREFRONT))["alerts"], json!([]));
    let promised_by = format!("{}T18:00:00Z", stockline_tests::today() + chrono::Duration::days(1));
    let mut body = order(&[("SOCK", 2)], json!("allow"), 0);
    body["promised_by"] = json!(promised_by);
    let id = place(&s, &body, "sla-1")["id"].as_str().expect("id").to_string();
    assert_eq!(settled(&s, &id)["status"], "backordered");
    let started = Instant::now();
    let alert = loop {
        let alerts = s.must(s.get("/v1/alerts", WAREHOUSE));
        let found =
            alerts["alerts"].as_array().and_then(|list| list.iter().find(|a| a["kind"] == "sla_at_risk")).cloned();
        if let Some(alert) = found {
            break alert;
        }
        assert!(started.elapsed() < SETTLE_TIMEOUT, "no SLA alert: {alerts}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (&alert["owner"], &alert["order"], &alert["sku"], &alert["link"], &alert["supplier"]),
        (&json!("warehouse"), &json!(id), &Value::Null, &json!(format!("/v1/orders/{id}")), &Value::Null),
        "{alert}"
    );
    assert!(alert["message"].as_str().is_some_and(|m| m.contains("units still wait for stock")), "{alert}");
    // The exception behind it is in the warehouse's queue, under the same id.
    let queue = s.must(s.get("/v1/exceptions?team=warehouse&status=open", WAREHOUSE));
    let exception = queue["exceptions"].as_array().and_then(|l| l.iter().find(|e| e["kind"] == "sla_at_risk")).cloned();
    let exception = exception.expect("the exception behind the alert");
    assert_eq!(alert["id"], format!("sla_at_risk:{}", exception["id"].as_str().unwrap_or("")));
    s.expect("GET", "/v1/alerts?limit=0", Some(WAREHOUSE), None, 400, "invalid_request");
    s.expect("GET", "/v1/alerts?kind=sla", Some(WAREHOUSE), None, 400, "invalid_request");

    let seen = settled(&s, &id);
    s.must(s.send(
        "POST",
        &format!("/v1/orders/{id}/cancel"),
        Some(SERVICE),
        Some(&json!({"version": seen["version"]}).to_string()),
        Some("sla-1-cancel"),
    ));
    let started = Instant::now();
    while s.must(s.get("/v1/alerts", BUYER))["alerts"] != json!([]) {
        assert!(started.elapsed() < SETTLE_TIMEOUT, "the cancelled order's alert stays");
        std::thread::sleep(Duration::from_millis(100));
    }
}
