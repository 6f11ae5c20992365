//! The app's frame: start-up, header (outbox and attention as a button), tabs (a bottom bar on
//! phones, the rest under "More"), the menu with sign-out, sign-in and the location picker, and
//! the routing of a scan typed while no field has focus.
use crate::api::{self, CallError};
use crate::db;
use crate::model::{self, ItemIndex, Screen, Settings};
use crate::state::{now_ms, AppState, SyncStatus};
use crate::sync::{self, refresh_items, refresh_locations};
use crate::views::fields::Status;
use crate::views::{
    adjust::Adjust, count::Count, outbox::OutboxView, receive::Receive, replenishment::Replenishment, returns::Returns,
    ship::Ship, stock::Lookup, transfer::Transfer,
};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use stockline_shared::{Decisions, Outbox, Receiving};

/// `?api=` overrides the API base (the run command prints such a URL when PORT is not 8787).
fn api_from_query() -> Option<String> {
    let search = window().location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get("api").filter(|api| !api.is_empty())
}

/// The page's own origin; none when the browser will not say (the settings then ask for it).
fn default_api_base() -> Option<String> {
    window()
        .location()
        .origin()
        .ok()
        .filter(|origin| !origin.is_empty())
        .map(|origin| Settings::default_api_base(&origin))
}

/// A keyboard-wedge scanner types fast and ends with Enter. Keys that arrive while no field has
/// focus are collected; Enter hands them to the screen's item field.
fn listen_for_scans(app: AppState) {
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
    let app = AppState {
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
        decisions: RwSignal::new(Decisions::default()),
        receiving: RwSignal::new(Receiving::default()),
        deliveries_at: RwSignal::new(None),
        replica: RwSignal::new(None),
        differences: RwSignal::new(Default::default()),
        flagged: RwSignal::new(None),
    };
    provide_context(app);

    let on = window_event_listener(ev::online, move |_| {
        app.online.set(true);
        spawn_local(sync::sync_now(app));
        spawn_local(crate::purchasing::send_decisions(app));
        spawn_local(crate::receiving::send(app));
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
            match default_api_base() {
                Some(api) => loaded.api_base = api,
                None => app.fail("This page's address cannot be read: set the API address in Settings.".to_string()),
            }
        }
        match db::load_ops().await {
            Ok(ops) => app.outbox.set(Outbox::new(ops)),
            Err(error) => app.fail(format!("The outbox on this device cannot be read: {error}")),
        }
        match db::load_decisions().await {
            Ok(list) => app.decisions.set(Decisions::new(list)),
            Err(error) => app.fail(format!("The decisions waiting on this device cannot be read: {error}")),
        }
        crate::receiving::load(app).await;
        app.locations.set(db::load_locations().await.unwrap_or_default());
        app.items.set(ItemIndex::new(db::load_items().await.unwrap_or_default()));
        let last_sku = loaded.last_sku.clone();
        app.settings.set(Some(loaded));
        sync::start(app);
        if let Some(sku) = last_sku {
            if let Ok(Some(saved)) = db::load_card(&sku).await {
                app.card.set(Some(saved));
            }
            crate::views::stock::lookup(app, sku, false);
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

#[component]
fn Header() -> impl IntoView {
    let app = expect_context::<AppState>();
    // Decisions and receipts waiting count as work to sync; a refused receipt needs attention.
    let tally = Memo::new(move |_| {
        let mut tally = app.outbox.with(|o| o.tally());
        tally.pending += app.decisions.with(|d| d.pending().count()) + app.receiving.with(|r| r.pending().count());
        tally.attention += app.receiving.with(|r| {
            r.receipts().iter().filter(|q| matches!(q.state, stockline_shared::DecisionState::Refused { .. })).count()
        });
        tally
    });
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

fn change_location(app: AppState) {
    if let Some(current) = app.settings.get_untracked() {
        app.menu_open.set(false);
        app.save_settings(Settings { location: None, ..current });
    }
}

#[component]
fn SignIn() -> impl IntoView {
    let app = expect_context::<AppState>();
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
    let app = expect_context::<AppState>();
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
fn sign_out(app: AppState, discard_unsent: bool) {
    let unsent = untrack(|| app.unsent());
    if unsent > 0 && !discard_unsent {
        return app.fail(format!(
            "{unsent} operation(s) are not on the server yet. Let them sync (or fix them in the Outbox) before \
             signing out, or discard them on purpose."
        ));
    }
    let Some(current) = app.settings.get_untracked() else { return };
    let ids: Vec<String> = app.outbox.with_untracked(|o| o.ops().iter().map(|q| q.op.op_id.to_string()).collect());
    // Decisions and receipts are the signed-in person's: the next one to sign in must not send them.
    let decisions: Vec<String> = app.decisions.with_untracked(|d| d.list().iter().map(|q| q.key.clone()).collect());
    let receipts: Vec<String> = app.receiving.with_untracked(|r| r.receipts().iter().map(|q| q.key.clone()).collect());
    spawn_local(async move {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Err(error) = db::delete_ops(&ids).await {
            return app.fail(format!("Could not clear this device's outbox: {error}"));
        }
        for key in &decisions {
            if let Err(error) = db::delete_decision(key).await {
                return app.fail(format!("Could not clear this device's decisions: {error}"));
            }
        }
        for key in &receipts {
            if let Err(error) = db::delete_receipt(key).await {
                return app.fail(format!("Could not clear this device's receipts: {error}"));
            }
        }
        app.decisions.set(Decisions::default());
        app.receiving.update(|r| *r = Receiving::new(r.copies().to_vec(), r.more(), Vec::new()));
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
    let app = expect_context::<AppState>();
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
        {move || {
            let screen = app.screen.get();
            Suspend::new(async move {
                match screen_view(screen).await {
                    // The wrapper draws no box (`display: contents`); it says which screen is shown.
                    Ok(shown) => view! { <div class="screen" data-screen=screen.testid()>{shown}</div> }.into_any(),
                    Err(error) => view! { <NotLoaded screen error/> }.into_any(),
                }
            })
        }}
        <UndoToast/>
    }
}

#[component]
fn Menu(screens: Vec<Screen>) -> impl IntoView {
    let app = expect_context::<AppState>();
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
                if untrack(|| app.unsent()) > 0 {
                    confirming.set(true);
                }
                sign_out(app, false);
            }>"Sign out"</button>
            {move || confirming.get().then(|| view! {
                <div class="confirm" role="alertdialog" aria-label="Discard unsent work?">
                    <p>{move || format!(
                        "{} operation(s) have not reached the server. Signing out now discards them.",
                        app.unsent())}</p>
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
    let app = expect_context::<AppState>();
    move || {
        app.undo.get().map(|discarded| {
            let text = model::describe(discarded.op.sku.as_str(), None, &discarded.op.movement);
            let undo = move |_| {
                if let Some(op) = app.undo.get_untracked() {
                    app.undo.set(None);
                    // On the device first, then on the screen: a reload right after finds it.
                    spawn_local(async move {
                        match db::save_op(&op).await {
                            Ok(()) => app.outbox.update(|o| o.restore(op)),
                            Err(error) => {
                                app.undo.set(Some(op));
                                app.fail(format!("Could not save on this device: {error}"));
                            }
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

/// The screens live outside the main module, in three parts split off by `cargo xtask build-web`
/// (`wasm_split`): `lookup` (every role's first screen), `floor` (the warehouse's movements, outbox,
/// pick lists and exceptions) and `office` (planning, purchasing, dashboard, import). The main
/// module starts the app without them; a part is fetched the first time one of its screens opens.
/// The service worker precaches every part, so they open offline too. A part that cannot be
/// fetched is an `Err`, shown on the screen, never a panic (`fallible`).
async fn screen_view(screen: Screen) -> Result<AnyView, SplitLoaderError> {
    match screen {
        Screen::Lookup => lookup_screen().await,
        Screen::Receive => receive_screen().await,
        Screen::Ship => ship_screen().await,
        Screen::Count => count_screen().await,
        Screen::Adjust => adjust_screen().await,
        Screen::Transfer => transfer_screen().await,
        Screen::Returns => returns_screen().await,
        Screen::Outbox => outbox_screen().await,
        Screen::Picking => picking_screen().await,
        Screen::Exceptions => exceptions_screen().await,
        Screen::Replenishment => replenishment_screen().await,
        Screen::Orders => orders_screen().await,
        Screen::Approvals => approvals_screen().await,
        Screen::Suppliers => suppliers_screen().await,
        Screen::Import => import_screen().await,
        Screen::Dashboard => dashboard_screen().await,
    }
}

/// What a screen whose part could not be fetched shows instead: the reason and a way to retry
/// (a failed fetch is not remembered, so opening the screen again fetches again).
#[component]
fn NotLoaded(screen: Screen, error: SplitLoaderError) -> impl IntoView {
    let app = expect_context::<AppState>();
    leptos::logging::warn!("{}: {error}", screen.label());
    view! {
        <section class="card" data-testid="screen-not-loaded">
            <p class="notice warn" role="alert">
                {format!("{} could not be downloaded to this device. A screen downloads once, while online: \
                    connect and try again. If Stockline was just updated, reload it (queued work is kept).",
                    screen.label())}
            </p>
            <div class="row">
                <button data-testid="screen-retry" on:click=move |_| app.screen.set(screen)>"Try again"</button>
                <button data-testid="screen-reload" on:click=move |_| {
                    let _ = window().location().reload();
                }>"Reload Stockline"</button>
            </div>
        </section>
    }
}

macro_rules! split_screen {
    // The first screen of a part also names the function that loads the part without opening it.
    ($part:ident, $name:ident, $view:expr $(, preload $preload:ident)?) => {
        #[wasm_split($part, wasm_split_path = ::leptos::wasm_split, fallible $(, preload($preload))?)]
        fn $name() -> Result<AnyView, SplitLoaderError> {
            Ok($view.into_any())
        }
    };
}

/// Loads every part into this page, from the service worker's cache. Run once the service worker
/// controls the page (so nothing is downloaded twice): from then on the page holds all its code,
/// as it did before the split, and a new build taking over the cache cannot leave it half loaded.
pub async fn preload_parts() {
    for (part, loaded) in
        [("lookup", preload_lookup().await), ("floor", preload_floor().await), ("office", preload_office().await)]
    {
        if let Err(error) = loaded {
            leptos::logging::warn!("part {part} not preloaded: {error}");
        }
    }
}

split_screen!(lookup, lookup_screen, view! { <Lookup/> }, preload preload_lookup);
split_screen!(floor, receive_screen, view! { <Receive/> }, preload preload_floor);
split_screen!(floor, ship_screen, view! { <Ship/> });
split_screen!(floor, count_screen, view! { <Count/> });
split_screen!(floor, adjust_screen, view! { <Adjust/> });
split_screen!(floor, transfer_screen, view! { <Transfer/> });
split_screen!(floor, returns_screen, view! { <Returns/> });
split_screen!(floor, outbox_screen, view! { <OutboxView/> });
split_screen!(floor, picking_screen, view! { <crate::views::fulfilment::Picking/> });
split_screen!(floor, exceptions_screen, view! { <crate::views::fulfilment::Exceptions/> });
split_screen!(office, replenishment_screen, view! { <Replenishment/> }, preload preload_office);
split_screen!(office, orders_screen, view! { <crate::views::orders::Orders/> });
split_screen!(office, approvals_screen, view! { <crate::views::orders::Approvals/> });
split_screen!(office, suppliers_screen, view! { <crate::views::suppliers::Suppliers/> });
split_screen!(office, import_screen, view! { <crate::views::imports::Import/> });
split_screen!(office, dashboard_screen, view! { <crate::views::dashboard::DashboardView/> });
