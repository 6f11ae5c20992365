use super::*;

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    let spec = |name: &str, priority| LocationSpec {
        name: name.into(),
        kind: LocationKind::Warehouse,
        region: "eu".into(),
        priority,
    };
    catalog.put_location(Id::new("wh-1").unwrap(), spec("Main", 1)).unwrap();
    catalog.put_location(Id::new("wh-2").unwrap(), spec("Second", 2)).unwrap();
    let supplier = SupplierSpec {
        name: "Basics".into(),
        currency: "EUR".into(),
        lead_time_days: 7.0,
        lead_time_std_days: 1.5,
        standing: None,
    };
    catalog.put_supplier(Id::new("basics").unwrap(), supplier, Role::Admin).unwrap();
    catalog
}

fn skus() -> BTreeMap<Id, SkuSpec> {
    let tee = SkuSpec {
        name: "Tee".into(),
        safety_stock: 2,
        unit_cost: Some("4.20".parse().unwrap()),
        barcodes: vec!["4006381333931".into()],
        critical: false,
        substitutes: Vec::new(),
    };
    BTreeMap::from([(Id::new("TEE").unwrap(), tee)])
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

/// Plans `text`; answers the good rows as (line, change) and the bad as (line, column, words in
/// the reason).
fn check(kind: ImportKind, text: &str, good: &[(u64, Change)], bad: &[(u64, &str, &str)]) -> ImportPlan {
    let (catalog, skus) = (catalog(), skus());
    let on_hand = BTreeMap::from([((Id::new("TEE").unwrap(), Id::new("wh-2").unwrap()), 7)]);
    let policies = BTreeMap::new();
    let existing = Existing { catalog: &catalog, skus: &skus, on_hand: &on_hand, policies: &policies, today: today() };
    let plan = plan(kind, text, &existing).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let rows: Vec<(u64, Change)> = plan.rows.iter().map(|r| (r.line, r.change)).collect();
    assert_eq!(rows, good, "{kind:?} good rows; errors {:?}", plan.errors);
    assert_eq!(plan.errors.len(), bad.len(), "{kind:?}: {:#?}", plan.errors);
    for (error, (line, column, words)) in plan.errors.iter().zip(bad) {
        assert_eq!(error.line, *line, "{error:?}");
        assert_eq!(error.column.as_deref().unwrap_or(""), *column, "{error:?}");
        assert!(error.reason.contains(words), "{error:?} should say {words:?}");
    }
    assert_eq!(plan.error_rows as usize, bad.len());
    plan
}

#[test]
fn locations() {
    let text = "location,name,kind,region,priority
wh-1,Main,warehouse,eu,1
wh-2,Second,store,eu,2
wh-3,Third,3pl,us,3
wh-4,,warehouse,eu,4
wh-5,Fifth,garage,eu,5
wh-6,Sixth,warehouse,eu,first
wh-3,Again,warehouse,eu,9
bad id,X,warehouse,eu,1

wh-7,Seventh,marketplace,eu,-7
";
    check(
        ImportKind::Locations,
        text,
        &[(2, Change::Unchanged), (3, Change::Changed), (4, Change::New), (11, Change::New)],
        &[
            (5, "name", "empty"),
            (6, "kind", "not one of"),
            (7, "priority", "not a whole number"),
            (8, "location", "earlier line"),
            (9, "location", ""),
        ],
    );
}

#[test]
fn channels_refer_to_locations_and_suppliers_take_a_standing() {
    check(
        ImportKind::Channels,
        "channel,name,locations,buffer,cap,stop_below
web,Web,wh-1|wh-2,0,,
shop,Shop,wh-1|wh-9,0,,
pos,POS,wh-1,-1,,
",
        &[(2, Change::New)],
        &[(3, "locations", "does not exist"), (4, "buffer", ">= 0")],
    );
    check(
        ImportKind::Suppliers,
        "supplier,name,currency,lead_time_days,lead_time_std_days,standing
basics,Basics,EUR,7,1.5,
basics-2,Basics Two,eur,7,,
acme,Acme,USD,12,3,watch
zed,Zed,USD,5,,sleepy
",
        &[(2, Change::Unchanged), (4, Change::New)],
        &[(3, "currency", ""), (5, "standing", "good, watch, blocked")],
    );
}

#[test]
fn skus_keep_their_cost_when_the_file_names_none() {
    check(
        ImportKind::Skus,
        "sku,name,safety_stock,unit_cost,barcodes,critical,substitutes
TEE,Tee,2,4.20,4006381333931,false,
TEE-2,Tee Two,0,,,,TEE|TEE-9
TEE-3,Tee Three,-1,,,,
TEE-4,Tee Four,0,cheap,,,
TEE-5,Tee Five,0,,4006381333932,,
TEE-6,Tee Six,0,,,maybe,
TEE-7,Tee Seven,0,,,,TEE-7
TEE-8,Tee Eight,0,,,,TEE|TEE
",
        &[(2, Change::Unchanged), (3, Change::New)],
        &[
            (4, "safety_stock", ">= 0"),
            (5, "unit_cost", ""),
            (6, "barcodes", "check digit"),
            (7, "critical", "true or false"),
            (8, "substitutes", "cannot substitute itself"),
            (9, "substitutes", "named twice"),
        ],
    );
    // No cost column: the SKU keeps its cost, and nothing else changed.
    check(
        ImportKind::Skus,
        "sku,name,safety_stock,barcodes\nTEE,Tee,2,4006381333931\n",
        &[(2, Change::Unchanged)],
        &[],
    );
    check(ImportKind::Skus, "sku,name,safety_stock,barcodes\nTEE,Tee,3,4006381333931\n", &[(2, Change::Changed)], &[]);
}

#[test]
fn stock_policies_and_demand_need_what_they_name() {
    check(
        ImportKind::OpeningStock,
        "sku,location,qty
TEE,wh-1,40
TEE,wh-2,7
NOPE,wh-1,5
TEE,wh-9,5
TEE,wh-1,41
TEE,wh-2,-3
",
        &[(2, Change::New), (3, Change::Unchanged)],
        &[
            (4, "sku", "does not exist"),
            (5, "location", "does not exist"),
            (6, "sku", "earlier line"),
            (7, "sku", "earlier line"),
        ],
    );
    check(
        ImportKind::Policies,
        "sku,supplier,service_level,moq,pack_multiple,min_qty,max_qty
TEE,basics,0.97,24,12,,
NOPE,basics,,,,,
",
        &[(2, Change::New)],
        &[(3, "sku", "does not exist")],
    );
    check(ImportKind::Policies, "sku,supplier,service_level\nTEE,nobody,\n", &[], &[(2, "supplier", "")]);
    check(
        ImportKind::DemandHistory,
        "sku,location,date,qty
TEE,wh-1,2026-11-30,4
TEE,,2026-11-30,9
TEE,wh-1,2026-11-30,5
TEE,wh-1,2026-12-02,1
TEE,wh-1,30/11/2026,1
TEE,wh-1,2026-11-29,-2
",
        &[(2, Change::Changed), (3, Change::Changed)],
        &[(4, "date", "earlier line"), (5, "date", ""), (6, "date", "YYYY-MM-DD"), (7, "qty", "")],
    );
}

#[test]
fn files_that_cannot_be_read_are_refused_whole() {
    let (catalog, skus) = (catalog(), skus());
    let on_hand = BTreeMap::from([((Id::new("TEE").unwrap(), Id::new("wh-2").unwrap()), 7)]);
    let policies = BTreeMap::new();
    let existing = Existing { catalog: &catalog, skus: &skus, on_hand: &on_hand, policies: &policies, today: today() };
    let cases = [
        (ImportKind::Locations, "location,name,kind,region\nwh-9,X,store,eu\n", "`priority` is required"),
        (ImportKind::Locations, "location,name,kind,region,priority,colour\n", "`colour` is not a column"),
        (ImportKind::Skus, "sku,name,name\n", "named twice"),
        (ImportKind::Skus, "sku,name\n", "no rows"),
        (ImportKind::Skus, "", "`sku` is required"),
    ];
    for (kind, text, words) in cases {
        match plan(kind, text, &existing) {
            Ok(plan) => panic!("{text:?} planned: {plan:?}"),
            Err(error) => assert!(error.to_string().contains(words), "{error} should say {words:?}"),
        }
    }
    let mut long = String::from("sku,location,qty\n");
    for _ in 0..=IMPORT_ROWS_MAX {
        long.push_str("TEE,wh-1,1\n");
    }
    assert!(plan(ImportKind::OpeningStock, &long, &existing).unwrap_err().to_string().contains("split the file"));
    // A spreadsheet's byte-order mark and CRLF lines are read as they are meant.
    let excel = "\u{feff}location,name,kind,region,priority\r\nwh-1,Main,warehouse,eu,1\r\n";
    assert_eq!(plan(ImportKind::Locations, excel, &existing).unwrap().rows[0].change, Change::Unchanged);
}

#[test]
fn an_export_reads_back_as_unchanged() {
    let mut with_channel = catalog();
    let channel = ChannelSpec {
        name: "Web, \"main\"".into(),
        locations: vec![Id::new("wh-2").unwrap(), Id::new("wh-1").unwrap()],
        buffer: 1,
        cap: Some(50),
        stop_below: None,
    };
    with_channel.put_channel(Id::new("web").unwrap(), channel.clone()).unwrap();
    let skus = skus();
    let on_hand = BTreeMap::new();
    let policies = BTreeMap::from([(
        Id::new("TEE").unwrap(),
        PlanningPolicy { moq: 24, supplier: Some(Id::new("basics").unwrap()), ..PlanningPolicy::default() },
    )]);
    let existing =
        Existing { catalog: &with_channel, skus: &skus, on_hand: &on_hand, policies: &policies, today: today() };
    let files: Vec<(ImportKind, Vec<Row>)> = vec![
        (ImportKind::Locations, catalog_rows(&with_channel, ImportKind::Locations)),
        (ImportKind::Channels, catalog_rows(&with_channel, ImportKind::Channels)),
        (ImportKind::Suppliers, catalog_rows(&with_channel, ImportKind::Suppliers)),
        (ImportKind::Skus, skus.iter().map(|(id, spec)| Row::Sku { id: id.clone(), spec: spec.clone() }).collect()),
        (
            ImportKind::Policies,
            policies.iter().map(|(sku, policy)| Row::Policy { sku: sku.clone(), policy: policy.clone() }).collect(),
        ),
    ];
    for (kind, rows) in files {
        let text = export(kind, &rows).unwrap();
        let plan = plan(kind, &text, &existing).unwrap();
        assert!(plan.errors.is_empty(), "{kind:?}: {:?}\n{text}", plan.errors);
        assert_eq!(plan.rows.len(), rows.len());
        assert!(plan.rows.iter().all(|r| r.change == Change::Unchanged), "{kind:?}: {:?}\n{text}", plan.rows);
        let read: Vec<Row> = plan.rows.into_iter().map(|r| r.row).collect();
        assert_eq!(export(kind, &read).unwrap(), text, "{kind:?} writes what it read");
    }
}

#[test]
fn positions_are_written_a_row_per_sku_and_location() {
    let at = crate::LocationAvailability {
        location: Id::new("wh-1").unwrap(),
        available: 30,
        on_hand: 40,
        reserved: 6,
        allocated: 4,
        quarantined: 0,
        damaged: 0,
        inbound: 12,
        return_pending: 1,
    };
    let text = export_positions(&[(Id::new("TEE").unwrap(), at)]).unwrap();
    assert_eq!(
        text,
        "sku,location,on_hand,available,reserved,allocated,quarantined,damaged,inbound,return_pending\nTEE,wh-1,40,30,6,4,0,0,12,1\n"
    );
}
