//! The sync engine: sends the outbox in order when online (and on demand), records each result,
//! and backs off while the server cannot be reached. Decisions about the outbox are the
//! `Outbox`'s; this only moves data between it, IndexedDB and the server.

use crate::api::{self, CallError};
use crate::db;
use crate::model::StockCard;
use crate::model::{ItemIndex, Settings};
use crate::replica::{Flagged, Refused};
use crate::state::AppState;
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;
use stockline_shared::{CountBasis, Id, Movement, OpState, Outbox, QueuedOp, SyncOp, SYNC_OPS_MAX};

thread_local! {
    static LAST_SEQ: Cell<f64> = const { Cell::new(0.0) };
}

/// Strictly increasing order numbers: ms × 1000, bumped within the same millisecond.
fn next_seq() -> f64 {
    let candidate = js_sys::Date::now() * 1000.0;
    LAST_SEQ.with(|last| {
        let seq = candidate.max(last.get() + 1.0);
        last.set(seq);
        seq
    })
}

/// A fresh operation id from the browser's cryptographic random source. Without one there is no
/// id that is safe to use as an Idempotency-Key: the operation is refused, never given a weak id.
fn new_op_id() -> Result<Id, String> {
    let crypto = web_sys::window()
        .ok_or("no window: cannot make an operation id")?
        .crypto()
        .map_err(|_| "this browser offers no crypto random source: cannot make an operation id".to_string())?;
    Id::new(format!("op-{}", crypto.random_uuid())).map_err(|e| format!("operation id: {e}"))
}

pub fn new_id() -> Result<Id, String> {
    new_op_id()
}

/// Queues movements of one SKU: stored in IndexedDB before anything is shown, then sent when online.
/// A count carries what it was taken from (`count_basis`); `expected_to_fail` marks movements the
/// engine refused against this device's replica and the worker queued anyway.
pub async fn enqueue(
    app: AppState,
    screen: &str,
    sku: Id,
    movements: Vec<Movement>,
    count_basis: Option<CountBasis>,
    expected_to_fail: bool,
) -> Result<Vec<QueuedOp>, String> {
    let occurred_at = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64);
    let ops: Vec<QueuedOp> = movements
        .into_iter()
        .map(|movement| {
            Ok(QueuedOp {
                op: SyncOp { op_id: new_op_id()?, sku: sku.clone(), movement, occurred_at },
                seq: next_seq(),
                screen: screen.to_string(),
                state: OpState::Pending,
                attempts: 0,
                count_basis: count_basis.clone(),
                decided_at_ms: None,
                expected_to_fail,
            })
        })
        .collect::<Result<_, String>>()?;
    db::save_ops(&ops).await?;
    app.outbox.update(|outbox| {
        for op in &ops {
            outbox.add(op.clone());
        }
    });
    if app.online.get_untracked() {
        spawn_local(sync_now(app));
    }
    Ok(ops)
}

/// Sends every pending operation, 100 at a time, in order.
pub async fn sync_now(app: AppState) {
    let Some(settings) = app.settings.get_untracked().filter(|s| s.signed_in()) else { return };
    if app.sync.with_untracked(|s| s.running) {
        return;
    }
    let total = app.outbox.with_untracked(|o| o.tally().pending);
    if total == 0 {
        return;
    }
    app.sync.update(|s| {
        s.running = true;
        s.done = 0;
        s.total = total;
        s.last_error = None;
    });
    let mut error = None;
    // The SKUs this sync may decide: their replicas are fetched again after it.
    let mut skus: Vec<String> = app
        .outbox
        .with_untracked(|o| o.ops().iter().filter(|q| q.is_pending()).map(|q| q.op.sku.to_string()).collect());
    skus.sort();
    skus.dedup();
    loop {
        let (batch, fixed) = app.outbox.try_update(|o| o.next_batch(SYNC_OPS_MAX)).unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        // A count's body is fixed now (the versions it includes): stored before it is sent, so
        // every send of it is the same request.
        if let Err(e) = db::save_ops(&fixed).await {
            error = Some(format!("Could not save on this device: {e}"));
            break;
        }
        app.sync.update(|s| s.sending = batch.iter().map(|op| op.op_id.clone()).collect());
        let pushed = api::push(&settings.api_base, &settings.token, batch.clone()).await;
        app.sync.update(|s| s.sending.clear());
        match pushed {
            Ok(response) => {
                let now_ms = js_sys::Date::now();
                let changed = app.outbox.try_update(|o| o.record(&response.results, now_ms)).unwrap_or_default();
                if let Err(e) = db::save_ops(&changed).await {
                    error = Some(format!("Could not save sync results: {e}"));
                    break;
                }
                for position in Outbox::positions(&response.results) {
                    take_position(app, position, now_ms).await;
                }
                // Decided is what the outbox took as decided (an "applied" without its version is
                // not): a push that decides nothing ends this round instead of repeating at once.
                let decided = changed.iter().filter(|q| !q.is_pending()).count();
                app.sync.update(|s| s.done += decided);
                if decided == 0 {
                    error = Some("The server could not decide; will retry".to_string());
                    break;
                }
            }
            Err(CallError::Unreachable) => {
                let changed = app.outbox.try_update(|o| o.unreachable(&batch)).unwrap_or_default();
                let _ = db::save_ops(&changed).await;
                error = Some("Offline: will send when the server can be reached".to_string());
                break;
            }
            Err(refused) => {
                error = Some(refused.describe());
                break;
            }
        }
    }
    crate::replica::reconcile(app, skus).await;
    let now = js_sys::Date::now();
    let cleared = app.outbox.try_update(|o| o.prune(now)).unwrap_or_default();
    let cleared_ids: Vec<&str> = cleared.iter().map(|q| q.op.op_id.as_str()).collect();
    if let Err(e) = db::delete_ops(&cleared_ids).await {
        leptos::logging::warn!("clearing applied operations: {e}");
    }
    crate::replica::after_clearing(app, Outbox::applied_through(&cleared)).await;
    let delay_ms = app.outbox.with_untracked(|o| o.retry_delay_ms()) as f64;
    app.sync.update(|s| {
        s.running = false;
        if error.is_none() {
            s.last_synced_ms = Some(now);
        }
        s.next_attempt_ms = if error.is_some() { now + delay_ms } else { now };
        s.last_error = error;
    });
}

/// Tries again on its own: whenever online with work pending and the backoff has passed.
pub fn start(app: AppState) {
    let interval = Interval::new(1000, move || {
        let due = app.online.get_untracked()
            && app.outbox.with_untracked(|o| o.tally().pending > 0)
            && app.sync.with_untracked(|s| !s.running && js_sys::Date::now() >= s.next_attempt_ms);
        if due {
            spawn_local(sync_now(app));
        }
        if app.online.get_untracked() && app.decisions.with_untracked(|d| d.pending().next().is_some()) {
            spawn_local(crate::purchasing::send_decisions(app));
        }
        if app.online.get_untracked() && app.receiving.with_untracked(|r| r.pending().next().is_some()) {
            spawn_local(crate::receiving::send(app));
        }
    });
    interval.forget();
}

/// A position a sync result carried: the saved card (and the one on screen) follow when newer.
async fn take_position(app: AppState, position: stockline_shared::AvailabilityResponse, now_ms: f64) {
    let sku = position.availability.sku.to_string();
    let saved = db::load_card(&sku).await.ok().flatten();
    if saved.as_ref().is_none_or(|card| card.is_older_than(&position)) {
        let fresh = StockCard::live(position.clone(), now_ms);
        if let Err(e) = db::save_card(&fresh).await {
            leptos::logging::warn!("saving the stock card of {sku}: {e}");
        }
    }
    let on_screen = app.card.with_untracked(|c| c.as_ref().is_some_and(|c| c.sku == sku && c.is_older_than(&position)));
    if on_screen {
        app.card.set(Some(StockCard::live(position, now_ms)));
    }
}

/// Queues movements of one SKU from a screen; the status line then follows the operation. When
/// the engine, against this device's replica of the SKU and after its queued movements, refuses
/// them, nothing is queued: the refusal is shown with "Queue anyway".
pub fn queue(app: AppState, screen: &'static str, sku: Id, movements: Vec<Movement>, basis: Option<CountBasis>) {
    app.remember(sku.as_str());
    app.flagged.set(None);
    spawn_local(async move {
        if let Some(Refused { reason, copy_at }) = crate::replica::check(app, &sku, &movements).await {
            app.notice.set(None);
            app.last_op.set(None);
            app.flagged.set(Some(Flagged { screen, sku, movements, basis, reason, copy_at }));
            return;
        }
        queued(app, screen, sku, movements, basis, false).await;
    });
    app.focus_item_field();
}

/// Queues the flagged movements as they are, marked as expected to fail.
pub fn queue_anyway(app: AppState) {
    let Some(Flagged { screen, sku, movements, basis, .. }) = app.flagged.get_untracked() else { return };
    app.flagged.set(None);
    spawn_local(queued(app, screen, sku, movements, basis, true));
    app.focus_item_field();
}

async fn queued(
    app: AppState,
    screen: &'static str,
    sku: Id,
    movements: Vec<Movement>,
    basis: Option<CountBasis>,
    expected_to_fail: bool,
) {
    match enqueue(app, screen, sku, movements, basis, expected_to_fail).await {
        Ok(ops) => {
            app.notice.set(None);
            app.last_op.set(ops.last().map(|q| q.op.op_id.clone()));
        }
        Err(error) => app.fail(format!("Not saved on this device: {error}")),
    }
}

pub fn refresh_locations(app: AppState) {
    let Some(settings) = app.settings.get_untracked().filter(Settings::signed_in) else { return };
    spawn_local(async move {
        if let Ok(locations) = api::locations(&settings.api_base, &settings.token).await {
            let _ = db::save_locations(&locations).await;
            app.locations.set(locations);
        }
    });
}

/// Fetches the item list (names, barcodes) and keeps it for offline use.
pub fn refresh_items(app: AppState) {
    let Some(settings) = app.settings.get_untracked().filter(Settings::signed_in) else { return };
    spawn_local(async move {
        match api::items(&settings.api_base, &settings.token).await {
            Ok(items) => {
                if let Err(error) = db::save_items(&items).await {
                    leptos::logging::warn!("saving the item list: {error}");
                }
                app.items.set(ItemIndex::new(items));
            }
            Err(CallError::Unreachable) => {}
            Err(refused) => leptos::logging::warn!("item list: {}", refused.describe()),
        }
    });
}
