//! `SkuObject`: the Durable Object that owns one SKU's authoritative ledger (the engine's
//! `SkuLedger`).
//!
//! Storage (SQLite): `entries` (the append-only ledger, one row per version), `meta` (the SKU id,
//! the latest snapshot of the engine state, the catalog copy), `idempotency` (answers by key,
//! ≥ 24 h) and `reservations` (records of the single-SKU reservations this object owns).
//! On start the object restores the snapshot and applies the entries after it. Every write is
//! decided by the engine in memory, then persisted in one storage transaction together with its
//! records; if persisting fails the in-memory state is dropped and reloaded.

use crate::feed;
use crate::http::{call, call_for, directory_stub, now, serve, Answer, Envelope, Idempotency};
use crate::protocol::{DirectoryCommand, SkuCommand};
use crate::store;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use stockline_engine::feed::{entry_event_json as feed_entry_json, Stream, StreamKind, FEED_BATCH_MAX};
use stockline_engine::planning::{
    self, date_of, day_of, AgeLayers, DemandHistory, DemandImport, ExpediteBook, LayerRow, PlanningPolicy,
};
use stockline_engine::{
    Catalog, Ctx, EngineError, Entry, Event, Hold, HoldRequest, HoldStatus, Id, LedgerSnapshot, ReplicaSnapshot,
    Reservation, SkuLedger,
};
use stockline_shared::{ApiError, AvailabilityResponse, Item, MovementResponse, SkuResponse};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, SqlStorage, State};

/// Entries between two snapshots of the engine state.
const SNAPSHOT_EVERY_ENTRIES: u64 = 256;
/// How often an object with records past their retention (idempotency, reservations) prunes.
const HOUSEKEEPING_EVERY_MS: i64 = 60 * 60 * 1000;
/// How often an alarm prunes at most (the housekeeping alarm, an hour apart, always does).
const PRUNE_EVERY_MS: i64 = 10 * 60 * 1000;
/// A catalog copy older than this (plus the SKU's own spread, `catalog_fresh_ms`) is refreshed
/// from the Directory before use. Changes are pushed to subscribers; this is the safety net.
const CATALOG_FRESH_MS: i64 = 60_000;

/// How long `sku`'s catalog copy stays fresh: 60 to 120 s, fixed per SKU from its id, so that
/// SKUs created together do not all ask the Directory in the same request (a 100-line receipt
/// would pay 100 Directory round trips once a minute).
fn catalog_fresh_ms(sku: &Id) -> i64 {
    let spread =
        stockline_engine::idempotency::fingerprint(&[sku.as_str().as_bytes()]).prefix_u64() % CATALOG_FRESH_MS as u64;
    CATALOG_FRESH_MS + spread as i64
}
/// The idempotency keys an object keeps in memory at most (see `KnownKeys`).
const KNOWN_KEYS_MAX: usize = 1_024;

/// The idempotency keys this object has answers stored under, when it knows them all: a request
/// under a new key (every line of a purchase-order receipt, say) is then told apart from a
/// repeat without reading storage. Only a key in the set, or any key while the set is not
/// known, is looked up.
enum KnownKeys {
    /// Not read since the object started, or since a prune or a failed write.
    Unread,
    All(std::collections::HashSet<String>),
    /// More than `KNOWN_KEYS_MAX` are stored: every keyed request reads (until the next prune).
    TooMany,
}

/// A plan is refreshed this long after the ledger changes (later changes within it ride along),
/// off the request path, from the alarm.
const PLAN_DEBOUNCE_MS: i64 = 5_000;
/// A plan is refreshed at least this often: its days move on without any write.
const PLAN_REFRESH_EVERY_MS: i64 = 24 * 60 * 60 * 1000;
/// When the Directory could not take a plan summary, the next try.
const PLAN_RETRY_MS: i64 = 60_000;

/// The replenishment policy as stored: what was set, by whom and when.
#[derive(Clone, Serialize, Deserialize)]
struct StoredPolicy {
    policy: PlanningPolicy,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

#[derive(Deserialize)]
struct DemandRow {
    series: String,
    day: i64,
    qty: i64,
}

struct Loaded {
    ledger: SkuLedger,
    catalog: Catalog,
    catalog_checked_at_ms: i64,
    snapshot_version: u64,
    policy: Option<StoredPolicy>,
    /// When the plan is next refreshed (ms since the epoch); none without a policy.
    plan_due_ms: Option<i64>,
    /// Escalated order lines waiting for the SKU (`meta.expedites`).
    expedites: ExpediteBook,
    /// How long its units have been where they are (`age_layers`).
    aging: AgeLayers,
}

/// What one command writes, persisted together.
#[derive(Default)]
struct Writes {
    entries: Vec<Entry>,
    reservations: Vec<Reservation>,
    /// The SKU is created by this command: its id and catalog copy are stored with its first entry.
    created: Option<(Id, String)>,
    policy: Option<StoredPolicy>,
    demand_import: Option<DemandImport>,
    /// The expedite requests as they now stand (some when a change was taken).
    expedites: Option<ExpediteBook>,
    /// The plan is due at once (a policy or history changed), not after the debounce.
    plan_due_now: bool,
}

#[durable_object]
pub struct SkuObject {
    state: State,
    env: Env,
    loaded: RefCell<Option<Loaded>>,
    /// The alarm currently set, in ms since the epoch.
    alarm_at_ms: Cell<Option<i64>>,
    /// Whether this SKU was created (`PUT /v1/skus/{sku}`), once known. Only created SKUs have
    /// state: a request for any other SKU is answered 404 without writing or subscribing.
    created: Cell<Option<bool>>,
    /// Records that a housekeeping alarm will prune (idempotency answers, reservation records) may
    /// exist: set when a write stores one, and on start (unknown until the alarm looks).
    prunable: Cell<bool>,
    /// The version the event feed holds of this SKU's entries, once read (`meta.fed_version`).
    fed_version: Cell<Option<u64>>,
    /// The `fed_version` stored, once read or written. A send does not write it: the next write
    /// transaction does, or the alarm once the SKU goes quiet. A stored value that lags only makes
    /// the first send after a restart repeat entries the feed holds, which it answers as repeats
    /// (`check_append`).
    fed_version_stored: Cell<Option<u64>>,
    /// When the entries past `fed_version` are next sent to the feed (ms since the epoch).
    feed_due_ms: Cell<Option<i64>>,
    /// After a send, the alarm stays set one send delay on: what the SKU writes meanwhile goes
    /// out then, without each first write after a send setting the alarm again (a storage write).
    feed_linger_ms: Cell<Option<i64>>,
    /// When an alarm last pruned (ms since the epoch): the feed's alarms come every second or so
    /// while the SKU is busy, pruning once per `PRUNE_EVERY_MS` of them is enough.
    pruned_at_ms: Cell<Option<i64>>,
    /// The idempotency keys stored, when this object knows them all (`KnownKeys`).
    known_keys: RefCell<KnownKeys>,
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
    /// When the copy is older than this catalog version (or stale).
    Below(u64),
}

fn engine_error(error: EngineError) -> worker::Error {
    worker::Error::RustError(error.to_string())
}

fn ok(status: u16, body: &impl Serialize) -> std::result::Result<Answer, EngineError> {
    Ok(Answer::ok(status, body))
}

impl SkuObject {
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

    /// Whether an answer may be stored under `key`: false only when every stored key is known
    /// and this is not one of them. Reads the keys on first use.
    fn may_be_recorded(&self, key: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct KeyRow {
            key: String,
        }
        let mut known = self.known_keys.borrow_mut();
        if matches!(*known, KnownKeys::Unread) {
            let rows: Vec<KeyRow> = store::rows(
                &self.sql(),
                "SELECT key FROM idempotency LIMIT ?",
                vec![(KNOWN_KEYS_MAX as i64 + 1).into()],
            )?;
            *known = match rows.len() > KNOWN_KEYS_MAX {
                true => KnownKeys::TooMany,
                false => KnownKeys::All(rows.into_iter().map(|row| row.key).collect()),
            };
        }
        Ok(match &*known {
            KnownKeys::All(keys) => keys.contains(key),
            KnownKeys::Unread | KnownKeys::TooMany => true,
        })
    }

    /// Adds a key whose answer was just stored to the known set.
    fn remember_key(&self, key: String) {
        let mut known = self.known_keys.borrow_mut();
        if let KnownKeys::All(keys) = &mut *known {
            keys.insert(key);
            if keys.len() > KNOWN_KEYS_MAX {
                *known = KnownKeys::TooMany;
            }
        }
    }

    /// Which SKU this object holds: named by the command, or remembered from an earlier one.
    fn sku_of(&self, command: &SkuCommand) -> Result<Option<Id>> {
        match command.sku() {
            Some(sku) => Ok(Some(sku.clone())),
            None => self.held_sku(),
        }
    }

    /// The SKU this object holds: the loaded ledger's, else as stored.
    fn held_sku(&self) -> Result<Option<Id>> {
        if let Some(loaded) = self.loaded.borrow().as_ref() {
            return Ok(Some(loaded.ledger.sku().clone()));
        }
        self.stored_sku()
    }

    /// The feed's `fed_version` when it is newer than the one stored.
    fn fed_version_unstored(&self) -> Option<u64> {
        self.fed_version.get().filter(|fed| self.fed_version_stored.get() != Some(*fed))
    }

    /// The SKU this object was created for, as stored; a stored value that is not an id is an
    /// error, not "no SKU".
    fn stored_sku(&self) -> Result<Option<Id>> {
        match self.meta("sku")? {
            Some(text) => Id::new(&text)
                .map(Some)
                .map_err(|e| worker::Error::RustError(format!("the stored SKU `{text}` is not an id: {e}"))),
            None => Ok(None),
        }
    }

    /// Loads the ledger (snapshot + later entries) and a catalog, fetching one when needed.
    async fn ensure_loaded(&self, sku: &Id, refresh: Refresh) -> Result<()> {
        let now_ms = now()?.timestamp_millis();
        let needs_catalog = match (self.loaded.borrow().as_ref(), &refresh) {
            (None, _) => self.meta("catalog")?.is_none(),
            (Some(_), Refresh::Now) => true,
            (Some(loaded), Refresh::IfStale) => now_ms - loaded.catalog_checked_at_ms > catalog_fresh_ms(sku),
            (Some(loaded), Refresh::Below(version)) => {
                loaded.catalog.version() < *version || now_ms - loaded.catalog_checked_at_ms > catalog_fresh_ms(sku)
            }
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
            let (mut ledger, snapshot_version) = match store::load_snapshot(&self.sql())? {
                Some(text) => {
                    let snapshot: LedgerSnapshot = serde_json::from_str(&text)?;
                    let version = snapshot.version;
                    (SkuLedger::restore(&catalog, snapshot).map_err(engine_error)?, version)
                }
                None => (SkuLedger::new(sku.clone()), 0),
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
            let policy: Option<StoredPolicy> = match self.meta("planning_policy")? {
                Some(text) => Some(serde_json::from_str(&text)?),
                None => None,
            };
            let plan_due_ms = match self.meta("plan_due_ms")? {
                Some(text) => Some(text.parse::<i64>().map_err(|e| format!("plan_due_ms `{text}`: {e}"))?),
                None => None,
            };
            let expedites: ExpediteBook = match self.meta("expedites")? {
                Some(text) => serde_json::from_str(&text)?,
                None => ExpediteBook::default(),
            };
            let aging = self.load_aging(&ledger, &catalog, now()?.date_naive())?;
            *slot = Some(Loaded {
                ledger,
                catalog,
                catalog_checked_at_ms: now_ms,
                snapshot_version,
                policy,
                plan_due_ms,
                expedites,
                aging,
            });
        }
        if let (Some(catalog), Some(loaded)) = (fetched, slot.as_mut()) {
            loaded.catalog_checked_at_ms = now_ms;
            if catalog.version() > loaded.catalog.version() {
                if self.created.get() == Some(true) {
                    self.set_meta("catalog", serde_json::to_string(&catalog)?)?;
                }
                loaded.catalog = catalog;
            }
        }
        Ok(())
    }

    /// The age layers as stored, brought in line with the ledger (units stored before they were
    /// aged get a layer dated today).
    fn load_aging(&self, ledger: &SkuLedger, catalog: &Catalog, today: NaiveDate) -> Result<AgeLayers> {
        #[derive(Deserialize)]
        struct Row {
            location: String,
            bucket: String,
            day: i64,
            qty: i64,
        }
        let rows: Vec<Row> = store::rows(&self.sql(), "SELECT location, bucket, day, qty FROM age_layers", vec![])?;
        let mut aging = AgeLayers::default();
        for row in rows {
            let bucket = planning::AGED_BUCKETS
                .into_iter()
                .find(|bucket| bucket.as_str() == row.bucket)
                .ok_or_else(|| format!("age_layers: `{}` is not an aged bucket", row.bucket))?;
            let location = Id::new(&row.location).map_err(|e| format!("age_layers: {e}"))?;
            let day = i32::try_from(row.day).map_err(|_| format!("age_layers: day {}", row.day))?;
            aging.set(&LayerRow { location, bucket, day, qty: row.qty });
        }
        if ledger.is_defined() {
            save_layers(&self.sql(), &aging.reconcile(ledger, catalog, today))?;
        }
        Ok(aging)
    }

    /// The Directory's catalog. A created SKU subscribes to its changes with the same call; one
    /// not (yet) created only reads, so a refused `PUT /v1/skus` leaves no subscription behind.
    async fn fetch_catalog(&self, sku: &Id) -> Result<Catalog> {
        let command = match self.created.get() {
            Some(true) => DirectoryCommand::Subscribe { sku: sku.clone(), item: self.item() },
            _ => DirectoryCommand::Catalog,
        };
        call_for(&directory_stub(&self.env)?, "/directory", &Envelope::system(command)).await
    }

    /// This SKU as the item index shows it, when loaded and defined.
    fn item(&self) -> Option<Item> {
        let loaded = self.loaded.borrow();
        let ledger = &loaded.as_ref()?.ledger;
        let policy = ledger.policy()?;
        Some(Item {
            sku: ledger.sku().clone(),
            name: policy.name.clone(),
            barcodes: policy.barcodes.clone(),
            critical: policy.critical,
            safety_stock: policy.safety_stock,
            unit_cost: policy.unit_cost,
            substitutes: policy.substitutes.clone(),
        })
    }

    /// Persists a command's writes (and a snapshot when due) with its idempotency record, all or nothing.
    /// `recorded` is the answer to record under its idempotency key (2xx answers only).
    fn persist(
        &self,
        loaded: &mut Loaded,
        writes: Writes,
        recorded: Option<(&Idempotency, &Answer)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let recorded = recorded
            .filter(|(_, answer)| (200..300).contains(&answer.status))
            .map(|(key, answer)| (key.clone(), answer.clone()));
        let plans = writes.policy.is_some() || writes.demand_import.is_some() || writes.expedites.is_some();
        if writes.entries.is_empty() && writes.reservations.is_empty() && recorded.is_none() && !plans {
            return Ok(());
        }
        // Demand for the plan: what the entries commit, by location and day (the engine says what
        // counts); an import replaces its days.
        let mut demand_added: Vec<(String, i64, i64)> = Vec::new();
        for entry in &writes.entries {
            for (location, date, qty) in planning::demand_of(entry) {
                demand_added.push((location.to_string(), i64::from(day_of(date)), qty));
            }
        }
        let demand_replaced: Vec<(String, i64, i64)> = writes.demand_import.as_ref().map_or(Vec::new(), |import| {
            let series = import.series_key().to_string();
            import.days.iter().map(|day| (series.clone(), i64::from(day_of(day.date)), day.qty)).collect()
        });
        // The plan refresh: soon after a change, once per debounce window (one meta write).
        let has_policy = writes.policy.is_some() || loaded.policy.is_some();
        // A write that takes the last units anywhere makes today a stockout day.
        let out_today =
            planning::stockout_day(&loaded.ledger, &loaded.catalog, &writes.entries, None, now.date_naive())
                .then(|| i64::from(day_of(now.date_naive())));
        let due_ms = now.timestamp_millis() + if writes.plan_due_now { 1_000 } else { PLAN_DEBOUNCE_MS };
        let plan_due_ms = (has_policy && (plans || !writes.entries.is_empty()))
            .then_some(due_ms)
            .filter(|due| loaded.plan_due_ms.is_none_or(|set| set > *due));
        let policy_text = writes.policy.as_ref().map(serde_json::to_string).transpose()?;
        let new_policy = writes.policy.clone();
        let expedites_text = writes.expedites.as_ref().map(serde_json::to_string).transpose()?;
        let new_expedites = writes.expedites.clone();
        let created = writes.created.clone();
        let mut rows = Vec::with_capacity(writes.entries.len());
        let mut resolved = Vec::new();
        // The age layers move with the units: changed in memory here, stored with the entries (a
        // failed transaction drops the loaded state, layers included).
        let layers: Vec<LayerRow> = writes.entries.iter().flat_map(|entry| loaded.aging.apply(entry)).collect();
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
        let fed_version_unstored = self.fed_version_unstored();
        let recorded_key = recorded.as_ref().map(|(idempotency, _)| idempotency.key.clone());
        let sql = self.sql();
        let was_created = created.is_some();
        let stores_prunable = recorded.is_some() || !writes.reservations.is_empty();
        store::transaction(&self.state.storage(), move || {
            if let Some((sku, catalog)) = created {
                for (key, value) in [("sku", sku.to_string()), ("catalog", catalog)] {
                    store::exec(
                        &sql,
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        vec![key.into(), value.into()],
                    )?;
                }
            }
            for (version, body) in rows {
                store::exec(
                    &sql,
                    "INSERT INTO entries (version, body) VALUES (?, ?)",
                    vec![version.into(), body.into()],
                )?;
            }
            for (id, status) in resolved {
                store::set_reservation_status(&sql, &id, status, now)?;
            }
            for reservation in &writes.reservations {
                store::save_reservation(&sql, reservation, now)?;
            }
            if let Some(snapshot) = snapshot {
                store::save_snapshot(&sql, &snapshot)?;
                store::prune(&sql, now)?;
            }
            if let Some((idempotency, answer)) = recorded {
                store::record_answer(&sql, &idempotency, &answer, now)?;
            }
            for (series, day, qty) in demand_added {
                store::exec(
                    &sql,
                    "INSERT INTO demand (series, day, qty) VALUES (?, ?, ?)
                     ON CONFLICT(series, day) DO UPDATE SET qty = qty + excluded.qty",
                    vec![series.into(), day.into(), qty.into()],
                )?;
            }
            save_layers(&sql, &layers)?;
            if let Some(day) = out_today {
                store::exec(&sql, "INSERT OR IGNORE INTO stockout_days (day) VALUES (?)", vec![day.into()])?;
            }
            for (series, day, qty) in demand_replaced {
                store::exec(
                    &sql,
                    "INSERT INTO demand (series, day, qty) VALUES (?, ?, ?)
                     ON CONFLICT(series, day) DO UPDATE SET qty = excluded.qty",
                    vec![series.into(), day.into(), qty.into()],
                )?;
            }
            let metas = [
                ("planning_policy", policy_text),
                ("plan_due_ms", plan_due_ms.map(|ms| ms.to_string())),
                ("expedites", expedites_text),
                ("fed_version", fed_version_unstored.map(|version| version.to_string())),
            ];
            for (key, value) in metas {
                if let Some(value) = value {
                    store::exec(
                        &sql,
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        vec![key.into(), value.into()],
                    )?;
                }
            }
            Ok(())
        })?;
        if let Some(policy) = new_policy {
            loaded.policy = Some(policy);
        }
        if let Some(expedites) = new_expedites {
            loaded.expedites = expedites;
        }
        if plan_due_ms.is_some() {
            loaded.plan_due_ms = plan_due_ms;
        }
        if wrote_snapshot {
            loaded.snapshot_version = loaded.ledger.version();
            // The snapshot's transaction pruned old answers: their keys are read again.
            *self.known_keys.borrow_mut() = KnownKeys::Unread;
        }
        if let Some(fed) = fed_version_unstored {
            self.fed_version_stored.set(Some(fed));
        }
        if let Some(key) = recorded_key {
            self.remember_key(key);
        }
        if was_created {
            self.created.set(Some(true));
        }
        if stores_prunable {
            self.prunable.set(true);
        }
        Ok(())
    }

    /// Runs one command against the loaded ledger. Synchronous: no other request interleaves.
    fn execute(&self, envelope: &Envelope<SkuCommand>, now: DateTime<Utc>) -> Result<Answer> {
        if let Some(idempotency) = &envelope.idempotency {
            if self.may_be_recorded(&idempotency.key)? {
                if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                    return Ok(answer);
                }
            }
        }
        let mut slot = self.loaded.borrow_mut();
        let loaded = slot.as_mut().ok_or("ledger not loaded")?;
        let mut ctx = Ctx::new(envelope.actor.clone(), now);
        if let SkuCommand::Movement { occurred_at, .. } = &envelope.command {
            ctx.occurred_at = *occurred_at;
        }
        // Holds that are due expire first, whatever the request.
        let mut writes = Writes { entries: loaded.ledger.expire_due(&loaded.catalog, now), ..Writes::default() };
        let decided = self.decide(loaded, &envelope.command, &ctx, &mut writes);
        // An internal refusal is answered 200 `{"err": …}` but is not an outcome to replay: the
        // caller may send the same keyed step again once the cause is gone (an undefined SKU).
        let refused = decided.is_err();
        let answer = match (envelope.command.is_internal(), decided) {
            (false, Ok(answer)) => answer,
            (false, Err(error)) => Answer::error(error.into()),
            (true, Ok(answer)) => Answer { status: 200, body: serde_json::json!({ "ok": answer.body }) },
            (true, Err(error)) => Answer::ok(200, &serde_json::json!({ "err": error })),
        };
        let recorded = envelope.idempotency.as_ref().filter(|_| !refused).map(|key| (key, &answer));
        if let Err(error) = self.persist(loaded, writes, recorded, now) {
            drop(slot);
            *self.loaded.borrow_mut() = None;
            *self.known_keys.borrow_mut() = KnownKeys::Unread;
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
        let Loaded { ledger, catalog, .. } = loaded;
        match command {
            SkuCommand::Define { sku, spec } => {
                writes.entries.push(ledger.define(catalog, spec.clone(), ctx)?);
                if self.created.get() != Some(true) {
                    let text = serde_json::to_string(&*catalog).map_err(|e| EngineError::unavailable(e.to_string()))?;
                    writes.created = Some((sku.clone(), text));
                }
                let policy = ledger.policy().expect("defined");
                ok(
                    200,
                    &SkuResponse {
                        sku: sku.clone(),
                        name: policy.name.clone(),
                        safety_stock: policy.safety_stock,
                        unit_cost: policy.unit_cost,
                        barcodes: policy.barcodes.clone(),
                        critical: policy.critical,
                        substitutes: policy.substitutes.clone(),
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
                        position: AvailabilityResponse { availability, as_of: now, promise: None },
                        exceptions: outcome.exceptions,
                    },
                )
            }
            SkuCommand::Availability { channel, qty, .. } => {
                let channel = channel.as_ref().map(Id::as_str);
                let availability = ledger.availability(catalog, channel)?;
                let promise = qty.map(|qty| ledger.promise(catalog, channel, qty, now.date_naive())).transpose()?;
                ok(200, &AvailabilityResponse { availability, as_of: now, promise })
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
                reservation.mark_released(now)?;
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
                .map_err(|e| EngineError::unavailable(format!("reading entries: {e}")))?;
                // The audit trail is shown whole or not at all: an entry that does not parse is an
                // error, never silently left out.
                let entries: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| serde_json::from_str(&row.body))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| EngineError::unavailable(format!("a stored entry does not parse: {e}")))?;
                let next = entries.last().and_then(|e| e["version"].as_u64());
                ok(
                    200,
                    &serde_json::json!({ "sku": ledger.sku(), "version": ledger.version(), "entries": entries, "next_after_version": next }),
                )
            }
            SkuCommand::PlaceHold { hold, check_only, .. } => {
                if let Some(placed) = ledger.placed_hold(hold) {
                    return ok(200, placed);
                }
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
                ok(200, &hold)
            }
            SkuCommand::ExpectInbound { target, .. } => {
                let entry = ledger.expect_inbound(catalog, target.clone(), ctx)?;
                let versions: Vec<u64> = entry.iter().map(|e| e.version).collect();
                writes.entries.extend(entry);
                ok(200, &versions)
            }
            SkuCommand::ReceiveFromOrder { receipt, .. } => {
                let entries = ledger.receive_from_order(catalog, receipt, ctx)?;
                let versions: Vec<u64> = entries.iter().map(|e| e.version).collect();
                writes.entries.extend(entries);
                ok(200, &versions)
            }
            SkuCommand::Revalue { reference, qty, delta_per_unit, .. } => {
                let entry = ledger.revalue(catalog, reference, *qty, *delta_per_unit, ctx)?;
                let versions: Vec<u64> = entry.iter().map(|e| e.version).collect();
                writes.entries.extend(entry);
                ok(200, &versions)
            }
            SkuCommand::StockRead { channel, qty, .. } => {
                ok(200, &ledger.stock_read(catalog, channel.as_str(), *qty, now.date_naive())?)
            }
            SkuCommand::ShipHeld { holding, order, .. } => {
                let outcome = ledger.record_movement(catalog, holding.ship(order), ctx)?;
                let version = outcome.entry.version;
                writes.entries.push(outcome.entry);
                ok(200, &version)
            }
            SkuCommand::ReleaseHeld { holding, .. } => {
                let entry = ledger.release_allocation(
                    catalog,
                    holding.reservation.as_str(),
                    &holding.location,
                    holding.qty,
                    ctx,
                )?;
                let version = entry.version;
                writes.entries.push(entry);
                ok(200, &version)
            }
            SkuCommand::PrepareHold { id, .. } => {
                writes.entries.extend(ledger.prepare_hold(catalog, id.as_str(), ctx)?);
                ok(200, &HoldStatus::Pending)
            }
            SkuCommand::CommitHold { id, qty, .. } => {
                writes.entries.push(ledger.commit_hold(catalog, id.as_str(), Some(*qty), ctx)?);
                ok(200, &HoldStatus::Committed)
            }
            SkuCommand::ReleaseHold { id, .. } => {
                writes.entries.push(ledger.release_hold(catalog, id.as_str(), ctx)?);
                ok(200, &HoldStatus::Released)
            }
            SkuCommand::PutPolicy { sku, policy } => {
                policy.check(catalog)?;
                let lead_time = policy.lead_time(catalog)?;
                let stored =
                    StoredPolicy { policy: policy.clone(), updated_at: now, updated_by: ctx.actor.subject.clone() };
                writes.policy = Some(stored.clone());
                writes.plan_due_now = true;
                ok(
                    200,
                    &serde_json::json!({
                        "sku": sku,
                        "policy": stored.policy,
                        "lead_time": lead_time,
                        "updated_at": stored.updated_at,
                        "updated_by": stored.updated_by,
                    }),
                )
            }
            SkuCommand::ImportDemand { sku, import } => {
                if !ledger.is_defined() {
                    return Err(EngineError::not_found("sku", ledger.sku().as_str()));
                }
                import.check(catalog, now.date_naive())?;
                writes.demand_import = Some(import.clone());
                writes.plan_due_now = true;
                let total: i64 = import.days.iter().map(|day| day.qty).sum();
                ok(
                    200,
                    &serde_json::json!({
                        "sku": sku,
                        "location": import.location,
                        "days": import.days.len(),
                        "qty": total,
                    }),
                )
            }
            SkuCommand::Plan { location, .. } => {
                let plan =
                    self.plans(loaded, Some(std::slice::from_ref(location)), now)?.pop().expect("one scope, one plan");
                ok(200, &plan)
            }
            SkuCommand::PlanBasis { location, .. } => {
                let basis = self
                    .bases(loaded, Some(std::slice::from_ref(location)), now)?
                    .pop()
                    .expect("one scope, one basis")
                    .with_forecast();
                ok(200, &basis)
            }
            SkuCommand::Replica { .. } => {
                if !ledger.is_defined() {
                    return Err(EngineError::not_found("sku", ledger.sku().as_str()));
                }
                ok(200, &ReplicaSnapshot::of(ledger, catalog, now))
            }
            SkuCommand::Expedite { change, .. } => {
                if !ledger.is_defined() {
                    return Err(EngineError::not_found("sku", ledger.sku().as_str()));
                }
                let mut book = loaded.expedites.clone();
                let changed = book.apply(change.clone())?;
                writes.plan_due_now = changed;
                if book != loaded.expedites {
                    writes.expedites = Some(book);
                }
                ok(200, &serde_json::json!({ "changed": changed }))
            }
            SkuCommand::PolicyOf { .. } => ok(200, &loaded.policy.as_ref().map(|stored| &stored.policy)),
            SkuCommand::DemandOf { .. } => {
                let rows: Vec<DemandRow> =
                    store::rows(&self.sql(), "SELECT series, day, qty FROM demand ORDER BY series, day", vec![])
                        .map_err(|e| EngineError::unavailable(format!("reading demand history: {e}")))?;
                let mut days = Vec::with_capacity(rows.len());
                for row in rows {
                    let date = i32::try_from(row.day).ok().and_then(date_of).ok_or_else(|| {
                        EngineError::unavailable(format!("a stored demand day {} is not a date", row.day))
                    })?;
                    days.push((row.series, date, row.qty));
                }
                ok(200, &days)
            }
            SkuCommand::Catalog { .. } => unreachable!("answered above"),
        }
    }

    /// The SKU's plans now, from its stored demand history.
    fn plans(
        &self,
        loaded: &Loaded,
        scopes: Option<&[Option<Id>]>,
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<planning::Plan>, EngineError> {
        Ok(self.bases(loaded, scopes, now)?.iter().map(planning::PlanBasis::plan).collect())
    }

    /// What the plans of `scopes` (`None`: the ones a refresh plans) are computed from (see
    /// `planning::bases`).
    fn bases(
        &self,
        loaded: &Loaded,
        scopes: Option<&[Option<Id>]>,
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<planning::PlanBasis>, EngineError> {
        let (history, scopes) = self.history_and_scopes(loaded, scopes)?;
        let Loaded { ledger, catalog, policy, expedites, .. } = loaded;
        let policy = policy.as_ref().map(|stored| &stored.policy);
        planning::bases(ledger, catalog, policy, &history, now.date_naive(), &scopes, &expedites.open())
    }

    /// The stored demand history, and the scopes to plan (`None`: the ones a refresh plans).
    fn history_and_scopes(
        &self,
        loaded: &Loaded,
        scopes: Option<&[Option<Id>]>,
    ) -> std::result::Result<(DemandHistory, Vec<Option<Id>>), EngineError> {
        let rows: Vec<DemandRow> = store::rows(&self.sql(), "SELECT series, day, qty FROM demand", vec![])
            .map_err(|e| EngineError::unavailable(format!("reading demand history: {e}")))?;
        let mut history = DemandHistory::default();
        for row in rows {
            let date = i32::try_from(row.day)
                .ok()
                .and_then(date_of)
                .ok_or_else(|| EngineError::unavailable(format!("a stored demand day {} is not a date", row.day)))?;
            history.set(&row.series, date, row.qty);
        }
        let scopes = match scopes {
            Some(scopes) => scopes.to_vec(),
            None => planning::refresh_scopes(&loaded.ledger, &loaded.catalog, &history),
        };
        Ok((history, scopes))
    }

    /// The recent days it was out of stock, today's included when it is out now.
    fn stockout_days(&self, now: DateTime<Utc>) -> Result<Vec<NaiveDate>> {
        #[derive(Deserialize)]
        struct Row {
            day: i64,
        }
        #[derive(Deserialize)]
        struct Last {
            day: Option<i64>,
        }
        let today = day_of(now.date_naive());
        let last: Option<Last> = store::first(&self.sql(), "SELECT MAX(day) AS day FROM stockout_days", vec![])?;
        let last_out = match last.and_then(|last| last.day) {
            Some(day) => Some(
                i32::try_from(day)
                    .ok()
                    .and_then(date_of)
                    .ok_or_else(|| worker::Error::from(format!("a stored stockout day {day} is not a date")))?,
            ),
            None => None,
        };
        let out_now = {
            let slot = self.loaded.borrow();
            let loaded = slot.as_ref().ok_or("ledger not loaded")?;
            loaded.ledger.is_defined()
                && planning::stockout_day(&loaded.ledger, &loaded.catalog, &[], last_out, now.date_naive())
        };
        if out_now {
            store::exec(
                &self.sql(),
                "INSERT OR IGNORE INTO stockout_days (day) VALUES (?)",
                vec![i64::from(today).into()],
            )?;
        }
        let since = i64::from(today - planning::STOCKOUT_REPORT_DAYS + 1);
        let rows: Vec<Row> =
            store::rows(&self.sql(), "SELECT day FROM stockout_days WHERE day >= ? ORDER BY day", vec![since.into()])?;
        rows.into_iter()
            .map(|row| {
                i32::try_from(row.day)
                    .ok()
                    .and_then(date_of)
                    .ok_or_else(|| worker::Error::from(format!("a stored stockout day {} is not a date", row.day)))
            })
            .collect()
    }

    /// Refreshes the plan when it is due and hands its summary to the Directory (the
    /// replenishment list and the alerts read it there, not from 10,000 objects). Prunes demand
    /// older than the history keeps.
    async fn refresh_plan(&self, now: DateTime<Utc>) -> Result<()> {
        let summary = {
            let slot = self.loaded.borrow();
            let loaded = slot.as_ref().ok_or("ledger not loaded")?;
            if loaded.plan_due_ms.is_none_or(|due| due > now.timestamp_millis()) {
                return Ok(());
            }
            loaded.policy.as_ref().map(|_| {
                self.plans(loaded, None, now).map(|plans| {
                    let mut summaries: Vec<_> = plans.iter().map(planning::Plan::summary).collect();
                    planning::age_summaries(&mut summaries, &loaded.aging, now.date_naive());
                    summaries
                })
            })
        };
        let stockout_days = self.stockout_days(now)?;
        let next_ms = match summary {
            None => None,
            Some(Err(error)) => {
                worker::console_error!("plan refresh failed (retried): {error}");
                Some(now.timestamp_millis() + PLAN_RETRY_MS)
            }
            Some(Ok(summaries)) => {
                let stub = directory_stub(&self.env)?;
                let sku = self.held_sku()?.ok_or("a planned SKU has an id")?;
                let command = Envelope::system(DirectoryCommand::PlanSummaries { sku, summaries, stockout_days });
                match call(&stub, "/directory", &command).await {
                    Ok(answer) if answer.status == 200 => Some(now.timestamp_millis() + PLAN_REFRESH_EVERY_MS),
                    Ok(answer) => {
                        worker::console_error!("directory refused a plan summary: {} {}", answer.status, answer.body);
                        Some(now.timestamp_millis() + PLAN_RETRY_MS)
                    }
                    Err(error) => {
                        worker::console_error!("plan summary not delivered (retried): {error}");
                        Some(now.timestamp_millis() + PLAN_RETRY_MS)
                    }
                }
            }
        };
        let oldest = planning::oldest_kept(now.date_naive());
        store::exec(&self.sql(), "DELETE FROM demand WHERE day < ?", vec![i64::from(oldest).into()])?;
        store::exec(&self.sql(), "DELETE FROM stockout_days WHERE day < ?", vec![i64::from(oldest).into()])?;
        match next_ms {
            Some(ms) => self.set_meta("plan_due_ms", ms.to_string())?,
            None => store::exec(&self.sql(), "DELETE FROM meta WHERE key = 'plan_due_ms'", vec![])?,
        }
        if let Some(loaded) = self.loaded.borrow_mut().as_mut() {
            loaded.plan_due_ms = next_ms;
        }
        Ok(())
    }

    fn reservation(&self, id: &Id) -> std::result::Result<Reservation, EngineError> {
        match store::load_reservation(&self.sql(), id.as_str()) {
            Ok(Some(reservation)) => Ok(reservation),
            Ok(None) => Err(EngineError::not_found("reservation", id.as_str())),
            Err(error) => Err(EngineError::unavailable(format!("reading reservation: {error}"))),
        }
    }

    /// Sets the alarm to the soonest of the next hold expiry, the plan refresh, the feed send
    /// (or the linger after one) when it is earlier than the one set; with none of those, to the
    /// next housekeeping run while anything waits to be pruned.
    async fn schedule_alarm(&self) -> Result<()> {
        let (expiry_ms, plan_due_ms, version, feed_delay_ms) = match self.loaded.borrow().as_ref() {
            Some(loaded) => (
                loaded.ledger.next_expiry().map(|t| t.timestamp_millis()),
                loaded.plan_due_ms,
                loaded.ledger.version(),
                feed::send_delay_ms(loaded.ledger.sku().as_str()),
            ),
            None => (None, None, 0, feed::SEND_DELAY_MS),
        };
        if version > self.fed_version()? && self.feed_due_ms.get().is_none() {
            self.feed_due_ms.set(Some(now()?.timestamp_millis() + feed_delay_ms));
        }
        let soonest =
            [expiry_ms, plan_due_ms, self.feed_due_ms.get(), self.feed_linger_ms.get()].into_iter().flatten().min();
        let next_ms = match soonest {
            Some(ms) => Some(ms),
            None if self.alarm_at_ms.get().is_none() && self.prunable.get() => {
                Some(now()?.timestamp_millis() + HOUSEKEEPING_EVERY_MS)
            }
            None => None,
        };
        if let Some(next_ms) = next_ms {
            self.alarm_by(next_ms).await?;
        }
        Ok(())
    }

    /// Makes sure the alarm fires by `at_ms`: one set sooner is kept.
    async fn alarm_by(&self, at_ms: i64) -> Result<()> {
        if self.alarm_at_ms.get().is_none_or(|set| at_ms < set) {
            let at = worker::js_sys::Date::new(&(at_ms as f64).into());
            self.state.storage().set_alarm(ScheduledTime::new(at)).await?;
            self.alarm_at_ms.set(Some(at_ms));
        }
        Ok(())
    }

    /// The version the event feed holds of this SKU's entries (0 before the first send).
    fn fed_version(&self) -> Result<u64> {
        if let Some(version) = self.fed_version.get() {
            return Ok(version);
        }
        let version = match self.meta("fed_version")? {
            Some(text) => text.parse::<u64>().map_err(|e| format!("meta fed_version {text:?}: {e}"))?,
            None => 0,
        };
        self.fed_version.set(Some(version));
        self.fed_version_stored.set(Some(version));
        Ok(version)
    }

    /// Hands the entries the feed does not hold yet to it, one batch, oldest first; the next
    /// batch is due at once while more wait, and a failed send is tried again later. Answers
    /// whether there was anything to send.
    async fn send_feed(&self, sku: &Id, now: DateTime<Utc>) -> Result<bool> {
        let fed = self.fed_version()?;
        let rows: Vec<EntryRow> = store::rows(
            &self.sql(),
            "SELECT body FROM entries WHERE version > ? ORDER BY version LIMIT ?",
            vec![(fed as i64).into(), (FEED_BATCH_MAX as i64).into()],
        )?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            events.push(feed_entry_json(sku, &row.body).map_err(engine_error)?);
        }
        let last = match events.last() {
            None => fed,
            Some(_) => {
                let stream = Stream::new(StreamKind::Sku, sku.clone()).to_string();
                let held = feed::append(&self.env, events).await?;
                let last = held.get(&stream).copied().unwrap_or(fed);
                // Stored with the next write (`persist`), not in a transaction of its own.
                self.fed_version.set(Some(last));
                last
            }
        };
        let version = self.loaded.borrow().as_ref().map_or(last, |loaded| loaded.ledger.version());
        self.feed_due_ms.set((version > last).then_some(now.timestamp_millis()));
        Ok(!rows.is_empty())
    }

    /// Whether `PUT /v1/skus/{sku}` created this SKU (read once, then cached).
    fn is_created(&self) -> Result<bool> {
        if let Some(created) = self.created.get() {
            return Ok(created);
        }
        let created = self.meta("sku")?.is_some();
        if created {
            // A SKU never stops existing; "not created" is re-read, as a Define may come.
            self.created.set(Some(true));
        }
        Ok(created)
    }

    /// The Directory pushes a newer catalog. An object that holds no SKU ignores it (it keeps
    /// no state), so the push to it is done.
    fn take_catalog(&self, pushed: &Catalog) -> Result<Answer> {
        if !self.is_created()? {
            return Ok(Answer::ok(200, &serde_json::json!({ "version": pushed.version(), "ignored": true })));
        }
        let now_ms = now()?.timestamp_millis();
        let stored_version = match self.loaded.borrow().as_ref() {
            Some(loaded) => loaded.catalog.version(),
            None => match self.meta("catalog")? {
                Some(text) => serde_json::from_str::<Catalog>(&text)?.version(),
                None => 0,
            },
        };
        if pushed.version() > stored_version {
            self.set_meta("catalog", serde_json::to_string(pushed)?)?;
            if let Some(loaded) = self.loaded.borrow_mut().as_mut() {
                loaded.catalog = pushed.clone();
                loaded.catalog_checked_at_ms = now_ms;
            }
        }
        Ok(Answer::ok(200, &serde_json::json!({ "version": pushed.version().max(stored_version) })))
    }

    async fn handle(&self, envelope: Envelope<SkuCommand>) -> Result<Answer> {
        if let SkuCommand::Catalog { catalog } = &envelope.command {
            return self.take_catalog(catalog);
        }
        let Some(sku) = self.sku_of(&envelope.command)? else {
            // An object never used: a reservation id pointing here names nothing.
            return Ok(Answer::error(ApiError::not_found("reservation")));
        };
        let created_before = self.is_created()?;
        if !matches!(envelope.command, SkuCommand::Define { .. }) && !created_before {
            // Never created: answer without loading, fetching or subscribing anything.
            let error = EngineError::not_found("sku", sku.as_str());
            return Ok(match envelope.command.is_internal() {
                true => Answer::ok(200, &serde_json::json!({ "err": error })),
                false => Answer::error(error.into()),
            });
        }
        let refresh = match envelope.min_catalog_version {
            Some(version) => Refresh::Below(version),
            None => Refresh::IfStale,
        };
        self.ensure_loaded(&sku, refresh).await?;
        if !envelope.command.is_read() && self.alarm_at_ms.get().is_none() {
            // What a write records reaches the event feed from the alarm. Armed before the write
            // is stored, so that a crash right after the commit still sends it.
            let due_ms = now()?.timestamp_millis() + feed::send_delay_ms(sku.as_str());
            self.alarm_by(due_ms).await?;
            self.feed_due_ms.set(Some(due_ms));
        }
        let mut answer = self.execute(&envelope, now()?)?;
        let missing = match envelope.command.is_internal() {
            true => &answer.body["err"]["not_found"]["kind"],
            false => &answer.body["error"]["details"]["kind"],
        };
        if matches!(missing.as_str(), Some("location" | "channel" | "supplier")) {
            // Our catalog copy may miss a location, channel or supplier created a moment ago.
            self.ensure_loaded(&sku, Refresh::Now).await?;
            answer = self.execute(&envelope, now()?)?;
        }
        let defined = matches!(envelope.command, SkuCommand::Define { .. }) && answer.status == 200;
        if defined && self.created.get() == Some(true) {
            // Created or changed: subscribe to catalog changes with the item as it now is (for
            // the item index), and take the catalog the subscription answers if it is newer than
            // the one the Define was decided with. If this fails the SKU subscribes again at its
            // next catalog refresh (at most 60 s on).
            if let Err(error) = self.ensure_loaded(&sku, Refresh::Now).await {
                worker::console_error!("sku {sku}: subscribing to catalog changes failed: {error}");
            }
        }
        // The answer stands (the write, if any, is stored) whether or not the alarm could be set.
        if let Err(error) = self.schedule_alarm().await {
            worker::console_error!("sku {sku}: setting the alarm failed (the next request tries again): {error}");
            self.alarm_at_ms.set(None);
        }
        Ok(answer)
    }
}

/// Stores changed age layers (a layer emptied is deleted).
fn save_layers(sql: &SqlStorage, layers: &[LayerRow]) -> Result<()> {
    for layer in layers {
        let key: Vec<worker::SqlStorageValue> =
            vec![layer.location.as_str().into(), layer.bucket.as_str().into(), i64::from(layer.day).into()];
        if layer.qty == 0 {
            store::exec(sql, "DELETE FROM age_layers WHERE location = ? AND bucket = ? AND day = ?", key)?;
        } else {
            let mut bindings = key;
            bindings.push(layer.qty.into());
            store::exec(
                sql,
                "INSERT INTO age_layers (location, bucket, day, qty) VALUES (?, ?, ?, ?)
                 ON CONFLICT(location, bucket, day) DO UPDATE SET qty = excluded.qty",
                bindings,
            )?;
        }
    }
    Ok(())
}

impl DurableObject for SkuObject {
    fn new(state: State, env: Env) -> Self {
        let _ = state.storage().sql().exec(store::SCHEMA, None);
        let _ = state
            .storage()
            .sql()
            .exec("CREATE TABLE IF NOT EXISTS entries (version INTEGER PRIMARY KEY, body TEXT NOT NULL)", None);
        // Daily demand by series (a location, or `*` for imported totals) and day since 1970-01-01;
        // the days it was out of stock.
        let _ = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS demand (series TEXT NOT NULL, day INTEGER NOT NULL, qty INTEGER NOT NULL,
             PRIMARY KEY (series, day));
             CREATE TABLE IF NOT EXISTS stockout_days (day INTEGER PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS age_layers (location TEXT NOT NULL, bucket TEXT NOT NULL, day INTEGER NOT NULL,
                 qty INTEGER NOT NULL, PRIMARY KEY (location, bucket, day));",
            None,
        );
        SkuObject {
            state,
            env,
            loaded: RefCell::new(None),
            alarm_at_ms: Cell::new(None),
            created: Cell::new(None),
            prunable: Cell::new(true),
            fed_version: Cell::new(None),
            fed_version_stored: Cell::new(None),
            feed_due_ms: Cell::new(None),
            feed_linger_ms: Cell::new(None),
            pruned_at_ms: Cell::new(None),
            known_keys: RefCell::new(KnownKeys::Unread),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "sku ledger", |envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at_ms.set(None);
        let Some(sku) = self.held_sku()? else {
            return Response::ok("nothing to expire");
        };
        self.ensure_loaded(&sku, Refresh::IfStale).await?;
        let now = now()?;
        {
            let mut slot = self.loaded.borrow_mut();
            let loaded = slot.as_mut().ok_or("ledger not loaded")?;
            let entries = loaded.ledger.expire_due(&loaded.catalog, now);
            if let Err(error) = self.persist(loaded, Writes { entries, ..Writes::default() }, None, now) {
                drop(slot);
                *self.loaded.borrow_mut() = None;
                return Err(error);
            }
        }
        let now_ms = now.timestamp_millis();
        let lingered = self.feed_linger_ms.get().is_some_and(|at_ms| at_ms <= now_ms);
        if lingered {
            self.feed_linger_ms.set(None);
        }
        // Due, or written while the alarm lingered after the last send: sent now.
        if self.feed_due_ms.get().is_some_and(|due_ms| due_ms <= now_ms || lingered) {
            match self.send_feed(&sku, now).await {
                Ok(true) => self.feed_linger_ms.set(Some(now_ms + feed::send_delay_ms(sku.as_str()))),
                Ok(false) => {}
                Err(error) => {
                    worker::console_error!(
                        "sku {sku}: sending entries to the feed failed (tried again later): {error}"
                    );
                    self.feed_due_ms.set(Some(now_ms + feed::SEND_RETRY_MS));
                }
            }
        } else if lingered {
            // Nothing written since the last send: the SKU went quiet. Its fed_version is stored
            // now rather than with a next write that may be far off (an object restarted with a
            // lagging one sends the feed entries it holds again).
            if let Some(fed) = self.fed_version_unstored() {
                self.set_meta("fed_version", fed.to_string())?;
                self.fed_version_stored.set(Some(fed));
            }
        }
        self.refresh_plan(now).await?;
        if self.pruned_at_ms.get().is_none_or(|at_ms| now_ms - at_ms >= PRUNE_EVERY_MS) {
            *self.known_keys.borrow_mut() = KnownKeys::Unread;
            store::prune(&self.sql(), now)?;
            self.prunable.set(store::has_prunable(&self.sql())?);
            self.pruned_at_ms.set(Some(now_ms));
        }
        self.schedule_alarm().await?;
        Response::ok("ok")
    }
}
