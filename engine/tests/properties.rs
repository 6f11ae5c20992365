//! Property tests: random sequences of every operation over 3 locations and 2 channels, with the
//! ledger's invariants checked after every step.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use std::collections::HashMap;
use stockline_engine::planning::aging::AgeLayers;
use stockline_engine::{
    Actor, Bucket, Catalog, ChannelSpec, Ctx, Effect, EngineError, Entry, Event, HoldLineRequest, HoldRequest,
    HoldStatus, Id, LedgerSnapshot, LocationKind, LocationSpec, Movement, MovementKind, Position, Role, SkuLedger,
    SkuSpec,
};

const LOCATIONS: [&str; 3] = ["L0", "L1", "L2"];
const CHANNELS: [&str; 2] = ["ch0", "ch1"];
const KINDS: [MovementKind; 11] = [
    MovementKind::Receive,
    MovementKind::Adjust,
    MovementKind::Count,
    MovementKind::Ship,
    MovementKind::Transfer,
    MovementKind::Quarantine,
    MovementKind::ReleaseQuarantine,
    MovementKind::Damage,
    MovementKind::Scrap,
    MovementKind::ReturnExpected,
    MovementKind::ReturnReceive,
];

fn id(value: &str) -> Id {
    Id::new(value).unwrap()
}

#[derive(Clone, Debug)]
struct Setup {
    priorities: [i64; 3],
    safety_stock: i64,
    /// (buffer, cap, stop_below) per channel.
    channels: [(i64, Option<i64>, Option<i64>); 2],
}

#[derive(Clone, Debug)]
enum Op {
    Move {
        kind: usize,
        loc: usize,
        qty: i64,
        to: usize,
        /// Picks a reference (a hold for ships, a transfer for transfers and receives).
        reference: usize,
        with_reason: bool,
        /// For counts: `Some(k)` counts at version (current − k); k = −1 is one above the current.
        version_back: Option<i64>,
    },
    Place {
        /// Reuse an id already placed (must fail) instead of a fresh one.
        reuse: Option<usize>,
        channel: Option<usize>,
        lines: Vec<(i64, Option<usize>)>,
        ttl: i64,
    },
    Commit {
        pick: usize,
        qty: Option<i64>,
    },
    Release {
        pick: usize,
    },
    /// Gives back units a committed hold allocated at a location (a cancelled order).
    Unallocate {
        pick: usize,
        loc: usize,
        qty: i64,
    },
    /// A coordinator's prepare: the hold stops expiring.
    Prepare {
        pick: usize,
    },
    Advance {
        seconds: i64,
    },
    Expire,
}

fn setup_strategy() -> impl Strategy<Value = Setup> {
    let channel = (0_i64..4, proptest::option::weighted(0.3, 0_i64..40), proptest::option::weighted(0.3, 0_i64..8));
    ([-2_i64..3, -2_i64..3, -2_i64..3], 0_i64..4, [channel.clone(), channel])
        .prop_map(|(priorities, safety_stock, channels)| Setup { priorities, safety_stock, channels })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let qty = prop_oneof![8 => 1_i64..12, 1 => -3_i64..1, 1 => 12_i64..40];
    // Receives are weighted up so there is stock to move.
    let kind = prop_oneof![3 => Just(0_usize), 7 => 0..KINDS.len()];
    let movement = (
        kind,
        0..LOCATIONS.len(),
        qty.clone(),
        0..LOCATIONS.len(),
        0_usize..8,
        proptest::bool::weighted(0.9),
        proptest::option::weighted(0.6, -1_i64..12),
    )
        .prop_map(|(kind, loc, qty, to, reference, with_reason, version_back)| Op::Move {
            kind,
            loc,
            qty,
            to,
            reference,
            with_reason,
            version_back,
        });
    let line = (prop_oneof![9 => 1_i64..10, 1 => -1_i64..1], proptest::option::weighted(0.3, 0..LOCATIONS.len()));
    let place = (
        proptest::option::weighted(0.05, 0_usize..100),
        proptest::option::weighted(0.7, 0..CHANNELS.len()),
        proptest::collection::vec(line, 1..4),
        prop_oneof![9 => 1_i64..300, 1 => -5_i64..1],
    )
        .prop_map(|(reuse, channel, lines, ttl)| Op::Place { reuse, channel, lines, ttl });
    prop_oneof![
        10 => movement,
        6 => place,
        3 => (0_usize..100, proptest::option::weighted(0.5, -1_i64..12)).prop_map(|(pick, qty)| Op::Commit { pick, qty }),
        2 => (0_usize..100).prop_map(|pick| Op::Release { pick }),
        2 => (0_usize..100, 0..LOCATIONS.len(), -1_i64..6).prop_map(|(pick, loc, qty)| Op::Unallocate { pick, loc, qty }),
        2 => (0_usize..100).prop_map(|pick| Op::Prepare { pick }),
        2 => (1_i64..200).prop_map(|seconds| Op::Advance { seconds }),
        2 => Just(Op::Expire),
    ]
}

struct World {
    catalog: Catalog,
    ledger: SkuLedger,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
    /// Every hold id placed, in order.
    placed: Vec<Id>,
    /// Resolutions seen per hold id, from the entries.
    resolutions: HashMap<Id, (usize, HoldStatus)>,
    /// Holds seen prepared, from the entries.
    prepared: HashMap<Id, usize>,
    /// Locations where a count left commitments uncovered and the cover has not been seen back yet.
    uncovered: [bool; 3],
}

fn build(setup: &Setup) -> World {
    let mut catalog = Catalog::default();
    for (loc, priority) in LOCATIONS.iter().zip(setup.priorities) {
        let spec = LocationSpec { name: loc.to_string(), kind: LocationKind::Store, region: "r".into(), priority };
        catalog.put_location(id(loc), spec).unwrap();
    }
    let members = [["L0", "L1"], ["L1", "L2"]];
    for ((ch, locs), (buffer, cap, stop_below)) in CHANNELS.iter().zip(members).zip(setup.channels) {
        let spec = ChannelSpec {
            name: ch.to_string(),
            locations: locs.iter().map(|l| id(l)).collect(),
            buffer,
            cap,
            stop_below,
        };
        catalog.put_channel(id(ch), spec).unwrap();
    }
    let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
    let mut ledger = SkuLedger::new(id("sku-1"));
    let ctx = Ctx::new(Actor { subject: "p".into(), role: Role::Admin }, now);
    let spec = SkuSpec {
        name: "Thing".into(),
        safety_stock: setup.safety_stock,
        unit_cost: None,
        barcodes: Vec::new(),
        critical: false,
        substitutes: Vec::new(),
    };
    let entry = ledger.define(&catalog, spec, &ctx).unwrap();
    World {
        catalog,
        ledger,
        entries: vec![entry],
        now,
        placed: Vec::new(),
        resolutions: HashMap::new(),
        prepared: HashMap::new(),
        uncovered: [false; 3],
    }
}

/// The contract's movement table, computed independently: the positions after `movement`, or why
/// it must be refused. (Sequences are too short to reach the bound on count history; the scenarios
/// cover counts at versions older than it.)
enum Verdict {
    Applies(Vec<Position>),
    Conflict,
    Invalid,
}

fn movement_oracle(w: &World, before: &[Position], movement: &Movement) -> Verdict {
    use MovementKind::*;
    let slot = |loc: &Id| LOCATIONS.iter().position(|l| *l == loc.as_str()).unwrap();
    let at = slot(&movement.location);
    let qty = movement.qty;
    let valid_qty = match movement.kind {
        Adjust => qty != 0 && qty.abs() <= 1_000_000_000 && movement.reason.is_some(),
        Count => (0..=1_000_000_000).contains(&qty),
        Ship | Transfer => (1..=1_000_000_000).contains(&qty) && movement.reference.is_some(),
        _ => (1..=1_000_000_000).contains(&qty),
    };
    if !valid_qty || (movement.kind == Transfer && movement.to_location.as_ref() == Some(&movement.location)) {
        return Verdict::Invalid;
    }
    let mut after = before.to_vec();
    let p = &mut after[at];
    match movement.kind {
        Receive => {
            p.on_hand += qty;
            if let Some(reference) = &movement.reference {
                // What is still expected under this reference into this location, from the entries.
                let expected: i64 = w
                    .entries
                    .iter()
                    .flat_map(|e| &e.effects)
                    .filter_map(|e| match e {
                        Effect::Expected { location, reference: r, delta }
                            if location == &movement.location && r == reference =>
                        {
                            Some(*delta)
                        }
                        _ => None,
                    })
                    .sum();
                p.inbound -= qty.min(expected);
            }
        }
        Adjust => p.on_hand += qty,
        Count => {
            let version = w.ledger.version();
            p.on_hand = match movement.counted_at_version {
                None => qty,
                Some(seen) if seen > version => return Verdict::Invalid,
                Some(seen) => {
                    // Non-count on_hand changes at this location recorded after `seen`.
                    let mut since = 0;
                    for entry in w.entries.iter().filter(|e| e.version > seen) {
                        if matches!(&entry.event, Event::Movement { movement, .. } if movement.kind == Count) {
                            continue;
                        }
                        for effect in &entry.effects {
                            if let Effect::Qty { location, bucket: Bucket::OnHand, delta } = effect {
                                if location == &movement.location {
                                    since += delta;
                                }
                            }
                        }
                    }
                    (qty + since).max(0)
                }
            };
            return Verdict::Applies(after);
        }
        Ship => {
            p.allocated -= qty;
            p.on_hand -= qty;
            let reference = movement.reference.as_deref().unwrap();
            let allocated = match w.ledger.hold(reference) {
                Some(hold) if hold.status == HoldStatus::Committed => hold.allocated_at(movement.location.as_str()),
                _ => 0,
            };
            if qty > allocated {
                return Verdict::Conflict;
            }
        }
        Transfer => {
            p.on_hand -= qty;
            after[slot(movement.to_location.as_ref().unwrap())].inbound += qty;
        }
        Quarantine => p.quarantined += qty,
        ReleaseQuarantine => p.quarantined -= qty,
        Damage => p.damaged += qty,
        Scrap => {
            p.damaged -= qty;
            p.on_hand -= qty;
        }
        ReturnExpected => p.return_pending += qty,
        ReturnReceive => {
            p.return_pending -= qty;
            p.on_hand += qty;
        }
    }
    for (b, a) in before.iter().zip(&after) {
        let negative = Bucket::ALL.iter().any(|&bucket| a.get(bucket) < 0);
        if negative || (a.free() < 0 && a.free() < b.free()) {
            return Verdict::Conflict;
        }
    }
    Verdict::Applies(after)
}

fn positions(w: &World) -> Vec<Position> {
    LOCATIONS.iter().map(|l| w.ledger.position(w.catalog.slot(l).unwrap())).collect()
}

/// The movement an `Op::Move` stands for, given the ledger's current state.
fn movement_for(w: &World, ledger: &SkuLedger, op: &Op) -> Movement {
    let Op::Move { kind, loc, qty, to, reference, with_reason, version_back } = op else { panic!("not a move") };
    let pick = |pick: usize| -> Id {
        if w.placed.is_empty() {
            id("never-placed")
        } else {
            w.placed[pick % w.placed.len()].clone()
        }
    };
    let kind = KINDS[*kind];
    let mut location = id(LOCATIONS[*loc]);
    let mut qty = *qty;
    let reference = match kind {
        MovementKind::Ship => {
            // Ship from an open committed hold where one exists, at one of its locations.
            let snapshot = ledger.snapshot(&w.catalog);
            let committed: Vec<_> = snapshot.holds.iter().filter(|h| h.status == HoldStatus::Committed).collect();
            if committed.is_empty() || *reference == 7 {
                Some(pick(*reference).to_string())
            } else {
                let hold = committed[*reference % committed.len()];
                let allocation = &hold.allocated[*loc % hold.allocated.len()];
                location = allocation.location.clone();
                if (1..12).contains(&qty) {
                    qty = qty.min(allocation.qty + 1);
                }
                Some(hold.id.to_string())
            }
        }
        MovementKind::Transfer => {
            [Some("t0"), Some("t1"), Some("t0"), Some("t1"), None][*reference % 5].map(str::to_string)
        }
        MovementKind::Receive => [None, Some("t0"), Some("t1"), Some("po-1")][*reference % 4].map(str::to_string),
        _ => None,
    };
    // Draw-downs mostly stay within what the bucket holds (about one in six goes one over).
    let drawn = match kind {
        MovementKind::ReleaseQuarantine => Some(Bucket::Quarantined),
        MovementKind::Scrap => Some(Bucket::Damaged),
        MovementKind::ReturnReceive => Some(Bucket::ReturnPending),
        _ => None,
    };
    if let Some(bucket) = drawn {
        let have_at = |loc: &str| ledger.position(w.catalog.slot(loc).unwrap()).get(bucket);
        if have_at(location.as_str()) == 0 {
            if let Some(other) = LOCATIONS.iter().find(|l| have_at(l) > 0) {
                location = id(other);
            }
        }
        let have = have_at(location.as_str());
        if have > 0 && (1..12).contains(&qty) {
            qty = 1 + (qty - 1) % (have + 1);
        }
    }
    let counted_at_version = match (kind, version_back) {
        (MovementKind::Count, Some(back)) => Some((ledger.version() as i64 - back).max(0) as u64),
        _ => None,
    };
    Movement {
        into: None,
        disposition: None,
        kind,
        location,
        qty,
        to_location: (kind == MovementKind::Transfer).then(|| id(LOCATIONS[*to])),
        reason: (kind == MovementKind::Adjust && *with_reason).then(|| "cycle".to_string()),
        reference,
        counted_at_version,
        includes_versions: Vec::new(),
    }
}

/// Runs `op` against `ledger`; the world supplies the clock, catalog and ids placed so far.
fn run(w: &World, ledger: &mut SkuLedger, op: &Op) -> Result<Vec<Entry>, EngineError> {
    let ctx = Ctx::new(Actor { subject: "p".into(), role: Role::Warehouse }, w.now);
    let pick = |pick: usize| -> Id {
        if w.placed.is_empty() {
            id("never-placed")
        } else {
            w.placed[pick % w.placed.len()].clone()
        }
    };
    match op {
        Op::Move { .. } => {
            let movement = movement_for(w, ledger, op);
            Ok(vec![ledger.record_movement(&w.catalog, movement, &ctx)?.entry])
        }
        Op::Place { reuse, channel, lines, ttl } => {
            let hold_id = match reuse {
                Some(p) if !w.placed.is_empty() => pick(*p),
                _ => id(&format!("h{}", w.placed.len())),
            };
            let request = HoldRequest {
                id: hold_id,
                channel: channel.map(|c| id(CHANNELS[c])),
                lines: lines
                    .iter()
                    .map(|&(qty, loc)| HoldLineRequest { qty, location: loc.map(|l| id(LOCATIONS[l])) })
                    .collect(),
                expires_at: w.now + Duration::seconds(*ttl),
                reference: None,
            };
            Ok(vec![ledger.place_hold(&w.catalog, request, &ctx)?])
        }
        Op::Commit { pick: p, qty } => Ok(vec![ledger.commit_hold(&w.catalog, pick(*p).as_str(), *qty, &ctx)?]),
        Op::Release { pick: p } => Ok(vec![ledger.release_hold(&w.catalog, pick(*p).as_str(), &ctx)?]),
        Op::Unallocate { pick: p, loc, qty } => {
            Ok(vec![ledger.release_allocation(&w.catalog, pick(*p).as_str(), &id(LOCATIONS[*loc]), *qty, &ctx)?])
        }
        Op::Prepare { pick: p } => Ok(ledger.prepare_hold(&w.catalog, pick(*p).as_str(), &ctx)?.into_iter().collect()),
        Op::Advance { .. } => Ok(Vec::new()),
        Op::Expire => Ok(ledger.expire_due(&w.catalog, w.now)),
    }
}

fn bucket_sums_from_effects(entries: &[Entry]) -> HashMap<(String, Bucket), i64> {
    let mut sums = HashMap::new();
    for effect in entries.iter().flat_map(|e| &e.effects) {
        if let Effect::Qty { location, bucket, delta } = effect {
            *sums.entry((location.to_string(), *bucket)).or_insert(0) += delta;
        }
    }
    sums
}

fn check_invariants(w: &World, snapshot: &LedgerSnapshot) -> Result<(), TestCaseError> {
    let effect_sums = bucket_sums_from_effects(&w.entries);
    // Age layers fed every entry hold exactly the aged buckets' units: nothing to reconcile.
    let mut aging = AgeLayers::default();
    for entry in &w.entries {
        aging.apply(entry);
    }
    prop_assert!(aging.rows().all(|row| row.qty > 0), "a layer holds units");
    let today = w.entries.last().map_or(chrono::NaiveDate::MIN, |e| e.occurred_at.date_naive());
    prop_assert_eq!(aging.reconcile(&w.ledger, &w.catalog, today), Vec::new(), "age layers vs positions");
    for (index, loc) in LOCATIONS.iter().enumerate() {
        let p = w.ledger.position(w.catalog.slot(loc).unwrap());
        for bucket in Bucket::ALL {
            prop_assert!(p.get(bucket) >= 0, "{} at {loc} is negative: {p:?}", bucket.as_str());
            // Conservation: every bucket is the sum of its effects over all entries.
            let sum = effect_sums.get(&(loc.to_string(), bucket)).copied().unwrap_or(0);
            prop_assert_eq!(p.get(bucket), sum, "{} at {} vs its effects", bucket.as_str(), loc);
        }
        if !w.uncovered[index] {
            prop_assert!(p.on_hand >= p.committed(), "{loc} uncovered without a count exception: {p:?}");
        }
        // reserved is what pending holds hold there; allocated what committed holds still have there.
        let mut reserved = 0;
        let mut allocated = 0;
        for hold in &snapshot.holds {
            match hold.status {
                HoldStatus::Pending => {
                    reserved += hold
                        .lines
                        .iter()
                        .flat_map(|l| &l.allocations)
                        .filter(|a| a.location.as_str() == *loc)
                        .map(|a| a.qty)
                        .sum::<i64>();
                    prop_assert!(hold.allocated.is_empty());
                }
                HoldStatus::Committed => {
                    prop_assert!(hold.allocated.iter().all(|a| a.qty > 0));
                    allocated += hold.allocated_at(loc);
                }
                other => prop_assert!(false, "an open hold is {other:?}"),
            }
        }
        prop_assert_eq!(p.reserved, reserved, "reserved at {}", loc);
        prop_assert_eq!(p.allocated, allocated, "allocated at {}", loc);
        // inbound is what is still expected into the location.
        let expected: i64 = snapshot.expected.iter().filter(|(l, _, _)| l.as_str() == *loc).map(|(_, _, q)| q).sum();
        prop_assert_eq!(p.inbound, expected, "inbound at {}", loc);
    }
    // Every pending hold line holds exactly its qty.
    for hold in &snapshot.holds {
        for line in &hold.lines {
            prop_assert_eq!(line.allocations.iter().map(|a| a.qty).sum::<i64>(), line.qty);
            prop_assert!(line.allocations.iter().all(|a| a.qty > 0));
        }
    }
    // next_expiry is the earliest expiry of a pending hold that is not prepared.
    let earliest = snapshot
        .holds
        .iter()
        .filter(|h| h.status == HoldStatus::Pending && !h.prepared)
        .map(|h| h.expires_at_ms())
        .min();
    prop_assert_eq!(w.ledger.next_expiry().map(|t| t.timestamp_millis()), earliest);
    // Only pending holds are prepared, exactly those the entries prepared and did not resolve yet.
    let prepared = snapshot.holds.iter().filter(|h| h.prepared).count();
    prop_assert_eq!(w.ledger.prepared_hold_count(), prepared);
    for hold in &snapshot.holds {
        prop_assert!(!hold.prepared || hold.status == HoldStatus::Pending);
        let seen = w.prepared.get(&hold.id).copied().unwrap_or(0);
        prop_assert!(seen <= 1, "{} prepared {} times", hold.id, seen);
        if hold.status == HoldStatus::Pending {
            prop_assert_eq!(hold.prepared, seen == 1, "{} prepared flag vs entries", hold.id);
        }
    }
    // Hold statuses agree with the resolutions seen in the entries.
    for hold_id in &w.placed {
        let status = w.ledger.hold_status(hold_id.as_str());
        match w.resolutions.get(hold_id) {
            Some(&(count, resolved)) => {
                prop_assert_eq!(count, 1, "{} resolved {} times", hold_id, count);
                prop_assert_eq!(status, Some(resolved));
            }
            None => prop_assert_eq!(status, Some(HoldStatus::Pending)),
        }
    }
    // Availability follows the contract's formulas.
    let policy = w.ledger.policy().unwrap();
    for channel in [None, Some("ch0"), Some("ch1")] {
        let av = w.ledger.availability(&w.catalog, channel).unwrap();
        let mut sum_available = 0;
        let mut on_hand = 0;
        for line in &av.locations {
            let p = w.ledger.position(w.catalog.slot(line.location.as_str()).unwrap());
            prop_assert_eq!(line.available, (p.on_hand - p.quarantined - p.damaged - p.reserved - p.allocated).max(0));
            prop_assert_eq!(line.on_hand, p.on_hand);
            sum_available += line.available;
            on_hand += line.on_hand;
        }
        prop_assert_eq!(av.on_hand, on_hand);
        let (buffer, cap, stop_below) = match channel {
            None => (0, None, None),
            Some(ch) => {
                let c = w.catalog.channels().find(|c| c.id.as_str() == ch).unwrap();
                (c.buffer, c.cap, c.stop_below)
            }
        };
        let mut want = (sum_available - policy.safety_stock - buffer).max(0);
        if let Some(cap) = cap {
            want = want.min(cap);
        }
        if stop_below.is_some_and(|s| sum_available < s) {
            want = 0;
        }
        prop_assert_eq!(av.available, want, "available of {:?}", channel);
        prop_assert_eq!(av.version, w.ledger.version());
    }
    Ok(())
}

fn run_case(setup: Setup, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut w = build(&setup);
    for (step, op) in ops.iter().enumerate() {
        if let Op::Advance { seconds } = op {
            w.now += Duration::seconds(*seconds);
        }
        let before = w.ledger.snapshot(&w.catalog);
        let before_version = w.ledger.version();
        // The same operation on a ledger restored from the JSON snapshot must do exactly the same.
        let json = serde_json::to_string(&before).unwrap();
        let mut shadow = SkuLedger::restore(&w.catalog, serde_json::from_str(&json).unwrap()).unwrap();
        prop_assert_eq!(&shadow.snapshot(&w.catalog), &before, "step {}: snapshot round-trip", step);

        let verdict = match op {
            Op::Move { .. } => Some(movement_oracle(&w, &positions(&w), &movement_for(&w, &w.ledger, op))),
            _ => None,
        };
        let mut ledger = std::mem::replace(&mut w.ledger, SkuLedger::new(id("tmp")));
        let result = run(&w, &mut ledger, op);
        w.ledger = ledger;
        // Movements follow the contract's table exactly.
        match (&verdict, &result) {
            (None, _) => {}
            (Some(Verdict::Applies(want)), Ok(_)) => {
                prop_assert_eq!(&positions(&w), want, "step {}: {:?}", step, op)
            }
            (Some(Verdict::Conflict), Err(EngineError::Conflict { .. }))
            | (Some(Verdict::Invalid), Err(EngineError::InvalidRequest { .. })) => {}
            (Some(_), result) => {
                let verdict = match &verdict {
                    Some(Verdict::Applies(_)) => "applies",
                    Some(Verdict::Conflict) => "conflict",
                    _ => "invalid",
                };
                prop_assert!(false, "step {}: {:?}: the table says {}, the ledger {:?}", step, op, verdict, result);
            }
        }
        let shadow_result = run(&w, &mut shadow, op);
        prop_assert_eq!(&result, &shadow_result, "step {}: restored ledger decided differently", step);

        let snapshot = w.ledger.snapshot(&w.catalog);
        prop_assert_eq!(&shadow.snapshot(&w.catalog), &snapshot, "step {}: restored ledger diverged", step);
        match &result {
            Err(_) => {
                prop_assert_eq!(w.ledger.version(), before_version, "step {}: failed {:?} changed version", step, op);
                prop_assert_eq!(&snapshot, &before, "step {}: failed {:?} changed state", step, op);
            }
            Ok(entries) => {
                for (i, entry) in entries.iter().enumerate() {
                    prop_assert_eq!(entry.version, before_version + 1 + i as u64);
                    match &entry.event {
                        Event::HoldPlaced { hold } => w.placed.push(hold.id.clone()),
                        Event::HoldCommitted { reservation } => {
                            let r = w.resolutions.entry(reservation.clone()).or_insert((0, HoldStatus::Committed));
                            r.0 += 1;
                        }
                        Event::HoldReleased { reservation } => {
                            let r = w.resolutions.entry(reservation.clone()).or_insert((0, HoldStatus::Released));
                            r.0 += 1;
                        }
                        Event::HoldExpired { reservation } => {
                            let prepared = w.prepared.contains_key(reservation);
                            prop_assert!(!prepared, "step {}: a prepared hold expired", step);
                            let r = w.resolutions.entry(reservation.clone()).or_insert((0, HoldStatus::Expired));
                            r.0 += 1;
                        }
                        Event::HoldPrepared { reservation } => {
                            prop_assert!(entry.effects.is_empty());
                            *w.prepared.entry(reservation.clone()).or_insert(0) += 1;
                        }
                        Event::Movement { movement, exceptions } => {
                            if movement.kind == MovementKind::Count {
                                let index = LOCATIONS.iter().position(|l| *l == movement.location.as_str()).unwrap();
                                if !exceptions.is_empty() {
                                    w.uncovered[index] = true;
                                }
                            } else {
                                prop_assert!(exceptions.is_empty());
                            }
                        }
                        Event::AllocationReleased { reservation, qty, .. } => {
                            prop_assert!(*qty > 0);
                            let resolution = w.resolutions.get(reservation).map(|r| r.1);
                            prop_assert_eq!(
                                resolution,
                                Some(HoldStatus::Committed),
                                "step {}: only committed units go back",
                                step
                            );
                        }
                        Event::SkuDefined { .. } | Event::InboundExpected { .. } | Event::CostRevalued { .. } => {}
                    }
                }
                prop_assert_eq!(w.ledger.version(), before_version + entries.len() as u64);
                w.entries.extend(entries.iter().cloned());
            }
        }
        if let Op::Expire = op {
            prop_assert!(
                w.ledger.next_expiry().is_none_or(|t| t > w.now),
                "step {}: a due hold is still pending after expire_due",
                step
            );
        }
        // Once a location is seen covered again, nothing but a count may uncover it.
        for (index, loc) in LOCATIONS.iter().enumerate() {
            let p = w.ledger.position(w.catalog.slot(loc).unwrap());
            if p.on_hand >= p.committed() {
                w.uncovered[index] = false;
            }
        }
        check_invariants(&w, &snapshot)?;
        let replayed = SkuLedger::replay(&w.catalog, id("sku-1"), &w.entries).unwrap();
        prop_assert_eq!(&replayed.snapshot(&w.catalog), &snapshot, "step {}: replay differs", step);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_hold(setup in setup_strategy(), ops in proptest::collection::vec(op_strategy(), 1..60)) {
        run_case(setup, ops)?;
    }
}

/// The random operations must actually exercise the interesting paths, or the property says little.
#[test]
fn random_operations_reach_every_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..64 {
        let setup = setup_strategy().new_tree(&mut runner).unwrap().current();
        let ops = proptest::collection::vec(op_strategy(), 60).new_tree(&mut runner).unwrap().current();
        let mut w = build(&setup);
        for op in &ops {
            if let Op::Advance { seconds } = op {
                w.now += Duration::seconds(*seconds);
            }
            let mut ledger = std::mem::replace(&mut w.ledger, SkuLedger::new(id("tmp")));
            let result = run(&w, &mut ledger, op);
            w.ledger = ledger;
            match result {
                Err(err) => *seen.entry(format!("err {}", err.code())).or_default() += 1,
                Ok(entries) => {
                    for entry in entries {
                        let name = match &entry.event {
                            Event::Movement { movement, exceptions } if !exceptions.is_empty() => {
                                format!("{} with exception", movement.kind.as_str())
                            }
                            Event::Movement { movement, .. } => movement.kind.as_str().to_string(),
                            Event::HoldPlaced { .. } => "placed".into(),
                            Event::HoldPrepared { .. } => "prepared".into(),
                            Event::HoldCommitted { .. } => "committed".into(),
                            Event::HoldReleased { .. } => "released".into(),
                            Event::HoldExpired { .. } => "expired".into(),
                            Event::SkuDefined { .. } => "defined".into(),
                            Event::InboundExpected { .. } => "inbound expected".into(),
                            Event::CostRevalued { .. } => "cost revalued".into(),
                            Event::AllocationReleased { .. } => "allocation released".into(),
                        };
                        if let Event::HoldPlaced { hold } = &entry.event {
                            w.placed.push(hold.id.clone());
                        }
                        *seen.entry(name).or_default() += 1;
                    }
                }
            }
        }
    }
    let mut paths = vec![
        "placed",
        "prepared",
        "committed",
        "released",
        "expired",
        "count with exception",
        "err conflict",
        "err invalid_request",
        "err insufficient_stock",
        "err already_resolved",
    ];
    paths.extend(KINDS.iter().map(|k| k.as_str()));
    for path in paths {
        assert!(seen.get(path).copied().unwrap_or(0) >= 3, "`{path}` is rarely reached: {seen:?}");
    }
}
