//! The sync engine: sends the outbox in order when online (and on demand), records each result,
//! and backs off while the server cannot be reached. Decisions about the outbox are the
//! `Outbox`'s; this only moves data between it, IndexedDB and the server.

use crate::api::{self, CallError};
use crate::app::App;
use crate::db;
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;
use stockline_shared::{Id, Movement, OpState, QueuedOp, SyncOp, SyncOutcome, SYNC_OPS_MAX};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    pub running: bool,
    pub done: usize,
    pub total: usize,
    pub last_error: Option<String>,
    /// When the next automatic attempt may start (ms since the epoch).
    pub next_attempt_ms: f64,
    pub last_synced_ms: Option<f64>,
}

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
pub async fn enqueue(app: App, screen: &str, sku: Id, movements: Vec<Movement>) -> Result<Vec<QueuedOp>, String> {
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
pub async fn sync_now(app: App) {
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
    loop {
        let batch = app.outbox.with_untracked(|o| o.next_batch(SYNC_OPS_MAX));
        if batch.is_empty() {
            break;
        }
        match api::push(&settings.api_base, &settings.token, batch.clone()).await {
            Ok(response) => {
                let changed = app.outbox.try_update(|o| o.record(&response.results)).unwrap_or_default();
                if let Err(e) = db::save_ops(&changed).await {
                    error = Some(format!("Could not save sync results: {e}"));
                    break;
                }
                let decided = response.results.iter().filter(|r| r.outcome != SyncOutcome::Retry).count();
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
    let now = js_sys::Date::now();
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
pub fn start(app: App) {
    let interval = Interval::new(1000, move || {
        let due = app.online.get_untracked()
            && app.outbox.with_untracked(|o| o.tally().pending > 0)
            && app.sync.with_untracked(|s| !s.running && js_sys::Date::now() >= s.next_attempt_ms);
        if due {
            spawn_local(sync_now(app));
        }
    });
    interval.forget();
}
