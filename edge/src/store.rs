//! SQLite helpers for Durable Object storage: rows in and out, and all-or-nothing writes.

use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::rc::Rc;
use worker::wasm_bindgen::{closure::Closure, JsCast, JsValue};
use worker::{js_sys, SqlStorage, SqlStorageValue, Storage};

/// Bound values in one SQLite statement (its limit is 100 in Durable Objects).
/// Beyond every row's sequence number: a page with no cursor starts below it. JavaScript's largest
/// safe integer, as bindings cross into SQLite as JS numbers (i64::MAX would not).
pub const SEQ_END: i64 = (1 << 53) - 1;

pub const SQL_BINDINGS_MAX: usize = 100;

pub fn rows<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<Vec<T>> {
    sql.exec(query, Some(bindings))?.to_array()
}

pub fn first<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<Option<T>> {
    Ok(rows(sql, query, bindings)?.into_iter().next())
}

pub fn exec(sql: &SqlStorage, query: &str, bindings: Vec<SqlStorageValue>) -> worker::Result<()> {
    sql.exec(query, Some(bindings))?;
    Ok(())
}

/// Runs `f` inside `storage.transactionSync`: every write in it commits together or, when it
/// returns an error, none does. (SQL `BEGIN` is refused in Durable Objects.)
pub fn transaction<T: 'static>(
    storage: &Storage,
    f: impl FnOnce() -> worker::Result<T> + 'static,
) -> worker::Result<T> {
    let raw: &JsValue = storage.as_raw().as_ref();
    let function: js_sys::Function = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))?.dyn_into()?;
    let out: Rc<RefCell<Option<worker::Result<T>>>> = Rc::new(RefCell::new(None));
    let slot = out.clone();
    let callback = Closure::once_into_js(move || -> Result<JsValue, JsValue> {
        let result = f();
        let failed = result.as_ref().err().map(|e| JsValue::from_str(&e.to_string()));
        *slot.borrow_mut() = Some(result);
        match failed {
            Some(error) => Err(error),
            None => Ok(JsValue::UNDEFINED),
        }
    });
    let called = function.call1(raw, &callback);
    let result = out.borrow_mut().take();
    match (result, called) {
        (Some(result), _) => result,
        (None, Err(error)) => Err(worker::Error::from(error)),
        (None, Ok(_)) => Err("transactionSync did not run its callback".into()),
    }
}

// ------------------------------------------------------------------ idempotency and reservations

use crate::http::{Answer, Idempotency};
use chrono::{DateTime, Utc};
use stockline_engine::idempotency::{decide, Decision, Fingerprint, IdempotencyRecord};
use stockline_engine::limits::{IDEMPOTENCY_RETENTION_SECONDS, RESERVATION_RETENTION_SECONDS};
use stockline_engine::{HoldStatus, Reservation};
use stockline_shared::ApiError;

/// Tables every writing object keeps: answers by idempotency key, and reservation records.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
         status INTEGER NOT NULL, body TEXT NOT NULL, recorded_at_ms INTEGER NOT NULL);
     CREATE INDEX IF NOT EXISTS idempotency_recorded ON idempotency (recorded_at_ms);
     CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS reservations_resolved (id TEXT PRIMARY KEY, resolved_at_ms INTEGER NOT NULL);
     CREATE INDEX IF NOT EXISTS reservations_resolved_at ON reservations_resolved (resolved_at_ms);
     CREATE TABLE IF NOT EXISTS snapshot_chunks (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);";

/// A snapshot is stored in rows of at most this many bytes, far below Durable Objects' 2 MB
/// limit on one value, whatever the number of open holds.
const SNAPSHOT_CHUNK_BYTES: usize = 512 * 1024;

#[derive(serde::Deserialize)]
struct IdempotencyRow {
    fingerprint: String,
    status: i64,
    body: String,
    recorded_at_ms: i64,
}

/// The recorded answer for a replay, a 422 for another body under the key, or None: do the work.
pub fn recorded_answer(
    sql: &SqlStorage,
    idempotency: &Idempotency,
    now: DateTime<Utc>,
) -> worker::Result<Option<Answer>> {
    let row: Option<IdempotencyRow> = first(
        sql,
        "SELECT fingerprint, status, body, recorded_at_ms FROM idempotency WHERE key = ?",
        vec![idempotency.key.as_str().into()],
    )?;
    let hex = |text: &str, what: &str| {
        Fingerprint::from_hex(text).map_err(|e| worker::Error::RustError(format!("{what} fingerprint: {e}")))
    };
    let record = match row {
        Some(row) => Some(IdempotencyRecord {
            key: idempotency.key.clone(),
            fingerprint: hex(&row.fingerprint, "the stored")?,
            recorded_at: DateTime::from_timestamp_millis(row.recorded_at_ms).ok_or_else(|| {
                worker::Error::RustError(format!("the stored time {} ms is out of range", row.recorded_at_ms))
            })?,
            outcome: Answer { status: row.status as u16, body: serde_json::from_str(&row.body)? },
        }),
        None => None,
    };
    let fingerprint = hex(&idempotency.fingerprint, "the request's")?;
    match decide(record.as_ref(), fingerprint, now) {
        Ok(Decision::Fresh) => Ok(None),
        Ok(Decision::Replay(answer)) => Ok(Some(answer.clone())),
        Err(error) => Ok(Some(Answer::error(ApiError::from(error)))),
    }
}

/// Records a 2xx answer under its key (failed requests changed nothing and are not recorded).
pub fn record_answer(
    sql: &SqlStorage,
    idempotency: &Idempotency,
    answer: &Answer,
    now: DateTime<Utc>,
) -> worker::Result<()> {
    if !(200..300).contains(&answer.status) {
        return Ok(());
    }
    exec(
        sql,
        "INSERT INTO idempotency (key, fingerprint, status, body, recorded_at_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
         body = excluded.body, recorded_at_ms = excluded.recorded_at_ms",
        vec![
            idempotency.key.as_str().into(),
            idempotency.fingerprint.as_str().into(),
            i64::from(answer.status).into(),
            answer.body.to_string().into(),
            now.timestamp_millis().into(),
        ],
    )
}

/// Sets a `meta` value and records the answer under its idempotency key, in one transaction.
pub fn put_meta_recorded(
    storage: &Storage,
    sql: SqlStorage,
    name: &'static str,
    value: String,
    recorded: Option<(Idempotency, Answer)>,
    now: DateTime<Utc>,
) -> worker::Result<()> {
    transaction(storage, move || {
        exec(
            &sql,
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![name.into(), value.into()],
        )?;
        if let Some((key, answer)) = recorded {
            record_answer(&sql, &key, &answer, now)?;
        }
        Ok(())
    })
}

/// Forgets what is past its retention: idempotency answers after 24 h, resolved reservation
/// records after 7 days. Bounded work per call (indexed deletes).
pub fn prune(sql: &SqlStorage, now: DateTime<Utc>) -> worker::Result<()> {
    let now_ms = now.timestamp_millis();
    exec(
        sql,
        "DELETE FROM idempotency WHERE recorded_at_ms < ?",
        vec![(now_ms - IDEMPOTENCY_RETENTION_SECONDS * 1000).into()],
    )?;
    let cutoff_ms = now_ms - RESERVATION_RETENTION_SECONDS * 1000;
    exec(
        sql,
        "DELETE FROM reservations WHERE id IN (SELECT id FROM reservations_resolved WHERE resolved_at_ms < ?)",
        vec![cutoff_ms.into()],
    )?;
    exec(sql, "DELETE FROM reservations_resolved WHERE resolved_at_ms < ?", vec![cutoff_ms.into()])
}

/// Whether anything is kept that `prune` will have to forget one day.
pub fn has_prunable(sql: &SqlStorage) -> worker::Result<bool> {
    #[derive(serde::Deserialize)]
    struct One {
        #[allow(dead_code)]
        one: i64,
    }
    Ok(first::<One>(sql, "SELECT 1 AS one FROM idempotency LIMIT 1", vec![])?.is_some()
        || first::<One>(sql, "SELECT 1 AS one FROM reservations_resolved LIMIT 1", vec![])?.is_some())
}

/// Replaces the stored snapshot, in chunks of at most `SNAPSHOT_CHUNK_BYTES`.
pub fn save_snapshot(sql: &SqlStorage, text: &str) -> worker::Result<()> {
    exec(sql, "DELETE FROM snapshot_chunks", vec![])?;
    let mut rest = text;
    let mut seq: i64 = 0;
    while !rest.is_empty() {
        let mut end = rest.len().min(SNAPSHOT_CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        exec(sql, "INSERT INTO snapshot_chunks (seq, body) VALUES (?, ?)", vec![seq.into(), chunk.into()])?;
        seq += 1;
        rest = tail;
    }
    Ok(())
}

pub fn load_snapshot(sql: &SqlStorage) -> worker::Result<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Chunk {
        body: String,
    }
    let chunks: Vec<Chunk> = rows(sql, "SELECT body FROM snapshot_chunks ORDER BY seq", vec![])?;
    if chunks.is_empty() {
        return Ok(None);
    }
    Ok(Some(chunks.into_iter().map(|c| c.body).collect()))
}

#[derive(serde::Deserialize)]
struct ReservationRow {
    status: String,
    body: String,
}

pub fn load_reservation(sql: &SqlStorage, id: &str) -> worker::Result<Option<Reservation>> {
    let row: Option<ReservationRow> =
        first(sql, "SELECT status, body FROM reservations WHERE id = ?", vec![id.into()])?;
    let Some(row) = row else { return Ok(None) };
    let mut reservation: Reservation = serde_json::from_str(&row.body)?;
    reservation.status = serde_json::from_value(serde_json::Value::String(row.status))?;
    Ok(Some(reservation))
}

pub fn save_reservation(sql: &SqlStorage, reservation: &Reservation, now: DateTime<Utc>) -> worker::Result<()> {
    if reservation.status != HoldStatus::Pending {
        mark_resolved(sql, reservation.id.as_str(), now)?;
    }
    exec(
        sql,
        "INSERT INTO reservations (id, status, body) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
        vec![
            reservation.id.as_str().into(),
            reservation.status.as_str().into(),
            serde_json::to_string(reservation)?.into(),
        ],
    )
}

/// Marks a reservation record resolved (a no-op where this object keeps no record of it).
pub fn set_reservation_status(
    sql: &SqlStorage,
    id: &str,
    status: HoldStatus,
    now: DateTime<Utc>,
) -> worker::Result<()> {
    exec(sql, "UPDATE reservations SET status = ? WHERE id = ?", vec![status.as_str().into(), id.into()])?;
    if status != HoldStatus::Pending {
        mark_resolved(sql, id, now)?;
    }
    Ok(())
}

/// When a reservation was resolved, for pruning its record after the retention.
fn mark_resolved(sql: &SqlStorage, id: &str, now: DateTime<Utc>) -> worker::Result<()> {
    exec(
        sql,
        "INSERT INTO reservations_resolved (id, resolved_at_ms) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
        vec![id.into(), now.timestamp_millis().into()],
    )
}
