//! Replenishment for buyers: the SKUs that need an order, at-risk first, with the reason in
//! words and numbers; a SKU's plan with one chart (demand, forecast, projected on hand, reorder
//! point, safety stock, the stockout day). Both readable offline from the last copy.

use crate::api::{self, CallError};
use crate::chart::{self, Chart};
use crate::db;
use crate::model::Screen;
use crate::model::{self, Fetched};
use crate::state::{now_ms, AppState};
use crate::views::fields::Status;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Plan, PlanBasis, ReplenishmentLine, ReplenishmentResponse, WhatIf};

/// The live answer, kept on the device with `save` for offline reading; when the server cannot
/// be reached, the copy `saved` gives (`None`: nothing saved yet). A refusal is passed on.
pub(crate) async fn live_or_saved<T: Clone, S, L>(
    app: AppState,
    answer: Result<T, CallError>,
    save: impl FnOnce(Fetched<T>) -> S,
    saved: L,
) -> Result<Option<Fetched<T>>, CallError>
where
    S: std::future::Future<Output = db::DbResult<()>>,
    L: std::future::Future<Output = db::DbResult<Option<Fetched<T>>>>,
{
    match answer {
        Ok(value) => {
            let fresh = Fetched::live(value, now_ms());
            if let Err(error) = save(fresh.clone()).await {
                app.fail(format!("Shown, but not kept on this device for offline use: {error}"));
            }
            Ok(Some(fresh))
        }
        Err(CallError::Unreachable) => Ok(saved.await.ok().flatten()),
        Err(refused) => Err(refused),
    }
}

fn load_list(app: AppState, list: RwSignal<Option<Fetched<ReplenishmentResponse>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        let answer = api::replenishment(&current.api_base, &current.token).await;
        let save = |copy| async move { db::save_list(&copy).await };
        match live_or_saved(app, answer, save, db::load_list()).await {
            Ok(Some(copy)) => list.set(Some(copy)),
            Ok(None) => app.fail("Offline, and this device has no saved replenishment list yet"),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

fn load_plan(app: AppState, sku: String, plan: RwSignal<Option<Fetched<Plan>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    plan.set(None);
    app.notice.set(None);
    spawn_local(async move {
        let answer = api::plan(&current.api_base, &current.token, &sku).await;
        let save = |copy| async move { db::save_plan(&copy).await };
        match live_or_saved(app, answer, save, db::load_plan(&sku)).await {
            Ok(Some(copy)) => plan.set(Some(copy)),
            Ok(None) => {
                app.fail(format!("Offline, and the plan of “{}” was never opened on this device", model::echo(&sku)))
            }
            Err(CallError::Refused { status: 404, message, .. }) => app.fail(message),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

/// Turns a supplier's suggestions into a draft purchase order (MOQ and packs kept) and opens it.
fn draft_order(app: AppState, supplier: String) {
    let Some(current) = app.settings.get_untracked() else { return };
    let key = match crate::sync::new_id() {
        Ok(id) => format!("draft-{id}"),
        Err(error) => return app.fail(error),
    };
    // Goods go to this device's location, else the first location by priority.
    let first = app.locations.with_untracked(|all| all.iter().min_by_key(|l| l.priority).map(|l| l.id.clone()));
    let Some(location) = app.location().or(first) else {
        return app.fail("No location to order into: choose this device's location first");
    };
    spawn_local(async move {
        match api::draft_from_suggestions(&current.api_base, &current.token, &supplier, location.as_str(), &key).await {
            Ok(draft) => {
                let id = draft.order.id.to_string();
                let skipped = draft.skipped.len();
                app.prefill.set(Some(id.clone()));
                app.go(Screen::Orders);
                let left_out = if skipped > 0 { format!("; {skipped} suggestions left out") } else { String::new() };
                app.ok(format!("Draft {id} with {} lines{left_out}", draft.order.lines.len()));
            }
            Err(CallError::Unreachable) => app.fail("Offline: a draft order is made on the server. Try again online."),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn Replenishment() -> impl IntoView {
    let app = expect_context::<AppState>();
    let list = RwSignal::new(None::<Fetched<ReplenishmentResponse>>);
    let plan = RwSignal::new(None::<Fetched<Plan>>);
    let open = RwSignal::new(None::<String>);
    let typed = RwSignal::new(String::new());
    load_list(app, list);
    let show = move |sku: String| {
        open.set(Some(sku.clone()));
        load_plan(app, sku, plan);
    };
    let submit = move || match app.item_for(&typed.get_untracked()) {
        Ok(sku) => {
            typed.set(String::new());
            show(sku.to_string())
        }
        Err(problem) => app.fail(problem),
    };
    view! {
        {move || match open.get() {
            Some(sku) => view! { <PlanView sku=sku plan=plan back=Callback::new(move |_| { open.set(None); load_list(app, list); })/> }.into_any(),
            None => view! {
                <section class="card" data-testid="replenishment">
                    <h2>"Reorder"</h2>
                    <div class="row">
                        <label>"Open a SKU's plan"
                            <input data-testid="plan-sku" bind:value=typed autocomplete="off" placeholder="SKU"
                                on:keydown=move |e: ev::KeyboardEvent| if e.key() == "Enter" { submit() }/>
                        </label>
                        <button data-testid="open-plan" on:click=move |_| submit()>"Open"</button>
                    </div>
                    <Status/>
                    {move || list.get().map(|copy| {
                        let freshness = copy.freshness(now_ms());
                        let groups = copy.value.groups.clone();
                        let empty = groups.is_empty();
                        view! {
                            <p class="muted small" data-testid="list-freshness">{freshness}</p>
                            {empty.then(|| view! { <p data-testid="nothing-to-reorder">"Nothing needs ordering now."</p> })}
                            {groups.into_iter().map(|group| {
                                let title = match (&group.name, &group.supplier) {
                                    (Some(name), _) => name.clone(),
                                    (None, Some(id)) => id.to_string(),
                                    (None, None) => "No supplier set".to_string(),
                                };
                                let currency = group.currency.clone().unwrap_or_default();
                                let orderable = group.lines.iter().any(|l| l.summary.suggestion_qty > 0);
                                let draft = group.supplier.clone().filter(|_| orderable).map(|supplier| {
                                    let testid = format!("draft-{supplier}");
                                    view! { <button data-testid=testid on:click=move |_| draft_order(app, supplier.to_string())>"Draft order"</button> }
                                });
                                view! {
                                    <h3 class="plan-line-head">{title} {draft}</h3>
                                    <ul class="plan-lines">
                                        {group.lines.into_iter().map(|line| view! { <Line line=line currency=currency.clone() show=show/> }).collect_view()}
                                    </ul>
                                }
                            }).collect_view()}
                        }
                    })}
                </section>
            }.into_any(),
        }}
    }
}

#[component]
fn Line(line: ReplenishmentLine, currency: String, show: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let summary = line.summary;
    let sku = summary.sku.to_string();
    let testid = format!("plan-line-{sku}");
    let order = (summary.suggestion_qty > 0).then(|| match summary.value {
        Some(value) => format!("Order {} · {value} {currency}", summary.suggestion_qty),
        None => format!("Order {}", summary.suggestion_qty),
    });
    let runs_out = summary.stockout_date.map(|d| format!("Runs out {}", d.format("%a %b %-d")));
    let expedite = (summary.expedite_qty > 0).then(|| format!("Expedite · {} waiting", summary.expedite_qty));
    let action = summary.action.as_ref().map(|a| a.message.clone());
    let open_sku = sku.clone();
    view! {
        <li>
            <button class="plan-line" class:at-risk=summary.at_risk data-testid=testid on:click=move |_| show(open_sku.clone())>
                <span class="plan-line-head">
                    <strong>{sku}</strong>
                    {expedite.map(|e| view! { <span class="badge danger" data-testid="expedite-badge">{e}</span> })}
                    {summary.at_risk.then(|| view! { <span class="badge danger">"At risk"</span> })}
                    {order.map(|o| view! { <span class="badge">{o}</span> })}
                    {runs_out.map(|r| view! { <span class="muted">{r}</span> })}
                </span>
                <span class="reason">{action.unwrap_or(summary.reason)}</span>
            </button>
        </li>
    }
}

/// What the plan is computed from (the live answer, kept for offline what-ifs; else the kept one).
fn load_basis(app: AppState, sku: String, basis: RwSignal<Option<PlanBasis>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        match api::plan_basis(&current.api_base, &current.token, &sku).await {
            Ok(fresh) => {
                if let Err(error) = db::save_basis(&fresh).await {
                    leptos::logging::warn!("keeping the plan basis of {sku}: {error}");
                }
                basis.set(Some(fresh));
            }
            Err(CallError::Unreachable) => basis.set(db::load_basis(&sku).await.ok().flatten()),
            Err(refused) => leptos::logging::warn!("plan basis of {sku}: {}", refused.describe()),
        }
    });
}

#[component]
fn PlanView(sku: String, plan: RwSignal<Option<Fetched<Plan>>>, back: Callback<()>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let basis = RwSignal::new(None::<PlanBasis>);
    load_basis(app, sku.clone(), basis);
    let form = WhatIfForm::new();
    // The what-if plan, computed here by the engine's planning code: no request.
    let tried = Memo::new(move |_| {
        let basis = basis.get()?;
        let change = match form.change(&basis) {
            Ok(None) => return None,
            Ok(Some(change)) => change,
            Err(problem) => return Some(Err(problem)),
        };
        let started = crate::replica::clock_ms();
        let planned = basis.what_if(&change).map_err(|error| error.to_string());
        let took_ms = crate::replica::clock_ms() - started;
        Some(planned.map(|plan| (plan, took_ms)))
    });
    view! {
        <section class="card" data-testid="plan">
            <button class="link" data-testid="plan-back" on:click=move |_| back.run(())>"← Reorder list"</button>
            <h2>{format!("Plan: {sku}")}</h2>
            <Status/>
            {move || basis.get().map(|basis| view! { <WhatIfPanel basis form tried/> })}
            {move || plan.get().map(|copy| {
                let (freshness, p) = match tried.get() {
                    Some(Ok((what_if, _))) => ("What if: not saved; computed on this device".to_string(), what_if),
                    _ => (copy.freshness(now_ms()), copy.value),
                };
                let chart = chart::layout(&p);
                let forecast = &p.forecast;
                let method = match (forecast.mase, &forecast.runner_up) {
                    (Some(mase), Some(runner)) => format!(
                        "{} (MASE {mase:.2}; runner-up {} {})",
                        forecast.method.as_str(),
                        runner.method.as_str(),
                        runner.mase.map_or("–".to_string(), |m| format!("{m:.2}"))
                    ),
                    (Some(mase), None) => format!("{} (MASE {mase:.2})", forecast.method.as_str()),
                    _ => forecast.method.as_str().to_string(),
                };
                let facts = vec![
                    ("Demand", format!("{} · {}/day ± {} (σD)", p.demand_class.as_str(), forecast.mean_daily, forecast.std_daily)),
                    ("Forecast", method),
                    ("Lead time", format!("{} ± {} days ({})", p.lead_time.mean_days, p.lead_time.std_days, p.lead_time.source)),
                    ("Safety stock", p.safety_stock.to_string()),
                    ("Reorder point", p.reorder_point.to_string()),
                    ("Order up to", p.order_up_to.to_string()),
                    ("Position", format!("{} (on hand {}, reserved {}, allocated {}, inbound {})",
                        p.position.inventory_position, p.position.on_hand, p.position.reserved,
                        p.position.allocated, p.position.inbound)),
                    ("Runs out", p.stockout_date.map_or("not within the horizon".to_string(), |d| d.format("%a %b %-d").to_string())),
                ];
                let suggestion = p.suggestion.clone();
                view! {
                    <p class="muted small" data-testid="plan-freshness">{freshness}</p>
                    {p.action.clone().map(|a| view! { <p class="notice warn" data-testid="plan-action">{a.message}</p> })}
                    {(!p.expedites.is_empty()).then(|| view! {
                        <ul class="expedites" data-testid="plan-expedites">
                            {p.expedites.iter().map(|r| view! {
                                <li>{format!("Order {} line {}: {} waiting, escalated by {} on {}",
                                    r.order, r.line, r.qty, r.by, r.since.format("%b %-d %H:%M"))}</li>
                            }).collect_view()}
                        </ul>
                    })}
                    <p class="plan-reason" data-testid="plan-reason">
                        {suggestion.as_ref().map(|s| view! { <strong>{format!("Order {}. ", s.qty)}</strong> })}
                        {p.reason.clone()}
                    </p>
                    <PlanChart chart=chart/>
                    <dl class="facts" data-testid="plan-facts">
                        {facts.into_iter().map(|(term, value)| view! { <dt>{term}</dt><dd>{value}</dd> }).collect_view()}
                    </dl>
                    {p.notes.into_iter().map(|note| view! { <p class="muted small">{note}</p> }).collect_view()}
                }
            })}
        </section>
    }
}

/// The figures a buyer tries, as typed.
#[derive(Clone, Copy)]
struct WhatIfForm {
    service_level_pct: RwSignal<String>,
    lead_time_days: RwSignal<String>,
    lead_time_std_days: RwSignal<String>,
    moq: RwSignal<String>,
}

impl WhatIfForm {
    fn new() -> WhatIfForm {
        WhatIfForm {
            service_level_pct: RwSignal::new(String::new()),
            lead_time_days: RwSignal::new(String::new()),
            lead_time_std_days: RwSignal::new(String::new()),
            moq: RwSignal::new(String::new()),
        }
    }

    /// The change from the saved policy the fields say (`None`: none), or what is wrong in them.
    fn change(&self, basis: &PlanBasis) -> Result<Option<WhatIf>, String> {
        let number = |typed: String, what: &str| -> Result<Option<f64>, String> {
            let text = typed.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match text.replace(',', ".").parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Some(value)),
                _ => Err(format!("{what}: type a number, not “{}”", model::echo(text))),
            }
        };
        let level = number(self.service_level_pct.get(), "Service level")?.map(|pct| pct / 100.0);
        let lead = number(self.lead_time_days.get(), "Lead time")?;
        let spread = number(self.lead_time_std_days.get(), "Lead time spread")?;
        let moq = match self.moq.get().trim() {
            "" => None,
            typed => Some(model::parse_qty(typed, model::QtyKind::Units).map_err(|problem| format!("MOQ: {problem}"))?),
        };
        let change = WhatIf {
            service_level: level.filter(|l| (l - basis.policy.service_level).abs() > 1e-9),
            lead_time_days: lead.filter(|d| (d - basis.lead_time.mean_days).abs() > 1e-9),
            lead_time_std_days: spread.filter(|d| (d - basis.lead_time.std_days).abs() > 1e-9),
            moq: moq.filter(|&m| m != basis.policy.moq),
        };
        Ok((change != WhatIf::default()).then_some(change))
    }
}

/// Service level, lead time and MOQ to try: the plan above follows as they are typed.
#[component]
fn WhatIfPanel(basis: PlanBasis, form: WhatIfForm, tried: Memo<Option<Result<(Plan, f64), String>>>) -> impl IntoView {
    let saved = format!(
        "Saved policy: service level {}%, lead time {} ± {} days, MOQ {}",
        round(basis.policy.service_level * 100.0),
        round(basis.lead_time.mean_days),
        round(basis.lead_time.std_days),
        basis.policy.moq
    );
    let reset = move |_| {
        for field in [form.service_level_pct, form.lead_time_days, form.lead_time_std_days, form.moq] {
            field.set(String::new());
        }
    };
    let field = |label: &'static str, testid: &'static str, value: RwSignal<String>, placeholder: String| {
        view! {
            <label class="what-if-field">{label}
                <input data-testid=testid bind:value=value inputmode="decimal" autocomplete="off" placeholder=placeholder/>
            </label>
        }
    };
    view! {
        <details class="what-if" data-testid="what-if" open
            data-what-if-ms=move || match tried.get() { Some(Ok((_, ms))) => format!("{ms:.3}"), _ => String::new() }>
            <summary>"What if…"</summary>
            <p class="muted small">{saved}</p>
            <div class="what-if-fields">
                {field("Service level %", "what-if-service-level", form.service_level_pct, round(basis.policy.service_level * 100.0))}
                {field("Lead time (days)", "what-if-lead-time", form.lead_time_days, round(basis.lead_time.mean_days))}
                {field("Lead time ± (days)", "what-if-lead-time-std", form.lead_time_std_days, round(basis.lead_time.std_days))}
                {field("MOQ", "what-if-moq", form.moq, basis.policy.moq.to_string())}
            </div>
            {move || match tried.get() {
                Some(Err(problem)) => view! { <p class="notice bad" data-testid="what-if-problem">{problem}</p> }.into_any(),
                Some(Ok(_)) => view! {
                    <p class="notice warn" data-testid="what-if-note">"Showing the what-if, computed on this device. Nothing is saved."
                        <button class="link" data-testid="what-if-reset" on:click=reset>"Back to the saved policy"</button></p>
                }.into_any(),
                None => ().into_any(),
            }}
        </details>
    }
}

/// A figure for people: at most two decimals, no trailing zeros.
fn round(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[component]
fn PlanChart(chart: Chart) -> impl IntoView {
    let Chart {
        history,
        forecast,
        on_hand,
        reorder_point_y,
        safety_stock_y,
        today_x,
        stockout,
        y_ticks,
        x_ticks,
        left,
        right,
        bottom,
    } = chart;
    view! {
        <figure class="chart">
            <svg data-testid="plan-chart" viewBox=format!("0 0 {} {}", chart::WIDTH, chart::HEIGHT) role="img"
                aria-label="Demand history, forecast, projected on hand, reorder point and safety stock">
                {super::axes(y_ticks, x_ticks, left, right, bottom)}
                <line class="today" x1=today_x x2=today_x y1=12.0 y2=bottom/>
                <line class="reorder" x1=left x2=right y1=reorder_point_y y2=reorder_point_y/>
                <line class="safety" x1=left x2=right y1=safety_stock_y y2=safety_stock_y/>
                <polyline class="history" points=history/>
                <polyline class="forecast" points=forecast/>
                <polyline class="on-hand" points=on_hand/>
                {stockout.map(|(x, label)| view! {
                    <line class="stockout" data-testid="stockout-marker" x1=x x2=x y1=12.0 y2=bottom/>
                    <text class="stockout-label" x={x + 4.0} y=24.0>{format!("Stockout {label}")}</text>
                })}
            </svg>
            <figcaption class="legend">
                <span class="key history">"Demand"</span>
                <span class="key forecast">"Forecast"</span>
                <span class="key on-hand">"Projected on hand"</span>
                <span class="key reorder">"Reorder point"</span>
                <span class="key safety">"Safety stock"</span>
            </figcaption>
        </figure>
    }
}
