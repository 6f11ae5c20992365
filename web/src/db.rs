//! IndexedDB: settings, saved stock cards, the outbox, the locations and the item list, so the app works
//! after a reload while offline. Every write commits its transaction before it returns.

use crate::model::{Fetched, Settings, StockCard};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use serde::{de::DeserializeOwned, Serialize};
use std::cell::RefCell;
use stockline_shared::{
    DeliveriesResponse, InboxResponse, Plan, PlanBasis, QueuedDecision, QueuedOp, QueuedReceipt, ReplenishmentResponse,
    Scorecard, Supplier,
};

const DB_NAME: &str = "stockline";
const DB_VERSION: u32 = 6;
const SETTINGS: &str = "settings";
const CARDS: &str = "cards";
const OUTBOX: &str = "outbox";
const LOCATIONS: &str = "locations";
const ITEMS: &str = "items";
const ITEMS_KEY: &str = "items";
/// Last copies of plans (by SKU) and of the replenishment list (`LIST_KEY`), as JSON text.
const PLANS: &str = "plans";
const LIST_KEY: &str = "replenishment";
const SETTINGS_KEY: &str = "settings";
/// An approver's decisions on purchase orders (by Idempotency-Key), sent when online.
const DECISIONS: &str = "decisions";
/// The last copy of the approvals inbox (in `PLANS`).
const INBOX_KEY: &str = "approvals";
const LOCATIONS_KEY: &str = "locations";
/// Receipts against purchase orders made on this device (by Idempotency-Key), sent when online.
const RECEIPTS: &str = "receipts";
/// The last copy of the orders on their way to this device's location (in `PLANS`).
const DELIVERIES_KEY: &str = "deliveries";
/// The last copy of the suppliers and their scorecards (in `PLANS`).
const SUPPLIERS_KEY: &str = "suppliers";
const DASHBOARD_KEY: &str = "dashboard";

thread_local! {
    static DB: RefCell<Option<Database>> = const { RefCell::new(None) };
}

pub type DbResult<T> = Result<T, String>;

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

async fn db() -> DbResult<Database> {
    if let Some(db) = DB.with(|cell| cell.borrow().clone()) {
        return Ok(db);
    }
    let db = Database::open(DB_NAME)
        .with_version(DB_VERSION)
        .with_on_upgrade_needed(|event, db| {
            let old = event.old_version() as u32;
            if old < 1 {
                db.create_object_store(SETTINGS).build()?;
                db.create_object_store(CARDS).with_key_path("sku".into()).build()?;
            }
            if old < 2 {
                db.create_object_store(OUTBOX).build()?;
                db.create_object_store(LOCATIONS).build()?;
            }
            if old < 3 {
                db.create_object_store(ITEMS).build()?;
            }
            if old < 4 {
                db.create_object_store(PLANS).build()?;
            }
            if old < 5 {
                db.create_object_store(DECISIONS).build()?;
            }
            if old < 6 {
                db.create_object_store(RECEIPTS).build()?;
            }
            Ok(())
        })
        .await
        .map_err(text)?;
    DB.with(|cell| *cell.borrow_mut() = Some(db.clone()));
    Ok(db)
}

async fn put<T: Serialize>(store_name: &str, key: &str, value: &T) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(store_name).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(store_name).map_err(text)?;
    store.put(value).with_key(key).without_key_type().serde().map_err(text)?.await.map_err(text)?;
    tx.commit().await.map_err(text)
}

async fn get<T: DeserializeOwned>(store_name: &str, key: &str) -> DbResult<Option<T>> {
    let db = db().await?;
    let tx = db.transaction(store_name).build().map_err(text)?;
    let store = tx.object_store(store_name).map_err(text)?;
    let value: Option<T> = store.get(key).serde().map_err(text)?.await.map_err(text)?;
    Ok(value)
}

/// Every value of a store.
async fn get_all<T: DeserializeOwned>(store_name: &str) -> DbResult<Vec<T>> {
    let db = db().await?;
    let tx = db.transaction(store_name).build().map_err(text)?;
    let store = tx.object_store(store_name).map_err(text)?;
    let all: Vec<T> =
        store.get_all::<T>().serde().map_err(text)?.await.map_err(text)?.collect::<Result<_, _>>().map_err(text)?;
    Ok(all)
}

pub async fn load_settings() -> DbResult<Option<Settings>> {
    get(SETTINGS, SETTINGS_KEY).await
}

pub async fn save_settings(settings: &Settings) -> DbResult<()> {
    put(SETTINGS, SETTINGS_KEY, settings).await
}

pub async fn save_card(card: &StockCard) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(CARDS).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(CARDS).map_err(text)?;
    store.put(card).serde().map_err(text)?.await.map_err(text)?;
    tx.commit().await.map_err(text)
}

pub async fn load_card(sku: &str) -> DbResult<Option<StockCard>> {
    get(CARDS, sku).await
}

pub async fn save_op(op: &QueuedOp) -> DbResult<()> {
    put(OUTBOX, op.op.op_id.as_str(), op).await
}

/// Stores several operations in one transaction: all or none.
pub async fn save_ops(ops: &[QueuedOp]) -> DbResult<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let db = db().await?;
    let tx = db.transaction(OUTBOX).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(OUTBOX).map_err(text)?;
    for op in ops {
        store.put(op).with_key(op.op.op_id.as_str()).without_key_type().serde().map_err(text)?.await.map_err(text)?;
    }
    tx.commit().await.map_err(text)
}

/// Deletes several operations in one transaction: all or none.
pub async fn delete_ops(op_ids: &[&str]) -> DbResult<()> {
    if op_ids.is_empty() {
        return Ok(());
    }
    let db = db().await?;
    let tx = db.transaction(OUTBOX).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(OUTBOX).map_err(text)?;
    for op_id in op_ids {
        store.delete(*op_id).await.map_err(text)?;
    }
    tx.commit().await.map_err(text)
}

/// Replaces one operation by another (a corrected resend) in one transaction.
pub async fn replace_op(old_id: &str, op: &QueuedOp) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(OUTBOX).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(OUTBOX).map_err(text)?;
    store.delete(old_id).await.map_err(text)?;
    store.put(op).with_key(op.op.op_id.as_str()).without_key_type().serde().map_err(text)?.await.map_err(text)?;
    tx.commit().await.map_err(text)
}

pub async fn load_ops() -> DbResult<Vec<QueuedOp>> {
    get_all(OUTBOX).await
}

pub async fn save_locations(locations: &[stockline_shared::Location]) -> DbResult<()> {
    put(LOCATIONS, LOCATIONS_KEY, &locations.to_vec()).await
}

pub async fn load_locations() -> DbResult<Vec<stockline_shared::Location>> {
    Ok(get(LOCATIONS, LOCATIONS_KEY).await?.unwrap_or_default())
}

pub async fn save_items(items: &[stockline_shared::Item]) -> DbResult<()> {
    put(ITEMS, ITEMS_KEY, &items.to_vec()).await
}

pub async fn load_items() -> DbResult<Vec<stockline_shared::Item>> {
    Ok(get(ITEMS, ITEMS_KEY).await?.unwrap_or_default())
}

async fn put_json<T: Serialize>(key: &str, value: &T) -> DbResult<()> {
    put(PLANS, key, &serde_json::to_string(value).map_err(text)?).await
}

async fn get_json<T: DeserializeOwned>(key: &str) -> DbResult<Option<T>> {
    match get::<String>(PLANS, key).await? {
        Some(json) => serde_json::from_str(&json).map(Some).map_err(text),
        None => Ok(None),
    }
}

pub async fn save_plan(plan: &Fetched<Plan>) -> DbResult<()> {
    put_json(&format!("plan:{}", plan.value.sku), plan).await
}

pub async fn load_plan(sku: &str) -> DbResult<Option<Fetched<Plan>>> {
    get_json(&format!("plan:{sku}")).await
}

/// A SKU's replica, in the store of JSON copies (a replica holds 64-bit versions and quantities:
/// JSON keeps them exact).
pub async fn save_replica(kept: &crate::replica::Kept) -> DbResult<()> {
    put_json(&format!("replica:{}", kept.sku()), kept).await
}

pub async fn load_replica(sku: &str) -> DbResult<Option<crate::replica::Kept>> {
    get_json(&format!("replica:{sku}")).await
}

pub async fn delete_replica(sku: &str) -> DbResult<()> {
    delete(PLANS, &format!("replica:{sku}")).await
}

/// Where the server's on hand differed from this device's projection after a sync of `sku`.
pub async fn save_differences(sku: &str, differences: &[stockline_shared::Difference]) -> DbResult<()> {
    put_json(&format!("differences:{sku}"), &differences).await
}

pub async fn load_differences(sku: &str) -> DbResult<Option<Vec<stockline_shared::Difference>>> {
    get_json(&format!("differences:{sku}")).await
}

/// What a SKU's plan is computed from, for what-ifs offline.
pub async fn save_basis(basis: &PlanBasis) -> DbResult<()> {
    put_json(&format!("basis:{}", basis.sku), basis).await
}

pub async fn load_basis(sku: &str) -> DbResult<Option<PlanBasis>> {
    get_json(&format!("basis:{sku}")).await
}

pub async fn save_list(list: &Fetched<ReplenishmentResponse>) -> DbResult<()> {
    put_json(LIST_KEY, list).await
}

pub async fn load_list() -> DbResult<Option<Fetched<ReplenishmentResponse>>> {
    get_json(LIST_KEY).await
}

pub async fn save_decision(decision: &QueuedDecision) -> DbResult<()> {
    put(DECISIONS, &decision.key, decision).await
}

pub async fn delete_decision(key: &str) -> DbResult<()> {
    delete(DECISIONS, key).await
}

async fn delete(store_name: &str, key: &str) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(store_name).with_mode(TransactionMode::Readwrite).build().map_err(text)?;
    let store = tx.object_store(store_name).map_err(text)?;
    store.delete(key).await.map_err(text)?;
    tx.commit().await.map_err(text)
}

pub async fn load_decisions() -> DbResult<Vec<QueuedDecision>> {
    get_all(DECISIONS).await
}

pub async fn save_inbox(inbox: &Fetched<InboxResponse>) -> DbResult<()> {
    put_json(INBOX_KEY, inbox).await
}

pub async fn load_inbox() -> DbResult<Option<Fetched<InboxResponse>>> {
    get_json(INBOX_KEY).await
}

pub async fn save_receipt(receipt: &QueuedReceipt) -> DbResult<()> {
    put(RECEIPTS, &receipt.key, receipt).await
}

pub async fn delete_receipt(key: &str) -> DbResult<()> {
    delete(RECEIPTS, key).await
}

pub async fn load_receipts() -> DbResult<Vec<QueuedReceipt>> {
    get_all(RECEIPTS).await
}

pub async fn save_deliveries(deliveries: &Fetched<DeliveriesResponse>) -> DbResult<()> {
    put_json(DELIVERIES_KEY, deliveries).await
}

pub async fn load_deliveries() -> DbResult<Option<Fetched<DeliveriesResponse>>> {
    get_json(DELIVERIES_KEY).await
}

/// The suppliers with their scorecards, as last fetched.
pub async fn save_supplier_cards(cards: &Fetched<Vec<(Supplier, Option<Scorecard>)>>) -> DbResult<()> {
    put_json(SUPPLIERS_KEY, cards).await
}

pub async fn load_supplier_cards() -> DbResult<Option<Fetched<Vec<(Supplier, Option<Scorecard>)>>>> {
    get_json(SUPPLIERS_KEY).await
}

/// The managers' dashboard, as last fetched.
pub async fn save_dashboard(dashboard: &Fetched<crate::dashboard::Dashboard>) -> DbResult<()> {
    put_json(DASHBOARD_KEY, dashboard).await
}

pub async fn load_dashboard() -> DbResult<Option<Fetched<crate::dashboard::Dashboard>>> {
    get_json(DASHBOARD_KEY).await
}
