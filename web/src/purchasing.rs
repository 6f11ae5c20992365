//! Decisions on purchase orders from this device: queued in IndexedDB before anything is shown,
//! sent when online with their own Idempotency-Key (so a resend applies nothing twice), and each
//! answer recorded on the `Decisions` value the views show.

use crate::api::{self, CallError};
use crate::db;
use crate::state::{now_ms, AppState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;
use stockline_shared::{DecisionKind, DecisionState, Id, QueuedDecision};

thread_local! {
    /// One sender at a time: two overlapping sends would post the same decision twice (harmless
    /// under its key, but the second answer would be a replay to ignore).
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// Queues an approval or rejection of `order` at the `version` the approver read, then sends it
/// if online. A refusal to queue (a second decision, a rejection without a reason) is shown.
pub fn queue_decision(app: AppState, order: Id, kind: DecisionKind, version: u32, comment: String) {
    let key = match crate::sync::new_id() {
        Ok(id) => format!("decision-{id}"),
        Err(error) => return app.fail(error),
    };
    let decision = QueuedDecision {
        key,
        order: order.clone(),
        kind,
        version,
        comment,
        queued_at_ms: now_ms(),
        state: DecisionState::Pending,
    };
    // Checked now; stored; then taken into the live value (never a copy from before the await,
    // which would drop whatever changed meanwhile).
    if let Err(problem) = app.decisions.with_untracked(|d| d.clone().queue(decision.clone())) {
        return app.fail(problem);
    }
    spawn_local(async move {
        if let Err(error) = db::save_decision(&decision).await {
            return app.fail(format!("Not kept on this device, nothing queued: {error}"));
        }
        let mut taken = Err(String::new());
        app.decisions.update(|d| taken = d.queue(decision.clone()));
        let dropped = match taken {
            Ok(dropped) => dropped,
            Err(problem) => {
                if let Err(error) = db::delete_decision(&decision.key).await {
                    leptos::logging::warn!("forgetting a refused decision: {error}");
                }
                return app.fail(problem);
            }
        };
        for key in dropped {
            if let Err(error) = db::delete_decision(&key).await {
                leptos::logging::warn!("forgetting an old decision: {error}");
            }
        }
        let verb = if kind == DecisionKind::Approve { "Approval" } else { "Rejection" };
        if app.online.get_untracked() {
            app.ok(format!("{verb} of {order} sent…"));
            send_decisions(app).await;
        } else {
            app.ok(format!("{verb} of {order} saved on this device: it is sent when you are back online"));
        }
    });
}

/// Sends every pending decision, oldest first; an unreachable server leaves the rest pending.
pub async fn send_decisions(app: AppState) {
    if SENDING.with(|s| s.replace(true)) {
        return;
    }
    let Some(settings) = app.settings.get_untracked() else {
        SENDING.with(|s| s.set(false));
        return;
    };
    let pending: Vec<QueuedDecision> = app.decisions.with_untracked(|d| d.pending().cloned().collect());
    for decision in pending {
        // Signed out (or in as someone else) meanwhile: not sent under that name.
        let same_person = app.settings.with_untracked(|s| s.as_ref().is_some_and(|s| s.token == settings.token));
        let still_pending = app.decisions.with_untracked(|d| d.pending().any(|q| q.key == decision.key));
        if !same_person || !still_pending {
            continue;
        }
        let answer = api::decide(
            &settings.api_base,
            &settings.token,
            decision.order.as_str(),
            decision.kind.as_str(),
            &decision.key,
            &decision.request(),
        )
        .await;
        let state = match answer {
            Ok(order) => DecisionState::Applied { status: order.status.as_str().to_string() },
            Err(CallError::Unreachable) => break,
            Err(CallError::Refused { code, message, .. }) => DecisionState::Refused { code, message },
        };
        let mut recorded = None;
        app.decisions.update(|d| recorded = d.record(&decision.key, state).cloned());
        let Some(recorded) = recorded else { continue };
        if let Err(error) = db::save_decision(&recorded).await {
            leptos::logging::warn!("keeping the answer to {}: {error}", recorded.key);
        }
    }
    SENDING.with(|s| s.set(false));
}

/// Forgets a decided decision once its approver has looked at it.
pub fn dismiss(app: AppState, key: String) {
    spawn_local(async move {
        if let Err(error) = db::delete_decision(&key).await {
            return app.fail(format!("Not forgotten on this device: {error}"));
        }
        app.decisions.update(|d| {
            d.dismiss(&key);
        });
    });
}
