//! This device's replicas of SKU ledgers (the engine's `Replica`): fetched when a SKU is looked
//! up, kept in IndexedDB, and this device's queued movements applied to them *with the engine*,
//! so the stock card shows stock after them, and a movement the server would refuse is flagged,
//! in the engine's words, before it is queued. After a sync the replica is replaced by the
//! server's, and where the server's on hand differs from what the device projected, the card
//! says so until someone has seen it.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{self, Settings};
use crate::state::AppState;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use stockline_shared::{
    Actor, CountBasis, Ctx, DeviceOp, Difference, EngineError, Id, Movement, Outbox, Projection, Replica,
    ReplicaSnapshot, Role,
};

/// A replica as this device keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub snapshot: ReplicaSnapshot,
    /// When this device fetched it (ms since the epoch).
    pub fetched_ms: f64,
}

/// After a sync of a SKU: where the server's on hand was not what this device projected, by SKU,
/// until someone has seen it. Apart from the replicas (a lookup replaces a replica, never these),
/// in `AppState::differences` and, written through, in IndexedDB.
pub type Differences = std::collections::BTreeMap<String, Vec<Difference>>;

impl Kept {
    pub fn sku(&self) -> &str {
        self.snapshot.ledger.sku.as_str()
    }

    /// Whether this replica is older than the entry at `version` (it does not hold it).
    pub fn misses(&self, version: u64) -> bool {
        self.snapshot.ledger.version < version
    }
}

/// A movement the engine refused against the replica, waiting for the worker to queue it
/// anyway (expected to fail) or to drop it.
#[derive(Clone, Debug, PartialEq)]
pub struct Flagged {
    pub screen: &'static str,
    pub sku: Id,
    pub movements: Vec<Movement>,
    pub basis: Option<CountBasis>,
    /// The engine's refusal, in the words the outbox uses for the server's.
    pub reason: String,
    /// When the server gave the replica it was judged against ("10:42"): the server may know
    /// more since.
    pub copy_at: String,
}

/// The engine's refusal against a replica, and when the server gave that replica.
pub struct Refused {
    pub reason: String,
    pub copy_at: String,
}

/// What the stock card shows of a replica at this device's location.
#[derive(Clone, Debug, PartialEq)]
pub struct AtLocation {
    pub server_on_hand: i64,
    /// The server's time of the snapshot, as this device's clock shows it ("10:42").
    pub server_at: String,
    pub projected_on_hand: i64,
    /// This device's movements the replica does not hold yet.
    pub queued: usize,
    /// Of those, the ones the engine would refuse.
    pub refused: usize,
    /// How long the engine took to project them, in this browser.
    pub projection_ms: f64,
}

/// The caller and the clock the engine decides with on this device: who is signed in, now. A
/// device that does not know its role or its clock does not guess.
pub fn device_ctx(settings: &Settings, now_ms: f64) -> Result<Ctx, String> {
    let role = settings.role.as_deref().and_then(Role::from_name).ok_or("this device does not know its role")?;
    let subject = settings.subject.clone().ok_or("this device does not know who is signed in")?;
    let now = chrono::DateTime::from_timestamp_millis(now_ms as i64).ok_or("this device's clock gives no time")?;
    Ok(Ctx::new(Actor { subject, role }, now))
}

/// The replica and what this device's movements not in it yet do to it, decided by the engine
/// (`Replica::record_op`, which also keeps a count from adding this device's own operations twice).
pub fn project(kept: &Kept, outbox: &Outbox, ctx: &Ctx) -> Result<(Replica, Projection), String> {
    let replica = Replica::new(kept.snapshot.clone()).map_err(|e| format!("the saved copy is unreadable: {e}"))?;
    let mut projection = replica.start(ctx.now);
    for queued in outbox.ops().iter().filter(|q| q.op.sku.as_str() == kept.sku()) {
        if let Some(version) = queued.applied_version() {
            projection.knows(queued.op.op_id.as_str(), version);
        }
    }
    for queued in outbox.not_in_replica(kept.sku(), replica.version()) {
        let op = DeviceOp {
            op_id: queued.op.op_id.as_str(),
            movement: &queued.op.movement,
            includes_ops: queued.count_basis.as_ref().map(|basis| basis.own_ops.as_slice()),
        };
        // The outcome is kept in the projection.
        let _ = replica.record_op(&mut projection, op, ctx);
    }
    Ok((replica, projection))
}

/// The engine's refusal of `movements` after this device's queued ones, in the outbox's words;
/// `None` when it would take them, or when the replica cannot judge them (`Replica::judge`).
pub fn refusal(kept: &Kept, outbox: &Outbox, movements: &[Movement], ctx: &Ctx) -> Result<Option<String>, String> {
    let (replica, mut projection) = project(kept, outbox, ctx)?;
    Ok(movements
        .iter()
        .find_map(|movement| replica.judge(&mut projection, movement, ctx).map(|error| words(&error, movement))))
}

/// An engine error about a movement, as the outbox says the server's (the same words, so a worker
/// sees the same reason before queueing and after the server refused).
pub fn words(error: &EngineError, movement: &Movement) -> String {
    model::rejection_words(error.code(), &error.to_string(), movement.kind)
}

/// The stock card's line for `location`.
pub fn at_location(
    kept: &Kept,
    outbox: &Outbox,
    location: &str,
    ctx: &Ctx,
    clock: impl Fn() -> f64,
) -> Result<AtLocation, String> {
    let started = clock();
    let (replica, projection) = project(kept, outbox, ctx)?;
    let projection_ms = clock() - started;
    let server = replica.position(location).map_err(|e| e.to_string())?;
    let projected = replica.projected(&projection, location).map_err(|e| e.to_string())?;
    Ok(AtLocation {
        server_on_hand: server.on_hand,
        server_at: local_time(kept.snapshot.as_of.timestamp_millis() as f64),
        projected_on_hand: projected.on_hand,
        queued: projection.outcomes.len(),
        refused: projection.refused(),
        projection_ms,
    })
}

impl AtLocation {
    pub fn describe(&self) -> String {
        let now = format!("On hand now: {} (server, {})", self.server_on_hand, self.server_at);
        match (self.queued, self.refused) {
            (0, _) => now,
            (queued, 0) => format!("{now} → {} after your {}", self.projected_on_hand, operations(queued)),
            (queued, refused) => format!(
                "{now} → {} after your {} ({refused} would be refused)",
                self.projected_on_hand,
                operations(queued)
            ),
        }
    }
}

fn operations(n: usize) -> String {
    if n == 1 {
        "queued operation".to_string()
    } else {
        format!("{n} queued operations")
    }
}

/// A difference after sync, in words.
pub fn difference_words(difference: &Difference) -> String {
    let change = difference.server_on_hand - difference.projected_on_hand;
    format!(
        "At {} the server has {} on hand, this device expected {} ({change:+}): someone else moved stock meanwhile",
        difference.location, difference.server_on_hand, difference.projected_on_hand
    )
}

/// "10:42" in this device's time zone.
fn local_time(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// A clock for measuring in milliseconds, sub-millisecond where the browser allows.
pub fn clock_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Fetches the server's replica of `sku` and keeps it. Offline, the kept one; `None` when there
/// is neither.
pub async fn fetch(app: AppState, sku: &str) -> Option<Kept> {
    let settings = app.settings.get_untracked()?;
    match api::replica(&settings.api_base, &settings.token, sku).await {
        Ok(snapshot) => {
            let kept = Kept { snapshot, fetched_ms: js_sys::Date::now() };
            if let Err(error) = db::save_replica(&kept).await {
                leptos::logging::warn!("keeping the replica of {sku}: {error}");
            }
            Some(kept)
        }
        Err(CallError::Unreachable) => db::load_replica(sku).await.ok().flatten(),
        Err(refused) => {
            leptos::logging::warn!("replica of {sku}: {}", refused.describe());
            db::load_replica(sku).await.ok().flatten()
        }
    }
}

/// Shows `sku`'s replica on the stock card (fetched, or the kept one offline), and the
/// differences of its last sync not seen yet.
pub async fn show(app: AppState, sku: &str) {
    let kept = fetch(app, sku).await;
    app.replica.set(kept);
    if !app.differences.with_untracked(|all| all.contains_key(sku)) {
        let saved = db::load_differences(sku).await.ok().flatten().unwrap_or_default();
        // A sync may have found newer ones while this was read: those win.
        app.differences.update(|all| {
            all.entry(sku.to_string()).or_insert(saved);
        });
    }
}

/// Offline, the engine's refusal of `movements` against the kept replica of `sku`. Online the
/// server decides at once, and its refusal is corrected in place in the outbox. Not judged while
/// an operation of the SKU may have reached the server without this device knowing (one being
/// sent, or one whose send got no answer): the replica could then hold it and the projection
/// add it again.
pub async fn check(app: AppState, sku: &Id, movements: &[Movement]) -> Option<Refused> {
    if app.online.get_untracked() {
        return None;
    }
    let uncertain = app.outbox.with_untracked(|outbox| {
        app.sync.with_untracked(|sync| {
            outbox
                .ops()
                .iter()
                .any(|q| q.op.sku == *sku && q.is_pending() && (q.attempts > 0 || sync.sending.contains(&q.op.op_id)))
        })
    });
    if uncertain {
        return None;
    }
    let kept = db::load_replica(sku.as_str()).await.ok().flatten()?;
    let settings = app.settings.get_untracked()?;
    let ctx = match device_ctx(&settings, js_sys::Date::now()) {
        Ok(ctx) => ctx,
        Err(problem) => {
            leptos::logging::warn!("not checked against the replica: {problem}");
            return None;
        }
    };
    let result = app.outbox.with_untracked(|outbox| refusal(&kept, outbox, movements, &ctx));
    match result {
        Ok(refused) => {
            refused.map(|reason| Refused { reason, copy_at: local_time(kept.snapshot.as_of.timestamp_millis() as f64) })
        }
        Err(problem) => {
            leptos::logging::warn!("not checked against the replica: {problem}");
            None
        }
    }
}

/// After a sync: each of `skus` with no operation left to send gets the server's replica, and
/// the differences between the server's on hand and what this device projected: the kept
/// replica with this device's operations (applied since it was fetched) on it.
pub async fn reconcile(app: AppState, skus: Vec<String>) {
    let Some(settings) = app.settings.get_untracked() else { return };
    let Ok(ctx) = device_ctx(&settings, js_sys::Date::now()) else { return };
    for sku in skus {
        if app.outbox.with_untracked(|o| o.ops().iter().any(|q| q.is_pending() && q.op.sku.as_str() == sku)) {
            continue;
        }
        let Some(kept) = db::load_replica(&sku).await.ok().flatten() else { continue };
        let Ok(snapshot) = api::replica(&settings.api_base, &settings.token, &sku).await else { continue };
        let Ok(server) = Replica::new(snapshot.clone()) else { continue };
        let projected = app.outbox.with_untracked(|outbox| project(&kept, outbox, &ctx));
        let differences = match projected {
            Ok((replica, projection)) => replica.differences(&projection, &server),
            Err(_) => Vec::new(),
        };
        // New differences replace the ones not seen yet; none leaves those as they are.
        if !differences.is_empty() {
            app.differences.update(|all| {
                all.insert(sku.clone(), differences.clone());
            });
            if let Err(error) = db::save_differences(&sku, &differences).await {
                leptos::logging::warn!("keeping the differences of {sku}: {error}");
            }
        }
        let fresh = Kept { snapshot, fetched_ms: js_sys::Date::now() };
        if let Err(error) = db::save_replica(&fresh).await {
            leptos::logging::warn!("keeping the replica of {sku}: {error}");
        }
        if app.replica.with_untracked(|shown| shown.as_ref().is_some_and(|k| k.sku() == sku)) {
            app.replica.set(Some(fresh));
        }
    }
}

/// After the outbox cleared applied operations (`through`: the newest version each SKU's had): a
/// kept replica older than that saw them only through the outbox, so its projection would now
/// leave them out. It is fetched again; one that cannot be is forgotten, so the card says nothing
/// rather than something wrong, and nothing is judged against it.
pub async fn after_clearing(app: AppState, through: std::collections::BTreeMap<Id, u64>) {
    for (sku, version) in through {
        let Some(kept) = db::load_replica(sku.as_str()).await.ok().flatten() else { continue };
        if !kept.misses(version) {
            continue;
        }
        let fresh = match app.settings.get_untracked() {
            Some(settings) => api::replica(&settings.api_base, &settings.token, sku.as_str()).await.ok(),
            None => None,
        };
        let fresh =
            fresh.map(|snapshot| Kept { snapshot, fetched_ms: js_sys::Date::now() }).filter(|k| !k.misses(version));
        let kept = match fresh {
            Some(fresh) => db::save_replica(&fresh).await.map(|()| Some(fresh)),
            None => db::delete_replica(sku.as_str()).await.map(|()| None),
        };
        match kept {
            Ok(kept) => {
                if app.replica.with_untracked(|shown| shown.as_ref().is_some_and(|k| k.sku() == sku.as_str())) {
                    app.replica.set(kept);
                }
            }
            Err(error) => leptos::logging::warn!("the replica of {sku} after clearing the outbox: {error}"),
        }
    }
}

/// The worker has seen the differences of `sku`: kept so on the device first, then gone from
/// the screen (a reload right after does not bring them back).
pub fn dismiss_differences(app: AppState, sku: String) {
    leptos::task::spawn_local(async move {
        match db::save_differences(&sku, &[]).await {
            Ok(()) => app.differences.update(|all| {
                all.insert(sku, Vec::new());
            }),
            Err(error) => app.fail(format!("Not kept on this device: {error}")),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockline_shared::{OpState, QueuedOp, SyncOp};

    /// A replica of SKU `S` with 10 on hand at wh-1, at version 2, as the server sends it.
    fn kept() -> Kept {
        let position = r#"{"on_hand": 10, "quarantined": 0, "damaged": 0, "reserved": 0, "allocated": 0, "inbound": 0, "return_pending": 0}"#;
        let text = format!(
            r#"{{"catalog": {{"version": 1, "locations": [{{"location": "wh-1", "name": "Main", "kind": "warehouse", "region": "eu", "priority": 1}}], "channels": []}},
               "ledger": {{"sku": "S", "policy": {{"name": "S", "safety_stock": 0, "unit_cost": null}}, "version": 2,
                          "positions": [["wh-1", {position}]], "history": [], "holds": [], "resolved": [], "expected": [], "exceptions": []}},
               "as_of": "2026-12-04T10:42:00Z"}}"#
        );
        Kept { snapshot: serde_json::from_str(&text).expect("a replica snapshot"), fetched_ms: 0.0 }
    }

    fn ctx() -> Ctx {
        let settings =
            Settings { role: Some("warehouse".into()), subject: Some("tablet".into()), ..Settings::default() };
        device_ctx(&settings, 1_796_000_000_000.0).expect("a context")
    }

    fn movement(kind: &str, qty: i64, reference: Option<&str>) -> Movement {
        let mut body = serde_json::json!({"kind": kind, "location": "wh-1", "qty": qty});
        if let Some(reference) = reference {
            body["reference"] = reference.into();
        }
        if kind == "adjust" {
            body["reason"] = "lost".into();
        }
        serde_json::from_value(body).expect("a movement")
    }

    fn queued(id: &str, movement: Movement, state: OpState) -> QueuedOp {
        QueuedOp {
            op: SyncOp { op_id: Id::new(id).expect("id"), sku: Id::new("S").expect("id"), movement, occurred_at: None },
            seq: 1.0,
            screen: "receive".into(),
            state,
            attempts: 0,
            count_basis: None,
            decided_at_ms: None,
            expected_to_fail: false,
        }
    }

    #[test]
    fn a_movement_is_judged_after_the_devices_queued_ones() {
        let check = |queue: Vec<QueuedOp>, next: Movement, expected: Option<&str>| {
            let outbox = Outbox::new(queue);
            assert_eq!(refusal(&kept(), &outbox, &[next], &ctx()).expect("projects").as_deref(), expected);
        };
        let receive = |id: &str, qty: i64, state: OpState| queued(id, movement("receive", qty, None), state);
        let short = Some("there is not enough stock here for this (on_hand at wh-1 would become -5)");
        check(Vec::new(), movement("adjust", -15, None), short);
        check(vec![receive("a", 20, OpState::Pending)], movement("adjust", -15, None), None);
        // Applied after the replica's version: not in it yet, counted.
        check(
            vec![receive("a", 20, OpState::Applied { version: 3, exceptions: Vec::new() })],
            movement("adjust", -15, None),
            None,
        );
        // Applied at or before it: already in it, not counted twice.
        check(
            vec![receive("a", 5, OpState::Applied { version: 2, exceptions: Vec::new() })],
            movement("adjust", -15, None),
            short,
        );
        // Refused by the server: applied nothing.
        let refused = OpState::Rejected { code: "conflict".into(), message: "no".into() };
        check(vec![receive("a", 20, refused)], movement("adjust", -15, None), short);
        // A ship against a reservation the replica never saw: the server knows more.
        check(Vec::new(), movement("ship", 3, Some("res-new")), None);
        // A location the replica's catalog does not have yet: the server's may.
        let mut elsewhere = movement("adjust", -15, None);
        elsewhere.location = Id::new("wh-new").expect("id");
        check(Vec::new(), elsewhere, None);
    }

    #[test]
    fn a_replica_misses_the_entries_after_its_version() {
        assert!(!kept().misses(2), "version 2 is in the replica at version 2");
        assert!(kept().misses(3));
    }

    #[test]
    fn a_count_that_includes_this_devices_receive_does_not_add_it_twice() {
        let counted_at = |seen: u64| {
            let mut count = movement("count", 35, None);
            count.counted_at_version = Some(seen);
            count
        };
        let counted_seen = |seen: u64, own: &[&str], state: OpState| {
            let mut q = queued("c", counted_at(seen), state);
            q.count_basis = Some(CountBasis {
                seen_version: seen,
                own_ops: own.iter().map(|id| Id::new(*id).expect("id")).collect(),
                resolved: false,
            });
            q
        };
        let counted = |own: &[&str], state: OpState| counted_seen(2, own, state);
        let on_hand = |ops: Vec<QueuedOp>| {
            let (replica, projection) = project(&kept(), &Outbox::new(ops), &ctx()).expect("projects");
            (replica.projected(&projection, "wh-1").expect("wh-1").on_hand, projection.refused())
        };
        let receive = |state: OpState| queued("a", movement("receive", 20, None), state);
        // 10 on the shelf, 20 received here, 35 counted: the count says 35, whatever the order the
        // server learns them in.
        assert_eq!(on_hand(vec![receive(OpState::Pending), counted(&["a"], OpState::Pending)]), (35, 0));
        let applied = OpState::Applied { version: 3, exceptions: Vec::new() };
        assert_eq!(on_hand(vec![receive(applied.clone()), counted(&["a"], OpState::Pending)]), (35, 0));
        // Not named as included: the receive is added to the count (someone counted before it).
        assert_eq!(on_hand(vec![receive(OpState::Pending), counted(&[], OpState::Pending)]), (55, 0));
        // Counted from a card newer than the replica: taken as the units on the shelf.
        assert_eq!(on_hand(vec![counted_seen(9, &[], OpState::Pending)]), (35, 0));
    }

    #[test]
    fn the_card_line_says_stock_now_and_after_the_queue() {
        let line = |queued: usize, refused: usize| {
            AtLocation {
                server_on_hand: 20,
                server_at: "10:42".into(),
                projected_on_hand: 45,
                queued,
                refused,
                projection_ms: 0.1,
            }
            .describe()
        };
        assert_eq!(line(0, 0), "On hand now: 20 (server, 10:42)");
        assert_eq!(line(1, 0), "On hand now: 20 (server, 10:42) → 45 after your queued operation");
        assert_eq!(line(2, 0), "On hand now: 20 (server, 10:42) → 45 after your 2 queued operations");
        assert_eq!(
            line(3, 1),
            "On hand now: 20 (server, 10:42) → 45 after your 3 queued operations (1 would be refused)"
        );
    }

    #[test]
    fn a_device_that_does_not_know_who_or_when_does_not_guess() {
        let settings = Settings { role: Some("warehouse".into()), subject: None, ..Settings::default() };
        assert!(device_ctx(&settings, 0.0).is_err());
        let settings = Settings { role: Some("wizard".into()), subject: Some("x".into()), ..Settings::default() };
        assert!(device_ctx(&settings, 0.0).is_err());
        let settings = Settings { role: Some("warehouse".into()), subject: Some("x".into()), ..Settings::default() };
        assert!(device_ctx(&settings, f64::MAX).is_err());
    }
}
