//! IndexedDB: settings and saved stock cards, so the app works after a reload while offline.

use crate::model::{Settings, StockCard};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use std::cell::RefCell;

const DB_NAME: &str = "stockline";
const DB_VERSION: u32 = 1;
const SETTINGS: &str = "settings";
const CARDS: &str = "cards";
const SETTINGS_KEY: &str = "settings";

thread_local! {
    static DB: RefCell<Option<Database>> = const { RefCell::new(None) };
}

pub type DbResult<T> = Result<T, String>;

async fn db() -> DbResult<Database> {
    if let Some(db) = DB.with(|cell| cell.borrow().clone()) {
        return Ok(db);
    }
    let db = Database::open(DB_NAME)
        .with_version(DB_VERSION)
        .with_on_upgrade_needed(|event, db| {
            if (event.old_version() as u32) < 1 {
                db.create_object_store(SETTINGS).build()?;
                db.create_object_store(CARDS).with_key_path("sku".into()).build()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?;
    DB.with(|cell| *cell.borrow_mut() = Some(db.clone()));
    Ok(db)
}

pub async fn load_settings() -> DbResult<Option<Settings>> {
    let db = db().await?;
    let tx = db.transaction(SETTINGS).build().map_err(|e| e.to_string())?;
    let store = tx.object_store(SETTINGS).map_err(|e| e.to_string())?;
    let settings: Option<Settings> =
        store.get(SETTINGS_KEY).serde().map_err(|e| e.to_string())?.await.map_err(|e| e.to_string())?;
    Ok(settings)
}

pub async fn save_settings(settings: &Settings) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(SETTINGS).with_mode(TransactionMode::Readwrite).build().map_err(|e| e.to_string())?;
    let store = tx.object_store(SETTINGS).map_err(|e| e.to_string())?;
    store
        .put(settings)
        .with_key(SETTINGS_KEY)
        .without_key_type()
        .serde()
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

pub async fn save_card(card: &StockCard) -> DbResult<()> {
    let db = db().await?;
    let tx = db.transaction(CARDS).with_mode(TransactionMode::Readwrite).build().map_err(|e| e.to_string())?;
    let store = tx.object_store(CARDS).map_err(|e| e.to_string())?;
    store.put(card).serde().map_err(|e| e.to_string())?.await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

pub async fn load_card(sku: &str) -> DbResult<Option<StockCard>> {
    let db = db().await?;
    let tx = db.transaction(CARDS).build().map_err(|e| e.to_string())?;
    let store = tx.object_store(CARDS).map_err(|e| e.to_string())?;
    let card: Option<StockCard> =
        store.get(sku).serde().map_err(|e| e.to_string())?.await.map_err(|e| e.to_string())?;
    Ok(card)
}
