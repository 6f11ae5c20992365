//! A customer order and its life: placed → allocated | partially_allocated | backordered |
//! on_hold → released → picked → shipped → delivered, or cancelled (a line, or the whole order,
//! before it ships). Every change goes through a method here, checks the version the caller saw
//! (people's decisions) and leaves an audited event (who, when, what, comment, version).
//!
//! An order never touches stock itself: the allocation (`allocate.rs`) says which location ships
//! what, the host reserves exactly that through the SKU ledgers' holds — the one path to stock —
//! and then records the choice here with `apply_choice`.

use super::allocate::{Choice, LineRequest, ServiceLevel, SplitPolicy};
use super::exceptions::FollowUp;
use crate::audit::{check_comment, kept_comment, Decision};
use crate::error::EngineError;
use crate::hold::Allocation;
use crate::ids::{check_text, Id};
use crate::ledger::Actor;
use crate::limits::{ORDER_EVENTS_MAX, ORDER_LINES_MAX, ORDER_PRIORITY_MAX, QTY_REQUEST_MAX};
use crate::money::{check_currency, Money};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Allocated,
    PartiallyAllocated,
    Backordered,
    OnHold,
    Released,
    Picked,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Allocated => "allocated",
            OrderStatus::PartiallyAllocated => "partially_allocated",
            OrderStatus::Backordered => "backordered",
            OrderStatus::OnHold => "on_hold",
            OrderStatus::Released => "released",
            OrderStatus::Picked => "picked",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// What people may do from here (the host's allocation and fills are not listed: they are
    /// the system's). Views offer these and no others.
    pub fn actions(self) -> &'static [OrderAction] {
        use OrderAction::*;
        match self {
            OrderStatus::Placed | OrderStatus::Backordered => &[Cancel, CancelLine],
            OrderStatus::Allocated | OrderStatus::PartiallyAllocated => &[Release, Cancel, CancelLine],
            OrderStatus::OnHold => &[ReleaseHold, Cancel, CancelLine],
            OrderStatus::Released => &[Pick, Cancel, CancelLine],
            OrderStatus::Picked => &[Ship, Cancel, CancelLine],
            OrderStatus::Shipped => &[Deliver],
            OrderStatus::Delivered | OrderStatus::Cancelled => &[],
        }
    }

    /// Waiting for stock: a fill on arrival may allocate it.
    pub fn awaits_stock(self) -> bool {
        matches!(self, OrderStatus::Placed | OrderStatus::Backordered | OrderStatus::PartiallyAllocated)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Place,
    Allocate,
    ReleaseHold,
    Release,
    Pick,
    Ship,
    Deliver,
    Cancel,
    CancelLine,
    /// A person approved shipping the order in parts (a `split_needs_approval` exception).
    ApproveSplit,
    /// The warehouse picks it first (an exception resolved by expediting).
    Prioritise,
    /// A line's waiting units were moved to a substitute SKU the customer accepted.
    Substitute,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::Place => "place",
            OrderAction::Allocate => "allocate",
            OrderAction::ReleaseHold => "release_hold",
            OrderAction::Release => "release",
            OrderAction::Pick => "pick",
            OrderAction::Ship => "ship",
            OrderAction::Deliver => "deliver",
            OrderAction::Cancel => "cancel",
            OrderAction::CancelLine => "cancel_line",
            OrderAction::ApproveSplit => "approve_split",
            OrderAction::Prioritise => "prioritise",
            OrderAction::Substitute => "substitute",
        }
    }
}

/// Why an order waits for a person before anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    Address,
    Fraud,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineSpec {
    pub sku: Id,
    pub qty: i64,
    pub unit_price: Money,
}

/// `POST /v1/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    pub channel: Id,
    pub currency: String,
    pub ship_to_region: String,
    #[serde(default)]
    pub service_level: ServiceLevel,
    /// 0..=100, higher first when backorders are filled.
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub promised_by: Option<DateTime<Utc>>,
    #[serde(default)]
    pub split: SplitPolicy,
    #[serde(default)]
    pub hold: Option<HoldKind>,
    #[serde(default)]
    pub reference: Option<String>,
    pub lines: Vec<OrderLineSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// 1, 2, … in the order written.
    pub line: u32,
    pub sku: Id,
    pub qty: i64,
    pub unit_price: Money,
    /// Units held for this line, by location (reserved through the SKU's holds).
    pub allocations: Vec<Allocation>,
    pub shipped: i64,
    pub cancelled: i64,
    /// Units moved to a substitute's line (`substitute_for` names this line there).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub substituted: i64,
    /// The line this one substitutes for, when it was added by accepting a substitute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_for: Option<u32>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

impl OrderLine {
    pub fn allocated(&self) -> i64 {
        self.allocations.iter().map(|allocation| allocation.qty).sum()
    }

    /// Not yet shipped, cancelled nor moved to a substitute.
    pub fn open(&self) -> i64 {
        self.qty - self.shipped - self.cancelled - self.substituted
    }

    /// Open and without a location: waiting for stock.
    pub fn backordered(&self) -> i64 {
        self.open() - self.allocated()
    }

    fn check(&self) {
        assert!(
            self.shipped >= 0 && self.cancelled >= 0 && self.substituted >= 0 && self.allocated() >= 0,
            "line {} counts",
            self.line
        );
        assert!(self.substitute_for != Some(self.line), "line {} substitutes for itself", self.line);
        assert!(self.backordered() >= 0, "line {}: allocated beyond what is open", self.line);
    }
}

/// One audited change.
pub type OrderEvent = crate::audit::Event<OrderStatus, OrderAction>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: Id,
    pub channel: Id,
    pub currency: String,
    pub ship_to_region: String,
    pub service_level: ServiceLevel,
    pub priority: i32,
    pub promised_by: Option<DateTime<Utc>>,
    pub split: SplitPolicy,
    pub hold: Option<HoldKind>,
    pub reference: Option<String>,
    pub lines: Vec<OrderLine>,
    pub status: OrderStatus,
    pub version: u32,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    /// The latest allocation's choice, with its explanation.
    pub choice: Option<Choice>,
    pub events: Vec<OrderEvent>,
}

impl OrderSpec {
    pub fn check(&self) -> Result<(), EngineError> {
        check_currency("currency", &self.currency)?;
        check_text("ship_to_region", &self.ship_to_region)?;
        if let Some(reference) = &self.reference {
            check_text("reference", reference)?;
        }
        if !(0..=ORDER_PRIORITY_MAX).contains(&self.priority) {
            return Err(EngineError::invalid("priority", format!("must be 0..={ORDER_PRIORITY_MAX}")));
        }
        if let SplitPolicy::AllowAbove(minimum) = self.split {
            if minimum.is_negative() {
                return Err(EngineError::invalid("split.allow_above", "cannot be negative"));
            }
        }
        if self.lines.is_empty() || self.lines.len() > ORDER_LINES_MAX {
            return Err(EngineError::invalid("lines", format!("1..={ORDER_LINES_MAX} lines")));
        }
        for (i, line) in self.lines.iter().enumerate() {
            if !(1..=QTY_REQUEST_MAX).contains(&line.qty) {
                return Err(EngineError::invalid(&format!("lines[{i}].qty"), format!("must be 1..={QTY_REQUEST_MAX}")));
            }
            if line.unit_price.is_negative() {
                return Err(EngineError::invalid(&format!("lines[{i}].unit_price"), "cannot be negative"));
            }
            if line.unit_price.times(line.qty).is_none() {
                return Err(EngineError::invalid(
                    &format!("lines[{i}].unit_price"),
                    format!("× qty {} is beyond {} whole digits", line.qty, crate::money::Money::WHOLE_DIGITS_MAX),
                ));
            }
            if self.lines[..i].iter().any(|other| other.sku == line.sku) {
                return Err(EngineError::invalid(
                    &format!("lines[{i}].sku"),
                    format!("{} is already a line: add to its qty", line.sku),
                ));
            }
        }
        Ok(())
    }
}

impl Order {
    /// A new order: `placed`, or `on_hold` when it arrives with a hold (address, fraud).
    pub fn place(id: Id, spec: &OrderSpec, actor: &Actor, at: DateTime<Utc>) -> Result<Order, EngineError> {
        spec.check()?;
        let lines = spec
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| OrderLine {
                line: i as u32 + 1,
                sku: line.sku.clone(),
                qty: line.qty,
                unit_price: line.unit_price,
                allocations: Vec::new(),
                shipped: 0,
                cancelled: 0,
                substituted: 0,
                substitute_for: None,
            })
            .collect();
        let status = if spec.hold.is_some() { OrderStatus::OnHold } else { OrderStatus::Placed };
        let mut order = Order {
            id,
            channel: spec.channel.clone(),
            currency: spec.currency.clone(),
            ship_to_region: spec.ship_to_region.clone(),
            service_level: spec.service_level,
            priority: spec.priority,
            promised_by: spec.promised_by,
            split: spec.split,
            hold: spec.hold,
            reference: spec.reference.clone(),
            lines,
            status,
            version: 0,
            placed_by: actor.subject.clone(),
            placed_at: at,
            choice: None,
            events: Vec::new(),
        };
        order.record(actor, at, OrderAction::Place, None, status, None);
        Ok(order)
    }

    /// What still needs a location: every open line's backordered units.
    pub fn to_allocate(&self) -> Vec<LineRequest> {
        self.lines
            .iter()
            .filter(|line| line.backordered() > 0)
            .map(|line| LineRequest {
                line: line.line,
                sku: line.sku.clone(),
                qty: line.backordered(),
                unit_price: line.unit_price,
            })
            .collect()
    }

    /// Records an allocation the host has reserved: the plan's units become the lines'
    /// allocations; the status follows from what is still backordered. Also the path of a
    /// backorder fill when stock arrives.
    pub fn apply_choice(&mut self, choice: &Choice, at: DateTime<Utc>) -> Result<(), EngineError> {
        if !self.status.awaits_stock() {
            return Err(EngineError::conflict(format!(
                "order {} is {}: nothing to allocate",
                self.id,
                self.status.as_str()
            )));
        }
        let mut lines = self.lines.clone();
        for shipment in choice.plan.iter().flat_map(|plan| &plan.shipments) {
            for part in &shipment.lines {
                let line =
                    lines.iter_mut().find(|line| line.line == part.line && line.sku == part.sku).ok_or_else(|| {
                        EngineError::invalid("plan", format!("line {} ({}) is not on the order", part.line, part.sku))
                    })?;
                if part.qty <= 0 || part.qty > line.backordered() {
                    return Err(EngineError::invalid(
                        "plan",
                        format!(
                            "line {}: {} units but {} wait for a location",
                            part.line,
                            part.qty,
                            line.backordered()
                        ),
                    ));
                }
                match line.allocations.iter_mut().find(|a| a.location == shipment.location) {
                    Some(allocation) => allocation.qty += part.qty,
                    None => line.allocations.push(Allocation { location: shipment.location.clone(), qty: part.qty }),
                }
            }
        }
        self.lines = lines;
        let to = self.stock_status();
        let from = self.status;
        self.status = to;
        self.choice = Some(choice.clone());
        self.record(&Actor::system(), at, OrderAction::Allocate, Some(from), to, Some(&choice.explanation));
        Ok(())
    }

    /// The status the lines' allocations say, for an order waiting on stock.
    fn stock_status(&self) -> OrderStatus {
        let open: i64 = self.lines.iter().map(OrderLine::open).sum();
        let waiting: i64 = self.lines.iter().map(OrderLine::backordered).sum();
        match (waiting, open) {
            (0, 0) => OrderStatus::Cancelled,
            (0, _) => OrderStatus::Allocated,
            (w, o) if w == o => OrderStatus::Backordered,
            _ => OrderStatus::PartiallyAllocated,
        }
    }

    /// A person's step along the life: release (to the warehouse), pick, ship, deliver, or lift
    /// a hold. Shipping ships what is allocated; what stays backordered waits, and the order is
    /// `backordered` again until it ships too.
    pub fn advance(&mut self, action: OrderAction, decision: &Decision) -> Result<(), EngineError> {
        self.check_decision(action, decision)?;
        if action == OrderAction::ReleaseHold {
            // A hold is its exception's team's to lift, whichever way they lift it.
            let kind = match self.hold {
                Some(HoldKind::Fraud) => super::exceptions::ExceptionKind::FraudHold,
                Some(HoldKind::Address) | None => super::exceptions::ExceptionKind::AddressHold,
            };
            let team = kind.team();
            if !super::exceptions::may_act(team, decision.actor.role) {
                let roles: Vec<&str> = team.roles().iter().map(|role| role.as_str()).collect();
                return Err(EngineError::forbidden(
                    "team",
                    format!(
                        "a {} hold is for {} to lift (who may: {})",
                        kind.as_str(),
                        team.as_str(),
                        roles.join(", ")
                    ),
                ));
            }
        }
        let from = self.status;
        let to = match action {
            OrderAction::ReleaseHold => OrderStatus::Placed,
            OrderAction::Release => OrderStatus::Released,
            OrderAction::Pick => OrderStatus::Picked,
            OrderAction::Ship => {
                for line in &mut self.lines {
                    line.shipped += line.allocated();
                    line.allocations.clear();
                }
                if self.lines.iter().any(|line| line.backordered() > 0) {
                    OrderStatus::Backordered
                } else {
                    OrderStatus::Shipped
                }
            }
            OrderAction::Deliver => OrderStatus::Delivered,
            other => return Err(EngineError::invalid("action", format!("{} is not a step", other.as_str()))),
        };
        if action == OrderAction::ReleaseHold {
            self.hold = None;
        }
        self.status = to;
        self.record(decision.actor, decision.at, action, Some(from), to, decision.comment);
        Ok(())
    }

    /// Cancels one line's open units (`line`) or every open line (None). Answers the allocations
    /// the host must release on the SKUs' holds.
    pub fn cancel(&mut self, line: Option<u32>, decision: &Decision) -> Result<Vec<(Id, Allocation)>, EngineError> {
        let action = if line.is_some() { OrderAction::CancelLine } else { OrderAction::Cancel };
        self.check_decision(action, decision)?;
        if let Some(number) = line {
            let found =
                self.lines.iter().find(|l| l.line == number).ok_or_else(|| {
                    EngineError::invalid("line", format!("the order has lines 1..={}", self.lines.len()))
                })?;
            if found.open() == 0 {
                return Err(EngineError::conflict(format!("line {number} has nothing open to cancel")));
            }
        }
        let mut freed = Vec::new();
        for order_line in self.lines.iter_mut().filter(|l| line.is_none_or(|number| l.line == number)) {
            order_line.cancelled += order_line.open();
            freed.extend(order_line.allocations.drain(..).map(|a| (order_line.sku.clone(), a)));
        }
        let from = self.status;
        let open: i64 = self.lines.iter().map(OrderLine::open).sum();
        let shipped: i64 = self.lines.iter().map(|l| l.shipped).sum();
        let to = match (open, shipped) {
            (0, 0) => OrderStatus::Cancelled,
            (0, _) => OrderStatus::Shipped,
            _ if from.awaits_stock() => self.stock_status(),
            _ => from,
        };
        self.status = to;
        self.record(decision.actor, decision.at, action, Some(from), to, decision.comment);
        Ok(freed)
    }

    /// Carries out what resolving one of its exceptions asks of the order (the exception's
    /// version was checked when it was resolved; the order is taken as it is now). Answers the
    /// allocations the host must give back on the SKUs' holds (a cancelled line). `Expedite`
    /// changes nothing here: it is procurement's.
    pub fn follow(
        &mut self,
        follow_up: &FollowUp,
        actor: &Actor,
        at: DateTime<Utc>,
        comment: Option<&str>,
    ) -> Result<Vec<(Id, Allocation)>, EngineError> {
        let decision = Decision { actor, at, seen_version: self.version, comment };
        match follow_up {
            FollowUp::None | FollowUp::Expedite { .. } => Ok(Vec::new()),
            FollowUp::ShipPartial { .. } => {
                if !matches!(self.status, OrderStatus::Allocated | OrderStatus::PartiallyAllocated) {
                    return Err(EngineError::conflict(format!(
                        "order {} is {}: nothing allocated to ship",
                        self.id,
                        self.status.as_str()
                    )));
                }
                self.advance(OrderAction::Release, &decision).map(|()| Vec::new())
            }
            FollowUp::ShipSplit { .. } => {
                check_comment(comment)?;
                if !self.status.awaits_stock() {
                    return Err(EngineError::conflict(format!(
                        "order {} is {}: no split to approve",
                        self.id,
                        self.status.as_str()
                    )));
                }
                self.split = SplitPolicy::Allow;
                let status = self.status;
                self.record(actor, at, OrderAction::ApproveSplit, Some(status), status, comment);
                Ok(Vec::new())
            }
            FollowUp::Substitute { line, sku, .. } => self.substitute(*line, sku, &decision).map(|()| Vec::new()),
            FollowUp::CancelLine { line, .. } => self.cancel(*line, &decision),
            FollowUp::ReleaseHold { .. } => self.advance(OrderAction::ReleaseHold, &decision).map(|()| Vec::new()),
            FollowUp::PrioritisePick { .. } => {
                check_comment(comment)?;
                if matches!(self.status, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Cancelled) {
                    return Err(EngineError::conflict(format!(
                        "order {} is {}: nothing left to pick",
                        self.id,
                        self.status.as_str()
                    )));
                }
                self.priority = ORDER_PRIORITY_MAX;
                let status = self.status;
                self.record(actor, at, OrderAction::Prioritise, Some(status), status, comment);
                Ok(Vec::new())
            }
        }
    }

    /// Moves the units line `number` still waits for to `sku`, which the customer accepted in its
    /// place: onto a new line at the same unit price that names the line it substitutes for
    /// (refused when the order has a line of `sku` already: that line's own units come first). The units allocated or shipped stay on
    /// the original line. Only while the order waits for stock (the host allocates it again).
    pub fn substitute(&mut self, number: u32, sku: &Id, decision: &Decision) -> Result<(), EngineError> {
        check_comment(decision.comment)?;
        if !self.status.awaits_stock() {
            return Err(EngineError::conflict(format!(
                "order {} is {}: a substitute is accepted while it waits for stock",
                self.id,
                self.status.as_str()
            )));
        }
        let index = self
            .lines
            .iter()
            .position(|l| l.line == number)
            .ok_or_else(|| EngineError::invalid("line", format!("the order has no line {number}")))?;
        let original = &self.lines[index];
        if original.sku == *sku {
            return Err(EngineError::invalid("sku", format!("{sku} is the SKU of line {number} already")));
        }
        let waiting = original.backordered();
        if waiting == 0 {
            return Err(EngineError::conflict(format!("line {number} waits for nothing: nothing to substitute")));
        }
        let price = original.unit_price;
        if let Some(other) = self.lines.iter().find(|l| l.sku == *sku) {
            return Err(EngineError::conflict(format!(
                "{sku} is line {} of the order already: its own units come first",
                other.line
            )));
        }
        if self.lines.len() >= ORDER_LINES_MAX {
            return Err(EngineError::conflict(format!("order {} has {ORDER_LINES_MAX} lines already", self.id)));
        }
        // Everything that can refuse is decided: now change.
        self.lines[index].substituted += waiting;
        let next = self.lines.iter().map(|l| l.line).max().unwrap_or(0) + 1;
        self.lines.push(OrderLine {
            line: next,
            sku: sku.clone(),
            qty: waiting,
            unit_price: price,
            allocations: Vec::new(),
            shipped: 0,
            cancelled: 0,
            substituted: 0,
            substitute_for: Some(number),
        });
        let from = self.status;
        let to = self.stock_status();
        self.status = to;
        self.record(decision.actor, decision.at, OrderAction::Substitute, Some(from), to, decision.comment);
        Ok(())
    }

    fn check_decision(&self, action: OrderAction, decision: &Decision) -> Result<(), EngineError> {
        if decision.seen_version != self.version {
            return Err(EngineError::conflict(format!(
                "order {} changed since version {} (now {}): look again",
                self.id, decision.seen_version, self.version
            )));
        }
        if !self.status.actions().contains(&action) {
            return Err(EngineError::conflict(format!(
                "order {} is {}: cannot {}",
                self.id,
                self.status.as_str(),
                action.as_str()
            )));
        }
        check_comment(decision.comment)
    }

    fn record(
        &mut self,
        actor: &Actor,
        at: DateTime<Utc>,
        action: OrderAction,
        from: Option<OrderStatus>,
        to: OrderStatus,
        comment: Option<&str>,
    ) {
        for line in &self.lines {
            line.check();
        }
        self.version += 1;
        let event = OrderEvent {
            version: self.version,
            at,
            actor: actor.clone(),
            action,
            from,
            to,
            comment: kept_comment(comment),
        };
        crate::audit::append(&mut self.events, ORDER_EVENTS_MAX, event);
    }
}
