//! Adjust: found or lost units, with a −/+ toggle and a reason.
use crate::model::{build, parse_qty, Form, QtyKind};
use crate::state::AppState;
use crate::sync;
use crate::views::fields::{clear, Field, ItemField, QtyField, Status};
use leptos::html;
use leptos::prelude::*;
use stockline_shared::MovementKind;

#[component]
pub fn Adjust() -> impl IntoView {
    let app = expect_context::<AppState>();
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
                sync::queue(app, "adjust", id, vec![movement], None);
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
