//! The managers' dashboard: a tile per KPI with its trend, the daily fill rate as a line chart,
//! the backlog as bars, and a tap on a tile drills into what is behind it. Readable offline from
//! the last copy, marked with its time.

use crate::api;
use crate::chart::{self, TrendChart};
use crate::dashboard::{AlertRow, Bar, Dashboard, Tile};
use crate::db;
use crate::model::Fetched;
use crate::state::{now_ms, AppState};
use crate::views::fields::Status;
use crate::views::replenishment::live_or_saved;
use leptos::prelude::*;
use leptos::task::spawn_local;

fn load(app: AppState, dashboard: RwSignal<Option<Fetched<Dashboard>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        let answer = api::dashboard(&current.api_base, &current.token).await;
        let save = |copy| async move { db::save_dashboard(&copy).await };
        match live_or_saved(app, answer, save, db::load_dashboard()).await {
            Ok(Some(copy)) => dashboard.set(Some(copy)),
            Ok(None) => app.fail("Offline, and this device has no saved dashboard yet"),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn DashboardView() -> impl IntoView {
    let app = expect_context::<AppState>();
    let dashboard = RwSignal::new(None::<Fetched<Dashboard>>);
    // The tile whose figures are opened below the tiles.
    let open = RwSignal::new(None::<&'static str>);
    load(app, dashboard);
    view! {
        <section class="card" data-testid="dashboard">
            <h2>"Dashboard"</h2>
            <p class="muted" data-testid="dashboard-freshness">
                {move || dashboard.with(|d| d.as_ref().map(|d| {
                    let window = format!("{} to {}", d.value.fill.from.format("%b %-d"), d.value.fill.to.format("%b %-d"));
                    format!("{} · orders of {window}", d.freshness(now_ms()))
                }))}
            </p>
            <Status/>
        </section>
        {move || dashboard.get().map(|d| {
            let d = d.value;
            let tiles = d.tiles();
            let trend = chart::fill_trend(&d.fill.days);
            let alerts = d.alerts();
            view! {
                {alerts_view(alerts)}
                <div class="tiles">
                    {tiles.into_iter().map(|tile| tile_view(tile, open)).collect_view()}
                </div>
                {move || open.get().map(|id| drill_down(&d, id))}
                <section class="card">
                    <h3>"Unit fill rate by day"</h3>
                    {trend_view(trend)}
                </section>
            }
        })}
    }
}

/// Every team's alerts, newest first: what, for whom, about what, since when.
fn alerts_view(alerts: Option<Vec<AlertRow>>) -> impl IntoView {
    let Some(alerts) = alerts else {
        return view! {
            <section class="card" data-testid="alerts">
                <h3>"Alerts"</h3>
                <p class="muted">"Not in this saved copy: refresh online to see them."</p>
            </section>
        }
        .into_any();
    };
    let count = alerts.len();
    view! {
        <section class="card" data-testid="alerts">
            <h3>{format!("Alerts ({count})")}</h3>
            {(count == 0).then(|| view! { <p class="muted">"Nothing at risk now."</p> })}
            <ul class="alerts">
                {alerts.into_iter().map(|alert| view! {
                    <li class=format!("alert {}", alert.kind) data-testid="alert">
                        <strong>{alert.title}</strong>
                        <span class="muted">{format!(" · {} · raised {}", alert.about, alert.raised)}</span>
                        <p>{alert.message}</p>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

fn tile_view(tile: Tile, open: RwSignal<Option<&'static str>>) -> impl IntoView {
    let id = tile.id;
    view! {
        <button class="tile" data-testid=format!("tile-{id}") class:open=move || open.get() == Some(id)
            aria-expanded=move || if open.get() == Some(id) { "true" } else { "false" }
            on:click=move |_| open.update(|o| *o = if *o == Some(id) { None } else { Some(id) })>
            <span class="tile-label">{tile.label}</span>
            <strong class="tile-value" data-testid="tile-value">{tile.value}</strong>
            <span class="tile-detail" data-testid="tile-detail">{tile.detail}</span>
            <span class=format!("tile-trend {}", tile.class) data-testid="tile-trend">{tile.trend}</span>
        </button>
    }
}

fn drill_down(d: &Dashboard, id: &'static str) -> AnyView {
    match id {
        "fill-first" | "fill-final" => drill_table(
            "SKUs behind the fill rate, the worst first",
            "No orders in this window.",
            ["SKU", "First-time", "Final", "Units found first"],
            d.skus().into_iter().map(|row| [row.sku, row.first_time, row.ended, row.units]).collect(),
        ),
        "cycle" => drill_table(
            "Channels behind the cycle time, the slowest first",
            "Nothing shipped in this window.",
            ["Channel", "Shipped", "p50", "p90"],
            d.channels().into_iter().map(|row| [row.channel, row.shipped.to_string(), row.p50, row.p90]).collect(),
        ),
        "suppliers" => drill_table(
            "Suppliers behind it: lead time drifting first, then the lowest on time",
            "No purchase-order lines due in this window.",
            ["Supplier", "On time in full", "Fill", "Lead time", "QC rejects", "Price variance"],
            d.suppliers()
                .into_iter()
                .map(|row| {
                    [row.supplier, row.on_time_in_full, row.fill, row.lead_time, row.qc_rejects, row.price_variance]
                })
                .collect(),
        ),
        "margin" => drill_table(
            "SKUs behind the leak, the largest first",
            "No sales, stockouts or invoices in this window.",
            ["SKU", "Leak", "Lost sales", "Stockout days", "Price variance"],
            d.leaks()
                .into_iter()
                .map(|row| [row.sku, row.leak, row.lost_sales, row.stockout_days, row.price_variance])
                .collect(),
        ),
        _ => {
            let (ages, states) = d.backlog_bars();
            view! {
                <section class="card" data-testid="drill-down">
                    <h3>"Open orders by age"</h3>
                    {bars_view(ages)}
                    <h3>"Open orders by state"</h3>
                    {bars_view(states)}
                </section>
            }
            .into_any()
        }
    }
}

fn drill_table<const COLUMNS: usize>(
    title: &'static str,
    empty: &'static str,
    headings: [&'static str; COLUMNS],
    rows: Vec<[String; COLUMNS]>,
) -> AnyView {
    view! {
        <section class="card" data-testid="drill-down">
            <h3>{title}</h3>
            {rows.is_empty().then(|| view! { <p class="muted">{empty}</p> })}
            <table class="drill">
                <thead><tr>{headings.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr data-testid="drill-row">{row.into_iter().map(|cell| view! { <td>{cell}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

fn bars_view(bars: Vec<Bar>) -> impl IntoView {
    view! {
        <div class="scorecard">
            {bars.into_iter().map(|bar| view! {
                <div class="score-row" data-testid="drill-row">
                    <span class="score-label">{bar.label}</span>
                    <span class="score-track">
                        <span class="score-bar mean" style:width=format!("{:.1}%", bar.width_pct)></span>
                    </span>
                    <span class="score-value">{bar.count}</span>
                </div>
            }).collect_view()}
        </div>
    }
}

fn trend_view(c: TrendChart) -> impl IntoView {
    let TrendChart { first_time, ended, first_time_dots, ended_dots, y_ticks, x_ticks, left, right, bottom } = c;
    view! {
        <figure class="chart">
            <svg data-testid="fill-chart" viewBox=format!("0 0 {} {}", chart::WIDTH, chart::TREND_HEIGHT) role="img"
                aria-label="Unit fill rate per day: first-time and final">
                {super::axes(y_ticks, x_ticks, left, right, bottom)}
                {first_time.into_iter().map(|points| view! { <polyline class="fill-first" points=points/> }).collect_view()}
                {ended.into_iter().map(|points| view! { <polyline class="fill-final" points=points/> }).collect_view()}
                {first_time_dots.into_iter().map(|(x, y)| view! { <circle class="fill-first" cx=x cy=y r=3.5/> }).collect_view()}
                {ended_dots.into_iter().map(|(x, y)| view! { <circle class="fill-final" cx=x cy=y r=3.5/> }).collect_view()}
            </svg>
            <figcaption class="legend">
                <span class="key fill-first">"First-time"</span>
                <span class="key fill-final">"Final"</span>
            </figcaption>
        </figure>
    }
}
