//! Customer orders for the floor and the teams: the location's pick list (release, pick, ship),
//! the team's exceptions queue (one tap chooses, a second confirms), and an order's timeline.
//! Orders are the server's: read live, acted on online (offline says so and keeps nothing).

use crate::api::{self, CallError};
use crate::fulfilment::{action_label, actions, due_words, pick_list, team_label, team_of, teams_of, PickTicket};
use crate::state::AppState;
use crate::views::fields::Status;
use crate::views::timeline::{when, Step, Timeline};
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::orders::{
    ExceptionAction, OrderActionRequest, OrderException, OrderStatus, OrderView, ResolveRequest, Team,
};

fn key(what: &str) -> Result<String, String> {
    crate::sync::new_id().map(|id| format!("{what}-{id}"))
}

const OFFLINE: &str = "Offline: orders are read and changed on the server. Try again when back online.";

/// The orders at this location in the statuses the floor works, as one list.
fn load_floor(app: AppState, orders: RwSignal<Option<Vec<OrderView>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    let Some(location) = current.location.clone() else {
        return app.fail("Choose this device's location first (More → Change location)");
    };
    spawn_local(async move {
        let mut all = Vec::new();
        for status in ["allocated", "released", "picked"] {
            match api::sales_orders(&current.api_base, &current.token, status, Some(&location)).await {
                Ok(page) => all.extend(page.orders),
                Err(CallError::Unreachable) => return app.fail(OFFLINE),
                Err(refused) => return app.fail(refused.describe()),
            }
        }
        orders.set(Some(all));
    });
}

/// Sends one step (release, pick, ship) for `id` at `version`, then reloads.
fn step(app: AppState, id: String, action: &'static str, version: u32, done: impl Fn() + 'static) {
    let Some(current) = app.settings.get_untracked() else { return };
    let key = match key(action) {
        Ok(key) => key,
        Err(error) => return app.fail(error),
    };
    let request = OrderActionRequest { version, comment: None, line: None };
    spawn_local(async move {
        match api::order_step(&current.api_base, &current.token, &id, action, &key, &request).await {
            Ok(view) => {
                app.ok(format!("{id} is {}", view.order.status.as_str()));
                done();
            }
            Err(CallError::Unreachable) => app.fail(OFFLINE),
            Err(refused) => {
                app.fail(refused.describe());
                done();
            }
        }
    });
}

#[component]
pub fn Picking() -> impl IntoView {
    let app = expect_context::<AppState>();
    let orders = RwSignal::new(None::<Vec<OrderView>>);
    let open = RwSignal::new(None::<String>);
    load_floor(app, orders);
    let location = move || app.settings.with(|s| s.as_ref().and_then(|s| s.location.clone())).unwrap_or_default();
    let reload = move || load_floor(app, orders);
    view! {
        {move || match open.get() {
            Some(id) => view! { <SalesOrder id=id back=Callback::new(move |_| { open.set(None); reload(); })/> }.into_any(),
            None => view! {
                <section class="card" data-testid="picking">
                    <h2>{move || format!("Pick list · {}", location())}</h2>
                    <Status/>
                    <button data-testid="picking-refresh" on:click=move |_| reload()>"Refresh"</button>
                    {move || orders.get().map(|views| {
                        let to_release: Vec<&OrderView> =
                            views.iter().filter(|v| v.order.status == OrderStatus::Allocated).collect();
                        let waiting = to_release.len();
                        let released = to_release.first().map(|v| (v.order.id.to_string(), v.order.version));
                        let tickets = pick_list(&views, &location());
                        let empty = tickets.is_empty();
                        view! {
                            {(waiting > 0).then(|| view! {
                                <p class="notice" data-testid="to-release">
                                    {format!("{waiting} allocated order(s) wait to be released to the floor. ")}
                                    {released.map(|(id, version)| {
                                        let label = format!("Release {id}");
                                        view! {
                                            <button data-testid="release-next" on:click=move |_| step(app, id.clone(), "release", version, reload)>{label}</button>
                                        }
                                    })}
                                </p>
                            })}
                            {empty.then(|| view! { <p data-testid="nothing-to-pick">"Nothing to pick here."</p> })}
                            <ul class="plan-lines" data-testid="pick-list">
                                {tickets.into_iter().map(|ticket| view! { <Ticket ticket=ticket open=open reload=Callback::new(move |_| reload())/> }).collect_view()}
                            </ul>
                        }
                    })}
                </section>
            }.into_any(),
        }}
    }
}

#[component]
fn Ticket(ticket: PickTicket, open: RwSignal<Option<String>>, reload: Callback<()>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let PickTicket { order, status, version, priority, placed_at, lines, elsewhere } = ticket;
    let (action, label) = match status {
        OrderStatus::Released => ("pick", "Picked"),
        _ => ("ship", "Shipped"),
    };
    let testid = format!("ticket-{order}");
    let id = order.clone();
    let shown = order.clone();
    view! {
        <li class="op" data-testid=testid>
            <span class="plan-line-head">
                <button class="link" data-testid="ticket-open" on:click=move |_| open.set(Some(shown.clone()))><strong>{order.clone()}</strong></button>
                <span class="badge" data-testid="ticket-status">{status.as_str()}</span>
                {(priority > 0).then(|| view! { <span class="badge warn">{format!("priority {priority}")}</span> })}
            </span>
            <ul class="pick-lines">
                {lines.into_iter().map(|line| view! {
                    <li data-testid="pick-line"><strong>{line.qty}</strong>" × "{line.sku}</li>
                }).collect_view()}
            </ul>
            <span class="muted small">
                {format!("placed {}", when(placed_at))}
                {(elsewhere > 0).then(|| format!(" · {elsewhere} more unit(s) ship from another location"))}
            </span>
            <button class="primary" data-testid=format!("ticket-{action}")
                on:click=move |_| step(app, id.clone(), action, version, move || reload.run(()))>{label}</button>
        </li>
    }
}

fn load_queue(app: AppState, team: Team, queue: RwSignal<Option<Vec<OrderException>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        match api::exceptions(&current.api_base, &current.token, team.as_str()).await {
            Ok(page) => queue.set(Some(page.exceptions)),
            Err(CallError::Unreachable) => app.fail(OFFLINE),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn Exceptions() -> impl IntoView {
    let app = expect_context::<AppState>();
    let role = app.settings.with_untracked(|s| s.as_ref().and_then(|s| s.role.clone()));
    let teams = teams_of(role.as_deref());
    let team = RwSignal::new(team_of(role.as_deref()).unwrap_or(Team::Warehouse));
    let queue = RwSignal::new(None::<Vec<OrderException>>);
    let open = RwSignal::new(None::<String>);
    load_queue(app, team.get_untracked(), queue);
    let reload = move || load_queue(app, team.get_untracked(), queue);
    view! {
        {move || match open.get() {
            Some(id) => view! { <SalesOrder id=id back=Callback::new(move |_| { open.set(None); reload(); })/> }.into_any(),
            None => view! {
                <section class="card" data-testid="exceptions">
                    <h2>{move || format!("Exceptions · {}", team_label(team.get()))}</h2>
                    {(teams.len() > 1).then(|| view! {
                        <div class="choices" role="group" aria-label="Team">
                            {teams.iter().map(|&t| view! {
                                <button data-testid=format!("team-{}", t.as_str()) class:active=move || team.get() == t
                                    on:click=move |_| { team.set(t); queue.set(None); reload(); }>{team_label(t)}</button>
                            }).collect_view()}
                        </div>
                    })}
                    <Status/>
                    {move || queue.get().map(|exceptions| {
                        let empty = exceptions.is_empty();
                        view! {
                            {empty.then(|| view! { <p data-testid="queue-empty">"Nothing waits for this team."</p> })}
                            <ul class="plan-lines" data-testid="queue">
                                {exceptions.into_iter().map(|e| view! {
                                    <QueueLine exception=e open=open reload=Callback::new(move |_| reload())/>
                                }).collect_view()}
                            </ul>
                        }
                    })}
                </section>
            }.into_any(),
        }}
    }
}

#[component]
fn QueueLine(exception: OrderException, open: RwSignal<Option<String>>, reload: Callback<()>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let chosen = RwSignal::new(None::<ExceptionAction>);
    // The device's clock; if it cannot be read, the due time itself is shown.
    let now = chrono::DateTime::from_timestamp_millis(crate::state::now_ms() as i64);
    let overdue = now.is_some_and(|now| exception.is_overdue(now));
    let due = match now {
        Some(now) => due_words(exception.due_at, now),
        None => format!("due {}", when(exception.due_at)),
    };
    let choices = actions(&exception);
    let id = exception.id.to_string();
    let order = exception.order.to_string();
    let version = exception.version;
    let testid = format!("exception-{id}");
    let confirm = {
        let id = id.clone();
        move |action: ExceptionAction| {
            let Some(current) = app.settings.get_untracked() else { return };
            let key = match key("resolve") {
                Ok(key) => key,
                Err(error) => return app.fail(error),
            };
            let request = ResolveRequest { action, version, comment: None };
            let id = id.clone();
            spawn_local(async move {
                match api::resolve(&current.api_base, &current.token, &id, &key, &request).await {
                    Ok(answer) => {
                        app.ok(format!(
                            "{}: {} · the order is {}",
                            id,
                            action_label(action),
                            answer.order.order.status.as_str()
                        ));
                        reload.run(());
                    }
                    Err(CallError::Unreachable) => app.fail(OFFLINE),
                    Err(refused) => {
                        app.fail(refused.describe());
                        reload.run(());
                    }
                }
            });
        }
    };
    view! {
        <li class="op" data-testid=testid>
            <span class="plan-line-head">
                <strong data-testid="exception-kind">{exception.kind.as_str().replace('_', " ")}</strong>
                <button class="link" data-testid="exception-order" on:click=move |_| open.set(Some(order.clone()))>{exception.order.to_string()}</button>
                <span class="badge" class:danger=overdue data-testid="exception-due">{due}</span>
            </span>
            <span class="small" data-testid="exception-detail">{exception.detail.clone()}</span>
            {move || match chosen.get() {
                None => view! {
                    <div class="choices">
                        {choices.iter().map(|&action| view! {
                            <button data-testid=format!("act-{}", action.as_str()) on:click=move |_| chosen.set(Some(action))>
                                {action_label(action)}
                            </button>
                        }).collect_view()}
                    </div>
                }.into_any(),
                Some(action) => {
                    let confirm = confirm.clone();
                    view! {
                        <div class="confirm" role="alertdialog" aria-label="Confirm">
                            <button class="primary" data-testid="act-confirm" on:click=move |_| confirm(action)>
                                {format!("Confirm: {}", action_label(action))}
                            </button>
                            <button data-testid="act-cancel" on:click=move |_| chosen.set(None)>"Not now"</button>
                        </div>
                    }.into_any()
                }
            }}
        </li>
    }
}

/// One order: status, lines with where their units are, the allocation's explanation, its
/// exceptions and the timeline of every change.
#[component]
fn SalesOrder(id: String, back: Callback<()>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let order = RwSignal::new(None::<OrderView>);
    if let Some(current) = app.settings.get_untracked() {
        let id = id.clone();
        spawn_local(async move {
            match api::sales_order(&current.api_base, &current.token, &id).await {
                Ok(view) => order.set(Some(view)),
                Err(CallError::Unreachable) => app.fail(OFFLINE),
                Err(refused) => app.fail(refused.describe()),
            }
        });
    }
    view! {
        <section class="card" data-testid="sales-order">
            <button class="link" data-testid="sales-order-back" on:click=move |_| back.run(())>"← Back"</button>
            <Status/>
            {move || order.get().map(|view| {
                let o = view.order;
                let explanation = o.choice.as_ref().map(|c| c.explanation.clone());
                view! {
                    <h2>{format!("{} · {} · {}", o.id, o.channel, o.ship_to_region)}</h2>
                    <p>
                        <span class="badge" data-testid="sales-order-status">{o.status.as_str()}</span>
                        {format!(" priority {} · version {}", o.priority, o.version)}
                        {o.promised_by.map(|p| format!(" · promised by {}", when(p)))}
                    </p>
                    <div class="table-wrap">
                        <table data-testid="sales-order-lines">
                            <thead><tr><th>"Line"</th><th>"SKU"</th><th>"Qty"</th><th>"Where"</th><th>"Waiting"</th><th>"Shipped"</th></tr></thead>
                            <tbody>
                                {o.lines.iter().map(|l| {
                                    let at = l.allocations.iter().map(|a| format!("{} × {}", a.qty, a.location)).collect::<Vec<_>>().join(", ");
                                    view! {
                                        <tr>
                                            <td>{l.line}</td>
                                            <td>
                                                {l.sku.to_string()}
                                                {l.substitute_for.map(|of| view! { <span class="muted small">{format!(" (for line {of})")}</span> })}
                                                {(l.substituted > 0).then(|| view! { <span class="muted small">{format!(" ({} substituted)", l.substituted)}</span> })}
                                            </td>
                                            <td>{l.qty}</td>
                                            <td>{at}</td><td>{l.backordered()}</td><td>{l.shipped}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {explanation.map(|text| view! { <p class="small" data-testid="sales-order-explanation">{text}</p> })}
                    {(!view.exceptions.is_empty()).then(|| view! {
                        <h3>"Exceptions"</h3>
                        <ul class="ops" data-testid="sales-order-exceptions">
                            {view.exceptions.iter().map(|e| view! {
                                <li class="op">
                                    <strong>{e.kind.as_str().replace('_', " ")}</strong>
                                    <span class="badge">{e.status.as_str()}</span>
                                    <span class="small">{e.detail.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                    <h3>"Timeline"</h3>
                    <Timeline testid="sales-order-timeline" steps=o.events.iter().map(|e| Step::new(
                        e.action.as_str(), (e.from.map(OrderStatus::as_str), e.to.as_str()), &e.actor, e.at, e.version, e.comment.as_deref(),
                    )).collect()/>
                }
            })}
        </section>
    }
}
