//! HTTP to the Stockline API.

use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use stockline_shared::{
    AvailabilityResponse, DecisionRequest, DeliveriesResponse, DraftFromSuggestions, ErrorBody, InboxResponse, Item,
    ItemsResponse, Location, Me, Plan, PlanBasis, PurchaseOrder, PurchaseOrderView, PurchaseOrdersResponse,
    ReceiptSpec, ReplenishmentResponse, ReplicaSnapshot, Reservation, Scorecard, Supplier, SyncOp, SyncPushRequest,
    SyncPushResponse,
};

/// Why a call did not give an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// No network, or the server did not answer: keep the work queued, use saved copies.
    Unreachable,
    /// The server answered with an error.
    Refused { status: u16, code: String, message: String },
}

impl CallError {
    pub fn describe(&self) -> String {
        match self {
            CallError::Unreachable => "Offline: the server cannot be reached".to_string(),
            CallError::Refused { status, code, message } => format!("{message} ({code}, {status})"),
        }
    }
}

fn url(api_base: &str, path: &str) -> String {
    format!("{}{}", api_base.trim_end_matches('/'), path)
}

fn authorised(builder: RequestBuilder, token: &str) -> RequestBuilder {
    builder.header("Authorization", &format!("Bearer {token}"))
}

async fn answer<T: DeserializeOwned>(sent: Result<gloo_net::http::Response, gloo_net::Error>) -> Result<T, CallError> {
    match error_body(sent).await? {
        Ok(answer) => Ok(answer),
        Err((status, body)) => Err(CallError::Refused { status, code: body.error.code, message: body.error.message }),
    }
}

/// A 2xx answer read as `T`, or the error body of a 4xx with its status; no answer or a 5xx is
/// `Unreachable` (the work stays queued).
async fn error_body<T: DeserializeOwned>(
    sent: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<Result<T, (u16, ErrorBody)>, CallError> {
    let response = sent.map_err(|_| CallError::Unreachable)?;
    let status = response.status();
    if response.ok() {
        let answer = response.json().await.map_err(|e| CallError::Refused {
            status,
            code: "bad_answer".into(),
            message: e.to_string(),
        })?;
        return Ok(Ok(answer));
    }
    if status >= 500 {
        return Err(CallError::Unreachable);
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Ok(Err((status, body))),
        Err(_) => Err(CallError::Refused { status, code: "http".into(), message: format!("HTTP {status}") }),
    }
}

pub async fn availability(api_base: &str, token: &str, sku: &str) -> Result<AvailabilityResponse, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/availability/{sku}"))), token).send().await).await
}

pub async fn me(api_base: &str, token: &str) -> Result<Me, CallError> {
    answer(authorised(Request::get(&url(api_base, "/v1/me")), token).send().await).await
}

#[derive(serde::Deserialize)]
struct MasterData {
    locations: Vec<Location>,
}

pub async fn locations(api_base: &str, token: &str) -> Result<Vec<Location>, CallError> {
    let data: MasterData =
        answer(authorised(Request::get(&url(api_base, "/v1/locations")), token).send().await).await?;
    Ok(data.locations)
}

pub async fn reservation(api_base: &str, token: &str, id: &str) -> Result<Reservation, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/reservations/{id}"))), token).send().await).await
}

pub async fn push(api_base: &str, token: &str, ops: Vec<SyncOp>) -> Result<SyncPushResponse, CallError> {
    let request = authorised(Request::post(&url(api_base, "/v1/sync/push")), token)
        .json(&SyncPushRequest { ops })
        .map_err(|e| CallError::Refused { status: 0, code: "encode".into(), message: e.to_string() })?;
    answer(request.send().await).await
}

/// Pages the device keeps of the item list at most (1,000 items each).
pub const ITEM_PAGES_MAX: usize = 100;

/// The whole item list, a page at a time, for finding items offline.
pub async fn items(api_base: &str, token: &str) -> Result<Vec<Item>, CallError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..ITEM_PAGES_MAX {
        let path = match &after {
            Some(after) => format!("/v1/skus?limit=1000&after={after}"),
            None => "/v1/skus?limit=1000".to_string(),
        };
        let page: ItemsResponse = answer(authorised(Request::get(&url(api_base, &path)), token).send().await).await?;
        items.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next.to_string()),
            None => return Ok(items),
        }
    }
    Ok(items)
}

pub async fn plan(api_base: &str, token: &str, sku: &str) -> Result<Plan, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/skus/{sku}/plan"))), token).send().await).await
}

/// What a SKU's plan is computed from, its forecast chosen: the what-if runs on it.
pub async fn plan_basis(api_base: &str, token: &str, sku: &str) -> Result<PlanBasis, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/skus/{sku}/plan/basis"))), token).send().await).await
}

/// A SKU's ledger snapshot, for this device's replica.
pub async fn replica(api_base: &str, token: &str, sku: &str) -> Result<ReplicaSnapshot, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/skus/{sku}/replica"))), token).send().await).await
}

/// The first page of the replenishment list (up to 500 SKUs, most urgent first).
pub async fn replenishment(api_base: &str, token: &str) -> Result<ReplenishmentResponse, CallError> {
    answer(authorised(Request::get(&url(api_base, "/v1/replenishment?limit=500")), token).send().await).await
}

fn encoded(error: impl std::fmt::Display) -> CallError {
    CallError::Refused { status: 0, code: "encode".into(), message: error.to_string() }
}

/// The latest purchase orders (up to 100), newest first.
pub async fn purchase_orders(api_base: &str, token: &str) -> Result<PurchaseOrdersResponse, CallError> {
    answer(authorised(Request::get(&url(api_base, "/v1/purchase-orders?limit=100")), token).send().await).await
}

pub async fn purchase_order(api_base: &str, token: &str, id: &str) -> Result<PurchaseOrderView, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/purchase-orders/{id}"))), token).send().await).await
}

/// The caller's approvals inbox.
pub async fn approvals(api_base: &str, token: &str) -> Result<InboxResponse, CallError> {
    answer(authorised(Request::get(&url(api_base, "/v1/approvals?limit=100")), token).send().await).await
}

/// A decision on an order (`submit`, `approve`, `reject`, `send`, `cancel`, `close`) under `key`.
pub async fn decide(
    api_base: &str,
    token: &str,
    id: &str,
    action: &str,
    key: &str,
    request: &DecisionRequest,
) -> Result<PurchaseOrder, CallError> {
    let path = format!("/v1/purchase-orders/{id}/{action}");
    let builder = authorised(Request::post(&url(api_base, &path)), token).header("Idempotency-Key", key);
    answer(builder.json(request).map_err(encoded)?.send().await).await
}

/// A draft order from a supplier's replenishment suggestions.
pub async fn draft_from_suggestions(
    api_base: &str,
    token: &str,
    supplier: &str,
    location: &str,
    key: &str,
) -> Result<DraftFromSuggestions, CallError> {
    let builder = authorised(Request::post(&url(api_base, "/v1/purchase-orders/from-suggestions")), token)
        .header("Idempotency-Key", key);
    let body = serde_json::json!({ "supplier": supplier, "location": location });
    answer(builder.json(&body).map_err(encoded)?.send().await).await
}

/// The orders on their way to `location`, in full, for receiving against them (offline too).
pub async fn deliveries(api_base: &str, token: &str, location: &str) -> Result<DeliveriesResponse, CallError> {
    let path = format!("/v1/deliveries?location={location}");
    answer(authorised(Request::get(&url(api_base, &path)), token).send().await).await
}

/// A receipt against order `id` under `key`: the same key again applies nothing twice.
pub async fn receive(
    api_base: &str,
    token: &str,
    id: &str,
    key: &str,
    spec: &ReceiptSpec,
) -> Result<PurchaseOrderView, CallError> {
    let path = format!("/v1/purchase-orders/{id}/receipts");
    let builder = authorised(Request::post(&url(api_base, &path)), token).header("Idempotency-Key", key);
    answer(builder.json(spec).map_err(encoded)?.send().await).await
}

/// The suppliers (master data), with their standing and lead times.
pub async fn suppliers(api_base: &str, token: &str) -> Result<Vec<Supplier>, CallError> {
    #[derive(serde::Deserialize)]
    struct Suppliers {
        suppliers: Vec<Supplier>,
    }
    let data: Suppliers = answer(authorised(Request::get(&url(api_base, "/v1/suppliers")), token).send().await).await?;
    Ok(data.suppliers)
}

/// The managers' dashboard: the alerts, and the last 30 days' fill rate by SKU, cycle time by
/// channel, supplier performance by supplier and margin leaks by SKU.
pub async fn dashboard(api_base: &str, token: &str) -> Result<crate::dashboard::Dashboard, CallError> {
    let get = |path: &str| authorised(Request::get(&url(api_base, path)), token);
    let fill = answer(get("/v1/metrics/fill-rate?by=sku").send().await).await?;
    let cycle = answer(get("/v1/metrics/cycle-time?by=channel").send().await).await?;
    let suppliers = answer(get("/v1/metrics/suppliers?by=supplier").send().await).await?;
    let margin = answer(get("/v1/metrics/margin?by=sku").send().await).await?;
    let alerts = answer(get(&format!("/v1/alerts?limit={}", crate::dashboard::ALERTS_SHOWN_MAX)).send().await).await?;
    Ok(crate::dashboard::Dashboard {
        fill,
        cycle,
        suppliers: Some(suppliers),
        margin: Some(margin),
        alerts: Some(alerts),
    })
}

/// A supplier's scorecard from its orders, receipts and invoices.
pub async fn scorecard(api_base: &str, token: &str, supplier: &str) -> Result<Scorecard, CallError> {
    let path = format!("/v1/suppliers/{supplier}/scorecard");
    answer(authorised(Request::get(&url(api_base, &path)), token).send().await).await
}

/// Orders in `status` (and holding units at `location`, when given), up to 200.
pub async fn sales_orders(
    api_base: &str,
    token: &str,
    status: &str,
    location: Option<&str>,
) -> Result<stockline_shared::orders::OrdersResponse, CallError> {
    let path = match location {
        Some(location) => format!("/v1/orders?status={status}&location={location}&limit=200"),
        None => format!("/v1/orders?status={status}&limit=200"),
    };
    answer(authorised(Request::get(&url(api_base, &path)), token).send().await).await
}

pub async fn sales_order(
    api_base: &str,
    token: &str,
    id: &str,
) -> Result<stockline_shared::orders::OrderView, CallError> {
    answer(authorised(Request::get(&url(api_base, &format!("/v1/orders/{id}"))), token).send().await).await
}

/// A fulfilment step on an order (`release`, `pick`, `ship`, …) under `key`.
pub async fn order_step(
    api_base: &str,
    token: &str,
    id: &str,
    action: &str,
    key: &str,
    request: &stockline_shared::orders::OrderActionRequest,
) -> Result<stockline_shared::orders::OrderView, CallError> {
    let path = format!("/v1/orders/{id}/{action}");
    let builder = authorised(Request::post(&url(api_base, &path)), token).header("Idempotency-Key", key);
    answer(builder.json(request).map_err(encoded)?.send().await).await
}

/// A team's open exceptions, oldest due first.
pub async fn exceptions(
    api_base: &str,
    token: &str,
    team: &str,
) -> Result<stockline_shared::orders::ExceptionsResponse, CallError> {
    let path = format!("/v1/exceptions?team={team}&status=open&limit=200");
    answer(authorised(Request::get(&url(api_base, &path)), token).send().await).await
}

/// A resolution of exception `id` under `key`.
pub async fn resolve(
    api_base: &str,
    token: &str,
    id: &str,
    key: &str,
    request: &stockline_shared::orders::ResolveRequest,
) -> Result<stockline_shared::orders::ResolveResponse, CallError> {
    let path = format!("/v1/exceptions/{id}/resolve");
    let builder = authorised(Request::post(&url(api_base, &path)), token).header("Idempotency-Key", key);
    answer(builder.json(request).map_err(encoded)?.send().await).await
}

/// `POST /v1/imports`. A file refused whole for its bad rows (400 with the report in `details`)
/// answers its report too: nothing applied, every bad row named.
pub async fn import_csv(
    api_base: &str,
    token: &str,
    key: &str,
    request: &stockline_shared::ImportRequest,
) -> Result<stockline_shared::ImportReport, CallError> {
    let builder = authorised(Request::post(&url(api_base, "/v1/imports")), token).header("Idempotency-Key", key);
    match error_body(builder.json(request).map_err(encoded)?.send().await).await? {
        Ok(report) => Ok(report),
        Err((status, body)) => {
            match serde_json::from_value::<stockline_shared::ImportReport>(body.error.details.clone()) {
                Ok(report) => Ok(report),
                Err(_) => Err(CallError::Refused { status, code: body.error.code, message: body.error.message }),
            }
        }
    }
}
