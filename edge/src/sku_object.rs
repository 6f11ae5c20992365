//! `SkuLedger`: the Durable Object that owns one SKU's authoritative ledger.
//!
//! Storage (SQLite): `entries` (the append-only ledger, one row per version), `meta` (the latest
//! snapshot of the engine state and the catalog copy), `idempotency` (answers by key, ≥ 24 h).
//! On start the object restores the snapshot and applies the entries after it. Every write is
//! decided by the engine in memory, then persisted in one storage transaction together with its
//! idempotency record; if persisting fails the in-memory state is dropped and reloaded.

use crate::directory::{self, DirectoryCommand};
use crate::http::{call, now, read_envelope, Answer, Envelope, Idempotency};
use crate::store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use stockline_engine::idempotency::{decide, Decision, IdempotencyRecord};
use stockline_engine::limits::IDEMPOTENCY_RETENTION_SECONDS;
use stockline_engine::{
    Actor, Catalog, Ctx, EngineError, Entry, Id, LedgerSnapshot, Movement, SkuLedger as Ledger, SkuSpec,
};
use stockline_shared::{ApiError, AvailabilityResponse, MovementResponse, SkuResponse};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, SqlStorage, State};

pub const BINDING: &str = "SKU_LEDGER";
/// Entries between two snapshots of the engine state.
const SNAPSHOT_EVERY_ENTRIES: u64 = 256;
/// A catalog copy older than this is refreshed from the Directory before use.
const CATALOG_FRESH_MS: i64 = 60_000;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SkuCommand {
    Define {
        sku: Id,
        spec: SkuSpec,
    },
    Movement {
        sku: Id,
        movement: Movement,
    },
    Availability {
        sku: Id,
        channel: Option<Id>,
    },
    /// The Directory pushes a new catalog.
    Catalog {
        catalog: Catalog,
    },
}

struct Loaded {
    ledger: Ledger,
    catalog: Catalog,
    catalog_checked_at_ms: i64,
    snapshot_version: u64,
}

#[durable_object]
pub struct SkuLedger {
    state: State,
    env: Env,
    loaded: RefCell<Option<Loaded>>,
    /// The alarm currently set, in ms since the epoch.
    alarm_at_ms: Cell<Option<i64>>,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct EntryRow {
    body: String,
}

#[derive(Deserialize)]
struct IdempotencyRow {
    fingerprint: String,
    status: i64,
    body: String,
    recorded_at_ms: i64,
}

enum Refresh {
    IfStale,
    Now,
}

impl SkuLedger {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let row: Option<ValueRow> =
            store::first(&self.sql(), "SELECT value FROM meta WHERE key = ?", vec![key.into()])?;
        Ok(row.map(|row| row.value))
    }

    /// Loads the ledger (snapshot + later entries) and a catalog, fetching one when needed.
    async fn ensure_loaded(&self, sku: &Id, refresh: Refresh) -> Result<()> {
        let now_ms = now().timestamp_millis();
        let needs_catalog = match (self.loaded.borrow().as_ref(), &refresh) {
            (None, _) => self.meta("catalog")?.is_none(),
            (Some(_), Refresh::Now) => true,
            (Some(loaded), Refresh::IfStale) => now_ms - loaded.catalog_checked_at_ms > CATALOG_FRESH_MS,
        };
        let fetched = if needs_catalog { Some(self.fetch_catalog(sku).await?) } else { None };
        // No await below: the object's state changes atomically with respect to other requests.
        let mut slot = self.loaded.borrow_mut();
        if slot.is_none() {
            let catalog = match (&fetched, self.meta("catalog")?) {
                (Some(catalog), _) => catalog.clone(),
                (None, Some(text)) => serde_json::from_str(&text)?,
                (None, None) => Catalog::default(),
            };
            let (mut ledger, snapshot_version) = match self.meta("snapshot")? {
                Some(text) => {
                    let snapshot: LedgerSnapshot = serde_json::from_str(&text)?;
                    let version = snapshot.version;
                    (Ledger::restore(&catalog, snapshot).map_err(|e| worker::Error::from(e.to_string()))?, version)
                }
                None => (Ledger::new(sku.clone()), 0),
            };
            let rows: Vec<EntryRow> = store::rows(
                &self.sql(),
                "SELECT body FROM entries WHERE version > ? ORDER BY version",
                vec![(snapshot_version as i64).into()],
            )?;
            for row in rows {
                let entry: Entry = serde_json::from_str(&row.body)?;
                ledger.apply(&catalog, &entry).map_err(|e| worker::Error::from(e.to_string()))?;
            }
            *slot = Some(Loaded { ledger, catalog, catalog_checked_at_ms: now_ms, snapshot_version });
        }
        if let (Some(catalog), Some(loaded)) = (fetched, slot.as_mut()) {
            loaded.catalog_checked_at_ms = now_ms;
            if catalog.version() >= loaded.catalog.version() {
                self.store_catalog(&catalog)?;
                loaded.catalog = catalog;
            }
        }
        Ok(())
    }

    async fn fetch_catalog(&self, sku: &Id) -> Result<Catalog> {
        let stub = self.env.durable_object(directory::BINDING)?.get_by_name(directory::NAME)?;
        let envelope = Envelope {
            actor: Actor::system(),
            idempotency: None,
            command: DirectoryCommand::Subscribe { sku: sku.clone() },
        };
        let answer = call(&stub, "/directory", &envelope).await?;
        Ok(serde_json::from_value(answer.body)?)
    }

    fn store_catalog(&self, catalog: &Catalog) -> Result<()> {
        store::exec(
            &self.sql(),
            "INSERT INTO meta (key, value) VALUES ('catalog', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![serde_json::to_string(catalog)?.into()],
        )
    }

    fn recorded_answer(&self, idempotency: &Idempotency, now: DateTime<Utc>) -> Result<Option<Answer>> {
        let row: Option<IdempotencyRow> = store::first(
            &self.sql(),
            "SELECT fingerprint, status, body, recorded_at_ms FROM idempotency WHERE key = ?",
            vec![idempotency.key.as_str().into()],
        )?;
        let record = match row {
            Some(row) => Some(IdempotencyRecord {
                key: idempotency.key.clone(),
                fingerprint: u64::from_str_radix(&row.fingerprint, 16).unwrap_or(0),
                recorded_at: DateTime::from_timestamp_millis(row.recorded_at_ms).unwrap_or_default(),
                outcome: Answer { status: row.status as u16, body: serde_json::from_str(&row.body)? },
            }),
            None => None,
        };
        let fingerprint = u64::from_str_radix(&idempotency.fingerprint, 16).unwrap_or(0);
        match decide(record.as_ref(), fingerprint, now) {
            Ok(Decision::Fresh) => Ok(None),
            Ok(Decision::Replay(answer)) => Ok(Some(answer.clone())),
            Err(error) => Ok(Some(Answer::error(ApiError::from(error)))),
        }
    }

    /// Persists new entries (and a snapshot when due) with the idempotency record, all or nothing.
    fn persist(
        &self,
        loaded: &mut Loaded,
        entries: &[Entry],
        idempotency: Option<(&Idempotency, &Answer)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if entries.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            rows.push((entry.version as i64, serde_json::to_string(entry)?));
        }
        let snapshot = if loaded.ledger.version() - loaded.snapshot_version >= SNAPSHOT_EVERY_ENTRIES {
            Some(serde_json::to_string(&loaded.ledger.snapshot(&loaded.catalog))?)
        } else {
            None
        };
        let record = match idempotency {
            Some((key, answer)) => {
                Some((key.key.clone(), key.fingerprint.clone(), answer.status, answer.body.to_string()))
            }
            None => None,
        };
        let now_ms = now.timestamp_millis();
        let sql = self.sql();
        let wrote_snapshot = snapshot.is_some();
        store::transaction(&self.state.storage(), move || {
            for (version, body) in rows {
                store::exec(
                    &sql,
                    "INSERT INTO entries (version, body) VALUES (?, ?)",
                    vec![version.into(), body.into()],
                )?;
            }
            if let Some(snapshot) = snapshot {
                store::exec(
                    &sql,
                    "INSERT INTO meta (key, value) VALUES ('snapshot', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    vec![snapshot.into()],
                )?;
                let cutoff_ms = now_ms - IDEMPOTENCY_RETENTION_SECONDS * 1000;
                store::exec(&sql, "DELETE FROM idempotency WHERE recorded_at_ms < ?", vec![cutoff_ms.into()])?;
            }
            if let Some((key, fingerprint, status, body)) = record {
                store::exec(
                    &sql,
                    "INSERT INTO idempotency (key, fingerprint, status, body, recorded_at_ms) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
                     body = excluded.body, recorded_at_ms = excluded.recorded_at_ms",
                    vec![key.into(), fingerprint.into(), (status as i64).into(), body.into(), now_ms.into()],
                )?;
            }
            Ok(())
        })?;
        if wrote_snapshot {
            loaded.snapshot_version = loaded.ledger.version();
        }
        Ok(())
    }

    /// Runs one command against the loaded ledger. Synchronous: no other request interleaves.
    fn execute(&self, envelope: &Envelope<SkuCommand>, now: DateTime<Utc>) -> Result<Answer> {
        let mut slot = self.loaded.borrow_mut();
        let loaded = slot.as_mut().ok_or("ledger not loaded")?;
        if let Some(idempotency) = &envelope.idempotency {
            if let Some(answer) = self.recorded_answer(idempotency, now)? {
                return Ok(answer);
            }
        }
        let ctx = Ctx::new(envelope.actor.clone(), now);
        // Holds that are due expire first, whatever the request.
        let mut entries = loaded.ledger.expire_due(&loaded.catalog, now);
        let result: std::result::Result<(u16, serde_json::Value), EngineError> = match &envelope.command {
            SkuCommand::Define { sku, spec } => {
                loaded.ledger.define(&loaded.catalog, spec.clone(), &ctx).map(|entry| {
                    entries.push(entry);
                    let policy = loaded.ledger.policy().expect("defined");
                    let body = SkuResponse {
                        sku: sku.clone(),
                        name: policy.name.clone(),
                        safety_stock: policy.safety_stock,
                        unit_cost: policy.unit_cost.map(|c| c.to_string()),
                        version: loaded.ledger.version(),
                    };
                    (200, serde_json::to_value(body).unwrap_or_default())
                })
            }
            SkuCommand::Movement { movement, .. } => {
                match loaded.ledger.record_movement(&loaded.catalog, movement.clone(), &ctx) {
                    Ok(outcome) => {
                        let position = loaded.ledger.availability(&loaded.catalog, None);
                        position.map(|availability| {
                            let body = MovementResponse {
                                entry: outcome.entry.clone(),
                                position: AvailabilityResponse { availability, as_of: now },
                                exceptions: outcome.exceptions,
                            };
                            entries.push(outcome.entry);
                            (201, serde_json::to_value(body).unwrap_or_default())
                        })
                    }
                    Err(error) => Err(error),
                }
            }
            SkuCommand::Availability { channel, .. } => {
                loaded.ledger.availability(&loaded.catalog, channel.as_ref().map(Id::as_str)).map(|availability| {
                    (200, serde_json::to_value(AvailabilityResponse { availability, as_of: now }).unwrap_or_default())
                })
            }
            SkuCommand::Catalog { catalog } => {
                if catalog.version() >= loaded.catalog.version() {
                    self.store_catalog(catalog)?;
                    loaded.catalog = catalog.clone();
                }
                loaded.catalog_checked_at_ms = now.timestamp_millis();
                Ok((200, serde_json::json!({ "version": loaded.catalog.version() })))
            }
        };
        let answer = match result {
            Ok((status, body)) => Answer { status, body },
            Err(error) => Answer::error(error.into()),
        };
        let record = match (&envelope.idempotency, answer.status) {
            (Some(key), 200..=299) => Some((key, &answer)),
            _ => None,
        };
        if let Err(error) = self.persist(loaded, &entries, record, now) {
            drop(slot);
            *self.loaded.borrow_mut() = None;
            return Err(error);
        }
        Ok(answer)
    }

    /// Sets the alarm to the next hold expiry when it is earlier than the one set.
    async fn schedule_alarm(&self) -> Result<()> {
        let next_ms = self.loaded.borrow().as_ref().and_then(|l| l.ledger.next_expiry()).map(|t| t.timestamp_millis());
        if let Some(next_ms) = next_ms {
            if self.alarm_at_ms.get().is_none_or(|set| next_ms < set) {
                let at = js_sys::Date::new(&(next_ms as f64).into());
                self.state.storage().set_alarm(ScheduledTime::new(at)).await?;
                self.alarm_at_ms.set(Some(next_ms));
            }
        }
        Ok(())
    }

    async fn handle(&self, envelope: Envelope<SkuCommand>) -> Result<Answer> {
        let sku = match &envelope.command {
            SkuCommand::Define { sku, .. }
            | SkuCommand::Movement { sku, .. }
            | SkuCommand::Availability { sku, .. } => sku.clone(),
            SkuCommand::Catalog { .. } => {
                let name = self.state.id().name().unwrap_or_default();
                Id::new(name).map_err(|e| worker::Error::from(e.to_string()))?
            }
        };
        self.ensure_loaded(&sku, Refresh::IfStale).await?;
        let mut answer = self.execute(&envelope, now())?;
        if matches!(answer.body["error"]["details"]["kind"].as_str(), Some("location" | "channel")) {
            // Our catalog copy may miss a location or channel created a moment ago.
            self.ensure_loaded(&sku, Refresh::Now).await?;
            answer = self.execute(&envelope, now())?;
        }
        self.schedule_alarm().await?;
        Ok(answer)
    }
}

impl DurableObject for SkuLedger {
    fn new(state: State, env: Env) -> Self {
        let _ = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS entries (version INTEGER PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
                 status INTEGER NOT NULL, body TEXT NOT NULL, recorded_at_ms INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS idempotency_recorded ON idempotency (recorded_at_ms);",
            None,
        );
        SkuLedger { state, env, loaded: RefCell::new(None), alarm_at_ms: Cell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let envelope: Envelope<SkuCommand> = match read_envelope(&mut req).await {
            Ok(envelope) => envelope,
            Err(error) => return Ok(Answer::error(ApiError::internal(error.to_string())).into_response()),
        };
        let answer = match self.handle(envelope).await {
            Ok(answer) => answer,
            Err(error) => Answer::error(ApiError::unavailable(format!("sku ledger: {error}"))),
        };
        Ok(answer.into_response())
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at_ms.set(None);
        let name = self.state.id().name().unwrap_or_default();
        let sku = Id::new(name).map_err(|e| worker::Error::from(e.to_string()))?;
        self.ensure_loaded(&sku, Refresh::IfStale).await?;
        let now = now();
        {
            let mut slot = self.loaded.borrow_mut();
            let loaded = slot.as_mut().ok_or("ledger not loaded")?;
            let entries = loaded.ledger.expire_due(&loaded.catalog, now);
            if let Err(error) = self.persist(loaded, &entries, None, now) {
                drop(slot);
                *self.loaded.borrow_mut() = None;
                return Err(error);
            }
        }
        self.schedule_alarm().await?;
        Response::ok("ok")
    }
}
