//! Routing: the path and method to a route, percent-decoding, ids in paths, query strings.

use super::*;

/// Decodes `%XX` escapes in one path segment; None when an escape is malformed or not UTF-8.
/// A path segment with its percent-escapes decoded; None when an escape is malformed (`%zz`, a
/// lone `%`) or the bytes are not UTF-8. The `percent-encoding` crate passes malformed escapes
/// through as text, so they are looked for first.
pub(super) fn percent_decode(segment: &str) -> Option<String> {
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
pub(super) fn canonical_path(path: &str) -> String {
    let segments: Vec<String> =
        path.trim_end_matches('/').split('/').map(|s| percent_decode(s).unwrap_or_else(|| s.to_string())).collect();
    segments.join("/")
}

pub(super) fn path_id(value: &str) -> Result<Id, ApiError> {
    Id::new(value).map_err(ApiError::from)
}

/// What a request is, once its method and path are understood.
pub(super) enum Route {
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
    PutSupplier(Id),
    PutPolicy(Id),
    PostDemandHistory(Id),
    GetPlan(Id),
    GetPlanBasis(Id),
    GetReplica(Id),
    GetReplenishment,
    GetAlerts,
    PutApprovalRules,
    GetApprovalRules,
    CreatePurchaseOrder,
    DraftFromSuggestions,
    ListPurchaseOrders,
    GetPurchaseOrder(Id),
    DecidePurchaseOrder(Id, PoAction),
    ReceivePurchaseOrder(Id),
    InvoicePurchaseOrder(Id),
    GetScorecard(Id),
    GetApprovals,
    GetDeliveries,
    PutShippingRates,
    GetShippingRates,
    PutRoutingRules,
    GetRoutingRules,
    EvaluateRoutingRules,
    ActivateRoutingRules,
    PostOrder,
    ListOrders,
    GetOrder(Id),
    ActOnOrder(Id, OrderAction),
    ListExceptions,
    GetMetrics(Report),
    ResolveException(Id),
    ListEvents,
    PutWebhook(Id),
    GetWebhook(Id),
    ListDeliveries(Id),
    PostImport,
    Export(ExportKind),
}

impl Route {
    pub(super) fn parse(method: &Method, path: &str) -> Result<Route, ApiError> {
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
            (Method::Get, ["v1", "locations"] | ["v1", "channels"] | ["v1", "suppliers"]) => Route::ListMasterData,
            (Method::Put, ["v1", "suppliers", id]) => Route::PutSupplier(path_id(id)?),
            (Method::Get, ["v1", "suppliers", id, "scorecard"]) => Route::GetScorecard(path_id(id)?),
            (_, ["v1", "suppliers", _, "scorecard"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Put, ["v1", "skus", sku, "policy"]) => Route::PutPolicy(path_id(sku)?),
            (Method::Post, ["v1", "skus", sku, "demand-history"]) => Route::PostDemandHistory(path_id(sku)?),
            (Method::Get, ["v1", "skus", sku, "plan"]) => Route::GetPlan(path_id(sku)?),
            (Method::Get, ["v1", "skus", sku, "plan", "basis"]) => Route::GetPlanBasis(path_id(sku)?),
            (Method::Get, ["v1", "skus", sku, "replica"]) => Route::GetReplica(path_id(sku)?),
            (_, ["v1", "skus", _, "plan", "basis"] | ["v1", "skus", _, "replica"]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
            (Method::Get, ["v1", "replenishment"]) => Route::GetReplenishment,
            (Method::Get, ["v1", "alerts"]) => Route::GetAlerts,
            (_, ["v1", "suppliers", _] | ["v1", "skus", _, "policy"]) => {
                return Err(ApiError::method_not_allowed(&["PUT"]))
            }
            (_, ["v1", "skus", _, "demand-history"]) => return Err(ApiError::method_not_allowed(&["POST"])),
            (_, ["v1", "skus", _, "plan"] | ["v1", "replenishment"] | ["v1", "alerts"] | ["v1", "suppliers"]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
            (Method::Get, ["v1", "deliveries"]) => Route::GetDeliveries,
            (_, ["v1", "deliveries"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Put, ["v1", "approval-rules"]) => Route::PutApprovalRules,
            (Method::Get, ["v1", "approval-rules"]) => Route::GetApprovalRules,
            (_, ["v1", "approval-rules"]) => return Err(ApiError::method_not_allowed(&["GET", "PUT"])),
            (Method::Post, ["v1", "purchase-orders"]) => Route::CreatePurchaseOrder,
            (Method::Get, ["v1", "purchase-orders"]) => Route::ListPurchaseOrders,
            (_, ["v1", "purchase-orders"]) => return Err(ApiError::method_not_allowed(&["GET", "POST"])),
            (Method::Post, ["v1", "purchase-orders", "from-suggestions"]) => Route::DraftFromSuggestions,
            (_, ["v1", "purchase-orders", "from-suggestions"]) => return Err(ApiError::method_not_allowed(&["POST"])),
            (Method::Get, ["v1", "purchase-orders", id]) => Route::GetPurchaseOrder(path_id(id)?),
            (_, ["v1", "purchase-orders", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Post, ["v1", "purchase-orders", id, "receipts"]) => Route::ReceivePurchaseOrder(path_id(id)?),
            (Method::Post, ["v1", "purchase-orders", id, "invoices"]) => Route::InvoicePurchaseOrder(path_id(id)?),
            (_, ["v1", "purchase-orders", _, "receipts" | "invoices"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            (method, ["v1", "purchase-orders", id, action]) => {
                let action = match *action {
                    "submit" => PoAction::Submit,
                    "approve" => PoAction::Approve,
                    "reject" => PoAction::Reject,
                    "send" => PoAction::Send,
                    "cancel" => PoAction::Cancel,
                    "close" => PoAction::Close,
                    _ => return Err(ApiError::not_found("route")),
                };
                if *method != Method::Post {
                    return Err(ApiError::method_not_allowed(&["POST"]));
                }
                Route::DecidePurchaseOrder(path_id(id)?, action)
            }
            (Method::Put, ["v1", "shipping-rates"]) => Route::PutShippingRates,
            (Method::Get, ["v1", "shipping-rates"]) => Route::GetShippingRates,
            (_, ["v1", "shipping-rates"]) => return Err(ApiError::method_not_allowed(&["GET", "PUT"])),
            (Method::Put, ["v1", "routing-rules"]) => Route::PutRoutingRules,
            (Method::Get, ["v1", "routing-rules"]) => Route::GetRoutingRules,
            (_, ["v1", "routing-rules"]) => return Err(ApiError::method_not_allowed(&["GET", "PUT"])),
            (Method::Post, ["v1", "routing-rules", "evaluate"]) => Route::EvaluateRoutingRules,
            (Method::Post, ["v1", "routing-rules", "activate"]) => Route::ActivateRoutingRules,
            (_, ["v1", "routing-rules", "evaluate" | "activate"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            (Method::Post, ["v1", "orders"]) => Route::PostOrder,
            (Method::Get, ["v1", "orders"]) => Route::ListOrders,
            (_, ["v1", "orders"]) => return Err(ApiError::method_not_allowed(&["GET", "POST"])),
            (Method::Get, ["v1", "orders", id]) => Route::GetOrder(path_id(id)?),
            (_, ["v1", "orders", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (method, ["v1", "orders", id, action]) => {
                let action = match *action {
                    "release" => OrderAction::Release,
                    "pick" => OrderAction::Pick,
                    "ship" => OrderAction::Ship,
                    "deliver" => OrderAction::Deliver,
                    "cancel" => OrderAction::Cancel,
                    "release-hold" => OrderAction::ReleaseHold,
                    _ => return Err(ApiError::not_found("route")),
                };
                if *method != Method::Post {
                    return Err(ApiError::method_not_allowed(&["POST"]));
                }
                Route::ActOnOrder(path_id(id)?, action)
            }
            (Method::Get, ["v1", "exceptions"]) => Route::ListExceptions,
            (_, ["v1", "exceptions"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Post, ["v1", "exceptions", id, "resolve"]) => Route::ResolveException(path_id(id)?),
            (_, ["v1", "exceptions", _, "resolve"]) => return Err(ApiError::method_not_allowed(&["POST"])),
            (Method::Get, ["v1", "metrics", name]) => Route::GetMetrics(Report::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Report::ALL.iter().map(|report| report.as_str()).collect();
                ApiError::not_found(&format!("metric: the metrics are {}", names.join(", ")))
            })?),
            (_, ["v1", "metrics", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Get, ["v1", "events"]) => Route::ListEvents,
            (_, ["v1", "events"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Post, ["v1", "imports"]) => Route::PostImport,
            (_, ["v1", "imports"]) => return Err(ApiError::method_not_allowed(&["POST"])),
            (Method::Get, ["v1", "exports", kind]) => {
                Route::Export(ExportKind::parse(kind).ok_or_else(|| ApiError::not_found("export"))?)
            }
            (_, ["v1", "exports", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Put, ["v1", "webhooks", id]) => Route::PutWebhook(path_id(id)?),
            (Method::Get, ["v1", "webhooks", id]) => Route::GetWebhook(path_id(id)?),
            (_, ["v1", "webhooks", _]) => return Err(ApiError::method_not_allowed(&["GET", "PUT"])),
            (Method::Get, ["v1", "webhooks", id, "deliveries"]) => Route::ListDeliveries(path_id(id)?),
            (_, ["v1", "webhooks", _, "deliveries"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            (Method::Get, ["v1", "approvals"]) => Route::GetApprovals,
            (_, ["v1", "approvals"]) => return Err(ApiError::method_not_allowed(&["GET"])),
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
    pub(super) fn resource(&self) -> String {
        match self {
            Route::PutLocation(_) | Route::PutChannel(_) | Route::PutSupplier(_) => "catalog".to_string(),
            Route::PutSku(_) | Route::PostMovement(_) | Route::SyncPush => SKU_RESOURCE.to_string(),
            Route::PutPolicy(_) | Route::PostDemandHistory(_) => SKU_RESOURCE.to_string(),
            Route::PostReservation => "reservations".to_string(),
            Route::CommitReservation(id) | Route::ReleaseReservation(id) => format!("reservation:{id}"),
            Route::PutApprovalRules | Route::CreatePurchaseOrder | Route::DraftFromSuggestions => {
                "purchasing".to_string()
            }
            Route::DecidePurchaseOrder(id, _) | Route::ReceivePurchaseOrder(id) | Route::InvoicePurchaseOrder(id) => {
                stockline_shared::receiving::order_resource(id)
            }
            Route::PutShippingRates | Route::PutRoutingRules | Route::ActivateRoutingRules => "routing".to_string(),
            Route::PostOrder => "orders".to_string(),
            Route::ActOnOrder(id, _) => format!("order:{id}"),
            Route::ResolveException(id) => format!("exception:{id}"),
            Route::PostImport => "imports".to_string(),
            _ => "read".to_string(),
        }
    }

    pub(super) fn action(&self) -> Action {
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
            Route::PostMovement(_) | Route::SyncPush | Route::ReceivePurchaseOrder(_) => Action::RecordMovement,
            Route::PutSupplier(_) | Route::PutPolicy(_) | Route::PostDemandHistory(_) => Action::Plan,
            Route::GetPlan(_) | Route::GetPlanBasis(_) | Route::GetReplenishment | Route::GetAlerts => Action::Read,
            Route::GetReplica(_) => Action::Read,
            Route::PutApprovalRules => Action::WriteMasterData,
            Route::GetApprovalRules | Route::ListPurchaseOrders | Route::GetPurchaseOrder(_) => Action::ReadPurchasing,
            Route::GetScorecard(_) | Route::GetDeliveries => Action::ReadPurchasing,
            Route::CreatePurchaseOrder | Route::DraftFromSuggestions => Action::Purchase,
            Route::DecidePurchaseOrder(_, PoAction::Approve | PoAction::Reject) | Route::GetApprovals => {
                Action::Approve
            }
            Route::DecidePurchaseOrder(..) => Action::Purchase,
            Route::InvoicePurchaseOrder(_) => Action::Invoice,
            Route::PutShippingRates | Route::PutRoutingRules | Route::ActivateRoutingRules => Action::WriteMasterData,
            Route::GetShippingRates | Route::GetRoutingRules | Route::EvaluateRoutingRules => Action::Read,
            Route::PostOrder => Action::PlaceOrder,
            Route::ListOrders | Route::GetOrder(_) | Route::ListExceptions => Action::ReadOrders,
            Route::ActOnOrder(_, OrderAction::Cancel | OrderAction::CancelLine) => Action::CancelOrder,
            Route::ActOnOrder(_, OrderAction::ReleaseHold) => Action::ResolveException,
            Route::ActOnOrder(..) => Action::FulfilOrder,
            Route::ResolveException(_) => Action::ResolveException,
            Route::GetMetrics(_) => Action::ReadMetrics,
            Route::ListEvents | Route::PutWebhook(_) | Route::GetWebhook(_) | Route::ListDeliveries(_) => {
                Action::ReadEvents
            }
            Route::PostImport | Route::Export(_) => Action::WriteMasterData,
        }
    }
}

/// `GET /v1/availability/{sku}?channel=ID&qty=N` (qty 1..=10^9: also answer the promise).
pub(super) fn availability_query(req: &Request) -> Result<(Option<Id>, Option<i64>), ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut channel, mut qty) = (None, None);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "channel" => channel = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            "qty" => {
                qty = Some(
                    Some(value.as_ref())
                        .filter(|v| !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|v| v.parse::<i64>().ok())
                        .filter(|n| (1..=QTY_REQUEST_MAX).contains(n))
                        .ok_or_else(|| {
                            ApiError::invalid("qty", format!("must be a whole number 1..={QTY_REQUEST_MAX}"))
                        })?,
                )
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok((channel, qty))
}

/// `GET /v1/skus?q=TEXT&after=SKU&limit=N` (q 1..=64 characters, limit 1..=1000, default 100).
pub(super) fn items_query(req: &Request) -> Result<DirectoryCommand, ApiError> {
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
pub(super) fn entries_query(req: &Request) -> Result<(u64, u32), ApiError> {
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

/// `GET /v1/skus/{sku}/plan?location=ID`.
pub(super) fn plan_query(req: &Request) -> Result<Option<Id>, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut location = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "location" => location = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(location)
}

/// `limit=N`, 1..=`max`.
fn page_limit(value: &str, max: u32) -> Result<u32, ApiError> {
    value
        .parse()
        .ok()
        .filter(|l| (1..=max).contains(l))
        .ok_or_else(|| ApiError::invalid("limit", format!("must be 1..={max}")))
}

/// `GET /v1/replenishment?supplier=ID&location=ID&at_risk=true|false&cursor=C&limit=N` (limit
/// default 100): without `location` the SKUs over all locations, with it the SKUs at that location.
pub(super) fn replenishment_query(req: &Request) -> Result<DirectoryCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut supplier, mut location, mut at_risk, mut cursor, mut limit) = (None, None, None, None, 100u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "supplier" => supplier = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            "at_risk" => {
                at_risk = Some(match value.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::invalid("at_risk", "must be true or false")),
                })
            }
            "cursor" => {
                if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
                    return Err(ApiError::invalid("cursor", "must be a next_cursor this endpoint gave"));
                }
                cursor = Some(value.into_owned());
            }
            "limit" => limit = page_limit(&value, directory::PLANS_PAGE_MAX)?,
            "location" => location = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(DirectoryCommand::Replenishment { supplier, location, at_risk, cursor, limit })
}

/// `GET /v1/alerts?limit=N` (default 100).
pub(super) fn alerts_limit(req: &Request) -> Result<u32, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut limit = 100u32;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "limit" => limit = page_limit(&value, directory::PLANS_PAGE_MAX)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(limit)
}

fn orders_limit(value: &str) -> Result<u32, ApiError> {
    value
        .parse()
        .ok()
        .filter(|l| (1..=purchasing::ORDERS_PAGE_MAX).contains(l))
        .ok_or_else(|| ApiError::invalid("limit", format!("must be 1..={}", purchasing::ORDERS_PAGE_MAX)))
}

/// `GET /v1/purchase-orders?status=S&supplier=ID&cursor=ID&limit=N` (limit default 50).
pub(super) fn purchase_orders_query(req: &Request) -> Result<PurchasingCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut status, mut supplier, mut after, mut limit) = (None, None, None, 50u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "status" => {
                let quoted = serde_json::Value::String(value.into_owned());
                status = Some(serde_json::from_value::<PoStatus>(quoted).map_err(|_| {
                    ApiError::invalid(
                        "status",
                        "must be draft, submitted, approved, rejected, sent, partially_received, received, closed or cancelled",
                    )
                })?);
            }
            "supplier" => supplier = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            "cursor" => {
                after = Some(
                    Id::new(value.as_ref())
                        .map_err(|_| ApiError::invalid("cursor", "must be a next_cursor this endpoint gave"))?,
                )
            }
            "limit" => limit = orders_limit(&value)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(PurchasingCommand::List { status, supplier, after, limit })
}

/// `GET /v1/deliveries?location=ID`: the location is required.
pub(super) fn deliveries_location(req: &Request) -> Result<Id, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut location = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "location" => {
                location = Some(Id::new(value.as_ref()).map_err(|e| ApiError::invalid("location", e.to_string()))?)
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    location.ok_or_else(|| ApiError::invalid("location", "required: the receiving location, ?location=ID"))
}

/// `GET /v1/approvals?limit=N` (default 50).
pub(super) fn approvals_limit(req: &Request) -> Result<u32, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut limit = 50u32;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "limit" => limit = orders_limit(&value)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(limit)
}

/// `GET /v1/orders?status=&location=&cursor=&limit=` (limit 1..=200, default 50).
pub(super) fn orders_query(req: &Request) -> Result<OrdersCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut status, mut location, mut before, mut limit) = (None, None, None, 50u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "cursor" => {
                let seq = value.parse::<i64>().ok().filter(|seq| *seq > 0);
                before =
                    Some(seq.ok_or_else(|| ApiError::invalid("cursor", "pass the `next_cursor` of the page before"))?);
            }
            "status" => {
                let quoted = serde_json::Value::String(value.into_owned());
                status = Some(serde_json::from_value::<OrderStatus>(quoted).map_err(|_| {
                    ApiError::invalid(
                        "status",
                        "must be placed, allocated, partially_allocated, backordered, on_hold, released, picked, shipped, delivered or cancelled",
                    )
                })?);
            }
            "location" => location = Some(Id::new(value.as_ref()).map_err(ApiError::from)?),
            "limit" => limit = page_limit(&value, orders::PAGE_MAX)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(OrdersCommand::List { status, location, before, limit })
}

/// `GET /v1/exceptions?team=&status=&limit=` (limit 1..=200, default 50).
pub(super) fn exceptions_query(req: &Request) -> Result<OrdersCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut team, mut status, mut limit) = (None, None, 50u32);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "team" => {
                let quoted = serde_json::Value::String(value.into_owned());
                team =
                    Some(serde_json::from_value::<Team>(quoted).map_err(|_| {
                        ApiError::invalid("team", "must be warehouse, procurement or customer_service")
                    })?);
            }
            "status" => {
                let quoted = serde_json::Value::String(value.into_owned());
                status = Some(
                    serde_json::from_value::<ExceptionStatus>(quoted)
                        .map_err(|_| ApiError::invalid("status", "must be open, resolved or closed"))?,
                );
            }
            "limit" => limit = page_limit(&value, orders::PAGE_MAX)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(OrdersCommand::Exceptions { team, status, limit })
}

/// `GET /v1/metrics/{report}?from=YYYY-MM-DD&to=YYYY-MM-DD&by=…`: `to` defaults to today (UTC),
/// `from` to 29 days before `to` (30 days in all); a window spans at most 366 days; `by` is one of
/// the report's breakdowns.
pub(super) fn metrics_query(
    req: &Request,
    report: Report,
    today: NaiveDate,
) -> Result<(Window, Option<MetricsBy>), ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut from, mut to, mut by) = (None, None, None);
    let date = |name: &str, value: &str| {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(name, format!("{value:?} is not a date: YYYY-MM-DD")))
    };
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "from" => from = Some(date("from", &value)?),
            "to" => to = Some(date("to", &value)?),
            "by" => {
                let named = MetricsBy::ALL.into_iter().find(|by| by.as_str() == value.as_ref());
                let named =
                    named.ok_or_else(|| ApiError::invalid("by", "must be sku, location, channel or supplier"))?;
                by = Some(report.check_by(named).map_err(ApiError::from)?);
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    let window = report.window(from, to, today).map_err(ApiError::from)?;
    Ok((window, by))
}

/// `GET /v1/events?after=CURSOR&types=a,b&limit=N` (after: a cursor the feed gave, default the
/// start; types: event types or families, default all; limit 1..=500, default 100).
pub(super) fn events_query(req: &Request) -> Result<FeedCommand, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let (mut after, mut types, mut limit) = (0u64, Vec::new(), stockline_shared::EVENTS_PAGE_DEFAULT);
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "after" => {
                after = Some(value.as_ref())
                    .filter(|v| !v.is_empty() && v.len() <= 16 && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| *v < (1u64 << 53))
                    .ok_or_else(|| {
                        ApiError::invalid("after", "must be a cursor the feed gave (next_cursor or an event's cursor)")
                    })?
            }
            "types" => {
                types = value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
                stockline_engine::feed::check_types(&types).map_err(ApiError::from)?;
            }
            "limit" => limit = page_limit(&value, stockline_engine::feed::FEED_BATCH_MAX as u32)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(FeedCommand::Read { after, types, limit })
}

/// `GET /v1/webhooks/{id}/deliveries?limit=N` (1..=500, default 100).
pub(super) fn deliveries_limit(req: &Request) -> Result<u32, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut limit = 100u32;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "limit" => limit = page_limit(&value, stockline_engine::feed::FEED_BATCH_MAX as u32)?,
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(limit)
}

/// `GET /v1/exports/{kind}?after=SKU` (the SKU a page ended at, from `Stockline-Next-After`).
pub(super) fn export_after(req: &Request) -> Result<Option<Id>, ApiError> {
    let url = req.url().map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let mut after = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "after" => after = Some(Id::new(value.as_ref()).map_err(|e| ApiError::invalid("after", e.to_string()))?),
            other => return Err(ApiError::invalid(other, "unknown query parameter")),
        }
    }
    Ok(after)
}
