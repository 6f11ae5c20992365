//! `ReservationCoordinator`: owns multi-SKU (and keyed) reservations, 32 shards. It is a thin
//! host for two engine state machines:
//!
//! - placing: `Placement::checked_first` — every SKU is checked before any hold is placed, so an
//!   unknown SKU or channel or a shortage visible up front leaves no trace; holds are then placed
//!   one SKU at a time in SKU-id order and voided if one fails after all (a race);
//! - resolving: the reservation record's own protocol (`begin_commit` / `begin_release`,
//!   `due_steps`, `step_succeeded` / `step_failed`) — a two-phase commit with presumed abort. The
//!   record, with its decision, is saved before every round of steps, so a crash or a failed call
//!   is driven to the end later (by the next request for it, or by the alarm).
//!
//! Between objects, answers are typed: a SKU object answers `{"ok": value}` or `{"err":
//! EngineError}`; a call that fails on the way is `EngineError::Unavailable`.

use crate::busy::{Alarm, Busy};
use crate::http::{now, serve, sku_call, Answer, Envelope, Idempotency};
use crate::protocol::{CoordinatorCommand, SkuCommand};
use crate::store;
use chrono::{DateTime, Utc};
use futures_channel::oneshot;
use futures_util::future::join_all;
use futures_util::future::{select, Either};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use stockline_engine::{
    Actor, CoordStep, EngineError, Hold, HoldRequest, Id, PlaceStep, Placement, Reservation, ReservationRequest,
};
use stockline_shared::ApiError;
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State};

/// How long a request waits for another with the same key or reservation to end.
const BUSY_WAIT_MS: u64 = 10_000;
/// Rounds of steps one request drives before it leaves the rest to the alarm.
const DRIVE_ROUNDS_MAX: u32 = 8;
/// The alarm's retry interval while a reservation is not settled, and its housekeeping interval.
const RETRY_MS: i64 = 1_000;
const HOUSEKEEPING_EVERY_MS: i64 = 60 * 60 * 1000;
/// Unsettled reservations one alarm run drives.
const ALARM_BATCH_MAX: i64 = 64;

/// Reservations with a decision not yet carried out on every SKU: when it began, when to try
/// again, and the Idempotency-Key (with fingerprint) of the request that began it, under which the
/// final answer is recorded once it settles — so a retry with that key gets the real outcome.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS unsettled (id TEXT PRIMARY KEY, since_ms INTEGER NOT NULL,
         next_try_ms INTEGER NOT NULL, attempts INTEGER NOT NULL, key TEXT, fingerprint TEXT);
     CREATE INDEX IF NOT EXISTS unsettled_next_try ON unsettled (next_try_ms);";
/// The longest wait between two tries of one unsettled reservation.
const RETRY_MS_MAX: i64 = 60_000;

#[durable_object]
pub struct ReservationCoordinator {
    state: State,
    env: Env,
    /// Idempotency keys and reservation ids with a request in progress (`key:…`, `id:…`), each
    /// with the requests waiting for it to end: woken when it ends, not polling.
    busy: RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    alarm: Alarm,
}

fn answer_of(result: std::result::Result<(), EngineError>, reservation: &Reservation, now: DateTime<Utc>) -> Answer {
    match result {
        Ok(()) => Answer::ok(200, &reservation.clone().at(now)),
        Err(error) => Answer::error(error.into()),
    }
}

impl ReservationCoordinator {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Sends one hold command to a SKU's object and reads its typed answer.
    async fn to_sku<T: serde::de::DeserializeOwned>(
        &self,
        actor: &Actor,
        sku: &Id,
        command: SkuCommand,
    ) -> std::result::Result<T, EngineError> {
        let envelope = Envelope { actor: actor.clone(), idempotency: None, command, min_catalog_version: None };
        sku_call(&self.env, sku, &envelope).await
    }

    async fn reserve(
        &self,
        actor: &Actor,
        id: &Id,
        request: &ReservationRequest,
        now: DateTime<Utc>,
    ) -> Result<Answer> {
        if let Err(error) = request.validate() {
            return Ok(Answer::error(error.into()));
        }
        if let Some(record) = self.load(id)? {
            if request.placed_as(&record) {
                return Ok(Answer::ok(201, &record));
            }
            return Ok(Answer::error(EngineError::conflict(format!("reservation `{id}` already exists")).into()));
        }
        let expires_at = request.expires_at(now);
        // One SKU's ledger places all its lines or none: nothing to check first.
        let mut placement =
            if request.skus().len() == 1 { Placement::new(request) } else { Placement::checked_first(request) };
        let mut holds: Vec<(Id, Hold)> = Vec::new();
        // SKUs whose place call failed on the way: the hold may exist there; void it too.
        let mut unknown: Vec<Id> = Vec::new();
        loop {
            match placement.step() {
                step @ (PlaceStep::Place(_) | PlaceStep::Check(_)) => {
                    let (sku, check_only) = match step {
                        PlaceStep::Place(sku) => (sku, false),
                        PlaceStep::Check(sku) => (sku, true),
                        _ => unreachable!("matched above"),
                    };
                    let hold = HoldRequest {
                        id: id.clone(),
                        channel: request.channel.clone(),
                        lines: request.hold_lines(&sku),
                        expires_at,
                        reference: request.reference.clone(),
                    };
                    let command = SkuCommand::PlaceHold { sku: sku.clone(), hold, check_only };
                    match self.to_sku::<Hold>(actor, &sku, command).await {
                        Ok(hold) => {
                            if !check_only {
                                holds.push((sku.clone(), hold));
                            }
                            placement.succeeded(&sku);
                        }
                        Err(error) => {
                            if !check_only && matches!(error, EngineError::Unavailable { .. }) {
                                unknown.push(sku.clone());
                            }
                            placement.refused(&sku, error);
                        }
                    }
                }
                PlaceStep::Void(sku) => {
                    self.void(actor, id, &sku).await;
                    holds.retain(|(held, _)| held != &sku);
                    placement.voided(&sku);
                }
                PlaceStep::Held => {
                    let reservation = request.record(id.clone(), now, &holds);
                    if let Err(error) = store::save_reservation(&self.sql(), &reservation, now) {
                        // No record, no reservation: give the units back now, not at expiry.
                        for (sku, _) in &holds {
                            self.void(actor, id, sku).await;
                        }
                        return Err(error);
                    }
                    return Ok(Answer::ok(201, &reservation));
                }
                PlaceStep::Failed(error) => {
                    for sku in &unknown {
                        self.void(actor, id, sku).await;
                    }
                    return Ok(Answer::error(error.into()));
                }
            }
        }
    }

    /// Releases a hold this reservation placed (or may have placed). A failure is logged: the
    /// hold's own expiry frees the units.
    async fn void(&self, actor: &Actor, id: &Id, sku: &Id) {
        let command = SkuCommand::ReleaseHold { sku: sku.clone(), id: id.clone() };
        match self.to_sku::<serde_json::Value>(actor, sku, command).await {
            Ok(_) | Err(EngineError::NotFound { .. } | EngineError::AlreadyResolved { .. }) => {}
            Err(error) => worker::console_error!("voiding {id} at {sku} failed (its expiry frees it): {error}"),
        }
    }

    fn load(&self, id: &Id) -> Result<Option<Reservation>> {
        store::load_reservation(&self.sql(), id.as_str())
    }

    /// Saves the record with its decision, and keeps the unsettled list in step, in one transaction.
    /// `key` is the Idempotency-Key of the request that began the decision (kept with it); when the
    /// record settles, its final answer is recorded under the key kept.
    fn save(&self, reservation: &Reservation, now: DateTime<Utc>, key: Option<&Idempotency>) -> Result<()> {
        #[derive(Deserialize)]
        struct KeyRow {
            key: Option<String>,
            fingerprint: Option<String>,
        }
        let sql = self.sql();
        let record = reservation.clone();
        let settled = reservation.is_settled();
        let final_answer = reservation.outcome().map(|outcome| answer_of(outcome, reservation, now));
        let (key, fingerprint) = match key {
            Some(key) => (Some(key.key.clone()), Some(key.fingerprint.clone())),
            None => (None, None),
        };
        let now_ms = now.timestamp_millis();
        store::transaction(&self.state.storage(), move || {
            store::save_reservation(&sql, &record, now)?;
            let id = record.id.as_str();
            if !settled {
                return store::exec(
                    &sql,
                    "INSERT INTO unsettled (id, since_ms, next_try_ms, attempts, key, fingerprint)
                     VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT(id) DO UPDATE SET
                     key = COALESCE(excluded.key, key), fingerprint = COALESCE(excluded.fingerprint, fingerprint)",
                    vec![id.into(), now_ms.into(), (now_ms + RETRY_MS).into(), key.into(), fingerprint.into()],
                );
            }
            let kept: Option<KeyRow> =
                store::first(&sql, "SELECT key, fingerprint FROM unsettled WHERE id = ?", vec![id.into()])?;
            if let (Some(KeyRow { key: Some(key), fingerprint: Some(fingerprint) }), Some(answer)) =
                (kept, final_answer)
            {
                store::record_answer(&sql, &Idempotency { key, fingerprint }, &answer, now)?;
            }
            store::exec(&sql, "DELETE FROM unsettled WHERE id = ?", vec![id.into()])
        })
    }

    /// Drives a decided reservation: each round sends every due step (concurrently), reports the
    /// answers to the record, and saves it. Stops when settled or after `DRIVE_ROUNDS_MAX` rounds
    /// (the alarm goes on from there).
    async fn drive(&self, actor: &Actor, reservation: &mut Reservation) -> Result<()> {
        for _ in 0..DRIVE_ROUNDS_MAX {
            let steps = reservation.due_steps();
            if steps.is_empty() {
                return Ok(());
            }
            let id = reservation.id.clone();
            let calls = steps.iter().map(|step| {
                let command = match step {
                    CoordStep::Prepare(sku) => SkuCommand::PrepareHold { sku: sku.clone(), id: id.clone() },
                    CoordStep::Commit(sku, qty) => {
                        SkuCommand::CommitHold { sku: sku.clone(), id: id.clone(), qty: *qty }
                    }
                    CoordStep::Release(sku) => SkuCommand::ReleaseHold { sku: sku.clone(), id: id.clone() },
                };
                self.to_sku::<serde_json::Value>(actor, step.sku(), command)
            });
            let answers = join_all(calls).await;
            let mut transient = false;
            for (step, answer) in steps.iter().zip(answers) {
                match answer {
                    Ok(_) => reservation.step_succeeded(step),
                    Err(error) => {
                        transient |= matches!(error, EngineError::Unavailable { .. });
                        if let Err(contradiction) = reservation.step_failed(step, error) {
                            worker::console_error!(
                                "reservation {id}: {step:?} contradicts the protocol: {contradiction}"
                            );
                        }
                    }
                }
            }
            self.save(reservation, now()?, None)?;
            if transient {
                Delay::from(std::time::Duration::from_millis(50)).await;
            }
        }
        if !reservation.is_settled() {
            self.arm(RETRY_MS).await?;
        }
        Ok(())
    }

    /// Finishes whatever an earlier request or crash left in progress for this reservation.
    async fn resume(&self, actor: &Actor, reservation: &mut Reservation, now: DateTime<Utc>) -> Result<()> {
        if reservation.is_settled() {
            return Ok(());
        }
        // Whatever happens to this request, the alarm comes back to it.
        self.arm(RETRY_MS).await?;
        let began_at = self.unsettled_since(&reservation.id)?.unwrap_or(now);
        if reservation.abort_if_stale(began_at, now) {
            self.save(reservation, now, None)?;
        }
        self.drive(actor, reservation).await
    }

    /// When the decision in progress began (kept in `unsettled`).
    fn unsettled_since(&self, id: &Id) -> Result<Option<DateTime<Utc>>> {
        #[derive(Deserialize)]
        struct Since {
            since_ms: i64,
        }
        let row = store::first::<Since>(
            &self.sql(),
            "SELECT since_ms FROM unsettled WHERE id = ?",
            vec![id.as_str().into()],
        )?;
        row.map(|row| {
            DateTime::from_timestamp_millis(row.since_ms)
                .ok_or_else(|| worker::Error::RustError(format!("stored since_ms {} is not a time", row.since_ms)))
        })
        .transpose()
    }

    /// Commit or release: finish what is in progress, begin (`begin` checks and records the
    /// decision), save before any SKU is asked, drive, and answer the outcome. A crash from the
    /// save on is finished or aborted later, never left half-done.
    async fn resolve(
        &self,
        actor: &Actor,
        id: &Id,
        key: Option<&Idempotency>,
        now: DateTime<Utc>,
        begin: impl FnOnce(&mut Reservation) -> std::result::Result<(), EngineError>,
    ) -> Result<Answer> {
        let Some(mut reservation) = self.load(id)? else {
            return Ok(Answer::error(ApiError::not_found("reservation")));
        };
        self.resume(actor, &mut reservation, now).await?;
        if let Some(key) = key {
            // This key's own earlier request began what `resume` just finished: its answer.
            if let Some(answer) = store::recorded_answer(&self.sql(), key, now)? {
                return Ok(answer);
            }
        }
        if let Err(error) = begin(&mut reservation) {
            return Ok(Answer::error(error.into()));
        }
        self.save(&reservation, now, key)?;
        // Before any SKU is asked: whatever happens to this request, the alarm finishes it.
        self.arm(RETRY_MS).await?;
        self.drive(actor, &mut reservation).await?;
        Ok(match reservation.outcome() {
            Some(result) => answer_of(result, &reservation, now),
            None => Answer::error(ApiError::unavailable("in progress and will be finished; retry to see the result")),
        })
    }

    async fn handle(&self, envelope: Envelope<CoordinatorCommand>) -> Result<Answer> {
        let now = now()?;
        if let Some(idempotency) = &envelope.idempotency {
            if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                return Ok(answer);
            }
        }
        let id = envelope.command.reservation();
        let mut keys = vec![format!("id:{id}")];
        if let Some(idempotency) = &envelope.idempotency {
            keys.push(format!("key:{}", idempotency.key));
        }
        if !matches!(envelope.command, CoordinatorCommand::Get { .. }) {
            // A request whose key or reservation is in progress waits for it (then answers the
            // recorded response), or after BUSY_WAIT_MS gets 409; it never applies twice.
            let deadline_ms = now.timestamp_millis() + BUSY_WAIT_MS as i64;
            let in_progress = || {
                Answer::error(ApiError::conflict(
                    "another request for this reservation or Idempotency-Key is in progress; retry",
                ))
            };
            loop {
                let busy_key = keys.iter().find(|key| self.busy.borrow().contains_key(*key)).cloned();
                let Some(busy_key) = busy_key else { break };
                let left_ms = deadline_ms - crate::http::now()?.timestamp_millis();
                if left_ms <= 0 {
                    return Ok(in_progress());
                }
                let (wake, woken) = oneshot::channel();
                self.busy.borrow_mut().entry(busy_key).or_default().push(wake);
                let timeout = Delay::from(std::time::Duration::from_millis(left_ms as u64));
                if let Either::Right(_) = select(woken, Box::pin(timeout)).await {
                    return Ok(in_progress());
                }
                if let Some(idempotency) = &envelope.idempotency {
                    if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                        return Ok(answer);
                    }
                }
            }
            self.busy.borrow_mut().extend(keys.iter().map(|key| (key.clone(), Vec::new())));
        } else {
            keys.clear();
        }
        let _busy = Busy { set: &self.busy, keys };
        let actor = &envelope.actor;
        let key = envelope.idempotency.as_ref();
        let answer = match &envelope.command {
            CoordinatorCommand::Reserve { id, request } => self.reserve(actor, id, request, now).await?,
            CoordinatorCommand::Commit { id, request } => {
                self.resolve(actor, id, key, now, |reservation| reservation.begin_commit(request, now)).await?
            }
            CoordinatorCommand::Release { id } => {
                self.resolve(actor, id, key, now, |reservation| reservation.begin_release(now)).await?
            }
            CoordinatorCommand::Get { id } => match self.load(id)? {
                Some(reservation) => Answer::ok(200, &reservation.at(now)),
                None => Answer::error(ApiError::not_found("reservation")),
            },
        };
        if let Some(idempotency) = &envelope.idempotency {
            store::record_answer(&self.sql(), idempotency, &answer, now)?;
        }
        // The answer stands whether or not the housekeeping alarm could be set (the next
        // request sets it).
        if let Err(error) = self.arm(HOUSEKEEPING_EVERY_MS).await {
            worker::console_error!("coordinator: setting the housekeeping alarm failed: {error}");
        }
        Ok(answer)
    }

    /// Sets the alarm `in_ms` from now unless one is set sooner.
    async fn arm(&self, in_ms: i64) -> Result<()> {
        self.alarm.arm(&self.state, in_ms).await
    }

    /// Drives the unsettled reservations that are due (crash recovery, failed calls), each tried
    /// again later with a growing wait when it does not settle, then prunes old records.
    async fn run_alarm(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Due {
            id: String,
            attempts: i64,
        }
        let now = now()?;
        let now_ms = now.timestamp_millis();
        let due: Vec<Due> = store::rows(
            &self.sql(),
            "SELECT id, attempts FROM unsettled WHERE next_try_ms <= ? ORDER BY next_try_ms LIMIT ?",
            vec![now_ms.into(), ALARM_BATCH_MAX.into()],
        )?;
        for row in due {
            if let Err(error) = self.retry_unsettled(&row.id, now).await {
                worker::console_error!("coordinator: reservation {} is still unsettled: {error}", row.id);
            }
            let wait_ms = (RETRY_MS << row.attempts.clamp(0, 6)).min(RETRY_MS_MAX);
            store::exec(
                &self.sql(),
                "UPDATE unsettled SET next_try_ms = ?, attempts = attempts + 1 WHERE id = ?",
                vec![(now_ms + wait_ms).into(), row.id.as_str().into()],
            )?;
        }
        store::prune(&self.sql(), now)?;
        #[derive(Deserialize)]
        struct Next {
            next_try_ms: i64,
        }
        let next = store::first::<Next>(&self.sql(), "SELECT MIN(next_try_ms) AS next_try_ms FROM unsettled", vec![])
            .ok()
            .flatten();
        match next {
            Some(next) => self.arm((next.next_try_ms - now_ms).max(0)).await?,
            None if store::has_prunable(&self.sql())? => self.arm(HOUSEKEEPING_EVERY_MS).await?,
            None => {}
        }
        Ok(())
    }

    async fn retry_unsettled(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        let id = Id::new(id).map_err(|e| worker::Error::RustError(e.to_string()))?;
        if self.busy.borrow().contains_key(&format!("id:{id}")) {
            return Ok(()); // a request is driving it now
        }
        let Some(mut reservation) = self.load(&id)? else {
            return store::exec(&self.sql(), "DELETE FROM unsettled WHERE id = ?", vec![id.as_str().into()]);
        };
        let _busy = Busy { set: &self.busy, keys: vec![format!("id:{id}")] };
        self.busy.borrow_mut().insert(format!("id:{id}"), Vec::new());
        self.resume(&Actor::system(), &mut reservation, now).await?;
        if reservation.is_settled() {
            self.save(&reservation, now, None)?;
        }
        Ok(())
    }
}

impl DurableObject for ReservationCoordinator {
    fn new(state: State, env: Env) -> Self {
        for schema in [store::SCHEMA, SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("coordinator: creating tables failed: {error}");
            }
        }
        ReservationCoordinator { state, env, busy: RefCell::new(HashMap::new()), alarm: Alarm::default() }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "coordinator", |envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.fired();
        if let Err(error) = self.run_alarm().await {
            worker::console_error!("coordinator alarm failed, retrying: {error}");
            self.alarm.retry(&self.state, RETRY_MS).await?;
        }
        Response::ok("ok")
    }
}
