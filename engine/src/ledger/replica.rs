//! A device's replica of one SKU's ledger: the server's snapshot, and the movements queued on the
//! device applied to it with the very code the server runs (`record_movement`).
//!
//! A tablet that received 20 offline and now tries to ship 25 learns before it queues anything
//! what the server would answer, in the server's words. The replica decides nothing the server
//! keeps: it is replaced by the server's answer after every sync, and where the server's result
//! differs from the projection (someone else moved stock meanwhile), the device says so.

use super::*;

/// `GET /v1/skus/{sku}/replica`: what a device keeps of a SKU to decide against offline. The
/// catalog is the stock part of it (locations and channels; suppliers are not needed to move
/// stock and can be many).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaSnapshot {
    pub catalog: Catalog,
    pub ledger: LedgerSnapshot,
    /// The server's time when the snapshot was taken.
    pub as_of: DateTime<Utc>,
}

/// One SKU's ledger as the server last answered it, on a device.
#[derive(Clone, Debug)]
pub struct Replica {
    catalog: Catalog,
    ledger: SkuLedger,
}

/// What the queued movements would do to a replica, in order: the ledger after the ones the
/// engine accepts, and the engine's refusal of each one it would not.
#[derive(Clone, Debug)]
pub struct Projection {
    ledger: SkuLedger,
    /// One per movement projected, in order: `Ok` accepted, or the engine's refusal.
    pub outcomes: Vec<Result<(), EngineError>>,
    /// The version each of the device's operations has: on the server for the ones it applied
    /// (`Projection::knows`), in the projection for the ones projected (`Replica::record_op`).
    versions: BTreeMap<String, u64>,
}

/// One of a device's queued operations, as a replica projects it.
#[derive(Clone, Copy, Debug)]
pub struct DeviceOp<'a> {
    pub op_id: &'a str,
    pub movement: &'a Movement,
    /// For a count: the device's own operations its counter saw included in the shelf (by op
    /// id), which the projection must not add again.
    pub includes_ops: Option<&'a [Id]>,
}

/// A location where the server's on hand, after a sync, is not what the device projected:
/// someone else moved stock meanwhile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub location: Id,
    pub projected_on_hand: i64,
    pub server_on_hand: i64,
}

impl ReplicaSnapshot {
    /// The snapshot a server answers: its ledger and the stock part of its catalog.
    pub fn of(ledger: &SkuLedger, catalog: &Catalog, as_of: DateTime<Utc>) -> ReplicaSnapshot {
        ReplicaSnapshot { catalog: catalog.without_suppliers(), ledger: ledger.snapshot(catalog), as_of }
    }
}

impl Replica {
    pub fn new(snapshot: ReplicaSnapshot) -> Result<Replica, EngineError> {
        let ReplicaSnapshot { catalog, ledger, as_of: _ } = snapshot;
        let ledger = SkuLedger::restore(&catalog, ledger)?;
        Ok(Replica { catalog, ledger })
    }

    pub fn version(&self) -> u64 {
        self.ledger.version()
    }

    /// The ledger as the server answered it (and the entries applied since).
    pub fn ledger(&self) -> &SkuLedger {
        &self.ledger
    }

    /// The quantities at `location` as the server answered them.
    pub fn position(&self, location: &str) -> Result<Position, EngineError> {
        Ok(self.ledger.position(self.catalog.slot_or_not_found(location)?))
    }

    /// Applies an entry the server recorded (the replay property: the replica fed the server's
    /// entries reaches the server's positions).
    pub fn apply(&mut self, entry: &Entry) -> Result<(), EngineError> {
        if entry.version != self.ledger.version() + 1 {
            return Err(EngineError::conflict(format!(
                "entry version {} does not follow the replica's version {}",
                entry.version,
                self.ledger.version()
            )));
        }
        self.ledger.apply(&self.catalog, entry)
    }

    /// Records `movements` in order on a copy of the replica, as the server would when they sync:
    /// a refused movement changes nothing and the next ones are decided without it.
    pub fn project<'a>(&self, movements: impl IntoIterator<Item = &'a Movement>, ctx: &Ctx) -> Projection {
        let mut projection = self.start(ctx.now);
        for movement in movements {
            // The outcome is kept in the projection.
            let _ = self.record(&mut projection, movement.clone(), ctx);
        }
        projection
    }

    /// A projection with nothing recorded yet: the replica at `now`, its holds due by then
    /// expired (the server expires them before it decides anything).
    pub fn start(&self, now: DateTime<Utc>) -> Projection {
        let mut ledger = self.ledger.clone();
        ledger.expire_due(&self.catalog, now);
        Projection { ledger, outcomes: Vec::new(), versions: BTreeMap::new() }
    }

    /// Records one movement on `projection` (of this replica): the version its entry gets there,
    /// or the engine's refusal. A host that maps its own operations to versions (a count names
    /// the ones it includes) learns them here.
    pub fn record(&self, projection: &mut Projection, movement: Movement, ctx: &Ctx) -> Result<u64, EngineError> {
        let outcome =
            projection.ledger.record_movement(&self.catalog, movement, ctx).map(|outcome| outcome.entry.version);
        projection.outcomes.push(outcome.clone().map(|_| ()));
        outcome
    }

    /// Records one of the device's queued operations on `projection`, as the server will when it
    /// syncs. A count names the device's operations it includes by the versions they have: on the
    /// server for the ones applied, in the projection for the ones projected, so the projection
    /// adds none of them twice. A count taken from a card newer than the replica is projected as
    /// what it is, the units on the shelf (the replica cannot say what that card had seen).
    pub fn record_op(&self, projection: &mut Projection, op: DeviceOp<'_>, ctx: &Ctx) -> Result<u64, EngineError> {
        let mut movement = op.movement.clone();
        if movement.kind == MovementKind::Count {
            match (movement.counted_at_version, op.includes_ops) {
                (Some(seen), _) if seen > self.version() => {
                    movement.counted_at_version = None;
                    movement.includes_versions.clear();
                }
                (Some(_), Some(own)) => {
                    let mut included: Vec<u64> =
                        own.iter().filter_map(|own| projection.versions.get(own.as_str()).copied()).collect();
                    included.sort_unstable();
                    movement.includes_versions = included;
                }
                _ => {}
            }
        }
        let version = self.record(projection, movement, ctx)?;
        projection.versions.insert(op.op_id.to_string(), version);
        Ok(version)
    }

    /// Records `movement` on `projection` and says whether the server would refuse it, as far as
    /// this replica can know: `None` when it would take it, or when the replica cannot judge it.
    /// - A count is never refused for the stock it finds.
    /// - A ship names a reservation: one the replica has never seen was placed after the replica
    ///   was fetched, and the server knows more.
    /// - A location or channel the replica's copy of the catalog lacks may be in the server's
    ///   (it fetches the catalog again before it refuses for that).
    pub fn judge(&self, projection: &mut Projection, movement: &Movement, ctx: &Ctx) -> Option<EngineError> {
        let judged = match (movement.kind, movement.reference.as_deref()) {
            (MovementKind::Count, _) => false,
            (MovementKind::Ship, Some(reservation)) => self.ledger.hold_status(reservation).is_some(),
            _ => true,
        };
        match self.record(projection, movement.clone(), ctx) {
            Err(error) if judged && error.code() != "not_found" => Some(error),
            _ => None,
        }
    }

    /// Where `server`, the replica fetched after a sync, differs in on hand from `projection` (of
    /// this replica), by location in `server`'s shipping order.
    pub fn differences(&self, projection: &Projection, server: &Replica) -> Vec<Difference> {
        server
            .catalog
            .ordered_slots()
            .iter()
            .filter_map(|&slot| {
                let location = &server.catalog.location(slot).id;
                let projected_on_hand =
                    self.catalog.slot(location.as_str()).map_or(0, |mine| projection.ledger.position(mine).on_hand);
                let server_on_hand = server.ledger.position(slot).on_hand;
                (projected_on_hand != server_on_hand).then(|| Difference {
                    location: location.clone(),
                    projected_on_hand,
                    server_on_hand,
                })
            })
            .collect()
    }

    /// The quantities at `location` after `projection` (of this replica).
    pub fn projected(&self, projection: &Projection, location: &str) -> Result<Position, EngineError> {
        Ok(projection.ledger.position(self.catalog.slot_or_not_found(location)?))
    }
}

impl Projection {
    /// Movements the engine would refuse.
    pub fn refused(&self) -> usize {
        self.outcomes.iter().filter(|outcome| outcome.is_err()).count()
    }

    /// The server applied the device's operation `op_id` as entry `version` (a count that
    /// includes it names that version).
    pub fn knows(&mut self, op_id: &str, version: u64) {
        self.versions.insert(op_id.to_string(), version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{LocationKind, LocationSpec};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).single().expect("a valid time")
    }

    fn ctx() -> Ctx {
        Ctx::new(Actor { subject: "tablet-1".into(), role: Role::Warehouse }, now())
    }

    fn id(text: &str) -> Id {
        Id::new(text).expect("a valid id")
    }

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        for (location, priority) in [("wh-1", 1), ("wh-2", 2)] {
            let spec =
                LocationSpec { name: location.into(), kind: LocationKind::Warehouse, region: "eu".into(), priority };
            catalog.put_location(id(location), spec).expect("a valid location");
        }
        catalog
    }

    fn movement(kind: MovementKind, location: &str, qty: i64) -> Movement {
        Movement {
            kind,
            location: id(location),
            qty,
            reason: (kind == MovementKind::Adjust).then(|| "found".to_string()),
            reference: (kind == MovementKind::Transfer).then(|| "T-1".to_string()),
            to_location: (kind == MovementKind::Transfer).then(|| id("wh-2")),
            into: None,
            disposition: None,
            counted_at_version: None,
            includes_versions: Vec::new(),
        }
    }

    fn defined(catalog: &Catalog) -> SkuLedger {
        let mut ledger = SkuLedger::new(id("SKU-R"));
        let spec = SkuSpec {
            name: "Replica".into(),
            safety_stock: 0,
            unit_cost: None,
            barcodes: Vec::new(),
            critical: false,
            substitutes: Vec::new(),
        };
        ledger.define(catalog, spec, &ctx()).expect("defined");
        ledger
    }

    /// Over the wire and back, as a device keeps it.
    fn wire(snapshot: &ReplicaSnapshot) -> Replica {
        let text = serde_json::to_string(snapshot).expect("encodes");
        Replica::new(serde_json::from_str(&text).expect("decodes")).expect("restores")
    }

    #[test]
    fn a_replica_fed_the_servers_entries_reaches_the_servers_positions() {
        let catalog = catalog();
        let mut server = defined(&catalog);
        server.record_movement(&catalog, movement(MovementKind::Receive, "wh-1", 40), &ctx()).expect("received");
        let mut replica = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        assert!(replica.catalog.suppliers().is_empty());
        let moves = [
            movement(MovementKind::Receive, "wh-1", 20),
            movement(MovementKind::Adjust, "wh-1", -3),
            movement(MovementKind::Transfer, "wh-1", 7),
            movement(MovementKind::Count, "wh-2", 4),
            movement(MovementKind::Damage, "wh-1", 2),
        ];
        for movement in moves {
            let outcome = server.record_movement(&catalog, movement, &ctx()).expect("accepted");
            // The entry as the server stores and sends it: JSON.
            let entry: Entry =
                serde_json::from_str(&serde_json::to_string(&outcome.entry).expect("encodes")).expect("decodes");
            replica.apply(&entry).expect("applies");
        }
        assert_eq!(replica.ledger().snapshot(&catalog), server.snapshot(&catalog));
        let stale = server.snapshot(&catalog).version;
        assert!(replica.apply(&Entry { version: stale, ..outcome_entry(&server, &catalog) }).is_err());
    }

    fn outcome_entry(server: &SkuLedger, catalog: &Catalog) -> Entry {
        let mut copy = server.clone();
        copy.record_movement(catalog, movement(MovementKind::Receive, "wh-1", 1), &ctx()).expect("accepted").entry
    }

    #[test]
    fn a_projection_decides_as_the_server_does_and_skips_what_it_refuses() {
        let catalog = catalog();
        let server = defined(&catalog);
        let replica = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        let queued = [
            movement(MovementKind::Receive, "wh-1", 20),
            movement(MovementKind::Transfer, "wh-1", 25),
            movement(MovementKind::Adjust, "wh-1", 5),
        ];
        let projection = replica.project(&queued, &ctx());
        let mut direct = server.clone();
        let expected: Vec<Result<(), EngineError>> = queued
            .iter()
            .map(|movement| direct.record_movement(&catalog, movement.clone(), &ctx()).map(|_| ()))
            .collect();
        assert_eq!(projection.outcomes, expected);
        assert_eq!(projection.refused(), 1);
        let refusal = projection.outcomes[1].clone().expect_err("25 out of 20");
        assert_eq!((refusal.code(), refusal.to_string().as_str()), ("conflict", "on_hand at `wh-1` would become -5"));
        assert_eq!(replica.projected(&projection, "wh-1").expect("known").on_hand, 25);
        assert_eq!(replica.position("wh-1").expect("known").on_hand, 0, "the replica itself is unchanged");
        assert!(replica.projected(&projection, "wh-9").is_err());
    }

    #[test]
    fn a_projection_expires_the_holds_the_server_would_have_expired() {
        let catalog = catalog();
        let mut server = defined(&catalog);
        server.record_movement(&catalog, movement(MovementKind::Receive, "wh-1", 10), &ctx()).expect("received");
        let request = HoldRequest {
            id: id("res-1"),
            channel: None,
            lines: vec![HoldLineRequest { qty: 8, location: None }],
            expires_at: now() + chrono::Duration::seconds(60),
            reference: None,
        };
        server.place_hold(&catalog, request, &ctx()).expect("held");
        let replica = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        let adjust = [movement(MovementKind::Adjust, "wh-1", -5)];
        assert!(replica.project(&adjust, &ctx()).outcomes[0].is_err(), "8 of 10 are reserved");
        let later = Ctx::new(ctx().actor, now() + chrono::Duration::seconds(61));
        assert_eq!(replica.project(&adjust, &later).outcomes, vec![Ok(())], "the hold expired meanwhile");
    }

    #[test]
    fn after_a_sync_the_difference_from_the_projection_is_where_someone_else_moved_stock() {
        let catalog = catalog();
        let mut server = defined(&catalog);
        let replica = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        let mine = [movement(MovementKind::Receive, "wh-1", 20)];
        let projection = replica.project(&mine, &ctx());
        server.record_movement(&catalog, mine[0].clone(), &ctx()).expect("synced");
        let same = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        assert_eq!(replica.differences(&projection, &same), Vec::new(), "only this device moved stock");
        // Another device received 7 at wh-1 and counted 3 at wh-2 meanwhile.
        server.record_movement(&catalog, movement(MovementKind::Receive, "wh-1", 7), &ctx()).expect("theirs");
        server.record_movement(&catalog, movement(MovementKind::Count, "wh-2", 3), &ctx()).expect("theirs");
        let after = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        let location = |text: &str| id(text);
        assert_eq!(
            replica.differences(&projection, &after),
            vec![
                Difference { location: location("wh-1"), projected_on_hand: 20, server_on_hand: 27 },
                Difference { location: location("wh-2"), projected_on_hand: 0, server_on_hand: 3 },
            ]
        );
    }

    #[test]
    fn a_movement_is_judged_only_where_the_replica_can_know() {
        let catalog = catalog();
        let mut server = defined(&catalog);
        server.record_movement(&catalog, movement(MovementKind::Receive, "wh-1", 10), &ctx()).expect("received");
        let replica = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        let check = |movement: Movement, recorded: bool, judged: Option<&str>| {
            let mut projection = replica.start(now());
            assert_eq!(replica.clone().record(&mut replica.start(now()), movement.clone(), &ctx()).is_ok(), recorded);
            let refusal = replica.judge(&mut projection, &movement, &ctx()).map(|e| e.to_string());
            assert_eq!(refusal.as_deref(), judged, "{movement:?}");
            assert_eq!(projection.outcomes.len(), 1, "judged or not, it is in the projection");
        };
        check(movement(MovementKind::Adjust, "wh-1", -15), false, Some("on_hand at `wh-1` would become -5"));
        check(movement(MovementKind::Adjust, "wh-1", -5), true, None);
        let mut ship = movement(MovementKind::Ship, "wh-1", 30);
        check(ship.clone(), false, Some("reference: a ship names the committed reservation"));
        // A reservation placed after the replica was fetched: the server knows more.
        ship.reference = Some("res-new".into());
        check(ship, false, None);
        // A count from a card the replica has not seen is refused by it, never judged.
        let mut count = movement(MovementKind::Count, "wh-1", 4);
        count.counted_at_version = Some(9);
        check(count, false, None);
        // A location the replica's catalog lacks: the server's may have it.
        check(movement(MovementKind::Adjust, "wh-9", -15), false, None);
    }

    #[test]
    fn a_count_that_includes_the_devices_own_operations_does_not_add_them_twice() {
        let catalog = catalog();
        let mut server = defined(&catalog);
        server.record_movement(&catalog, movement(MovementKind::Receive, "wh-1", 10), &ctx()).expect("received");
        let seen = server.version();
        let receive = movement(MovementKind::Receive, "wh-1", 20);
        let mut count = movement(MovementKind::Count, "wh-1", 35);
        count.counted_at_version = Some(seen);
        let own = [id("a")];
        fn op<'a>(op_id: &'a str, movement: &'a Movement, includes: Option<&'a [Id]>) -> DeviceOp<'a> {
            DeviceOp { op_id, movement, includes_ops: includes }
        }
        let on_hand = |replica: &Replica, known: Option<u64>, ops: &[DeviceOp<'_>]| {
            let mut projection = replica.start(now());
            if let Some(version) = known {
                projection.knows("a", version);
            }
            for op in ops {
                replica.record_op(&mut projection, *op, &ctx()).expect("accepted");
            }
            replica.projected(&projection, "wh-1").expect("wh-1").on_hand
        };
        let before = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        // 10 on the shelf, 20 received here, 35 counted: the count says 35.
        assert_eq!(on_hand(&before, None, &[op("a", &receive, None), op("c", &count, Some(&own))]), 35);
        // Not named as included: someone counted before the receive, which is added.
        assert_eq!(on_hand(&before, None, &[op("a", &receive, None), op("c", &count, None)]), 55);
        // The receive applied on the server before the replica was fetched: known by its version.
        server.record_movement(&catalog, receive.clone(), &ctx()).expect("synced");
        let after = wire(&ReplicaSnapshot::of(&server, &catalog, now()));
        assert_eq!(on_hand(&after, Some(server.version()), &[op("c", &count, Some(&own))]), 35);
        assert_eq!(on_hand(&after, None, &[op("c", &count, Some(&own))]), 55, "unknown: added again");
        // Counted from a card newer than the replica: taken as the units on the shelf.
        let newer = Movement { counted_at_version: Some(seen + 5), ..count.clone() };
        assert_eq!(on_hand(&before, None, &[op("c", &newer, None)]), 35);
    }
}
