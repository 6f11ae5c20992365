//! Committing or releasing a multi-SKU reservation, truthfully: a two-phase commit with presumed
//! abort, as a sans-IO state machine on the reservation record.
//!
//! Each SKU ledger holds its own part of the reservation (a hold). A commit must end committed on
//! every SKU that commits units, or on none of them:
//!
//! 1. `begin_commit` checks the reservation is pending, plans what each SKU commits and records
//!    `Phase::Preparing`. No decision exists yet.
//! 2. The host sends `Prepare(sku)` to every SKU that commits units, in SKU-id order. A prepared
//!    hold no longer expires and can only be committed or released (`SkuLedger::prepare_hold`).
//!    If any SKU refuses (its hold expired, was released, is unknown), the commit is refused:
//!    `Phase::ReleaseDecided` releases every SKU and the answer is that refusal. If the host gives
//!    up (a deadline after a crash or a partition) it calls `abort`, which is allowed only here:
//!    without a recorded commit decision, the answer is "no" (presumed abort).
//! 3. Once every prepare succeeded the decision is `Phase::CommitDecided`; the host persists it
//!    before sending anything else. From then on the commit only moves forward: `Commit(sku, qty)`
//!    for SKUs with units, `Release(sku)` for SKUs committing nothing, each retried until done.
//!
//! The host persists the record after every call that changes it and before it acts on
//! `next_step`, so a restarted host resumes exactly where the record says. Every step is
//! idempotent at the SKU (a repeated prepare is a no-op, a repeated commit answers
//! `already_resolved committed`, a repeated release `already_resolved released`), so sending a step
//! again after a crash or a lost answer is always safe.
//!
//! Releasing (`begin_release`) is the same machinery without the first phase.

use crate::error::{EngineError, HoldStatus};
use crate::ids::Id;
use crate::limits::{LINES_MAX, PREPARE_TIMEOUT_SECONDS};
use crate::reservation::{CommitRequest, Reservation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The coordinator's durable decision about a reservation (`Reservation::decision`). `None` means
/// held: nothing in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Preparing the hold of every SKU that commits units. Nothing is decided: `abort` may still
    /// turn this into a release.
    Preparing {
        /// Units to commit per SKU, every SKU of the reservation, SKU-id order.
        plan: Vec<(Id, i64)>,
        /// SKUs whose hold is prepared, in the order they answered.
        prepared: Vec<Id>,
    },
    /// Every SKU that commits units is prepared: the reservation commits. Only moves forward.
    CommitDecided {
        plan: Vec<(Id, i64)>,
        /// SKUs whose commit (units > 0) or release (no units) is done.
        done: Vec<Id>,
    },
    /// The reservation is released on every SKU.
    ReleaseDecided {
        reason: ReleaseReason,
        /// SKUs whose hold is released (or was already resolved without a commit).
        done: Vec<Id>,
    },
}

/// Why a reservation is being released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The client released it.
    Requested,
    /// A commit was refused because this SKU would not prepare its hold.
    Refused {
        sku: Id,
        /// The hold's final status when the SKU answered `already_resolved`; `None` otherwise.
        status: Option<HoldStatus>,
        message: String,
    },
    /// The host gave up preparing (presumed abort).
    Aborted,
}

/// What the host does next: send this to the SKU's ledger and report the answer back with
/// `step_succeeded` or `step_failed`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoordStep {
    /// `SkuLedger::prepare_hold` (`Ok(None)`, already prepared, is a success).
    Prepare(Id),
    /// `SkuLedger::commit_hold` with exactly this many units.
    Commit(Id, i64),
    /// `SkuLedger::release_hold`.
    Release(Id),
}

impl CoordStep {
    pub fn sku(&self) -> &Id {
        match self {
            CoordStep::Prepare(sku) | CoordStep::Commit(sku, _) | CoordStep::Release(sku) => sku,
        }
    }
}

/// How a SKU's refusal of a step reads to the coordinator.
enum Answer {
    /// Nothing was decided at the SKU (it or the way to it was unavailable): send the step again.
    Transient,
    /// The hold was already resolved with this status.
    Resolved(HoldStatus),
    /// The SKU does not know the hold (never placed, or resolved long ago and forgotten).
    Missing,
    /// Anything else: the SKU decided against the step.
    Refused,
}

fn answer(error: &EngineError) -> Answer {
    match error {
        EngineError::Unavailable { .. } => Answer::Transient,
        EngineError::AlreadyResolved { status } => Answer::Resolved(*status),
        EngineError::NotFound { kind: "reservation", .. } => Answer::Missing,
        _ => Answer::Refused,
    }
}

impl Reservation {
    /// Starts committing: the reservation must be pending at `now` with nothing in progress, and
    /// commit at least one unit. Records `Phase::Preparing`.
    pub fn begin_commit(&mut self, request: &CommitRequest, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.check_idle()?;
        self.check_pending(now)?;
        // Refuses a commit of nothing (`invalid_request`: release the reservation instead).
        let plan = self.plan_commit(request)?;
        assert_eq!(plan.len(), self.skus().len(), "a plan names every SKU");
        assert!(plan.iter().any(|(_, qty)| *qty > 0), "a plan commits units");
        self.decision = Some(Phase::Preparing { plan, prepared: Vec::new() });
        self.check_decision();
        Ok(())
    }

    /// Starts releasing: the reservation must be pending at `now` with nothing in progress.
    pub fn begin_release(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.check_idle()?;
        self.check_pending(now)?;
        self.decision = Some(Phase::ReleaseDecided { reason: ReleaseReason::Requested, done: Vec::new() });
        self.check_decision();
        Ok(())
    }

    /// Gives up a commit that is still preparing (presumed abort): every SKU is released and the
    /// commit is answered `unavailable`. Refused once the commit is decided (it can only be
    /// driven to the end) or when nothing is in progress; a release in progress is left as is.
    pub fn abort(&mut self) -> Result<(), EngineError> {
        match &self.decision {
            Some(Phase::Preparing { .. }) => {
                self.decision = Some(Phase::ReleaseDecided { reason: ReleaseReason::Aborted, done: Vec::new() });
                self.check_decision();
                Ok(())
            }
            Some(Phase::ReleaseDecided { .. }) if !self.is_settled() => Ok(()),
            Some(Phase::CommitDecided { .. }) if !self.is_settled() => {
                Err(EngineError::conflict("the commit is decided; it can only be driven to the end"))
            }
            _ => Err(EngineError::conflict("no commit is in progress")),
        }
    }

    /// Presumed abort by time: a commit still preparing `PREPARE_TIMEOUT_SECONDS` after it began
    /// (`began_at`, kept by the host with the decision) is given up. True when it was.
    pub fn abort_if_stale(&mut self, began_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let preparing = matches!(self.decision, Some(Phase::Preparing { .. }));
        if !preparing || now - began_at <= chrono::Duration::seconds(PREPARE_TIMEOUT_SECONDS) {
            return false;
        }
        self.abort().expect("a commit still preparing can be aborted");
        true
    }

    /// The first step due, or `None` when nothing is in progress (held, or settled).
    pub fn next_step(&self) -> Option<CoordStep> {
        self.due_steps().into_iter().next()
    }

    /// Every step due now, in SKU-id order. A host may send them concurrently: steps of one phase
    /// do not depend on each other.
    pub fn due_steps(&self) -> Vec<CoordStep> {
        let steps: Vec<CoordStep> = match &self.decision {
            None => Vec::new(),
            Some(Phase::Preparing { plan, prepared }) => plan
                .iter()
                .filter(|(sku, qty)| *qty > 0 && !prepared.contains(sku))
                .map(|(sku, _)| CoordStep::Prepare(sku.clone()))
                .collect(),
            Some(Phase::CommitDecided { plan, done }) => plan
                .iter()
                .filter(|(sku, _)| !done.contains(sku))
                .map(|(sku, qty)| match *qty {
                    0 => CoordStep::Release(sku.clone()),
                    qty => CoordStep::Commit(sku.clone(), qty),
                })
                .collect(),
            Some(Phase::ReleaseDecided { done, .. }) => {
                self.skus().into_iter().filter(|sku| !done.contains(sku)).map(CoordStep::Release).collect()
            }
        };
        assert!(steps.len() <= LINES_MAX);
        steps
    }

    /// Nothing is in progress: held (no decision), or the decision is carried out on every SKU.
    pub fn is_settled(&self) -> bool {
        self.next_step().is_none()
    }

    /// What to answer the client once settled: `Ok` for a commit or release carried out, or why a
    /// commit was refused (the reservation then ended released or expired). `None` while a step is
    /// due, or when no commit or release ever began.
    pub fn outcome(&self) -> Option<Result<(), EngineError>> {
        if !self.is_settled() {
            return None;
        }
        let outcome = match self.decision.as_ref()? {
            Phase::Preparing { .. } => unreachable!("preparing always has a step due"),
            Phase::CommitDecided { .. } => Ok(()),
            Phase::ReleaseDecided { reason: ReleaseReason::Requested, .. } => Ok(()),
            Phase::ReleaseDecided { reason: ReleaseReason::Refused { sku, status, message }, .. } => {
                Err(match status {
                    Some(status) => EngineError::AlreadyResolved { status: *status },
                    None => EngineError::conflict(format!(
                        "`{sku}` refused to prepare the commit ({message}); the reservation was released"
                    )),
                })
            }
            Phase::ReleaseDecided { reason: ReleaseReason::Aborted, .. } => Err(EngineError::unavailable(
                "not every SKU could prepare the commit in time; the reservation was released",
            )),
        };
        Some(outcome)
    }

    /// The SKU did what `step` asked. An answer to a step no longer due (a duplicate, or a late
    /// answer after the phase moved on) changes nothing.
    pub fn step_succeeded(&mut self, step: &CoordStep) {
        self.check_step(step);
        if !self.due_steps().contains(step) {
            return;
        }
        match (self.decision.as_mut(), step) {
            (Some(Phase::Preparing { plan, prepared }), CoordStep::Prepare(sku)) => {
                prepared.push(sku.clone());
                if plan.iter().filter(|(_, qty)| *qty > 0).count() == prepared.len() {
                    let plan = std::mem::take(plan);
                    self.decision = Some(Phase::CommitDecided { plan, done: Vec::new() });
                }
            }
            (Some(Phase::CommitDecided { done, .. }), CoordStep::Commit(sku, _) | CoordStep::Release(sku))
            | (Some(Phase::ReleaseDecided { done, .. }), CoordStep::Release(sku)) => done.push(sku.clone()),
            (decision, step) => unreachable!("{step:?} is not due in {decision:?}"),
        }
        self.settle_if_done();
        self.check_decision();
    }

    /// The SKU refused `step`, or could not be reached (`EngineError::Unavailable`: the step stays
    /// due, to be sent again). A refused prepare refuses the whole commit: every SKU is released.
    /// A commit answered `already_resolved committed` or a release answered `already_resolved`
    /// (released or expired) or `not_found` is done (a retried step, or a hold that ended anyway).
    ///
    /// `Err` returns the answer when it contradicts the protocol (a prepared hold that will not
    /// commit, a hold committed behind the coordinator's back): the host must log it loudly. The
    /// state still moves on as described, so the reservation settles.
    pub fn step_failed(&mut self, step: &CoordStep, error: EngineError) -> Result<(), EngineError> {
        self.check_step(step);
        if !self.due_steps().contains(step) {
            return Ok(());
        }
        let kind = answer(&error);
        if matches!(kind, Answer::Transient) {
            return Ok(());
        }
        let mut contradiction = false;
        match (self.decision.as_mut(), step) {
            (Some(Phase::Preparing { .. }), CoordStep::Prepare(sku)) => {
                let (status, done) = match kind {
                    Answer::Resolved(status) => {
                        contradiction = status == HoldStatus::Committed;
                        (Some(status), true)
                    }
                    Answer::Missing => (None, true),
                    Answer::Refused | Answer::Transient => (None, false),
                };
                let reason = ReleaseReason::Refused { sku: sku.clone(), status, message: error.to_string() };
                let done = if done { vec![sku.clone()] } else { Vec::new() };
                self.decision = Some(Phase::ReleaseDecided { reason, done });
            }
            (Some(Phase::CommitDecided { done, .. }), CoordStep::Commit(sku, _)) => match kind {
                Answer::Resolved(HoldStatus::Committed) => done.push(sku.clone()),
                Answer::Resolved(_) | Answer::Missing => {
                    // A prepared hold ended without this commit: nothing the coordinator can do.
                    contradiction = true;
                    done.push(sku.clone());
                }
                // Stays due: the SKU must commit a prepared hold.
                Answer::Refused | Answer::Transient => contradiction = true,
            },
            (Some(Phase::CommitDecided { done, .. }), CoordStep::Release(sku))
            | (Some(Phase::ReleaseDecided { done, .. }), CoordStep::Release(sku)) => match kind {
                Answer::Resolved(status) => {
                    contradiction = status == HoldStatus::Committed;
                    done.push(sku.clone());
                }
                Answer::Missing => done.push(sku.clone()),
                Answer::Refused | Answer::Transient => contradiction = true,
            },
            (decision, step) => unreachable!("{step:?} is not due in {decision:?}"),
        }
        self.settle_if_done();
        self.check_decision();
        if contradiction {
            Err(error)
        } else {
            Ok(())
        }
    }

    /// Once the last step is done, the record takes its final status.
    fn settle_if_done(&mut self) {
        if self.status != HoldStatus::Pending || !self.due_steps().is_empty() {
            return;
        }
        match &self.decision {
            Some(Phase::CommitDecided { plan, .. }) => {
                let plan = plan.clone();
                self.mark_committed(&plan);
            }
            Some(Phase::ReleaseDecided { reason, .. }) => {
                self.status = match reason {
                    ReleaseReason::Refused { status: Some(HoldStatus::Expired), .. } => HoldStatus::Expired,
                    _ => HoldStatus::Released,
                };
            }
            Some(Phase::Preparing { .. }) => unreachable!("preparing always has a step due"),
            None => {}
        }
    }

    fn check_idle(&self) -> Result<(), EngineError> {
        if self.is_settled() {
            Ok(())
        } else {
            Err(EngineError::conflict("a commit or release of this reservation is in progress; retry"))
        }
    }

    /// A step the host reports must be one this reservation could have asked for.
    fn check_step(&self, step: &CoordStep) {
        assert!(self.decision.is_some(), "a step is reported while nothing is in progress");
        assert!(self.lines.iter().any(|line| &line.sku == step.sku()), "{step:?} is not a SKU of {}", self.id);
        if let CoordStep::Commit(_, qty) = step {
            assert!(*qty > 0, "a commit step commits units");
        }
    }

    fn check_decision(&self) {
        let skus = self.skus();
        assert!(skus.len() <= LINES_MAX);
        let subset = |list: &[Id]| {
            assert!(list.len() <= skus.len());
            for (index, sku) in list.iter().enumerate() {
                assert!(skus.contains(sku), "`{sku}` is not a SKU of {}", self.id);
                assert!(!list[..index].contains(sku), "`{sku}` listed twice");
            }
        };
        match &self.decision {
            None => {}
            Some(Phase::Preparing { plan, prepared }) => {
                assert_eq!(self.status, HoldStatus::Pending);
                assert!(plan.iter().map(|(sku, _)| sku).eq(skus.iter()), "a plan names every SKU in order");
                assert!(plan.iter().any(|(_, qty)| *qty > 0), "a commit commits units");
                subset(prepared);
                assert!(prepared.iter().all(|sku| plan.iter().any(|(s, qty)| s == sku && *qty > 0)));
            }
            Some(Phase::CommitDecided { plan, done }) => {
                assert!(plan.iter().map(|(sku, _)| sku).eq(skus.iter()), "a plan names every SKU in order");
                for (sku, qty) in plan {
                    assert!((0..=self.held(sku)).contains(qty));
                }
                subset(done);
                let settled = done.len() == plan.len();
                assert_eq!(self.status, if settled { HoldStatus::Committed } else { HoldStatus::Pending });
            }
            Some(Phase::ReleaseDecided { done, .. }) => {
                subset(done);
                let settled = done.len() == skus.len();
                assert_eq!(self.status == HoldStatus::Pending, !settled);
                assert!(self.status != HoldStatus::Committed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hold::{Allocation, Hold, HoldLine};
    use crate::reservation::{CommitLine, ReservationLineRequest, ReservationRequest};
    use chrono::Duration;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    /// A reservation of 2 units of each SKU, held for 60 s.
    fn reservation(skus: &[&str]) -> Reservation {
        let request = ReservationRequest {
            channel: None,
            lines: skus.iter().map(|s| ReservationLineRequest { sku: id(s), qty: 2, location: None }).collect(),
            ttl_seconds: Some(60),
            reference: None,
        };
        let holds: Vec<(Id, Hold)> = skus
            .iter()
            .map(|s| {
                let line =
                    HoldLine { qty: 2, location: None, allocations: vec![Allocation { location: id("L"), qty: 2 }] };
                let hold = Hold {
                    id: id("R"),
                    status: HoldStatus::Pending,
                    channel: None,
                    reference: None,
                    placed_at: now(),
                    expires_at: request.expires_at(now()),
                    lines: vec![line],
                    allocated: vec![],
                    prepared: false,
                };
                (id(s), hold)
            })
            .collect();
        request.record(id("R"), now(), &holds)
    }

    fn render_step(step: &CoordStep) -> String {
        match step {
            CoordStep::Prepare(sku) => format!("prepare {sku}"),
            CoordStep::Commit(sku, qty) => format!("commit {sku} {qty}"),
            CoordStep::Release(sku) => format!("release {sku}"),
        }
    }

    fn parse_step(words: &[&str]) -> CoordStep {
        match words {
            ["prepare", sku] => CoordStep::Prepare(id(sku)),
            ["commit", sku, qty] => CoordStep::Commit(id(sku), qty.parse().unwrap()),
            ["release", sku] => CoordStep::Release(id(sku)),
            other => panic!("not a step: {other:?}"),
        }
    }

    fn parse_error(words: &[&str]) -> EngineError {
        match words {
            ["unavailable"] => EngineError::unavailable("down"),
            ["expired"] => EngineError::AlreadyResolved { status: HoldStatus::Expired },
            ["released"] => EngineError::AlreadyResolved { status: HoldStatus::Released },
            ["committed"] => EngineError::AlreadyResolved { status: HoldStatus::Committed },
            ["not_found"] => EngineError::not_found("reservation", "R"),
            ["conflict"] => EngineError::conflict("no"),
            other => panic!("not an error: {other:?}"),
        }
    }

    fn render_outcome(r: &Reservation) -> String {
        let outcome = match r.outcome() {
            None => "-".to_string(),
            Some(Ok(())) => "ok".to_string(),
            Some(Err(EngineError::AlreadyResolved { status })) => format!("already_resolved {}", status.as_str()),
            Some(Err(error)) => error.code().to_string(),
        };
        let committed: Vec<String> =
            r.lines.iter().filter_map(|l| l.committed.map(|c| format!("{}:{c}", l.sku))).collect();
        format!("{} {outcome} {}", r.status.as_str(), committed.join(" ")).trim_end().to_string()
    }

    /// Runs a script against a reservation of 2 units per SKU. Lines:
    /// - `commit [SKU:QTY ...]` / `release` / `abort` (optionally `at SECS`) `=> ok | err CODE`
    /// - `steps STEP, STEP` — every step due, `steps -` none.
    /// - `ok STEP` / `fail STEP ERROR` (`=> contradiction` when step_failed returns Err)
    /// - `end STATUS OUTCOME [SKU:COMMITTED ...]` — status, outcome (`-` when none).
    ///
    /// After every line, the record survives a JSON round trip (what the host persists).
    #[track_caller]
    fn check(skus: &[&str], script: &str) {
        let mut r = reservation(skus);
        let mut last: Option<String> = None;
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let result = match words[..] {
                ["=>", ..] => {
                    let got = last.take().unwrap_or_else(|| panic!("`{line}`: nothing to check"));
                    assert_eq!(got, words[1..].join(" "), "`{line}`");
                    continue;
                }
                ["commit", ref rest @ ..] => {
                    let (at, rest) = match rest {
                        ["at", secs, rest @ ..] => (now() + Duration::seconds(secs.parse().unwrap()), rest),
                        _ => (now(), rest),
                    };
                    let lines = (!rest.is_empty()).then(|| {
                        rest.iter()
                            .map(|w| {
                                let (sku, qty) = w.split_once(':').unwrap();
                                CommitLine { sku: id(sku), qty: qty.parse().unwrap() }
                            })
                            .collect()
                    });
                    Some(r.begin_commit(&CommitRequest { lines }, at).map_err(|e| format!("err {}", e.code())))
                }
                ["release"] => Some(r.begin_release(now()).map_err(|e| format!("err {}", e.code()))),
                ["abort"] => Some(r.abort().map_err(|e| format!("err {}", e.code()))),
                ["steps", ref rest @ ..] => {
                    let steps: Vec<String> = r.due_steps().iter().map(render_step).collect();
                    let want = rest.join(" ");
                    assert_eq!(if steps.is_empty() { "-".to_string() } else { steps.join(", ") }, want, "`{line}`");
                    assert_eq!(r.next_step().map(|s| render_step(&s)), steps.first().cloned());
                    None
                }
                ["ok", ref step @ ..] => {
                    r.step_succeeded(&parse_step(step));
                    None
                }
                ["fail", ref rest @ ..] => {
                    let (step, error) = rest.split_at(rest.len() - 1);
                    match r.step_failed(&parse_step(step), parse_error(error)) {
                        Ok(()) => None,
                        Err(_) => Some(Err("contradiction".to_string())),
                    }
                }
                ["end", ..] => {
                    assert_eq!(render_outcome(&r), words[1..].join(" "), "`{line}`");
                    assert_eq!(r.is_settled(), r.next_step().is_none());
                    None
                }
                _ => panic!("unknown line `{line}`"),
            };
            if let Some(result) = result {
                last = Some(match result {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e,
                });
            }
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Reservation>(&json).unwrap(), r, "`{line}`: record round trip");
        }
        if let Some(result) = last {
            assert_eq!(result, "ok", "an unchecked line failed");
        }
    }

    #[test]
    fn commit_prepares_every_sku_then_commits() {
        check(
            &["B", "A", "C"],
            "
            end pending -
            commit
            steps prepare A, prepare B, prepare C
            ok prepare A
            ok prepare A
            fail prepare B unavailable
            steps prepare B, prepare C
            end pending -
            ok prepare B
            ok prepare C
            steps commit A 2, commit B 2, commit C 2
            abort
            => err conflict
            fail commit B 2 unavailable
            ok commit A 2
            fail commit B 2 committed
            steps commit C 2
            end pending -
            ok commit C 2
            steps -
            end committed ok B:2 A:2 C:2
            commit
            => err already_resolved
            release
            => err already_resolved
            ",
        );
    }

    #[test]
    fn partial_commit_releases_skus_not_named() {
        check(
            &["A", "B", "C"],
            "
            commit B:1
            steps prepare B
            ok prepare B
            steps release A, commit B 1, release C
            ok release A
            fail release C expired
            fail commit B 1 unavailable
            ok commit B 1
            end committed ok A:0 B:1 C:0
            ",
        );
    }

    #[test]
    fn commit_refusals_before_anything_changes() {
        check(
            &["A", "B"],
            "
            commit A:0 B:0
            => err invalid_request
            commit A:0
            => err invalid_request
            commit A:3
            => err invalid_request
            commit Z:1
            => err invalid_request
            commit at 60
            => err already_resolved
            end pending -
            steps -
            abort
            => err conflict
            commit
            commit
            => err conflict
            release
            => err conflict
            ",
        );
    }

    #[test]
    fn an_expired_sku_refuses_the_whole_commit() {
        check(
            &["A", "B", "C"],
            "
            commit
            ok prepare A
            fail prepare B expired
            steps release A, release C
            fail prepare C unavailable
            ok prepare C
            fail release A unavailable
            ok release A
            fail release C expired
            end expired already_resolved expired
            commit
            => err already_resolved
            ",
        );
    }

    #[test]
    fn other_refusals_release_and_answer_why() {
        check(
            &["A", "B"],
            "
            commit
            fail prepare A not_found
            steps release B
            ok release B
            end released conflict
            ",
        );
        check(
            &["A", "B"],
            "
            commit
            ok prepare A
            fail prepare B conflict
            steps release A, release B
            ok release A
            ok release B
            end released conflict
            ",
        );
        check(
            &["A", "B"],
            "
            commit
            fail prepare A released
            ok release B
            end released already_resolved released
            ",
        );
    }

    #[test]
    fn abort_is_presumed_before_the_decision() {
        check(
            &["A", "B"],
            "
            commit
            ok prepare A
            abort
            steps release A, release B
            abort
            ok prepare B
            steps release A, release B
            ok release B
            fail release A not_found
            end released unavailable
            abort
            => err conflict
            ",
        );
    }

    #[test]
    fn release_releases_every_sku() {
        check(
            &["A", "B"],
            "
            release
            steps release A, release B
            commit
            => err conflict
            fail release B expired
            fail release A released
            end released ok
            ",
        );
    }

    #[test]
    fn contradictions_are_reported_and_still_settle() {
        check(
            &["A", "B"],
            "
            commit
            ok prepare A
            ok prepare B
            fail commit A 2 expired
            => contradiction
            fail commit B 2 conflict
            => contradiction
            steps commit B 2
            ok commit B 2
            end committed ok A:2 B:2
            ",
        );
        check(
            &["A", "B"],
            "
            release
            fail release A committed
            => contradiction
            ok release B
            end released ok
            ",
        );
    }

    #[test]
    fn a_decision_in_flight_is_pending_whatever_the_time_and_hidden_from_the_answer() {
        let mut r = reservation(&["A", "B"]);
        r.begin_commit(&CommitRequest::default(), now()).unwrap();
        let late = now() + Duration::seconds(3_600);
        assert_eq!(r.status_at(late), HoldStatus::Pending);
        assert!(serde_json::to_string(&r).unwrap().contains("\"decision\""));
        let answer = r.clone().at(late);
        assert_eq!(answer.decision, None);
        assert!(!serde_json::to_string(&answer).unwrap().contains("decision"));
        // Records written before decisions existed still load.
        let mut old = serde_json::to_value(reservation(&["A"])).unwrap();
        old.as_object_mut().unwrap().remove("decision");
        let loaded: Reservation = serde_json::from_value(old).unwrap();
        assert_eq!(loaded.decision, None);
        assert_eq!(loaded.status_at(late), HoldStatus::Expired);
    }

    #[test]
    fn a_commit_still_preparing_after_the_timeout_is_given_up() {
        let began = now();
        let mut reservation = reservation(&["A", "B"]);
        assert!(!reservation.abort_if_stale(began, began + Duration::seconds(31)), "nothing in progress");
        reservation.begin_commit(&CommitRequest::default(), began).unwrap();
        reservation.step_succeeded(&CoordStep::Prepare(id("A")));
        assert!(!reservation.abort_if_stale(began, began + Duration::seconds(30)), "not yet");
        assert!(reservation.abort_if_stale(began, began + Duration::seconds(31)));
        assert_eq!(reservation.due_steps(), [CoordStep::Release(id("A")), CoordStep::Release(id("B"))]);
        // Once decided, time changes nothing: a commit is only driven forward.
        let mut decided = reservation_committing(began);
        assert!(!decided.abort_if_stale(began, began + Duration::seconds(3600)));
    }

    fn reservation_committing(began: DateTime<Utc>) -> Reservation {
        let mut reservation = reservation(&["A"]);
        reservation.begin_commit(&CommitRequest::default(), began).unwrap();
        reservation.step_succeeded(&CoordStep::Prepare(id("A")));
        assert!(matches!(reservation.decision, Some(Phase::CommitDecided { .. })));
        reservation
    }
}
