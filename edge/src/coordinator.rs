//! `ReservationCoordinator`: owns multi-SKU reservations (32 shards). It places one hold per SKU in
//! each SKU's ledger object, one SKU at a time in SKU-id order as the engine's `Placement` says,
//! and voids what it placed when any line fails. If the coordinator dies half-way, the holds' own
//! expiry frees the units: nothing is held past its TTL.

use crate::http::{call, now, serve, Answer, Envelope};
use crate::sku_object::{self, SkuCommand};
use crate::store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashSet;
use stockline_engine::{
    Actor, CommitRequest, EngineError, Hold, HoldRequest, HoldStatus, Id, PlaceStep, Placement, Reservation,
    ReservationRequest, Shortage,
};
use stockline_shared::ApiError;
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State};

pub const BINDING: &str = "COORDINATOR";
/// How long a request waits for another with the same key or reservation, and how often it looks.
const BUSY_WAIT_MS: u64 = 10_000;
const BUSY_POLL_MS: u64 = 5;

pub fn shard_name(shard: u32) -> String {
    format!("shard-{shard:02}")
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CoordinatorCommand {
    Reserve { id: Id, request: ReservationRequest },
    Commit { id: Id, request: CommitRequest },
    Release { id: Id },
    Get { id: Id },
}

impl CoordinatorCommand {
    fn reservation(&self) -> &Id {
        match self {
            CoordinatorCommand::Reserve { id, .. }
            | CoordinatorCommand::Commit { id, .. }
            | CoordinatorCommand::Release { id }
            | CoordinatorCommand::Get { id } => id,
        }
    }
}

#[durable_object]
pub struct ReservationCoordinator {
    state: State,
    env: Env,
    /// Idempotency keys and reservation ids with a request in progress.
    busy: RefCell<HashSet<String>>,
}

/// Removes its keys from the busy set when the request ends, however it ends.
struct Busy<'a> {
    set: &'a RefCell<HashSet<String>>,
    keys: Vec<String>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut set = self.set.borrow_mut();
        for key in &self.keys {
            set.remove(key);
        }
    }
}

fn shortages(answer: &Answer) -> Option<Vec<Shortage>> {
    if answer.body["error"]["code"] != "insufficient_stock" {
        return None;
    }
    serde_json::from_value(answer.body["error"]["details"]["shortages"].clone()).ok()
}

impl ReservationCoordinator {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    async fn to_sku(&self, actor: &Actor, sku: &Id, command: SkuCommand) -> Answer {
        let stub = match self.env.durable_object(sku_object::BINDING).and_then(|ns| ns.get_by_name(sku.as_str())) {
            Ok(stub) => stub,
            Err(error) => return Answer::error(ApiError::internal(error.to_string())),
        };
        let envelope = Envelope { actor: actor.clone(), idempotency: None, command };
        match call(&stub, "/sku", &envelope).await {
            Ok(answer) => answer,
            Err(error) => Answer::error(ApiError::unavailable(format!("sku `{sku}`: {error}"))),
        }
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
        let expires_at = request.expires_at(now);
        let mut placement = Placement::new(request);
        let mut holds: Vec<(Id, Hold)> = Vec::new();
        // The first refusal that is not a shortage is answered as the SKU object gave it.
        let mut stop: Option<Answer> = None;
        loop {
            match placement.step() {
                step @ (PlaceStep::Place(_) | PlaceStep::Check(_)) => {
                    let (sku, check_only) = match step {
                        PlaceStep::Place(sku) => (sku, false),
                        PlaceStep::Check(sku) => (sku, true),
                        _ => unreachable!(),
                    };
                    let hold = HoldRequest {
                        id: id.clone(),
                        channel: request.channel.clone(),
                        lines: request.hold_lines(&sku),
                        expires_at,
                        reference: request.reference.clone(),
                    };
                    let answer =
                        self.to_sku(actor, &sku, SkuCommand::PlaceHold { sku: sku.clone(), hold, check_only }).await;
                    if answer.status == 201 {
                        if !check_only {
                            holds.push((sku.clone(), serde_json::from_value(answer.body.clone())?));
                        }
                        placement.succeeded(&sku);
                    } else if let Some(shortages) = shortages(&answer) {
                        placement.refused(&sku, EngineError::InsufficientStock { shortages });
                    } else {
                        let message = answer.body["error"]["message"].as_str().unwrap_or("refused").to_string();
                        stop.get_or_insert(answer);
                        placement.refused(&sku, EngineError::conflict(message));
                    }
                }
                PlaceStep::Void(sku) => {
                    let answer =
                        self.to_sku(actor, &sku, SkuCommand::ReleaseHold { sku: sku.clone(), id: id.clone() }).await;
                    if answer.status != 200 {
                        // The hold's own expiry frees it; say so in the log, not to the caller.
                        worker::console_error!("voiding {id} at {sku} failed: {}", answer.body);
                    }
                    holds.retain(|(held, _)| held != &sku);
                    placement.voided(&sku);
                }
                PlaceStep::Held => {
                    let reservation = request.record(id.clone(), now, &holds);
                    store::save_reservation(&self.sql(), &reservation)?;
                    return Ok(Answer::ok(201, &reservation));
                }
                PlaceStep::Failed(error) => return Ok(stop.unwrap_or_else(|| Answer::error(error.into()))),
            }
        }
    }

    fn load(&self, id: &Id) -> Result<std::result::Result<Reservation, Answer>> {
        Ok(match store::load_reservation(&self.sql(), id.as_str())? {
            Some(reservation) => Ok(reservation),
            None => Err(Answer::error(ApiError::not_found("reservation"))),
        })
    }

    async fn commit(&self, actor: &Actor, id: &Id, request: &CommitRequest, now: DateTime<Utc>) -> Result<Answer> {
        let mut reservation = match self.load(id)? {
            Ok(reservation) => reservation,
            Err(answer) => return Ok(answer),
        };
        let plan = match reservation.check_pending(now).and_then(|_| reservation.plan_commit(request)) {
            Ok(plan) => plan,
            Err(error) => return Ok(Answer::error(error.into())),
        };
        let mut failure = None;
        for (sku, qty) in &plan {
            let command = SkuCommand::CommitHold { sku: sku.clone(), id: id.clone(), qty: *qty };
            let answer = self.to_sku(actor, sku, command).await;
            if answer.status != 200 {
                worker::console_error!("committing {id} at {sku} failed: {}", answer.body);
                failure.get_or_insert(answer);
            }
        }
        if let Some(answer) = failure {
            if plan.len() == 1 {
                return Ok(answer);
            }
        }
        reservation.mark_committed(&plan);
        store::save_reservation(&self.sql(), &reservation)?;
        Ok(Answer::ok(200, &reservation))
    }

    async fn release(&self, actor: &Actor, id: &Id, now: DateTime<Utc>) -> Result<Answer> {
        let mut reservation = match self.load(id)? {
            Ok(reservation) => reservation,
            Err(answer) => return Ok(answer),
        };
        if let Err(error) = reservation.check_pending(now) {
            return Ok(Answer::error(error.into()));
        }
        for sku in reservation.skus() {
            let answer = self.to_sku(actor, &sku, SkuCommand::ReleaseHold { sku: sku.clone(), id: id.clone() }).await;
            if answer.status != 200 {
                worker::console_error!("releasing {id} at {sku} failed: {}", answer.body);
            }
        }
        reservation.status = HoldStatus::Released;
        store::save_reservation(&self.sql(), &reservation)?;
        Ok(Answer::ok(200, &reservation))
    }

    async fn handle(&self, envelope: Envelope<CoordinatorCommand>) -> Result<Answer> {
        let now = now();
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
            let mut waited_ms = 0;
            while keys.iter().any(|key| self.busy.borrow().contains(key)) {
                if waited_ms >= BUSY_WAIT_MS {
                    return Ok(Answer::error(ApiError::conflict(
                        "another request for this reservation or Idempotency-Key is in progress; retry",
                    )));
                }
                Delay::from(std::time::Duration::from_millis(BUSY_POLL_MS)).await;
                waited_ms += BUSY_POLL_MS;
                if let Some(idempotency) = &envelope.idempotency {
                    if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                        return Ok(answer);
                    }
                }
            }
            self.busy.borrow_mut().extend(keys.iter().cloned());
        } else {
            keys.clear();
        }
        let _busy = Busy { set: &self.busy, keys };
        let actor = &envelope.actor;
        let answer = match &envelope.command {
            CoordinatorCommand::Reserve { id, request } => self.reserve(actor, id, request, now).await?,
            CoordinatorCommand::Commit { id, request } => self.commit(actor, id, request, now).await?,
            CoordinatorCommand::Release { id } => self.release(actor, id, now).await?,
            CoordinatorCommand::Get { id } => match self.load(id)? {
                Ok(reservation) => Answer::ok(200, &reservation.at(now)),
                Err(answer) => answer,
            },
        };
        if let Some(idempotency) = &envelope.idempotency {
            store::record_answer(&self.sql(), idempotency, &answer, now)?;
        }
        Ok(answer)
    }
}

impl DurableObject for ReservationCoordinator {
    fn new(state: State, env: Env) -> Self {
        let _ = state.storage().sql().exec(store::SCHEMA, None);
        ReservationCoordinator { state, env, busy: RefCell::new(HashSet::new()) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "coordinator", |envelope| self.handle(envelope)).await
    }
}
