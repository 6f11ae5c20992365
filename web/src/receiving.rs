//! Receiving against purchase orders at the dock: the orders on their way here, fetched when
//! online and kept for offline; receipts queued in IndexedDB before anything is shown, sent when
//! online under their own Idempotency-Key (a resend applies nothing twice), and each answer
//! recorded on the `Receiving` value the Receive screen shows.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{Fetched, Source};
use crate::state::{now_ms, AppState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::Cell;
use stockline_shared::{DecisionState, DeliveriesResponse, Id, QueuedReceipt, ReceiptSpec};

thread_local! {
    /// One sender at a time (see `purchasing::SENDING`).
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// Puts the saved copy of the deliveries and this device's receipts on screen (start-up, offline).
pub async fn load(app: AppState) {
    let receipts = match db::load_receipts().await {
        Ok(receipts) => receipts,
        Err(error) => {
            app.fail(format!("The receipts waiting on this device cannot be read: {error}"));
            Vec::new()
        }
    };
    let saved = db::load_deliveries().await.unwrap_or_else(|error| {
        leptos::logging::warn!("the saved deliveries cannot be read: {error}");
        None
    });
    let orders = saved.as_ref().map(|copy| copy.value.orders.clone()).unwrap_or_default();
    app.receiving.set(stockline_shared::Receiving::new(orders, receipts));
    app.deliveries_at.set(saved.map(|copy| Fetched {
        fetched_at_ms: copy.fetched_at_ms,
        value: copy.value.location,
        source: Source::Saved,
    }));
}

/// Fetches the orders on their way to this device's location, when online; keeps the copy.
pub fn refresh(app: AppState) {
    let Some(location) = app.location() else { return };
    let Some(settings) = app.settings.get_untracked() else { return };
    if !app.online.get_untracked() || !settings.may_record_movements() {
        return;
    }
    spawn_local(async move {
        match api::deliveries(&settings.api_base, &settings.token, location.as_str()).await {
            Ok(list) => {
                let copy = Fetched::live(list, now_ms());
                if let Err(error) = db::save_deliveries(&copy).await {
                    leptos::logging::warn!("keeping the deliveries: {error}");
                }
                app.receiving.update(|r| r.refresh(copy.value.orders.clone()));
                app.deliveries_at.set(Some(Fetched::live(copy.value.location, copy.fetched_at_ms)));
            }
            Err(CallError::Unreachable) => {}
            Err(error) => app.fail(format!("The deliveries could not be fetched: {}", error.describe())),
        }
    });
}

/// Queues a receipt against `order` at this device's location, checked first by the engine
/// against the order as this device sees it; then sends it if online. False when refused (the
/// reason is shown).
pub fn queue(app: AppState, order: Id, spec: ReceiptSpec) -> bool {
    let Some(location) = app.location() else {
        app.fail("Choose this device's location first");
        return false;
    };
    let key = match crate::sync::new_id() {
        Ok(id) => format!("receipt-{id}"),
        Err(error) => {
            app.fail(error);
            return false;
        }
    };
    let receipt = QueuedReceipt { key, order, location, spec, queued_at_ms: now_ms(), state: DecisionState::Pending };
    let mut next = app.receiving.get_untracked();
    let dropped = match next.queue(receipt.clone()) {
        Ok(dropped) => dropped,
        Err(problem) => {
            app.fail(format!("Not received: {problem}"));
            return false;
        }
    };
    spawn_local(async move {
        if let Err(error) = db::save_receipt(&receipt).await {
            return app.fail(format!("Not kept on this device, nothing received: {error}"));
        }
        for key in dropped {
            if let Err(error) = db::delete_receipt(&key).await {
                leptos::logging::warn!("forgetting an old receipt: {error}");
            }
        }
        app.receiving.set(next);
        let units = receipt.units();
        if app.online.get_untracked() {
            app.ok(format!("Receipt of {units} units against {} sent…", receipt.order));
            send(app).await;
        } else {
            app.ok(format!(
                "Receipt of {units} units against {} saved on this device: it is sent when you are back online",
                receipt.order
            ));
        }
    });
    true
}

/// Sends every pending receipt, oldest first; an unreachable server leaves the rest pending.
pub async fn send(app: AppState) {
    if SENDING.with(|s| s.replace(true)) {
        return;
    }
    let Some(settings) = app.settings.get_untracked() else {
        SENDING.with(|s| s.set(false));
        return;
    };
    let pending: Vec<QueuedReceipt> = app.receiving.with_untracked(|r| r.pending().cloned().collect());
    for receipt in pending {
        let answer =
            api::receive(&settings.api_base, &settings.token, receipt.order.as_str(), &receipt.key, &receipt.spec)
                .await;
        let (state, order) = match answer {
            Ok(view) => (DecisionState::Applied { status: view.order.status.as_str().to_string() }, Some(view.order)),
            Err(CallError::Unreachable) => break,
            Err(CallError::Refused { code, message, .. }) => (DecisionState::Refused { code, message }, None),
        };
        let took_order = order.is_some();
        let mut next = app.receiving.get_untracked();
        let Some(recorded) = next.record(&receipt.key, state, order).cloned() else { continue };
        if let Err(error) = db::save_receipt(&recorded).await {
            leptos::logging::warn!("keeping the answer to {}: {error}", recorded.key);
        }
        app.receiving.set(next);
        if took_order {
            keep_copy(app).await;
        }
    }
    SENDING.with(|s| s.set(false));
}

/// Saves the copy of the deliveries as it now stands (an applied receipt's answer updated an
/// order), so that a reload offline shows what is really still open.
async fn keep_copy(app: AppState) {
    let Some(at) = app.deliveries_at.get_untracked() else { return };
    let orders = app.receiving.with_untracked(|r| r.copies().to_vec());
    let list = DeliveriesResponse { location: at.value, orders, more: false };
    if let Err(error) = db::save_deliveries(&Fetched::live(list, at.fetched_at_ms)).await {
        leptos::logging::warn!("keeping the deliveries: {error}");
    }
}

/// Forgets an answered receipt once the dock has looked at it.
pub fn dismiss(app: AppState, key: String) {
    spawn_local(async move {
        if let Err(error) = db::delete_receipt(&key).await {
            return app.fail(format!("Not forgotten on this device: {error}"));
        }
        app.receiving.update(|r| {
            r.dismiss(&key);
        });
    });
}
