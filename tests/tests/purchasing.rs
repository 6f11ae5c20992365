//! Purchase orders over HTTP, in the real worker: approval rules, a draft, submission, approvals
//! under segregation of duties and spend limits, sending, stale versions, the approvals inbox,
//! idempotent writes, bad input, and durability across kill -9.

use serde_json::{json, Value};
use stockline_tests::Stockline;

const BUYER: &str = "dev-buyer";
/// An approver with a spend limit of 10,000.
const APPROVER: &str = "dev-approver";
/// An approver with a spend limit of 100,000.
const APPROVER_2: &str = "dev-approver-2";
const ADMIN: &str = "dev-admin";
const WAREHOUSE: &str = "dev-warehouse";
const STOREFRONT: &str = "dev-storefront";

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
    let read = s.must(s.get(&format!("/v1/purchase-orders/{id}"), WAREHOUSE));
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
