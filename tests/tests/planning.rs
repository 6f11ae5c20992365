//! Replenishment planning over HTTP: suppliers, policies, demand history (imported and kept from
//! commits), the plan, the replenishment list and the alerts, in the real worker.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use stockline_tests::Stockline;

const BUYER: &str = "dev-buyer";
const WAREHOUSE: &str = "dev-warehouse";
const STOREFRONT: &str = "dev-storefront";

/// Two years of a weekly shape (weekends busy), ending the day before yesterday, so a test
/// running across midnight never names a day the server calls the future or too old.
fn weekly_history(today: NaiveDate) -> Vec<Value> {
    let shape = [20, 22, 25, 24, 40, 60, 15];
    let mut noise: u64 = 0x9E37_79B9_7F4A_7C15;
    (2..=728)
        .rev()
        .map(|back| {
            let date = today - Duration::days(back);
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let weekday = chrono::Datelike::weekday(&date).num_days_from_monday() as usize;
            let qty = shape[weekday] + (noise % 7) as i64 - 3;
            json!({"date": date.to_string(), "qty": qty})
        })
        .collect()
}

/// The predicted stockouts among `/v1/alerts`' answer.
fn stockouts(alerts: &Value) -> Vec<Value> {
    let all = alerts["alerts"].as_array().expect("alerts");
    all.iter().filter(|a| a["kind"] == "predicted_stockout").cloned().collect()
}

fn plan(s: &Stockline, sku: &str) -> Value {
    s.must(s.get(&format!("/v1/skus/{sku}/plan"), WAREHOUSE))
}

/// Waits (up to 30 s) for the replenishment list, refreshed from alarms, to satisfy `ready`.
fn wait_for_list(s: &Stockline, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..150 {
        let list = s.must(s.get(&format!("/v1/replenishment{query}"), BUYER));
        if ready(&list) {
            return list;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the replenishment list never got there: {}", s.must(s.get("/v1/replenishment", BUYER)));
}

#[test]
fn import_history_set_policy_and_read_the_plan() {
    let mut s = Stockline::start();
    let today = stockline_tests::today();
    s.location("wh-1", "warehouse", 1);
    s.location("wh-2", "warehouse", 2);
    let supplier = json!({"name": "Acme Supply", "currency": "EUR", "lead_time_days": 4, "lead_time_std_days": 1});
    let answer = s.must(s.put("/v1/suppliers/acme", BUYER, &supplier));
    assert_eq!((answer["supplier"].as_str(), answer["lead_time_days"].as_f64()), (Some("acme"), Some(4.0)), "{answer}");
    s.expect("PUT", "/v1/suppliers/acme", Some(WAREHOUSE), Some(&supplier.to_string()), 403, "forbidden");
    let bad_currency = json!({"name": "X", "currency": "euro", "lead_time_days": 4});
    s.expect("PUT", "/v1/suppliers/x", Some(BUYER), Some(&bad_currency.to_string()), 400, "invalid_request");
    let listed = s.must(s.get("/v1/suppliers", BUYER));
    assert_eq!(listed["suppliers"][0]["supplier"], "acme", "{listed}");

    for sku in ["P1", "P2"] {
        let body = json!({"name": sku, "safety_stock": 0, "unit_cost": "2.50"});
        s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &body));
    }
    let days = weekly_history(today);
    let import = json!({"days": days});

    // Bad imports are refused whole and change nothing.
    let path = "/v1/skus/P1/demand-history";
    let mut bad_date = days.clone();
    bad_date[10] = json!({"date": "2026-13-01", "qty": 3});
    let mut negative = days.clone();
    negative[20]["qty"] = json!(-4);
    let mut future = days.clone();
    future.push(json!({"date": (today + Duration::days(2)).to_string(), "qty": 1}));
    for (body, field) in [
        (json!({"days": bad_date}), ""),
        (json!({"days": negative}), "days[20].qty"),
        (json!({"days": future}), "days[727].date"),
        (json!({"days": days, "location": "nowhere"}), ""),
        (json!({"days": []}), "days"),
    ] {
        let (status, answer) = s.post(path, BUYER, &body);
        assert!(status == 400 || status == 404, "{status} {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
        }
    }
    let small = json!({"days": [days[0]]}).to_string();
    s.expect("POST", path, Some(WAREHOUSE), Some(&small), 403, "forbidden");
    // No policy yet: the plan says so.
    s.expect("GET", "/v1/skus/P1/plan", Some(WAREHOUSE), None, 404, "not_found");

    let policy = json!({"supplier": "acme", "service_level": 0.95, "moq": 50, "pack_multiple": 10});
    s.expect("PUT", "/v1/skus/P1/policy", Some(WAREHOUSE), Some(&policy.to_string()), 403, "forbidden");
    for bad in [
        json!({"supplier": "nobody"}),
        json!({"supplier": "acme", "service_level": 1.5}),
        json!({"lead_time_days": -1}),
        json!({"supplier": "acme", "min_qty": 10}),
        json!({"supplier": "acme", "surprise": true}),
    ] {
        let (status, answer) = s.put("/v1/skus/P1/policy", BUYER, &bad);
        assert!(status == 400 || status == 404, "{bad}: {status} {answer}");
    }
    // Nothing above left a policy or any history behind.
    s.expect("GET", "/v1/skus/P1/plan", Some(WAREHOUSE), None, 404, "not_found");
    let answer = s.must(s.put("/v1/skus/P1/policy", BUYER, &policy));
    assert_eq!(
        (answer["lead_time"]["mean_days"].as_f64(), answer["lead_time"]["source"].as_str()),
        (Some(4.0), Some("supplier"))
    );
    let empty = plan(&s, "P1");
    assert_eq!(
        (empty["history"]["days"].as_u64(), empty["demand_class"].as_str()),
        (Some(0), Some("no_demand")),
        "{empty}"
    );

    // The import: accepted once, the same again (replaces the same days) changes nothing.
    let key = "import-p1-1";
    let first = s.send("POST", path, Some(BUYER), Some(&import.to_string()), Some(key));
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["days"], 727);
    let again = s.send("POST", path, Some(BUYER), Some(&import.to_string()), Some(key));
    assert_eq!(again, first);
    s.must(s.post(path, BUYER, &import));
    s.receive("P1", "wh-1", 30);
    s.receive("P2", "wh-1", 100_000);
    s.must(s.put("/v1/skus/P2/policy", BUYER, &policy));

    let p1 = plan(&s, "P1");
    let total: i64 = days.iter().map(|d| d["qty"].as_i64().unwrap()).sum();
    assert_eq!(p1["history"]["total"].as_i64(), Some(total), "{}", p1["history"]);
    assert_eq!(p1["demand_class"], "smooth");
    let method = p1["forecast"]["method"].as_str().unwrap();
    assert!(["seasonal_naive", "holt_winters"].contains(&method), "{}", p1["forecast"]);
    assert!(p1["forecast"]["mase"].as_f64().unwrap() < 1.0);
    assert!(p1["forecast"]["runner_up"]["method"].is_string());
    let mean = p1["forecast"]["mean_daily"].as_f64().unwrap();
    // The mean over the next four days, which depends on the weekday: 20.5 (Sun–Wed) to 37.25 (Wed–Sat).
    assert!((18.0..=40.0).contains(&mean), "μD {mean}");
    let (safety, reorder_point) = (p1["safety_stock"].as_i64().unwrap(), p1["reorder_point"].as_i64().unwrap());
    assert!(safety > 0 && (reorder_point - safety - (mean * 4.0).ceil() as i64).abs() <= 1, "{p1}");
    assert_eq!(p1["position"]["inventory_position"], 30);
    let suggestion = &p1["suggestion"];
    let qty = suggestion["qty"].as_i64().unwrap();
    assert!(qty >= 50 && qty % 10 == 0, "{suggestion}");
    let value: f64 = suggestion["value"].as_str().unwrap().parse().unwrap();
    assert_eq!(value, qty as f64 * 2.5, "{suggestion}");
    let reason = suggestion["reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("position 30 ≤ reorder point {reorder_point} (")), "{reason}");
    // 30 units at about 30 a day run out within two days; an order takes 4.
    let stockout: NaiveDate = p1["stockout_date"].as_str().unwrap().parse().unwrap();
    assert!(stockout <= today + Duration::days(2), "{stockout}");
    assert_eq!((p1["at_risk"].as_bool(), p1["action"]["kind"].as_str()), (Some(true), Some("order_now")));
    assert!(p1["projection"].as_array().unwrap().len() >= 28);

    // The list (refreshed off the request path) has P1 under acme, at risk; P2 needs nothing.
    let list = wait_for_list(&s, "", |list| list["groups"][0]["lines"][0]["sku"] == "P1");
    assert_eq!(list["groups"].as_array().unwrap().len(), 1, "{list}");
    let group = &list["groups"][0];
    assert_eq!((group["supplier"].as_str(), group["name"].as_str()), (Some("acme"), Some("Acme Supply")));
    assert_eq!(group["lines"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(group["lines"][0]["suggestion_qty"], qty);
    // At risk since the plan that found it, the same time the alert is raised at.
    let since = group["lines"][0]["at_risk_since"].as_str().expect("an at-risk line says since when");
    let none = s.must(s.get("/v1/replenishment?supplier=other", BUYER));
    assert_eq!(none["groups"], json!([]));
    s.expect("GET", "/v1/replenishment?at_risk=maybe", Some(BUYER), None, 400, "invalid_request");
    s.expect("GET", "/v1/replenishment?limit=0", Some(BUYER), None, 400, "invalid_request");
    let alerts = s.must(s.get("/v1/alerts", STOREFRONT));
    // The history stops the day before yesterday: yesterday's nothing is far below its weekday.
    let odd = alerts["alerts"].as_array().and_then(|l| l.iter().find(|a| a["kind"] == "demand_anomaly")).cloned();
    let odd = odd.unwrap_or_else(|| panic!("no demand anomaly: {alerts}"));
    let yesterday = today - Duration::days(1);
    assert_eq!((&odd["sku"], &odd["link"]), (&json!("P1"), &json!("/v1/skus/P1/plan")), "{odd}");
    let said = format!("demand on {yesterday} was 0, far below");
    assert!(odd["message"].as_str().is_some_and(|m| m.starts_with(&said)), "{odd}");
    let alert = &stockouts(&alerts)[0];
    assert_eq!(
        (alert["kind"].as_str(), alert["sku"].as_str(), alert["owner"].as_str()),
        (Some("predicted_stockout"), Some("P1"), Some("purchasing"))
    );
    assert!(alert["message"].as_str().unwrap().contains("order now"), "{alert}");
    assert_eq!(alert["raised_at"].as_str(), Some(since), "{alert}");

    // A commit is demand today; the receive that covers the position takes P1 off the list.
    let reservation = s.must(s.post("/v1/reservations", STOREFRONT, &json!({"lines": [{"sku": "P1", "qty": 5}]})));
    let id = reservation["id"].as_str().unwrap();
    s.must(s.post(&format!("/v1/reservations/{id}/commit"), STOREFRONT, &json!({})));
    assert_eq!(plan(&s, "P1")["history"]["today"], 5);
    s.receive("P1", "wh-2", 1_000);
    wait_for_list(&s, "", |list| list["groups"] == json!([]));
    assert_eq!(stockouts(&s.must(s.get("/v1/alerts", BUYER))), Vec::<Value>::new());

    // Policies and history outlive a kill -9.
    let before = plan(&s, "P1");
    s.kill_and_restart();
    let after = plan(&s, "P1");
    for field in ["safety_stock", "reorder_point", "order_up_to", "demand_class", "position"] {
        assert_eq!(before[field], after[field], "{field}");
    }
    assert_eq!(after["history"]["today"], 5);
}

/// A location about to run out while another has plenty: its own plan says transfer, and the
/// list at that location shows it; the SKU over all locations is fine, so it raises no alert.
#[test]
fn a_location_plan_borrows_from_another_location() {
    let s = Stockline::start();
    let today = stockline_tests::today();
    s.location("east", "warehouse", 1);
    s.location("west", "warehouse", 2);
    let supplier = json!({"name": "Acme", "currency": "EUR", "lead_time_days": 4});
    s.must(s.put("/v1/suppliers/acme", BUYER, &supplier));
    s.sku("L1", 0);
    for (location, qty) in [("east", 10), ("west", 2)] {
        let days: Vec<Value> =
            (2..120).map(|back| json!({"date": (today - Duration::days(back)).to_string(), "qty": qty})).collect();
        s.must(s.post("/v1/skus/L1/demand-history", BUYER, &json!({"location": location, "days": days})));
    }
    s.must(s.put("/v1/skus/L1/policy", BUYER, &json!({"supplier": "acme"})));
    s.receive("L1", "east", 15);
    s.receive("L1", "west", 500);

    let network = plan(&s, "L1");
    assert_eq!((network["at_risk"].as_bool(), network.get("location")), (Some(false), None), "{network}");
    let east = s.must(s.get("/v1/skus/L1/plan?location=east", WAREHOUSE));
    assert_eq!(east["location"], "east");
    assert_eq!(east["at_risk"], true, "{east}");
    let action = &east["action"];
    assert_eq!(
        (action["kind"].as_str(), action["from_location"].as_str()),
        (Some("transfer"), Some("west")),
        "{action}"
    );
    // 4 days at 10 a day, no spread; 10 a day lands the position 0..=9 below the reorder point
    // (mean 4.5): safety ⌈4.5⌉ = 5. 40 + 5 − 15 free = 30 to move. West keeps 2 × (4 + 7) = 22.
    assert_eq!(action["qty"], 30, "{action}");
    assert!(action["message"].as_str().unwrap().contains("transfer 30 from west (it can spare 478)"), "{action}");
    s.expect("GET", "/v1/skus/L1/plan?location=nowhere", Some(WAREHOUSE), None, 404, "not_found");
    s.expect("GET", "/v1/skus/L1/plan?shelf=3", Some(WAREHOUSE), None, 400, "invalid_request");

    let list = wait_for_list(&s, "?location=east", |list| list["groups"][0]["lines"][0]["sku"] == "L1");
    let line = &list["groups"][0]["lines"][0];
    assert_eq!((line["location"].as_str(), line["action"]["kind"].as_str()), (Some("east"), Some("transfer")));
    assert_eq!(s.must(s.get("/v1/replenishment?location=west", BUYER))["groups"], json!([]));
    assert_eq!(s.must(s.get("/v1/replenishment", BUYER))["groups"], json!([]));
    assert_eq!(stockouts(&s.must(s.get("/v1/alerts", BUYER))), Vec::<Value>::new());
}

/// Stock health from the SKUs' latest plans: a SKU selling 10 a day with 1,500 on hand has 150
/// days of cover, 600 units beyond the 90 days that are not excess; one that last sold 121 days
/// ago is dead stock. Ranked dead first, by SKU or by location; a window is refused.
#[test]
fn stock_health_from_the_latest_plans() {
    let s = Stockline::start();
    let today = stockline_tests::today();
    s.location("wh-1", "warehouse", 1);
    let supplier = json!({"name": "Acme Supply", "currency": "EUR", "lead_time_days": 4});
    s.must(s.put("/v1/suppliers/acme", BUYER, &supplier));
    let steady: Vec<Value> =
        (2..=121).map(|back| json!({"date": (today - Duration::days(back)).to_string(), "qty": 10})).collect();
    let stale: Vec<Value> =
        (121..=130).map(|back| json!({"date": (today - Duration::days(back)).to_string(), "qty": 5})).collect();
    for (sku, days, on_hand) in [("STEADY", steady, 1_500), ("STALE", stale, 40)] {
        s.must(s.put(&format!("/v1/skus/{sku}"), "dev-admin", &json!({"name": sku, "safety_stock": 0})));
        s.must(s.post(&format!("/v1/skus/{sku}/demand-history"), BUYER, &json!({"days": days, "location": "wh-1"})));
        s.must(s.put(&format!("/v1/skus/{sku}/policy"), BUYER, &json!({"supplier": "acme"})));
        s.receive(sku, "wh-1", on_hand);
    }
    let mut health = Value::Null;
    for _ in 0..150 {
        health = s.must(s.get("/v1/metrics/stock-health?by=sku", BUYER));
        if health["skus"] == 2 && health["on_hand"] == 1_540 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!((health["skus"].as_i64(), health["on_hand"].as_i64()), (Some(2), Some(1_540)), "{health}");
    assert_eq!((&health["dead_skus"], &health["dead_units"]), (&json!(1), &json!(40)), "{health}");
    assert_eq!(
        (&health["excess_cover_days"], &health["dead_stock_days"], &health["as_of"]),
        (&json!(90), &json!(90), &json!(today.to_string()))
    );
    let groups = health["groups"].as_array().expect("groups");
    assert_eq!((groups[0]["key"].as_str(), groups[0]["dead_units"].as_i64()), (Some("STALE"), Some(40)), "{health}");
    assert_eq!(
        (groups[1]["key"].as_str(), groups[1]["days_of_cover"].as_f64(), groups[1]["excess_units"].as_i64()),
        (Some("STEADY"), Some(150.0), Some(600)),
        "{health}"
    );
    let by_location = s.must(s.get("/v1/metrics/stock-health?by=location", "dev-admin"));
    let wh = &by_location["groups"][0];
    assert_eq!(
        (wh["key"].as_str(), wh["skus"].as_i64(), wh["dead_units"].as_i64(), wh["on_hand"].as_i64()),
        (Some("wh-1"), Some(2), Some(40), Some(1_540)),
        "{by_location}"
    );
    // Aging: every unit came on hand today, none quarantined or damaged.
    let units = |bands: &Value| -> Vec<i64> {
        bands.as_array().expect("bands").iter().map(|band| band["units"].as_i64().expect("units")).collect()
    };
    assert_eq!(units(&health["aging"]["on_hand"]), [1_540, 0, 0, 0, 0], "{health}");
    assert_eq!(health["aging"]["on_hand"][0]["band"], "under_30_days");
    assert_eq!(units(&health["aging"]["quarantined"]), [0; 5]);
    assert_eq!(units(&wh["aging"]["on_hand"]), [1_540, 0, 0, 0, 0], "{by_location}");
    assert_eq!(units(&groups[0]["aging"]["on_hand"]), [40, 0, 0, 0, 0], "STALE's: {health}");
    for (query, field) in [("from=2026-11-01", "from"), ("to=2026-11-01", "to"), ("by=supplier", "by")] {
        let (status, body) = s.get(&format!("/v1/metrics/stock-health?{query}"), BUYER);
        assert_eq!((status, body["error"]["details"]["field"].as_str()), (400, Some(field)), "{query}: {body}");
    }
    s.expect("GET", "/v1/metrics/stock-health", Some(WAREHOUSE), None, 403, "forbidden");
    // Dead stock is an alert for purchasing, raised the day it became dead: 90 days after the
    // last demand.
    let alerts = s.must(s.get("/v1/alerts", WAREHOUSE));
    let dead = alerts["alerts"].as_array().and_then(|l| l.iter().find(|a| a["kind"] == "dead_stock")).cloned();
    let dead = dead.unwrap_or_else(|| panic!("no dead-stock alert: {alerts}"));
    let last_demand = today - Duration::days(121);
    let raised = format!("{}T00:00:00Z", last_demand + Duration::days(90));
    assert_eq!(
        (&dead["sku"], &dead["owner"], &dead["raised_at"], &dead["link"]),
        (&json!("STALE"), &json!("purchasing"), &json!(raised), &json!("/v1/metrics/stock-health?by=sku")),
        "{dead}"
    );
    assert_eq!(dead["message"], format!("40 on hand, no demand since {last_demand}"), "{dead}");
}

/// `GET /v1/skus/{sku}/plan/basis`: the engine, given the basis (as a browser gets it), computes
/// the plan the server answers; a what-if of another policy is the plan the server answers once
/// that policy is saved.
#[test]
fn the_plan_basis_gives_the_servers_plan_and_what_ifs_of_saved_policies() {
    use stockline_engine::planning::{Plan, PlanBasis, WhatIf};
    let s = Stockline::start();
    let today = stockline_tests::today();
    s.location("wh-1", "warehouse", 1);
    s.must(s.put("/v1/skus/W1", "dev-admin", &json!({"name": "W1", "safety_stock": 0, "unit_cost": "3.00"})));
    s.must(s.post("/v1/skus/W1/demand-history", BUYER, &json!({"days": weekly_history(today)})));
    s.expect("GET", "/v1/skus/W1/plan/basis", Some(WAREHOUSE), None, 404, "not_found");
    let policy = json!({"lead_time_days": 6, "lead_time_std_days": 2, "service_level": 0.9, "moq": 40});
    s.must(s.put("/v1/skus/W1/policy", BUYER, &policy));
    let receive = json!({"kind": "receive", "location": "wh-1", "qty": 300});
    s.must(s.post("/v1/skus/W1/movements", WAREHOUSE, &receive));

    let basis: PlanBasis =
        serde_json::from_value(s.must(s.get("/v1/skus/W1/plan/basis", STOREFRONT))).expect("a plan basis");
    assert_eq!(basis.forecast.as_ref().map(|f| f.daily.len()), Some(365));
    // The figures a buyer acts on are the same whether the server or the engine in a browser
    // computed them (the floats crossed JSON twice).
    let figures = |p: &Plan| {
        (
            p.safety_stock,
            p.reorder_point,
            p.order_up_to,
            p.suggestion.as_ref().map(|s| s.qty),
            p.stockout_date,
            p.forecast.method,
        )
    };
    let served: Plan = serde_json::from_value(plan(&s, "W1")).expect("a plan");
    assert_eq!(figures(&basis.plan()), figures(&served));

    let change = WhatIf { service_level: Some(0.99), lead_time_days: Some(12.0), moq: Some(500), ..WhatIf::default() };
    let tried = basis.what_if(&change).expect("within bounds");
    assert!(tried.safety_stock > served.safety_stock, "{} vs {}", tried.safety_stock, served.safety_stock);
    let saved = json!({"lead_time_days": 12, "lead_time_std_days": 2, "service_level": 0.99, "moq": 500});
    s.must(s.put("/v1/skus/W1/policy", BUYER, &saved));
    let after: Plan = serde_json::from_value(plan(&s, "W1")).expect("a plan");
    assert_eq!(figures(&tried), figures(&after));

    s.expect("GET", "/v1/skus/W1/plan/basis?location=nowhere", Some(WAREHOUSE), None, 404, "not_found");
    s.expect("GET", "/v1/skus/W1/plan/basis?shelf=3", Some(WAREHOUSE), None, 400, "invalid_request");
    s.expect("PUT", "/v1/skus/W1/plan/basis", Some(BUYER), Some("{}"), 405, "method_not_allowed");
}
