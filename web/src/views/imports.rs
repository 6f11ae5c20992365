//! CSV import for admins: choose the kind and the file; the server's dry run shows the preview and
//! every bad row with its line; then apply all (only when no row is bad) or the good rows. An
//! import needs the server: offline it says so and keeps nothing.

use crate::api::{self, CallError};
use crate::imports::{
    change_label, describe, header, kind_label, may_apply_all, may_apply_good_rows, preview, summary,
};
use crate::state::AppState;
use crate::views::fields::Status;
use leptos::prelude::*;
use leptos::task::spawn_local;
use stockline_shared::imports::ImportKind;
use stockline_shared::{Atomic, ImportReport, ImportRequest};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const OFFLINE: &str =
    "Offline: an import is checked and applied by the server. Nothing was kept; try again when back online.";

/// The chosen file's text.
async fn read_file(input: web_sys::HtmlInputElement) -> Result<(String, String), String> {
    let file = input.files().and_then(|files| files.get(0)).ok_or("Choose a CSV file first")?;
    let text = JsFuture::from(file.text()).await.map_err(|_| format!("{} cannot be read", file.name()))?;
    let text = text.as_string().ok_or_else(|| format!("{} is not text", file.name()))?;
    Ok((file.name(), text))
}

/// Sends the file: a dry run (`atomic` ignored) or a real one.
fn send(app: AppState, request: ImportRequest, report: RwSignal<Option<ImportReport>>, busy: RwSignal<bool>) {
    let Some(current) = app.settings.get_untracked() else { return };
    let key = match crate::sync::new_id() {
        Ok(id) => format!("import-{id}"),
        Err(error) => return app.fail(error),
    };
    busy.set(true);
    spawn_local(async move {
        match api::import_csv(&current.api_base, &current.token, &key, &request).await {
            Ok(answer) => {
                if !answer.dry_run && !answer.applied.is_empty() {
                    app.ok(format!("{}: {} rows applied", kind_label(answer.kind), answer.applied.len()));
                }
                report.set(Some(answer));
            }
            Err(CallError::Unreachable) => app.fail(OFFLINE),
            Err(refused) => app.fail(refused.describe()),
        }
        busy.set(false);
    });
}

#[component]
pub fn Import() -> impl IntoView {
    let app = expect_context::<AppState>();
    let kind = RwSignal::new(ImportKind::Skus);
    let file = RwSignal::new(None::<(String, String)>);
    let report = RwSignal::new(None::<ImportReport>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let preview_now = move || {
        let Some(element) = input.get_untracked() else { return };
        let element: web_sys::HtmlInputElement = element.unchecked_into();
        report.set(None);
        spawn_local(async move {
            match read_file(element).await {
                Ok((name, text)) => {
                    file.set(Some((name, text.clone())));
                    let request =
                        ImportRequest { kind: kind.get_untracked(), csv: text, dry_run: true, atomic: Atomic::File };
                    send(app, request, report, busy);
                }
                Err(why) => app.fail(why),
            }
        });
    };
    let apply = move |atomic: Atomic| {
        let Some((_, text)) = file.get_untracked() else { return };
        let request = ImportRequest { kind: kind.get_untracked(), csv: text, dry_run: false, atomic };
        send(app, request, report, busy);
    };
    view! {
        <section class="card" data-testid="import">
            <h2>"Import"</h2>
            <p class="muted">"A CSV file with a header. It is checked first; nothing changes until you apply it."</p>
            <label>"What the file holds"
                <select data-testid="import-kind" on:change=move |e| {
                    if let Some(chosen) = ImportKind::parse(&event_target_value(&e)) {
                        kind.set(chosen);
                        report.set(None);
                    }
                }>
                    {ImportKind::ALL.into_iter().map(|k| view! {
                        <option value=k.as_str() selected=move || kind.get() == k>{kind_label(k)}</option>
                    }).collect_view()}
                </select>
            </label>
            <p class="muted" data-testid="import-header">"Columns: " <code>{move || header(kind.get())}</code></p>
            <label>"File"
                <input type="file" accept=".csv,text/csv" data-testid="import-file" node_ref=input
                    on:change=move |_| preview_now()/>
            </label>
            <Status/>
            {move || busy.get().then(|| view! { <p class="muted" data-testid="import-busy">"Checking…"</p> })}
        </section>
        {move || report.get().map(|r| report_view(r, apply))}
    }
}

fn report_view(report: ImportReport, apply: impl Fn(Atomic) + Copy + Send + Sync + 'static) -> impl IntoView {
    let all = may_apply_all(&report);
    let good = may_apply_good_rows(&report);
    let good_count = report.new + report.changed;
    let errors = report.errors.clone();
    let rows: Vec<_> = preview(&report).to_vec();
    let more = report.rows.len().saturating_sub(rows.len());
    view! {
        <section class="card" data-testid="import-report">
            <p data-testid="import-summary"><strong>{summary(&report)}</strong></p>
            {(!errors.is_empty()).then(|| view! {
                <h3>"Rows with errors"</h3>
                <table class="import" data-testid="import-errors">
                    <thead><tr><th>"Line"</th><th>"Column"</th><th>"Why"</th></tr></thead>
                    <tbody>
                        {errors.into_iter().map(|e| view! {
                            <tr class="bad" data-testid="import-error">
                                <td>{e.line}</td>
                                <td>{e.column.unwrap_or_default()}</td>
                                <td>{e.reason}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!rows.is_empty()).then(|| view! {
                <h3>"Rows"</h3>
                <table class="import" data-testid="import-rows">
                    <thead><tr><th>"Line"</th><th>"Change"</th><th>"Row"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| view! {
                            <tr data-testid="import-row">
                                <td>{r.line}</td>
                                <td>{change_label(r.change)}</td>
                                <td>{describe(&r.row)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
            })}
            <div class="actions">
                {all.then(|| view! {
                    <button class="primary" data-testid="import-apply" on:click=move |_| apply(Atomic::File)>
                        {format!("Apply {good_count} rows")}
                    </button>
                })}
                {good.then(|| view! {
                    <button data-testid="import-apply-good" on:click=move |_| apply(Atomic::Row)>
                        {format!("Apply the {good_count} good rows, skip the bad")}
                    </button>
                })}
            </div>
        </section>
    }
}
