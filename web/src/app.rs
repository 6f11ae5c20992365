//! The views. Thin: they show `model` values and call `api`/`db`; decisions live elsewhere.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{parse_sku, Settings, StockCard};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

fn now_ms() -> f64 {
    js_sys::Date::now()
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
    let settings = RwSignal::new(None::<Settings>);
    let card = RwSignal::new(None::<StockCard>);
    let message = RwSignal::new(None::<String>);
    let online = RwSignal::new(window().navigator().on_line());
    let busy = RwSignal::new(false);

    let on = window_event_listener(ev::online, move |_| online.set(true));
    let off = window_event_listener(ev::offline, move |_| online.set(false));
    on_cleanup(move || {
        on.remove();
        off.remove();
    });

    // Start-up: settings and the last SKU's saved card from IndexedDB, then a fresh copy if we can.
    spawn_local(async move {
        let mut loaded = db::load_settings().await.ok().flatten().unwrap_or_default();
        if let Some(api) = api_from_query() {
            loaded.api_base = api;
        }
        if loaded.api_base.is_empty() {
            loaded.api_base = default_api_base();
        }
        let last_sku = loaded.last_sku.clone();
        settings.set(Some(loaded));
        if let Some(sku) = last_sku {
            if let Ok(Some(saved)) = db::load_card(&sku).await {
                card.set(Some(saved));
            }
            lookup(sku, settings, card, message, busy);
        }
    });

    // Re-render the page only when signing in or out, not on every settings change.
    let signed_in = Memo::new(move |_| settings.with(|s| s.as_ref().map(Settings::signed_in)));
    view! {
        <header class="bar">
            <h1>"Stockline"</h1>
            <span class="status" class:offline=move || !online.get() data-testid="network">
                {move || if online.get() { "Online" } else { "Offline" }}
            </span>
        </header>
        <main>
            {move || match signed_in.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(false) => {
                    let current = settings.get_untracked().unwrap_or_default();
                    view! { <SignIn settings current/> }.into_any()
                }
                Some(true) => view! { <Lookup settings card message busy/> }.into_any(),
            }}
        </main>
    }
}

#[component]
fn SignIn(settings: RwSignal<Option<Settings>>, current: Settings) -> impl IntoView {
    let token = RwSignal::new(String::new());
    let api_base = RwSignal::new(current.api_base.clone());
    let sign_in = move || {
        let token = token.get_untracked().trim().to_string();
        if token.is_empty() {
            return;
        }
        let next = Settings { api_base: api_base.get_untracked(), token, last_sku: None };
        spawn_local(async move {
            let _ = db::save_settings(&next).await;
            settings.set(Some(next));
        });
    };
    view! {
        <section class="card">
            <h2>"Sign in"</h2>
            <label>"Access token"
                <input type="password" data-testid="token" bind:value=token autocomplete="off"
                    on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Enter" { sign_in() }/>
            </label>
            <label>"Server"
                <input type="url" data-testid="api-base" bind:value=api_base/>
            </label>
            <button class="primary" data-testid="sign-in" on:click=move |_| sign_in()>"Sign in"</button>
        </section>
    }
}

/// Fetches a SKU's availability; on success saves it for offline use, otherwise falls back to the saved copy.
fn lookup(
    sku: String,
    settings: RwSignal<Option<Settings>>,
    card: RwSignal<Option<StockCard>>,
    message: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
) {
    let Some(current) = settings.get_untracked() else { return };
    busy.set(true);
    spawn_local(async move {
        let result = api::availability(&current.api_base, &current.token, &sku).await;
        match result {
            Ok(availability) => {
                let fresh = StockCard::live(availability, now_ms());
                let _ = db::save_card(&fresh).await;
                message.set(None);
                card.set(Some(fresh));
            }
            Err(CallError::Unreachable) => match db::load_card(&sku).await {
                Ok(Some(saved)) => {
                    message.set(Some("Offline: showing the saved copy".to_string()));
                    card.set(Some(saved));
                }
                _ => {
                    message.set(Some(format!("Offline, and `{sku}` was never looked up on this device")));
                    card.set(None);
                }
            },
            Err(refused) => {
                message.set(Some(refused.describe()));
                card.set(None);
            }
        }
        let next = Settings { last_sku: Some(sku), ..current };
        let _ = db::save_settings(&next).await;
        settings.set(Some(next));
        busy.set(false);
    });
}

#[component]
fn Lookup(
    settings: RwSignal<Option<Settings>>,
    card: RwSignal<Option<StockCard>>,
    message: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let input = RwSignal::new(String::new());
    let submit = move || match parse_sku(&input.get_untracked()) {
        Ok(sku) => lookup(sku, settings, card, message, busy),
        Err(problem) => message.set(Some(problem)),
    };
    view! {
        <section class="card">
            <h2>"Stock lookup"</h2>
            <div class="row">
                <input type="search" data-testid="sku-input" placeholder="Type or scan a SKU" autofocus
                    bind:value=input
                    on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Enter" { submit() }/>
                <button class="primary" data-testid="lookup" on:click=move |_| submit() disabled=move || busy.get()>
                    "Look up"
                </button>
            </div>
            {move || message.get().map(|text| view! { <p class="notice" data-testid="message">{text}</p> })}
        </section>
        {move || card.get().map(|card| view! { <StockCardView card/> })}
    }
}

#[component]
fn StockCardView(card: StockCard) -> impl IntoView {
    let age = card.age(now_ms());
    let saved = card.is_saved_copy();
    let a = card.availability;
    let totals = a.availability;
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
