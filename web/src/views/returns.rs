//! Returns: expected back, and received with what happens to the units.
use crate::model;
use crate::model::{build, Form, QtyKind};
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, read, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use stockline_shared::MovementKind;

#[component]
pub fn Returns() -> impl IntoView {
    let app = expect_context::<AppState>();
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
                sync::queue(app, "return", id, vec![movement], None);
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
