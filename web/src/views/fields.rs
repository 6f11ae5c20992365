//! The fields every screen shares: the item field a scan goes into (with suggestions and the
//! camera), the quantity field (Enter submits), a plain text field, and the live status line;
//! and the small helpers that read a form.
use crate::model::{self, parse_qty, Found, QtyKind, SUGGESTIONS_MAX};
use crate::state::AppState;
use crate::sync::refresh_items;
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use stockline_shared::{Id, Item};

/// The status line under a form: a refusal, or the state of the operation just queued, live.
#[component]
pub fn Status() -> impl IntoView {
    let app = expect_context::<AppState>();
    let line = move || {
        if let Some((good, text)) = app.notice.get() {
            return Some((if good { "good" } else { "bad" }, text));
        }
        let id = app.last_op.get()?;
        let sending = app.sync.with(|s| s.sending.contains(&id));
        let online = app.online.get();
        app.outbox.with(|o| {
            let queued = o.get(id.as_str())?;
            let name = app.items.with(|i| i.name(queued.op.sku.as_str()).map(str::to_string));
            let what = model::describe(queued.op.sku.as_str(), name.as_deref(), &queued.op.movement);
            let (tag, state) = model::state_words(queued, sending, online);
            Some((tag, format!("{what} — {state}")))
        })
    };
    let flagged = move || app.flagged.get();
    view! {
        {move || flagged().map(|flag| view! {
            <div class="notice bad flagged" role="alert" data-testid="flagged">
                <p class="flagged-what" data-testid="flagged-what">{
                    let name = app.items.with_untracked(|i| i.name(flag.sku.as_str()).map(str::to_string));
                    flag.movements.iter().map(|m| model::describe(flag.sku.as_str(), name.as_deref(), m)).collect::<Vec<_>>().join("; ")
                }</p>
                <p data-testid="flagged-reason">{format!("By this device's copy from {}, the server would refuse this: {}", flag.copy_at, flag.reason)}</p>
                <div class="row">
                    <button data-testid="queue-anyway" on:click=move |_| crate::sync::queue_anyway(app)>"Queue anyway"</button>
                    <button class="link" data-testid="flag-drop" on:click=move |_| app.flagged.set(None)>"Don't queue"</button>
                </div>
            </div>
        })}
        <p class="status-line" role="status" aria-live="polite" data-testid="status">
            {move || line().map(|(tag, text)| view! {
                <span class=format!("notice {tag}") class:good=tag == "good" || tag == "applied"
                    data-testid="message" data-state=tag>{text}</span>
            })}
        </p>
    }
}

/// The item field every screen starts with: scan (characters + Enter), SKU in any case, or part
/// of a name with suggestions. A resolved item moves the cursor on to `next`.
#[component]
pub fn ItemField(
    value: RwSignal<String>,
    #[prop(default = "sku")] testid: &'static str,
    #[prop(default = "Item")] label: &'static str,
    #[prop(optional)] next: Option<NodeRef<html::Input>>,
    /// Called with the item once it is known.
    #[prop(optional)]
    on_chosen: Option<Callback<Item>>,
    /// Take the cursor when the screen opens (the Ship screen starts at the order instead).
    #[prop(default = true)]
    autofocus: bool,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let input_ref = NodeRef::<html::Input>::new();
    let chosen = RwSignal::new(None::<Item>);
    let suggestions = Memo::new(move |_| {
        let text = value.get();
        let picked = chosen.with(|c| c.as_ref().is_some_and(|item| item.sku.as_str() == text.trim()));
        if picked || text.trim().chars().count() < 2 {
            return Vec::new();
        }
        app.items.with(|index| index.search(&text, SUGGESTIONS_MAX))
    });
    let choose = move |item: Item| {
        value.set(item.sku.to_string());
        chosen.set(Some(item.clone()));
        app.notice.set(None);
        if let Some(callback) = on_chosen {
            callback.run(item);
        }
        if let Some(element) = next.and_then(|n| n.get_untracked()) {
            let _ = element.focus();
            element.select();
        }
    };
    let resolve = move || {
        let typed = value.get_untracked();
        if typed.trim().is_empty() {
            return;
        }
        let found = app.items.with_untracked(|index| (index.is_empty(), index.resolve(&typed)));
        match found {
            (_, Found::One(item)) => choose(item),
            (true, Found::None) => match Id::new(typed.trim()) {
                // No item list on this device yet: take a well-formed SKU, the server checks it.
                Ok(sku) => choose(Item {
                    sku,
                    name: String::new(),
                    barcodes: Vec::new(),
                    critical: false,
                    safety_stock: 0,
                    unit_cost: None,
                    substitutes: Vec::new(),
                }),
                Err(_) => app.fail(format!("“{}” is not a SKU or barcode", model::echo(&typed))),
            },
            (false, Found::None) => {
                app.fail(format!("No item “{}” on this device's list", model::echo(&typed)));
                if app.online.get_untracked() {
                    refresh_items(app);
                }
                if let Some(element) = input_ref.get_untracked() {
                    element.select();
                }
            }
            (_, Found::Many(many)) => app.fail(format!("{} items match: pick one below", many.len())),
        }
    };
    // The cursor goes (back) here on mount, after each submit and each screen switch.
    Effect::new(move |focused_before: Option<bool>| {
        app.focus_tick.track();
        let Some(element) = input_ref.get() else { return false };
        if autofocus || focused_before == Some(true) {
            let _ = element.focus();
        }
        true
    });
    // A scan that arrived while no field had focus; or an item to start with.
    Effect::new(move |_| {
        if input_ref.get().is_none() {
            return;
        }
        if let Some(code) = app.scan.get() {
            app.scan.set(None);
            value.set(code);
            resolve();
        } else if let Some(sku) = app.prefill.get() {
            app.prefill.set(None);
            value.set(sku);
            resolve();
        }
    });
    // The camera, where the browser can read barcodes with it.
    let camera_open = RwSignal::new(false);
    let video_ref = NodeRef::<html::Video>::new();
    let stop = StoredValue::new(Arc::new(AtomicBool::new(false)));
    Effect::new(move |_| {
        let Some(video) = video_ref.get() else { return };
        let flag = Arc::new(AtomicBool::new(false));
        stop.set_value(flag.clone());
        spawn_local(async move {
            let result = crate::camera::scan(video, flag).await;
            camera_open.set(false);
            match result {
                Ok(code) => {
                    value.set(code);
                    resolve();
                }
                Err(problem) => app.fail(problem),
            }
        });
    });
    let chosen_line = move || {
        chosen.get().filter(|item| item.sku.as_str() == value.get().trim()).map(|item| {
            let name = if item.name.is_empty() { "not on this device's item list".to_string() } else { item.name };
            view! { <span class="chosen" data-testid="chosen-item">{name}</span> }
        })
    };
    view! {
        <div class="item-field">
            <label>{label}
                <input type="search" data-testid=testid node_ref=input_ref bind:value=value
                    placeholder="Scan, or type a SKU or name" autocomplete="off" autocapitalize="off"
                    spellcheck="false" enterkeyhint="next" inputmode="text"
                    on:keydown=move |e: ev::KeyboardEvent| {
                        if e.key() == "Enter" {
                            e.prevent_default();
                            resolve();
                        }
                    }/>
            </label>
            {crate::camera::available().then(|| view! {
                <button class="camera-button" data-testid="camera" aria-label="Scan with the camera"
                    on:click=move |_| camera_open.set(true)>"Camera"</button>
            })}
            {move || camera_open.get().then(|| view! {
                <div class="camera" role="dialog" aria-label="Scanning with the camera">
                    <video node_ref=video_ref autoplay=true playsinline=true muted=true></video>
                    <button data-testid="camera-close" on:click=move |_| {
                        stop.with_value(|flag| flag.store(true, Ordering::Relaxed));
                        camera_open.set(false);
                    }>"Close camera"</button>
                </div>
            })}
            {chosen_line}
            {move || {
                let found = suggestions.get();
                (!found.is_empty()).then(|| view! {
                    <ul class="suggestions" data-testid="suggestions" aria-label="Matching items">
                        {found.into_iter().map(|item| {
                            let label = format!("{} — {}", item.sku, item.name);
                            view! {
                                <li><button data-testid="suggestion" on:click=move |_| choose(item.clone())>{label}</button></li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
        </div>
    }
}

/// A quantity, kept exactly as typed (a text field: `type=number` reports "" for "-" or "12."
/// and the binding wrote that back); read on submit. Enter runs `on_enter`.
#[component]
pub fn QtyField(
    value: RwSignal<String>,
    node_ref: NodeRef<html::Input>,
    #[prop(default = "Quantity")] label: &'static str,
    #[prop(default = "numeric")] input_mode: &'static str,
    on_enter: Callback<()>,
) -> impl IntoView {
    view! {
        <label class="qty">{label}
            <input type="text" data-testid="qty" node_ref=node_ref bind:value=value autocomplete="off"
                inputmode=input_mode enterkeyhint="done"
                on:keydown=move |e: ev::KeyboardEvent| {
                    if e.key() == "Enter" {
                        e.prevent_default();
                        on_enter.run(());
                    }
                }/>
        </label>
    }
}

/// A labelled text input bound to a signal.
#[component]
pub fn Field(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] node_ref: Option<NodeRef<html::Input>>,
    #[prop(optional)] on_enter: Option<Callback<()>>,
) -> impl IntoView {
    let node_ref = node_ref.unwrap_or_default();
    view! {
        <label>{label}
            <input type="text" data-testid=testid bind:value=value autocomplete="off" node_ref=node_ref
                on:keydown=move |e: ev::KeyboardEvent| {
                    if let (true, Some(callback)) = (e.key() == "Enter", on_enter) {
                        e.prevent_default();
                        callback.run(());
                    }
                }/>
        </label>
    }
}

pub fn clear(fields: &[RwSignal<String>]) {
    for field in fields {
        field.set(String::new());
    }
}

/// The item and quantity of a form, read and checked; the rest of the form is `form`.
pub fn read(app: AppState, sku: RwSignal<String>, qty: RwSignal<String>, kind: QtyKind) -> Result<(Id, i64), String> {
    let id = app.item_for(&sku.get_untracked())?;
    let n = parse_qty(&qty.get_untracked(), kind)?;
    Ok((id, n))
}
