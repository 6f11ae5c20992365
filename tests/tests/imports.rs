//! CSV import and export over HTTP, in the real worker: a dry run reports every bad row with its
//! line and applies nothing; an all-or-nothing import with a bad row applies nothing; a per-row
//! import applies the good rows and names the bad; opening stock lands as counts, once, however
//! often the file is sent; an export imported again changes nothing; bad requests are refused.

use serde_json::{json, Value};
use stockline_tests::Stockline;

const ADMIN: &str = "dev-admin";

fn import(s: &Stockline, kind: &str, csv: &str, dry_run: bool, atomic: &str) -> (u16, Value) {
    s.post("/v1/imports", ADMIN, &json!({"kind": kind, "csv": csv, "dry_run": dry_run, "atomic": atomic}))
}

/// (line, column) of each error, from a report or an error's details.
fn errors(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors: {report}"))
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn export(s: &Stockline, kind: &str) -> String {
    let auth = format!("Bearer {ADMIN}");
    let (status, headers, text) =
        s.raw("GET", &format!("/v1/exports/{kind}"), &[("authorization", &auth)], None, &["content-type"]);
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers[0].as_deref(), Some("text/csv; charset=utf-8"));
    text
}

fn locations(s: &Stockline) -> Value {
    s.must(s.get("/v1/locations", ADMIN))
}

const LOCATIONS: &str = "location,name,kind,region,priority
wh-east,East,warehouse,eu,1
wh-west,West,warehouse,eu,2
shop-1,Shop,boutique,eu,3
wh-east,East again,warehouse,eu,4
";

#[test]
fn dry_runs_and_all_or_nothing_apply_nothing_per_row_applies_the_good() {
    let s = Stockline::start();
    let before = locations(&s);
    // A dry run: every bad row with its line, the good ones with what they would do.
    let (status, report) = import(&s, "locations", LOCATIONS, true, "file");
    assert_eq!(status, 200, "{report}");
    assert_eq!(errors(&report), vec![(4, "kind".to_string()), (5, "location".to_string())]);
    assert_eq!((report["new"].as_u64(), report["error_rows"].as_u64()), (Some(2), Some(2)));
    assert_eq!(report["applied"], json!([]));
    assert_eq!(locations(&s), before, "a dry run applies nothing");
    // All or nothing: refused whole, nothing applied, the report in the error's details.
    let (status, refused) = import(&s, "locations", LOCATIONS, false, "file");
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_request");
    assert!(refused["error"]["message"].as_str().unwrap().contains("line 4"), "{refused}");
    assert_eq!(errors(&refused["error"]["details"]).len(), 2);
    assert_eq!(locations(&s), before, "a refused file applies nothing");
    // Per row: the good rows apply, the bad are named.
    let (status, report) = import(&s, "locations", LOCATIONS, false, "row");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["applied"], json!([2, 3]));
    assert_eq!(errors(&report).len(), 2);
    let listed = locations(&s);
    let names: Vec<&str> =
        listed["locations"].as_array().unwrap().iter().map(|l| l["location"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["wh-east", "wh-west"]);

    // SKUs, then their opening stock as counts; a SKU the file does not define is refused.
    let skus =
        "sku,name,safety_stock,unit_cost,barcodes,critical\nTEE,Tee,2,4.20,4006381333931,false\nMUG,Mug,0,,,true\n";
    let (status, report) = import(&s, "skus", skus, false, "file");
    assert_eq!((status, report["applied"].clone()), (200, json!([2, 3])), "{report}");
    let stock = "sku,location,qty\nTEE,wh-east,40\nTEE,wh-west,5\nMUG,wh-east,12\n";
    let (status, report) = import(&s, "opening_stock", stock, false, "file");
    assert_eq!((status, report["applied"].clone()), (200, json!([2, 3, 4])), "{report}");
    let tee = s.must(s.get("/v1/availability/TEE", ADMIN));
    assert_eq!(tee["on_hand"], 45);
    // The same file again applies nothing twice (each row under its own key).
    let version = tee["version"].clone();
    assert_eq!(import(&s, "opening_stock", stock, false, "file").0, 200);
    assert_eq!(s.must(s.get("/v1/availability/TEE", ADMIN))["version"], version, "not applied twice");
    let (status, report) =
        import(&s, "opening_stock", "sku,location,qty\nHAT,wh-east,1\nTEE,wh-north,1\n", true, "file");
    assert_eq!(status, 200);
    assert_eq!(errors(&report), vec![(2, "sku".to_string()), (3, "location".to_string())]);

    // Demand history: a future date is refused with its line.
    let demand = "sku,location,date,qty\nTEE,wh-east,2020-01-01,3\nTEE,wh-east,2999-01-01,3\n";
    let (status, report) = import(&s, "demand_history", demand, true, "file");
    assert_eq!(status, 200, "{report}");
    assert_eq!(errors(&report).iter().map(|e| e.0).collect::<Vec<_>>(), vec![2, 3], "too old and in the future");
    // Real days, at a location and for all locations, come back in the export.
    let day = |back: i64| (stockline_tests::today() - chrono::Duration::days(back)).to_string();
    let demand = format!("sku,location,date,qty\nTEE,wh-east,{},3\nTEE,,{},7\n", day(2), day(3));
    let (status, report) = import(&s, "demand_history", &demand, false, "file");
    assert_eq!((status, report["applied"].clone()), (200, json!([2, 3])), "{report}");
    let exported = export(&s, "demand_history");
    assert!(exported.contains(&format!("TEE,,{},7", day(3))), "{exported}");
    assert!(exported.contains(&format!("TEE,wh-east,{},3", day(2))), "{exported}");
}

#[test]
fn an_export_imported_again_changes_nothing() {
    let s = Stockline::start();
    let master = [
        (
            "locations",
            "location,name,kind,region,priority\nwh-1,Main,warehouse,eu,1\nst-1,\"Store, Main St\",store,eu,2\n",
        ),
        ("channels", "channel,name,locations,buffer,cap,stop_below\nweb,Web,wh-1|st-1,2,100,\n"),
        (
            "suppliers",
            "supplier,name,currency,lead_time_days,lead_time_std_days,standing\nbasics,Basics,EUR,7,1.5,watch\n",
        ),
        ("skus", "sku,name,safety_stock,unit_cost,barcodes,critical\nTEE,Tee,2,4.20,4006381333931|96385074,false\n"),
        ("opening_stock", "sku,location,qty\nTEE,wh-1,40\nTEE,st-1,3\n"),
        ("policies", "sku,supplier,service_level,moq,pack_multiple\nTEE,basics,0.97,24,12\n"),
    ];
    for (kind, csv) in master {
        let (status, report) = import(&s, kind, csv, false, "file");
        assert_eq!(status, 200, "{kind}: {report}");
        assert_eq!(report["error_rows"], 0, "{kind}: {report}");
    }
    let catalog_version = locations(&s)["version"].clone();
    let sku_version = s.must(s.get("/v1/availability/TEE", ADMIN))["version"].clone();
    for (kind, _) in master {
        let file = export(&s, kind);
        let (status, report) = import(&s, kind, &file, false, "file");
        assert_eq!(status, 200, "{kind}: {report}\n{file}");
        assert_eq!(report["applied"], json!([]), "{kind} changes nothing:\n{file}\n{report}");
        assert_eq!(report["unchanged"], report["rows"].as_array().unwrap().len(), "{kind}: {report}");
        assert_eq!(export(&s, kind), file, "{kind}: the same file again");
    }
    assert_eq!(locations(&s)["version"], catalog_version, "the catalog did not change");
    assert_eq!(s.must(s.get("/v1/availability/TEE", ADMIN))["version"], sku_version, "the SKU did not change");
    assert!(export(&s, "opening_stock").contains("TEE,wh-1,40"));
    let positions = export(&s, "positions");
    assert!(positions
        .starts_with("sku,location,on_hand,available,reserved,allocated,quarantined,damaged,inbound,return_pending\n"));
    assert!(positions.contains("TEE,wh-1,40,"), "{positions}");
}

#[test]
fn bad_import_requests_are_refused() {
    let s = Stockline::start();
    let bad = [
        json!({"kind": "widgets", "csv": "a\n1\n"}),
        json!({"kind": "skus"}),
        json!({"kind": "skus", "csv": "sku,name\nTEE,Tee\n", "atomic": "some"}),
        json!({"kind": "skus", "csv": "sku,name\nTEE,Tee\n", "colour": "red"}),
        json!({"kind": "skus", "csv": "sku,colour\nTEE,red\n"}),
        json!({"kind": "skus", "csv": "sku,name\n"}),
        json!({"kind": "skus", "csv": "name\nTee\n"}),
    ];
    for body in bad {
        s.expect("POST", "/v1/imports", Some(ADMIN), Some(&body.to_string()), 400, "invalid_request");
    }
    let long = format!("sku,name\n{}", "TEE,Tee\n".repeat(1_001));
    let body = json!({"kind": "skus", "csv": long, "dry_run": true}).to_string();
    s.expect("POST", "/v1/imports", Some(ADMIN), Some(&body), 400, "invalid_request");
    let good = json!({"kind": "skus", "csv": "sku,name\nTEE,Tee\n"}).to_string();
    s.expect("POST", "/v1/imports", Some("dev-buyer"), Some(&good), 403, "forbidden");
    s.expect("GET", "/v1/exports/skus", Some("dev-warehouse"), None, 403, "forbidden");
    s.expect("GET", "/v1/exports/widgets", Some(ADMIN), None, 404, "not_found");
    s.expect("GET", "/v1/exports/skus?colour=red", Some(ADMIN), None, 400, "invalid_request");
    s.expect("GET", "/v1/imports", Some(ADMIN), None, 405, "");
    assert_eq!(s.must(s.get("/v1/skus", ADMIN))["items"], json!([]), "nothing was created");
}
