//! The stock screen: find an item (scan, SKU, name, or a recent one) and see its stock here
//! first, then across the network. Works offline from the saved card.

use crate::api::{self, CallError};
use crate::db;
use crate::model::{self, StockCard};
use crate::state::{now_ms, AppState};
use crate::views::fields::{ItemField, Status};
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::Item;

/// Fetches a SKU's availability; on success saves it for offline use, otherwise falls back to the
/// saved copy. `remember` puts it among the recent items.
pub fn lookup(app: AppState, sku: String, remember: bool) {
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
                    app.ok(format!("Offline: showing what this device saw {}", saved.age(now_ms())));
                    app.card.set(Some(saved));
                }
                _ => {
                    app.fail(format!("Offline, and “{}” was never looked up on this device", model::echo(&sku)));
                    app.card.set(None);
                }
            },
            Err(CallError::Refused { status: 404, .. }) => {
                app.fail(format!("The server knows no item “{}”", model::echo(&sku)));
                app.card.set(None);
            }
            Err(refused) => {
                app.fail(refused.describe());
                app.card.set(None);
            }
        }
        if remember {
            app.remember(&sku);
        }
        app.busy.set(false);
        // The replica the card projects this device's queued movements on (the kept one offline).
        crate::replica::show(app, &sku).await;
    });
}

#[component]
pub fn Lookup() -> impl IntoView {
    let app = expect_context::<AppState>();
    let input = RwSignal::new(String::new());
    let chosen = Callback::new(move |item: Item| lookup(app, item.sku.to_string(), true));
    let submit = move |_| match app.item_for(&input.get_untracked()) {
        Ok(sku) => lookup(app, sku.to_string(), true),
        Err(problem) => app.fail(problem),
    };
    let recent = move || app.settings.with(|s| s.as_ref().map(|s| s.recent.clone()).unwrap_or_default());
    view! {
        <section class="card">
            <h2>"Stock"</h2>
            <div class="row">
                <ItemField value=input testid="sku-input" label="Find an item" on_chosen=chosen/>
                <button class="primary" data-testid="lookup" on:click=submit disabled=move || app.busy.get()>"Look up"</button>
            </div>
            {move || {
                let recent = recent();
                (!recent.is_empty()).then(|| view! {
                    <div class="recent" aria-label="Recent items">
                        <span class="muted small">"Recent: "</span>
                        {recent.into_iter().map(|sku| {
                            let label = sku.clone();
                            view! {
                                <button class="chip-button" data-testid="recent-item"
                                    on:click=move |_| { input.set(sku.clone()); lookup(app, sku.clone(), true) }>{label}</button>
                            }
                        }).collect_view()}
                    </div>
                })
            }}
            <Status/>
        </section>
        // The card shown is the item in the field (or, with the field empty, the last one seen):
        // never one item's numbers under another item's name or error.
        {move || {
            let typed = input.get();
            app.card.get().filter(|card| typed.trim().is_empty() || card.sku == typed.trim()).map(|card| view! { <StockCardView card/> })
        }}
    }
}

#[component]
fn StockCardView(card: StockCard) -> impl IntoView {
    let app = expect_context::<AppState>();
    let location = app.location().map(|l| l.to_string()).unwrap_or_default();
    let age = card.age(now_ms());
    let saved = card.is_saved_copy();
    let name = app.items.with_untracked(|i| i.name(&card.sku).map(str::to_string)).unwrap_or_default();
    let here = card.here(&location);
    let network = card.network(&location);
    let totals = card.availability.availability.clone();
    let has_location = !location.is_empty();
    view! {
        <section class="card" data-testid="stock-card">
            <h2 class="wrap" data-testid="card-sku">{totals.sku.to_string()}</h2>
            <p class="item-name" data-testid="card-name">{name}</p>
            <p class="muted">
                {format!("Looked up {age} · version {}", totals.version)}
                {saved.then(|| view! { <span class="badge" data-testid="saved-badge">"saved copy"</span> })}
            </p>
            {has_location.then(|| view! { <ReplicaLine sku=totals.sku.to_string() location=location.clone()/> })}
            {has_location.then(|| view! {
                <h3>{format!("Here · {location}")}</h3>
                <div class="figures">
                    <Figure label="Available" value=here.available testid="here-available"/>
                    <Figure label="On hand" value=here.on_hand testid="here-on-hand"/>
                    <Figure label="Reserved" value=here.reserved testid="here-reserved"/>
                    <Figure label="Allocated" value=here.allocated testid="here-allocated"/>
                    {(here.quarantined > 0).then(|| view! { <Figure label="Quarantined" value=here.quarantined testid="here-quarantined"/> })}
                    {(here.damaged > 0).then(|| view! { <Figure label="Damaged" value=here.damaged testid="here-damaged"/> })}
                    {(here.inbound > 0).then(|| view! { <Figure label="Inbound" value=here.inbound testid="here-inbound"/> })}
                </div>
            })}
            <h3>"All locations"</h3>
            <div class="figures small">
                <Figure label="Available" value=totals.available testid="available"/>
                <Figure label="On hand" value=totals.on_hand testid="on-hand"/>
                <Figure label="Inbound" value=totals.inbound testid="inbound"/>
            </div>
            <div class="table-wrap"><table>
                <thead><tr>
                    <th>"Location"</th><th>"Available"</th><th>"On hand"</th><th>"Reserved"</th>
                    <th>"Allocated"</th><th>"Quarantined"</th><th>"Damaged"</th><th>"Inbound"</th>
                </tr></thead>
                <tbody>
                    {network.into_iter().map(|l| {
                        let is_here = l.location.as_str() == location;
                        view! {
                            <tr class:here=is_here>
                                <td>{l.location.to_string()}{is_here.then_some(" (here)")}</td><td>{l.available}</td><td>{l.on_hand}</td>
                                <td>{l.reserved}</td><td>{l.allocated}</td><td>{l.quarantined}</td>
                                <td>{l.damaged}</td><td>{l.inbound}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table></div>
        </section>
    }
}

/// On hand here as the server last answered, and after this device's queued movements (the
/// engine's projection on the replica); differences the last sync found.
#[component]
fn ReplicaLine(sku: String, location: String) -> impl IntoView {
    let app = expect_context::<AppState>();
    let line = move || {
        let kept = app.replica.get().filter(|kept| kept.sku() == sku)?;
        let settings = app.settings.get()?;
        let ctx = crate::replica::device_ctx(&settings, now_ms()).ok()?;
        let at = app
            .outbox
            .with(|outbox| crate::replica::at_location(&kept, outbox, &location, &ctx, crate::replica::clock_ms));
        Some((kept, at))
    };
    move || {
        line().map(|(kept, at)| {
        let sku = kept.sku().to_string();
        let differences: Vec<String> = app
            .differences
            .with(|all| all.get(&sku).map(|found| found.iter().map(crate::replica::difference_words).collect()))
            .unwrap_or_default();
        view! {
            {match at {
                Ok(at) => view! {
                    <p class="projection" class:flagged={at.refused > 0} data-testid="card-projection"
                        data-projection-ms=format!("{:.3}", at.projection_ms) data-queued=at.queued>{at.describe()}</p>
                }.into_any(),
                Err(problem) => view! { <p class="muted small" data-testid="card-projection">{problem}</p> }.into_any(),
            }}
            {(!differences.is_empty()).then(|| view! {
                <div class="notice warn" data-testid="card-differences">
                    <strong>"After sync: "</strong>
                    <ul>{differences.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
                    <button class="link" data-testid="dismiss-differences"
                        on:click=move |_| crate::replica::dismiss_differences(app, sku.clone())>"Seen"</button>
                </div>
            })}
        }
    })
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
