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
    Actor, CountBasis, Ctx, Difference, EngineError, Id, Movement, Outbox, Projection, Replica, ReplicaSnapshot, Role,
};

/// A replica as this device keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub snapshot: ReplicaSnapshot,
    /// When this device fetched it (ms since the epoch).
    pub fetched_ms: f64,
    /// After the last sync of the SKU: where the server's on hand was not what this device
    /// projected. Kept until someone dismisses it.
    #[serde(default)]
    pub differences: Vec<Difference>,
}

impl Kept {
    pub fn sku(&self) -> &str {
        self.snapshot.ledger.sku.as_str()
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

/// The replica and what this device's movements not in it yet (then `extra`) do to it.
pub fn project(kept: &Kept, outbox: &Outbox, extra: &[Movement], ctx: &Ctx) -> Result<(Replica, Projection), String> {
    let replica = Replica::new(kept.snapshot.clone()).map_err(|e| format!("the saved copy is unreadable: {e}"))?;
    let queued = outbox.not_in_replica(kept.sku(), replica.version()).map(|q| &q.op.movement);
    let projection = replica.project(queued.chain(extra), ctx);
    Ok((replica, projection))
}

/// The engine's refusal of `movements` after this device's queued ones, in the outbox's words;
/// `None` when it would take them.
pub fn refusal(kept: &Kept, outbox: &Outbox, movements: &[Movement], ctx: &Ctx) -> Result<Option<String>, String> {
    let (_, projection) = project(kept, outbox, movements, ctx)?;
    let first_new = projection.outcomes.len() - movements.len();
    Ok(projection.outcomes[first_new..]
        .iter()
        .zip(movements)
        .find_map(|(outcome, movement)| outcome.as_ref().err().map(|error| words(error, movement))))
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
    let (replica, projection) = project(kept, outbox, &[], ctx)?;
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

/// Fetches the server's replica of `sku` and keeps it (differences not yet seen stay). Offline,
/// the kept one; `None` when there is neither.
pub async fn fetch(app: AppState, sku: &str) -> Option<Kept> {
    let settings = app.settings.get_untracked()?;
    let saved = db::load_replica(sku).await.ok().flatten();
    match api::replica(&settings.api_base, &settings.token, sku).await {
        Ok(snapshot) => {
            let differences = saved.map(|kept| kept.differences).unwrap_or_default();
            let kept = Kept { snapshot, fetched_ms: js_sys::Date::now(), differences };
            if let Err(error) = db::save_replica(&kept).await {
                leptos::logging::warn!("keeping the replica of {sku}: {error}");
            }
            Some(kept)
        }
        Err(CallError::Unreachable) => saved,
        Err(refused) => {
            leptos::logging::warn!("replica of {sku}: {}", refused.describe());
            saved
        }
    }
}

/// Shows `sku`'s replica on the stock card (fetched, or the kept one offline).
pub async fn show(app: AppState, sku: &str) {
    let kept = fetch(app, sku).await;
    app.replica.set(kept);
}

/// The engine's refusal of `movements` against the kept replica of `sku`, if any is kept.
pub async fn check(app: AppState, sku: &Id, movements: &[Movement]) -> Option<String> {
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
        Ok(refused) => refused,
        Err(problem) => {
            leptos::logging::warn!("not checked against the replica: {problem}");
            None
        }
    }
}

/// What this device expects the server to hold for a SKU once its queued movements sync.
pub struct Expected {
    kept: Kept,
    replica: Replica,
    projection: Projection,
}

/// Before a sync: the projections of the SKUs with queued movements and a kept replica.
pub async fn expectations(app: AppState) -> Vec<Expected> {
    let Some(settings) = app.settings.get_untracked() else { return Vec::new() };
    let Ok(ctx) = device_ctx(&settings, js_sys::Date::now()) else { return Vec::new() };
    let mut skus: Vec<String> = app
        .outbox
        .with_untracked(|o| o.ops().iter().filter(|q| q.is_pending()).map(|q| q.op.sku.to_string()).collect());
    skus.sort();
    skus.dedup();
    let mut out = Vec::new();
    for sku in skus {
        let Some(kept) = db::load_replica(&sku).await.ok().flatten() else { continue };
        let projected = app.outbox.with_untracked(|outbox| project(&kept, outbox, &[], &ctx));
        if let Ok((replica, projection)) = projected {
            out.push(Expected { kept, replica, projection });
        }
    }
    out
}

/// After a sync: each SKU whose movements were all decided gets the server's replica, and the
/// differences from what this device expected.
pub async fn reconcile(app: AppState, expected: Vec<Expected>) {
    let Some(settings) = app.settings.get_untracked() else { return };
    for Expected { kept, replica, projection } in expected {
        let sku = kept.sku().to_string();
        if app.outbox.with_untracked(|o| o.ops().iter().any(|q| q.is_pending() && q.op.sku.as_str() == sku)) {
            continue;
        }
        let Ok(snapshot) = api::replica(&settings.api_base, &settings.token, &sku).await else { continue };
        let Ok(server) = Replica::new(snapshot.clone()) else { continue };
        let mut differences = replica.differences(&projection, &server);
        if differences.is_empty() {
            differences = kept.differences;
        }
        let fresh = Kept { snapshot, fetched_ms: js_sys::Date::now(), differences };
        if let Err(error) = db::save_replica(&fresh).await {
            leptos::logging::warn!("keeping the replica of {sku}: {error}");
        }
        if app.replica.with_untracked(|shown| shown.as_ref().is_some_and(|k| k.sku() == sku)) {
            app.replica.set(Some(fresh));
        }
    }
}

/// The worker has seen the differences of the replica on the card.
pub fn dismiss_differences(app: AppState) {
    let Some(mut kept) = app.replica.get_untracked() else { return };
    kept.differences.clear();
    app.replica.set(Some(kept.clone()));
    leptos::task::spawn_local(async move {
        if let Err(error) = db::save_replica(&kept).await {
            leptos::logging::warn!("keeping the replica of {}: {error}", kept.sku());
        }
    });
}
