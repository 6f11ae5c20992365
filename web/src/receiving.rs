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
    let (orders, more) =
        saved.as_ref().map_or((Vec::new(), false), |copy| (copy.value.orders.clone(), copy.value.more));
    app.receiving.set(stockline_shared::Receiving::new(orders, more, receipts));
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
                // Merged with what the device has (a later copy of an order wins), then kept.
                app.receiving.update(|r| r.refresh(list.orders, list.more));
                app.deliveries_at.set(Some(Fetched::live(list.location, now_ms())));
                keep_copy(app).await;
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
    let Some(subject) = app.settings.with_untracked(|s| s.as_ref().and_then(|s| s.subject.clone())) else {
        app.fail("This device does not know who you are yet: sign in again while online");
        return false;
    };
    let key = match crate::sync::new_id() {
        Ok(id) => format!("receipt-{id}"),
        Err(error) => {
            app.fail(error);
            return false;
        }
    };
    let receipt = match QueuedReceipt::new(&subject, key, order, location, spec, now_ms()) {
        Ok(receipt) => receipt,
        Err(error) => {
            app.fail(error);
            return false;
        }
    };
    // Checked now (a refusal keeps the draft); stored; then taken into the live value.
    if let Err(problem) = app.receiving.with_untracked(|r| r.clone().queue(receipt.clone())) {
        app.fail(format!("Not received: {problem}"));
        return false;
    }
    spawn_local(async move {
        if let Err(error) = db::save_receipt(&receipt).await {
            return app.fail(format!("Not kept on this device, nothing received: {error}"));
        }
        let mut taken = Err(String::new());
        app.receiving.update(|r| taken = r.queue(receipt.clone()));
        let dropped = match taken {
            Ok(dropped) => dropped,
            Err(problem) => {
                // Something else was queued meanwhile (a second tap) and this no longer fits.
                if let Err(error) = db::delete_receipt(&receipt.key).await {
                    leptos::logging::warn!("forgetting a refused receipt: {error}");
                }
                return app.fail(format!("Not received: {problem}"));
            }
        };
        for key in dropped {
            if let Err(error) = db::delete_receipt(&key).await {
                leptos::logging::warn!("forgetting an old receipt: {error}");
            }
        }
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
        // Signed out (or in as someone else) meanwhile, or discarded: not sent under that name.
        let same_person = app.settings.with_untracked(|s| s.as_ref().is_some_and(|s| s.token == settings.token));
        let still_pending = app.receiving.with_untracked(|r| r.pending().any(|q| q.key == receipt.key));
        if !same_person || !still_pending {
            continue;
        }
        let answer =
            api::receive(&settings.api_base, &settings.token, receipt.order.as_str(), &receipt.key, &receipt.spec)
                .await;
        let (state, order) = match answer {
            Ok(view) => (DecisionState::Applied { status: view.order.status.as_str().to_string() }, Some(view.order)),
            Err(CallError::Unreachable) => break,
            Err(CallError::Refused { code, message, .. }) => (DecisionState::Refused { code, message }, None),
        };
        let took_order = order.is_some();
        let mut recorded = None;
        app.receiving.update(|r| recorded = r.record(&receipt.key, state, order).cloned());
        let Some(recorded) = recorded else { continue };
        // The copy first: a reload between the two saves then shows the receipt pending on a
        // copy that already has it, which counts it once (same id).
        if took_order {
            keep_copy(app).await;
        }
        if let Err(error) = db::save_receipt(&recorded).await {
            leptos::logging::warn!("keeping the answer to {}: {error}", recorded.key);
        }
    }
    SENDING.with(|s| s.set(false));
}

/// Saves the copy of the deliveries as it now stands (an applied receipt's answer updated an
/// order), so that a reload offline shows what is really still open.
async fn keep_copy(app: AppState) {
    let Some(at) = app.deliveries_at.get_untracked() else { return };
    let (orders, more) = app.receiving.with_untracked(|r| (r.copies().to_vec(), r.more()));
    let list = DeliveriesResponse { location: at.value, orders, more };
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
