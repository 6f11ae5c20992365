//! Count: what is on the shelf, taken from the stock card and this device's own work since.
use crate::api::{self, CallError};
use crate::db;
use crate::model::{build, Form, QtyKind};
use crate::model::{CountFrom, StockCard};
use crate::state::now_ms;
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, read, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::Item;
use stockline_shared::MovementKind;

/// The stock card a count is taken from: fresh from the server when online, else the saved one.
async fn card_for_count(app: AppState, sku: String) -> Option<StockCard> {
    let settings = app.settings.get_untracked()?;
    match api::availability(&settings.api_base, &settings.token, &sku).await {
        Ok(availability) => {
            let fresh = StockCard::live(availability, now_ms());
            let _ = db::save_card(&fresh).await;
            Some(fresh)
        }
        Err(CallError::Unreachable) => db::load_card(&sku).await.ok().flatten(),
        Err(refused) => {
            app.fail(refused.describe());
            None
        }
    }
}

#[component]
pub fn Count() -> impl IntoView {
    let app = expect_context::<AppState>();
    let (sku, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let qty_ref = NodeRef::<html::Input>::new();
    let seen = RwSignal::new(None::<StockCard>);
    let load = Callback::new(move |item: Item| {
        seen.set(None);
        spawn_local(async move {
            let card = card_for_count(app, item.sku.to_string()).await;
            seen.set(card);
        });
    });
    let from = Memo::new(move |_| {
        let location = app.location()?;
        let card = seen.get()?;
        (card.sku == sku.get().trim()).then(|| app.outbox.with(|o| CountFrom::new(&card, o, location.as_str())))
    });
    let submit = move || {
        let Some(location) = app.location() else { return };
        let built = read(app, sku, qty, QtyKind::Count).and_then(|(id, n)| {
            let mut movement = build(MovementKind::Count, &location, &Form { qty: n, ..Form::default() })?;
            let basis = from
                .get_untracked()
                .filter(|_| seen.with_untracked(|c| c.as_ref().is_some_and(|c| c.sku == id.as_str())));
            movement.counted_at_version = basis.as_ref().map(|f| f.seen_version);
            Ok((id, movement, basis.map(|f| f.basis())))
        });
        match built {
            Ok((id, movement, basis)) => {
                sync::queue(app, "count", id, vec![movement], basis);
                clear(&[sku, qty]);
                seen.set(None);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Count"</h2>
            <ItemField value=sku next=qty_ref on_chosen=load/>
            <p class="muted" data-testid="count-basis" aria-live="polite">
                {move || match (from.get(), seen.get()) {
                    (Some(from), Some(card)) => format!("{} · looked up {}", from.describe(), card.age(now_ms())),
                    _ if sku.get().trim().is_empty() => "Scan the item on the shelf.".to_string(),
                    _ => "Not looked up on this device: the count sets on hand as counted.".to_string(),
                }}
            </p>
            <QtyField value=qty node_ref=qty_ref label="Counted on the shelf" on_enter=Callback::new(move |_| submit())/>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Record count"</button>
            <Status/>
        </section>
    }
}
