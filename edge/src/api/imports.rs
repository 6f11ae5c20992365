//! `POST /v1/imports` and `GET /v1/exports/{kind}`: CSV in and out. The engine plans a file
//! against what exists (`stockline_engine::import`); this module reads what it needs for that,
//! and applies the planned rows through the same object commands as their API calls, each under
//! an Idempotency-Key of its own (the import's key, or the file's fingerprint, and the line), so
//! a repeated import applies nothing twice and an interrupted one finishes when sent again.

use super::*;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use stockline_engine::import::{self, Existing, ImportKind, Row, RowError};
use stockline_engine::planning::{DemandDay, DemandImport};
use stockline_shared::{Atomic, ImportReport, ImportRequest, ItemsResponse};

/// SKU rows applied at once (each to its own object).
const APPLY_CONCURRENCY: usize = 8;

async fn catalog(env: &Env) -> Result<Catalog, ApiError> {
    let answer = call_directory(env, Envelope::system(DirectoryCommand::Catalog)).await?;
    serde_json::from_value(answer.body).map_err(|e| ApiError::unavailable(format!("directory: the catalog: {e}")))
}

/// The items of those of `skus` that exist, by SKU.
async fn items_of(env: &Env, skus: Vec<Id>) -> Result<BTreeMap<Id, SkuSpec>, ApiError> {
    if skus.is_empty() {
        return Ok(BTreeMap::new());
    }
    let answer = call_directory(env, Envelope::system(DirectoryCommand::ItemsOf { skus })).await?;
    let items: Vec<stockline_shared::Item> =
        serde_json::from_value(answer.body).map_err(|e| ApiError::unavailable(format!("directory: the items: {e}")))?;
    Ok(items.into_iter().map(|item| (item.sku.clone(), item.spec())).collect())
}

/// One unit of work: the lines it applies and the object command that applies them.
enum Apply {
    Directory(DirectoryCommand),
    Sku(Id, SkuCommand),
}

/// What an object said about a command: applied, or why not.
fn outcome(answer: Result<crate::http::Answer, ApiError>) -> Result<(), String> {
    match answer {
        Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
        Ok(answer) => Err(answer.body["error"]["message"].as_str().unwrap_or("refused").to_string()),
        Err(error) => Err(error.body.error.message),
    }
}

/// The work for the planned rows that change something, in line order; demand history goes as
/// one import per SKU and series.
fn work(rows: &[import::PlannedRow]) -> Vec<(Vec<u64>, Apply)> {
    let mut work = Vec::new();
    // Demand by SKU and series (a location, or none): its lines and days.
    type Series = (Id, Option<Id>);
    let mut demand: BTreeMap<Series, (Vec<u64>, Vec<DemandDay>)> = BTreeMap::new();
    for planned in rows.iter().filter(|row| row.change != import::Change::Unchanged) {
        let line = vec![planned.line];
        let apply = match planned.row.clone() {
            Row::Location { id, spec } => Apply::Directory(DirectoryCommand::PutLocation { id, spec }),
            Row::Channel { id, spec } => Apply::Directory(DirectoryCommand::PutChannel { id, spec }),
            Row::Supplier { id, spec } => Apply::Directory(DirectoryCommand::PutSupplier { id, spec }),
            Row::Sku { id, spec } => Apply::Sku(id.clone(), SkuCommand::Define { sku: id, spec }),
            Row::Policy { sku, policy } => Apply::Sku(sku.clone(), SkuCommand::PutPolicy { sku, policy }),
            Row::Stock { sku, location, qty } => {
                let movement = Row::count(&location, qty);
                Apply::Sku(sku.clone(), SkuCommand::Movement { sku, movement, occurred_at: None })
            }
            Row::Demand { sku, location, date, qty } => {
                let (lines, days) = demand.entry((sku, location)).or_default();
                lines.push(planned.line);
                days.push(DemandDay { date, qty });
                continue;
            }
        };
        work.push((line, apply));
    }
    for ((sku, location), (lines, days)) in demand {
        let import = DemandImport { location, days };
        work.push((lines, Apply::Sku(sku.clone(), SkuCommand::ImportDemand { sku, import })));
    }
    work
}

pub(super) async fn import(
    env: &Env,
    caller: &Caller<'_>,
    key: Option<&Idempotency>,
    request: ImportRequest,
) -> Result<Reply, ApiError> {
    let catalog = catalog(env).await?;
    let skus = items_of(env, import::skus_named(request.kind, &request.csv)).await?;
    let today = clock()?.date_naive();
    let mut on_hand = BTreeMap::new();
    if request.kind == ImportKind::OpeningStock {
        for row in self::on_hand(env, skus.keys().cloned().collect()).await? {
            if let Row::Stock { sku, location, qty } = row {
                on_hand.insert((sku, location), qty);
            }
        }
    }
    let mut policies = BTreeMap::new();
    if request.kind == ImportKind::Policies {
        let set: Vec<(Id, Option<stockline_engine::planning::PlanningPolicy>)> =
            ask_each(env, skus.keys().cloned().collect(), |sku| SkuCommand::PolicyOf { sku: sku.clone() }).await?;
        policies.extend(set.into_iter().filter_map(|(sku, policy)| policy.map(|policy| (sku, policy))));
    }
    let existing = Existing { catalog: &catalog, skus: &skus, on_hand: &on_hand, policies: &policies, today };
    let plan = import::plan(request.kind, &request.csv, &existing).map_err(ApiError::from)?;
    let mut report = ImportReport::of(plan, request.dry_run, request.atomic);
    if request.dry_run {
        return Ok(Answer::ok(200, &report).into());
    }
    if report.error_rows > 0 && request.atomic == Atomic::File {
        let message = format!(
            "{} of the file's rows are bad (the first on line {}); nothing was applied",
            report.error_rows,
            report.errors.first().map_or(0, |e| e.line)
        );
        let details = serde_json::to_value(&report).map_err(|e| ApiError::internal(e.to_string()))?;
        return Err(ApiError::new(400, "invalid_request", message, details));
    }
    // Each unit under its own key: the import's, or the file's fingerprint, and its first line.
    let base = match key {
        Some(key) => key.fingerprint.clone(),
        None => request_fingerprint("POST", &format!("/v1/imports/{}", request.kind.as_str()), request.csv.as_bytes()),
    };
    let keyed = |lines: &[u64], resource: &str, command: &serde_json::Value| {
        let first = lines.first().copied().unwrap_or(0);
        let key = caller_key(caller.principal, resource, &format!("import:{base}:{first}"));
        let canonical = canonical_json(command);
        Idempotency { key, fingerprint: request_fingerprint("POST", &format!("/v1/imports/line/{first}"), &canonical) }
    };
    let mut failed: Vec<RowError> = Vec::new();
    let mut applied: Vec<u64> = Vec::new();
    let mut sku_work = Vec::new();
    for (lines, apply) in work(&report.rows) {
        match apply {
            // Master data goes to the one Directory, in line order (a channel after its locations).
            Apply::Directory(command) => {
                let json = serde_json::to_value(&command).map_err(|e| ApiError::internal(e.to_string()))?;
                let key = keyed(&lines, "catalog", &json);
                let answer = call_directory(env, envelope(caller, Some(key), command)).await;
                match outcome(answer) {
                    Ok(()) => applied.extend(&lines),
                    Err(reason) => failed.extend(lines.iter().map(|line| RowError {
                        line: *line,
                        column: None,
                        reason: reason.clone(),
                    })),
                }
            }
            Apply::Sku(sku, command) => sku_work.push((lines, sku, command)),
        }
    }
    for chunk in sku_work.chunks(APPLY_CONCURRENCY) {
        let calls = chunk.iter().map(|(lines, sku, command)| async move {
            let json = serde_json::to_value(command).map_err(|e| ApiError::internal(e.to_string()))?;
            let key = keyed(lines, SKU_RESOURCE, &json);
            let stub = sku_stub(env, sku)?;
            let envelope = envelope(caller, Some(key), command);
            Ok::<_, ApiError>(
                crate::http::call(&stub, "/sku", &envelope)
                    .await
                    .map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}"))),
            )
        });
        for ((lines, _, _), answer) in chunk.iter().zip(join_all(calls).await) {
            match outcome(answer?) {
                Ok(()) => applied.extend(lines),
                Err(reason) => failed.extend(lines.iter().map(|line| RowError {
                    line: *line,
                    column: None,
                    reason: reason.clone(),
                })),
            }
        }
    }
    applied.sort_unstable();
    report.applied = applied;
    if failed.is_empty() {
        return Ok(Answer::ok(200, &report).into());
    }
    failed.sort_by_key(|error| error.line);
    report.error_rows += failed.len() as u32;
    let first = failed[0].clone();
    report.errors.extend(failed);
    report.errors.sort_by_key(|error| error.line);
    if request.atomic == Atomic::Row {
        return Ok(Answer::ok(200, &report).into());
    }
    // Checked before and refused now: something changed meanwhile, or an object did not answer.
    // What applied stays applied; the same request again applies the rest, and nothing twice.
    let message = format!(
        "line {}: {} — {} rows could not be applied, {} were; send the same request again to finish",
        first.line,
        first.reason,
        report.error_rows,
        report.applied.len()
    );
    let details = serde_json::to_value(&report).map_err(|e| ApiError::internal(e.to_string()))?;
    Err(ApiError::new(503, "unavailable", message, details))
}

/// What `GET /v1/exports/{kind}` writes: a kind an import reads, or the stock positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportKind {
    Of(ImportKind),
    Positions,
}

impl ExportKind {
    pub(crate) fn parse(text: &str) -> Option<ExportKind> {
        match text {
            "positions" => Some(ExportKind::Positions),
            other => ImportKind::parse(other).map(ExportKind::Of),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExportKind::Of(kind) => kind.as_str(),
            ExportKind::Positions => "positions",
        }
    }
}

/// SKUs one page of a per-SKU export covers (each is one call to its object); of demand
/// history fewer (a SKU keeps up to two years of days per series).
const EXPORT_SKUS_PER_PAGE: u32 = 200;
const EXPORT_DEMAND_SKUS_PER_PAGE: u32 = 10;

/// A page of the item index: its SKUs and the next page's `after`.
async fn item_page(env: &Env, after: Option<Id>) -> Result<(Vec<stockline_shared::Item>, Option<Id>), ApiError> {
    let command = DirectoryCommand::Items { q: None, after, limit: EXPORT_SKUS_PER_PAGE };
    let answer = call_directory(env, Envelope::system(command)).await?;
    let page: ItemsResponse =
        serde_json::from_value(answer.body).map_err(|e| ApiError::unavailable(format!("directory: the items: {e}")))?;
    Ok((page.items, page.next_after))
}

/// `GET /v1/exports/{kind}?after=SKU`: the file in the shape `POST /v1/imports` reads, or the
/// stock positions. Master data whole; per-SKU kinds 200 SKUs a page, in SKU order, the next
/// page's `after` in `Stockline-Next-After`.
pub(super) async fn export(env: &Env, kind: ExportKind, after: Option<Id>) -> Result<Response, ApiError> {
    let mut next_after = None;
    let text = match kind {
        ExportKind::Positions => {
            let (items, next) = item_page(env, after).await?;
            next_after = next;
            let mut rows = Vec::new();
            for (sku, position) in positions(env, items.into_iter().map(|item| item.sku).collect()).await? {
                rows.extend(position.availability.locations.into_iter().map(|at| (sku.clone(), at)));
            }
            import::export_positions(&rows).map_err(ApiError::from)?
        }
        ExportKind::Of(kind) => {
            let rows: Vec<Row> = match kind {
                ImportKind::Locations | ImportKind::Channels | ImportKind::Suppliers => {
                    import::catalog_rows(&catalog(env).await?, kind)
                }
                ImportKind::Skus | ImportKind::OpeningStock | ImportKind::Policies => {
                    let (items, next) = item_page(env, after).await?;
                    next_after = next;
                    match kind {
                        ImportKind::Skus => {
                            items.iter().map(|item| Row::Sku { id: item.sku.clone(), spec: item.spec() }).collect()
                        }
                        ImportKind::Policies => policies(env, items.into_iter().map(|item| item.sku).collect()).await?,
                        _ => on_hand(env, items.into_iter().map(|item| item.sku).collect()).await?,
                    }
                }
                ImportKind::DemandHistory => {
                    let command = DirectoryCommand::Items { q: None, after, limit: EXPORT_DEMAND_SKUS_PER_PAGE };
                    let answer = call_directory(env, Envelope::system(command)).await?;
                    let page: ItemsResponse = serde_json::from_value(answer.body)
                        .map_err(|e| ApiError::unavailable(format!("directory: the items: {e}")))?;
                    next_after = page.next_after;
                    demand(env, page.items.into_iter().map(|item| item.sku).collect()).await?
                }
            };
            import::export(kind, &rows).map_err(ApiError::from)?
        }
    };
    let mut response = Response::ok(text).map_err(|e| ApiError::internal(e.to_string()))?;
    let headers = response.headers_mut();
    let _ = headers.set("content-type", "text/csv; charset=utf-8");
    let _ = headers.set("content-disposition", &format!("attachment; filename=\"{}.csv\"", kind.name()));
    if let Some(after) = next_after {
        let _ = headers.set("stockline-next-after", after.as_str());
    }
    Ok(response)
}

/// Each SKU's object asked `command`, `APPLY_CONCURRENCY * 4` at a time; answers in SKU order.
async fn ask_each<T: serde::de::DeserializeOwned>(
    env: &Env,
    skus: Vec<Id>,
    command: impl Fn(&Id) -> SkuCommand,
) -> Result<Vec<(Id, T)>, ApiError> {
    let mut out = Vec::with_capacity(skus.len());
    for chunk in skus.chunks(APPLY_CONCURRENCY * 4) {
        let reads = chunk.iter().map(|sku| {
            let command = command(sku);
            async move {
                let answer = crate::http::call(&sku_stub(env, sku)?, "/sku", &Envelope::system(command))
                    .await
                    .map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}")))?;
                let value: T = serde_json::from_value(answer.body)
                    .map_err(|e| ApiError::unavailable(format!("sku `{sku}` answered something else: {e}")))?;
                Ok::<_, ApiError>((sku.clone(), value))
            }
        });
        for read in join_all(reads).await {
            out.push(read?);
        }
    }
    Ok(out)
}

async fn positions(env: &Env, skus: Vec<Id>) -> Result<Vec<(Id, AvailabilityResponse)>, ApiError> {
    ask_each(env, skus, |sku| SkuCommand::Availability { sku: sku.clone(), channel: None, qty: None }).await
}

/// The policies set, as rows (SKUs without one are left out).
async fn policies(env: &Env, skus: Vec<Id>) -> Result<Vec<Row>, ApiError> {
    let set: Vec<(Id, Option<stockline_engine::planning::PlanningPolicy>)> =
        ask_each(env, skus, |sku| SkuCommand::PolicyOf { sku: sku.clone() }).await?;
    Ok(set.into_iter().filter_map(|(sku, policy)| policy.map(|policy| Row::Policy { sku, policy })).collect())
}

/// The demand history kept, as rows: per SKU, each series (a location, or all locations), by date.
async fn demand(env: &Env, skus: Vec<Id>) -> Result<Vec<Row>, ApiError> {
    // Each SKU's days as its object keeps them: (series, date, qty).
    type Days = Vec<(String, chrono::NaiveDate, i64)>;
    let kept: Vec<(Id, Days)> = ask_each(env, skus, |sku| SkuCommand::DemandOf { sku: sku.clone() }).await?;
    let mut rows = Vec::new();
    for (sku, days) in kept {
        for (series, date, qty) in days {
            let location = match series.as_str() {
                stockline_engine::planning::UNLOCATED => None,
                id => Some(Id::new(id).map_err(|e| ApiError::unavailable(format!("sku `{sku}`: a series: {e}")))?),
            };
            rows.push(Row::Demand { sku: sku.clone(), location, date, qty });
        }
    }
    Ok(rows)
}

/// On hand now of each SKU at each location that holds any, as opening-stock rows.
async fn on_hand(env: &Env, skus: Vec<Id>) -> Result<Vec<Row>, ApiError> {
    let mut rows = Vec::new();
    for (sku, position) in positions(env, skus).await? {
        for location in position.availability.locations.iter().filter(|l| l.on_hand > 0) {
            rows.push(Row::Stock { sku: sku.clone(), location: location.location.clone(), qty: location.on_hand });
        }
    }
    Ok(rows)
}
