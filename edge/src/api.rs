//! The Worker's front door: authenticate, authorise, limit and decode, then route to the Durable
//! Object that owns the data. Bad input is answered here, before any object does work.

use crate::http::{call, error_response, forward, json_response, now, Answer, Envelope, Idempotency, Reply};
use crate::ids;
use crate::protocol::{coordinator, directory, sku, CoordinatorCommand, DirectoryCommand, SkuCommand};
use futures_util::future::join_all;
use serde::Serialize;
use stockline_engine::idempotency::{check_key, fingerprint};
use stockline_engine::limits::QTY_STORED_MAX;
use stockline_engine::{Catalog, ChannelSpec, CommitRequest, Id, LocationSpec, Movement, ReservationRequest, SkuSpec};
use stockline_shared::auth::{authenticate, parse_tokens};
use stockline_shared::error::decode;
use stockline_shared::{
    Action, ApiError, BatchAvailabilityRequest, BatchAvailabilityResponse, ErrorDetail, Me, MovementResponse,
    Principal, SyncOpResult, SyncOutcome, SyncPushRequest, SyncPushResponse, BODY_BYTES_MAX, SYNC_OPS_MAX,
};
use worker::{Env, Method, Request, Response};

/// The API's OpenAPI 3.1 document, served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../shared/openapi.json");

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

/// Decodes `%XX` escapes in one path segment; None when an escape is malformed or not UTF-8.
/// A path segment with its percent-escapes decoded; None when an escape is malformed (`%zz`, a
/// lone `%`) or the bytes are not UTF-8. The `percent-encoding` crate passes malformed escapes
/// through as text, so they are looked for first.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return None;
    }
    percent_encoding::percent_decode_str(segment).decode_utf8().ok().map(|text| text.into_owned())
}

/// The path as fingerprinted: segments decoded, no trailing slash (`/v1/skus/A%3AB/movements/`
/// and `/v1/skus/A:B/movements` are one resource).
fn canonical_path(path: &str) -> String {
    let segments: Vec<String> =
        path.trim_end_matches('/').split('/').map(|s| percent_decode(s).unwrap_or_else(|| s.to_string())).collect();
    segments.join("/")
}

fn path_id(value: &str) -> Result<Id, ApiError> {
    Id::new(value).map_err(ApiError::from)
}

/// What a request is, once its method and path are understood.
enum Route {
    Health,
    OpenApi,
    Preflight,
    PutLocation(Id),
    PutChannel(Id),
    ListMasterData,
    CatalogStatus,
    PutSku(Id),
    PostMovement(Id),
    GetAvailability(Id),
    GetEntries(Id),
    PostAvailability,
    PostReservation,
    GetReservation(Id),
    CommitReservation(Id),
    ReleaseReservation(Id),
    Me,
    SyncPush,
    ListItems,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Result<Route, ApiError> {
        let decoded: Vec<String> = path
            .trim_end_matches('/')
            .split('/')
            .skip(1)
            .map(|segment| {
                percent_decode(segment).ok_or_else(|| ApiError::invalid("path", "malformed percent-encoding"))
            })
            .collect::<Result<_, _>>()?;
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        // HEAD is answered wherever GET is (the body is dropped in `handle`).
        let method = if *method == Method::Head { &Method::Get } else { method };
        let route = match (method, segments.as_slice()) {
            (Method::Options, _) => Route::Preflight,
            (Method::Get, ["v1", "health"]) => Route::Health,
            (Method::Get, ["v1", "openapi.json"]) => Route::OpenApi,
            (Method::Get, ["v1", "me"]) => Route::Me,
            (Method::Post, ["v1", "sync", "push"]) => Route::SyncPush,
            (Method::Put, ["v1", "locations", id]) => Route::PutLocation(path_id(id)?),
            (Method::Put, ["v1", "channels", id]) => Route::PutChannel(path_id(id)?),
            (Method::Get, ["v1", "locations"] | ["v1", "channels"]) => Route::ListMasterData,
            (Method::Get, ["v1", "catalog"]) => Route::CatalogStatus,
            (Method::Get, ["v1", "skus"]) => Route::ListItems,
            (Method::Put, ["v1", "skus", sku]) => Route::PutSku(path_id(sku)?),
            (Method::Post, ["v1", "skus", sku, "movements"]) => Route::PostMovement(path_id(sku)?),
            (Method::Get, ["v1", "skus", sku, "entries"]) => Route::GetEntries(path_id(sku)?),
            (Method::Get, ["v1", "availability", sku]) => Route::GetAvailability(path_id(sku)?),
            (Method::Post, ["v1", "availability"]) => Route::PostAvailability,
            (Method::Post, ["v1", "reservations"]) => Route::PostReservation,
            (Method::Get, ["v1", "reservations", id]) => Route::GetReservation(path_id(id)?),
            (Method::Post, ["v1", "reservations", id, "commit"]) => Route::CommitReservation(path_id(id)?),
            (Method::Post, ["v1", "reservations", id, "release"]) => Route::ReleaseReservation(path_id(id)?),
            (_, ["v1", "reservations"] | ["v1", "reservations", _, "commit" | "release"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            (_, ["v1", "reservations", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (_, ["v1", "locations", _] | ["v1", "channels", _] | ["v1", "skus", _]) => {
                return Err(ApiError::method_not_allowed(&["PUT"]))
            }
            (_, ["v1", "skus", _, "movements"] | ["v1", "availability"] | ["v1", "sync", "push"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            (
                _,
                ["v1", "availability", _]
                | ["v1", "me"]
                | ["v1", "health"]
                | ["v1", "openapi.json"]
                | ["v1", "locations"]
                | ["v1", "channels"]
                | ["v1", "catalog"]
                | ["v1", "skus"]
                | ["v1", "skus", _, "entries"],
            ) => return Err(ApiError::method_not_allowed(&["GET"])),
            _ => return Err(ApiError::not_found("route")),
        };
        Ok(route)
    }

    /// What an Idempotency-Key on this route is scoped to.
    fn resource(&self) -> String {
        match self {
            Route::PutLocation(_) | Route::PutChannel(_) => "catalog".to_string(),
            Route::PutSku(_) | Route::PostMovement(_) | Route::SyncPush => SKU_RESOURCE.to_string(),
            Route::PostReservation => "reservations".to_string(),
            Route::CommitReservation(id) | Route::ReleaseReservation(id) => format!("reservation:{id}"),
            _ => "read".to_string(),
        }
    }

    fn action(&self) -> Action {
        match self {
            Route::Health
            | Route::OpenApi
            | Route::Preflight
            | Route::ListMasterData
            | Route::CatalogStatus
            | Route::ListItems
            | Route::GetAvailability(_) => Action::Read,
            Route::PostAvailability | Route::GetReservation(_) | Route::GetEntries(_) | Route::Me => Action::Read,
            Route::PostReservation | Route::CommitReservation(_) | Route::ReleaseReservation(_) => Action::Reserve,
            Route::PutLocation(_) | Route::PutChannel(_) | Route::PutSku(_) => Action::WriteMasterData,
            Route::PostMovement(_) | Route::SyncPush => Action::RecordMovement,
        }
    }
}

thread_local! {
    /// The parsed token table with the text it was parsed from (re-parsed when the text changes).
    static TOKENS: std::cell::RefCell<Option<(String, Vec<Principal>)>> = const { std::cell::RefCell::new(None) };
}

fn principal(req: &Request, env: &Env) -> Result<Principal, ApiError> {
    let config = env
        .var("STOCKLINE_TOKENS")
        .map(|v| v.to_string())
        .or_else(|_| env.secret("STOCKLINE_TOKENS").map(|v| v.to_string()))
        .map_err(|_| ApiError::internal("no token table is configured (STOCKLINE_TOKENS)"))?;
    let authorization = req.headers().get("authorization").ok().flatten();
    TOKENS.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().is_none_or(|(text, _)| *text != config) {
            let table = parse_tokens(&config).map_err(ApiError::internal)?;
            *cached = Some((config, table));
        }
        let (_, table) = cached.as_ref().expect("just parsed");
        authenticate(table, authorization.as_deref()).cloned().ok_or_else(ApiError::unauthorized)
    })
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

/// A key belongs to its caller and to the resource that owns the write: the stored key is the
/// token's subject, the resource and the key, so another caller's request, or the same key used
/// for another resource, is a different request and never sees the first answer. (Each object
/// keeps its own keys, which scopes them further: one SKU, one coordinator shard, the catalog.)
fn caller_key(principal: &Principal, resource: &str, key: &str) -> String {
    format!("{}\u{1f}{resource}\u{1f}{key}", principal.subject)
}

/// The resource a write's key belongs to (../shared/API.md, Idempotency).
const SKU_RESOURCE: &str = "sku";

/// The `Idempotency-Key` with a fingerprint over method, path and the canonical JSON body.
fn idempotency(
    req: &Request,
    principal: &Principal,
    resource: &str,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    let Some(key) = req.headers().get("idempotency-key").ok().flatten() else {
        return Ok(None);
    };
    check_key(&key)?;
    let key = caller_key(principal, resource, &key);
    let canonical = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => canonical_json(&value),
        Err(_) => body.to_vec(),
    };
    Ok(Some(Idempotency { key, fingerprint: request_fingerprint(method.as_ref(), path, &canonical) }))
}

/// A JSON body in canonical form: keys sorted, no insignificant whitespace.
fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// The fingerprint recorded with an idempotency key: method, path and canonical body, in hex.
/// `idempotency` and `sync_push` both use it, so a pushed operation and a direct post of the same
/// movement under the same key are one request.
fn request_fingerprint(method: &str, path: &str, canonical_body: &[u8]) -> String {
    let print = fingerprint(&[method.as_bytes(), path.as_bytes(), canonical_body]);
    format!("{print:016x}")
}

/// The path of `POST /v1/skus/{sku}/movements`.
fn movements_path(sku: &Id) -> String {
    format!("/v1/skus/{sku}/movements")
}

fn sku_stub(env: &Env, sku: &Id) -> Result<worker::Stub, ApiError> {
    env.durable_object(sku::BINDING)
        .and_then(|ns| ns.get_by_name(sku.as_str()))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A SKU object's answer, read (for fan-outs that combine answers).
async fn to_sku(env: &Env, sku: &Id, envelope: Envelope<SkuCommand>) -> Result<Answer, ApiError> {
    call(&sku_stub(env, sku)?, "/sku", &envelope).await.map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}")))
}

/// A SKU object's answer, passed on as it is.
async fn reply_sku(env: &Env, sku: &Id, envelope: Envelope<SkuCommand>) -> Result<Reply, ApiError> {
    forward(&sku_stub(env, sku)?, "/sku", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}")))
}

async fn reply_shard(env: &Env, shard: u32, envelope: Envelope<CoordinatorCommand>) -> Result<Reply, ApiError> {
    let stub = env
        .durable_object(coordinator::BINDING)
        .and_then(|ns| ns.get_by_name(&coordinator::shard_name(shard)))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    forward(&stub, "/coordinator", &envelope).await.map_err(|e| ApiError::unavailable(format!("coordinator: {e}")))
}

/// Sends a reservation command to the object its id names: a SKU ledger or a coordinator shard.
async fn reply_owner(
    env: &Env,
    id: &Id,
    caller: &Caller<'_>,
    key: Option<Idempotency>,
    sku_command: SkuCommand,
    coordinator_command: CoordinatorCommand,
) -> Result<Reply, ApiError> {
    match ids::owner(id.as_str()) {
        Some(ids::Owner::Sku(object)) => {
            let stub = env
                .durable_object(sku::BINDING)
                .and_then(|ns| ns.id_from_string(&object).and_then(|id| id.get_stub()))
                .map_err(|_| ApiError::not_found("reservation"))?;
            forward(&stub, "/sku", &envelope(caller, key, sku_command))
                .await
                .map_err(|e| ApiError::unavailable(format!("reservation `{id}`: {e}")))
        }
        Some(ids::Owner::Shard(shard)) => reply_shard(env, shard, envelope(caller, key, coordinator_command)).await,
        None => Err(ApiError::not_found("reservation")),
    }
}

fn directory_stub(env: &Env) -> Result<worker::Stub, ApiError> {
    env.durable_object(directory::BINDING)
        .and_then(|ns| ns.get_by_name(directory::NAME))
        .map_err(|e| ApiError::internal(e.to_string()))
}

async fn reply_directory(env: &Env, envelope: Envelope<DirectoryCommand>) -> Result<Reply, ApiError> {
    forward(&directory_stub(env)?, "/directory", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("directory: {e}")))
}

async fn call_directory(env: &Env, envelope: Envelope<DirectoryCommand>) -> Result<Answer, ApiError> {
    call(&directory_stub(env)?, "/directory", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("directory: {e}")))
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
            let channel = channel_query(&req)?;
            reply_sku(&env, &sku, envelope(&caller, None, SkuCommand::Availability { sku: sku.clone(), channel }))
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

fn channel_query(req: &Request) -> Result<Option<Id>, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut channel = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "channel" => channel = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(channel)
}

/// `GET /v1/skus?q=TEXT&after=SKU&limit=N` (q 1..=64 characters, limit 1..=1000, default 100).
fn items_query(req: &Request) -> Result<DirectoryCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut q, mut after, mut limit) = (None, None, 100u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "q" => {
                let text = value.trim();
                if text.is_empty() || text.chars().count() > 64 || text.chars().any(char::is_control) {
                    return Err(ApiError::invalid("q", "must be 1..=64 characters"));
                }
                q = Some(text.to_string());
            }
            "after" => after = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            "limit" => {
                limit =
                    value.parse().ok().filter(|l| (1..=directory::ITEMS_PAGE_MAX).contains(l)).ok_or_else(|| {
                        ApiError::invalid("limit", format!("must be 1..={}", directory::ITEMS_PAGE_MAX))
                    })?
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(DirectoryCommand::Items { q, after, limit })
}

/// `?after_version=N&limit=M` (limit 1..=1000, default 100).
fn entries_query(req: &Request) -> Result<(u64, u32), ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut after_version, mut limit) = (0u64, 100u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "after_version" => {
                after_version = Some(value.as_ref())
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| *v <= QTY_STORED_MAX as u64)
                    .ok_or_else(|| ApiError::invalid("after_version", "must be a whole number 0..=2^53-1"))?
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=1000).contains(l))
                    .ok_or_else(|| ApiError::invalid("limit", "must be 1..=1000"))?
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok((after_version, limit))
}

/// Reads every SKU's object in parallel; unknown SKUs are listed under `missing`.
async fn batch_availability(
    env: &Env,
    caller: &Caller<'_>,
    request: BatchAvailabilityRequest,
) -> Result<Answer, ApiError> {
    let skus = request.skus.clone();
    let calls = skus.iter().map(|sku| {
        let command = SkuCommand::Availability { sku: sku.clone(), channel: request.channel.clone() };
        to_sku(env, sku, envelope(caller, None, command))
    });
    let answers = join_all(calls).await;
    let mut response = BatchAvailabilityResponse { items: Vec::new(), missing: Vec::new() };
    for (sku, answer) in skus.into_iter().zip(answers) {
        let answer = answer?;
        match answer.status {
            200 => {
                response.items.push(serde_json::from_value(answer.body).map_err(|e| ApiError::internal(e.to_string()))?)
            }
            404 if answer.body["error"]["details"]["kind"] == "sku" => response.missing.push(sku),
            _ => return Ok(answer),
        }
    }
    if let (true, Some(channel)) = (response.items.is_empty(), &request.channel) {
        // No SKU object looked at the channel: ask the catalog, so an unknown channel is 404
        // whatever SKUs were asked for.
        let answer = call_directory(env, envelope(caller, None, DirectoryCommand::Catalog)).await?;
        let catalog: Catalog = serde_json::from_value(answer.body)
            .map_err(|e| ApiError::unavailable(format!("the directory answered no catalog: {e}")))?;
        catalog.channel_or_not_found(channel.as_str())?;
    }
    Ok(Answer::ok(200, &response))
}

/// How far ahead of the server's clock a pushed `occurred_at` may be (clock skew, not the future).
const OCCURRED_AT_AHEAD_MAX_HOURS: i64 = 24;

/// `POST /v1/sync/push`: each operation goes to its SKU's ledger as `POST /v1/skus/{sku}/movements`
/// with `Idempotency-Key: <op_id>` would, so nothing is applied twice however often it is sent.
/// Operations of one SKU run in request order, one after another; SKUs run in parallel. When an
/// operation is not decided (5xx, unreachable), the later ones of its SKU are not sent: all `retry`.
async fn sync_push(
    env: &Env,
    caller: &Caller<'_>,
    request: SyncPushRequest,
    raw: &serde_json::Value,
) -> Result<Answer, ApiError> {
    let count = request.ops.len();
    if !(1..=SYNC_OPS_MAX).contains(&count) {
        return Err(ApiError::invalid("ops", format!("must hold 1..={SYNC_OPS_MAX} operations, not {count}")));
    }
    let latest = clock()? + chrono::Duration::hours(OCCURRED_AT_AHEAD_MAX_HOURS);
    // Indices of the operations of each SKU, in request order; SKUs in order of first appearance.
    let mut by_sku: Vec<(&Id, Vec<usize>)> = Vec::new();
    for (index, op) in request.ops.iter().enumerate() {
        match by_sku.iter_mut().find(|(sku, _)| **sku == op.sku) {
            Some((_, indices)) => indices.push(index),
            None => by_sku.push((&op.sku, vec![index])),
        }
    }
    let sequences = by_sku.iter().map(|(sku, indices)| {
        let (ops, latest) = (&request.ops, latest);
        async move {
            let mut results = Vec::with_capacity(indices.len());
            let mut undecided: Option<&Id> = None;
            for &index in indices {
                let op = &ops[index];
                if let Some(earlier) = undecided {
                    let error = ApiError::unavailable(format!(
                        "not sent: the earlier operation `{earlier}` of SKU `{sku}` was not decided"
                    ));
                    results.push((
                        index,
                        result(op.op_id.clone(), SyncOutcome::Retry, error.status, None, Some(error.body.error)),
                    ));
                    continue;
                }
                if op.occurred_at.is_some_and(|at| at > latest) {
                    let error = ApiError::invalid(
                        "occurred_at",
                        format!("is more than {OCCURRED_AT_AHEAD_MAX_HOURS} h ahead of the server's clock"),
                    );
                    results.push((
                        index,
                        result(op.op_id.clone(), SyncOutcome::Rejected, error.status, None, Some(error.body.error)),
                    ));
                    continue;
                }
                let canonical = canonical_json(&raw["ops"][index]["movement"]);
                let key = Idempotency {
                    key: caller_key(caller.principal, SKU_RESOURCE, op.op_id.as_str()),
                    fingerprint: request_fingerprint("POST", &movements_path(sku), &canonical),
                };
                let command = SkuCommand::Movement {
                    sku: (*sku).clone(),
                    movement: op.movement.clone(),
                    occurred_at: op.occurred_at,
                };
                let answer = match to_sku(env, sku, envelope(caller, Some(key), command)).await {
                    Ok(answer) => answer,
                    Err(error) => Answer::error(error),
                };
                let op_result = op_result(op.op_id.clone(), answer);
                if op_result.outcome == SyncOutcome::Retry {
                    undecided = Some(&op.op_id);
                }
                results.push((index, op_result));
            }
            results
        }
    });
    let mut results: Vec<Option<SyncOpResult>> = vec![None; count];
    for (index, op_result) in join_all(sequences).await.into_iter().flatten() {
        results[index] = Some(op_result);
    }
    let results = results.into_iter().map(|r| r.expect("every operation has a result")).collect();
    Ok(Answer::ok(200, &SyncPushResponse { results }))
}

fn result(
    op_id: Id,
    outcome: SyncOutcome,
    http_status: u16,
    version: Option<u64>,
    error: Option<ErrorDetail>,
) -> SyncOpResult {
    SyncOpResult { op_id, outcome, http_status, version, error, exceptions: Vec::new(), position: None }
}

/// What a ledger's answer to one pushed operation means for the device.
fn op_result(op_id: Id, answer: Answer) -> SyncOpResult {
    let status = answer.status;
    let error = || {
        serde_json::from_value::<ErrorDetail>(answer.body["error"].clone()).unwrap_or_else(|_| ErrorDetail {
            code: if status < 500 { "invalid_request" } else { "unavailable" }.to_string(),
            message: format!("the ledger answered {status} without an error body"),
            details: serde_json::json!({}),
        })
    };
    match status {
        200..=299 => {
            // A movement's answer (now, or recorded for a replay): the count's exceptions and the
            // position after it travel back to the device.
            let recorded = serde_json::from_value::<MovementResponse>(answer.body).ok();
            let version = recorded.as_ref().map(|r| r.entry.version);
            let mut applied = result(op_id, SyncOutcome::Applied, status, version, None);
            if let Some(recorded) = recorded {
                applied.exceptions = recorded.exceptions;
                applied.position = Some(recorded.position);
            }
            applied
        }
        400..=499 => result(op_id, SyncOutcome::Rejected, status, None, Some(error())),
        _ => result(op_id, SyncOutcome::Retry, status, None, Some(error())),
    }
}
