//! The movement screens. Each starts with the item field (a scan goes there), then the quantity
//! (Enter submits), then what the movement needs. Every movement is built and checked by
//! `model::build` (the engine's own rules) before it is queued.

use crate::api::{self, CallError};
use crate::app::{now_ms, App, Field, ItemField, QtyField, Status};
use crate::db;
use crate::model::{self, build, left_to_ship, parse_qty, CountFrom, Form, QtyKind, StockCard};
use crate::sync;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::{Id, Item, MovementKind, Outbox, Reservation, ReservationLine};

fn clear(fields: &[RwSignal<String>]) {
    for field in fields {
        field.set(String::new());
    }
}

/// The item and quantity of a form, read and checked; the rest of the form is `form`.
fn read(app: App, sku: RwSignal<String>, qty: RwSignal<String>, kind: QtyKind) -> Result<(Id, i64), String> {
    let id = app.item_for(&sku.get_untracked())?;
    let n = parse_qty(&qty.get_untracked(), kind)?;
    Ok((id, n))
}

#[component]
pub fn Receive() -> impl IntoView {
    let app = expect_context::<App>();
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
                app.queue("receive", id, vec![movement], None);
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
            <Field label="Against (purchase order or transfer, optional)" testid="reference" value=reference/>
            <label class="check"><input type="checkbox" data-testid="to-quarantine" bind:checked=quarantine/>
                " Into quarantine (inspect before selling)"</label>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Receive"</button>
            <Status/>
        </section>
    }
}

#[component]
pub fn Adjust() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty, reason) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    // The sign as a toggle (a tablet keyboard's minus is hard to find); a typed sign wins.
    let lost = RwSignal::new(true);
    let qty_ref = NodeRef::<html::Input>::new();
    let reason_ref = NodeRef::<html::Input>::new();
    let signed = move || -> Result<i64, String> {
        let typed = qty.get_untracked();
        let n = parse_qty(&typed, QtyKind::Change)?;
        let explicit = typed.trim().starts_with(['-', '+', '\u{2212}']);
        Ok(if explicit || !lost.get_untracked() { n } else { -n })
    };
    let preview = move || {
        let typed = qty.get();
        let explicit = typed.trim().starts_with(['-', '+', '\u{2212}']);
        let minus = if explicit { typed.trim().starts_with(['-', '\u{2212}']) } else { lost.get() };
        match parse_qty(&typed, QtyKind::Change) {
            Ok(n) if n != 0 => {
                let units = n.abs();
                if minus {
                    format!("Records −{units}: {units} fewer on hand")
                } else {
                    format!("Records +{units}: {units} more on hand")
                }
            }
            _ => String::new(),
        }
    };
    let submit = move || {
        let Some(location) = app.location() else { return };
        let built = app.item_for(&sku.get_untracked()).and_then(|id| {
            let form = Form { qty: signed()?, reason: reason.get_untracked(), ..Form::default() };
            Ok((id, build(MovementKind::Adjust, &location, &form)?))
        });
        match built {
            Ok((id, movement)) => {
                app.queue("adjust", id, vec![movement], None);
                clear(&[sku, qty, reason]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    // Enter in the quantity goes on to the reason while there is none.
    let after_qty = Callback::new(move |_| match reason_ref.get_untracked() {
        Some(element) if reason.get_untracked().trim().is_empty() => {
            let _ = element.focus();
        }
        _ => submit(),
    });
    view! {
        <section class="card">
            <h2>"Adjust"</h2>
            <ItemField value=sku next=qty_ref/>
            <div class="sign" role="group" aria-label="Lost or found">
                <button data-testid="sign-minus" class:active=move || lost.get()
                    aria-pressed=move || if lost.get() { "true" } else { "false" }
                    on:click=move |_| lost.set(true)>"− Lost / remove"</button>
                <button data-testid="sign-plus" class:active=move || !lost.get()
                    aria-pressed=move || if lost.get() { "false" } else { "true" }
                    on:click=move |_| lost.set(false)>"+ Found / add"</button>
            </div>
            <QtyField value=qty node_ref=qty_ref label="How many" input_mode="text" on_enter=after_qty/>
            <p class="muted" data-testid="adjust-preview" aria-live="polite">{preview}</p>
            <Field label="Reason" testid="reason" value=reason node_ref=reason_ref on_enter=Callback::new(move |_| submit())/>
            <div class="choices small">
                {["damaged in handling", "found", "lost", "sample"].map(|r| view! {
                    <button class="choice" on:click=move |_| reason.set(r.to_string())>{r}</button>
                }).collect_view()}
            </div>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Adjust"</button>
            <Status/>
        </section>
    }
}

/// The stock card a count is taken from: fresh from the server when online, else the saved one.
async fn card_for_count(app: App, sku: String) -> Option<StockCard> {
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
    let app = expect_context::<App>();
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
                app.queue("count", id, vec![movement], basis);
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

#[component]
pub fn Transfer() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty, to, reference) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let qty_ref = NodeRef::<html::Input>::new();
    let fresh_reference = move || match sync::new_id() {
        Ok(id) => reference.set(format!("TR-{}", &id.as_str()[3..11])),
        Err(problem) => app.fail(problem),
    };
    fresh_reference();
    let submit = move || {
        let Some(location) = app.location() else { return };
        let built = read(app, sku, qty, QtyKind::Units).and_then(|(id, n)| {
            let form = Form {
                qty: n,
                to_location: to.get_untracked(),
                reference: reference.get_untracked(),
                ..Form::default()
            };
            Ok((id, build(MovementKind::Transfer, &location, &form)?))
        });
        match built {
            Ok((id, movement)) => {
                app.queue("transfer", id, vec![movement], None);
                clear(&[sku, qty]);
                fresh_reference();
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Transfer out"</h2>
            <ItemField value=sku next=qty_ref/>
            <QtyField value=qty node_ref=qty_ref on_enter=Callback::new(move |_| submit())/>
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
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Send"</button>
            <Status/>
        </section>
    }
}

#[component]
pub fn Returns() -> impl IntoView {
    let app = expect_context::<App>();
    let (sku, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let disposition = RwSignal::new("restock".to_string());
    let qty_ref = NodeRef::<html::Input>::new();
    let submit = move |kind: MovementKind| {
        let Some(location) = app.location() else { return };
        let built = read(app, sku, qty, QtyKind::Units).and_then(|(id, n)| {
            let disposition = model::parse_disposition(&disposition.get_untracked())?;
            let form = Form { qty: n, disposition: Some(disposition), ..Form::default() };
            Ok((id, build(kind, &location, &form)?))
        });
        match built {
            Ok((id, movement)) => {
                app.queue("return", id, vec![movement], None);
                clear(&[sku, qty]);
            }
            Err(problem) => app.fail(problem),
        }
    };
    view! {
        <section class="card">
            <h2>"Returns"</h2>
            <ItemField value=sku next=qty_ref/>
            <QtyField value=qty node_ref=qty_ref on_enter=Callback::new(move |_| submit(MovementKind::ReturnReceive))/>
            <label>"When it arrives"
                <select data-testid="disposition" on:change=move |e| disposition.set(event_target_value(&e))>
                    <option value="restock">"Restock (sellable)"</option>
                    <option value="quarantine">"Quarantine (inspect first)"</option>
                    <option value="damage">"Damaged"</option>
                </select>
            </label>
            <div class="row">
                <button data-testid="return-expected" on:click=move |_| submit(MovementKind::ReturnExpected)>"Expected back"</button>
                <button class="primary" data-testid="return-received" on:click=move |_| submit(MovementKind::ReturnReceive)>"Received"</button>
            </div>
            <Status/>
        </section>
    }
}

/// One line of a pick list at this location: what is allocated, and what is left after this
/// device's own shipments for the order.
#[derive(Clone, Debug, PartialEq)]
struct Pick {
    sku: Id,
    allocated: i64,
    left: i64,
    shipping: bool,
}

fn picks(order: &Reservation, outbox: &Outbox, here: &str) -> Vec<Pick> {
    order
        .lines
        .iter()
        .flat_map(|line: &ReservationLine| {
            line.allocations.iter().filter(|a| a.location.as_str() == here).map(move |a| (line.sku.clone(), a.qty))
        })
        .map(|(sku, allocated)| {
            let (left, _) = left_to_ship(allocated, outbox, order.id.as_str(), sku.as_str(), here);
            let shipping = outbox.ops().iter().any(|q| {
                q.is_pending()
                    && q.op.movement.kind == MovementKind::Ship
                    && q.op.sku == sku
                    && q.op.movement.reference.as_deref() == Some(order.id.as_str())
            });
            Pick { sku, allocated, left, shipping }
        })
        .collect()
}

#[component]
pub fn Ship() -> impl IntoView {
    let app = expect_context::<App>();
    let (order, sku, qty) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let loaded = RwSignal::new(None::<Reservation>);
    let qty_ref = NodeRef::<html::Input>::new();
    let order_ref = NodeRef::<html::Input>::new();
    // The screen starts at the order: scan it, Enter loads the pick list, then scan the items.
    Effect::new(move |_| {
        if let Some(element) = order_ref.get() {
            let _ = element.focus();
        }
    });
    let load = Callback::new(move |_| {
        let Some(settings) = app.settings.get_untracked() else { return };
        let id = order.get_untracked().trim().to_string();
        if id.is_empty() {
            return app.fail("Scan or type the order (reservation) first");
        }
        spawn_local(async move {
            match api::reservation(&settings.api_base, &settings.token, &id).await {
                Ok(found) => {
                    app.notice.set(None);
                    loaded.set(Some(found));
                    app.focus_item_field();
                }
                Err(CallError::Unreachable) => app.fail("Offline: the pick list needs the server"),
                Err(error) => {
                    loaded.set(None);
                    app.fail(format!("Order “{}”: {}", model::echo(&id), error.describe()));
                }
            }
        });
    });
    let rows = Memo::new(move |_| {
        let here = app.location().map(|l| l.to_string()).unwrap_or_default();
        loaded.with(|r| r.as_ref().map(|r| app.outbox.with(|o| picks(r, o, &here))).unwrap_or_default())
    });
    let ship = move |sku_id: Id, n: i64| {
        let Some(location) = app.location() else { return };
        let form = Form { qty: n, reference: order.get_untracked(), ..Form::default() };
        match build(MovementKind::Ship, &location, &form) {
            Ok(movement) => app.queue("ship", sku_id, vec![movement], None),
            Err(problem) => app.fail(problem),
        }
    };
    // A scanned item with a pick list open: how many are left to pick of it here.
    let picked = Callback::new(move |item: Item| {
        if let Some(pick) = rows.get_untracked().into_iter().find(|p| p.sku == item.sku) {
            qty.set(pick.left.to_string());
        }
    });
    let submit = move || match read(app, sku, qty, QtyKind::Units) {
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
                <Field label="Order (committed reservation)" testid="reservation" value=order node_ref=order_ref on_enter=load/>
                <button data-testid="load-picks" on:click=move |_| load.run(())>"Pick list"</button>
            </div>
            {move || loaded.get().map(|found| {
                let committed = found.status.as_str() == "committed";
                view! {
                    <p class="muted" data-testid="order-status">{
                        if committed { format!("Order {} · committed: pick and ship", found.id) }
                        else { format!("Order {} is {}: nothing to ship", found.id, found.status.as_str()) }
                    }</p>
                    <div class="table-wrap"><table data-testid="pick-list">
                        <thead><tr><th>"Item"</th><th>"To pick here"</th><th></th></tr></thead>
                        <tbody>
                            {move || rows.get().into_iter().map(|pick| {
                                let name = app.items.with(|i| i.name(pick.sku.as_str()).map(str::to_string)).unwrap_or_default();
                                let sku_id = pick.sku.clone();
                                let action = match (committed, pick.left, pick.shipping) {
                                    (true, left, _) if left > 0 => view! {
                                        <button class="primary" data-testid="pick-ship"
                                            on:click=move |_| ship(sku_id.clone(), left)>{format!("Ship {left}")}</button>
                                    }.into_any(),
                                    (_, _, true) => view! { <span data-testid="pick-state">"Shipping…"</span> }.into_any(),
                                    (true, _, false) => view! { <span data-testid="pick-state">"Shipped ✓"</span> }.into_any(),
                                    (false, _, _) => view! { <span data-testid="pick-state">"—"</span> }.into_any(),
                                };
                                view! {
                                    <tr data-testid="pick-row">
                                        <td class="wrap"><strong>{pick.sku.to_string()}</strong><br/><span class="muted">{name}</span></td>
                                        <td>{format!("{} of {}", pick.left, pick.allocated)}</td>
                                        <td>{action}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }
            })}
            <ItemField value=sku next=qty_ref on_chosen=picked autofocus=false/>
            <QtyField value=qty node_ref=qty_ref on_enter=Callback::new(move |_| submit())/>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Ship"</button>
            <Status/>
        </section>
    }
}
