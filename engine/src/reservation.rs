//! Reservations across SKUs: the record a storefront sees, and the decisions a coordinator makes
//! when a reservation spans several SKU ledgers (each holding its own two-phase hold).
//!
//! Holds for a multi-SKU reservation are placed one SKU at a time in SKU-id order and voided if any
//! line fails. The fixed order matters: two reservations competing for the last units of two SKUs
//! cannot each take one and both fail, so no request is refused while stock it needs is free.
//! `Placement::checked_first` checks every SKU before placing any, so a failure that can be
//! foreseen leaves no trace in any ledger (only a race between check and place needs a void).
//!
//! Committing and releasing a multi-SKU reservation is a two-phase commit driven by the record's
//! `decision` (see `coordination.rs`).

use crate::coordination::Phase;
use crate::error::{EngineError, HoldStatus};
use crate::hold::{Allocation, Hold, HoldLineRequest};
use crate::ids::Id;
use crate::limits::{LINES_MAX, QTY_REQUEST_MAX, TTL_SECONDS_MAX, TTL_SECONDS_MIN};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationLineRequest {
    pub sku: Id,
    pub qty: i64,
    #[serde(default)]
    pub location: Option<Id>,
}

/// `POST /v1/reservations` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    #[serde(default)]
    pub channel: Option<Id>,
    pub lines: Vec<ReservationLineRequest>,
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub reference: Option<String>,
}

impl ReservationRequest {
    pub fn ttl_seconds(&self) -> u32 {
        self.ttl_seconds.unwrap_or(crate::limits::TTL_SECONDS_DEFAULT)
    }

    /// Checks what can be checked without stock: line count and quantities, TTL, reference.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.lines.is_empty() || self.lines.len() > LINES_MAX {
            return Err(EngineError::invalid("lines", format!("must hold 1..={LINES_MAX} lines")));
        }
        if !(TTL_SECONDS_MIN..=TTL_SECONDS_MAX).contains(&self.ttl_seconds()) {
            return Err(EngineError::invalid("ttl_seconds", format!("must be {TTL_SECONDS_MIN}..={TTL_SECONDS_MAX}")));
        }
        for line in &self.lines {
            if !(1..=QTY_REQUEST_MAX).contains(&line.qty) {
                return Err(EngineError::invalid("qty", format!("must be a whole number 1..={QTY_REQUEST_MAX}")));
            }
        }
        if let Some(reference) = &self.reference {
            crate::ids::check_text("reference", reference)?;
        }
        Ok(())
    }

    pub fn expires_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::seconds(i64::from(self.ttl_seconds()))
    }

    /// The distinct SKUs in placement order (SKU id ascending).
    pub fn skus(&self) -> Vec<Id> {
        let mut skus: Vec<Id> = self.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        skus
    }

    /// The lines of one SKU, in request order, as that SKU's ledger takes them.
    pub fn hold_lines(&self, sku: &Id) -> Vec<HoldLineRequest> {
        self.lines
            .iter()
            .filter(|line| &line.sku == sku)
            .map(|line| HoldLineRequest { qty: line.qty, location: line.location.clone() })
            .collect()
    }

    /// Whether `record` is what this very request placed and it is still pending: a host that
    /// lost its answer (killed after the record, before the answer) asks again and is answered
    /// the reservation it made. Anything else asking for a taken id is a conflict.
    pub fn placed_as(&self, record: &Reservation) -> bool {
        let asked: Vec<(&Id, i64, Option<&Id>)> =
            self.lines.iter().map(|l| (&l.sku, l.qty, l.location.as_ref())).collect();
        let placed: Vec<(&Id, i64, Option<&Id>)> =
            record.lines.iter().map(|l| (&l.sku, l.qty, l.location.as_ref())).collect();
        record.status == HoldStatus::Pending
            && record.decision.is_none()
            && record.channel == self.channel
            && record.reference == self.reference
            && asked == placed
    }

    /// Builds the record from the hold each SKU placed, lines in request order.
    pub fn record(&self, id: Id, created_at: DateTime<Utc>, holds: &[(Id, Hold)]) -> Reservation {
        let mut taken: Vec<(Id, usize)> = Vec::new();
        let lines = self
            .lines
            .iter()
            .map(|line| {
                let index = match taken.iter_mut().find(|(sku, _)| sku == &line.sku) {
                    Some((_, next)) => {
                        *next += 1;
                        *next - 1
                    }
                    None => {
                        taken.push((line.sku.clone(), 1));
                        0
                    }
                };
                let hold = holds.iter().find(|(sku, _)| sku == &line.sku).map(|(_, hold)| hold);
                let allocations =
                    hold.and_then(|h| h.lines.get(index)).map(|l| l.allocations.clone()).unwrap_or_default();
                assert_eq!(allocations.iter().map(|a| a.qty).sum::<i64>(), line.qty, "a placed line is held in full");
                ReservationLine {
                    sku: line.sku.clone(),
                    qty: line.qty,
                    location: line.location.clone(),
                    allocations,
                    committed: None,
                }
            })
            .collect();
        Reservation {
            id,
            status: HoldStatus::Pending,
            channel: self.channel.clone(),
            reference: self.reference.clone(),
            created_at,
            expires_at: self.expires_at(created_at),
            lines,
            decision: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationLine {
    pub sku: Id,
    pub qty: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Id>,
    pub allocations: Vec<Allocation>,
    /// Units of this line committed, once the reservation is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<i64>,
}

/// A reservation as `POST /v1/reservations` and `GET /v1/reservations/{id}` answer it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Id,
    pub status: HoldStatus,
    pub channel: Option<Id>,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<ReservationLine>,
    /// The coordinator's durable decision once a commit or release of a multi-SKU reservation
    /// began (see `coordination.rs`); the host persists it before acting on it. Not part of the
    /// contract's answer: `at` leaves it out. Records without it load as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Phase>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitLine {
    pub sku: Id,
    pub qty: i64,
}

/// `POST /v1/reservations/{id}/commit` body (optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    #[serde(default)]
    pub lines: Option<Vec<CommitLine>>,
}

impl Reservation {
    /// The status as of `now`: a pending reservation past `expires_at` is expired, whether or not
    /// the ledgers' alarms have run yet (they free the units within seconds). While a commit or
    /// release is being driven it is still pending, whatever the time: prepared holds do not expire.
    pub fn status_at(&self, now: DateTime<Utc>) -> HoldStatus {
        if self.status == HoldStatus::Pending && now >= self.expires_at && self.is_settled() {
            HoldStatus::Expired
        } else {
            self.status
        }
    }

    /// The contract's answer as of `now`: the status at `now`, without the coordinator's decision.
    pub fn at(mut self, now: DateTime<Utc>) -> Reservation {
        self.status = self.status_at(now);
        self.decision = None;
        self
    }

    pub fn skus(&self) -> Vec<Id> {
        let mut skus: Vec<Id> = self.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        skus
    }

    pub fn held(&self, sku: &Id) -> i64 {
        self.lines.iter().filter(|line| &line.sku == sku).map(|line| line.qty).sum()
    }

    /// Fails unless the reservation is still pending at `now`.
    pub fn check_pending(&self, now: DateTime<Utc>) -> Result<(), EngineError> {
        match self.status_at(now) {
            HoldStatus::Pending => Ok(()),
            status => Err(EngineError::AlreadyResolved { status }),
        }
    }

    /// What to commit per SKU (SKU-id order): everything without `lines`; otherwise the units named,
    /// each SKU at most what it holds, SKUs not named committing nothing (their units are released).
    /// A plan must commit at least one unit: committing nothing is a release, and says so.
    pub fn plan_commit(&self, request: &CommitRequest) -> Result<Vec<(Id, i64)>, EngineError> {
        let skus = self.skus();
        let Some(lines) = &request.lines else {
            return Ok(skus.into_iter().map(|sku| (sku.clone(), self.held(&sku))).collect());
        };
        if lines.is_empty() || lines.len() > LINES_MAX {
            return Err(EngineError::invalid("lines", format!("must hold 1..={LINES_MAX} lines")));
        }
        let mut plan: Vec<(Id, i64)> = skus.iter().map(|sku| (sku.clone(), 0)).collect();
        for line in lines {
            let Some(entry) = plan.iter_mut().find(|(sku, _)| sku == &line.sku) else {
                return Err(EngineError::invalid("lines", format!("`{}` is not in this reservation", line.sku)));
            };
            if !(0..=QTY_REQUEST_MAX).contains(&line.qty) {
                return Err(EngineError::invalid("qty", format!("must be a whole number 0..={QTY_REQUEST_MAX}")));
            }
            entry.1 += line.qty;
            let held = self.held(&line.sku);
            if entry.1 > held {
                return Err(EngineError::invalid(
                    "qty",
                    format!("`{}` holds {held}, cannot commit {}", line.sku, entry.1),
                ));
            }
        }
        if plan.iter().all(|(_, qty)| *qty == 0) {
            return Err(EngineError::invalid("lines", "commit at least one unit; release the reservation instead"));
        }
        Ok(plan)
    }

    /// Records a commit: per SKU, units are counted against its lines in request order.
    pub fn mark_committed(&mut self, plan: &[(Id, i64)]) {
        for (sku, qty) in plan {
            let mut left = *qty;
            for line in self.lines.iter_mut().filter(|line| &line.sku == sku) {
                let committed = line.qty.min(left);
                left -= committed;
                line.committed = Some(committed);
            }
            assert_eq!(left, 0, "a commit plan never exceeds what is held");
        }
        self.status = HoldStatus::Committed;
    }

    /// Records a release of a reservation held by one ledger, decided there in one step.
    pub fn mark_released(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.check_pending(now)?;
        assert!(self.decision.is_none(), "a single-ledger release has no coordinator decision");
        self.status = HoldStatus::Released;
        Ok(())
    }
}

/// What a coordinator does next while placing a multi-SKU reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceStep {
    /// Place the hold for this SKU.
    Place(Id),
    /// Another SKU fell short: only check this one (hold nothing) so every shortage is reported.
    Check(Id),
    /// Void the hold already placed for this SKU (some line failed).
    Void(Id),
    /// Every SKU is held: record the reservation and answer 201.
    Held,
    /// Nothing is held any more: answer with this error.
    Failed(EngineError),
}

/// The coordinator's plan for placing holds SKU by SKU, all or nothing.
#[derive(Clone, Debug)]
pub struct Placement {
    skus: Vec<Id>,
    next: usize,
    placed: Vec<Id>,
    error: Option<EngineError>,
    /// `checked_first` only: the check-only pass over every SKU is still running.
    checking: bool,
}

impl Placement {
    /// Places SKU by SKU; once one falls short, checks the rest and voids what was placed.
    pub fn new(request: &ReservationRequest) -> Placement {
        Placement { skus: request.skus(), next: 0, placed: Vec::new(), error: None, checking: false }
    }

    /// Checks every SKU first (`Check(A)`, `Check(B)`, …, collecting every shortage, stopping at
    /// any other refusal) and only when all could be held places them (`Place(A)`, `Place(B)`, …).
    /// A refusal foreseen by the checks leaves no trace in any ledger; a race between check and
    /// place is handled as `new` does (check the rest, void what was placed).
    pub fn checked_first(request: &ReservationRequest) -> Placement {
        Placement { checking: true, ..Placement::new(request) }
    }

    pub fn step(&self) -> PlaceStep {
        assert!(self.next <= self.skus.len());
        if self.checking {
            assert!(self.placed.is_empty(), "nothing is placed while checking");
            return match (&self.error, self.skus.get(self.next)) {
                (_, Some(sku)) => PlaceStep::Check(sku.clone()),
                (Some(error), None) => PlaceStep::Failed(error.clone()),
                (None, None) => unreachable!("a check pass that passed turns into placing"),
            };
        }
        if self.next < self.skus.len() {
            let sku = self.skus[self.next].clone();
            return match &self.error {
                None => PlaceStep::Place(sku),
                Some(_) => PlaceStep::Check(sku),
            };
        }
        match (&self.error, self.placed.last()) {
            (None, _) => PlaceStep::Held,
            (Some(_), Some(last)) => PlaceStep::Void(last.clone()),
            (Some(error), None) => PlaceStep::Failed(error.clone()),
        }
    }

    /// The step's SKU was held (Place) or could have been (Check).
    pub fn succeeded(&mut self, sku: &Id) {
        match self.step() {
            PlaceStep::Place(expected) => {
                assert_eq!(&expected, sku);
                self.placed.push(sku.clone());
            }
            PlaceStep::Check(expected) => assert_eq!(&expected, sku),
            step => panic!("no SKU step is due: {step:?}"),
        }
        self.next += 1;
        if self.checking && self.next == self.skus.len() && self.error.is_none() {
            // Every SKU could be held: now place them, in the same order.
            self.checking = false;
            self.next = 0;
        }
    }

    /// The step's SKU refused. Shortages are collected over every SKU; any other error stops.
    pub fn refused(&mut self, sku: &Id, error: EngineError) {
        assert!(matches!(self.step(), PlaceStep::Place(ref s) | PlaceStep::Check(ref s) if s == sku));
        self.next += 1;
        self.error = Some(match (self.error.take(), error) {
            (
                Some(EngineError::InsufficientStock { mut shortages }),
                EngineError::InsufficientStock { shortages: more },
            ) => {
                shortages.extend(more);
                EngineError::InsufficientStock { shortages }
            }
            (None, error @ EngineError::InsufficientStock { .. }) => error,
            (_, error) => {
                self.next = self.skus.len();
                error
            }
        });
    }

    pub fn voided(&mut self, sku: &Id) {
        assert_eq!(self.step(), PlaceStep::Void(sku.clone()));
        self.placed.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Shortage;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    fn request(skus: &[&str]) -> ReservationRequest {
        ReservationRequest {
            channel: None,
            lines: skus.iter().map(|s| ReservationLineRequest { sku: id(s), qty: 1, location: None }).collect(),
            ttl_seconds: None,
            reference: None,
        }
    }

    fn short(sku: &str) -> EngineError {
        EngineError::InsufficientStock { shortages: vec![Shortage { sku: sku.into(), requested: 1, available: 0 }] }
    }

    /// The record of `request`, each line held in full at wh-1.
    fn placed(request: &ReservationRequest) -> Reservation {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let holds: Vec<(Id, crate::hold::Hold)> = request
            .skus()
            .into_iter()
            .map(|sku| {
                let lines = request
                    .hold_lines(&sku)
                    .into_iter()
                    .map(|line| crate::hold::HoldLine {
                        qty: line.qty,
                        location: line.location,
                        allocations: vec![Allocation { location: id("wh-1"), qty: line.qty }],
                    })
                    .collect();
                let hold = crate::hold::Hold {
                    id: id("r1"),
                    status: HoldStatus::Pending,
                    channel: request.channel.clone(),
                    reference: request.reference.clone(),
                    placed_at: now,
                    expires_at: request.expires_at(now),
                    lines,
                    allocated: Vec::new(),
                    prepared: false,
                };
                (sku, hold)
            })
            .collect();
        request.record(id("r1"), now, &holds)
    }

    #[test]
    fn the_same_request_is_the_reservation_it_placed() {
        let asked = request(&["A", "B"]);
        let record = placed(&asked);
        assert!(asked.placed_as(&record));
        let longer = ReservationRequest { ttl_seconds: Some(60), ..asked.clone() };
        assert!(longer.placed_as(&record), "a retry's own expiry is not compared");
        let cases: Vec<ReservationRequest> = vec![
            request(&["A"]),
            request(&["B", "A"]),
            ReservationRequest { reference: Some("another".into()), ..asked.clone() },
            ReservationRequest { channel: Some(id("web")), ..asked.clone() },
        ];
        for other in cases {
            assert!(!other.placed_as(&record), "{other:?}");
        }
        let mut bigger = asked.clone();
        bigger.lines[0].qty = 2;
        assert!(!bigger.placed_as(&record));
        let committed = Reservation { status: HoldStatus::Committed, ..record };
        assert!(!asked.placed_as(&committed), "resolved: never placed again");
    }

    #[test]
    fn places_in_sku_order_then_holds() {
        let mut placement = Placement::new(&request(&["B", "A", "B"]));
        assert_eq!(placement.step(), PlaceStep::Place(id("A")));
        placement.succeeded(&id("A"));
        assert_eq!(placement.step(), PlaceStep::Place(id("B")));
        placement.succeeded(&id("B"));
        assert_eq!(placement.step(), PlaceStep::Held);
    }

    #[test]
    fn a_shortage_checks_the_rest_then_voids_what_was_placed() {
        let mut placement = Placement::new(&request(&["A", "B", "C", "D"]));
        placement.succeeded(&id("A"));
        placement.refused(&id("B"), short("B"));
        assert_eq!(placement.step(), PlaceStep::Check(id("C")));
        placement.succeeded(&id("C"));
        assert_eq!(placement.step(), PlaceStep::Check(id("D")));
        placement.refused(&id("D"), short("D"));
        assert_eq!(placement.step(), PlaceStep::Void(id("A")));
        placement.voided(&id("A"));
        match placement.step() {
            PlaceStep::Failed(EngineError::InsufficientStock { shortages }) => {
                let skus: Vec<&str> = shortages.iter().map(|s| s.sku.as_str()).collect();
                assert_eq!(skus, ["B", "D"]);
            }
            step => panic!("{step:?}"),
        }
    }

    #[test]
    fn another_error_stops_at_once() {
        let mut placement = Placement::new(&request(&["A", "B", "C"]));
        placement.succeeded(&id("A"));
        placement.refused(&id("B"), EngineError::not_found("sku", "B"));
        assert_eq!(placement.step(), PlaceStep::Void(id("A")));
        placement.voided(&id("A"));
        assert_eq!(placement.step(), PlaceStep::Failed(EngineError::not_found("sku", "B")));
    }

    #[test]
    fn checked_first_checks_everything_before_placing_anything() {
        let mut placement = Placement::checked_first(&request(&["B", "A"]));
        assert_eq!(placement.step(), PlaceStep::Check(id("A")));
        placement.succeeded(&id("A"));
        assert_eq!(placement.step(), PlaceStep::Check(id("B")));
        placement.succeeded(&id("B"));
        assert_eq!(placement.step(), PlaceStep::Place(id("A")));
        placement.succeeded(&id("A"));
        assert_eq!(placement.step(), PlaceStep::Place(id("B")));
        placement.succeeded(&id("B"));
        assert_eq!(placement.step(), PlaceStep::Held);
    }

    #[test]
    fn checked_first_fails_without_placing_or_voiding() {
        // Every shortage is collected; nothing was placed so nothing is voided.
        let mut placement = Placement::checked_first(&request(&["A", "B", "C"]));
        placement.refused(&id("A"), short("A"));
        assert_eq!(placement.step(), PlaceStep::Check(id("B")));
        placement.succeeded(&id("B"));
        placement.refused(&id("C"), short("C"));
        match placement.step() {
            PlaceStep::Failed(EngineError::InsufficientStock { shortages }) => {
                let skus: Vec<&str> = shortages.iter().map(|s| s.sku.as_str()).collect();
                assert_eq!(skus, ["A", "C"]);
            }
            step => panic!("{step:?}"),
        }
        // Any other refusal stops the checks at once.
        let mut placement = Placement::checked_first(&request(&["A", "B", "C"]));
        placement.succeeded(&id("A"));
        placement.refused(&id("B"), EngineError::not_found("sku", "B"));
        assert_eq!(placement.step(), PlaceStep::Failed(EngineError::not_found("sku", "B")));
    }

    #[test]
    fn checked_first_voids_after_a_race_between_check_and_place() {
        let mut placement = Placement::checked_first(&request(&["A", "B", "C"]));
        for sku in ["A", "B", "C"] {
            placement.succeeded(&id(sku));
        }
        placement.succeeded(&id("A"));
        placement.refused(&id("B"), short("B"));
        assert_eq!(placement.step(), PlaceStep::Check(id("C")));
        placement.succeeded(&id("C"));
        assert_eq!(placement.step(), PlaceStep::Void(id("A")));
        placement.voided(&id("A"));
        assert!(matches!(placement.step(), PlaceStep::Failed(EngineError::InsufficientStock { .. })));
    }

    #[test]
    fn commit_plans() {
        let request = ReservationRequest {
            channel: None,
            lines: vec![
                ReservationLineRequest { sku: id("A"), qty: 3, location: None },
                ReservationLineRequest { sku: id("B"), qty: 2, location: None },
                ReservationLineRequest { sku: id("A"), qty: 1, location: None },
            ],
            ttl_seconds: Some(60),
            reference: None,
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let held = |_sku: &str, qty: i64| crate::hold::HoldLine {
            qty,
            location: None,
            allocations: vec![Allocation { location: id("L"), qty }],
        };
        let hold = |sku: &str, lines: Vec<crate::hold::HoldLine>| {
            (
                id(sku),
                Hold {
                    id: id("R"),
                    status: HoldStatus::Pending,
                    channel: None,
                    reference: None,
                    placed_at: now,
                    expires_at: now,
                    lines,
                    allocated: vec![],
                    prepared: false,
                },
            )
        };
        let mut reservation =
            request.record(id("R"), now, &[hold("A", vec![held("A", 3), held("A", 1)]), hold("B", vec![held("B", 2)])]);
        assert_eq!(reservation.lines[2].allocations[0].qty, 1);
        let all = reservation.plan_commit(&CommitRequest::default()).unwrap();
        assert_eq!(all, vec![(id("A"), 4), (id("B"), 2)]);
        let partial = CommitRequest { lines: Some(vec![CommitLine { sku: id("A"), qty: 3 }]) };
        let plan = reservation.plan_commit(&partial).unwrap();
        assert_eq!(plan, vec![(id("A"), 3), (id("B"), 0)]);
        let too_many = CommitRequest { lines: Some(vec![CommitLine { sku: id("B"), qty: 3 }]) };
        assert_eq!(reservation.plan_commit(&too_many).unwrap_err().code(), "invalid_request");
        let stranger = CommitRequest { lines: Some(vec![CommitLine { sku: id("Z"), qty: 1 }]) };
        assert_eq!(reservation.plan_commit(&stranger).unwrap_err().code(), "invalid_request");
        let nothing = CommitRequest { lines: Some(vec![CommitLine { sku: id("A"), qty: 0 }]) };
        assert_eq!(
            reservation.plan_commit(&nothing),
            Err(EngineError::invalid("lines", "commit at least one unit; release the reservation instead"))
        );
        reservation.mark_committed(&plan);
        let committed: Vec<Option<i64>> = reservation.lines.iter().map(|l| l.committed).collect();
        assert_eq!(committed, [Some(3), Some(0), Some(0)]);
        assert_eq!(reservation.status_at(now + Duration::seconds(61)), HoldStatus::Committed);
    }

    #[test]
    fn pending_turns_expired_at_expires_at() {
        let request = request(&["A"]);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let reservation = Reservation {
            id: id("R"),
            status: HoldStatus::Pending,
            channel: None,
            reference: None,
            created_at: now,
            expires_at: request.expires_at(now),
            lines: vec![],
            decision: None,
        };
        assert_eq!(reservation.status_at(now + Duration::seconds(899)), HoldStatus::Pending);
        assert_eq!(reservation.status_at(now + Duration::seconds(900)), HoldStatus::Expired);
        assert_eq!(
            reservation.check_pending(now + Duration::seconds(900)),
            Err(EngineError::AlreadyResolved { status: HoldStatus::Expired })
        );
    }
}
