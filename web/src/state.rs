//! The app's state: the signals every view shares, and the few operations on them (queue a
//! movement, go to a screen, say what happened). `sync` and the views use it; it uses neither.

use crate::db;
use crate::model::{self, Found, ItemIndex, Screen, Settings, StockCard};
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Decisions, Id, Location, Outbox, QueuedOp, Receiving};

/// The app's state: signals only, so it is `Copy` and every view can hold it.
#[derive(Clone, Copy)]
pub struct AppState {
    pub settings: RwSignal<Option<Settings>>,
    pub outbox: RwSignal<Outbox>,
    pub sync: RwSignal<SyncStatus>,
    pub online: RwSignal<bool>,
    pub screen: RwSignal<Screen>,
    /// A message about what was just tried (a refusal before anything was queued, or a note).
    pub notice: RwSignal<Option<(bool, String)>>,
    /// The operation the last submit queued: the status line follows it to "done" or "not done".
    pub last_op: RwSignal<Option<Id>>,
    pub locations: RwSignal<Vec<Location>>,
    pub items: RwSignal<ItemIndex>,
    pub card: RwSignal<Option<StockCard>>,
    pub busy: RwSignal<bool>,
    pub menu_open: RwSignal<bool>,
    /// Bumped to put the cursor back in the item field (after a submit or a screen switch).
    pub focus_tick: RwSignal<u32>,
    /// A scan that arrived while no field had focus, for the screen's item field to take.
    pub scan: RwSignal<Option<String>>,
    /// An item to start a screen with (the "Count again" of a disagreement).
    pub prefill: RwSignal<Option<String>>,
    /// The operation just discarded, while it can still be undone.
    pub undo: RwSignal<Option<QueuedOp>>,
    /// An approver's decisions on purchase orders, queued (perhaps offline) and their answers.
    pub decisions: RwSignal<Decisions>,
    /// The orders on their way to this device's location and the receipts made here against them.
    pub receiving: RwSignal<Receiving>,
    /// When the copy of those orders was fetched, and whether it is the live answer.
    pub deliveries_at: RwSignal<Option<crate::model::Fetched<Id>>>,
    /// The replica of the SKU on the stock card.
    pub replica: RwSignal<Option<crate::replica::Kept>>,
    /// Differences found by syncs and not seen yet, by SKU.
    pub differences: RwSignal<crate::replica::Differences>,
    /// A movement the engine refused against the replica, not queued (yet).
    pub flagged: RwSignal<Option<crate::replica::Flagged>>,
}

impl AppState {
    pub fn ok(&self, text: impl Into<String>) {
        self.flagged.set(None);
        self.last_op.set(None);
        self.notice.set(Some((true, text.into())));
    }

    pub fn fail(&self, text: impl Into<String>) {
        self.flagged.set(None);
        self.last_op.set(None);
        self.notice.set(Some((false, text.into())));
    }

    /// Work made on this device that the server has not taken yet: queued movements, decisions on
    /// orders and receipts against them (refused receipts too: the goods are on the dock and
    /// nothing is recorded). Tracked: views follow it.
    pub fn unsent(&self) -> usize {
        self.outbox.with(Outbox::unsent)
            + self.decisions.with(|d| d.pending().count())
            + self.receiving.with(|r| r.unsettled())
    }

    pub fn location(&self) -> Option<Id> {
        self.settings.with_untracked(|s| s.as_ref().and_then(|s| s.location.clone())).and_then(|l| Id::new(l).ok())
    }

    pub fn save_settings(&self, next: Settings) {
        let app = *self;
        spawn_local(async move {
            if let Err(error) = db::save_settings(&next).await {
                app.fail(format!("Could not save on this device: {error}"));
            }
            app.settings.set(Some(next));
        });
    }

    pub fn go(&self, screen: Screen) {
        self.notice.set(None);
        self.flagged.set(None);
        self.last_op.set(None);
        self.menu_open.set(false);
        self.screen.set(screen);
        self.focus_item_field();
    }

    pub fn focus_item_field(&self) {
        self.focus_tick.update(|tick| *tick = tick.wrapping_add(1));
    }

    /// Remembers an item as recent (and as the last one looked at).
    pub fn remember(&self, sku: &str) {
        if let Some(mut next) = self.settings.get_untracked() {
            next.remember(sku);
            self.save_settings(next);
        }
    }

    /// The SKU a form names: an item on this device's list (any case, or a barcode). With no list
    /// yet (never online), a well-formed SKU is taken and the server checks it.
    pub fn item_for(&self, typed: &str) -> Result<Id, String> {
        let text = typed.trim();
        if text.is_empty() {
            return Err("Scan or type an item first".to_string());
        }
        let index = self.items.get_untracked();
        if index.is_empty() {
            return Id::new(text).map_err(|_| format!("“{}” is not a SKU", model::echo(text)));
        }
        match index.resolve(text) {
            Found::One(item) => Ok(item.sku),
            Found::Many(_) => Err(format!("Several items match “{}”: pick one from the list", model::echo(text))),
            Found::None => Err(format!(
                "No item “{}” on this device's list: scan again, or refresh the item list from the menu",
                model::echo(text)
            )),
        }
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Where sending the outbox stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    pub running: bool,
    pub done: usize,
    pub total: usize,
    pub last_error: Option<String>,
    /// When the next automatic attempt may start (ms since the epoch).
    pub next_attempt_ms: f64,
    pub last_synced_ms: Option<f64>,
    /// The operations of the push in flight.
    pub sending: Vec<Id>,
}
