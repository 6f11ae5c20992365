//! Purchase orders over HTTP, in the real worker: approval rules, a draft, submission, approvals
//! under segregation of duties and spend limits, sending, stale versions, the approvals inbox,
//! idempotent writes, bad input, and durability across kill -9.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use stockline_tests::Stockline;

const BUYER: &str = "dev-buyer";
/// An approver with a spend limit of 10,000.
const APPROVER: &str = "dev-approver";
/// An approver with a spend limit of 100,000.
const APPROVER_2: &str = "dev-approver-2";
const ADMIN: &str = "dev-admin";
const WAREHOUSE: &str = "dev-warehouse";
const STOREFRONT: &str = "dev-storefront";
const FINANCE: &str = "dev-finance";

fn rules() -> Value {
    json!({
        "base_currency": "EUR",
        "rates": {"USD": "0.9"},
        "bands": [
            {"up_to": "1000", "approvals": 0, "roles": []},
            {"up_to": "25000", "approvals": 1, "roles": ["approver", "admin"]},
            {"up_to": null, "approvals": 2, "roles": ["approver", "admin"]}
        ]
    })
}

fn order(supplier: &str, qty: i64, price: &str) -> Value {
    let expected_on = (stockline_tests::today() + chrono::Duration::days(7)).to_string();
    json!({
        "supplier": supplier,
        "currency": "EUR",
        "lines": [
            {"sku": "TEE-1", "location": "wh-1", "qty": qty, "unit_price": price, "expected_on": expected_on},
            {"sku": "TEE-2", "location": "wh-1", "qty": 10, "unit_price": "1.00", "expected_on": expected_on}
        ]
    })
}

fn decide(s: &Stockline, id: &str, action: &str, token: &str, version: &Value, comment: &str) -> (u16, Value) {
    s.post(&format!("/v1/purchase-orders/{id}/{action}"), token, &json!({"version": version, "comment": comment}))
}

fn setup() -> Stockline {
    let s = Stockline::start();
    s.location("wh-1", "warehouse", 1);
    for (id, standing) in [("basics-co", "good"), ("watched-co", "watch"), ("blocked-co", "blocked")] {
        let supplier = json!({"name": id, "currency": "EUR", "lead_time_days": 5, "standing": standing});
        // Only an approver or an admin sets a standing other than good.
        s.must(s.put(&format!("/v1/suppliers/{id}"), ADMIN, &supplier));
    }
    s.sku("TEE-1", 0);
    s.sku("TEE-2", 0);
    s
}

#[test]
fn from_draft_through_approvals_to_sent() {
    let mut s = setup();
    // Without rules a draft cannot be submitted; only an admin sets them.
    s.expect("GET", "/v1/approval-rules", Some(BUYER), None, 404, "not_found");
    s.expect("PUT", "/v1/approval-rules", Some(BUYER), Some(&rules().to_string()), 403, "forbidden");
    let stored = s.must(s.put("/v1/approval-rules", ADMIN, &rules()));
    assert_eq!(stored["version"], 1, "{stored}");

    // 1,500 × 10.00 + 10 × 1.00 = 15,010 EUR: one approval, within 10,000? No: dev-approver's
    // limit is 10,000, dev-approver-2's 100,000.
    let (status, draft) = s.post("/v1/purchase-orders", BUYER, &order("basics-co", 1500, "10.00"));
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().expect("an id").to_string();
    assert_eq!((draft["status"].as_str(), draft["version"].as_u64()), (Some("draft"), Some(1)), "{draft}");
    assert_eq!(draft["created_by"], BUYER);
    s.expect(
        "POST",
        "/v1/purchase-orders",
        Some(WAREHOUSE),
        Some(&order("basics-co", 1, "1").to_string()),
        403,
        "forbidden",
    );

    let submitted = s.must(decide(&s, &id, "submit", BUYER, &draft["version"], "for the weekend peak"));
    assert_eq!(submitted["status"], "submitted", "{submitted}");
    assert_eq!(submitted["route"]["approvals"], 1, "{submitted}");
    assert_eq!(submitted["route"]["value_base"], "15010", "{submitted}");

    // The buyer who created and submitted it can never approve it, whatever their role's rights.
    let (status, refused) = decide(&s, &id, "approve", BUYER, &submitted["version"], "");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["details"]["rule"], "segregation_of_duties", "{refused}");
    // Over dev-approver's spend limit.
    let (status, refused) = decide(&s, &id, "approve", APPROVER, &submitted["version"], "");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["details"]["rule"], "spend_limit", "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("10000")), "{refused}");
    // The inboxes: dev-approver-2 sees it, dev-approver does not (and is told one waits on others).
    let inbox = s.must(s.get("/v1/approvals", APPROVER_2));
    assert_eq!(inbox["orders"][0]["id"], id.as_str(), "{inbox}");
    assert_eq!(inbox["spend_limit"], "100000", "{inbox}");
    let other = s.must(s.get("/v1/approvals", APPROVER));
    assert_eq!(
        (other["orders"].as_array().map(Vec::len), other["waiting_on_others"].as_u64()),
        (Some(0), Some(1)),
        "{other}"
    );
    s.expect("GET", "/v1/approvals", Some(WAREHOUSE), None, 403, "forbidden");

    // A stale version is a conflict and changes nothing.
    let (status, stale) = decide(&s, &id, "approve", APPROVER_2, &draft["version"], "");
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"]["code"], "conflict");
    // Sending before approval is refused.
    s.expect(
        "POST",
        &format!("/v1/purchase-orders/{id}/send"),
        Some(BUYER),
        Some(&json!({"version": submitted["version"]}).to_string()),
        409,
        "conflict",
    );

    // Approved once, with a key: the retry answers the same and approves nothing twice.
    let body = json!({"version": submitted["version"], "comment": "ok, peak stock"}).to_string();
    let (status, approved) =
        s.send("POST", &format!("/v1/purchase-orders/{id}/approve"), Some(APPROVER_2), Some(&body), Some("approve-1"));
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved", "{approved}");
    let (status, again) =
        s.send("POST", &format!("/v1/purchase-orders/{id}/approve"), Some(APPROVER_2), Some(&body), Some("approve-1"));
    assert_eq!((status, &again), (200, &approved));
    assert_eq!(approved["approvals"].as_array().map(Vec::len), Some(1));

    // kill -9: the approved order is still there, as it was.
    s.kill_and_restart();
    let mut read = s.must(s.get(&format!("/v1/purchase-orders/{id}"), WAREHOUSE));
    assert_eq!(read["stock_pending"], json!([]), "nothing for stock before it is sent: {read}");
    read.as_object_mut().expect("an order").remove("stock_pending");
    assert_eq!(read.as_object_mut().expect("an order").remove("invoices"), Some(json!([])));
    assert_eq!(read, approved);

    let sent = s.must(decide(&s, &id, "send", BUYER, &read["version"], "emailed"));
    assert_eq!(sent["status"], "sent", "{sent}");
    let actions: Vec<&str> =
        sent["events"].as_array().expect("events").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["create", "submit", "approve", "send"], "{sent}");
    assert_eq!(sent["events"][2]["actor"]["subject"], APPROVER_2);
    assert_eq!(sent["events"][2]["comment"], "ok, peak stock");

    // The list, newest first, filtered by status.
    let small = s.must(s.post("/v1/purchase-orders", BUYER, &order("basics-co", 10, "50.00")));
    let small_id = small["id"].as_str().expect("an id");
    // 510 EUR: no band asks for an approval, so submitting approves it.
    let auto = s.must(decide(&s, small_id, "submit", BUYER, &small["version"], ""));
    assert_eq!(auto["status"], "approved", "{auto}");
    let list = s.must(s.get("/v1/purchase-orders", BUYER));
    let ids: Vec<&str> = list["orders"].as_array().expect("orders").iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, [small_id, id.as_str()], "{list}");
    assert_eq!(list["orders"][1]["value"], "15010");
    let sent_only = s.must(s.get("/v1/purchase-orders?status=sent", BUYER));
    assert_eq!(sent_only["orders"].as_array().map(Vec::len), Some(1), "{sent_only}");
    let page = s.must(s.get("/v1/purchase-orders?limit=1", BUYER));
    assert_eq!(page["next_cursor"], small_id, "{page}");
    let next = s.must(s.get(&format!("/v1/purchase-orders?limit=1&cursor={small_id}"), BUYER));
    assert_eq!((next["orders"][0]["id"].as_str(), &next["next_cursor"]), (Some(id.as_str()), &Value::Null), "{next}");
    s.expect("GET", "/v1/purchase-orders", Some(STOREFRONT), None, 403, "forbidden");
}

#[test]
fn stricter_paths_and_refusals() {
    let s = setup();
    s.must(s.put("/v1/approval-rules", ADMIN, &rules()));
    // The buyer cannot lift the block; keeping the standing while changing the lead time is fine.
    let unblock = json!({"name": "blocked-co", "currency": "EUR", "lead_time_days": 5, "standing": "good"});
    let (status, refused) = s.put("/v1/suppliers/blocked-co", BUYER, &unblock);
    assert_eq!((status, refused["error"]["details"]["rule"].as_str()), (403, Some("supplier_standing")), "{refused}");
    let kept = s.must(s.put(
        "/v1/suppliers/blocked-co",
        BUYER,
        &json!({"name": "blocked-co", "currency": "EUR", "lead_time_days": 9}),
    ));
    assert_eq!(kept["standing"], "blocked", "{kept}");
    // An order names SKUs that exist: one for an unknown SKU is refused whole, nothing created.
    let before = s.must(s.get("/v1/purchase-orders", BUYER));
    let mut unknown = order("basics-co", 1, "1.00");
    unknown["lines"][1]["sku"] = json!("NOPE-1");
    let (status, refused) = s.post("/v1/purchase-orders", BUYER, &unknown);
    assert_eq!((status, refused["error"]["code"].as_str()), (404, Some("not_found")), "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("NOPE-1")), "{refused}");
    assert_eq!(s.must(s.get("/v1/purchase-orders", BUYER)), before);
    // A blocked supplier takes no new orders.
    let (status, blocked) = s.post("/v1/purchase-orders", BUYER, &order("blocked-co", 1, "1.00"));
    assert_eq!(status, 403, "{blocked}");
    assert_eq!(blocked["error"]["details"]["rule"], "supplier_blocked", "{blocked}");
    // A supplier on watch: 110 EUR needs no band approval but one by an admin.
    let draft = s.must(s.post("/v1/purchase-orders", BUYER, &order("watched-co", 10, "10.00")));
    let id = draft["id"].as_str().expect("an id");
    let submitted = s.must(decide(&s, id, "submit", BUYER, &draft["version"], ""));
    assert_eq!(
        (submitted["status"].as_str(), submitted["route"]["strict_approvals"].as_u64()),
        (Some("submitted"), Some(1))
    );
    let (status, refused) = decide(&s, id, "approve", APPROVER_2, &submitted["version"], "");
    assert_eq!((status, refused["error"]["details"]["rule"].as_str()), (403, Some("approver_role")), "{refused}");
    // Rejecting needs a reason.
    s.expect(
        "POST",
        &format!("/v1/purchase-orders/{id}/reject"),
        Some(ADMIN),
        Some(&json!({"version": submitted["version"]}).to_string()),
        400,
        "invalid_request",
    );
    let rejected = s.must(decide(&s, id, "reject", ADMIN, &submitted["version"], "supplier under review"));
    assert_eq!(rejected["status"], "rejected", "{rejected}");

    // A critical SKU on a good supplier's order: the same stricter path, saying why.
    s.must(s.put("/v1/skus/TEE-2", ADMIN, &json!({"name": "Tee 2", "safety_stock": 0, "critical": true})));
    let items = s.must(s.get("/v1/skus?q=tee-2", BUYER));
    assert_eq!(items["items"][0]["critical"], true, "{items}");
    let draft = s.must(s.post("/v1/purchase-orders", BUYER, &order("basics-co", 10, "10.00")));
    let id = draft["id"].as_str().expect("an id");
    let submitted = s.must(decide(&s, id, "submit", BUYER, &draft["version"], ""));
    assert_eq!(
        (submitted["status"].as_str(), submitted["route"]["strict_approvals"].as_u64()),
        (Some("submitted"), Some(1))
    );
    assert!(submitted["route"]["reasons"].to_string().contains("critical SKU TEE-2"), "{submitted}");
    s.must(s.put("/v1/skus/TEE-2", ADMIN, &json!({"name": "Tee 2", "safety_stock": 0})));
    let plain = s.must(s.post("/v1/purchase-orders", BUYER, &order("basics-co", 10, "10.00")));
    let plain_id = plain["id"].as_str().expect("an id");
    let approved = s.must(decide(&s, plain_id, "submit", BUYER, &plain["version"], ""));
    assert_eq!(approved["status"], "approved", "no longer critical: {approved}");

    // Bad input: refused in the contract's format, nothing created.
    let before = s.must(s.get("/v1/purchase-orders", BUYER));
    for bad in [
        json!({"supplier": "basics-co", "currency": "EUR", "lines": []}),
        json!({"supplier": "nobody", "currency": "EUR", "lines": order("basics-co", 1, "1")["lines"]}),
        order("basics-co", 0, "1.00"),
        order("basics-co", 1, "-1.00"),
        order("basics-co", 1, "1.0.0"),
        json!({"supplier": "basics-co", "currency": "EUR", "lines": order("basics-co", 1, "1")["lines"], "extra": 1}),
    ] {
        let (status, answer) = s.post("/v1/purchase-orders", BUYER, &bad);
        assert!(matches!(status, 400 | 404), "{bad} → {status} {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    s.expect("POST", "/v1/purchase-orders/PO-000001/ship", Some(BUYER), Some("{}"), 404, "not_found");
    s.expect("GET", "/v1/purchase-orders/PO-999999", Some(BUYER), None, 404, "not_found");
    s.expect("GET", "/v1/purchase-orders?status=lost", Some(BUYER), None, 400, "invalid_request");
    s.expect("GET", "/v1/purchase-orders?cursor=PO-424242", Some(BUYER), None, 400, "invalid_request");
    s.expect(
        "PUT",
        "/v1/approval-rules",
        Some(ADMIN),
        Some(&json!({"base_currency": "EUR", "bands": []}).to_string()),
        400,
        "invalid_request",
    );
    assert_eq!(s.must(s.get("/v1/purchase-orders", BUYER)), before);
}

/// Replenishment → a draft in one call: the supplier's suggestions at their planned quantities
/// (MOQ and packs kept), at the SKU's unit cost; a SKU without a cost is named, not guessed.
#[test]
fn a_draft_from_the_suppliers_suggestions() {
    let s = setup();
    let today = stockline_tests::today();
    let days: Vec<Value> =
        (2..60).map(|back| json!({"date": (today - chrono::Duration::days(back)).to_string(), "qty": 10})).collect();
    for (sku, cost) in [("TEE-1", Some("2.50")), ("TEE-2", None)] {
        let mut spec = json!({"name": sku, "safety_stock": 0});
        if let Some(cost) = cost {
            spec["unit_cost"] = json!(cost);
        }
        s.must(s.put(&format!("/v1/skus/{sku}"), ADMIN, &spec));
        s.must(s.post(&format!("/v1/skus/{sku}/demand-history"), BUYER, &json!({"days": days})));
        s.must(s.put(
            &format!("/v1/skus/{sku}/policy"),
            BUYER,
            &json!({"supplier": "basics-co", "moq": 100, "pack_multiple": 12}),
        ));
    }
    // Plans are refreshed off the hot path: wait for both on the list.
    let mut listed = 0;
    for _ in 0..150 {
        let list = s.must(s.get("/v1/replenishment?supplier=basics-co", BUYER));
        listed =
            list["groups"].as_array().map_or(0, |g| g.iter().map(|g| g["lines"].as_array().map_or(0, Vec::len)).sum());
        if listed == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(listed, 2, "both SKUs on the list");
    let plan = s.must(s.get("/v1/skus/TEE-1/plan", BUYER));
    let suggested = plan["suggestion"]["qty"].as_i64().expect("a suggestion");
    assert!(suggested >= 100 && suggested % 12 == 0, "{plan}");

    let request = json!({"supplier": "basics-co", "location": "wh-1"});
    let (status, draft) = s.send(
        "POST",
        "/v1/purchase-orders/from-suggestions",
        Some(BUYER),
        Some(&request.to_string()),
        Some("draft-1"),
    );
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    let lines = draft["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{draft}");
    assert_eq!(
        (lines[0]["sku"].as_str(), lines[0]["qty"].as_i64(), lines[0]["unit_price"].as_str()),
        (Some("TEE-1"), Some(suggested), Some("2.5"))
    );
    assert_eq!(lines[0]["expected_on"], (today + chrono::Duration::days(5)).to_string());
    assert_eq!(draft["skipped"][0]["sku"], "TEE-2", "{draft}");
    // The retry with the key answers the same draft; no second order.
    let (_, again) = s.send(
        "POST",
        "/v1/purchase-orders/from-suggestions",
        Some(BUYER),
        Some(&request.to_string()),
        Some("draft-1"),
    );
    assert_eq!(again, draft);
    assert_eq!(s.must(s.get("/v1/purchase-orders", BUYER))["orders"].as_array().map(Vec::len), Some(1));
    let nothing = json!({"supplier": "watched-co", "location": "wh-1"});
    s.expect("POST", "/v1/purchase-orders/from-suggestions", Some(BUYER), Some(&nothing.to_string()), 409, "conflict");
    s.expect(
        "POST",
        "/v1/purchase-orders/from-suggestions",
        Some(APPROVER),
        Some(&request.to_string()),
        403,
        "forbidden",
    );
}

/// The position of `sku` at wh-1 (on_hand, quarantined, inbound).
fn position(s: &Stockline, sku: &str) -> (i64, i64, i64) {
    let body = s.must(s.get(&format!("/v1/availability/{sku}"), ADMIN));
    let at = body["locations"].as_array().and_then(|l| l.iter().find(|l| l["location"] == "wh-1")).cloned();
    let at = at.unwrap_or(json!({}));
    let n = |field: &str| at[field].as_i64().unwrap_or(0);
    (n("on_hand"), n("quarantined"), n("inbound"))
}

/// The SKU's moving-average unit cost, as its latest `cost_revalued` entry set it.
fn unit_cost(s: &Stockline, sku: &str) -> f64 {
    let entries = s.must(s.get(&format!("/v1/skus/{sku}/entries?after_version=0&limit=1000"), ADMIN));
    let last =
        entries["entries"].as_array().expect("entries").iter().rev().find(|e| e["event"]["type"] == "cost_revalued");
    let cost =
        last.and_then(|e| e["event"]["unit_cost"].as_str()).unwrap_or_else(|| panic!("{sku}: no cost: {entries}"));
    cost.parse().expect("money")
}

/// Waits until the order's changes to stock have all applied (the alarm retries the rest).
fn settled(s: &Stockline, id: &str) -> Value {
    for _ in 0..200 {
        let order = s.must(s.get(&format!("/v1/purchase-orders/{id}"), BUYER));
        if order["stock_pending"] == json!([]) {
            return order;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{id}: stock changes still pending after 20 s");
}

/// `GET /v1/deliveries?location=`: (order, each line's open qty).
fn deliveries(s: &Stockline, location: &str) -> Vec<(String, Vec<i64>)> {
    let list = s.must(s.get(&format!("/v1/deliveries?location={location}"), WAREHOUSE));
    assert_eq!((&list["location"], &list["more"]), (&json!(location), &json!(false)), "{list}");
    let open = |line: &Value| {
        let n = |field: &str| line[field].as_i64().expect("a number");
        n("qty") - n("received") - n("cancelled")
    };
    let orders = list["orders"].as_array().expect("orders").iter();
    orders
        .map(|o| {
            (
                o["id"].as_str().expect("an id").to_string(),
                o["lines"].as_array().expect("lines").iter().map(open).collect(),
            )
        })
        .collect()
}

fn receipt(lines: &[(u32, i64, &str)]) -> Value {
    let lines: Vec<Value> =
        lines.iter().map(|(line, qty, into)| json!({"line": line, "qty": qty, "into": into})).collect();
    json!({"lines": lines})
}

/// A sent order's open lines are inbound with their dates; receipts move stock at once, exactly
/// once, and over-receipt past the tolerance is refused with nothing changed.
#[test]
fn sent_orders_are_inbound_and_receipts_move_stock_once() {
    let s = setup();
    s.must(s.put("/v1/approval-rules", ADMIN, &rules()));
    s.sku("TEE-1", 0);
    s.sku("TEE-2", 0);
    // 100 × 5.00 + 10 × 1.00 = 510 EUR: no approval needed.
    let draft = s.must(s.post("/v1/purchase-orders", BUYER, &order("basics-co", 100, "5.00")));
    let id = draft["id"].as_str().expect("an id").to_string();
    let approved = s.must(decide(&s, &id, "submit", BUYER, &draft["version"], ""));
    assert_eq!(approved["status"], "approved", "{approved}");
    // Approved is not inbound yet: the supplier has not been asked.
    assert_eq!(position(&s, "TEE-1"), (0, 0, 0));
    let path = format!("/v1/purchase-orders/{id}/receipts");
    let early = receipt(&[(1, 1, "stock")]).to_string();
    assert_eq!(deliveries(&s, "wh-1"), Vec::<(String, Vec<i64>)>::new(), "an approved order is not on its way");
    let (status, refused) = s.send("POST", &path, Some(WAREHOUSE), Some(&early), Some("too-early"));
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("conflict")), "{refused}");

    let sent = s.must(decide(&s, &id, "send", BUYER, &approved["version"], "emailed"));
    assert_eq!(sent["status"], "sent");
    settled(&s, &id);
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((0, 0, 100), (0, 0, 10)));
    // The dock sees it coming, in full; another location does not. A dock must be named.
    assert_eq!(deliveries(&s, "wh-1"), vec![(id.clone(), vec![100, 10])]);
    assert_eq!(deliveries(&s, "wh-9"), Vec::<(String, Vec<i64>)>::new());
    s.expect("GET", "/v1/deliveries", Some(WAREHOUSE), None, 400, "invalid_request");
    s.expect("GET", "/v1/deliveries?location=wh-1&x=1", Some(WAREHOUSE), None, 400, "invalid_request");
    s.expect("GET", "/v1/deliveries?location=wh-1", Some(STOREFRONT), None, 403, "forbidden");
    s.expect("POST", "/v1/deliveries?location=wh-1", Some(WAREHOUSE), Some("{}"), 405, "method_not_allowed");
    // The expectation carries the line's date (the plan counts it from then).
    let entries = s.must(s.get("/v1/skus/TEE-1/entries?after_version=0", ADMIN));
    let expected_on = (stockline_tests::today() + chrono::Duration::days(7)).to_string();
    let inbound =
        entries["entries"].as_array().expect("entries").iter().find(|e| e["event"]["type"] == "inbound_expected");
    let inbound = inbound.expect("an inbound_expected entry").clone();
    assert_eq!((&inbound["event"]["reference"], &inbound["event"]["qty"]), (&json!(id), &json!(100)), "{inbound}");
    assert_eq!(inbound["event"]["expected_on"], expected_on.as_str(), "{inbound}");

    // A receipt needs a key: it must apply exactly once.
    let partial = receipt(&[(1, 40, "stock"), (2, 3, "quarantine")]);
    s.expect("POST", &path, Some(WAREHOUSE), Some(&partial.to_string()), 400, "invalid_request");
    s.expect("POST", &path, Some(BUYER), Some(&partial.to_string()), 403, "forbidden");
    let (status, got) = s.send("POST", &path, Some(WAREHOUSE), Some(&partial.to_string()), Some("dock-7"));
    assert_eq!(status, 201, "{got}");
    assert_eq!((got["status"].as_str(), &got["stock_pending"]), (Some("partially_received"), &json!([])), "{got}");
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((40, 0, 60), (3, 3, 7)));
    assert_eq!(deliveries(&s, "wh-1"), vec![(id.clone(), vec![60, 7])], "what is still open");
    // A storefront asking for 120 hears "40 now, 60 by the order's date", 20 without a date.
    let today = stockline_tests::today().to_string();
    let promised = s.must(s.get("/v1/availability/TEE-1?qty=120", STOREFRONT));
    assert_eq!(
        promised["promise"],
        json!({"slices": [{"qty": 40, "available_on": today}, {"qty": 60, "available_on": expected_on}], "unpromised": 20}),
        "{promised}"
    );
    let promised = s.must(s.get("/v1/availability/TEE-1?qty=30", STOREFRONT));
    assert_eq!(promised["promise"], json!({"slices": [{"qty": 30, "available_on": today}], "unpromised": 0}));
    assert!(s.must(s.get("/v1/availability/TEE-1", STOREFRONT)).get("promise").is_none(), "only when asked");
    for bad in ["0", "-1", "1.5", "x", "", "1000000001", "99999999999999999999"] {
        s.expect("GET", &format!("/v1/availability/TEE-1?qty={bad}"), Some(STOREFRONT), None, 400, "invalid_request");
    }
    // The same key again: the same receipt, nothing applied twice.
    let (status, again) = s.send("POST", &path, Some(WAREHOUSE), Some(&partial.to_string()), Some("dock-7"));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["receipts"].as_array().map(Vec::len), Some(1), "{again}");
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((40, 0, 60), (3, 3, 7)));
    // The same key with other lines is refused.
    let (status, other) =
        s.send("POST", &path, Some(WAREHOUSE), Some(&receipt(&[(1, 1, "stock")]).to_string()), Some("dock-7"));
    assert_eq!((status, other["error"]["code"].as_str()), (422, Some("idempotency_mismatch")), "{other}");

    // Over the 10% tolerance: refused whole, nothing changed. Bad lines too.
    let before = s.must(s.get(&format!("/v1/purchase-orders/{id}"), BUYER));
    let over = receipt(&[(1, 60, "stock"), (2, 12, "stock")]);
    let (status, refused) = s.send("POST", &path, Some(WAREHOUSE), Some(&over.to_string()), Some("dock-8"));
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("conflict")), "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("tolerance")), "{refused}");
    for (bad, field) in [
        (receipt(&[(9, 1, "stock")]), "lines[0]"),
        (receipt(&[(1, 0, "stock")]), "lines[0].qty"),
        (json!({"lines": []}), "lines"),
    ] {
        let (status, answer) = s.send("POST", &path, Some(WAREHOUSE), Some(&bad.to_string()), Some("dock-bad"));
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{bad}: {answer}");
    }
    s.expect("POST", &path, Some(WAREHOUSE), Some("{\"lines\": 3}"), 400, "invalid_request");
    assert_eq!(s.must(s.get(&format!("/v1/purchase-orders/{id}"), BUYER)), before);
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((40, 0, 60), (3, 3, 7)));

    // The rest, line 1 five over (within 10%): received; inbound settles to 0, not below.
    let rest = receipt(&[(1, 65, "stock"), (2, 7, "stock")]);
    let (status, received) = s.send("POST", &path, Some(WAREHOUSE), Some(&rest.to_string()), Some("dock-9"));
    assert_eq!((status, received["status"].as_str()), (201, Some("received")), "{received}");
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((105, 0, 0), (10, 3, 0)));
    assert_eq!(deliveries(&s, "wh-1"), Vec::<(String, Vec<i64>)>::new(), "nothing left to wait for");

    // The supplier's invoice: line 1 at 5.50 against 5.00 ordered is over the 2% tolerance.
    let invoices = format!("/v1/purchase-orders/{id}/invoices");
    let invoice = |price: &str, replaces: Option<&str>| {
        json!({
            "number": "SUP-881",
            "lines": [{"line": 1, "qty": 105, "unit_price": price}, {"line": 2, "qty": 10, "unit_price": "1.00"}],
            "freight": "25.00",
            "spread_by": "quantity",
            "replaces": replaces
        })
    };
    s.expect("POST", &invoices, Some(BUYER), Some(&invoice("5.50", None).to_string()), 403, "forbidden");
    let first = s.must(s.post(&invoices, FINANCE, &invoice("5.50", None)));
    assert_eq!((first["id"].as_str(), first["status"].as_str()), (Some("INV-1"), Some("exception")), "{first}");
    let reasons = first["lines"][0]["reasons"].to_string();
    assert!(reasons.contains("price 5.50 against 5.00 ordered"), "{first}");
    assert_eq!(first["lines"][1]["status"], "matched", "{first}");
    // While it is an exception the order cannot close.
    let (status, refused) = decide(&s, &id, "close", BUYER, &received["version"], "done");
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("conflict")), "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("INV-1")), "{refused}");
    // The same number again, not said to correct it: refused. Bad invoices change nothing.
    s.expect("POST", &invoices, Some(FINANCE), Some(&invoice("5.00", None).to_string()), 409, "conflict");
    s.expect("POST", &invoices, Some(FINANCE), Some(&invoice("5.00", Some("INV-9")).to_string()), 404, "not_found");
    for (bad, field) in [
        (json!({"number": "X", "lines": [{"line": 7, "qty": 1, "unit_price": "1"}]}), "lines[0]"),
        (json!({"number": "X", "lines": [{"line": 1, "qty": 1, "unit_price": "-1"}]}), "lines[0].unit_price"),
        (json!({"number": "X", "lines": [{"line": 1, "qty": 1, "unit_price": "1"}], "freight": "-5"}), "freight"),
    ] {
        let (status, answer) = s.post(&invoices, FINANCE, &bad);
        assert_eq!((status, answer["error"]["details"]["field"].as_str()), (400, Some(field)), "{bad}: {answer}");
    }
    // The corrected invoice matches; freight 25 spread by quantity over 115 units.
    let second = s.must(s.post(&invoices, FINANCE, &invoice("5.00", Some("INV-1"))));
    assert_eq!((second["id"].as_str(), second["status"].as_str()), (Some("INV-2"), Some("matched")), "{second}");
    assert_eq!(second["lines"][0]["landed_extra"], "22.83", "{second}");
    assert_eq!(second["lines"][1]["landed_extra"], "2.17", "{second}");
    let read = settled(&s, &id);
    assert_eq!(read["invoices"][0]["replaced_by"], "INV-2", "{read}");
    // Receipts set the moving-average cost at the order's price; the matched invoice's landed
    // cost (22.83 / 105 a unit on TEE-1, 2.17 / 10 on TEE-2) trues it up on the units still here.
    assert_eq!((unit_cost(&s, "TEE-1"), unit_cost(&s, "TEE-2")), (5.217429, 1.217));
    let closed = s.must(decide(&s, &id, "close", BUYER, &received["version"], "done"));
    assert_eq!(closed["status"], "closed");

    // Cancelling a partly received order withdraws only its open remainder from inbound.
    let second = s.must(s.post("/v1/purchase-orders", BUYER, &order("basics-co", 20, "5.00")));
    let second_id = second["id"].as_str().expect("an id").to_string();
    let second = s.must(decide(&s, &second_id, "submit", BUYER, &second["version"], ""));
    s.must(decide(&s, &second_id, "send", BUYER, &second["version"], ""));
    let got = s.must(s.send(
        "POST",
        &format!("/v1/purchase-orders/{second_id}/receipts"),
        Some(WAREHOUSE),
        Some(&receipt(&[(1, 5, "stock")]).to_string()),
        Some("dock-10"),
    ));
    assert_eq!(position(&s, "TEE-1"), (110, 0, 15));
    let cancelled = s.must(decide(&s, &second_id, "cancel", BUYER, &got["version"], "supplier out"));
    assert_eq!(cancelled["status"], "cancelled");
    settled(&s, &second_id);
    assert_eq!((position(&s, "TEE-1"), position(&s, "TEE-2")), ((110, 0, 0), (10, 3, 0)));

    // The supplier's scorecard from both orders: 5 receipt lines, all today (lead time 0 days),
    // 3 of 120 received into quarantine, invoiced at the ordered prices.
    let card = s.must(s.get("/v1/suppliers/basics-co/scorecard", BUYER));
    assert_eq!((card["orders"].as_u64(), card["lead_time_samples"].as_u64()), (Some(2), Some(5)), "{card}");
    assert_eq!(card["lead_time_days_mean"], 0.0, "{card}");
    let pct = |field: &str| card[field].as_str().and_then(|text| text.parse::<f64>().ok());
    assert_eq!((pct("qc_reject_pct"), pct("price_variance_pct")), (Some(2.5), Some(0.0)), "{card}");
    s.expect("GET", "/v1/suppliers/nobody/scorecard", Some(BUYER), None, 404, "not_found");
    s.expect("GET", "/v1/suppliers/basics-co/scorecard", Some(STOREFRONT), None, 403, "forbidden");

    // The same history in the supplier metrics, kept as the orders changed. Judged today: order
    // 1's two lines (in full, 105 capped at the 100 wanted) and order 2's line 1 (20 less 15
    // cancelled, 5 received); its line 2 was cancelled whole and is never judged. The first
    // invoice's 5.50 counted until the correction replaced it: no variance left.
    let metrics = s.must(s.get("/v1/metrics/suppliers?by=supplier", BUYER));
    let figures = |f: &Value| {
        json!([
            f["lines_due"],
            f["lines_on_time_in_full"],
            f["on_time_in_full_pct"],
            f["units_due"],
            f["units_received"],
            f["fill_rate_pct"],
            f["lead_time_samples"],
            f["lead_time_days_mean"],
            f["lead_time_days_std"],
            f["received"],
            f["quarantined"],
            f["qc_reject_pct"],
            f["invoice_lines"],
            f["price_variance_pct"]
        ])
    };
    let expected = json!([3, 3, "100.00", 115, 115, "100.00", 5, 0.0, 0.0, 120, 3, "2.50", 2, "0.00"]);
    assert_eq!(figures(&metrics), expected, "{metrics}");
    assert_eq!(
        metrics["price_variance_by_currency"],
        json!([{"currency": "EUR", "invoice_lines": 2, "price_variance_pct": "0.00"}]),
        "one currency: its figure is the whole figure"
    );
    assert_eq!(metrics["groups"][0]["key"], "basics-co", "{metrics}");
    assert_eq!(figures(&metrics["groups"][0]), expected, "{metrics}");
    assert_eq!(metrics["groups"].as_array().map(Vec::len), Some(1), "{metrics}");
    assert_eq!(
        (metrics["previous"]["lines_due"].as_i64(), metrics["lead_time_drift"].as_bool()),
        (Some(0), Some(false))
    );
    let today = stockline_tests::today().to_string();
    let days = metrics["days"].as_array().expect("days");
    assert_eq!((days.len(), days[29]["date"].as_str()), (30, Some(today.as_str())), "{metrics}");
    assert_eq!(figures(&days[29]), expected, "all of it today: {metrics}");
    let by_location = s.must(s.get("/v1/metrics/suppliers?by=location", ADMIN));
    assert_eq!(by_location["groups"][0]["key"], "wh-1", "{by_location}");
    let by_sku = s.must(s.get("/v1/metrics/suppliers?by=sku", APPROVER));
    let skus: Vec<(&str, i64)> = by_sku["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["key"].as_str().unwrap_or(""), g["quarantined"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(skus, [("TEE-1", 0), ("TEE-2", 3)], "{by_sku}");
    // Suppliers are not kept by channel; bad windows and callers change nothing.
    let (status, refused) = s.get("/v1/metrics/suppliers?by=channel", BUYER);
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        refused["error"]["message"].as_str(),
        Some("by: suppliers breaks down by sku, location, supplier, not channel"),
        "{refused}"
    );
    s.expect("GET", "/v1/metrics/suppliers?from=2026-01-01&to=2025-01-01", Some(BUYER), None, 400, "invalid_request");
    s.expect("GET", "/v1/metrics/suppliers", Some(WAREHOUSE), None, 403, "forbidden");
    s.expect("GET", "/v1/metrics/suppliers", Some(STOREFRONT), None, 403, "forbidden");
    s.expect("POST", "/v1/metrics/suppliers", Some(BUYER), Some("{}"), 405, "method_not_allowed");
    assert_eq!(figures(&s.must(s.get("/v1/metrics/suppliers", BUYER))), expected, "read again, the same");

    // Enough receipts: planning plans with the measured lead time instead of the declared 5 days.
    // The alarm pushes it a few seconds after the first receipt (not once per receipt).
    let mut measured = Value::Null;
    for _ in 0..200 {
        let suppliers = s.must(s.get("/v1/suppliers", BUYER));
        let basics = suppliers["suppliers"].as_array().and_then(|l| l.iter().find(|x| x["supplier"] == "basics-co"));
        measured = basics.map_or(Value::Null, |b| b["measured_lead_time"].clone());
        if measured["source"] == "5 receipts" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        (measured["mean_days"].as_f64(), measured["source"].as_str()),
        (Some(0.0), Some("5 receipts")),
        "{measured}"
    );
}

/// kill -9 while receipts stream in: after a restart (and the client's retry of what was not
/// acknowledged) every receipt the order took is on the SKU ledgers exactly once, and every
/// acknowledged receipt was taken.
#[test]
fn kill_during_receipts_loses_nothing_and_applies_nothing_twice() {
    const SKUS: usize = 30;
    let mut s = setup();
    s.must(s.put("/v1/approval-rules", ADMIN, &rules()));
    let expected_on = (stockline_tests::today() + chrono::Duration::days(3)).to_string();
    let mut lines = Vec::new();
    for n in 0..SKUS {
        s.sku(&format!("K-{n}"), 0);
        lines.push(json!({"sku": format!("K-{n}"), "location": "wh-1", "qty": 1000, "unit_price": "0.01", "expected_on": expected_on}));
    }
    let draft = s.must(s.post(
        "/v1/purchase-orders",
        BUYER,
        &json!({"supplier": "basics-co", "currency": "EUR", "lines": lines}),
    ));
    let id = draft["id"].as_str().expect("an id").to_string();
    let approved = s.must(decide(&s, &id, "submit", BUYER, &draft["version"], ""));
    s.must(decide(&s, &id, "send", BUYER, &approved["version"], ""));
    settled(&s, &id);
    let path = format!("/v1/purchase-orders/{id}/receipts");
    let every_line: Vec<(u32, i64, &str)> = (1..=SKUS as u32).map(|line| (line, 1, "stock")).collect();
    let body = receipt(&every_line).to_string();

    let acknowledged = Mutex::new(Vec::<String>::new());
    let unanswered = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("r-{n}");
                let (status, answer) = s.send("POST", &path, Some(WAREHOUSE), Some(&body), Some(&key));
                match status {
                    201 => acknowledged.lock().unwrap().push(key),
                    0 => {
                        unanswered.lock().unwrap().push(key);
                        break;
                    }
                    other => panic!("unexpected {other}: {answer}"),
                }
            }
        });
        std::thread::sleep(Duration::from_millis(1200));
        s.kill_hard();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 3, "receipts were flowing when killed ({})", acknowledged.len());
    s.restart();
    // Changes the order took before the kill reach the SKUs by the alarm alone.
    let pending = s.must(s.get(&format!("/v1/purchase-orders/{id}"), BUYER))["stock_pending"].clone();
    eprintln!("after the restart: {} acknowledged, pending {pending}", acknowledged.len());
    settled(&s, &id);
    // The client retries what got no answer, with the same key.
    for key in unanswered.into_inner().unwrap() {
        let (status, answer) = s.send("POST", &path, Some(WAREHOUSE), Some(&body), Some(&key));
        assert!(status == 200 || status == 201, "retry {key}: {status} {answer}");
    }
    let order = settled(&s, &id);
    let taken = order["receipts"].as_array().expect("receipts").len() as i64;
    assert!(taken >= acknowledged.len() as i64, "every acknowledged receipt was taken: {taken}");
    for n in 0..SKUS {
        let sku = format!("K-{n}");
        assert_eq!(position(&s, &sku), (taken, 0, 1000 - taken), "{sku}: each receipt once");
        assert_eq!(order["lines"][n]["received"], taken);
    }
    // Replaying every acknowledged key applies nothing more.
    for key in &acknowledged {
        let (status, _) = s.send("POST", &path, Some(WAREHOUSE), Some(&body), Some(key));
        assert_eq!(status, 200, "{key}");
    }
    assert_eq!(position(&s, "K-0"), (taken, 0, 1000 - taken));
}
