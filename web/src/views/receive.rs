//! Receive: against a purchase order on its way here (its open lines listed, quantities typed or
//! scanned, quarantine in the same step, offline included), or loose into stock or quarantine.
use crate::model::{build, DraftLine, Form, QtyKind, ReceiptDraft};
use crate::receiving;
use crate::state::{now_ms, AppState};
use crate::sync;
use crate::views::fields::{clear, read, Field, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use stockline_shared::{DecisionState, Item, MovementKind, PurchaseOrder, QueuedReceipt};

#[component]
pub fn Receive() -> impl IntoView {
    let app = expect_context::<AppState>();
    let draft = RwSignal::new(None::<ReceiptDraft>);
    // Re-rendered when another order is chosen, not at every key typed into the draft.
    let current = Memo::new(move |_| draft.with(|d| d.as_ref().map(|d| d.order.clone())));
    receiving::refresh(app);
    view! {
        {move || match current.get() {
            Some(_) => view! { <OrderReceipt draft/> }.into_any(),
            None => view! { <Expected draft/> <LooseReceipt/> }.into_any(),
        }}
        <Receipts/>
    }
}

/// The orders on their way here, the earliest first; choosing one starts a receipt against it.
#[component]
fn Expected(draft: RwSignal<Option<ReceiptDraft>>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let orders = Memo::new(move |_| {
        let Some(here) = app.settings.with(|s| s.as_ref().and_then(|s| s.location.clone())) else { return Vec::new() };
        let Ok(here) = stockline_shared::Id::new(here) else { return Vec::new() };
        app.receiving.with(|r| r.expected_at(&here))
    });
    let freshness = move || app.deliveries_at.get().map(|copy| copy.freshness(now_ms()));
    let start = move |order: &PurchaseOrder| {
        let Some(here) = app.location() else { return };
        app.notice.set(None);
        draft.set(Some(ReceiptDraft::new(order, &here)));
    };
    view! {
        <section class="card" data-testid="expected">
            <h2>"Expected here"</h2>
            <p class="muted" data-testid="expected-freshness">{freshness}</p>
            {move || {
                let list = orders.get();
                if list.is_empty() {
                    return view! { <p class="muted" data-testid="nothing-expected">"No purchase order is on its way here."</p> }.into_any();
                }
                view! {
                    <ul class="plan-lines">
                        {list.into_iter().map(|order| {
                            let here = app.location();
                            let open_here: Vec<_> = here.as_ref().map_or(Vec::new(), |here| order.open_at(here).collect());
                            let units: i64 = open_here.iter().map(|l| l.open()).sum();
                            let due = here.as_ref().and_then(|here| order.next_expected_at(here))
                                .map(|d| d.format("%-d %b").to_string()).unwrap_or_default();
                            let lines = match open_here.len() { 1 => "1 line".to_string(), n => format!("{n} lines") };
                            let label = format!("{} · {} · {lines}, {units} units open · due {due}", order.id, order.supplier);
                            let testid = format!("expected-{}", order.id);
                            view! {
                                <li><button class="plan-line" data-testid=testid
                                    on:click=move |_| start(&order)>{label}</button></li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {move || app.receiving.with(|r| r.more()).then(|| view! {
                <p class="notice" data-testid="more-expected">"More orders are on their way than this list holds: receive these first, then refresh."</p>
            })}
            <button data-testid="refresh-expected" on:click=move |_| receiving::refresh(app)
                disabled=move || !app.online.get()>"Refresh"</button>
        </section>
    }
}

/// One order's open lines here: scan items (one more each) or type quantities, tick quarantine,
/// then receive it all at once.
#[component]
fn OrderReceipt(draft: RwSignal<Option<ReceiptDraft>>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let Some(started) = draft.get_untracked() else { return ().into_any() };
    let order = started.order.clone();
    let scanned = RwSignal::new(String::new());
    let on_scan = Callback::new(move |item: Item| {
        let mut next = draft.get_untracked();
        let Some(d) = next.as_mut() else { return };
        match d.scan(&item.sku) {
            Ok(index) => {
                let line = &d.lines[index];
                app.ok(format!("{}: {} of {} open", line.sku, line.qty, line.open));
                draft.set(next);
            }
            Err(problem) => app.fail(problem),
        }
        scanned.set(String::new());
        app.focus_item_field();
    });
    let submit = move || {
        let Some(d) = draft.get_untracked() else { return };
        match d.spec() {
            Ok(spec) => {
                if receiving::queue(app, d.order.clone(), spec) {
                    draft.set(None);
                }
            }
            Err(problem) => app.fail(problem),
        }
    };
    let rows = started.lines.iter().enumerate().map(|(index, line)| {
        let DraftLine { line: number, sku, open, .. } = line.clone();
        let name = app.items.with_untracked(|items| items.name(sku.as_str()).map(str::to_string)).unwrap_or_default();
        let qty = move || draft.with(|d| d.as_ref().map(|d| d.lines[index].qty.clone()).unwrap_or_default());
        let quarantine = move || draft.with(|d| d.as_ref().is_some_and(|d| d.lines[index].quarantine));
        let set_qty = move |value: String| draft.update(|d| if let Some(d) = d { d.lines[index].qty = value });
        let set_quarantine = move |value: bool| draft.update(|d| if let Some(d) = d { d.lines[index].quarantine = value });
        view! {
            <tr data-testid=format!("receipt-line-{number}")>
                <td>{number}</td>
                <td><strong>{sku.to_string()}</strong><br/><span class="muted">{name}</span></td>
                <td data-testid="open">{open}</td>
                <td><input type="text" class="receipt-qty" data-testid="line-qty" inputmode="numeric" autocomplete="off"
                    aria-label=format!("Quantity received of line {number}")
                    prop:value=qty on:input=move |e| set_qty(event_target_value(&e))
                    on:keydown=move |e: leptos::ev::KeyboardEvent| if e.key() == "Enter" { e.prevent_default(); submit() }/></td>
                <td><input type="checkbox" data-testid="line-quarantine"
                    aria-label=format!("Line {number} into quarantine")
                    prop:checked=quarantine on:change=move |e| set_quarantine(event_target_checked(&e))/></td>
            </tr>
        }
    }).collect_view();
    view! {
        <section class="card" data-testid="order-receipt">
            <h2>{format!("Receiving {order}")}</h2>
            <ItemField value=scanned label="Scan an item (one more each scan)" testid="receipt-scan" on_chosen=on_scan/>
            <div class="table-wrap">
                <table>
                    <thead><tr><th>"Line"</th><th>"Item"</th><th>"Open"</th><th>"Received"</th><th>"Quarantine"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <div class="row">
                <button class="primary" data-testid="receive-order" on:click=move |_| submit()>"Receive"</button>
                <button data-testid="back" on:click=move |_| { app.notice.set(None); draft.set(None) }>"Back"</button>
            </div>
            <Status/>
        </section>
    }
    .into_any()
}

/// Receipts made on this device against orders: waiting to be sent, taken, or refused (kept with
/// the reason until someone has looked).
#[component]
pub fn Receipts() -> impl IntoView {
    let app = expect_context::<AppState>();
    let list = Memo::new(move |_| app.receiving.with(|r| r.receipts().iter().rev().cloned().collect::<Vec<_>>()));
    move || {
        let list = list.get();
        (!list.is_empty()).then(|| {
            view! {
                <section class="card" data-testid="receipts">
                    <h2>"Receipts from this device"</h2>
                    <ul class="ops">{list.into_iter().map(receipt_row).collect_view()}</ul>
                </section>
            }
        })
    }
}

fn receipt_row(receipt: QueuedReceipt) -> impl IntoView {
    let app = expect_context::<AppState>();
    let what = format!("{} units against {}", receipt.units(), receipt.order);
    let (class, state) = match &receipt.state {
        DecisionState::Pending => ("pending", "Waiting to be sent".to_string()),
        DecisionState::Applied { status } => {
            ("applied", format!("Received: the order is {}", status.replace('_', " ")))
        }
        DecisionState::Refused { message, .. } => ("rejected", format!("Not received: {message}")),
    };
    let key = receipt.key.clone();
    view! {
        <li class=format!("op {class}") data-testid="receipt-row">
            <span class="what">{what}</span>
            <span class="state" data-testid="receipt-state">{state}</span>
            {(!receipt.is_pending()).then(|| view! {
                <button data-testid="dismiss-receipt" on:click=move |_| receiving::dismiss(app, key.clone())>"Dismiss"</button>
            })}
        </li>
    }
}

/// Into stock or quarantine without an order (a transfer arriving, a found box).
#[component]
fn LooseReceipt() -> impl IntoView {
    let app = expect_context::<AppState>();
    let (sku, qty, reference) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let quarantine = RwSignal::new(false);
    let qty_ref = NodeRef::<html::Input>::new();
    let submit = move || {
        let Some(location) = app.location() else { return };
        let built = read(app, sku, qty, QtyKind::Units).and_then(|(id, n)| {
            let form = Form {
                qty: n,
                reference: reference.get_untracked(),
                to_quarantine: quarantine.get_untracked(),
                ..Form::default()
            };
            Ok((id, build(MovementKind::Receive, &location, &form)?))
        });
        match built {
            Ok((id, movement)) => {
                sync::queue(app, "receive", id, vec![movement], None);
                // The reference stays: the next items are usually on the same delivery.
                clear(&[sku, qty]);
                quarantine.set(false);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Receive"</h2>
            <ItemField value=sku next=qty_ref/>
            <QtyField value=qty node_ref=qty_ref on_enter=Callback::new(move |_| submit())/>
            <Field label="Against (transfer or delivery note, optional)" testid="reference" value=reference/>
            <label class="check"><input type="checkbox" data-testid="to-quarantine" bind:checked=quarantine/>
                " Into quarantine (inspect before selling)"</label>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Receive"</button>
            <Status/>
        </section>
    }
}
