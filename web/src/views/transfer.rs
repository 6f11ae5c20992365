//! Transfer out: to another location, under a reference the other end receives.
use crate::model::{build, Form, QtyKind};
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, read, Field, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use stockline_shared::MovementKind;

#[component]
pub fn Transfer() -> impl IntoView {
    let app = expect_context::<AppState>();
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
                sync::queue(app, "transfer", id, vec![movement], None);
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
