//! Forwarding to the object that owns the data: SKU objects, coordinator shards, the Directory.

use super::*;
use crate::http::{call_text, AnswerText};
use crate::metric_store;
use stockline_engine::metrics::{read_margin, BucketRow, StockoutDays};

pub(super) fn sku_stub(env: &Env, sku: &Id) -> Result<worker::Stub, ApiError> {
    env.durable_object(sku::BINDING)
        .and_then(|ns| ns.get_by_name(sku.as_str()))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A SKU object's answer, read (for fan-outs that combine answers).
pub(super) async fn to_sku(env: &Env, sku: &Id, envelope: Envelope<SkuCommand>) -> Result<Answer, ApiError> {
    call(&sku_stub(env, sku)?, "/sku", &envelope).await.map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}")))
}

/// A SKU object's answer, passed on as it is.
pub(super) async fn reply_sku(env: &Env, sku: &Id, envelope: Envelope<SkuCommand>) -> Result<Reply, ApiError> {
    forward(&sku_stub(env, sku)?, "/sku", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("sku `{sku}`: {e}")))
}

pub(super) async fn reply_shard(
    env: &Env,
    shard: u32,
    envelope: Envelope<CoordinatorCommand>,
) -> Result<Reply, ApiError> {
    let stub = env
        .durable_object(coordinator::BINDING)
        .and_then(|ns| ns.get_by_name(&coordinator::shard_name(shard)))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    forward(&stub, "/coordinator", &envelope).await.map_err(|e| ApiError::unavailable(format!("coordinator: {e}")))
}

/// Sends a reservation command to the object its id names: a SKU ledger or a coordinator shard.
pub(super) async fn reply_owner(
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

pub(super) fn directory_stub(env: &Env) -> Result<worker::Stub, ApiError> {
    crate::http::directory_stub(env).map_err(|e| ApiError::internal(e.to_string()))
}

pub(super) async fn reply_directory(env: &Env, envelope: Envelope<DirectoryCommand>) -> Result<Reply, ApiError> {
    forward(&directory_stub(env)?, "/directory", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("directory: {e}")))
}

pub(super) async fn call_directory(env: &Env, envelope: Envelope<DirectoryCommand>) -> Result<Answer, ApiError> {
    call(&directory_stub(env)?, "/directory", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("directory: {e}")))
}

/// Reads every SKU's object in parallel; unknown SKUs are listed under `missing`.
pub(super) async fn batch_availability(
    env: &Env,
    caller: &Caller<'_>,
    request: BatchAvailabilityRequest,
) -> Result<Answer, ApiError> {
    let skus = request.skus.clone();
    let calls = skus.iter().map(|sku| {
        let command = SkuCommand::Availability { sku: sku.clone(), channel: request.channel.clone(), qty: None };
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

fn purchasing_stub(env: &Env) -> Result<worker::Stub, ApiError> {
    env.durable_object(purchasing::BINDING)
        .and_then(|ns| ns.get_by_name(purchasing::NAME))
        .map_err(|e| ApiError::internal(e.to_string()))
}

async fn call_purchasing(env: &Env, envelope: Envelope<PurchasingCommand>) -> Result<Answer, ApiError> {
    purchasing_text(env, envelope).await?.answer().map_err(|e| ApiError::unavailable(format!("purchasing: {e}")))
}

/// Purchasing's answer as the bytes it wrote (a large body read once, into what is wanted).
async fn purchasing_text(env: &Env, envelope: Envelope<PurchasingCommand>) -> Result<AnswerText, ApiError> {
    call_text(&purchasing_stub(env)?, "/purchasing", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("purchasing: {e}")))
}

pub(super) async fn reply_purchasing(env: &Env, envelope: Envelope<PurchasingCommand>) -> Result<Reply, ApiError> {
    forward(&purchasing_stub(env)?, "/purchasing", &envelope)
        .await
        .map_err(|e| ApiError::unavailable(format!("purchasing: {e}")))
}

/// `GET /v1/alerts`: every team's alerts, from the objects that raise them — predicted stockouts
/// (the Directory's plan summaries), SLAs at risk (the Orders object's open exceptions) and
/// drifting suppliers (Purchasing's figures) — newest first.
pub(super) async fn alerts(env: &Env, caller: &Caller<'_>, limit: u32) -> Result<Reply, ApiError> {
    let (stockouts, slas, drifts) = futures_util::future::join3(
        call_directory(env, envelope(caller, None, DirectoryCommand::Alerts { limit })),
        call_orders(env, envelope(caller, None, OrdersCommand::Alerts { limit })),
        call_purchasing(env, envelope(caller, None, PurchasingCommand::Alerts)),
    )
    .await;
    let mut lists = Vec::with_capacity(3);
    for (source, answer) in [("directory", stockouts?), ("orders", slas?), ("purchasing", drifts?)] {
        if answer.status != 200 {
            return Ok(answer.into());
        }
        let list: AlertsResponse = serde_json::from_value(answer.body)
            .map_err(|e| ApiError::unavailable(format!("{source} answered no alerts: {e}")))?;
        lists.push(list.alerts);
    }
    let alerts = Alert::merged(lists, usize::try_from(limit).map_err(|e| ApiError::internal(e.to_string()))?);
    Ok(Answer::ok(200, &AlertsResponse { alerts }).into())
}

/// `GET /v1/metrics/margin`: the buckets and stockout days it is read from, from the objects that
/// keep them (orders' shipping and revenue, Purchasing's invoices, the Directory's stockouts);
/// the engine reads them as one window. The buckets are read straight from the bytes the objects
/// wrote (a breakdown by SKU is tens of thousands of rows).
pub(super) async fn margin(
    env: &Env,
    caller: &Caller<'_>,
    window: Window,
    by: Option<MetricsBy>,
    today: NaiveDate,
) -> Result<Reply, ApiError> {
    fn unreadable(source: &str, error: worker::Error) -> ApiError {
        ApiError::unavailable(format!("{source} answered no buckets: {error}"))
    }
    // The stockouts first: only the SKUs out some day need their revenue read one by one.
    let orders_after_stockouts = async {
        let answer = call_directory(env, envelope(caller, None, DirectoryCommand::Stockouts { window })).await?;
        if answer.status != 200 {
            return Ok::<_, ApiError>(Err(answer));
        }
        let stockouts: Vec<StockoutDays> = serde_json::from_value(answer.body)
            .map_err(|e| ApiError::unavailable(format!("directory answered no stockout days: {e}")))?;
        let skus = stockouts.iter().map(|days| Id::new(&days.sku)).collect::<Result<Vec<Id>, _>>()?;
        let command = OrdersCommand::MarginRows { window, by, skus };
        let orders = orders_text(env, envelope(caller, None, command)).await?;
        Ok(Ok((orders, stockouts)))
    };
    let purchases = purchasing_text(env, envelope(caller, None, PurchasingCommand::MarginRows { window, by }));
    let (orders, purchases) = futures_util::future::join(orders_after_stockouts, purchases).await;
    let (orders, stockouts) = match orders? {
        Ok(read) => read,
        Err(refused) => return Ok(refused.into()),
    };
    let purchases = purchases?;
    for (source, text) in [("orders", &orders), ("purchasing", &purchases)] {
        if text.status != 200 {
            return Ok(text.answer().map_err(|e| unreadable(source, e))?.into());
        }
    }
    // Orders answer two arrays: the window's buckets, and the revenue of the SKUs out some day.
    let parts: Vec<&serde_json::value::RawValue> = orders.read().map_err(|e| unreadable("orders", e))?;
    let mut orders: Vec<BucketRow<'_>> = Vec::new();
    for part in parts {
        orders.extend(metric_store::rows_of(part.get()).map_err(|e| unreadable("orders", e))?);
    }
    let purchases = purchases.text().and_then(metric_store::rows_of).map_err(|e| unreadable("purchasing", e))?;
    Ok(Answer::ok(200, &read_margin(&orders, &purchases, &stockouts, window, by, today)).into())
}

pub(super) async fn reply_feed(env: &Env, envelope: Envelope<FeedCommand>) -> Result<Reply, ApiError> {
    let stub = env
        .durable_object(feed::BINDING)
        .and_then(|ns| ns.get_by_name(feed::NAME))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    forward(&stub, "/feed", &envelope).await.map_err(|e| ApiError::unavailable(format!("feed: {e}")))
}

fn orders_stub(env: &Env) -> Result<worker::Stub, ApiError> {
    env.durable_object(orders::BINDING)
        .and_then(|ns| ns.get_by_name(orders::NAME))
        .map_err(|e| ApiError::internal(e.to_string()))
}

async fn call_orders(env: &Env, envelope: Envelope<OrdersCommand>) -> Result<Answer, ApiError> {
    orders_text(env, envelope).await?.answer().map_err(|e| ApiError::unavailable(format!("orders: {e}")))
}

/// The Orders object's answer as the bytes it wrote (a large body read once, into what is wanted).
async fn orders_text(env: &Env, envelope: Envelope<OrdersCommand>) -> Result<AnswerText, ApiError> {
    call_text(&orders_stub(env)?, "/orders", &envelope).await.map_err(|e| ApiError::unavailable(format!("orders: {e}")))
}

pub(super) async fn reply_orders(env: &Env, envelope: Envelope<OrdersCommand>) -> Result<Reply, ApiError> {
    forward(&orders_stub(env)?, "/orders", &envelope).await.map_err(|e| ApiError::unavailable(format!("orders: {e}")))
}
