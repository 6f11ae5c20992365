//! `SkuLedger`: the Durable Object that owns one SKU's authoritative ledger.
//!
//! Storage (SQLite): `entries` (the append-only ledger, one row per version), `meta` (the SKU id,
//! the latest snapshot of the engine state, the catalog copy), `idempotency` (answers by key,
//! ≥ 24 h) and `reservations` (records of the single-SKU reservations this object owns).
//! On start the object restores the snapshot and applies the entries after it. Every write is
//! decided by the engine in memory, then persisted in one storage transaction together with its
//! records; if persisting fails the in-memory state is dropped and reloaded.

use crate::directory::{self, DirectoryCommand};
use crate::http::{call, now, serve, Answer, Envelope};
use crate::store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use stockline_engine::{
    Actor, Catalog, CommitRequest, Ctx, EngineError, Entry, Event, Hold, HoldRequest, HoldStatus, Id, LedgerSnapshot,
    Movement, Reservation, ReservationRequest, SkuLedger as Ledger, SkuSpec,
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
        /// When the movement happened, if not now (a tablet syncing later); recorded_at stays now.
        #[serde(default)]
        occurred_at: Option<DateTime<Utc>>,
    },
    Availability {
        sku: Id,
        channel: Option<Id>,
    },
    /// A single-SKU reservation this object owns, record and all.
    Reserve {
        sku: Id,
        id: Id,
        request: ReservationRequest,
    },
    Commit {
        id: Id,
        request: CommitRequest,
    },
    Release {
        id: Id,
    },
    Get {
        id: Id,
    },
    /// The ledger's entries after a version, oldest first (the audit trail).
    Entries {
        sku: Id,
        after_version: u64,
        limit: u32,
    },
    /// One SKU's part of a multi-SKU reservation (the coordinator keeps the record).
    PlaceHold {
        sku: Id,
        hold: HoldRequest,
        check_only: bool,
    },
    CommitHold {
        sku: Id,
        id: Id,
        qty: i64,
    },
    ReleaseHold {
        sku: Id,
        id: Id,
    },
    /// The Directory pushes a new catalog.
    Catalog {
        catalog: Catalog,
    },
}

impl SkuCommand {
    fn sku(&self) -> Option<&Id> {
        match self {
            SkuCommand::Define { sku, .. }
            | SkuCommand::Movement { sku, .. }
            | SkuCommand::Availability { sku, .. }
            | SkuCommand::Entries { sku, .. }
            | SkuCommand::Reserve { sku, .. }
            | SkuCommand::PlaceHold { sku, .. }
            | SkuCommand::CommitHold { sku, .. }
            | SkuCommand::ReleaseHold { sku, .. } => Some(sku),
            SkuCommand::Commit { .. }
            | SkuCommand::Release { .. }
            | SkuCommand::Get { .. }
            | SkuCommand::Catalog { .. } => None,
        }
    }
}

struct Loaded {
    ledger: Ledger,
    catalog: Catalog,
    catalog_checked_at_ms: i64,
    snapshot_version: u64,
}

/// What one command writes, persisted together.
#[derive(Default)]
struct Writes {
    entries: Vec<Entry>,
    reservations: Vec<Reservation>,
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

enum Refresh {
    IfStale,
    Now,
}

fn engine_error(error: EngineError) -> worker::Error {
    worker::Error::RustError(error.to_string())
}

fn ok(status: u16, body: &impl Serialize) -> std::result::Result<Answer, EngineError> {
    Ok(Answer::ok(status, body))
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

    fn set_meta(&self, key: &str, value: String) -> Result<()> {
        store::exec(
            &self.sql(),
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )
    }

    /// Which SKU this object holds: named by the command, or remembered from an earlier one.
    fn sku_of(&self, command: &SkuCommand) -> Result<Option<Id>> {
        if let Some(sku) = command.sku() {
            return Ok(Some(sku.clone()));
        }
        if let Some(loaded) = self.loaded.borrow().as_ref() {
            return Ok(Some(loaded.ledger.sku().clone()));
        }
        Ok(self.meta("sku")?.and_then(|sku| Id::new(sku).ok()))
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
                    (Ledger::restore(&catalog, snapshot).map_err(engine_error)?, version)
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
                ledger.apply(&catalog, &entry).map_err(engine_error)?;
            }
            if self.meta("sku")?.is_none() {
                self.set_meta("sku", sku.to_string())?;
            }
            *slot = Some(Loaded { ledger, catalog, catalog_checked_at_ms: now_ms, snapshot_version });
        }
        if let (Some(catalog), Some(loaded)) = (fetched, slot.as_mut()) {
            loaded.catalog_checked_at_ms = now_ms;
            if catalog.version() >= loaded.catalog.version() {
                self.set_meta("catalog", serde_json::to_string(&catalog)?)?;
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

    /// Persists a command's writes (and a snapshot when due) with its idempotency record, all or nothing.
    fn persist(
        &self,
        loaded: &mut Loaded,
        writes: Writes,
        envelope: &Envelope<SkuCommand>,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let idempotency = envelope.idempotency.clone().filter(|_| (200..300).contains(&answer.status));
        if writes.entries.is_empty() && writes.reservations.is_empty() && idempotency.is_none() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(writes.entries.len());
        let mut resolved = Vec::new();
        for entry in &writes.entries {
            rows.push((entry.version as i64, serde_json::to_string(entry)?));
            match &entry.event {
                Event::HoldReleased { reservation } => resolved.push((reservation.to_string(), HoldStatus::Released)),
                Event::HoldExpired { reservation } => resolved.push((reservation.to_string(), HoldStatus::Expired)),
                _ => {}
            }
        }
        let snapshot = if loaded.ledger.version() - loaded.snapshot_version >= SNAPSHOT_EVERY_ENTRIES {
            Some(serde_json::to_string(&loaded.ledger.snapshot(&loaded.catalog))?)
        } else {
            None
        };
        let wrote_snapshot = snapshot.is_some();
        let sql = self.sql();
        let answer = answer.clone();
        store::transaction(&self.state.storage(), move || {
            for (version, body) in rows {
                store::exec(
                    &sql,
                    "INSERT INTO entries (version, body) VALUES (?, ?)",
                    vec![version.into(), body.into()],
                )?;
            }
            for (id, status) in resolved {
                store::set_reservation_status(&sql, &id, status)?;
            }
            for reservation in &writes.reservations {
                store::save_reservation(&sql, reservation)?;
            }
            if let Some(snapshot) = snapshot {
                store::exec(
                    &sql,
                    "INSERT INTO meta (key, value) VALUES ('snapshot', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    vec![snapshot.into()],
                )?;
                store::forget_old_answers(&sql, now)?;
            }
            if let Some(idempotency) = idempotency {
                store::record_answer(&sql, &idempotency, &answer, now)?;
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
        if let Some(idempotency) = &envelope.idempotency {
            if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                return Ok(answer);
            }
        }
        let mut slot = self.loaded.borrow_mut();
        let loaded = slot.as_mut().ok_or("ledger not loaded")?;
        let mut ctx = Ctx::new(envelope.actor.clone(), now);
        if let SkuCommand::Movement { occurred_at, .. } = &envelope.command {
            ctx.occurred_at = *occurred_at;
        }
        // Holds that are due expire first, whatever the request.
        let mut writes = Writes { entries: loaded.ledger.expire_due(&loaded.catalog, now), reservations: Vec::new() };
        let answer = match self.decide(loaded, &envelope.command, &ctx, &mut writes) {
            Ok(answer) => answer,
            Err(error) => Answer::error(error.into()),
        };
        if let Err(error) = self.persist(loaded, writes, envelope, &answer, now) {
            drop(slot);
            *self.loaded.borrow_mut() = None;
            return Err(error);
        }
        Ok(answer)
    }

    fn decide(
        &self,
        loaded: &mut Loaded,
        command: &SkuCommand,
        ctx: &Ctx,
        writes: &mut Writes,
    ) -> std::result::Result<Answer, EngineError> {
        let now = ctx.now;
        if let SkuCommand::Catalog { catalog: pushed } = command {
            if pushed.version() >= loaded.catalog.version() {
                loaded.catalog = pushed.clone();
            }
            loaded.catalog_checked_at_ms = now.timestamp_millis();
            let text = serde_json::to_string(&loaded.catalog).map_err(|e| EngineError::conflict(e.to_string()))?;
            self.set_meta("catalog", text).map_err(|e| EngineError::conflict(e.to_string()))?;
            return ok(200, &serde_json::json!({ "version": loaded.catalog.version() }));
        }
        let Loaded { ledger, catalog, .. } = loaded;
        match command {
            SkuCommand::Define { sku, spec } => {
                writes.entries.push(ledger.define(catalog, spec.clone(), ctx)?);
                let policy = ledger.policy().expect("defined");
                ok(
                    200,
                    &SkuResponse {
                        sku: sku.clone(),
                        name: policy.name.clone(),
                        safety_stock: policy.safety_stock,
                        unit_cost: policy.unit_cost.map(|c| c.to_string()),
                        version: ledger.version(),
                    },
                )
            }
            SkuCommand::Movement { movement, .. } => {
                let outcome = ledger.record_movement(catalog, movement.clone(), ctx)?;
                let availability = ledger.availability(catalog, None)?;
                writes.entries.push(outcome.entry.clone());
                ok(
                    201,
                    &MovementResponse {
                        entry: outcome.entry,
                        position: AvailabilityResponse { availability, as_of: now },
                        exceptions: outcome.exceptions,
                    },
                )
            }
            SkuCommand::Availability { channel, .. } => {
                let availability = ledger.availability(catalog, channel.as_ref().map(Id::as_str))?;
                ok(200, &AvailabilityResponse { availability, as_of: now })
            }
            SkuCommand::Reserve { sku, id, request } => {
                request.validate()?;
                let hold = HoldRequest {
                    id: id.clone(),
                    channel: request.channel.clone(),
                    lines: request.hold_lines(sku),
                    expires_at: request.expires_at(now),
                    reference: request.reference.clone(),
                };
                let entry = ledger.place_hold(catalog, hold, ctx)?;
                let Event::HoldPlaced { hold } = &entry.event else { unreachable!("place_hold places a hold") };
                let reservation = request.record(id.clone(), now, &[(sku.clone(), hold.clone())]);
                writes.entries.push(entry);
                writes.reservations.push(reservation.clone());
                ok(201, &reservation)
            }
            SkuCommand::Commit { id, request } => {
                let mut reservation = self.reservation(id)?;
                reservation.check_pending(now)?;
                let plan = reservation.plan_commit(request)?;
                let qty = plan.iter().map(|(_, qty)| *qty).sum();
                writes.entries.push(ledger.commit_hold(catalog, id.as_str(), Some(qty), ctx)?);
                reservation.mark_committed(&plan);
                writes.reservations.push(reservation.clone());
                ok(200, &reservation)
            }
            SkuCommand::Release { id } => {
                let mut reservation = self.reservation(id)?;
                reservation.check_pending(now)?;
                writes.entries.push(ledger.release_hold(catalog, id.as_str(), ctx)?);
                reservation.status = HoldStatus::Released;
                writes.reservations.push(reservation.clone());
                ok(200, &reservation)
            }
            SkuCommand::Get { id } => ok(200, &self.reservation(id)?.at(now)),
            SkuCommand::Entries { after_version, limit, .. } => {
                if !ledger.is_defined() {
                    return Err(EngineError::not_found("sku", ledger.sku().as_str()));
                }
                let rows: Vec<EntryRow> = store::rows(
                    &self.sql(),
                    "SELECT body FROM entries WHERE version > ? ORDER BY version LIMIT ?",
                    vec![(*after_version as i64).into(), i64::from(*limit).into()],
                )
                .map_err(|e| EngineError::conflict(format!("reading entries: {e}")))?;
                let entries: Vec<serde_json::Value> =
                    rows.iter().filter_map(|row| serde_json::from_str(&row.body).ok()).collect();
                let next = entries.last().and_then(|e| e["version"].as_u64());
                ok(
                    200,
                    &serde_json::json!({ "sku": ledger.sku(), "version": ledger.version(), "entries": entries, "next_after_version": next }),
                )
            }
            SkuCommand::PlaceHold { hold, check_only, .. } => {
                let entry = if *check_only {
                    ledger.plan_hold(catalog, hold.clone(), ctx)?
                } else {
                    ledger.place_hold(catalog, hold.clone(), ctx)?
                };
                let Event::HoldPlaced { hold } = &entry.event else { unreachable!("plan_hold plans a hold") };
                let hold: Hold = hold.clone();
                if !*check_only {
                    writes.entries.push(entry);
                }
                ok(201, &hold)
            }
            SkuCommand::CommitHold { id, qty, .. } => {
                writes.entries.push(ledger.commit_hold(catalog, id.as_str(), Some(*qty), ctx)?);
                ok(200, &serde_json::json!({ "status": "committed" }))
            }
            SkuCommand::ReleaseHold { id, .. } => {
                writes.entries.push(ledger.release_hold(catalog, id.as_str(), ctx)?);
                ok(200, &serde_json::json!({ "status": "released" }))
            }
            SkuCommand::Catalog { .. } => unreachable!("answered above"),
        }
    }

    fn reservation(&self, id: &Id) -> std::result::Result<Reservation, EngineError> {
        match store::load_reservation(&self.sql(), id.as_str()) {
            Ok(Some(reservation)) => Ok(reservation),
            Ok(None) => Err(EngineError::not_found("reservation", id.as_str())),
            Err(error) => Err(EngineError::conflict(format!("reading reservation: {error}"))),
        }
    }

    /// Sets the alarm to the next hold expiry when it is earlier than the one set.
    async fn schedule_alarm(&self) -> Result<()> {
        let next_ms = self.loaded.borrow().as_ref().and_then(|l| l.ledger.next_expiry()).map(|t| t.timestamp_millis());
        if let Some(next_ms) = next_ms {
            if self.alarm_at_ms.get().is_none_or(|set| next_ms < set) {
                let at = worker::js_sys::Date::new(&(next_ms as f64).into());
                self.state.storage().set_alarm(ScheduledTime::new(at)).await?;
                self.alarm_at_ms.set(Some(next_ms));
            }
        }
        Ok(())
    }

    async fn handle(&self, envelope: Envelope<SkuCommand>) -> Result<Answer> {
        let Some(sku) = self.sku_of(&envelope.command)? else {
            // An object never used: a reservation id pointing here names nothing.
            return Ok(Answer::error(ApiError::not_found("reservation")));
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
        let _ = state.storage().sql().exec(store::SCHEMA, None);
        let _ = state
            .storage()
            .sql()
            .exec("CREATE TABLE IF NOT EXISTS entries (version INTEGER PRIMARY KEY, body TEXT NOT NULL)", None);
        SkuLedger { state, env, loaded: RefCell::new(None), alarm_at_ms: Cell::new(None) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "sku ledger", |envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at_ms.set(None);
        let Some(sku) = self.meta("sku")?.and_then(|sku| Id::new(sku).ok()) else {
            return Response::ok("nothing to expire");
        };
        self.ensure_loaded(&sku, Refresh::IfStale).await?;
        let now = now();
        {
            let mut slot = self.loaded.borrow_mut();
            let loaded = slot.as_mut().ok_or("ledger not loaded")?;
            let entries = loaded.ledger.expire_due(&loaded.catalog, now);
            let envelope =
                Envelope { actor: Actor::system(), idempotency: None, command: SkuCommand::Get { id: sku.clone() } };
            let answer = Answer { status: 200, body: serde_json::Value::Null };
            if let Err(error) =
                self.persist(loaded, Writes { entries, reservations: Vec::new() }, &envelope, &answer, now)
            {
                drop(slot);
                *self.loaded.borrow_mut() = None;
                return Err(error);
            }
        }
        self.schedule_alarm().await?;
        Response::ok("ok")
    }
}
