//! Purchasing for buyers and approvers: the purchase orders (list, and one order with its lines,
//! timeline, receipts, invoices and the actions its status allows) and the approvals inbox, where
//! an approval or rejection is queued on the device first and sent once (offline included).

use crate::api::{self, CallError};
use crate::db;
use crate::model::Fetched;
use crate::purchasing::{dismiss, queue_decision};
use crate::state::{now_ms, AppState};
use crate::views::fields::Status;
use crate::views::timeline::{when, Step, Timeline};
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{
    DecisionKind, DecisionRequest, DecisionState, Id, InboxItem, InboxResponse, PoAction, PoStatus, PoSummary,
    PurchaseOrderView,
};

fn load_orders(app: AppState, list: RwSignal<Option<Vec<PoSummary>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        match api::purchase_orders(&current.api_base, &current.token).await {
            Ok(page) => list.set(Some(page.orders)),
            Err(CallError::Unreachable) => app.fail("Offline: purchase orders are read from the server"),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

fn load_order(app: AppState, id: String, order: RwSignal<Option<PurchaseOrderView>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        match api::purchase_order(&current.api_base, &current.token, &id).await {
            Ok(view) => order.set(Some(view)),
            Err(CallError::Unreachable) => app.fail("Offline: purchase orders are read from the server"),
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn Orders() -> impl IntoView {
    let app = expect_context::<AppState>();
    let list = RwSignal::new(None::<Vec<PoSummary>>);
    let order = RwSignal::new(None::<PurchaseOrderView>);
    // An order to open straight away (a draft just made on the Reorder screen).
    let open = RwSignal::new(app.prefill.try_update(Option::take).flatten());
    match open.get_untracked() {
        Some(id) => load_order(app, id, order),
        None => load_orders(app, list),
    }
    let show = move |id: String| {
        app.notice.set(None);
        order.set(None);
        open.set(Some(id.clone()));
        load_order(app, id, order);
    };
    let back = move || {
        open.set(None);
        load_orders(app, list);
    };
    view! {
        {move || match open.get() {
            Some(_) => view! { <OrderView order=order back=Callback::new(move |_| back())/> }.into_any(),
            None => view! {
                <section class="card" data-testid="orders">
                    <h2>"Purchase orders"</h2>
                    <Status/>
                    {move || list.get().map(|orders| {
                        let empty = orders.is_empty();
                        view! {
                            {empty.then(|| view! { <p data-testid="no-orders">"No purchase orders yet: draft one from the Reorder screen."</p> })}
                            <ul class="plan-lines">
                                {orders.into_iter().map(|o| {
                                    let id = o.id.to_string();
                                    let testid = format!("order-{id}");
                                    let next = o.next_expected_on.map(|d| format!("due {}", d.format("%b %-d"))).unwrap_or_default();
                                    let approvals = o.approvals_required.map(|n| format!("{}/{} approvals", o.approvals, n)).unwrap_or_default();
                                    let open_id = id.clone();
                                    view! {
                                        <li>
                                            <button class="plan-line" data-testid=testid on:click=move |_| show(open_id.clone())>
                                                <span class="plan-line-head">
                                                    <strong>{id}</strong>
                                                    <span class="badge" data-testid="order-status">{o.status.as_str()}</span>
                                                    <span>{format!("{} · {} {} · {} lines", o.supplier, o.value, o.currency, o.lines)}</span>
                                                </span>
                                                <span class="muted small">{format!("{approvals} {next} · by {} {}", o.created_by, when(o.updated_at))}</span>
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                    })}
                </section>
            }.into_any(),
        }}
    }
}

/// The buyer's buttons for an order: the actions its life allows now (the engine's), less the
/// approvers' (in their inbox) and the dock's (receipts), each in words.
fn buyer_actions(status: PoStatus) -> Vec<(&'static str, &'static str)> {
    status
        .actions()
        .iter()
        .filter_map(|&action| {
            let label = match action {
                PoAction::Submit => "Submit for approval",
                PoAction::Send => "Send to supplier",
                PoAction::Cancel if status.is_inbound() => "Cancel the open remainder",
                PoAction::Cancel => "Cancel",
                PoAction::Close => "Close",
                PoAction::Create | PoAction::Approve | PoAction::Reject | PoAction::Receive => return None,
            };
            Some((action.as_str(), label))
        })
        .collect()
}

#[component]
fn OrderView(order: RwSignal<Option<PurchaseOrderView>>, back: Callback<()>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let comment = RwSignal::new(String::new());
    let act = move |action: &'static str| {
        let Some(current) = app.settings.get_untracked() else { return };
        let Some(view) = order.get_untracked() else { return };
        let key = match crate::sync::new_id() {
            Ok(id) => format!("{action}-{id}"),
            Err(error) => return app.fail(error),
        };
        let text = comment.get_untracked();
        let request =
            DecisionRequest { version: view.order.version, comment: (!text.trim().is_empty()).then_some(text) };
        let id = view.order.id.to_string();
        spawn_local(async move {
            match api::decide(&current.api_base, &current.token, &id, action, &key, &request).await {
                Ok(changed) => {
                    comment.set(String::new());
                    app.ok(format!("{id} is {}", changed.status.as_str()));
                    load_order(app, id, order);
                }
                Err(CallError::Unreachable) => app.fail("Offline: not done. Try again when back online."),
                Err(refused) => app.fail(refused.describe()),
            }
        });
    };
    view! {
        <section class="card" data-testid="order">
            <button class="link" data-testid="order-back" on:click=move |_| back.run(())>"← Purchase orders"</button>
            <Status/>
            {move || order.get().map(|view| {
                let o = view.order;
                let value = o.value().map_or_else(|e| e.to_string(), |v| v.to_string());
                let route = o.route.as_ref().map(|r| r.reasons.join("; ")).unwrap_or_default();
                let actions = buyer_actions(o.status);
                view! {
                    <h2>{format!("{} · {}", o.id, o.supplier)}</h2>
                    <p>
                        <span class="badge" data-testid="order-status">{o.status.as_str()}</span>
                        {format!(" {value} {} · version {}", o.currency, o.version)}
                    </p>
                    {(!route.is_empty()).then(|| view! { <p class="muted small" data-testid="order-route">{route}</p> })}
                    <div class="table-wrap">
                        <table data-testid="order-lines">
                            <thead><tr><th>"Line"</th><th>"SKU"</th><th>"To"</th><th>"Qty"</th><th>"Received"</th><th>"Price"</th><th>"Expected"</th></tr></thead>
                            <tbody>
                                {o.lines.iter().map(|l| view! {
                                    <tr>
                                        <td>{l.line}</td><td>{l.sku.to_string()}</td><td>{l.location.to_string()}</td>
                                        <td>{l.qty}</td><td>{l.received}</td><td>{l.unit_price.to_string()}</td>
                                        <td>{l.expected_on.format("%b %-d").to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(!actions.is_empty()).then(|| view! {
                        <label>"Comment"
                            <input data-testid="order-comment" bind:value=comment autocomplete="off"/>
                        </label>
                        <div class="choices">
                            {actions.iter().map(|(action, label)| {
                                let action = *action;
                                view! { <button data-testid=format!("order-{action}") on:click=move |_| act(action)>{*label}</button> }
                            }).collect_view()}
                        </div>
                    })}
                    {(!view.stock_pending.is_empty()).then(|| view! {
                        <p class="notice" data-testid="stock-pending">{format!("{} stock changes still on their way to the SKUs", view.stock_pending.len())}</p>
                    })}
                    <h3>"Timeline"</h3>
                    <Timeline testid="order-timeline" steps=o.events.iter().map(|e| Step::new(
                        e.action.as_str(), (e.from.map(PoStatus::as_str), e.to.as_str()), &e.actor, e.at, e.version, e.comment.as_deref(),
                    )).collect()/>
                    {(!view.invoices.is_empty()).then(|| view! {
                        <h3>"Invoices"</h3>
                        <ul class="ops" data-testid="order-invoices">
                            {view.invoices.iter().map(|i| view! {
                                <li class="op">
                                    <strong>{format!("{} · {}", i.id, i.number)}</strong>
                                    <span class="badge">{if i.replaced_by.is_some() { "replaced".to_string() } else { format!("{:?}", i.status).to_lowercase() }}</span>
                                    {i.lines.iter().flat_map(|l| l.reasons.clone()).map(|r| view! { <span class="small">{r}</span> }).collect_view()}
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                }
            })}
        </section>
    }
}

fn load_inbox(app: AppState, inbox: RwSignal<Option<Fetched<InboxResponse>>>) {
    let Some(current) = app.settings.get_untracked() else { return };
    spawn_local(async move {
        match api::approvals(&current.api_base, &current.token).await {
            Ok(value) => {
                let fresh = Fetched::live(value, now_ms());
                if let Err(error) = db::save_inbox(&fresh).await {
                    app.fail(format!("Shown, but not kept on this device for offline use: {error}"));
                }
                inbox.set(Some(fresh));
            }
            Err(CallError::Unreachable) => match db::load_inbox().await {
                Ok(Some(saved)) => inbox.set(Some(saved)),
                _ => app.fail("Offline, and this device has no saved approvals inbox yet"),
            },
            Err(refused) => app.fail(refused.describe()),
        }
    });
}

#[component]
pub fn Approvals() -> impl IntoView {
    let app = expect_context::<AppState>();
    let inbox = RwSignal::new(None::<Fetched<InboxResponse>>);
    load_inbox(app, inbox);
    // A decision that applied reloads the inbox (the order leaves it); a refused one stays on
    // its line with the reason until the approver looks again.
    let answered = Memo::new(move |_| {
        app.decisions.with(|d| d.list().iter().filter(|x| matches!(x.state, DecisionState::Applied { .. })).count())
    });
    Effect::new(move |previous: Option<usize>| {
        let now = answered.get();
        if previous.is_some_and(|before| before != now) && app.online.get_untracked() {
            load_inbox(app, inbox);
        }
        now
    });
    let look_again = Callback::new(move |key: String| {
        dismiss(app, key);
        load_inbox(app, inbox);
    });
    view! {
        <section class="card" data-testid="approvals">
            <h2>"Approvals"</h2>
            <Status/>
            {move || inbox.get().map(|copy| {
                let freshness = copy.freshness(now_ms());
                let InboxResponse { spend_limit, orders, waiting_on_others } = copy.value;
                let limit = match spend_limit {
                    Some(limit) => format!("You may approve orders up to {limit} (base currency)."),
                    None => "You have no spend limit.".to_string(),
                };
                let empty = orders.is_empty();
                view! {
                    <p class="muted small" data-testid="inbox-freshness">{freshness}</p>
                    <p data-testid="spend-limit">{limit}</p>
                    {(waiting_on_others > 0).then(|| view! { <p class="muted small">{format!("{waiting_on_others} more wait on other approvers.")}</p> })}
                    {empty.then(|| view! { <p data-testid="inbox-empty">"Nothing waits for your approval."</p> })}
                    <ul class="plan-lines">
                        {orders.into_iter().map(|item| view! { <InboxLine item=item look_again=look_again/> }).collect_view()}
                    </ul>
                }
            })}
            <SentDecisions/>
        </section>
    }
}

#[component]
fn InboxLine(item: InboxItem, look_again: Callback<String>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let comment = RwSignal::new(String::new());
    let s = item.summary;
    let id = s.id.to_string();
    let order = s.id.clone();
    let version = s.version;
    let reasons = item.route.as_ref().map(|r| r.reasons.join("; ")).unwrap_or_default();
    let testid = format!("inbox-{id}");
    let decide = move |kind: DecisionKind| queue_decision(app, order.clone(), kind, version, comment.get_untracked());
    let decide_reject = decide.clone();
    let key_id = id.clone();
    let state = move || app.decisions.with(|d| d.for_order(&key_id).map(|x| (x.key.clone(), x.state.clone())));
    view! {
        <li class="op" data-testid=testid>
            <span class="plan-line-head">
                <strong>{id.clone()}</strong>
                <span>{format!("{} · {} {} · {} lines", s.supplier, s.value, s.currency, s.lines)}</span>
                {item.strict.then(|| view! { <span class="badge danger">"Stricter path"</span> })}
            </span>
            <span class="muted small">{format!("{reasons} · by {} · version {version}", s.created_by)}</span>
            {move || match state() {
                Some((_, DecisionState::Pending)) => view! {
                    <span class="notice" data-testid="decision-state">
                        {move || if app.online.get() { "Sending…" } else { "Waiting to send: saved on this device" }}
                    </span>
                }.into_any(),
                Some((_, DecisionState::Applied { status })) => view! {
                    <span class="notice good" data-testid="decision-state">{format!("Done: the order is {status}")}</span>
                }.into_any(),
                Some((key, DecisionState::Refused { message, .. })) => view! {
                    <span class="notice bad" data-testid="decision-state">{format!("Not applied: {message}")}</span>
                    <button data-testid="look-again" on:click=move |_| look_again.run(key.clone())>"Look again"</button>
                }.into_any(),
                None => {
                    let (approve, reject) = (decide.clone(), decide_reject.clone());
                    view! {
                        <label>"Comment"
                            <input data-testid="decision-comment" bind:value=comment autocomplete="off"/>
                        </label>
                        <button data-testid="approve" on:click=move |_| approve(DecisionKind::Approve)>"Approve"</button>
                        <button data-testid="reject" on:click=move |_| reject(DecisionKind::Reject)>"Reject"</button>
                    }.into_any()
                }
            }}
        </li>
    }
}

/// Decisions of this device whose orders left the inbox: what was done, or why not.
#[component]
fn SentDecisions() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        {move || {
            let list = app.decisions.with(|d| d.list().to_vec());
            (!list.is_empty()).then(|| view! {
                <h3>"Your decisions on this device"</h3>
                <ul class="ops" data-testid="decisions">
                    {list.into_iter().rev().map(|d| {
                        let what = format!("{} {}", d.kind.as_str(), d.order);
                        let state = match &d.state {
                            DecisionState::Pending => "waiting to send".to_string(),
                            DecisionState::Applied { status } => format!("done ({status})"),
                            DecisionState::Refused { message, .. } => format!("not applied: {message}"),
                        };
                        let order: Id = d.order.clone();
                        view! {
                            <li class="op" data-testid=format!("decision-{order}")>
                                <strong>{what}</strong><span>{state}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}
