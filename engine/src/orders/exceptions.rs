//! Order exceptions: records raised about a customer order, or one of its lines, that a person
//! must act on. Each kind is routed to the team that owns it, with a due time from the kind's SLA
//! and the short list of resolutions that make sense for it.
//!
//! An exception is a record, not a flag on the order: it has its own version, its own queue and
//! its own audit (who resolved it, as which role, when, why). The order's allocation decides
//! when to raise one; this module only keeps the record honest:
//!
//! - only the owning team (or an admin) resolves it, and only with one of the kind's actions;
//! - `escalate` is not a resolution: it hands the exception to procurement with a fresh, short
//!   due time, once;
//! - the system never resolves: when the cause goes away by itself (a backorder got its stock, an
//!   address was corrected upstream) it *closes* the exception instead, so a person's decision
//!   and the system's housekeeping stay apart in the record;
//! - a resolution returns a [`FollowUp`], what the host must do next (ship, cancel, expedite).
//!   Nothing here ships or cancels anything: the engine is sans-IO.

use crate::error::EngineError;
use crate::ids::{check_text, Id};
use crate::ledger::{Actor, Role};
use crate::limits::{ORDER_EXCEPTIONS_MAX, ORDER_LINES_MAX, TEXT_LENGTH_MAX};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long procurement has to answer an escalated exception, counted from the escalation. As
/// long as a fresh shortage: an escalated exception *is* a shortage procurement now has to chase,
/// and it is usually already late (a backorder's day-long due would be too slow once escalated).
pub const ESCALATION_DUE_IN_MINUTES: u32 = 240;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// No stock and no inbound can cover a line.
    Shortage,
    /// A ship-complete order could go now only as a split.
    SplitNeedsApproval,
    /// A line waits for inbound.
    Backorder,
    /// A substitute SKU could ship now in place of a line's SKU.
    SubstitutionOffered,
    /// The shipping address could not be verified: the whole order waits.
    AddressHold,
    /// Payment or customer flagged as possible fraud: the whole order waits.
    FraudHold,
    /// The order's promised-by time is about to be missed.
    SlaAtRisk,
}

/// Which part of an order a kind is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// One line, named with its SKU.
    Line,
    /// The whole order: no line.
    Order,
    /// Either.
    Any,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 7] = [
        ExceptionKind::Shortage,
        ExceptionKind::SplitNeedsApproval,
        ExceptionKind::Backorder,
        ExceptionKind::SubstitutionOffered,
        ExceptionKind::AddressHold,
        ExceptionKind::FraudHold,
        ExceptionKind::SlaAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Shortage => "shortage",
            ExceptionKind::SplitNeedsApproval => "split_needs_approval",
            ExceptionKind::Backorder => "backorder",
            ExceptionKind::SubstitutionOffered => "substitution_offered",
            ExceptionKind::AddressHold => "address_hold",
            ExceptionKind::FraudHold => "fraud_hold",
            ExceptionKind::SlaAtRisk => "sla_at_risk",
        }
    }

    /// The team that owns it when raised. Supply problems go to procurement (they can find or
    /// expedite stock); anything that needs the customer's say goes to customer service (they
    /// talk to the customer); a late pick goes to the warehouse (they pick).
    pub fn team(self) -> Team {
        match self {
            ExceptionKind::Shortage | ExceptionKind::Backorder => Team::Procurement,
            ExceptionKind::SplitNeedsApproval
            | ExceptionKind::SubstitutionOffered
            | ExceptionKind::AddressHold
            | ExceptionKind::FraudHold => Team::CustomerService,
            ExceptionKind::SlaAtRisk => Team::Warehouse,
        }
    }

    /// How long the owning team has, from when it is raised. Shorter where waiting costs more:
    ///
    /// - `sla_at_risk` 30: the promise is about to be missed; only a pick now saves it.
    /// - `fraud_hold` 60: money is at stake and a held order misses the day's carrier cut-off.
    /// - `split_needs_approval` 120: the units that could go now are allocated and blocking
    ///   other orders; the customer's answer is wanted before the next pick wave.
    /// - `address_hold`, `substitution_offered` 240: they wait for the customer to answer;
    ///   half a working day is what a call-back or an e-mail round trip takes.
    /// - `shortage` 240: nothing covers the line; the buyer finds supply or the line is
    ///   cancelled the same half day, before the customer is told anything wrong.
    /// - `backorder` 1,440: inbound already covers the line; a daily review is enough.
    pub fn due_in_minutes(self) -> u32 {
        match self {
            ExceptionKind::SlaAtRisk => 30,
            ExceptionKind::FraudHold => 60,
            ExceptionKind::SplitNeedsApproval => 120,
            ExceptionKind::AddressHold | ExceptionKind::SubstitutionOffered | ExceptionKind::Shortage => 240,
            ExceptionKind::Backorder => 1_440,
        }
    }

    /// The resolutions that make sense for it; views offer these and no others. Every kind can end
    /// in a cancellation except `sla_at_risk`: the warehouse picks, it does not cancel what a
    /// customer ordered. Only supply problems (`shortage`, `backorder`, and a late pick that is late
    /// because the stock is not there) can be escalated to procurement; the holds and the
    /// customer's choices have nothing procurement could do.
    ///
    /// - `shortage`: escalate (expedite the SKU), cancel the line, or keep it on backorder
    ///   (accepting a later date).
    /// - `split_needs_approval`: approve the split, keep the order waiting to go complete, or
    ///   cancel (the line holding it back, or the order when none is named).
    /// - `backorder`: keep waiting, escalate, cancel the line, or ship what is allocated now and
    ///   leave the rest backordered.
    /// - `substitution_offered`: accept the substitute, keep waiting for the SKU ordered, or cancel.
    /// - `address_hold`, `fraud_hold`: release the hold, or cancel the order's lines.
    /// - `sla_at_risk`: prioritise the pick, escalate (the stock is not there to pick), or keep the
    ///   line waiting and let the promise be missed.
    pub fn actions(self) -> &'static [ExceptionAction] {
        use ExceptionAction::*;
        match self {
            ExceptionKind::Shortage => &[Escalate, CancelLine, KeepBackorder],
            ExceptionKind::SplitNeedsApproval => &[ApproveSplit, KeepBackorder, CancelLine],
            ExceptionKind::Backorder => &[KeepBackorder, Escalate, CancelLine, ApprovePartial],
            ExceptionKind::SubstitutionOffered => &[AcceptSubstitute, KeepBackorder, CancelLine],
            ExceptionKind::AddressHold | ExceptionKind::FraudHold => &[ReleaseHold, CancelLine],
            ExceptionKind::SlaAtRisk => &[Expedite, Escalate, KeepBackorder],
        }
    }

    /// A shortage, backorder or substitution is about one line (its follow-ups need the line and
    /// the SKU); a hold stops the whole order (cancelling one line of a fraudulent order would be
    /// wrong); a split or a late promise may be either.
    fn scope(self) -> Scope {
        match self {
            ExceptionKind::Shortage | ExceptionKind::Backorder | ExceptionKind::SubstitutionOffered => Scope::Line,
            ExceptionKind::AddressHold | ExceptionKind::FraudHold => Scope::Order,
            ExceptionKind::SplitNeedsApproval | ExceptionKind::SlaAtRisk => Scope::Any,
        }
    }
}

/// The teams exceptions are routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Warehouse,
    Procurement,
    CustomerService,
}

impl Team {
    pub const ALL: [Team; 3] = [Team::Warehouse, Team::Procurement, Team::CustomerService];

    pub fn as_str(self) -> &'static str {
        match self {
            Team::Warehouse => "warehouse",
            Team::Procurement => "procurement",
            Team::CustomerService => "customer_service",
        }
    }

    /// The roles that may act for the team. An admin may act for every team. The system never
    /// resolves (it closes, see [`OrderException::close`]); a storefront or finance never acts on
    /// order exceptions: neither owns stock, supply or the customer conversation.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Team::Warehouse => &[Role::Warehouse, Role::Admin],
            Team::Procurement => &[Role::Buyer, Role::Approver, Role::Admin],
            Team::CustomerService => &[Role::CustomerService, Role::Admin],
        }
    }
}

/// Whether `role` may act for `team`.
pub fn may_act(team: Team, role: Role) -> bool {
    team.roles().contains(&role)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionAction {
    /// Ship what is allocated; the rest stays backordered.
    ApprovePartial,
    /// Ship the order in parts, as allocated.
    ApproveSplit,
    /// Ship the substitute in place of the line's SKU.
    AcceptSubstitute,
    /// Hand it to procurement: the SKU is raised in the replenishment list as expedite. Does not
    /// resolve the exception.
    Escalate,
    /// Cancel the line (the order's lines when the exception names none).
    CancelLine,
    /// Leave it waiting for inbound.
    KeepBackorder,
    /// Release an address or fraud hold.
    ReleaseHold,
    /// The warehouse prioritises picking the order.
    Expedite,
}

impl ExceptionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionAction::ApprovePartial => "approve_partial",
            ExceptionAction::ApproveSplit => "approve_split",
            ExceptionAction::AcceptSubstitute => "accept_substitute",
            ExceptionAction::Escalate => "escalate",
            ExceptionAction::CancelLine => "cancel_line",
            ExceptionAction::KeepBackorder => "keep_backorder",
            ExceptionAction::ReleaseHold => "release_hold",
            ExceptionAction::Expedite => "expedite",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionStatus {
    /// Waiting for its team.
    Open,
    /// A person decided (see `resolution`).
    Resolved,
    /// The system closed it because its cause went away (see `closed`).
    Closed,
}

impl ExceptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Open => "open",
            ExceptionStatus::Resolved => "resolved",
            ExceptionStatus::Closed => "closed",
        }
    }
}

/// What a person decided, as whom, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub action: ExceptionAction,
    /// The actor's subject.
    pub by: String,
    pub role: Role,
    pub at: DateTime<Utc>,
    pub comment: Option<String>,
}

/// Why the system closed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// What the host must do after a decision. The engine decides; the host ships, cancels and
/// re-plans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    /// Nothing: the order stays as it is (kept on backorder).
    None,
    /// Ship what is allocated; the rest stays backordered.
    ShipPartial { order: Id },
    /// Ship the order in parts, as allocated.
    ShipSplit { order: Id },
    /// Replace the line's SKU with `sku` and allocate it.
    Substitute { order: Id, line: u32, sku: Id },
    /// Procurement: raise the SKU in the replenishment list as expedite.
    Expedite { sku: Id },
    /// Cancel the line; `None`: every line of the order.
    CancelLine { order: Id, line: Option<u32> },
    /// Release the order's hold: it may be allocated and shipped.
    ReleaseHold { order: Id },
    /// The warehouse picks the order first.
    PrioritisePick { order: Id },
}

/// What the host raises an exception with. `detail` says what is wrong in words and numbers
/// ("line 2: 5 × SKU-1 short, nothing inbound"): it is what the team reads in its queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionSpec {
    pub order: Id,
    /// The order's line (1, 2, …); none for an exception about the whole order.
    #[serde(default)]
    pub line: Option<u32>,
    /// The line's SKU: given with the line, never without.
    #[serde(default)]
    pub sku: Option<Id>,
    pub kind: ExceptionKind,
    pub detail: String,
    /// The SKU offered instead (`substitution_offered` only).
    #[serde(default)]
    pub substitute: Option<Id>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderException {
    pub id: Id,
    pub order: Id,
    pub line: Option<u32>,
    pub sku: Option<Id>,
    pub kind: ExceptionKind,
    /// The kind's team, or procurement once escalated.
    pub team: Team,
    pub status: ExceptionStatus,
    pub raised_at: DateTime<Utc>,
    /// When its team must have acted: the kind's SLA from `raised_at`, or procurement's from the
    /// escalation.
    pub due_at: DateTime<Utc>,
    pub detail: String,
    pub substitute: Option<Id>,
    pub escalated: bool,
    /// Who escalated it, when and why (`action` is `escalate`); some exactly when `escalated`.
    pub escalation: Option<Resolution>,
    /// Some exactly when resolved.
    pub resolution: Option<Resolution>,
    /// Some exactly when closed.
    pub closed: Option<Closure>,
    /// 1 when raised; every change adds one. A decision names the version its maker saw.
    pub version: u32,
}

/// A comment is optional; an empty one is none.
fn check_comment(comment: Option<&str>) -> Option<Result<String, EngineError>> {
    comment.filter(|text| !text.trim().is_empty()).map(|text| check_text("comment", text).map(|()| text.to_string()))
}

fn names(actions: &[ExceptionAction]) -> String {
    actions.iter().map(|action| action.as_str()).collect::<Vec<_>>().join(", ")
}

/// Whether a new exception may be raised next to `existing` (the exceptions the host keeps, any
/// orders). Refused when the order already carries `ORDER_EXCEPTIONS_MAX` open exceptions, or an
/// open exception of the same kind about the same line (the SLA watch and re-allocation run
/// again and again: they must not stack the same exception in a team's queue).
pub fn may_raise(existing: &[OrderException], spec: &ExceptionSpec) -> Result<(), EngineError> {
    let mut open = existing.iter().filter(|e| e.order == spec.order && e.status == ExceptionStatus::Open);
    if let Some(same) = open.clone().find(|e| e.kind == spec.kind && e.line == spec.line) {
        let about = spec.line.map_or_else(|| "the order".to_string(), |line| format!("line {line}"));
        return Err(EngineError::conflict(format!(
            "exception {} ({}) is already open about {about} of order {}",
            same.id,
            spec.kind.as_str(),
            spec.order
        )));
    }
    if open.nth(ORDER_EXCEPTIONS_MAX - 1).is_some() {
        return Err(EngineError::conflict(format!(
            "order {} has {ORDER_EXCEPTIONS_MAX} open exceptions: resolve some first",
            spec.order
        )));
    }
    Ok(())
}

impl OrderException {
    /// The alert an open `sla_at_risk` exception raises, for its team, linked to its order.
    pub fn alert(&self) -> Option<crate::planning::Alert> {
        (self.kind == ExceptionKind::SlaAtRisk && self.status == ExceptionStatus::Open).then(|| {
            let kind = ExceptionKind::SlaAtRisk.as_str();
            let link = format!("/v1/orders/{}", self.order);
            let alert = crate::planning::Alert::new(
                kind,
                self.id.as_str(),
                self.team.as_str(),
                self.raised_at,
                self.detail.clone(),
                link,
            );
            crate::planning::Alert { sku: self.sku.clone(), order: Some(self.order.clone()), ..alert }
        })
    }

    /// A new, open exception routed by its kind: the kind's team, due the kind's SLA from `at`.
    pub fn raise(id: Id, spec: &ExceptionSpec, at: DateTime<Utc>) -> Result<OrderException, EngineError> {
        check_text("detail", &spec.detail)?;
        let kind = spec.kind.as_str();
        if let Some(line) = spec.line {
            if !(1..=ORDER_LINES_MAX).contains(&usize::try_from(line).unwrap_or(usize::MAX)) {
                return Err(EngineError::invalid("line", format!("must be 1..={ORDER_LINES_MAX}")));
            }
        }
        if spec.line.is_some() != spec.sku.is_some() {
            return Err(EngineError::invalid("sku", "a line and its SKU are named together, or neither"));
        }
        match (spec.kind.scope(), spec.line) {
            (Scope::Line, None) => {
                return Err(EngineError::invalid("line", format!("a {kind} is about one line: name it and its SKU")));
            }
            (Scope::Order, Some(line)) => {
                return Err(EngineError::invalid(
                    "line",
                    format!("an {kind} holds the whole order: name no line (line {line} was named)"),
                ));
            }
            _ => {}
        }
        match (&spec.substitute, spec.kind) {
            (None, ExceptionKind::SubstitutionOffered) => {
                return Err(EngineError::invalid("substitute", "name the SKU offered instead"));
            }
            (Some(substitute), ExceptionKind::SubstitutionOffered) if Some(substitute) == spec.sku.as_ref() => {
                return Err(EngineError::invalid("substitute", format!("{substitute} is the SKU it would replace")));
            }
            (Some(_), other) if other != ExceptionKind::SubstitutionOffered => {
                return Err(EngineError::invalid(
                    "substitute",
                    format!("only a substitution_offered exception names a substitute, not a {}", other.as_str()),
                ));
            }
            _ => {}
        }
        let exception = OrderException {
            id,
            order: spec.order.clone(),
            line: spec.line,
            sku: spec.sku.clone(),
            kind: spec.kind,
            team: spec.kind.team(),
            status: ExceptionStatus::Open,
            raised_at: at,
            due_at: at + Duration::minutes(i64::from(spec.kind.due_in_minutes())),
            detail: spec.detail.clone(),
            substitute: spec.substitute.clone(),
            escalated: false,
            escalation: None,
            resolution: None,
            closed: None,
            version: 1,
        };
        exception.check_invariants();
        Ok(exception)
    }

    /// A person acts on it: `escalate` hands it to procurement (still open, due
    /// `ESCALATION_DUE_IN_MINUTES` from `at`, once only); every other action resolves it. Refused,
    /// changing nothing, when it is not open, when `seen_version` is not its version, when the
    /// action is not one of its kind's, when the actor's role may not act for its team, or when
    /// the action cannot apply to it (escalating twice, or with no SKU to expedite).
    pub fn resolve(
        &mut self,
        action: ExceptionAction,
        actor: &Actor,
        at: DateTime<Utc>,
        seen_version: u32,
        comment: Option<&str>,
    ) -> Result<FollowUp, EngineError> {
        if self.status != ExceptionStatus::Open {
            return Err(EngineError::conflict(format!(
                "exception {} is {}: nothing to {}",
                self.id,
                self.status.as_str(),
                action.as_str()
            )));
        }
        if seen_version != self.version {
            return Err(EngineError::conflict(format!(
                "exception {} is at version {}, you saw version {seen_version}: read it again",
                self.id, self.version
            )));
        }
        let allowed = self.kind.actions();
        if !allowed.contains(&action) {
            return Err(EngineError::invalid(
                "action",
                format!(
                    "`{}` is not a resolution of a {} exception: {}",
                    action.as_str(),
                    self.kind.as_str(),
                    names(allowed)
                ),
            ));
        }
        if !may_act(self.team, actor.role) {
            let message = if actor.role == Role::System {
                "the system does not resolve exceptions: it closes those whose cause went away".to_string()
            } else {
                let roles: Vec<&str> = self.team.roles().iter().map(|role| role.as_str()).collect();
                format!(
                    "a {} cannot act for the {} team (who may: {})",
                    actor.role.as_str(),
                    self.team.as_str(),
                    roles.join(", ")
                )
            };
            return Err(EngineError::forbidden("team", message));
        }
        let comment = check_comment(comment).transpose()?;
        if at < self.raised_at {
            return Err(EngineError::invalid(
                "at",
                format!("{at} is before exception {} was raised ({})", self.id, self.raised_at),
            ));
        }
        if action == ExceptionAction::Escalate && self.escalated {
            return Err(EngineError::conflict(format!(
                "exception {} is already escalated to procurement: resolve it with {}",
                self.id,
                names(&allowed.iter().copied().filter(|a| *a != ExceptionAction::Escalate).collect::<Vec<_>>())
            )));
        }
        // Everything that can refuse is decided before anything changes.
        let follow_up = self.follow_up(action)?;
        let decided = Resolution { action, by: actor.subject.clone(), role: actor.role, at, comment };
        if action == ExceptionAction::Escalate {
            self.team = Team::Procurement;
            self.escalated = true;
            self.escalation = Some(decided);
            self.due_at = at + Duration::minutes(i64::from(ESCALATION_DUE_IN_MINUTES));
        } else {
            self.status = ExceptionStatus::Resolved;
            self.resolution = Some(decided);
        }
        self.version += 1;
        self.check_invariants();
        Ok(follow_up)
    }

    fn follow_up(&self, action: ExceptionAction) -> Result<FollowUp, EngineError> {
        let order = self.order.clone();
        Ok(match action {
            ExceptionAction::ApprovePartial => FollowUp::ShipPartial { order },
            ExceptionAction::ApproveSplit => FollowUp::ShipSplit { order },
            ExceptionAction::AcceptSubstitute => match (self.line, &self.substitute) {
                (Some(line), Some(sku)) => FollowUp::Substitute { order, line, sku: sku.clone() },
                _ => {
                    return Err(EngineError::conflict(format!(
                        "exception {} names no line and substitute: nothing to substitute",
                        self.id
                    )))
                }
            },
            ExceptionAction::Escalate => match &self.sku {
                Some(sku) => FollowUp::Expedite { sku: sku.clone() },
                None => {
                    return Err(EngineError::invalid(
                        "action",
                        format!(
                            "exception {} is about the whole order: no SKU to expedite (expedite the pick instead)",
                            self.id
                        ),
                    ))
                }
            },
            ExceptionAction::CancelLine => FollowUp::CancelLine { order, line: self.line },
            ExceptionAction::KeepBackorder => FollowUp::None,
            ExceptionAction::ReleaseHold => FollowUp::ReleaseHold { order },
            ExceptionAction::Expedite => FollowUp::PrioritisePick { order },
        })
    }

    /// The system closes an open exception whose cause went away (a backorder got its stock, the
    /// order was cancelled elsewhere). Returns whether it changed anything: a resolved or closed
    /// exception stays as it is. `reason` is the system's own words; it is kept to
    /// `TEXT_LENGTH_MAX` characters, without control characters.
    pub fn close(&mut self, at: DateTime<Utc>, reason: &str) -> bool {
        if self.status != ExceptionStatus::Open {
            return false;
        }
        let reason: String = reason.chars().filter(|c| !c.is_control()).take(TEXT_LENGTH_MAX).collect();
        let reason = if reason.trim().is_empty() { "its cause went away".to_string() } else { reason };
        self.status = ExceptionStatus::Closed;
        self.closed = Some(Closure { at, reason });
        self.version += 1;
        self.check_invariants();
        true
    }

    /// Open past its due time (at the due time itself it is still on time).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == ExceptionStatus::Open && now > self.due_at
    }

    fn check_invariants(&self) {
        assert!(self.version >= 1);
        assert!(self.due_at > self.raised_at);
        assert!(self.detail.chars().count() <= TEXT_LENGTH_MAX);
        assert_eq!(self.line.is_some(), self.sku.is_some());
        assert_eq!(self.substitute.is_some(), self.kind == ExceptionKind::SubstitutionOffered);
        assert_eq!(self.escalated, self.escalation.is_some());
        if self.escalated {
            assert_eq!(self.team, Team::Procurement);
            assert!(self.escalation.as_ref().is_some_and(|e| e.action == ExceptionAction::Escalate));
        } else {
            assert_eq!(self.team, self.kind.team());
        }
        assert_eq!(self.resolution.is_some(), self.status == ExceptionStatus::Resolved);
        assert_eq!(self.closed.is_some(), self.status == ExceptionStatus::Closed);
        if let Some(resolution) = &self.resolution {
            assert!(resolution.action != ExceptionAction::Escalate);
            assert!(self.kind.actions().contains(&resolution.action));
        }
    }
}

/// One team's queue: its exceptions (with `status`, or all), the one due first first, then the
/// one raised first, then by id, so every view lists them the same way.
pub fn queue(exceptions: &[OrderException], team: Team, status: Option<ExceptionStatus>) -> Vec<&OrderException> {
    let mut queue: Vec<&OrderException> =
        exceptions.iter().filter(|e| e.team == team && status.is_none_or(|status| e.status == status)).collect();
    queue.sort_by(|a, b| (a.due_at, a.raised_at, &a.id).cmp(&(b.due_at, b.raised_at, &b.id)));
    queue
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExceptionAction::*;
    use ExceptionKind::*;

    fn id(text: &str) -> Id {
        Id::new(text).expect("an id")
    }
    fn at(minute: i64) -> DateTime<Utc> {
        "2026-12-02T10:00:00Z".parse::<DateTime<Utc>>().expect("a time") + Duration::minutes(minute)
    }
    fn person(role: Role) -> Actor {
        Actor { subject: format!("{}-1", role.as_str()), role }
    }
    /// A valid spec of `kind` on order O-1: line 2 (SKU-1) where the kind allows a line.
    fn spec(kind: ExceptionKind) -> ExceptionSpec {
        let on_line = !matches!(kind, AddressHold | FraudHold);
        ExceptionSpec {
            order: id("O-1"),
            line: on_line.then_some(2),
            sku: on_line.then(|| id("SKU-1")),
            kind,
            detail: "line 2: 5 × SKU-1 short, nothing inbound".into(),
            substitute: (kind == SubstitutionOffered).then(|| id("SKU-2")),
        }
    }
    /// `kind` raised as EX-1 at minute 0.
    fn raised(kind: ExceptionKind) -> OrderException {
        OrderException::raise(id("EX-1"), &spec(kind), at(0)).expect("raised")
    }
    /// The error as one line naming its code and its field or rule.
    fn describe(error: &EngineError) -> String {
        match error {
            EngineError::InvalidRequest { field, message } => format!("invalid {field}: {message}"),
            EngineError::Conflict { message } => format!("conflict: {message}"),
            EngineError::Forbidden { rule, message } => format!("forbidden {rule}: {message}"),
            other => format!("{other:?}"),
        }
    }

    // The routing table.

    #[track_caller]
    fn check_route(kind: ExceptionKind, team: Team, due_in_minutes: u32, actions: &[ExceptionAction]) {
        assert_eq!(kind.team(), team, "{kind:?}");
        assert_eq!(kind.due_in_minutes(), due_in_minutes, "{kind:?}");
        assert_eq!(kind.actions(), actions, "{kind:?}");
        let exception = raised(kind);
        assert_eq!(
            (exception.team, exception.due_at, exception.status, exception.version, exception.escalated),
            (team, at(i64::from(due_in_minutes)), ExceptionStatus::Open, 1, false),
            "{kind:?} as raised"
        );
    }

    #[test]
    fn routing_table() {
        check_route(Shortage, Team::Procurement, 240, &[Escalate, CancelLine, KeepBackorder]);
        check_route(SplitNeedsApproval, Team::CustomerService, 120, &[ApproveSplit, KeepBackorder, CancelLine]);
        check_route(Backorder, Team::Procurement, 1_440, &[KeepBackorder, Escalate, CancelLine, ApprovePartial]);
        check_route(SubstitutionOffered, Team::CustomerService, 240, &[AcceptSubstitute, KeepBackorder, CancelLine]);
        check_route(AddressHold, Team::CustomerService, 240, &[ReleaseHold, CancelLine]);
        check_route(FraudHold, Team::CustomerService, 60, &[ReleaseHold, CancelLine]);
        check_route(SlaAtRisk, Team::Warehouse, 30, &[Expedite, Escalate, KeepBackorder]);
        assert_eq!(ESCALATION_DUE_IN_MINUTES, 240);
    }

    /// `as_str` is the serde name, for every kind, team, action and status.
    #[test]
    fn names_are_the_wire_names() {
        #[track_caller]
        fn check<T: Serialize>(value: T, name: &str) {
            assert_eq!(serde_json::to_value(&value).expect("serialises"), serde_json::json!(name));
        }
        for kind in ExceptionKind::ALL {
            check(kind, kind.as_str());
        }
        for team in Team::ALL {
            check(team, team.as_str());
        }
        let actions =
            [ApprovePartial, ApproveSplit, AcceptSubstitute, Escalate, CancelLine, KeepBackorder, ReleaseHold];
        for action in actions.into_iter().chain([Expedite]) {
            check(action, action.as_str());
        }
        for status in [ExceptionStatus::Open, ExceptionStatus::Resolved, ExceptionStatus::Closed] {
            check(status, status.as_str());
        }
        check(SlaAtRisk, "sla_at_risk");
        check(Team::CustomerService, "customer_service");
    }

    #[track_caller]
    fn check_team(team: Team, allowed: &[Role]) {
        for role in Role::ALL {
            assert_eq!(may_act(team, role), allowed.contains(&role), "{} for {}", role.as_str(), team.as_str());
        }
    }

    #[test]
    fn who_acts_for_which_team() {
        check_team(Team::Warehouse, &[Role::Warehouse, Role::Admin]);
        check_team(Team::Procurement, &[Role::Buyer, Role::Approver, Role::Admin]);
        check_team(Team::CustomerService, &[Role::CustomerService, Role::Admin]);
    }

    // Raising.

    #[track_caller]
    fn check_raise(kind: ExceptionKind, edit: impl FnOnce(&mut ExceptionSpec), expect: Result<(), &str>) {
        let mut spec = spec(kind);
        edit(&mut spec);
        let got = OrderException::raise(id("EX-1"), &spec, at(0));
        match expect {
            Ok(()) => {
                let exception = got.expect("raised");
                assert_eq!(
                    (&exception.order, exception.line, &exception.sku, &exception.detail, &exception.substitute),
                    (&spec.order, spec.line, &spec.sku, &spec.detail, &spec.substitute)
                );
            }
            Err(part) => {
                let got = got.map_err(|error| describe(&error));
                assert!(got.as_ref().is_err_and(|m| m.contains(part)), "{got:?} lacks {part}");
            }
        }
    }

    #[test]
    fn raising_is_checked() {
        for kind in ExceptionKind::ALL {
            check_raise(kind, |_| {}, Ok(()));
        }
        check_raise(SlaAtRisk, |s| (s.line, s.sku) = (None, None), Ok(()));
        check_raise(SplitNeedsApproval, |s| (s.line, s.sku) = (None, None), Ok(()));
        check_raise(Shortage, |s| s.line = Some(100), Ok(()));
        check_raise(Shortage, |s| s.detail = "x".repeat(256), Ok(()));
        check_raise(Shortage, |s| s.detail = String::new(), Err("invalid detail: must be 1..=256"));
        check_raise(Shortage, |s| s.detail = "x".repeat(257), Err("invalid detail: must be 1..=256"));
        check_raise(Shortage, |s| s.detail = "line 2:\nshort".into(), Err("invalid detail: must not contain control"));
        check_raise(Shortage, |s| s.line = Some(0), Err("invalid line: must be 1..=100"));
        check_raise(Shortage, |s| s.line = Some(101), Err("invalid line: must be 1..=100"));
        check_raise(Shortage, |s| s.sku = None, Err("invalid sku: a line and its SKU"));
        check_raise(SlaAtRisk, |s| s.line = None, Err("invalid sku: a line and its SKU"));
        check_raise(Backorder, |s| (s.line, s.sku) = (None, None), Err("invalid line: a backorder is about one line"));
        check_raise(Shortage, |s| (s.line, s.sku) = (None, None), Err("invalid line: a shortage is about one line"));
        check_raise(
            FraudHold,
            |s| (s.line, s.sku) = (Some(1), Some(id("SKU-1"))),
            Err("invalid line: an fraud_hold holds the whole order"),
        );
        check_raise(
            AddressHold,
            |s| (s.line, s.sku) = (Some(1), Some(id("SKU-1"))),
            Err("invalid line: an address_hold holds the whole order"),
        );
        check_raise(SubstitutionOffered, |s| s.substitute = None, Err("invalid substitute: name the SKU offered"));
        check_raise(
            SubstitutionOffered,
            |s| s.substitute = Some(id("SKU-1")),
            Err("invalid substitute: SKU-1 is the SKU"),
        );
        check_raise(
            Shortage,
            |s| s.substitute = Some(id("SKU-2")),
            Err("invalid substitute: only a substitution_offered"),
        );
        check_raise(
            FraudHold,
            |s| s.substitute = Some(id("SKU-2")),
            Err("invalid substitute: only a substitution_offered"),
        );
    }

    #[test]
    fn a_spec_reads_from_json() {
        let json = r#"{"order":"O-7","kind":"fraud_hold","detail":"card flagged by the payment provider"}"#;
        let spec: ExceptionSpec = serde_json::from_str(json).expect("a spec");
        assert_eq!((spec.kind, spec.line, spec.sku, spec.substitute), (FraudHold, None, None, None));
        let unknown = r#"{"order":"O-7","kind":"fraud_hold","detail":"x","team":"warehouse"}"#;
        assert!(serde_json::from_str::<ExceptionSpec>(unknown).is_err(), "the team comes from the kind");
    }

    #[track_caller]
    fn check_may_raise(existing: &[OrderException], spec: &ExceptionSpec, expect: Result<(), &str>) {
        let got = may_raise(existing, spec).map_err(|error| describe(&error));
        match expect {
            Ok(()) => assert_eq!(got, Ok(())),
            Err(part) => assert!(got.as_ref().is_err_and(|m| m.contains(part)), "{got:?} lacks {part}"),
        }
    }

    #[test]
    fn an_order_does_not_stack_exceptions() {
        let open = [raised(Backorder)];
        let mut resolved = raised(Backorder);
        resolved.resolve(KeepBackorder, &person(Role::Buyer), at(1), 1, None).expect("resolved");
        let other_line = ExceptionSpec { line: Some(3), ..spec(Backorder) };
        let other_order = ExceptionSpec { order: id("O-2"), ..spec(Backorder) };
        check_may_raise(&[], &spec(Backorder), Ok(()));
        check_may_raise(&open, &spec(Backorder), Err("conflict: exception EX-1 (backorder) is already open"));
        check_may_raise(&[resolved], &spec(Backorder), Ok(()));
        check_may_raise(&open, &other_line, Ok(()));
        check_may_raise(&open, &other_order, Ok(()));
        check_may_raise(&open, &spec(Shortage), Ok(()));
        let many = |count: u32| -> Vec<OrderException> {
            (1..=count)
                .map(|n| {
                    let spec = ExceptionSpec { line: Some(n), ..spec(SlaAtRisk) };
                    OrderException::raise(id(&format!("EX-{n}")), &spec, at(0)).expect("raised")
                })
                .collect()
        };
        let max = u32::try_from(ORDER_EXCEPTIONS_MAX).expect("small");
        check_may_raise(&many(max - 1), &spec(FraudHold), Ok(()));
        check_may_raise(&many(max), &spec(FraudHold), Err("conflict: order O-1 has 64 open exceptions"));
        check_may_raise(&many(max), &other_order, Ok(()));
    }

    // Refusals: each leaves the exception exactly as it was.

    #[track_caller]
    fn check_refused(
        mut exception: OrderException,
        action: ExceptionAction,
        role: Role,
        seen_version: u32,
        comment: Option<&str>,
        expect: &str,
    ) {
        let before = exception.clone();
        let got = exception.resolve(action, &person(role), at(20), seen_version, comment);
        let got = got.map_err(|error| describe(&error));
        assert!(got.as_ref().is_err_and(|m| m.contains(expect)), "{got:?} lacks {expect}");
        assert_eq!(exception, before, "a refused {} changed the exception", action.as_str());
    }

    #[test]
    fn refusals_change_nothing() {
        use Role::*;
        let mut resolved = raised(Backorder);
        resolved.resolve(KeepBackorder, &person(Buyer), at(1), 1, None).expect("resolved");
        let mut closed = raised(Backorder);
        assert!(closed.close(at(1), "stock arrived"));
        let mut escalated = raised(Backorder);
        escalated.resolve(Escalate, &person(Buyer), at(1), 1, None).expect("escalated");
        let whole_order_late =
            OrderException::raise(id("EX-1"), &ExceptionSpec { line: None, sku: None, ..spec(SlaAtRisk) }, at(0))
                .expect("raised");
        let raised_later = OrderException::raise(id("EX-1"), &spec(Backorder), at(30)).expect("raised");

        // Not open.
        check_refused(resolved.clone(), KeepBackorder, Buyer, 2, None, "conflict: exception EX-1 is resolved");
        check_refused(resolved.clone(), CancelLine, Admin, 1, None, "conflict: exception EX-1 is resolved");
        check_refused(closed.clone(), KeepBackorder, Buyer, 2, None, "conflict: exception EX-1 is closed");
        // A stale (or future) version.
        check_refused(
            raised(Backorder),
            KeepBackorder,
            Buyer,
            0,
            None,
            "conflict: exception EX-1 is at version 1, you saw version 0",
        );
        check_refused(raised(Backorder), KeepBackorder, Buyer, 2, None, "is at version 1, you saw version 2");
        check_refused(escalated.clone(), KeepBackorder, Buyer, 1, None, "is at version 2, you saw version 1");
        // Not an action of the kind.
        check_refused(
            raised(FraudHold),
            AcceptSubstitute,
            CustomerService,
            1,
            None,
            "invalid action: `accept_substitute` is not a resolution of a fraud_hold exception: release_hold, cancel_line",
        );
        check_refused(raised(Backorder), ReleaseHold, Buyer, 1, None, "invalid action: `release_hold` is not");
        check_refused(raised(SlaAtRisk), CancelLine, Warehouse, 1, None, "invalid action: `cancel_line` is not");
        check_refused(raised(Shortage), ApprovePartial, Buyer, 1, None, "invalid action: `approve_partial` is not");
        check_refused(raised(SubstitutionOffered), Escalate, CustomerService, 1, None, "invalid action: `escalate`");
        // A role not on the team.
        for role in [Storefront, Finance, CustomerService, Warehouse] {
            check_refused(raised(Backorder), KeepBackorder, role, 1, None, "forbidden team: a ");
        }
        check_refused(
            raised(Backorder),
            KeepBackorder,
            Storefront,
            1,
            None,
            "forbidden team: a storefront cannot act for the procurement team (who may: buyer, approver, admin)",
        );
        for role in [Storefront, Finance, Buyer, Approver, Warehouse] {
            check_refused(raised(FraudHold), ReleaseHold, role, 1, None, "forbidden team: a ");
        }
        for role in [Storefront, Finance, Buyer, CustomerService] {
            check_refused(raised(SlaAtRisk), Expedite, role, 1, None, "forbidden team: a ");
        }
        for kind in ExceptionKind::ALL {
            let action = kind.actions()[0];
            check_refused(raised(kind), action, System, 1, None, "forbidden team: the system does not resolve");
        }
        // Escalated: now procurement's, and not twice.
        check_refused(escalated.clone(), Escalate, Buyer, 2, None, "conflict: exception EX-1 is already escalated");
        check_refused(escalated.clone(), KeepBackorder, CustomerService, 2, None, "forbidden team");
        // No SKU to expedite.
        check_refused(
            whole_order_late,
            Escalate,
            Warehouse,
            1,
            None,
            "invalid action: exception EX-1 is about the whole order",
        );
        // A bad comment, a time before it was raised.
        check_refused(raised(Backorder), KeepBackorder, Buyer, 1, Some("a\u{7}b"), "invalid comment");
        check_refused(raised(Backorder), KeepBackorder, Buyer, 1, Some(&"x".repeat(257)), "invalid comment");
        check_refused(raised_later, KeepBackorder, Buyer, 1, None, "invalid at: ");
        // The first refusal wins: a resolved one with a stale version is "resolved".
        check_refused(resolved, KeepBackorder, Storefront, 0, None, "conflict: exception EX-1 is resolved");
    }

    // Follow-ups.

    #[track_caller]
    fn check_follow_up(kind: ExceptionKind, action: ExceptionAction, role: Role, expect: FollowUp) {
        let mut exception = raised(kind);
        let before = exception.clone();
        let got = exception.resolve(action, &person(role), at(7), 1, Some("called the customer"));
        assert_eq!(got, Ok(expect), "{} on {}", action.as_str(), kind.as_str());
        assert_eq!(exception.version, 2);
        let decided = Resolution {
            action,
            by: person(role).subject,
            role,
            at: at(7),
            comment: Some("called the customer".into()),
        };
        if action == Escalate {
            assert_eq!(exception.status, ExceptionStatus::Open);
            assert_eq!((exception.team, exception.escalated), (Team::Procurement, true));
            assert_eq!((&exception.escalation, &exception.resolution), (&Some(decided), &None));
        } else {
            assert_eq!(exception.status, ExceptionStatus::Resolved);
            assert_eq!(exception.resolution, Some(decided));
            assert_eq!((exception.team, exception.due_at, exception.escalated), (before.team, before.due_at, false));
        }
    }

    #[test]
    fn every_action_tells_the_host_what_next() {
        use Role::{Buyer, CustomerService as Cs, Warehouse};
        let order = || id("O-1");
        let table: [(ExceptionKind, ExceptionAction, Role, FollowUp); 20] = [
            (Shortage, Escalate, Buyer, FollowUp::Expedite { sku: id("SKU-1") }),
            (Shortage, CancelLine, Buyer, FollowUp::CancelLine { order: order(), line: Some(2) }),
            (Shortage, KeepBackorder, Role::Approver, FollowUp::None),
            (SplitNeedsApproval, ApproveSplit, Cs, FollowUp::ShipSplit { order: order() }),
            (SplitNeedsApproval, KeepBackorder, Cs, FollowUp::None),
            (SplitNeedsApproval, CancelLine, Cs, FollowUp::CancelLine { order: order(), line: Some(2) }),
            (Backorder, KeepBackorder, Buyer, FollowUp::None),
            (Backorder, Escalate, Buyer, FollowUp::Expedite { sku: id("SKU-1") }),
            (Backorder, CancelLine, Buyer, FollowUp::CancelLine { order: order(), line: Some(2) }),
            (Backorder, ApprovePartial, Role::Admin, FollowUp::ShipPartial { order: order() }),
            (
                SubstitutionOffered,
                AcceptSubstitute,
                Cs,
                FollowUp::Substitute { order: order(), line: 2, sku: id("SKU-2") },
            ),
            (SubstitutionOffered, KeepBackorder, Cs, FollowUp::None),
            (SubstitutionOffered, CancelLine, Cs, FollowUp::CancelLine { order: order(), line: Some(2) }),
            (AddressHold, ReleaseHold, Cs, FollowUp::ReleaseHold { order: order() }),
            (AddressHold, CancelLine, Cs, FollowUp::CancelLine { order: order(), line: None }),
            (FraudHold, ReleaseHold, Role::Admin, FollowUp::ReleaseHold { order: order() }),
            (FraudHold, CancelLine, Cs, FollowUp::CancelLine { order: order(), line: None }),
            (SlaAtRisk, Expedite, Warehouse, FollowUp::PrioritisePick { order: order() }),
            (SlaAtRisk, Escalate, Warehouse, FollowUp::Expedite { sku: id("SKU-1") }),
            (SlaAtRisk, KeepBackorder, Warehouse, FollowUp::None),
        ];
        for kind in ExceptionKind::ALL {
            for action in kind.actions() {
                let rows = table.iter().filter(|row| (row.0, row.1) == (kind, *action)).count();
                assert_eq!(
                    rows,
                    1,
                    "{} on {}: the table covers every allowed action once",
                    action.as_str(),
                    kind.as_str()
                );
            }
        }
        for (kind, action, role, expect) in table {
            check_follow_up(kind, action, role, expect);
        }
        // An order-level split cancels the whole order.
        let mut whole = OrderException::raise(
            id("EX-2"),
            &ExceptionSpec { line: None, sku: None, ..spec(SplitNeedsApproval) },
            at(0),
        )
        .expect("raised");
        let got = whole.resolve(CancelLine, &person(Cs), at(1), 1, Some("  "));
        assert_eq!(got, Ok(FollowUp::CancelLine { order: order(), line: None }));
        assert_eq!(whole.resolution.and_then(|r| r.comment), None, "a blank comment is none");
    }

    // Escalation.

    #[test]
    fn escalation_hands_it_to_procurement_once() {
        let buyer = person(Role::Buyer);
        // A backorder, already procurement's: escalating brings its due time forward.
        let mut backorder = raised(Backorder);
        assert_eq!(backorder.due_at, at(1_440));
        let got = backorder.resolve(Escalate, &buyer, at(30), 1, Some("customer is a key account"));
        assert_eq!(got, Ok(FollowUp::Expedite { sku: id("SKU-1") }));
        assert_eq!((backorder.team, backorder.due_at, backorder.version), (Team::Procurement, at(270), 2));

        // A late pick: the warehouse hands it over, the warehouse can no longer resolve it.
        let mut late = raised(SlaAtRisk);
        assert!(late.is_overdue(at(40)));
        let got = late.resolve(Escalate, &person(Role::Warehouse), at(10), 1, None);
        assert_eq!(got, Ok(FollowUp::Expedite { sku: id("SKU-1") }));
        assert_eq!((late.team, late.due_at, late.status), (Team::Procurement, at(250), ExceptionStatus::Open));
        assert!(!late.is_overdue(at(40)), "the escalation gave it a new due time");
        assert_eq!(late.escalation.as_ref().map(|e| (e.role, e.at)), Some((Role::Warehouse, at(10))));
        let before = late.clone();
        let refused = late.resolve(KeepBackorder, &person(Role::Warehouse), at(11), 2, None);
        assert!(matches!(&refused, Err(EngineError::Forbidden { rule, .. }) if rule == "team"), "{refused:?}");
        let twice = late.resolve(Escalate, &buyer, at(11), 2, None);
        assert!(
            matches!(&twice, Err(EngineError::Conflict { message }) if message.contains("resolve it with expedite, keep_backorder")),
            "{twice:?}"
        );
        assert_eq!(late, before);
        assert_eq!(queue(std::slice::from_ref(&late), Team::Warehouse, None).len(), 0);
        assert_eq!(queue(std::slice::from_ref(&late), Team::Procurement, None).len(), 1);

        // Procurement resolves it.
        let got = late.resolve(KeepBackorder, &person(Role::Approver), at(60), 2, Some("inbound tomorrow"));
        assert_eq!(got, Ok(FollowUp::None));
        assert_eq!((late.status, late.version, late.escalated), (ExceptionStatus::Resolved, 3, true));
        assert_eq!(late.resolution.map(|r| (r.action, r.role)), Some((KeepBackorder, Role::Approver)));
    }

    // Closing.

    #[track_caller]
    fn check_close(mut exception: OrderException, reason: &str, expect: Option<&str>) {
        let before = exception.clone();
        let changed = exception.close(at(50), reason);
        match expect {
            Some(kept) => {
                assert!(changed);
                assert_eq!(exception.status, ExceptionStatus::Closed);
                assert_eq!(exception.closed, Some(Closure { at: at(50), reason: kept.to_string() }));
                assert_eq!(exception.version, before.version + 1);
                assert!(!exception.is_overdue(at(10_000)), "a closed exception is never overdue");
                let mut after = exception.clone();
                let refused = after.resolve(KeepBackorder, &person(Role::Admin), at(51), exception.version, None);
                assert!(matches!(refused, Err(EngineError::Conflict { .. })), "{refused:?}");
                assert_eq!(after, exception);
            }
            None => {
                assert!(!changed);
                assert_eq!(exception, before);
            }
        }
    }

    #[test]
    fn the_system_closes_what_went_away() {
        let mut resolved = raised(Backorder);
        resolved.resolve(KeepBackorder, &person(Role::Buyer), at(1), 1, None).expect("resolved");
        let mut closed = raised(Backorder);
        assert!(closed.close(at(1), "stock arrived"));
        let mut escalated = raised(Backorder);
        escalated.resolve(Escalate, &person(Role::Buyer), at(1), 1, None).expect("escalated");

        check_close(raised(Backorder), "PO-7 received 5 × SKU-1", Some("PO-7 received 5 × SKU-1"));
        check_close(escalated, "stock arrived", Some("stock arrived"));
        check_close(raised(FraudHold), "order cancelled\nby the customer", Some("order cancelledby the customer"));
        check_close(raised(AddressHold), " \t", Some("its cause went away"));
        check_close(raised(SlaAtRisk), &"é".repeat(300), Some(&"é".repeat(256)));
        check_close(resolved, "stock arrived", None);
        check_close(closed, "stock arrived again", None);
    }

    // Queues and due times.

    #[track_caller]
    fn check_queue(exceptions: &[OrderException], team: Team, status: Option<ExceptionStatus>, expect: &[&str]) {
        let got: Vec<&str> = queue(exceptions, team, status).iter().map(|e| e.id.as_str()).collect();
        assert_eq!(got, expect, "{} {status:?}", team.as_str());
    }

    #[test]
    fn a_queue_lists_the_one_due_first_first() {
        let raise = |name: &str, kind: ExceptionKind, minute: i64| {
            OrderException::raise(id(name), &spec(kind), at(minute)).expect("raised")
        };
        let mut handled = raise("EX-0", FraudHold, 0);
        handled.resolve(ReleaseHold, &person(Role::CustomerService), at(5), 1, None).expect("resolved");
        let mut gone = raise("EX-9", SlaAtRisk, 0);
        assert!(gone.close(at(3), "picked"));
        let exceptions = [
            raise("EX-5", AddressHold, 0),          // due 240
            raise("EX-2", SubstitutionOffered, 0),  // due 240: the same due and raised time, by id
            raise("EX-3", SplitNeedsApproval, 120), // due 240, raised later
            raise("EX-4", FraudHold, 170),          // due 230
            handled,                                // due 60, resolved
            raise("EX-6", Backorder, 0),            // procurement, due 1440
            raise("EX-7", Shortage, 10),            // procurement, due 250
            raise("EX-8", SlaAtRisk, 0),            // warehouse, due 30
            gone,                                   // warehouse, closed
        ];
        let open = Some(ExceptionStatus::Open);
        check_queue(&exceptions, Team::CustomerService, open, &["EX-4", "EX-2", "EX-5", "EX-3"]);
        check_queue(&exceptions, Team::CustomerService, None, &["EX-0", "EX-4", "EX-2", "EX-5", "EX-3"]);
        check_queue(&exceptions, Team::CustomerService, Some(ExceptionStatus::Resolved), &["EX-0"]);
        check_queue(&exceptions, Team::Procurement, open, &["EX-7", "EX-6"]);
        check_queue(&exceptions, Team::Warehouse, open, &["EX-8"]);
        check_queue(&exceptions, Team::Warehouse, Some(ExceptionStatus::Closed), &["EX-9"]);
        check_queue(&[], Team::Warehouse, None, &[]);
    }

    #[track_caller]
    fn check_overdue(exception: &OrderException, minute: i64, expect: bool) {
        assert_eq!(exception.is_overdue(at(minute)), expect, "{} at minute {minute}", exception.kind.as_str());
    }

    #[test]
    fn overdue_after_the_due_time() {
        let fraud = raised(FraudHold);
        check_overdue(&fraud, 0, false);
        check_overdue(&fraud, 60, false);
        check_overdue(&fraud, 61, true);
        let backorder = raised(Backorder);
        check_overdue(&backorder, 1_440, false);
        check_overdue(&backorder, 1_441, true);
        let mut resolved = raised(FraudHold);
        resolved.resolve(ReleaseHold, &person(Role::CustomerService), at(90), 1, None).expect("resolved late");
        check_overdue(&resolved, 91, false);
    }

    /// What the host stores reads back the same.
    #[test]
    fn an_exception_round_trips() {
        let mut exception = raised(SubstitutionOffered);
        exception.resolve(AcceptSubstitute, &person(Role::Admin), at(3), 1, Some("customer agreed")).expect("resolved");
        let text = serde_json::to_string(&exception).expect("serialises");
        assert!(text.contains(r#""kind":"substitution_offered""#), "{text}");
        let back: OrderException = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, exception);
        let follow_up = FollowUp::CancelLine { order: id("O-1"), line: None };
        let text = serde_json::to_string(&follow_up).expect("serialises");
        assert_eq!(text, r#"{"cancel_line":{"order":"O-1","line":null}}"#);
        assert_eq!(serde_json::from_str::<FollowUp>(&text).expect("reads back"), follow_up);
    }
}
