//! Placing an order, step by step, so that a host can store where it is after every step and
//! carry on — or undo — after a crash. The host does the I/O the steps name; the decisions are
//! here:
//!
//! 1. `ReadStock`: the host reads each SKU's availability for the order's channel.
//! 2. The allocation (`allocate.rs`) prices the plans. Nothing to ship now → `Done` (backordered,
//!    or waiting for a split to be approved).
//! 3. `Reserve`: the plan's parts as one reservation with every line pinned to its location,
//!    under an id fixed by the order and the attempt, so a retried step is the same reservation —
//!    the SKU ledgers' holds are the one path to stock.
//! 4. `Commit`: the units become allocated to the order. Then `Done`, with the choice applied.
//!
//! A reservation refused for stock (another order took the units between the read and the
//! reservation) goes back to step 1, at most `PLACEMENT_ATTEMPTS_MAX` times; after that the order
//! waits as backordered. A host that finds a placement stored before its reservation was committed
//! can always `abandon` it: the step answered then releases the reservation (releasing one that
//! never came to be changes nothing), and the order waits for a fill.

use super::allocate::{allocate, AllocationRequest, Choice, Node, Outcome, RoutingRules, ShippingRates, SkuStock};
use super::order::Order;
use crate::error::{EngineError, HoldStatus};
use crate::ids::Id;
use crate::limits::LINES_MAX;
use crate::reservation::{ReservationLineRequest, ReservationRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Allocations tried before an order contended for its last units waits as backordered.
pub const PLACEMENT_ATTEMPTS_MAX: u32 = 3;
/// How long an order's reservation may stay pending between its reservation and its commit.
pub const PLACEMENT_TTL_SECONDS: u32 = 120;

/// What the host is to do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PlacementStep {
    ReadStock { skus: Vec<Id> },
    Reserve { reservation: Id, request: ReservationRequest },
    Commit { reservation: Id },
    Release { reservation: Id },
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum State {
    Reading,
    Reserving { reservation: Id, request: ReservationRequest, choice: Box<Choice> },
    Committing { reservation: Id, choice: Box<Choice> },
    Releasing { reservation: Id },
    Done,
}

/// One order's placement: stored by the host after every step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    order: Order,
    attempt: u32,
    state: State,
    /// The reservation whose units the order holds, once committed.
    reservation: Option<Id>,
}

/// One SKU read for a placement (`ReadStock`): its stock as the order's channel may sell it, and
/// the promise for what the order asks of it (for the exceptions a shortfall raises).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRead {
    pub stock: SkuStock,
    pub promise: super::promise::Promise,
    /// The SKU's substitutes as its definition names them, in order of preference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<Id>,
}

/// The substitutes a placement reads besides (`(read index, substitute, units)`): those named by
/// each SKU whose read cannot sell all its line waits for, in their order of preference.
pub fn substitutes_to_read(lines: &[super::allocate::LineRequest], reads: &[StockRead]) -> Vec<(usize, Id, i64)> {
    assert_eq!(lines.len(), reads.len(), "one read per line");
    reads
        .iter()
        .zip(lines)
        .enumerate()
        .filter(|(_, (read, line))| read.stock.sellable < line.qty)
        .flat_map(|(at, (read, line))| read.substitutes.iter().map(move |sku| (at, sku.clone(), line.qty)))
        .collect()
}

/// Units an order holds: `qty` of `sku` allocated at `location` under `reservation` (a committed
/// hold of the SKU's ledger). Shipping draws on them; a cancellation gives them back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub reservation: Id,
    pub sku: Id,
    pub location: Id,
    pub qty: i64,
}

impl Holding {
    /// The ledger movement that ships it: a `ship` drawing on its reservation, for the order.
    pub fn ship(&self, order: &Id) -> crate::ledger::Movement {
        crate::ledger::Movement {
            kind: crate::ledger::MovementKind::Ship,
            into: None,
            disposition: None,
            location: self.location.clone(),
            qty: self.qty,
            to_location: None,
            reason: Some(format!("order {order}")),
            reference: Some(self.reservation.to_string()),
            counted_at_version: None,
            includes_versions: Vec::new(),
        }
    }
}

/// Takes `qty` of `sku` at `location` out of `holdings` (oldest reservation first): the parts to
/// ship or give back, each under its reservation. Panics when the holdings do not cover it: the
/// order's allocations and its holdings are kept together.
pub fn draw(holdings: &mut Vec<Holding>, sku: &Id, location: &Id, qty: i64) -> Vec<Holding> {
    let mut left = qty;
    let mut taken = Vec::new();
    for holding in holdings.iter_mut().filter(|h| h.sku == *sku && h.location == *location) {
        if left == 0 {
            break;
        }
        let part = holding.qty.min(left);
        holding.qty -= part;
        left -= part;
        taken.push(Holding { qty: part, ..holding.clone() });
    }
    assert_eq!(left, 0, "{qty} × {sku} at {location} is not held");
    holdings.retain(|h| h.qty > 0);
    taken
}

/// The fixed inputs of an allocation besides stock.
#[derive(Clone, Copy, Debug)]
pub struct Routing<'a> {
    pub rates: &'a ShippingRates,
    pub rules: &'a RoutingRules,
    pub nodes: &'a [Node],
}

impl Placement {
    /// Starts placing an order that was just placed (or filled again later, when it waits).
    pub fn new(order: Order) -> Result<Placement, EngineError> {
        if !order.status.awaits_stock() {
            return Err(EngineError::conflict(format!(
                "order {} is {}: nothing to place",
                order.id,
                order.status.as_str()
            )));
        }
        Ok(Placement { order, attempt: 1, state: State::Reading, reservation: None })
    }

    pub fn order(&self) -> &Order {
        &self.order
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The reservation the order's allocated units are held under, once committed.
    pub fn reservation(&self) -> Option<&Id> {
        self.reservation.as_ref()
    }

    /// What the committed reservation holds, once `Done` after a commit: the plan's parts.
    pub fn holdings(&self) -> Vec<Holding> {
        let (State::Done, Some(reservation)) = (&self.state, &self.reservation) else {
            return Vec::new();
        };
        let plan = self.order.choice.as_ref().and_then(|choice| choice.plan.as_ref());
        plan.iter()
            .flat_map(|plan| &plan.shipments)
            .flat_map(|shipment| {
                shipment.lines.iter().map(|part| Holding {
                    reservation: reservation.clone(),
                    sku: part.sku.clone(),
                    location: shipment.location.clone(),
                    qty: part.qty,
                })
            })
            .collect()
    }

    /// Into the order, once done.
    pub fn into_order(self) -> Order {
        self.order
    }

    pub fn step(&self) -> PlacementStep {
        match &self.state {
            State::Reading => {
                PlacementStep::ReadStock { skus: self.order.to_allocate().into_iter().map(|line| line.sku).collect() }
            }
            State::Reserving { reservation, request, .. } => {
                PlacementStep::Reserve { reservation: reservation.clone(), request: request.clone() }
            }
            State::Committing { reservation, .. } => PlacementStep::Commit { reservation: reservation.clone() },
            State::Releasing { reservation } => PlacementStep::Release { reservation: reservation.clone() },
            State::Done => PlacementStep::Done,
        }
    }

    /// The stock the host read (`ReadStock`): allocates. `locations` are the channel's, in its order.
    pub fn stock_read(
        &mut self,
        stock: &[SkuStock],
        locations: &[Id],
        routing: Routing,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.expect(matches!(self.state, State::Reading), "stock_read")?;
        let lines = self.order.to_allocate();
        let choice = allocate(&AllocationRequest {
            lines: &lines,
            region: &self.order.ship_to_region,
            service_level: self.order.service_level,
            promised_by: self.order.promised_by,
            split: self.order.split,
            locations,
            stock,
            nodes: routing.nodes,
            rates: routing.rates,
            rules: routing.rules,
            now,
        })?;
        let Some(plan) = &choice.plan else {
            // Nothing ships now: the order waits, with the choice that says why.
            self.order.apply_choice(&choice, now)?;
            self.state = State::Done;
            return Ok(());
        };
        let lines: Vec<ReservationLineRequest> = plan
            .shipments
            .iter()
            .flat_map(|shipment| {
                shipment.lines.iter().map(|part| ReservationLineRequest {
                    sku: part.sku.clone(),
                    qty: part.qty,
                    location: Some(shipment.location.clone()),
                })
            })
            .collect();
        if lines.len() > LINES_MAX {
            return Err(EngineError::conflict(format!(
                "order {}'s plan has {} parts; one reservation holds at most {LINES_MAX}",
                self.order.id,
                lines.len()
            )));
        }
        let request = ReservationRequest {
            channel: Some(self.order.channel.clone()),
            lines,
            ttl_seconds: Some(PLACEMENT_TTL_SECONDS),
            reference: Some(format!("order {}", self.order.id)),
        };
        request.validate()?;
        let reservation = Id::new(format!("{}-r{}", self.order.id, self.attempt))?;
        self.state = State::Reserving { reservation, request, choice: Box::new(choice) };
        Ok(())
    }

    /// The reservation was placed (`Reserve`).
    pub fn reserved(&mut self) -> Result<(), EngineError> {
        let State::Reserving { reservation, choice, .. } = &self.state else {
            return Err(self.out_of_step("reserved"));
        };
        self.state = State::Committing { reservation: reservation.clone(), choice: choice.clone() };
        Ok(())
    }

    /// The reservation was refused (`Reserve`). Refused for stock: read and allocate again, or
    /// after the last attempt wait as backordered. Anything else is the host's error to answer.
    pub fn refused(&mut self, error: EngineError, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.expect(matches!(self.state, State::Reserving { .. }), "refused")?;
        if !matches!(error, EngineError::InsufficientStock { .. }) {
            return Err(error);
        }
        self.retry_or_wait(now)
    }

    /// The reservation was committed (`Commit`): the order holds its units.
    pub fn committed(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let State::Committing { reservation, choice } = &self.state else {
            return Err(self.out_of_step("committed"));
        };
        let (reservation, choice) = (reservation.clone(), choice.clone());
        self.order.apply_choice(&choice, now)?;
        self.reservation = Some(reservation);
        self.state = State::Done;
        Ok(())
    }

    /// The commit was refused (`Commit`): a reservation that expired or was released before it
    /// could be committed (a host that came back late after a crash) is tried again from the
    /// stock read, like a reservation refused for stock; one already committed is this commit
    /// whose answer was lost; anything else is the host's to answer.
    pub fn commit_refused(&mut self, error: EngineError, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.expect(matches!(self.state, State::Committing { .. }), "commit_refused")?;
        match error {
            EngineError::AlreadyResolved { status: HoldStatus::Committed } => self.committed(now),
            EngineError::AlreadyResolved { status: HoldStatus::Expired | HoldStatus::Released } => {
                self.retry_or_wait(now)
            }
            other => Err(other),
        }
    }

    /// Back to the stock read for another attempt, or, after the last, the order waits.
    fn retry_or_wait(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        if self.attempt < PLACEMENT_ATTEMPTS_MAX {
            self.attempt += 1;
            self.state = State::Reading;
            return Ok(());
        }
        let waiting = self.waiting_choice();
        self.order.apply_choice(&waiting, now)?;
        self.state = State::Done;
        Ok(())
    }

    fn waiting_choice(&self) -> Choice {
        Choice {
            outcome: Outcome::Backordered,
            plan: None,
            runner_up: None,
            rejected: Vec::new(),
            explanation: format!(
                "backordered: other orders took the units in each of {PLACEMENT_ATTEMPTS_MAX} attempts"
            ),
            plans_considered: 0,
        }
    }

    /// Gives up a placement whose reservation is not committed (a host that finds it after a
    /// crash, or an order cancelled meanwhile): the next step releases that reservation.
    pub fn abandon(&mut self) -> Result<(), EngineError> {
        match &self.state {
            State::Reserving { reservation, .. } => {
                self.state = State::Releasing { reservation: reservation.clone() };
                Ok(())
            }
            State::Reading => {
                self.state = State::Done;
                Ok(())
            }
            State::Committing { .. } | State::Releasing { .. } | State::Done => Err(self.out_of_step("abandon")),
        }
    }

    /// The released reservation is gone (`Release`).
    pub fn released(&mut self) -> Result<(), EngineError> {
        self.expect(matches!(self.state, State::Releasing { .. }), "released")?;
        self.state = State::Done;
        Ok(())
    }

    fn expect(&self, ok: bool, what: &str) -> Result<(), EngineError> {
        if ok {
            Ok(())
        } else {
            Err(self.out_of_step(what))
        }
    }

    fn out_of_step(&self, what: &str) -> EngineError {
        EngineError::conflict(format!(
            "placement of order {}: `{what}` does not follow {:?}",
            self.order.id,
            self.step()
        ))
    }
}
