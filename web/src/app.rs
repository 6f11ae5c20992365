//! The app's frame: its state (signals), start-up, header, navigation, menu, sign-in and the
//! location picker, and the fields every screen shares (the item field a scan goes into, the
//! quantity field, the status line). Screens live in `screens`, the stock card in `stock`, the
//! outbox in `outbox_view`. Views stay thin: decisions are `model`'s and `Outbox`'s.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{self, Found, ItemIndex, Screen, Settings, StockCard, SUGGESTIONS_MAX};
use crate::outbox_view::OutboxView;
use crate::screens::{Adjust, Count, Receive, Returns, Ship, Transfer};
use crate::stock::Lookup;
use crate::sync::{self, SyncStatus};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use stockline_shared::{CountBasis, Id, Item, Location, Movement, Outbox, QueuedOp};

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The app's state: signals only, so it is `Copy` and every view can hold it.
#[derive(Clone, Copy)]
pub struct App {
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
}

impl App {
    pub fn ok(&self, text: impl Into<String>) {
        self.last_op.set(None);
        self.notice.set(Some((true, text.into())));
    }

    pub fn fail(&self, text: impl Into<String>) {
        self.last_op.set(None);
        self.notice.set(Some((false, text.into())));
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

    /// Queues movements of one SKU; the status line then follows the operation.
    pub fn queue(&self, screen: &'static str, sku: Id, movements: Vec<Movement>, basis: Option<CountBasis>) {
        let app = *self;
        app.remember(sku.as_str());
        spawn_local(async move {
            match sync::enqueue(app, screen, sku, movements, basis).await {
                Ok(ops) => {
                    app.notice.set(None);
                    app.last_op.set(ops.last().map(|q| q.op.op_id.clone()));
                }
                Err(error) => app.fail(format!("Not saved on this device: {error}")),
            }
        });
        app.focus_item_field();
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

/// `?api=` overrides the API base (the run command prints such a URL when PORT is not 8787).
fn api_from_query() -> Option<String> {
    let search = window().location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get("api").filter(|api| !api.is_empty())
}

fn default_api_base() -> String {
    let location = window().location();
    Settings::default_api_base(
        &location.protocol().unwrap_or_else(|_| "http:".into()),
        &location.hostname().unwrap_or_else(|_| "127.0.0.1".into()),
    )
}

/// A keyboard-wedge scanner types fast and ends with Enter. Keys that arrive while no field has
/// focus are collected; Enter hands them to the screen's item field.
fn listen_for_scans(app: App) {
    let buffer = StoredValue::new(String::new());
    let last_key_ms = StoredValue::new(0.0f64);
    let handle = window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
        let in_field = e
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"))
            .unwrap_or(false);
        if in_field || e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        let now = now_ms();
        if now - last_key_ms.get_value() > 300.0 {
            buffer.set_value(String::new());
        }
        last_key_ms.set_value(now);
        let key = e.key();
        if key == "Enter" {
            let code = buffer.get_value();
            buffer.set_value(String::new());
            if !code.is_empty() {
                e.prevent_default();
                if !app.screen.get_untracked().takes_items() {
                    app.go(Screen::Lookup);
                }
                app.scan.set(Some(code));
            }
        } else if key.chars().count() == 1 && buffer.with_value(|b| b.len() < 256) {
            buffer.update_value(|b| b.push_str(&key));
        }
    });
    on_cleanup(move || handle.remove());
}

#[component]
pub fn App() -> impl IntoView {
    let app = App {
        settings: RwSignal::new(None),
        outbox: RwSignal::new(Outbox::default()),
        sync: RwSignal::new(SyncStatus::default()),
        online: RwSignal::new(window().navigator().on_line()),
        screen: RwSignal::new(Screen::Lookup),
        notice: RwSignal::new(None),
        last_op: RwSignal::new(None),
        locations: RwSignal::new(Vec::new()),
        items: RwSignal::new(ItemIndex::default()),
        card: RwSignal::new(None),
        busy: RwSignal::new(false),
        menu_open: RwSignal::new(false),
        focus_tick: RwSignal::new(0),
        scan: RwSignal::new(None),
        prefill: RwSignal::new(None),
        undo: RwSignal::new(None),
    };
    provide_context(app);

    let on = window_event_listener(ev::online, move |_| {
        app.online.set(true);
        spawn_local(sync::sync_now(app));
        refresh_items(app);
    });
    let off = window_event_listener(ev::offline, move |_| app.online.set(false));
    on_cleanup(move || {
        on.remove();
        off.remove();
    });
    listen_for_scans(app);

    // Start-up: everything from IndexedDB first (works offline), then fresh data if reachable.
    spawn_local(async move {
        let mut loaded = match db::load_settings().await {
            Ok(settings) => settings.unwrap_or_default(),
            Err(error) => {
                app.fail(format!("This device's storage cannot be read: {error}"));
                Settings::default()
            }
        };
        if let Some(api) = api_from_query() {
            loaded.api_base = api;
        }
        if loaded.api_base.is_empty() {
            loaded.api_base = default_api_base();
        }
        match db::load_ops().await {
            Ok(ops) => app.outbox.set(Outbox::new(ops)),
            Err(error) => app.fail(format!("The outbox on this device cannot be read: {error}")),
        }
        app.locations.set(db::load_locations().await.unwrap_or_default());
        app.items.set(ItemIndex::new(db::load_items().await.unwrap_or_default()));
        let last_sku = loaded.last_sku.clone();
        app.settings.set(Some(loaded));
        sync::start(app);
        if let Some(sku) = last_sku {
            if let Ok(Some(saved)) = db::load_card(&sku).await {
                app.card.set(Some(saved));
            }
            crate::stock::lookup(app, sku, false);
        }
        refresh_locations(app);
        refresh_items(app);
    });

    // Re-render the page only when signing in or out, or choosing a location.
    let stage = Memo::new(move |_| {
        app.settings.with(|s| match s {
            None => 0,
            Some(s) if !s.signed_in() => 1,
            Some(s) if s.may_record_movements() && s.location.is_none() => 2,
            Some(_) => 3,
        })
    });
    view! {
        <Header/>
        <main>
            {move || match stage.get() {
                0 => view! { <p class="muted">"Loading…"</p> }.into_any(),
                1 => view! { <SignIn/> }.into_any(),
                2 => view! { <LocationPicker/> }.into_any(),
                _ => view! { <Workspace/> }.into_any(),
            }}
        </main>
    }
}

pub fn refresh_locations(app: App) {
    let Some(settings) = app.settings.get_untracked().filter(Settings::signed_in) else { return };
    spawn_local(async move {
        if let Ok(locations) = api::locations(&settings.api_base, &settings.token).await {
            let _ = db::save_locations(&locations).await;
            app.locations.set(locations);
        }
    });
}

/// Fetches the item list (names, barcodes) and keeps it for offline use.
pub fn refresh_items(app: App) {
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

#[component]
fn Header() -> impl IntoView {
    let app = expect_context::<App>();
    let tally = Memo::new(move |_| app.outbox.with(|o| o.tally()));
    view! {
        <header class="bar">
            <h1>"Stockline"</h1>
            <div class="bar-right">
                {move || app.settings.with(|s| s.as_ref().and_then(|s| s.location.clone())).map(|location| view! {
                    <button class="chip" data-testid="current-location" title="Change location"
                        aria-label=format!("Working at {location}. Change location")
                        on:click=move |_| change_location(app)>{location.clone()}</button>
                })}
                <button class="chip" data-testid="outbox-count" class:attention=move || { tally.get().attention > 0 }
                    aria-label="Outbox: what this device still has to send, and what needs attention"
                    on:click=move |_| app.go(Screen::Outbox)>
                    {move || {
                        let t = tally.get();
                        match (t.pending, t.attention) {
                            (0, 0) => "All synced".to_string(),
                            (p, 0) => format!("{p} to sync"),
                            (0, a) => format!("{a} need attention"),
                            (p, a) => format!("{p} to sync · {a} need attention"),
                        }
                    }}
                </button>
                <span class="status" class:offline=move || !app.online.get() data-testid="network" role="status">
                    {move || if app.online.get() { "Online" } else { "Offline" }}
                </span>
            </div>
        </header>
        {move || app.sync.with(|s| s.running && s.total > 1).then(|| view! {
            <div class="progress" data-testid="sync-progress" role="status">
                <span>{move || app.sync.with(|s| format!("Sending {} of {}", s.done, s.total))}</span>
                <progress max=move || app.sync.with(|s| s.total) value=move || app.sync.with(|s| s.done)></progress>
            </div>
        })}
    }
}

fn change_location(app: App) {
    if let Some(current) = app.settings.get_untracked() {
        app.menu_open.set(false);
        app.save_settings(Settings { location: None, ..current });
    }
}

#[component]
fn SignIn() -> impl IntoView {
    let app = expect_context::<App>();
    let token = RwSignal::new(String::new());
    let api_base =
        RwSignal::new(app.settings.with_untracked(|s| s.as_ref().map(|s| s.api_base.clone())).unwrap_or_default());
    let sign_in = move || {
        let token = token.get_untracked().trim().to_string();
        if token.is_empty() {
            return app.fail("Enter your access token");
        }
        let api_base = api_base.get_untracked();
        spawn_local(async move {
            match api::me(&api_base, &token).await {
                Ok(me) => {
                    let role = serde_json::to_value(me.role).ok().and_then(|v| v.as_str().map(str::to_string));
                    let next = Settings { api_base, token, role, subject: Some(me.subject), ..Settings::default() };
                    if let Err(error) = db::save_settings(&next).await {
                        return app.fail(format!("Could not save on this device: {error}"));
                    }
                    app.notice.set(None);
                    app.settings.set(Some(next));
                    refresh_locations(app);
                    refresh_items(app);
                }
                Err(CallError::Unreachable) => app.fail("Signing in needs the server once; you are offline"),
                Err(refused) => app.fail(refused.describe()),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"Sign in"</h2>
            <label>"Access token"
                <input type="password" data-testid="token" bind:value=token autocomplete="off"
                    on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Enter" { sign_in() }/>
            </label>
            <label>"Server" <input type="url" data-testid="api-base" bind:value=api_base/></label>
            <button class="primary" data-testid="sign-in" on:click=move |_| sign_in()>"Sign in"</button>
            <Status/>
        </section>
    }
}

#[component]
fn LocationPicker() -> impl IntoView {
    let app = expect_context::<App>();
    let choose = move |id: String| {
        if let Some(current) = app.settings.get_untracked() {
            app.save_settings(Settings { location: Some(id), ..current });
            app.go(Screen::Lookup);
        }
    };
    view! {
        <section class="card">
            <h2>"Where are you working?"</h2>
            <div class="choices">
                <For each=move || app.locations.get() key=|l| l.id.to_string() let:location>
                    {
                        let id = location.id.to_string();
                        let testid = format!("location-{id}");
                        view! {
                            <button class="choice" data-testid=testid on:click=move |_| choose(id.clone())>
                                <strong>{location.name.clone()}</strong>
                                <span>{location.id.to_string()}</span>
                            </button>
                        }
                    }
                </For>
            </div>
            {move || app.locations.with(Vec::is_empty).then(|| view! {
                <p class="muted">"No locations yet: connect once to load them."</p>
            })}
            <button class="link" data-testid="sign-out" on:click=move |_| sign_out(app, false)>"Sign out"</button>
            <Status/>
        </section>
    }
}

/// Signs out, unless operations wait to be sent (or were refused): those would be lost.
/// `discard_unsent` is the explicit, confirmed choice to drop them.
fn sign_out(app: App, discard_unsent: bool) {
    let unsent = app.outbox.with_untracked(Outbox::unsent);
    if unsent > 0 && !discard_unsent {
        return app.fail(format!(
            "{unsent} operation(s) are not on the server yet. Let them sync (or fix them in the Outbox) before \
             signing out, or discard them on purpose."
        ));
    }
    let Some(current) = app.settings.get_untracked() else { return };
    let ids: Vec<String> = app.outbox.with_untracked(|o| o.ops().iter().map(|q| q.op.op_id.to_string()).collect());
    spawn_local(async move {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Err(error) = db::delete_ops(&ids).await {
            return app.fail(format!("Could not clear this device's outbox: {error}"));
        }
        let next = current.signed_out();
        if let Err(error) = db::save_settings(&next).await {
            return app.fail(format!("Could not save on this device: {error}"));
        }
        app.outbox.set(Outbox::default());
        app.card.set(None);
        app.menu_open.set(false);
        app.settings.set(Some(next));
        app.ok("Signed out");
    });
}

#[component]
fn Workspace() -> impl IntoView {
    let app = expect_context::<App>();
    let screens = Memo::new(move |_| app.settings.with(|s| s.as_ref().map(Settings::screens).unwrap_or_default()));
    view! {
        <nav class="tabs" aria-label="Screens">
            <For each=move || screens.get() key=|s| *s let:screen>
                <button data-testid=screen.testid() class:active=move || app.screen.get() == screen
                    class:phone-menu=!screen.on_phone_bar()
                    aria-current=move || (app.screen.get() == screen).then_some("page")
                    on:click=move |_| app.go(screen)>
                    {screen.label()}
                </button>
            </For>
            <button data-testid="menu" class="menu-button" aria-haspopup="true"
                aria-expanded=move || if app.menu_open.get() { "true" } else { "false" }
                on:click=move |_| app.menu_open.update(|open| *open = !*open)>"More"</button>
        </nav>
        {move || app.menu_open.get().then(|| view! { <Menu screens=screens.get_untracked()/> })}
        {move || app.sync.with(|s| s.last_error.clone()).map(|e| view! {
            <p class="notice warn" data-testid="sync-error" role="status">{e}</p>
        })}
        {move || match app.screen.get() {
            Screen::Lookup => view! { <Lookup/> }.into_any(),
            Screen::Receive => view! { <Receive/> }.into_any(),
            Screen::Ship => view! { <Ship/> }.into_any(),
            Screen::Count => view! { <Count/> }.into_any(),
            Screen::Adjust => view! { <Adjust/> }.into_any(),
            Screen::Transfer => view! { <Transfer/> }.into_any(),
            Screen::Returns => view! { <Returns/> }.into_any(),
            Screen::Outbox => view! { <OutboxView/> }.into_any(),
        }}
        <UndoToast/>
    }
}

#[component]
fn Menu(screens: Vec<Screen>) -> impl IntoView {
    let app = expect_context::<App>();
    let confirming = RwSignal::new(false);
    let menu_screens: Vec<Screen> = screens.into_iter().filter(|s| !s.on_phone_bar()).collect();
    view! {
        <div class="menu" data-testid="menu-panel" role="menu">
            {menu_screens.into_iter().map(|screen| view! {
                <button role="menuitem" class="phone-only" data-testid=format!("menu-{}", screen.testid())
                    on:click=move |_| app.go(screen)>{screen.label()}</button>
            }).collect_view()}
            <button role="menuitem" data-testid="refresh-items" on:click=move |_| {
                refresh_items(app);
                refresh_locations(app);
                app.menu_open.set(false);
                app.ok("Refreshing the item list…");
            }>"Refresh item list"</button>
            <button role="menuitem" data-testid="change-location" on:click=move |_| change_location(app)>
                "Change location"
            </button>
            <button role="menuitem" data-testid="sign-out" on:click=move |_| {
                if app.outbox.with_untracked(Outbox::unsent) > 0 {
                    confirming.set(true);
                }
                sign_out(app, false);
            }>"Sign out"</button>
            {move || confirming.get().then(|| view! {
                <div class="confirm" role="alertdialog" aria-label="Discard unsent work?">
                    <p>{move || format!(
                        "{} operation(s) have not reached the server. Signing out now discards them.",
                        app.outbox.with(Outbox::unsent))}</p>
                    <button class="danger" data-testid="sign-out-discard" on:click=move |_| sign_out(app, true)>
                        "Discard them and sign out"
                    </button>
                    <button data-testid="sign-out-cancel" on:click=move |_| confirming.set(false)>"Keep them"</button>
                </div>
            })}
            <p class="muted small">{move || format!("{} items on this device", app.items.with(ItemIndex::len))}</p>
        </div>
    }
}

#[component]
fn UndoToast() -> impl IntoView {
    let app = expect_context::<App>();
    move || {
        app.undo.get().map(|discarded| {
            let text = model::describe(discarded.op.sku.as_str(), None, &discarded.op.movement);
            let undo = move |_| {
                if let Some(op) = app.undo.get_untracked() {
                    app.undo.set(None);
                    let saved = op.clone();
                    app.outbox.update(|o| o.restore(op));
                    spawn_local(async move {
                        if let Err(error) = db::save_op(&saved).await {
                            app.fail(format!("Could not save on this device: {error}"));
                        }
                    });
                }
            };
            view! {
                <div class="toast" role="status" data-testid="undo-toast">
                    <span>{format!("Discarded: {text}")}</span>
                    <button data-testid="undo" on:click=undo>"Undo"</button>
                </div>
            }
        })
    }
}

/// The status line under a form: a refusal, or the state of the operation just queued, live.
#[component]
pub fn Status() -> impl IntoView {
    let app = expect_context::<App>();
    let line = move || {
        if let Some((good, text)) = app.notice.get() {
            return Some((if good { "good" } else { "bad" }, text));
        }
        let id = app.last_op.get()?;
        let sending = app.sync.with(|s| s.sending.contains(&id));
        let online = app.online.get();
        app.outbox.with(|o| {
            let queued = o.get(id.as_str())?;
            let name = app.items.with(|i| i.name(queued.op.sku.as_str()).map(str::to_string));
            let what = model::describe(queued.op.sku.as_str(), name.as_deref(), &queued.op.movement);
            let (tag, state) = model::state_words(queued, sending, online);
            Some((tag, format!("{what} — {state}")))
        })
    };
    view! {
        <p class="status-line" role="status" aria-live="polite" data-testid="status">
            {move || line().map(|(tag, text)| view! {
                <span class=format!("notice {tag}") class:good=tag == "good" || tag == "applied"
                    data-testid="message" data-state=tag>{text}</span>
            })}
        </p>
    }
}

/// The item field every screen starts with: scan (characters + Enter), SKU in any case, or part
/// of a name with suggestions. A resolved item moves the cursor on to `next`.
#[component]
pub fn ItemField(
    value: RwSignal<String>,
    #[prop(default = "sku")] testid: &'static str,
    #[prop(default = "Item")] label: &'static str,
    #[prop(optional)] next: Option<NodeRef<html::Input>>,
    /// Called with the item once it is known.
    #[prop(optional)]
    on_chosen: Option<Callback<Item>>,
    /// Take the cursor when the screen opens (the Ship screen starts at the order instead).
    #[prop(default = true)]
    autofocus: bool,
) -> impl IntoView {
    let app = expect_context::<App>();
    let input_ref = NodeRef::<html::Input>::new();
    let chosen = RwSignal::new(None::<Item>);
    let suggestions = Memo::new(move |_| {
        let text = value.get();
        let picked = chosen.with(|c| c.as_ref().is_some_and(|item| item.sku.as_str() == text.trim()));
        if picked || text.trim().chars().count() < 2 {
            return Vec::new();
        }
        app.items.with(|index| index.search(&text, SUGGESTIONS_MAX))
    });
    let choose = move |item: Item| {
        value.set(item.sku.to_string());
        chosen.set(Some(item.clone()));
        app.notice.set(None);
        if let Some(callback) = on_chosen {
            callback.run(item);
        }
        if let Some(element) = next.and_then(|n| n.get_untracked()) {
            let _ = element.focus();
            element.select();
        }
    };
    let resolve = move || {
        let typed = value.get_untracked();
        if typed.trim().is_empty() {
            return;
        }
        let found = app.items.with_untracked(|index| (index.is_empty(), index.resolve(&typed)));
        match found {
            (_, Found::One(item)) => choose(item),
            (true, Found::None) => match Id::new(typed.trim()) {
                // No item list on this device yet: take a well-formed SKU, the server checks it.
                Ok(sku) => choose(Item { sku, name: String::new(), barcodes: Vec::new() }),
                Err(_) => app.fail(format!("“{}” is not a SKU or barcode", model::echo(&typed))),
            },
            (false, Found::None) => {
                app.fail(format!("No item “{}” on this device's list", model::echo(&typed)));
                if app.online.get_untracked() {
                    refresh_items(app);
                }
                if let Some(element) = input_ref.get_untracked() {
                    element.select();
                }
            }
            (_, Found::Many(many)) => app.fail(format!("{} items match: pick one below", many.len())),
        }
    };
    // The cursor goes (back) here on mount, after each submit and each screen switch.
    Effect::new(move |focused_before: Option<bool>| {
        app.focus_tick.track();
        let Some(element) = input_ref.get() else { return false };
        if autofocus || focused_before == Some(true) {
            let _ = element.focus();
        }
        true
    });
    // A scan that arrived while no field had focus; or an item to start with.
    Effect::new(move |_| {
        if input_ref.get().is_none() {
            return;
        }
        if let Some(code) = app.scan.get() {
            app.scan.set(None);
            value.set(code);
            resolve();
        } else if let Some(sku) = app.prefill.get() {
            app.prefill.set(None);
            value.set(sku);
            resolve();
        }
    });
    // The camera, where the browser can read barcodes with it.
    let camera_open = RwSignal::new(false);
    let video_ref = NodeRef::<html::Video>::new();
    let stop = StoredValue::new(Arc::new(AtomicBool::new(false)));
    Effect::new(move |_| {
        let Some(video) = video_ref.get() else { return };
        let flag = Arc::new(AtomicBool::new(false));
        stop.set_value(flag.clone());
        spawn_local(async move {
            let result = crate::camera::scan(video, flag).await;
            camera_open.set(false);
            match result {
                Ok(code) => {
                    value.set(code);
                    resolve();
                }
                Err(problem) => app.fail(problem),
            }
        });
    });
    let chosen_line = move || {
        chosen.get().filter(|item| item.sku.as_str() == value.get().trim()).map(|item| {
            let name = if item.name.is_empty() { "not on this device's item list".to_string() } else { item.name };
            view! { <span class="chosen" data-testid="chosen-item">{name}</span> }
        })
    };
    view! {
        <div class="item-field">
            <label>{label}
                <input type="search" data-testid=testid node_ref=input_ref bind:value=value
                    placeholder="Scan, or type a SKU or name" autocomplete="off" autocapitalize="off"
                    spellcheck="false" enterkeyhint="next" inputmode="text"
                    on:keydown=move |e: ev::KeyboardEvent| {
                        if e.key() == "Enter" {
                            e.prevent_default();
                            resolve();
                        }
                    }/>
            </label>
            {crate::camera::available().then(|| view! {
                <button class="camera-button" data-testid="camera" aria-label="Scan with the camera"
                    on:click=move |_| camera_open.set(true)>"Camera"</button>
            })}
            {move || camera_open.get().then(|| view! {
                <div class="camera" role="dialog" aria-label="Scanning with the camera">
                    <video node_ref=video_ref autoplay=true playsinline=true muted=true></video>
                    <button data-testid="camera-close" on:click=move |_| {
                        stop.with_value(|flag| flag.store(true, Ordering::Relaxed));
                        camera_open.set(false);
                    }>"Close camera"</button>
                </div>
            })}
            {chosen_line}
            {move || {
                let found = suggestions.get();
                (!found.is_empty()).then(|| view! {
                    <ul class="suggestions" data-testid="suggestions" aria-label="Matching items">
                        {found.into_iter().map(|item| {
                            let label = format!("{} — {}", item.sku, item.name);
                            view! {
                                <li><button data-testid="suggestion" on:click=move |_| choose(item.clone())>{label}</button></li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
        </div>
    }
}

/// A quantity, kept exactly as typed (a text field: `type=number` reports "" for "-" or "12."
/// and the binding wrote that back); read on submit. Enter runs `on_enter`.
#[component]
pub fn QtyField(
    value: RwSignal<String>,
    node_ref: NodeRef<html::Input>,
    #[prop(default = "Quantity")] label: &'static str,
    #[prop(default = "numeric")] input_mode: &'static str,
    on_enter: Callback<()>,
) -> impl IntoView {
    view! {
        <label class="qty">{label}
            <input type="text" data-testid="qty" node_ref=node_ref bind:value=value autocomplete="off"
                inputmode=input_mode enterkeyhint="done"
                on:keydown=move |e: ev::KeyboardEvent| {
                    if e.key() == "Enter" {
                        e.prevent_default();
                        on_enter.run(());
                    }
                }/>
        </label>
    }
}

/// A labelled text input bound to a signal.
#[component]
pub fn Field(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] node_ref: Option<NodeRef<html::Input>>,
    #[prop(optional)] on_enter: Option<Callback<()>>,
) -> impl IntoView {
    let node_ref = node_ref.unwrap_or_default();
    view! {
        <label>{label}
            <input type="text" data-testid=testid bind:value=value autocomplete="off" node_ref=node_ref
                on:keydown=move |e: ev::KeyboardEvent| {
                    if let (true, Some(callback)) = (e.key() == "Enter", on_enter) {
                        e.prevent_default();
                        callback.run(());
                    }
                }/>
        </label>
    }
}
