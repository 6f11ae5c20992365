//! State stays bounded whatever the history: a SKU that has seen 100,000 reservations come and
//! go snapshots to about what a new one does (issue 8: a busy SKU used to outgrow the 2 MB row).

use chrono::{DateTime, Duration, Utc};
use stockline_engine::{
    Actor, Catalog, Ctx, HoldLineRequest, HoldRequest, Id, LocationKind, LocationSpec, Movement, MovementKind, Role,
    SkuLedger, SkuSpec,
};

fn id(value: &str) -> Id {
    Id::new(value).expect("a valid id")
}

fn snapshot_bytes(ledger: &SkuLedger, catalog: &Catalog) -> usize {
    serde_json::to_string(&ledger.snapshot(catalog)).expect("a snapshot serialises").len()
}

#[test]
fn a_snapshot_does_not_grow_with_resolved_reservations() {
    let mut catalog = Catalog::default();
    let spec = LocationSpec { name: "Main".into(), kind: LocationKind::Warehouse, region: "eu".into(), priority: 1 };
    catalog.put_location(id("wh-1"), spec).expect("a location");
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a time");
    let actor = Actor { subject: "test".into(), role: Role::Admin };
    let ctx = |now: DateTime<Utc>| Ctx::new(actor.clone(), now);
    let mut ledger = SkuLedger::new(id("HOT"));
    ledger
        .define(
            &catalog,
            SkuSpec {
                name: "Hot".into(),
                safety_stock: 0,
                unit_cost: None,
                barcodes: Vec::new(),
                critical: false,
                substitutes: Vec::new(),
            },
            &ctx(start),
        )
        .unwrap();
    let receive = Movement {
        kind: MovementKind::Receive,
        location: id("wh-1"),
        qty: 1_000_000,
        to_location: None,
        reason: None,
        reference: None,
        counted_at_version: None,
        includes_versions: Vec::new(),
        into: None,
        disposition: None,
    };
    ledger.record_movement(&catalog, receive, &ctx(start)).unwrap();
    let fresh_bytes = snapshot_bytes(&ledger, &catalog);
    let mut now = start;
    for n in 0..100_000_u32 {
        now += Duration::milliseconds(10);
        let hold = HoldRequest {
            id: id(&format!("s0000000000000000000000000000000000000000000.r{n:08}")),
            channel: None,
            lines: vec![HoldLineRequest { qty: 1, location: None }],
            expires_at: now + Duration::seconds(60),
            reference: Some(format!("order-{n}")),
        };
        ledger.place_hold(&catalog, hold.clone(), &ctx(now)).expect("placed");
        match n % 3 {
            0 => drop(ledger.release_hold(&catalog, hold.id.as_str(), &ctx(now)).expect("released")),
            1 => {
                ledger.commit_hold(&catalog, hold.id.as_str(), None, &ctx(now)).expect("committed");
                let ship = Movement {
                    kind: MovementKind::Ship,
                    location: id("wh-1"),
                    qty: 1,
                    to_location: None,
                    reason: None,
                    reference: Some(hold.id.to_string()),
                    counted_at_version: None,
                    includes_versions: Vec::new(),
                    into: None,
                    disposition: None,
                };
                ledger.record_movement(&catalog, ship, &ctx(now)).expect("shipped");
            }
            _ => {} // left to expire
        }
        if n % 1_000 == 999 {
            ledger.expire_due(&catalog, now);
        }
    }
    ledger.expire_due(&catalog, now + Duration::seconds(61));
    assert_eq!(ledger.pending_hold_count(), 0);
    let busy_bytes = snapshot_bytes(&ledger, &catalog);
    // What is left of the history: the last resolutions it remembers, on-hand history points.
    assert!(busy_bytes < 256 * 1024, "a busy SKU's snapshot is {busy_bytes} bytes (a fresh one: {fresh_bytes})");
}
