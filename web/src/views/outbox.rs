//! The outbox: every operation this device made, newest first, with where it stands in words;
//! a refused one can be corrected (any field) and sent again, or discarded (confirmed, undoable);
//! a count that disagrees asks for a recount.

use crate::db;
use crate::model::{self, build, parse_qty, Form, QtyKind, Screen};
use crate::state::{now_ms, AppState};
use crate::sync;
use crate::views::fields::Status;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Disposition, Id, MovementKind, OpState, QueuedOp, ReceiveInto};

/// How long "Undo" is offered after a discard.
const UNDO_MS: u32 = 10_000;

#[component]
pub fn OutboxView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let ops = Memo::new(move |_| {
        let mut ops: Vec<QueuedOp> = app.outbox.with(|o| o.ops().to_vec());
        ops.reverse();
        ops
    });
    view! {
        <section class="card">
            <h2>"Outbox"</h2>
            <p class="muted" data-testid="outbox-summary">
                {move || {
                    let t = app.outbox.with(|o| o.tally());
                    let synced = app.sync.with(|s| s.last_synced_ms).map(|ms| format!(" · last sent {}", model::age(ms, now_ms()))).unwrap_or_default();
                    format!("{} to sync · {} done · {} need attention{synced}", t.pending, t.applied, t.attention)
                }}
            </p>
            <button class="primary" data-testid="sync-now" on:click=move |_| spawn_local(sync::sync_now(app))>"Send now"</button>
            <p class="muted small">"Done operations are cleared from this list after 15 minutes."</p>
            <Status/>
            <ul class="ops">
                <For each=move || ops.get() key=|q| (q.op.op_id.to_string(), row_state(q)) let:queued>
                    <OpRow queued/>
                </For>
            </ul>
        </section>
        // Receipts against purchase orders go under their own keys, not in this list's batches.
        <crate::views::receive::Receipts/>
    }
}

/// What a row shows changes with these: the row is drawn again when one does.
fn row_state(queued: &QueuedOp) -> (u8, u64, u32) {
    match &queued.state {
        OpState::Pending => (0, 0, queued.attempts),
        OpState::Applied { version, exceptions } => (1, *version, exceptions.len() as u32),
        OpState::Rejected { .. } => (2, 0, 0),
    }
}

#[component]
fn OpRow(queued: QueuedOp) -> impl IntoView {
    let app = expect_context::<AppState>();
    let op_id = queued.op.op_id.clone();
    let name = app.items.with_untracked(|i| i.name(queued.op.sku.as_str()).map(str::to_string));
    let text = model::describe(queued.op.sku.as_str(), name.as_deref(), &queued.op.movement);
    let state = {
        let (queued, op_id) = (queued.clone(), op_id.clone());
        move || {
            let sending = app.sync.with(|s| s.sending.contains(&op_id));
            model::state_words(&queued, sending, app.online.get())
        }
    };
    let tag = state().0;
    let data_state = match tag {
        "sending" => "pending",
        other => other,
    };
    let rejected = queued.is_rejected();
    let attention = queued.has_exceptions();
    let recount = {
        let (op_id, sku) = (op_id.clone(), queued.op.sku.to_string());
        move |_| {
            let acknowledged = app.outbox.try_update(|o| o.acknowledge(op_id.as_str())).flatten();
            if let Some(changed) = acknowledged {
                spawn_local(async move {
                    let _ = db::save_op(&changed).await;
                });
            }
            app.prefill.set(Some(sku.clone()));
            app.go(Screen::Count);
        }
    };
    view! {
        <li class=format!("op {tag}") data-testid="op" data-state=data_state>
            <span class="what">{text}</span>
            {queued.expected_to_fail.then(|| view! {
                <span class="badge" data-testid="expected-to-fail" title="Queued although this device's copy said the server would refuse it">"expected to fail"</span>
            })}
            <span class="state" data-testid="op-state">{move || state().1}</span>
            {rejected.then(|| view! { <Correct queued=queued.clone()/> })}
            {attention.then(|| view! {
                <div class="row resolve">
                    <button class="primary" data-testid="recount" on:click=recount.clone()>"Count again"</button>
                </div>
            })}
        </li>
    }
}

/// A refused operation's fields, all editable, to send it again; or discard it.
#[component]
fn Correct(queued: QueuedOp) -> impl IntoView {
    let app = expect_context::<AppState>();
    let movement = queued.op.movement.clone();
    let kind = movement.kind;
    let sku = RwSignal::new(queued.op.sku.to_string());
    let qty = RwSignal::new(movement.qty.to_string());
    let reason = RwSignal::new(movement.reason.clone().unwrap_or_default());
    let reference = RwSignal::new(movement.reference.clone().unwrap_or_default());
    let to = RwSignal::new(movement.to_location.as_ref().map(Id::to_string).unwrap_or_default());
    let confirming = RwSignal::new(false);
    let op_id = queued.op.op_id.clone();
    let resend = {
        let op_id = op_id.clone();
        let movement = movement.clone();
        move |_| {
            let qty_kind = match kind {
                MovementKind::Adjust => QtyKind::Change,
                MovementKind::Count => QtyKind::Count,
                _ => QtyKind::Units,
            };
            let built = app.item_for(&sku.get_untracked()).and_then(|id| {
                let form = Form {
                    qty: parse_qty(&qty.get_untracked(), qty_kind)?,
                    reason: reason.get_untracked(),
                    reference: reference.get_untracked(),
                    to_location: to.get_untracked(),
                    to_quarantine: movement.into == Some(ReceiveInto::Quarantine),
                    disposition: movement.disposition.or(Some(Disposition::Restock)),
                };
                let mut corrected = build(kind, &movement.location, &form)?;
                corrected.counted_at_version = movement.counted_at_version;
                Ok((id, corrected))
            });
            let (id, corrected) = match built {
                Ok(built) => built,
                Err(problem) => return app.fail(problem),
            };
            let new_id = match sync::new_id() {
                Ok(new_id) => new_id,
                Err(problem) => return app.fail(problem),
            };
            let changed = app.outbox.try_update(|o| o.resend(op_id.as_str(), new_id, id, corrected)).flatten();
            let old_id = op_id.to_string();
            spawn_local(async move {
                if let Some(changed) = changed {
                    if let Err(error) = db::replace_op(&old_id, &changed).await {
                        return app.fail(format!("Could not save on this device: {error}"));
                    }
                    app.notice.set(None);
                    app.last_op.set(Some(changed.op.op_id.clone()));
                    sync::sync_now(app).await;
                }
            });
        }
    };
    let discard = move |_| {
        let Some(removed) = app.outbox.try_update(|o| o.discard(op_id.as_str())).flatten() else { return };
        let id = removed.op.op_id.to_string();
        // Undo is offered once the device has forgotten it, so an undo's write comes after.
        spawn_local(async move {
            if let Err(error) = db::delete_ops(&[id.as_str()]).await {
                // Still on the device: back on the screen too.
                app.outbox.update(|o| o.restore(removed));
                return app.fail(format!("Could not save on this device: {error}"));
            }
            app.undo.set(Some(removed));
            Timeout::new(UNDO_MS, move || app.undo.set(None)).forget();
        });
    };
    view! {
        <div class="resolve" data-testid="correct">
            <div class="row">
                <label>"Item" <input type="text" data-testid="resend-sku" bind:value=sku autocomplete="off"/></label>
                <label class="qty">"Quantity" <input type="text" inputmode="text" data-testid="resend-qty" bind:value=qty autocomplete="off"/></label>
            </div>
            {(kind == MovementKind::Adjust).then(|| view! {
                <label>"Reason" <input type="text" data-testid="resend-reason" bind:value=reason autocomplete="off"/></label>
            })}
            {matches!(kind, MovementKind::Ship | MovementKind::Transfer | MovementKind::Receive).then(|| view! {
                <label>{if kind == MovementKind::Ship { "Order" } else { "Reference" }}
                    <input type="text" data-testid="resend-reference" bind:value=reference autocomplete="off"/></label>
            })}
            {(kind == MovementKind::Transfer).then(|| view! {
                <label>"To location" <input type="text" data-testid="resend-to" bind:value=to autocomplete="off"/></label>
            })}
            <div class="row">
                <button class="primary" data-testid="resend" on:click=resend>"Correct and send again"</button>
                {move || if confirming.get() {
                    view! {
                        <span class="confirm-inline" role="alert">"Discard it? It will not be recorded."</span>
                        <button class="danger" data-testid="discard-confirm" on:click=discard.clone()>"Yes, discard"</button>
                        <button data-testid="discard-cancel" on:click=move |_| confirming.set(false)>"Keep"</button>
                    }.into_any()
                } else {
                    view! { <button data-testid="discard" on:click=move |_| confirming.set(true)>"Discard…"</button> }.into_any()
                }}
            </div>
        </div>
    }
}
