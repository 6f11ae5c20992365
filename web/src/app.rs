//! The views. Thin: they show `model` and `Outbox` values and call `api`, `db` and `sync`;
//! decisions live in those types, not here.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{self, parse_qty, parse_sku, Screen, Settings, StockCard};
use crate::sync::{self, SyncStatus};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Id, Location, Movement, OpState, Outbox, QueuedOp, Reservation};

fn now_ms() -> f64 {
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
    pub notice: RwSignal<Option<(bool, String)>>,
    pub locations: RwSignal<Vec<Location>>,
    pub card: RwSignal<Option<StockCard>>,
    pub busy: RwSignal<bool>,
}

impl App {
    fn ok(&self, text: impl Into<String>) {
        self.notice.set(Some((true, text.into())));
    }

    fn fail(&self, text: impl Into<String>) {
        self.notice.set(Some((false, text.into())));
    }

    fn location(&self) -> Option<Id> {
        self.settings.with_untracked(|s| s.as_ref().and_then(|s| s.location.clone())).and_then(|l| Id::new(l).ok())
    }

    fn save_settings(&self, next: Settings) {
        let app = *self;
        spawn_local(async move {
            let _ = db::save_settings(&next).await;
            app.settings.set(Some(next));
        });
    }

    /// Queues movements for one SKU and says so (or why not).
    fn queue(&self, screen: &'static str, sku: Id, movements: Result<Vec<Movement>, String>) {
        let app = *self;
        let movements = match movements {
            Ok(movements) => movements,
            Err(problem) => return app.fail(problem),
        };
        spawn_local(async move {
            match sync::enqueue(app, screen, sku.clone(), movements).await {
                Ok(ops) => {
                    let what: Vec<String> = ops.iter().map(|q| model::describe(sku.as_str(), &q.op.movement)).collect();
                    app.ok(format!("Queued: {}", what.join("; ")));
                }
                Err(error) => app.fail(format!("Not saved on this device: {error}")),
            }
        });
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

#[component]
pub fn App() -> impl IntoView {
    let app = App {
        settings: RwSignal::new(None),
        outbox: RwSignal::new(Outbox::default()),
        sync: RwSignal::new(SyncStatus::default()),
        online: RwSignal::new(window().navigator().on_line()),
        screen: RwSignal::new(Screen::Lookup),
        notice: RwSignal::new(None),
        locations: RwSignal::new(Vec::new()),
        card: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    provide_context(app);

    let on = window_event_listener(ev::online, move |_| {
        app.online.set(true);
        spawn_local(sync::sync_now(app));
    });
    let off = window_event_listener(ev::offline, move |_| app.online.set(false));
    on_cleanup(move || {
        on.remove();
        off.remove();
    });

    // Start-up: everything from IndexedDB first (works offline), then fresh data if reachable.
    spawn_local(async move {
        let mut loaded = db::load_settings().await.ok().flatten().unwrap_or_default();
        if let Some(api) = api_from_query() {
            loaded.api_base = api;
        }
        if loaded.api_base.is_empty() {
            loaded.api_base = default_api_base();
        }
        app.outbox.set(Outbox::new(db::load_ops().await.unwrap_or_default()));
        app.locations.set(db::load_locations().await.unwrap_or_default());
        let last_sku = loaded.last_sku.clone();
        app.settings.set(Some(loaded));
        sync::start(app);
        if let Some(sku) = last_sku {
            if let Ok(Some(saved)) = db::load_card(&sku).await {
                app.card.set(Some(saved));
            }
            lookup(app, sku);
        }
        refresh_locations(app);
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

fn refresh_locations(app: App) {
    let Some(settings) = app.settings.get_untracked().filter(Settings::signed_in) else { return };
    spawn_local(async move {
        if let Ok(locations) = api::locations(&settings.api_base, &settings.token).await {
            let _ = db::save_locations(&locations).await;
            app.locations.set(locations);
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
            <span class="chip" data-testid="current-location">
                {move || app.settings.with(|s| s.as_ref().and_then(|s| s.location.clone()).unwrap_or_default())}
            </span>
            <span class="chip" data-testid="outbox-count" on:click=move |_| app.screen.set(Screen::Outbox)>
                {move || {
                    let t = tally.get();
                    match (t.pending, t.rejected) {
                        (0, 0) => "All synced".to_string(),
                        (p, 0) => format!("{p} to sync"),
                        (p, r) => format!("{p} to sync · {r} need attention"),
                    }
                }}
            </span>
            <span class="status" class:offline=move || !app.online.get() data-testid="network">
                {move || if app.online.get() { "Online" } else { "Offline" }}
            </span>
        </header>
        {move || app.sync.with(|s| s.running).then(|| view! {
            <div class="progress" data-testid="sync-progress">
                <span>{move || app.sync.with(|s| format!("Syncing {} of {}", s.done, s.total))}</span>
                <progress max=move || app.sync.with(|s| s.total) value=move || app.sync.with(|s| s.done)></progress>
            </div>
        })}
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
                    let _ = db::save_settings(&next).await;
                    app.notice.set(None);
                    app.settings.set(Some(next));
                    refresh_locations(app);
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
            <Notice/>
        </section>
    }
}

#[component]
fn LocationPicker() -> impl IntoView {
    let app = expect_context::<App>();
    let choose = move |id: String| {
        if let Some(current) = app.settings.get_untracked() {
            app.save_settings(Settings { location: Some(id), ..current });
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
        </section>
    }
}

#[component]
fn Workspace() -> impl IntoView {
    let app = expect_context::<App>();
    let screens = Memo::new(move |_| app.settings.with(|s| s.as_ref().map(Settings::screens).unwrap_or_default()));
    view! {
        <nav class="tabs">
            <For each=move || screens.get() key=|s| *s let:screen>
                <button data-testid=screen.testid() class:active=move || app.screen.get() == screen
                    on:click=move |_| { app.notice.set(None); app.screen.set(screen) }>
                    {screen.label()}
                </button>
            </For>
            <button class="link" data-testid="change-location"
                on:click=move |_| {
                    if let Some(current) = app.settings.get_untracked() {
                        app.save_settings(Settings { location: None, ..current });
                    }
                }>"Change location"</button>
            <button class="primary" data-testid="sync-now" on:click=move |_| spawn_local(sync::sync_now(app))>"Sync now"</button>
        </nav>
        {move || app.sync.with(|s| s.last_error.clone()).map(|e| view! { <p class="notice warn" data-testid="sync-error">{e}</p> })}
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
    }
}

#[component]
fn Notice() -> impl IntoView {
    let app = expect_context::<App>();
    move || {
        app.notice.get().map(|(good, text)| {
            view! { <p class="notice" class:good=good data-testid="message">{text}</p> }
        })
    }
}

/// A labelled input bound to a signal.
#[component]
fn Field(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] node_ref: Option<NodeRef<html::Input>>,
    #[prop(optional)] next: Option<NodeRef<html::Input>>,
) -> impl IntoView {
    let node_ref = node_ref.unwrap_or_default();
    // Quantities are text inputs, never `type="number"`: a number input reports "" for what is
    // being typed ("-", "12."), the binding wrote that back and "-3" became "3". The text is kept
    // exactly as typed and parsed on submit, where anything but a whole number is refused.
    let (input_type, input_mode) = match kind {
        "number" => ("text", "numeric"),
        "signed" => ("text", "text"),
        other => (other, "text"),
    };
    let input = view! {
        <input type=input_type data-testid=testid bind:value=value autocomplete="off" node_ref=node_ref
            inputmode=input_mode
            on:keydown=move |e: ev::KeyboardEvent| {
                // A scanner types the code and Enter: move on to the next field instead of submitting.
                if e.key() == "Enter" {
                    if let Some(element) = next.and_then(|n| n.get()) {
                        e.prevent_default();
                        let _ = element.focus();
                    }
                }
            }/>
    };
    view! { <label>{label}{input}</label> }
}

/// The SKU and quantity every movement form starts with; Enter after a scan moves to the quantity.
#[component]
fn SkuQty(
    sku: RwSignal<String>,
    qty: RwSignal<String>,
    #[prop(default = "Quantity")] qty_label: &'static str,
    /// The quantity may be negative (adjust): a keyboard with a minus sign.
    #[prop(optional)]
    signed: bool,
) -> impl IntoView {
    let qty_ref = NodeRef::<html::Input>::new();
    let kind = if signed { "signed" } else { "number" };
    view! {
        <div class="row">
            <Field label="SKU" testid="sku" value=sku next=qty_ref/>
            <Field label=qty_label testid="qty" value=qty kind=kind node_ref=qty_ref/>
        </div>
    }
}

/// Parses the SKU and quantity fields, or says what is wrong.
fn sku_and_qty(sku: RwSignal<String>, qty: RwSignal<String>, signed: bool) -> Result<(Id, i64), String> {
    let sku = model::parse_id("SKU", &sku.get_untracked())?;
    let qty = parse_qty(&qty.get_untracked(), signed)?;
    Ok((sku, qty))
}

fn clear(fields: &[RwSignal<String>]) {
    for field in fields {
        field.set(String::new());
    }
}

#[component]
fn Receive() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty, reference) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let quarantine = RwSignal::new(false);
    let submit = move |_| {
        let Some(location) = app.location() else { return };
        match sku_and_qty(sku, qty, false) {
            Ok((id, n)) => {
                app.queue(
                    "receive",
                    id,
                    Ok(model::receive(&location, n, &reference.get_untracked(), quarantine.get_untracked())),
                );
                clear(&[sku, qty, reference]);
                quarantine.set(false);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Receive"</h2>
            <SkuQty sku qty/>
            <Field label="Against (purchase order or transfer, optional)" testid="reference" value=reference/>
            <label class="check"><input type="checkbox" data-testid="to-quarantine" bind:checked=quarantine/>" Into quarantine (inspect before selling)"</label>
            <button class="primary" data-testid="submit" on:click=submit>"Receive"</button>
            <Notice/>
        </section>
    }
}

#[component]
fn Adjust() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty, reason) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |_| {
        let Some(location) = app.location() else { return };
        match sku_and_qty(sku, qty, true) {
            Ok((id, n)) => {
                app.queue("adjust", id, model::adjust(&location, n, &reason.get_untracked()).map(|m| vec![m]));
                clear(&[sku, qty, reason]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Adjust"</h2>
            <SkuQty sku qty qty_label="Change (+ found, − lost)" signed=true/>
            <Field label="Reason" testid="reason" value=reason/>
            <div class="choices small">
                {["damaged in handling", "found", "lost", "sample"].map(|r| view! {
                    <button class="choice" on:click=move |_| reason.set(r.to_string())>{r}</button>
                }).collect_view()}
            </div>
            <button class="primary" data-testid="submit" on:click=submit>"Adjust"</button>
            <Notice/>
        </section>
    }
}

#[component]
fn Count() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // The stock card the counter last saw for this SKU: its version lets the server merge the count.
    let seen = RwSignal::new(None::<StockCard>);
    Effect::new(move |_| {
        let typed = sku.get();
        spawn_local(async move {
            let card = match parse_sku(&typed) {
                Ok(id) => db::load_card(&id).await.ok().flatten(),
                Err(_) => None,
            };
            seen.set(card);
        });
    });
    let submit = move |_| {
        let Some(location) = app.location() else { return };
        let parsed = model::parse_id("SKU", &sku.get_untracked())
            .and_then(|id| Ok((id, model::parse_count(&qty.get_untracked())?)));
        match parsed {
            Ok((id, n)) => {
                let version =
                    seen.with_untracked(|c| c.as_ref().filter(|c| c.sku == id.as_str()).map(StockCard::version));
                app.queue("count", id, Ok(vec![model::count(&location, n, version)]));
                clear(&[sku, qty]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Count"</h2>
            <SkuQty sku qty qty_label="Counted on the shelf"/>
            <p class="muted" data-testid="count-basis">
                {move || match (seen.get(), app.location()) {
                    (Some(card), Some(location)) => format!(
                        "Last seen {}: {} on hand here at version {}. What happened since is merged by the server.",
                        card.age(now_ms()), card.on_hand_at(location.as_str()).unwrap_or(0), card.version()),
                    _ => "Not looked up on this device: the count sets on hand as counted.".to_string(),
                }}
            </p>
            <button class="primary" data-testid="submit" on:click=submit>"Record count"</button>
            <Notice/>
        </section>
    }
}

#[component]
fn Transfer() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty, to, reference) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let fresh_reference = move || match sync::new_id() {
        Ok(id) => reference.set(format!("TR-{}", &id.as_str()[3..11])),
        Err(problem) => app.fail(problem),
    };
    fresh_reference();
    let submit = move |_| {
        let Some(location) = app.location() else { return };
        let parsed = sku_and_qty(sku, qty, false)
            .and_then(|(id, n)| Ok((id, n, model::parse_id("location", &to.get_untracked())?)))
            .and_then(|(id, n, to)| Ok((id, model::transfer(&location, n, &to, &reference.get_untracked())?)));
        match parsed {
            Ok((id, movement)) => {
                app.queue("transfer", id, Ok(vec![movement]));
                clear(&[sku, qty]);
                fresh_reference();
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Transfer out"</h2>
            <SkuQty sku qty/>
            <label>"To"
                <select data-testid="to-location" on:change=move |e| to.set(event_target_value(&e)) prop:value=move || to.get()>
                    <option value="">"Choose a location"</option>
                    {move || {
                        let here = app.location().map(|l| l.to_string()).unwrap_or_default();
                        app.locations.get().into_iter().filter(|l| l.id.as_str() != here).map(|l| {
                            let id = l.id.to_string();
                            view! { <option value=id.clone()>{format!("{} ({id})", l.name)}</option> }
                        }).collect_view()
                    }}
                </select>
            </label>
            <Field label="Transfer reference (receive it under this at the other end)" testid="reference" value=reference/>
            <button class="primary" data-testid="submit" on:click=submit>"Send"</button>
            <Notice/>
        </section>
    }
}

#[component]
fn Returns() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let disposition = RwSignal::new("restock".to_string());
    let expect = move |_| {
        let Some(location) = app.location() else { return };
        match sku_and_qty(sku, qty, false) {
            Ok((id, n)) => {
                app.queue(
                    "return",
                    id,
                    Ok(vec![model::movement(stockline_shared::MovementKind::ReturnExpected, &location, n)]),
                );
                clear(&[sku, qty]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    let received = move |_| {
        let Some(location) = app.location() else { return };
        match sku_and_qty(sku, qty, false) {
            Ok((id, n)) => {
                let movements = model::parse_disposition(&disposition.get_untracked())
                    .map(|disposition| model::return_receive(&location, n, disposition));
                app.queue("return", id, movements);
                clear(&[sku, qty]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Returns"</h2>
            <SkuQty sku qty/>
            <label>"When it arrives"
                <select data-testid="disposition" on:change=move |e| disposition.set(event_target_value(&e))>
                    <option value="restock">"Restock (sellable)"</option>
                    <option value="quarantine">"Quarantine (inspect first)"</option>
                    <option value="damage">"Damaged"</option>
                </select>
            </label>
            <div class="row">
                <button data-testid="return-expected" on:click=expect>"Expected back"</button>
                <button class="primary" data-testid="return-received" on:click=received>"Received"</button>
            </div>
            <Notice/>
        </section>
    }
}

#[component]
fn Ship() -> impl IntoView {
    let app = expect_context::<App>();
    let (reservation, sku, qty) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let picks = RwSignal::new(None::<Reservation>);
    let load = move |_| {
        let Some(settings) = app.settings.get_untracked() else { return };
        let id = reservation.get_untracked().trim().to_string();
        spawn_local(async move {
            match api::reservation(&settings.api_base, &settings.token, &id).await {
                Ok(found) => picks.set(Some(found)),
                Err(error) => {
                    picks.set(None);
                    app.fail(error.describe());
                }
            }
        });
    };
    let ship = move |sku_id: Id, n: i64| {
        let Some(location) = app.location() else { return };
        match model::parse_id("reservation", &reservation.get_untracked()) {
            Ok(id) => app.queue("ship", sku_id, Ok(vec![model::ship(&location, n, &id)])),
            Err(problem) => app.fail(problem),
        }
    };
    let submit = move |_| match sku_and_qty(sku, qty, false) {
        Ok((id, n)) => {
            ship(id, n);
            clear(&[sku, qty]);
        }
        Err(problem) => app.fail(problem),
    };
    view! {
        <section class="card">
            <h2>"Ship"</h2>
            <div class="row">
                <Field label="Order (committed reservation)" testid="reservation" value=reservation/>
                <button data-testid="load-picks" on:click=load>"Pick list"</button>
            </div>
            {move || picks.get().map(|found| {
                let here = app.location().map(|l| l.to_string()).unwrap_or_default();
                let rows: Vec<(Id, i64)> = found.lines.iter().flat_map(|line| {
                    line.allocations.iter().filter(|a| a.location.as_str() == here).map(|a| (line.sku.clone(), a.qty)).collect::<Vec<_>>()
                }).collect();
                view! {
                    <table data-testid="pick-list">
                        <thead><tr><th>"SKU"</th><th>"Allocated here"</th><th></th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|(sku_id, n)| view! {
                                <tr><td>{sku_id.to_string()}</td><td>{n}</td>
                                    <td><button class="primary" on:click=move |_| ship(sku_id.clone(), n)>"Ship"</button></td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="muted">{format!("Status: {}", found.status.as_str())}</p>
                }
            })}
            <SkuQty sku qty/>
            <button class="primary" data-testid="submit" on:click=submit>"Ship"</button>
            <Notice/>
        </section>
    }
}

#[component]
fn OutboxView() -> impl IntoView {
    let app = expect_context::<App>();
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
                    let synced = app.sync.with(|s| s.last_synced_ms).map(|ms| format!(" · last synced {}", model::age(ms, now_ms()))).unwrap_or_default();
                    format!("{} to sync · {} applied · {} need attention{synced}", t.pending, t.applied, t.rejected)
                }}
            </p>
            <ul class="ops">
                <For each=move || ops.get() key=|q| (q.op.op_id.to_string(), format!("{:?}", q.state)) let:queued>
                    <OpRow queued/>
                </For>
            </ul>
        </section>
    }
}

#[component]
fn OpRow(queued: QueuedOp) -> impl IntoView {
    let app = expect_context::<App>();
    let op_id = queued.op.op_id.to_string();
    let text = model::describe(queued.op.sku.as_str(), &queued.op.movement);
    let (class, state) = match &queued.state {
        OpState::Pending if queued.attempts > 0 => ("pending", format!("waiting to send ({} tries)", queued.attempts)),
        OpState::Pending => ("pending", "waiting to send".to_string()),
        OpState::Applied { version } => ("applied", format!("applied (v{version})")),
        OpState::Rejected { code, message } => ("rejected", format!("rejected: {message} ({code})")),
    };
    let rejected = queued.is_rejected();
    let qty = RwSignal::new(queued.op.movement.qty.to_string());
    let resend = {
        let op_id = op_id.clone();
        move |_| {
            let signed = matches!(queued.op.movement.kind, stockline_shared::MovementKind::Adjust);
            let parsed = if queued.op.movement.kind == stockline_shared::MovementKind::Count {
                model::parse_count(&qty.get_untracked())
            } else {
                parse_qty(&qty.get_untracked(), signed)
            };
            let n = match parsed {
                Ok(n) => n,
                Err(problem) => return app.fail(problem),
            };
            let new_id = match sync::new_id() {
                Ok(id) => id,
                Err(problem) => return app.fail(problem),
            };
            let changed = app.outbox.try_update(|o| o.resend(&op_id, new_id, n)).flatten();
            let old_id = op_id.clone();
            spawn_local(async move {
                if let Some(changed) = changed {
                    let _ = db::save_op(&changed).await;
                    let _ = db::delete_op(&old_id).await;
                    sync::sync_now(app).await;
                }
            });
        }
    };
    let discard = {
        let op_id = op_id.clone();
        move |_| {
            if app.outbox.try_update(|o| o.discard(&op_id)).unwrap_or(false) {
                let id = op_id.clone();
                spawn_local(async move {
                    let _ = db::delete_op(&id).await;
                });
            }
        }
    };
    view! {
        <li class=format!("op {class}") data-testid="op" data-state=class>
            <span class="what">{text}</span>
            <span class="state" data-testid="op-state">{state}</span>
            {rejected.then(|| view! {
                <div class="row resolve">
                    <input type="text" inputmode="text" data-testid="resend-qty" bind:value=qty/>
                    <button class="primary" data-testid="resend" on:click=resend.clone()>"Edit & resend"</button>
                    <button data-testid="discard" on:click=discard.clone()>"Discard"</button>
                </div>
            })}
        </li>
    }
}

/// Fetches a SKU's availability; on success saves it for offline use, otherwise falls back to the saved copy.
fn lookup(app: App, sku: String) {
    let Some(current) = app.settings.get_untracked() else { return };
    app.busy.set(true);
    spawn_local(async move {
        match api::availability(&current.api_base, &current.token, &sku).await {
            Ok(availability) => {
                let fresh = StockCard::live(availability, now_ms());
                let _ = db::save_card(&fresh).await;
                app.notice.set(None);
                app.card.set(Some(fresh));
            }
            Err(CallError::Unreachable) => match db::load_card(&sku).await {
                Ok(Some(saved)) => {
                    app.fail("Offline: showing the saved copy");
                    app.card.set(Some(saved));
                }
                _ => {
                    app.fail(format!("Offline, and `{sku}` was never looked up on this device"));
                    app.card.set(None);
                }
            },
            Err(refused) => {
                app.fail(refused.describe());
                app.card.set(None);
            }
        }
        if let Some(latest) = app.settings.get_untracked() {
            let next = Settings { last_sku: Some(sku), ..latest };
            let _ = db::save_settings(&next).await;
            app.settings.set(Some(next));
        }
        app.busy.set(false);
    });
}

#[component]
fn Lookup() -> impl IntoView {
    let app = expect_context::<App>();
    let input = RwSignal::new(String::new());
    let submit = move || match parse_sku(&input.get_untracked()) {
        Ok(sku) => lookup(app, sku),
        Err(problem) => app.fail(problem),
    };
    view! {
        <section class="card">
            <h2>"Stock lookup"</h2>
            <div class="row">
                <input type="search" data-testid="sku-input" placeholder="Type or scan a SKU" autofocus
                    bind:value=input
                    on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Enter" { submit() }/>
                <button class="primary" data-testid="lookup" on:click=move |_| submit() disabled=move || app.busy.get()>
                    "Look up"
                </button>
            </div>
            <Notice/>
        </section>
        {move || app.card.get().map(|card| view! { <StockCardView card/> })}
    }
}

#[component]
fn StockCardView(card: StockCard) -> impl IntoView {
    let age = card.age(now_ms());
    let saved = card.is_saved_copy();
    let totals = card.availability.availability;
    let locations = totals.locations.clone();
    view! {
        <section class="card" data-testid="stock-card">
            <h2 data-testid="card-sku">{totals.sku.to_string()}</h2>
            <p class="muted">
                {format!("Synced {age} · version {}", totals.version)}
                {saved.then(|| view! { <span class="badge" data-testid="saved-badge">" saved copy"</span> })}
            </p>
            <div class="figures">
                <Figure label="Available" value=totals.available testid="available"/>
                <Figure label="On hand" value=totals.on_hand testid="on-hand"/>
                <Figure label="Reserved" value=totals.reserved testid="reserved"/>
                <Figure label="Allocated" value=totals.allocated testid="allocated"/>
                <Figure label="Inbound" value=totals.inbound testid="inbound"/>
            </div>
            <div class="table-wrap"><table>
                <thead><tr>
                    <th>"Location"</th><th>"Available"</th><th>"On hand"</th><th>"Reserved"</th>
                    <th>"Allocated"</th><th>"Quarantined"</th><th>"Damaged"</th><th>"Inbound"</th>
                </tr></thead>
                <tbody>
                    {locations.into_iter().map(|l| view! {
                        <tr>
                            <td>{l.location.to_string()}</td><td>{l.available}</td><td>{l.on_hand}</td>
                            <td>{l.reserved}</td><td>{l.allocated}</td><td>{l.quarantined}</td>
                            <td>{l.damaged}</td><td>{l.inbound}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </section>
    }
}

#[component]
fn Figure(label: &'static str, value: i64, testid: &'static str) -> impl IntoView {
    view! {
        <div class="figure">
            <span class="value" data-testid=testid>{value}</span>
            <span class="label">{label}</span>
        </div>
    }
}
