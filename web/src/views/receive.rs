//! Receive: to stock or into quarantine, against a purchase order or transfer.
use crate::model::{build, Form, QtyKind};
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, read, Field, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use stockline_shared::MovementKind;

#[component]
pub fn Receive() -> impl IntoView {
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
            <Field label="Against (purchase order or transfer, optional)" testid="reference" value=reference/>
            <label class="check"><input type="checkbox" data-testid="to-quarantine" bind:checked=quarantine/>
                " Into quarantine (inspect before selling)"</label>
            <button class="primary" data-testid="submit" on:click=move |_| submit()>"Receive"</button>
            <Status/>
        </section>
    }
}
