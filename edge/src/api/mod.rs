//! The Worker's front door: authenticate, authorise, limit and decode, then route to the Durable
//! Object that owns the data. Bad input is answered here, before any object does work.

use crate::http::{call, error_response, forward, json_response, now, Answer, Envelope, Idempotency, Reply};
use crate::ids;
use crate::protocol::{
    coordinator, directory, feed, orders, purchasing, sku, CoordinatorCommand, DecisionRequest, DirectoryCommand,
    FeedCommand, MetricsKind, OrderActionRequest, OrdersCommand, PurchasingCommand, ResolveRequest, ShippingSpec,
    SkuCommand,
};
use chrono::NaiveDate;
use futures_util::future::join_all;
use serde::Serialize;
use stockline_engine::idempotency::{check_key, fingerprint};
use stockline_engine::limits::{QTY_REQUEST_MAX, QTY_STORED_MAX};
use stockline_engine::metrics::{MetricsBy, Report, Window};
use stockline_engine::orders::{ExceptionStatus, OrderAction, OrderSpec, OrderStatus, RoutingRules, Team};
use stockline_engine::planning::{Alert, DemandImport, PlanningPolicy, SupplierSpec};
use stockline_engine::procurement::{
    ApprovalRules, FromSuggestions, InvoiceSpec, PoAction, PoSpec, PoStatus, ReceiptSpec,
};
use stockline_engine::webhooks::WebhookSpec;
use stockline_engine::{Catalog, ChannelSpec, CommitRequest, Id, LocationSpec, Movement, ReservationRequest, SkuSpec};
use stockline_shared::auth::{authenticate, parse_tokens};
use stockline_shared::error::decode;
use stockline_shared::{
    Action, AlertsResponse, ApiError, AvailabilityResponse, BatchAvailabilityRequest, BatchAvailabilityResponse,
    ErrorDetail, ImportRequest, Me, MovementResponse, Principal, SyncOpResult, SyncOutcome, SyncPushRequest,
    SyncPushResponse, BODY_BYTES_MAX, SYNC_OPS_MAX,
};
use worker::{Env, Method, Request, Response};

mod auth;
mod fingerprint;
mod forward;
mod imports;
mod push;
mod routes;

use auth::*;
use fingerprint::*;
use forward::*;
use imports::ExportKind;
use push::*;
use routes::*;

/// The API's OpenAPI 3.1 document, served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../shared/openapi.json");

pub async fn handle(req: Request, env: Env) -> Response {
    let head = req.method() == Method::Head;
    let mut response = match route(req, env).await {
        Ok(response) => response,
        Err(error) => {
            let allow = allow_header(&error);
            let mut response = error_response(error);
            if let Some(allow) = allow {
                let _ = response.headers_mut().set("allow", &allow);
            }
            response
        }
    };
    if head {
        // HEAD is GET without the body: same status and headers.
        let headers = response.headers().clone();
        let status = response.status_code();
        response = match Response::empty() {
            Ok(empty) => empty.with_status(status).with_headers(headers),
            Err(_) => response,
        };
    }
    let status = response.status_code();
    let headers = response.headers_mut();
    if status == 503 {
        // Nothing was applied: the client retries with the same key.
        let _ = headers.set("retry-after", RETRY_AFTER_SECONDS);
    }
    let _ = headers.set("access-control-allow-origin", "*");
    let _ = headers.set("access-control-expose-headers", "content-type, retry-after, allow");
    response
}

/// `POST /v1/routing-rules/evaluate` body: how many of the latest allocations to replay.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluateRequest {
    #[serde(default)]
    orders: Option<u32>,
}

/// `POST /v1/routing-rules/activate` body: the draft's version, as the caller saw it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateRequest {
    version: u32,
}

/// What a 503 tells the client to wait before retrying.
const RETRY_AFTER_SECONDS: &str = "1";

/// The `Allow` header of a 405: the methods the path takes (HEAD wherever GET).
fn allow_header(error: &ApiError) -> Option<String> {
    if error.status != 405 {
        return None;
    }
    let allowed = error.body.error.details["allowed"].as_array()?;
    let mut methods: Vec<&str> = allowed.iter().filter_map(|m| m.as_str()).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.push("OPTIONS");
    Some(methods.join(", "))
}

/// Bodies are JSON: a `Content-Type` that is present and names another media type is refused.
fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let Some(content_type) = req.headers().get("content-type").ok().flatten() else {
        return Ok(());
    };
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        415,
        "invalid_request",
        format!("content-type: the body must be application/json, not `{media_type}`"),
        serde_json::json!({ "field": "content-type" }),
    ))
}

async fn body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if let Ok(Some(length)) = req.headers().get("content-length") {
        if length.trim().parse::<u64>().is_ok_and(|n| n > BODY_BYTES_MAX as u64) {
            return Err(ApiError::payload_too_large(BODY_BYTES_MAX));
        }
    }
    let bytes = req.bytes().await.map_err(|e| ApiError::invalid("body", e.to_string()))?;
    if bytes.len() > BODY_BYTES_MAX {
        return Err(ApiError::payload_too_large(BODY_BYTES_MAX));
    }
    Ok(bytes)
}

/// Who asks, and what they have seen: the caller's principal and the catalog version named by
/// `Stockline-Min-Catalog-Version` (read-your-writes after a master-data change).
struct Caller<'a> {
    principal: &'a Principal,
    min_catalog_version: Option<u64>,
}

fn envelope<T: Serialize>(caller: &Caller, idempotency: Option<Idempotency>, command: T) -> Envelope<T> {
    Envelope { actor: caller.principal.actor(), idempotency, command, min_catalog_version: caller.min_catalog_version }
}

/// `Stockline-Min-Catalog-Version: N` (a whole number).
fn min_catalog_version(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get("stockline-min-catalog-version").ok().flatten() else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| *v <= QTY_STORED_MAX as u64)
        .map(Some)
        .ok_or_else(|| ApiError::invalid("stockline-min-catalog-version", "must be a whole number 0..=2^53-1"))
}

fn clock() -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    now().map_err(|e| ApiError::unavailable(e.to_string()))
}

async fn route(mut req: Request, env: Env) -> Result<Response, ApiError> {
    let method = req.method();
    let path = req.path();
    let route = Route::parse(&method, &path)?;
    match route {
        Route::Health => return Ok(json_response(200, &serde_json::json!({ "ok": true, "time": clock()? }))),
        Route::OpenApi => {
            let mut response = Response::ok(OPENAPI).map_err(|e| ApiError::internal(e.to_string()))?;
            let _ = response.headers_mut().set("content-type", "application/json; charset=utf-8");
            return Ok(response);
        }
        Route::Preflight => {
            let mut response = Response::empty().map_err(|e| ApiError::internal(e.to_string()))?.with_status(204);
            let headers = response.headers_mut();
            let _ = headers.set("access-control-allow-methods", "GET, HEAD, POST, PUT, OPTIONS");
            let _ = headers.set("access-control-allow-headers", "authorization, content-type, idempotency-key");
            let _ = headers.set("access-control-max-age", "86400");
            return Ok(response);
        }
        _ => {}
    }
    let principal = principal(&req, &env)?;
    let caller = Caller { principal: &principal, min_catalog_version: min_catalog_version(&req)? };
    let action = route.action();
    if !action.allowed(principal.role) {
        return Err(ApiError::forbidden(principal.role.as_str(), action.as_str()));
    }
    let bytes = match method {
        Method::Post | Method::Put => {
            check_content_type(&req)?;
            body(&mut req).await?
        }
        _ => Vec::new(),
    };
    let key = match method {
        Method::Post | Method::Put => {
            idempotency(&req, &principal, &route.resource(), &method, &canonical_path(&path), &bytes)?
        }
        _ => None,
    };
    let answer: Reply = match route {
        Route::Health | Route::OpenApi | Route::Preflight => unreachable!("answered above"),
        Route::Me => Answer::ok(200, &Me { role: principal.role, subject: principal.subject.clone() }).into(),
        Route::SyncPush => {
            let request: SyncPushRequest = decode(&bytes)?;
            // The movements as sent, for their fingerprints (decode above has checked the shape).
            let raw: serde_json::Value = decode(&bytes)?;
            sync_push(&env, &caller, request, &raw).await?.into()
        }
        Route::PutLocation(id) => {
            let spec: LocationSpec = decode(&bytes)?;
            reply_directory(&env, envelope(&caller, key, DirectoryCommand::PutLocation { id, spec })).await?
        }
        Route::PutChannel(id) => {
            let spec: ChannelSpec = decode(&bytes)?;
            reply_directory(&env, envelope(&caller, key, DirectoryCommand::PutChannel { id, spec })).await?
        }
        Route::PutSupplier(id) => {
            let spec: SupplierSpec = decode(&bytes)?;
            reply_directory(&env, envelope(&caller, key, DirectoryCommand::PutSupplier { id, spec })).await?
        }
        Route::PutPolicy(sku) => {
            let policy: PlanningPolicy = decode(&bytes)?;
            reply_sku(&env, &sku, envelope(&caller, key, SkuCommand::PutPolicy { sku: sku.clone(), policy })).await?
        }
        Route::PostDemandHistory(sku) => {
            let import: DemandImport = decode(&bytes)?;
            let command = SkuCommand::ImportDemand { sku: sku.clone(), import };
            reply_sku(&env, &sku, envelope(&caller, key, command)).await?
        }
        Route::GetPlan(sku) => {
            let location = plan_query(&req)?;
            reply_sku(&env, &sku, envelope(&caller, None, SkuCommand::Plan { sku: sku.clone(), location })).await?
        }
        Route::GetPlanBasis(sku) => {
            let location = plan_query(&req)?;
            let command = SkuCommand::PlanBasis { sku: sku.clone(), location };
            reply_sku(&env, &sku, envelope(&caller, None, command)).await?
        }
        Route::GetReplica(sku) => {
            reply_sku(&env, &sku, envelope(&caller, None, SkuCommand::Replica { sku: sku.clone() })).await?
        }
        Route::GetReplenishment => {
            let command = replenishment_query(&req)?;
            reply_directory(&env, envelope(&caller, None, command)).await?
        }
        Route::GetAlerts => alerts(&env, &caller, alerts_limit(&req)?).await?,
        Route::ListMasterData => reply_directory(&env, envelope(&caller, None, DirectoryCommand::List)).await?,
        Route::CatalogStatus => reply_directory(&env, envelope(&caller, None, DirectoryCommand::Status)).await?,
        Route::ListItems => {
            let command = items_query(&req)?;
            reply_directory(&env, envelope(&caller, None, command)).await?
        }
        Route::PutSku(sku) => {
            let spec: SkuSpec = decode(&bytes)?;
            reply_sku(&env, &sku, envelope(&caller, key, SkuCommand::Define { sku: sku.clone(), spec })).await?
        }
        Route::PostMovement(sku) => {
            let movement: Movement = decode(&bytes)?;
            let command = SkuCommand::Movement { sku: sku.clone(), movement, occurred_at: None };
            reply_sku(&env, &sku, envelope(&caller, key, command)).await?
        }
        Route::GetAvailability(sku) => {
            let (channel, qty) = availability_query(&req)?;
            reply_sku(&env, &sku, envelope(&caller, None, SkuCommand::Availability { sku: sku.clone(), channel, qty }))
                .await?
        }
        Route::GetEntries(sku) => {
            let (after_version, limit) = entries_query(&req)?;
            let command = SkuCommand::Entries { sku: sku.clone(), after_version, limit };
            reply_sku(&env, &sku, envelope(&caller, None, command)).await?
        }
        Route::PostAvailability => {
            let request: BatchAvailabilityRequest = decode(&bytes)?;
            request.validate()?;
            batch_availability(&env, &caller, request).await?.into()
        }
        Route::PostReservation => {
            let request: ReservationRequest = decode(&bytes)?;
            request.validate()?;
            let skus = request.skus();
            // Keyed requests go to the coordinator shard the key names, so a key is checked in one
            // place whatever the body; unkeyed single-SKU requests go straight to the SKU's object.
            if let (None, [sku]) = (&key, skus.as_slice()) {
                let object = env
                    .durable_object(sku::BINDING)
                    .and_then(|ns| ns.id_from_name(sku.as_str()).map(|id| id.to_string()))
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                let id = ids::single_sku(&object)?;
                let command = SkuCommand::Reserve { sku: sku.clone(), id, request };
                reply_sku(&env, sku, envelope(&caller, key, command)).await?
            } else {
                let shard = ids::shard_for(key.as_ref().map(|k| k.key.as_str()))?;
                let command = CoordinatorCommand::Reserve { id: ids::multi_sku(shard)?, request };
                reply_shard(&env, shard, envelope(&caller, key, command)).await?
            }
        }
        Route::GetReservation(id) => {
            reply_owner(
                &env,
                &id,
                &caller,
                None,
                SkuCommand::Get { id: id.clone() },
                CoordinatorCommand::Get { id: id.clone() },
            )
            .await?
        }
        Route::CommitReservation(id) => {
            let request: CommitRequest =
                if bytes.iter().all(u8::is_ascii_whitespace) { CommitRequest::default() } else { decode(&bytes)? };
            let sku_command = SkuCommand::Commit { id: id.clone(), request: request.clone() };
            reply_owner(&env, &id, &caller, key, sku_command, CoordinatorCommand::Commit { id: id.clone(), request })
                .await?
        }
        Route::PutApprovalRules => {
            let rules: ApprovalRules = decode(&bytes)?;
            reply_purchasing(&env, envelope(&caller, key, PurchasingCommand::PutRules { rules })).await?
        }
        Route::GetApprovalRules => reply_purchasing(&env, envelope(&caller, None, PurchasingCommand::GetRules)).await?,
        Route::CreatePurchaseOrder => {
            let spec: PoSpec = decode(&bytes)?;
            reply_purchasing(&env, envelope(&caller, key, PurchasingCommand::Create { spec })).await?
        }
        Route::DraftFromSuggestions => {
            let request: FromSuggestions = decode(&bytes)?;
            reply_purchasing(&env, envelope(&caller, key, PurchasingCommand::FromSuggestions { request })).await?
        }
        Route::ListPurchaseOrders => {
            let command = purchase_orders_query(&req)?;
            reply_purchasing(&env, envelope(&caller, None, command)).await?
        }
        Route::GetDeliveries => {
            let command = PurchasingCommand::Deliveries { location: deliveries_location(&req)? };
            reply_purchasing(&env, envelope(&caller, None, command)).await?
        }
        Route::GetPurchaseOrder(id) => {
            reply_purchasing(&env, envelope(&caller, None, PurchasingCommand::Get { id })).await?
        }
        Route::DecidePurchaseOrder(id, action) => {
            let request: DecisionRequest = decode(&bytes)?;
            let command = PurchasingCommand::Decide { id, action, request, spend_limit: principal.spend_limit };
            reply_purchasing(&env, envelope(&caller, key, command)).await?
        }
        Route::ReceivePurchaseOrder(id) => {
            let spec: ReceiptSpec = decode(&bytes)?;
            // A receipt applies once: its id comes from the caller's key, so the same key again
            // is the same receipt (answered as it stands, nothing applied twice).
            let Some(idempotency) = &key else {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    "is required for a receipt: it must apply exactly once",
                ));
            };
            let receipt = stockline_shared::receiving::receipt_id(&idempotency.key).map_err(ApiError::internal)?;
            reply_purchasing(&env, envelope(&caller, key, PurchasingCommand::Receive { id, receipt, spec })).await?
        }
        Route::InvoicePurchaseOrder(id) => {
            let spec: InvoiceSpec = decode(&bytes)?;
            reply_purchasing(&env, envelope(&caller, key, PurchasingCommand::Invoice { id, spec })).await?
        }
        Route::GetScorecard(supplier) => {
            reply_purchasing(&env, envelope(&caller, None, PurchasingCommand::Scorecard { supplier })).await?
        }
        Route::GetApprovals => {
            let limit = approvals_limit(&req)?;
            let command = PurchasingCommand::Inbox { spend_limit: principal.spend_limit, limit };
            reply_purchasing(&env, envelope(&caller, None, command)).await?
        }
        Route::PutShippingRates => {
            let spec: ShippingSpec = decode(&bytes)?;
            reply_orders(&env, envelope(&caller, key, OrdersCommand::PutShipping { spec })).await?
        }
        Route::GetShippingRates => reply_orders(&env, envelope(&caller, None, OrdersCommand::GetShipping)).await?,
        Route::PutRoutingRules => {
            let rules: RoutingRules = decode(&bytes)?;
            reply_orders(&env, envelope(&caller, key, OrdersCommand::PutRules { rules })).await?
        }
        Route::GetRoutingRules => reply_orders(&env, envelope(&caller, None, OrdersCommand::GetRules)).await?,
        Route::EvaluateRoutingRules => {
            let request: EvaluateRequest =
                if bytes.iter().all(u8::is_ascii_whitespace) { EvaluateRequest::default() } else { decode(&bytes)? };
            let orders = request.orders.unwrap_or(100);
            if !(1..=stockline_engine::orders::EVALUATION_ORDERS_MAX as u32).contains(&orders) {
                return Err(ApiError::invalid(
                    "orders",
                    format!("must be 1..={}", stockline_engine::orders::EVALUATION_ORDERS_MAX),
                ));
            }
            reply_orders(&env, envelope(&caller, None, OrdersCommand::EvaluateRules { orders })).await?
        }
        Route::ActivateRoutingRules => {
            let request: ActivateRequest = decode(&bytes)?;
            let command = OrdersCommand::ActivateRules { version: request.version };
            reply_orders(&env, envelope(&caller, key, command)).await?
        }
        Route::PostOrder => {
            let spec: OrderSpec = decode(&bytes)?;
            if key.is_none() {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    "is required to place an order: a retry must not place it twice",
                ));
            }
            reply_orders(&env, envelope(&caller, key, OrdersCommand::Place { spec })).await?
        }
        Route::ListOrders => reply_orders(&env, envelope(&caller, None, orders_query(&req)?)).await?,
        Route::GetOrder(id) => reply_orders(&env, envelope(&caller, None, OrdersCommand::Get { id })).await?,
        Route::ActOnOrder(id, action) => {
            let request: OrderActionRequest = decode(&bytes)?;
            let action = match (action, request.line) {
                (OrderAction::Cancel, Some(_)) => OrderAction::CancelLine,
                (OrderAction::Cancel, None) => OrderAction::Cancel,
                (other, Some(_)) => {
                    return Err(ApiError::invalid("line", format!("only cancel takes a line, not {}", other.as_str())))
                }
                (other, None) => other,
            };
            reply_orders(&env, envelope(&caller, key, OrdersCommand::Act { id, action, request })).await?
        }
        Route::ListExceptions => reply_orders(&env, envelope(&caller, None, exceptions_query(&req)?)).await?,
        Route::GetMetrics(report) => {
            let (window, by) = metrics_query(&req, report, clock()?.date_naive())?;
            let orders = |kind| OrdersCommand::Metrics { kind, window, by };
            match report {
                Report::FillRate => reply_orders(&env, envelope(&caller, None, orders(MetricsKind::FillRate))).await?,
                Report::CycleTime => {
                    reply_orders(&env, envelope(&caller, None, orders(MetricsKind::CycleTime))).await?
                }
                Report::Suppliers => {
                    reply_purchasing(&env, envelope(&caller, None, PurchasingCommand::Metrics { window, by })).await?
                }
                Report::StockHealth => {
                    reply_directory(&env, envelope(&caller, None, DirectoryCommand::StockHealth { by })).await?
                }
                Report::Margin => forward::margin(&env, &caller, window, by, clock()?.date_naive()).await?,
            }
        }
        Route::PostImport => {
            let request: ImportRequest = decode(&bytes)?;
            imports::import(&env, &caller, key.as_ref(), request).await?
        }
        Route::Export(kind) => return imports::export(&env, kind, export_after(&req)?).await,
        Route::ListEvents => reply_feed(&env, envelope(&caller, None, events_query(&req)?)).await?,
        Route::PutWebhook(id) => {
            let spec: WebhookSpec = decode(&bytes)?;
            reply_feed(&env, envelope(&caller, None, FeedCommand::PutWebhook { id, spec })).await?
        }
        Route::GetWebhook(id) => reply_feed(&env, envelope(&caller, None, FeedCommand::GetWebhook { id })).await?,
        Route::ListDeliveries(id) => {
            let limit = deliveries_limit(&req)?;
            reply_feed(&env, envelope(&caller, None, FeedCommand::Deliveries { id, limit })).await?
        }
        Route::ResolveException(id) => {
            let request: ResolveRequest = decode(&bytes)?;
            reply_orders(&env, envelope(&caller, key, OrdersCommand::Resolve { id, request })).await?
        }
        Route::ReleaseReservation(id) => {
            if !bytes.iter().all(u8::is_ascii_whitespace)
                && !decode::<serde_json::Map<String, serde_json::Value>>(&bytes)?.is_empty()
            {
                return Err(ApiError::invalid("body", "release takes no fields"));
            }
            let sku_command = SkuCommand::Release { id: id.clone() };
            reply_owner(&env, &id, &caller, key, sku_command, CoordinatorCommand::Release { id: id.clone() }).await?
        }
    };
    Ok(answer.into_response())
}
