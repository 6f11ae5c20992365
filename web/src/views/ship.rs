//! Ship: load the order's pick list, ship what is allocated here, or scan items to pick.
use crate::api::{self, CallError};
use crate::model::{self, left_to_ship};
use crate::model::{build, Form, QtyKind};
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, read, Field, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::MovementKind;
use stockline_shared::{Id, Item, Outbox, Reservation, ReservationLine};

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
            let left = left_to_ship(allocated, outbox, order.id.as_str(), sku.as_str(), here);
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
    let app = expect_context::<AppState>();
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
                    let skus: Vec<String> = found.lines.iter().map(|line| line.sku.to_string()).collect();
                    loaded.set(Some(found));
                    app.focus_item_field();
                    // The pick list's SKUs as the server has them now (their holds included):
                    // what this device ships is judged against these, offline too.
                    for sku in skus {
                        crate::replica::fetch(app, &sku).await;
                    }
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
            Ok(movement) => sync::queue(app, "ship", sku_id, vec![movement], None),
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
