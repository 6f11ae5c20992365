//! Suppliers for buyers: a card per supplier with its standing, and its scorecard as a chart
//! (on time in full, fill rate, QC rejects; lead time measured against declared; price
//! variance). Readable offline from the last copy.

use crate::api::{self, CallError};
use crate::chart::{self, ScoreChart};
use crate::db;
use crate::model::Fetched;
use crate::state::{now_ms, AppState};
use crate::views::fields::Status;
use crate::views::replenishment::live_or_saved;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Scorecard, Supplier};

/// Supplier cards fetched (and kept) at most.
const SUPPLIER_CARDS_MAX: usize = 50;

type Cards = Vec<(Supplier, Option<Scorecard>)>;

/// The suppliers and each one's scorecard; a scorecard the server refuses is left out (`None`).
async fn fetch(api_base: &str, token: &str) -> Result<Cards, CallError> {
    let suppliers = api::suppliers(api_base, token).await?;
    let mut cards = Vec::with_capacity(suppliers.len().min(SUPPLIER_CARDS_MAX));
    for supplier in suppliers.into_iter().take(SUPPLIER_CARDS_MAX) {
        let card = match api::scorecard(api_base, token, supplier.id.as_str()).await {
            Ok(card) => Some(card),
            Err(CallError::Unreachable) => return Err(CallError::Unreachable),
            Err(CallError::Refused { .. }) => None,
        };
        cards.push((supplier, card));
    }
    Ok(cards)
}

fn load(app: AppState, cards: RwSignal<Option<Fetched<Cards>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        let answer = fetch(&current.api_base, &current.token).await;
        let save = |copy| async move { db::save_supplier_cards(&copy).await };
        match live_or_saved(app, answer, save, db::load_supplier_cards()).await {
            Ok(Some(copy)) => cards.set(Some(copy)),
            Ok(None) => app.fail("Offline, and this device has no saved supplier cards yet"),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn Suppliers() -> impl IntoView {
    let app = expect_context::<AppState>();
    let cards = RwSignal::new(None::<Fetched<Cards>>);
    load(app, cards);
    view! {
        <section class="card" data-testid="suppliers">
            <h2>"Suppliers"</h2>
            <p class="muted" data-testid="suppliers-freshness">
                {move || cards.with(|c| c.as_ref().map(|c| c.freshness(now_ms())))}
            </p>
            <Status/>
            {move || cards.with(|c| c.as_ref().is_some_and(|c| c.value.is_empty())).then(|| view! {
                <p class="muted">"No suppliers yet."</p>
            })}
        </section>
        <div class="supplier-cards">
            {move || cards.get().map(|c| c.value.into_iter().map(|(supplier, card)| supplier_card(supplier, card)).collect_view())}
        </div>
    }
}

fn supplier_card(supplier: Supplier, card: Option<Scorecard>) -> impl IntoView {
    let standing = supplier.standing.as_str();
    let summary = card.as_ref().map(|c| {
        let variance = c.price_variance_pct.map_or("no invoices yet".to_string(), |v| {
            let v = v.normalize();
            if v.is_sign_negative() {
                format!("{v}% under order prices")
            } else {
                format!("+{v}% over order prices")
            }
        });
        let orders = if c.orders == 1 { "1 order sent".to_string() } else { format!("{} orders sent", c.orders) };
        format!("{orders} · {variance}")
    });
    view! {
        <article class="card supplier-card" data-testid=format!("supplier-{}", supplier.id)>
            <h3>{supplier.name.clone()} " " <span class=format!("badge standing-{standing}") data-testid="standing">{standing}</span></h3>
            <p class="muted small">{format!("{} · {}", supplier.id, supplier.currency)}</p>
            {match card {
                Some(card) => {
                    let chart = chart::scorecard(&card, &supplier);
                    view! {
                        <p class="small" data-testid="scorecard-summary">{summary}</p>
                        {score_chart(chart, supplier.name.clone())}
                    }.into_any()
                }
                None => view! { <p class="muted small">"No scorecard: the server did not give one."</p> }.into_any(),
            }}
        </article>
    }
}

fn score_chart(c: ScoreChart, name: String) -> impl IntoView {
    let lead = c.lead_time;
    let label = format!(
        "{name}: {}; lead time {}",
        c.bars.iter().map(|b| format!("{} {}", b.label, b.text)).collect::<Vec<_>>().join("; "),
        lead.text
    );
    let pct = |value: f64| format!("{value:.1}%");
    view! {
        <div class="scorecard" data-testid="scorecard-chart" role="img" aria-label=label>
            {c.bars.into_iter().map(|bar| view! {
                <div class="score-row">
                    <span class="score-label">{bar.label}</span>
                    <span class="score-track">
                        {bar.width_pct.map(|w| view! {
                            <span class=format!("score-bar {}", bar.class) style:width=pct(w)></span>
                        })}
                    </span>
                    <span class="score-value" data-testid="score-value">{bar.text}</span>
                </div>
            }).collect_view()}
            <div class="score-row">
                <span class="score-label">"Lead time"</span>
                <span class="score-track">
                    {lead.mean_pct.map(|(mean, from, to)| view! {
                        <span class="score-bar mean" style:width=pct(mean)></span>
                        <span class="score-whisker" style:left=pct(from) style:width=pct(to - from)></span>
                    })}
                    <span class="score-declared" style:left=pct(lead.declared_pct) title="declared"></span>
                </span>
                <span class="score-value" data-testid="lead-time">{lead.text}</span>
            </div>
        </div>
    }
}
