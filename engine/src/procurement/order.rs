//! A purchase order and its life: draft → submitted → approved | rejected → sent →
//! partially_received → received → closed; cancelled from any state before received (after a
//! partial receipt, the open remainder only). Every change goes through a method here, checks the
//! version the caller saw, and leaves an audited event (who, when, what, comment, version).
//!
//! Inbound: a line is inbound at its destination from the moment the order is **sent**, not
//! approved. Until the supplier has the order nothing is on its way; counting an approved but
//! unsent order as supply would hide the shortage it was raised for from the plan, and the order
//! from the buyer who still has to send it.

use super::approval::{may_approve, ApprovalRules, Approver, Route, Standing};
use super::matching::Invoice;
use crate::catalog::Catalog;
use crate::error::EngineError;
use crate::ids::Id;
use crate::ledger::{Actor, InboundTarget};
use crate::limits::{PO_EVENTS_MAX, PO_LINES_MAX, PO_RECEIPTS_MAX, QTY_REQUEST_MAX, RECEIPT_TOLERANCE_PCT_MAX};
use crate::money::{check_currency, Money};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Sent,
    PartiallyReceived,
    Received,
    Closed,
    Cancelled,
}

impl PoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Draft => "draft",
            PoStatus::Submitted => "submitted",
            PoStatus::Approved => "approved",
            PoStatus::Rejected => "rejected",
            PoStatus::Sent => "sent",
            PoStatus::PartiallyReceived => "partially_received",
            PoStatus::Received => "received",
            PoStatus::Closed => "closed",
            PoStatus::Cancelled => "cancelled",
        }
    }

    /// The actions the order's life allows from this state (who may take them is another matter:
    /// approvals and receipts have their own rules). Views offer these and no others.
    pub fn actions(self) -> &'static [PoAction] {
        use PoAction::*;
        match self {
            PoStatus::Draft => &[Submit, Cancel],
            PoStatus::Submitted => &[Approve, Reject, Cancel],
            PoStatus::Approved => &[Send, Cancel],
            PoStatus::Rejected => &[Cancel],
            PoStatus::Sent | PoStatus::PartiallyReceived => &[Receive, Cancel],
            PoStatus::Received => &[Close],
            PoStatus::Closed | PoStatus::Cancelled => &[],
        }
    }

    /// Whether its open lines are on their way (inbound at their destinations).
    pub fn is_inbound(self) -> bool {
        matches!(self, PoStatus::Sent | PoStatus::PartiallyReceived)
    }
}

/// A line as the buyer writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoLineSpec {
    pub sku: Id,
    pub location: Id,
    pub qty: i64,
    pub unit_price: Money,
    pub expected_on: NaiveDate,
}

/// `POST /v1/purchase-orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoSpec {
    pub supplier: Id,
    pub currency: String,
    pub lines: Vec<PoLineSpec>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoLine {
    /// 1, 2, … in the order written.
    pub line: u32,
    pub sku: Id,
    pub location: Id,
    pub qty: i64,
    pub unit_price: Money,
    pub expected_on: NaiveDate,
    /// Received so far (into stock and into quarantine).
    pub received: i64,
    pub quarantined: i64,
    /// Cancelled of the open remainder.
    pub cancelled: i64,
}

impl PoLine {
    /// What is still expected.
    pub fn open(&self) -> i64 {
        (self.qty - self.received - self.cancelled).max(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoAction {
    Create,
    Submit,
    Approve,
    Reject,
    Send,
    Receive,
    Cancel,
    Close,
}

impl PoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PoAction::Create => "create",
            PoAction::Submit => "submit",
            PoAction::Approve => "approve",
            PoAction::Reject => "reject",
            PoAction::Send => "send",
            PoAction::Receive => "receive",
            PoAction::Cancel => "cancel",
            PoAction::Close => "close",
        }
    }
}

/// One audited change.
pub type PoEvent = crate::audit::Event<PoStatus, PoAction>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub subject: String,
    pub at: DateTime<Utc>,
    /// Given on the stricter path (watch supplier, critical SKU).
    pub strict: bool,
}

/// Where received units go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveTo {
    #[default]
    Stock,
    Quarantine,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLine {
    pub line: u32,
    pub qty: i64,
    #[serde(default)]
    pub into: ReceiveTo,
}

/// `POST /v1/purchase-orders/{id}/receipts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptSpec {
    pub lines: Vec<ReceiptLine>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// What one receipt does to one SKU at one location: on hand up (into stock or quarantine) and
/// inbound down, in one ledger entry on the SKU's object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEffect {
    pub sku: Id,
    pub location: Id,
    pub into_stock: i64,
    pub into_quarantine: i64,
    /// What the units cost on the order (its currency): the quantity-weighted price of the lines
    /// they came in on, to 6 places.
    pub unit_price: Money,
    /// The earliest date still open on the order for this SKU here after the receipt.
    pub expected_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub by: String,
    pub lines: Vec<ReceiptLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrder {
    pub id: Id,
    pub supplier: Id,
    pub currency: String,
    pub lines: Vec<PoLine>,
    pub status: PoStatus,
    pub version: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub submitted_by: Option<String>,
    /// Fixed at submission.
    pub route: Option<Route>,
    pub approvals: Vec<Approval>,
    pub receipts: Vec<Receipt>,
    pub events: Vec<PoEvent>,
}

/// What lists and inboxes show of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoSummary {
    pub id: Id,
    pub supplier: Id,
    pub currency: String,
    pub status: PoStatus,
    pub version: u32,
    pub value: Money,
    pub lines: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The earliest expected date of what is still open.
    pub next_expected_on: Option<NaiveDate>,
    pub approvals: u32,
    /// Fixed at submission.
    pub approvals_required: Option<u32>,
}

pub use crate::audit::Decision;
use crate::audit::{check_comment, kept_comment};

impl PoSpec {
    /// Every line names a SKU that exists (`defined`: those of the spec's SKUs the host found).
    /// An order for an unknown SKU would be inbound nowhere and its receipts could not land.
    pub fn check_defined(&self, defined: &[Id]) -> Result<(), EngineError> {
        match self.lines.iter().find(|line| !defined.contains(&line.sku)) {
            Some(line) => Err(EngineError::NotFound { kind: "sku", id: line.sku.to_string() }),
            None => Ok(()),
        }
    }

    /// The SKUs the lines name, each once, in order.
    pub fn skus(&self) -> Vec<Id> {
        let mut skus: Vec<Id> = self.lines.iter().map(|line| line.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        skus
    }
}

impl PurchaseOrder {
    /// A draft, for a supplier and to locations of `catalog`. Nobody may create an order for a
    /// blocked supplier.
    pub fn create(
        id: Id,
        spec: &PoSpec,
        catalog: &Catalog,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<PurchaseOrder, EngineError> {
        check_currency("currency", &spec.currency)?;
        if spec.lines.is_empty() || spec.lines.len() > PO_LINES_MAX {
            return Err(EngineError::invalid("lines", format!("1..={PO_LINES_MAX} lines")));
        }
        check_comment(spec.comment.as_deref())?;
        for (index, line) in spec.lines.iter().enumerate() {
            if !(1..=QTY_REQUEST_MAX).contains(&line.qty) {
                return Err(EngineError::invalid(
                    &format!("lines[{index}].qty"),
                    format!("must be 1..={QTY_REQUEST_MAX}"),
                ));
            }
            if line.unit_price.is_negative() {
                return Err(EngineError::invalid(&format!("lines[{index}].unit_price"), "cannot be negative"));
            }
            let earlier = &spec.lines[..index];
            if earlier.iter().any(|other| {
                other.sku == line.sku && other.location == line.location && other.expected_on == line.expected_on
            }) {
                return Err(EngineError::invalid(
                    &format!("lines[{index}]"),
                    format!(
                        "{} to {} on {} is already a line: add to its qty",
                        line.sku, line.location, line.expected_on
                    ),
                ));
            }
            if line.expected_on < at.date_naive() {
                return Err(EngineError::invalid(&format!("lines[{index}].expected_on"), "is in the past"));
            }
        }
        let supplier = catalog
            .supplier(spec.supplier.as_str())
            .ok_or_else(|| EngineError::not_found("supplier", spec.supplier.as_str()))?;
        for line in &spec.lines {
            catalog.slot_or_not_found(line.location.as_str())?;
        }
        if supplier.standing == Standing::Blocked {
            return Err(EngineError::forbidden(
                "supplier_blocked",
                format!("supplier {} is blocked: no new purchase orders", spec.supplier),
            ));
        }
        let lines = spec
            .lines
            .iter()
            .zip(1u32..)
            .map(|(line, number)| PoLine {
                line: number,
                sku: line.sku.clone(),
                location: line.location.clone(),
                qty: line.qty,
                unit_price: line.unit_price,
                expected_on: line.expected_on,
                received: 0,
                quarantined: 0,
                cancelled: 0,
            })
            .collect();
        let mut order = PurchaseOrder {
            id,
            supplier: spec.supplier.clone(),
            currency: spec.currency.clone(),
            lines,
            status: PoStatus::Draft,
            version: 0,
            created_by: actor.subject.clone(),
            created_at: at,
            submitted_by: None,
            route: None,
            approvals: Vec::new(),
            receipts: Vec::new(),
            events: Vec::new(),
        };
        order.value()?;
        order.record(actor, at, PoAction::Create, None, PoStatus::Draft, spec.comment.as_deref());
        order.check_invariants();
        Ok(order)
    }

    pub fn summary(&self) -> Result<PoSummary, EngineError> {
        Ok(PoSummary {
            id: self.id.clone(),
            supplier: self.supplier.clone(),
            currency: self.currency.clone(),
            status: self.status,
            version: self.version,
            value: self.value()?,
            lines: u32::try_from(self.lines.len()).expect("bounded"),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.events.last().map_or(self.created_at, |event| event.at),
            next_expected_on: self.lines.iter().filter(|line| line.open() > 0).map(|line| line.expected_on).min(),
            approvals: u32::try_from(self.approvals.len()).expect("bounded"),
            approvals_required: self.route.as_ref().map(|route| u32::from(route.approvals_required())),
        })
    }

    /// Σ qty × unit price, in the order's currency.
    pub fn value(&self) -> Result<Money, EngineError> {
        let too_large = || EngineError::invalid("lines", "the order's value is too large");
        self.lines.iter().try_fold(Money::ZERO, |sum, line| {
            line.unit_price.times(line.qty).and_then(|amount| sum.checked_add(amount)).ok_or_else(too_large)
        })
    }

    fn record(
        &mut self,
        actor: &Actor,
        at: DateTime<Utc>,
        action: PoAction,
        from: Option<PoStatus>,
        to: PoStatus,
        comment: Option<&str>,
    ) {
        self.version += 1;
        self.status = to;
        let event = PoEvent {
            version: self.version,
            at,
            actor: actor.clone(),
            action,
            from,
            to,
            comment: kept_comment(comment),
        };
        crate::audit::append(&mut self.events, PO_EVENTS_MAX, event);
    }

    /// The version and state checks every decision starts with.
    fn expect(&self, decision: &Decision<'_>, action: PoAction, allowed: &[PoStatus]) -> Result<(), EngineError> {
        check_comment(decision.comment)?;
        if decision.seen_version != self.version {
            return Err(EngineError::conflict(format!(
                "purchase order {} is at version {}, you saw version {}: read it again",
                self.id, self.version, decision.seen_version
            )));
        }
        if !allowed.contains(&self.status) {
            return Err(EngineError::conflict(format!(
                "cannot {} purchase order {}: it is {}",
                action.as_str(),
                self.id,
                self.status.as_str()
            )));
        }
        Ok(())
    }

    /// Submits the draft for approval: the route is fixed now. An order no band asks to approve
    /// is approved at once.
    /// The supplier's standing is read from `catalog` now (a supplier put on watch after the draft
    /// was written still takes the stricter path); one no longer in it is refused.
    /// `rules` are the approval rules in force and their version; with none set, nothing can be
    /// routed and the submission is refused.
    pub fn submit(
        &mut self,
        decision: &Decision<'_>,
        rules: Option<(&ApprovalRules, u32)>,
        catalog: &Catalog,
        critical_skus: &[String],
    ) -> Result<(), EngineError> {
        self.expect(decision, PoAction::Submit, &[PoStatus::Draft])?;
        let (rules, rules_version) = rules.ok_or_else(|| {
            EngineError::conflict("no approval rules yet: an admin sets them with PUT /v1/approval-rules")
        })?;
        let standing = catalog
            .supplier(self.supplier.as_str())
            .map(|supplier| supplier.standing)
            .ok_or_else(|| EngineError::not_found("supplier", self.supplier.as_str()))?;
        let route = rules.route(rules_version, self.value()?, &self.currency, standing, critical_skus)?;
        let done = route.approvals_required() == 0;
        self.route = Some(route);
        self.submitted_by = Some(decision.actor.subject.clone());
        self.approvals.clear();
        let to = if done { PoStatus::Approved } else { PoStatus::Submitted };
        self.record(decision.actor, decision.at, PoAction::Submit, Some(PoStatus::Draft), to, decision.comment);
        self.check_invariants();
        Ok(())
    }

    /// Whether `approver` may approve it now (the inbox's test); the refusing rule otherwise.
    pub fn approvable_by(&self, approver: &Approver) -> Result<bool, EngineError> {
        if self.status != PoStatus::Submitted {
            return Err(EngineError::conflict(format!(
                "purchase order {} is {}, not awaiting approval",
                self.id,
                self.status.as_str()
            )));
        }
        let route = self.route.as_ref().expect("a submitted order has its route");
        let given: Vec<String> = self.approvals.iter().map(|a| a.subject.clone()).collect();
        let strict = u8::try_from(self.approvals.iter().filter(|a| a.strict).count()).expect("bounded");
        let submitter = self.submitted_by.as_deref().expect("a submitted order has its submitter");
        may_approve(route, &given, strict, &self.created_by, submitter, approver)
    }

    pub fn approve(&mut self, decision: &Decision<'_>, approver: &Approver) -> Result<(), EngineError> {
        assert_eq!(decision.actor.subject, approver.subject);
        self.expect(decision, PoAction::Approve, &[PoStatus::Submitted])?;
        let strict = self.approvable_by(approver)?;
        self.approvals.push(Approval { subject: approver.subject.clone(), at: decision.at, strict });
        let required = self.route.as_ref().expect("submitted").approvals_required();
        let to = if self.approvals.len() == usize::from(required) { PoStatus::Approved } else { PoStatus::Submitted };
        self.record(decision.actor, decision.at, PoAction::Approve, Some(PoStatus::Submitted), to, decision.comment);
        self.check_invariants();
        Ok(())
    }

    /// Rejects it, with the reason (required). The same rules as approving say who may.
    pub fn reject(&mut self, decision: &Decision<'_>, approver: &Approver) -> Result<(), EngineError> {
        assert_eq!(decision.actor.subject, approver.subject);
        self.expect(decision, PoAction::Reject, &[PoStatus::Submitted])?;
        if decision.comment.is_none_or(|c| c.trim().is_empty()) {
            return Err(EngineError::invalid("comment", "say why the order is rejected"));
        }
        self.approvable_by(approver)?;
        self.record(
            decision.actor,
            decision.at,
            PoAction::Reject,
            Some(PoStatus::Submitted),
            PoStatus::Rejected,
            decision.comment,
        );
        self.check_invariants();
        Ok(())
    }

    /// Sent to the supplier: its open lines are inbound from now.
    pub fn send(&mut self, decision: &Decision<'_>) -> Result<(), EngineError> {
        self.expect(decision, PoAction::Send, &[PoStatus::Approved])?;
        self.record(
            decision.actor,
            decision.at,
            PoAction::Send,
            Some(PoStatus::Approved),
            PoStatus::Sent,
            decision.comment,
        );
        self.check_invariants();
        Ok(())
    }

    /// Cancels what is still open. Returns the inbound it withdraws (per line, qty) when the order
    /// was on its way.
    pub fn cancel(&mut self, decision: &Decision<'_>) -> Result<Vec<(u32, i64)>, EngineError> {
        let allowed = [
            PoStatus::Draft,
            PoStatus::Submitted,
            PoStatus::Approved,
            PoStatus::Rejected,
            PoStatus::Sent,
            PoStatus::PartiallyReceived,
        ];
        self.expect(decision, PoAction::Cancel, &allowed)?;
        let was_inbound = self.status.is_inbound();
        let mut withdrawn = Vec::new();
        for line in &mut self.lines {
            let open = line.open();
            if open > 0 {
                line.cancelled += open;
                if was_inbound {
                    withdrawn.push((line.line, open));
                }
            }
        }
        let from = self.status;
        self.record(decision.actor, decision.at, PoAction::Cancel, Some(from), PoStatus::Cancelled, decision.comment);
        self.check_invariants();
        Ok(withdrawn)
    }

    /// Closes a received order. An invoice still in exception keeps it open: finance corrects it
    /// (a corrected invoice) first.
    pub fn close(&mut self, decision: &Decision<'_>, invoices: &[Invoice]) -> Result<(), EngineError> {
        self.expect(decision, PoAction::Close, &[PoStatus::Received])?;
        if let Some(open) = self.open_exceptions(invoices).next() {
            return Err(EngineError::conflict(format!(
                "invoice {} ({}) is an exception: record a corrected invoice before closing {}",
                open.id, open.number, self.id
            )));
        }
        self.record(
            decision.actor,
            decision.at,
            PoAction::Close,
            Some(PoStatus::Received),
            PoStatus::Closed,
            decision.comment,
        );
        self.check_invariants();
        Ok(())
    }

    /// Receives against the order. `receipt_id` makes it exactly once: a receipt already taken is
    /// answered with its effects again and changes nothing. A line may come over its qty by at
    /// most `tolerance_pct` percent; beyond that the whole receipt is refused.
    pub fn receive(
        &mut self,
        receipt_id: &Id,
        spec: &ReceiptSpec,
        tolerance_pct: u32,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<ReceiptEffect>, EngineError> {
        assert!(tolerance_pct <= RECEIPT_TOLERANCE_PCT_MAX);
        if let Some(earlier) = self.receipts.iter().find(|r| &r.id == receipt_id) {
            if earlier.lines != spec.lines {
                return Err(EngineError::IdempotencyMismatch);
            }
            return Ok(self.effects(&earlier.lines));
        }
        check_comment(spec.comment.as_deref())?;
        if !self.status.is_inbound() {
            return Err(EngineError::conflict(format!(
                "cannot receive against purchase order {}: it is {} (receive once it is sent)",
                self.id,
                self.status.as_str()
            )));
        }
        if spec.lines.is_empty() || spec.lines.len() > PO_LINES_MAX {
            return Err(EngineError::invalid("lines", format!("1..={PO_LINES_MAX} lines")));
        }
        if self.receipts.len() == PO_RECEIPTS_MAX {
            return Err(EngineError::conflict(format!(
                "purchase order {} has {PO_RECEIPTS_MAX} receipts: no more",
                self.id
            )));
        }
        // Check every line before changing any: all or nothing.
        let mut adding = vec![0i64; self.lines.len()];
        for (index, got) in spec.lines.iter().enumerate() {
            let field = format!("lines[{index}]");
            let position = self.lines.iter().position(|line| line.line == got.line).ok_or_else(|| {
                EngineError::invalid(&field, format!("purchase order {} has no line {}", self.id, got.line))
            })?;
            if !(1..=QTY_REQUEST_MAX).contains(&got.qty) {
                return Err(EngineError::invalid(&format!("{field}.qty"), format!("must be 1..={QTY_REQUEST_MAX}")));
            }
            adding[position] += got.qty;
        }
        for (line, &qty) in self.lines.iter().zip(&adding) {
            let ordered = line.qty - line.cancelled;
            let allowed = ordered + ordered * i64::from(tolerance_pct) / 100;
            if qty > 0 && line.received + qty > allowed {
                return Err(EngineError::conflict(format!(
                    "line {} ({}): receiving {qty} would make {} of {ordered} ordered, over the {tolerance_pct}% tolerance ({allowed} at most)",
                    line.line,
                    line.sku,
                    line.received + qty
                )));
            }
        }
        for got in &spec.lines {
            let line = self.lines.iter_mut().find(|line| line.line == got.line).expect("checked");
            line.received += got.qty;
            if got.into == ReceiveTo::Quarantine {
                line.quarantined += got.qty;
            }
        }
        self.receipts.push(Receipt {
            id: receipt_id.clone(),
            at,
            by: actor.subject.clone(),
            lines: spec.lines.clone(),
        });
        let from = self.status;
        let to = if self.lines.iter().all(|line| line.open() == 0) {
            PoStatus::Received
        } else {
            PoStatus::PartiallyReceived
        };
        self.record(actor, at, PoAction::Receive, Some(from), to, spec.comment.as_deref());
        self.check_invariants();
        Ok(self.effects(&spec.lines))
    }

    /// A receipt's effects, one per (SKU, location), in line order.
    fn effects(&self, lines: &[ReceiptLine]) -> Vec<ReceiptEffect> {
        let mut effects: Vec<ReceiptEffect> = Vec::new();
        let mut values: Vec<rust_decimal::Decimal> = Vec::new();
        for got in lines {
            let line =
                self.lines.iter().find(|line| line.line == got.line).expect("a taken receipt names lines of the order");
            let index = match effects.iter().position(|e| e.sku == line.sku && e.location == line.location) {
                Some(index) => index,
                None => {
                    effects.push(ReceiptEffect {
                        sku: line.sku.clone(),
                        location: line.location.clone(),
                        into_stock: 0,
                        into_quarantine: 0,
                        unit_price: Money::ZERO,
                        expected_on: None,
                    });
                    values.push(rust_decimal::Decimal::ZERO);
                    effects.len() - 1
                }
            };
            values[index] += line.unit_price.amount() * rust_decimal::Decimal::from(got.qty);
            match got.into {
                ReceiveTo::Stock => effects[index].into_stock += got.qty,
                ReceiveTo::Quarantine => effects[index].into_quarantine += got.qty,
            }
        }
        let targets = self.inbound_targets();
        for (effect, value) in effects.iter_mut().zip(values) {
            let qty = effect.into_stock + effect.into_quarantine;
            assert!(qty > 0);
            let price = (value / rust_decimal::Decimal::from(qty)).round_dp(6);
            effect.unit_price = Money::from_decimal(price).expect("an average of the order's prices fits");
            effect.expected_on = targets
                .iter()
                .find(|(sku, target)| *sku == effect.sku && target.location == effect.location)
                .and_then(|(_, target)| target.expected_on);
        }
        effects
    }

    /// Whether a receiving dock at `location` is waiting for some of this order: it is on its way
    /// and a line still open goes there.
    pub fn expected_at(&self, location: &Id) -> bool {
        self.status.is_inbound() && self.open_at(location).next().is_some()
    }

    /// The lines with units still open at `location`, in line order. The dock's list, the
    /// receipt it fills in and the order of deliveries all start from these.
    pub fn open_at<'a>(&'a self, location: &'a Id) -> impl Iterator<Item = &'a PoLine> + 'a {
        self.lines.iter().filter(move |line| &line.location == location && line.open() > 0)
    }

    /// The earliest expected date of what is still open at `location`.
    pub fn next_expected_at(&self, location: &Id) -> Option<NaiveDate> {
        self.open_at(location).map(|line| line.expected_on).min()
    }

    /// What is inbound from this order: (line, SKU, location, open qty, expected on).
    pub fn inbound(&self) -> Vec<(&PoLine, i64)> {
        if !self.status.is_inbound() {
            return Vec::new();
        }
        self.lines.iter().filter(|line| line.open() > 0).map(|line| (line, line.open())).collect()
    }

    /// What the SKU ledgers are to expect from this order now: one target per (SKU, location) the
    /// order names, in line order, with the open quantity while it is on its way (0 otherwise:
    /// before it is sent, and once cancelled or received) and the earliest open line's date.
    /// The host sends them after `send` and `cancel`; a receipt settles inbound by itself.
    pub fn inbound_targets(&self) -> Vec<(Id, InboundTarget)> {
        let mut targets: Vec<(Id, InboundTarget)> = Vec::new();
        for line in &self.lines {
            let open = if self.status.is_inbound() { line.open() } else { 0 };
            let index = match targets.iter().position(|(sku, t)| *sku == line.sku && t.location == line.location) {
                Some(index) => index,
                None => {
                    let target = InboundTarget {
                        location: line.location.clone(),
                        reference: self.id.to_string(),
                        qty: 0,
                        expected_on: None,
                    };
                    targets.push((line.sku.clone(), target));
                    targets.len() - 1
                }
            };
            let target = &mut targets[index].1;
            if open > 0 {
                target.qty += open;
                target.expected_on = Some(target.expected_on.map_or(line.expected_on, |d| d.min(line.expected_on)));
            }
        }
        targets
    }

    fn check_invariants(&self) {
        assert!(!self.lines.is_empty() && self.lines.len() <= PO_LINES_MAX);
        assert!(self.events.len() <= PO_EVENTS_MAX && self.events.last().is_some_and(|e| e.version == self.version));
        for line in &self.lines {
            assert!(line.qty >= 1 && line.received >= 0 && line.cancelled >= 0);
            assert!(line.quarantined >= 0 && line.quarantined <= line.received);
            assert!(line.cancelled <= line.qty);
        }
        match self.status {
            PoStatus::Draft => assert!(self.route.is_none() && self.approvals.is_empty()),
            PoStatus::Submitted => {
                let route = self.route.as_ref().expect("a submitted order has its route");
                assert!(self.approvals.len() < usize::from(route.approvals_required()));
            }
            PoStatus::Approved
            | PoStatus::Sent
            | PoStatus::PartiallyReceived
            | PoStatus::Received
            | PoStatus::Closed => {
                let route = self.route.as_ref().expect("an approved order has its route");
                assert_eq!(self.approvals.len(), usize::from(route.approvals_required()));
                let creator_or_submitter =
                    |a: &Approval| a.subject == self.created_by || Some(&a.subject) == self.submitted_by.as_ref();
                assert!(!self.approvals.iter().any(creator_or_submitter), "segregation of duties");
            }
            PoStatus::Rejected | PoStatus::Cancelled => {}
        }
        if matches!(self.status, PoStatus::Received | PoStatus::Closed) {
            assert!(self.lines.iter().all(|line| line.open() == 0));
        }
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::super::approval::Band;
    use super::*;
    use crate::ledger::Role;
    use std::collections::BTreeMap;

    fn id(text: &str) -> Id {
        Id::new(text).expect("an id")
    }
    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }
    fn at(minute: u32) -> DateTime<Utc> {
        format!("2026-12-02T10:{minute:02}:00Z").parse().expect("a time")
    }
    fn person(subject: &str, role: Role) -> Actor {
        Actor { subject: subject.into(), role }
    }
    fn approver(subject: &str, role: Role) -> Approver {
        Approver { subject: subject.into(), role, spend_limit: None }
    }
    fn rules() -> ApprovalRules {
        ApprovalRules {
            base_currency: "EUR".into(),
            rates: BTreeMap::new(),
            bands: vec![
                Band { up_to: Some(money("100")), approvals: 0, roles: vec![] },
                Band { up_to: None, approvals: 2, roles: vec![Role::Approver, Role::Admin] },
            ],
            watch_extra_approvals: 1,
            critical_extra_approvals: 1,
            strict_roles: vec![Role::Admin],
            match_tolerance: super::super::matching::MatchTolerance::default(),
        }
    }
    fn spec(lines: &[(&str, i64, &str)]) -> PoSpec {
        PoSpec {
            supplier: id("basics-co"),
            currency: "EUR".into(),
            lines: lines
                .iter()
                .map(|&(sku, qty, price)| PoLineSpec {
                    sku: id(sku),
                    location: id("wh-1"),
                    qty,
                    unit_price: money(price),
                    expected_on: "2026-12-09".parse().expect("a date"),
                })
                .collect(),
            comment: None,
        }
    }
    /// A catalog with location wh-1 and the suppliers basics-co (good), watched-co (watch) and
    /// blocked-co (blocked).
    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        let location = serde_json::from_value(
            serde_json::json!({"name": "WH 1", "kind": "warehouse", "region": "eu", "priority": 1}),
        )
        .expect("a location spec");
        catalog.put_location(id("wh-1"), location).expect("a location");
        for (supplier, standing) in [("basics-co", "good"), ("watched-co", "watch"), ("blocked-co", "blocked")] {
            let spec = serde_json::from_value(serde_json::json!({
                "name": supplier, "currency": "EUR", "lead_time_days": 5, "standing": standing
            }))
            .expect("a supplier spec");
            catalog.put_supplier(id(supplier), spec, Role::Admin).expect("a supplier");
        }
        catalog
    }
    fn decision<'a>(actor: &'a Actor, order: &PurchaseOrder, minute: u32) -> Decision<'a> {
        Decision { actor, at: at(minute), seen_version: order.version, comment: Some("ok") }
    }

    /// An order of 10 × A and 5 × B at 20.00 (300 EUR: two approvals), driven to `status`.
    fn order_in(status: PoStatus) -> PurchaseOrder {
        let buyer = person("carl", Role::Buyer);
        let mut order =
            PurchaseOrder::create(id("PO-1"), &spec(&[("A", 10, "20"), ("B", 5, "20")]), &catalog(), &buyer, at(0))
                .expect("a draft");
        if status == PoStatus::Draft {
            return order;
        }
        order.submit(&decision(&buyer, &order, 1), Some((&rules(), 1)), &catalog(), &[]).expect("submitted");
        if status == PoStatus::Submitted {
            return order;
        }
        let ann = person("ann", Role::Approver);
        if status == PoStatus::Rejected {
            order.reject(&decision(&ann, &order, 2), &approver("ann", Role::Approver)).expect("rejected");
            return order;
        }
        order.approve(&decision(&ann, &order, 2), &approver("ann", Role::Approver)).expect("approved once");
        let ada = person("ada", Role::Admin);
        order.approve(&decision(&ada, &order, 3), &approver("ada", Role::Admin)).expect("approved twice");
        if status == PoStatus::Approved {
            return order;
        }
        if status == PoStatus::Cancelled {
            order.cancel(&decision(&buyer, &order, 4)).expect("cancelled");
            return order;
        }
        order.send(&decision(&buyer, &order, 4)).expect("sent");
        if status == PoStatus::Sent {
            return order;
        }
        let clerk = person("wes", Role::Warehouse);
        let some = ReceiptSpec { lines: vec![ReceiptLine { line: 1, qty: 4, into: ReceiveTo::Stock }], comment: None };
        order.receive(&id("R-1"), &some, 10, &clerk, at(5)).expect("received in part");
        if status == PoStatus::PartiallyReceived {
            return order;
        }
        let rest = ReceiptSpec {
            lines: vec![
                ReceiptLine { line: 1, qty: 6, into: ReceiveTo::Stock },
                ReceiptLine { line: 2, qty: 5, into: ReceiveTo::Quarantine },
            ],
            comment: None,
        };
        order.receive(&id("R-2"), &rest, 10, &clerk, at(6)).expect("received in full");
        if status == PoStatus::Received {
            return order;
        }
        order.close(&decision(&buyer, &order, 7), &[]).expect("closed");
        assert_eq!(order.status, status);
        order
    }

    const STATUSES: [PoStatus; 9] = [
        PoStatus::Draft,
        PoStatus::Submitted,
        PoStatus::Approved,
        PoStatus::Rejected,
        PoStatus::Sent,
        PoStatus::PartiallyReceived,
        PoStatus::Received,
        PoStatus::Closed,
        PoStatus::Cancelled,
    ];

    #[test]
    fn an_order_names_skus_that_exist() {
        let spec = spec(&[("A", 1, "1"), ("B", 1, "1"), ("A", 2, "1")]);
        assert_eq!(spec.skus(), [id("A"), id("B")]);
        assert_eq!(spec.check_defined(&[id("A"), id("B"), id("C")]), Ok(()));
        let missing = spec.check_defined(&[id("A")]);
        assert_eq!(missing, Err(EngineError::NotFound { kind: "sku", id: "B".into() }));
        assert!(spec.check_defined(&[]).is_err());
    }

    /// A dock waits for an order while it is on its way with something open for that dock.
    #[test]
    fn expected_at_a_dock() {
        for status in STATUSES {
            let order = order_in(status);
            let waiting = matches!(status, PoStatus::Sent | PoStatus::PartiallyReceived);
            assert_eq!(order.expected_at(&id("wh-1")), waiting, "{status:?}");
            assert!(!order.expected_at(&id("wh-2")), "{status:?}: nothing goes to wh-2");
        }
    }

    /// What is open at a dock, line by line, and the earliest date of it: a line fully received
    /// or for another dock is not.
    #[test]
    fn open_at_a_dock() {
        let mut order = order_in(PoStatus::Sent);
        let day = |text: &str| text.parse::<NaiveDate>().expect("a date");
        order.lines[0].expected_on = day("2026-12-12");
        let open = |order: &PurchaseOrder, dock: &str| {
            let dock = id(dock);
            let lines: Vec<u32> = order.open_at(&dock).map(|line| line.line).collect();
            (lines, order.next_expected_at(&dock))
        };
        assert_eq!(open(&order, "wh-1"), (vec![1, 2], Some(day("2026-12-09"))));
        order.lines[1].received = 5;
        assert_eq!(open(&order, "wh-1"), (vec![1], Some(day("2026-12-12"))));
        order.lines[0].location = id("wh-2");
        assert_eq!(open(&order, "wh-1"), (vec![], None));
        assert_eq!(open(&order, "wh-2"), (vec![1], Some(day("2026-12-12"))));
    }

    /// Every action from every state: the allowed ones move it where the table says, every other
    /// one is refused with a conflict and changes nothing.
    #[test]
    fn transitions_table() {
        use PoStatus::*;
        // (action, the states it is allowed from → the state it leads to)
        let table: [(PoAction, &[(PoStatus, PoStatus)]); 7] = [
            (PoAction::Submit, &[(Draft, Submitted)]),
            (PoAction::Approve, &[(Submitted, Submitted)]),
            (PoAction::Reject, &[(Submitted, Rejected)]),
            (PoAction::Send, &[(Approved, Sent)]),
            (PoAction::Receive, &[(Sent, PartiallyReceived), (PartiallyReceived, PartiallyReceived)]),
            (
                PoAction::Cancel,
                &[
                    (Draft, Cancelled),
                    (Submitted, Cancelled),
                    (Approved, Cancelled),
                    (Rejected, Cancelled),
                    (Sent, Cancelled),
                    (PartiallyReceived, Cancelled),
                ],
            ),
            (PoAction::Close, &[(Received, Closed)]),
        ];
        let buyer = person("carl", Role::Buyer);
        let bob = approver("bob", Role::Approver);
        let bob_actor = person("bob", Role::Approver);
        for (action, allowed) in table {
            for status in STATUSES {
                let mut order = order_in(status);
                let before = order.clone();
                let result = match action {
                    PoAction::Submit => {
                        order.submit(&decision(&buyer, &before, 9), Some((&rules(), 1)), &catalog(), &[])
                    }
                    PoAction::Approve => order.approve(&decision(&bob_actor, &before, 9), &bob),
                    PoAction::Reject => order.reject(&decision(&bob_actor, &before, 9), &bob),
                    PoAction::Send => order.send(&decision(&buyer, &before, 9)),
                    PoAction::Receive => {
                        let one = ReceiptSpec {
                            lines: vec![ReceiptLine { line: 2, qty: 1, into: ReceiveTo::Stock }],
                            comment: None,
                        };
                        order.receive(&id("R-9"), &one, 0, &buyer, at(9)).map(|_| ())
                    }
                    PoAction::Cancel => order.cancel(&decision(&buyer, &before, 9)).map(|_| ()),
                    PoAction::Close => order.close(&decision(&buyer, &before, 9), &[]),
                    PoAction::Create => unreachable!(),
                };
                let offered = status.actions().contains(&action);
                let from_here = allowed.iter().find(|(from, _)| *from == status);
                assert_eq!(offered, from_here.is_some(), "{} from {}: actions()", action.as_str(), status.as_str());
                match from_here {
                    Some(&(_, to)) => {
                        assert_eq!(result, Ok(()), "{} from {}", action.as_str(), status.as_str());
                        assert_eq!(order.status, to, "{} from {}", action.as_str(), status.as_str());
                        assert_eq!(order.version, before.version + 1);
                        let event = order.events.last().expect("an event");
                        assert_eq!((event.action, event.from, event.to), (action, Some(status), to));
                    }
                    None => {
                        assert!(
                            matches!(result, Err(EngineError::Conflict { .. })),
                            "{} from {} should be refused: {result:?}",
                            action.as_str(),
                            status.as_str()
                        );
                        assert_eq!(order, before, "a refused {} changed the order", action.as_str());
                    }
                }
            }
        }
    }

    #[test]
    fn a_stale_version_is_a_conflict_and_changes_nothing() {
        let mut order = order_in(PoStatus::Submitted);
        let before = order.clone();
        let ann = person("ann", Role::Approver);
        let stale = Decision { actor: &ann, at: at(9), seen_version: order.version - 1, comment: None };
        let refused = order.approve(&stale, &approver("ann", Role::Approver));
        assert!(
            matches!(&refused, Err(EngineError::Conflict { message }) if message.contains("you saw version 1")),
            "{refused:?}"
        );
        assert_eq!(order, before);
    }

    #[test]
    fn segregation_of_duties_on_the_order() {
        let mut order = order_in(PoStatus::Submitted);
        let before = order.clone();
        let carl = person("carl", Role::Approver);
        // carl created and submitted it: even holding an approver's role he cannot approve it.
        let refused = order.approve(&decision(&carl, &order, 9), &approver("carl", Role::Approver));
        assert!(matches!(&refused, Err(EngineError::Forbidden { rule, .. }) if rule == "segregation_of_duties"));
        let ann = person("ann", Role::Approver);
        order.approve(&decision(&ann, &order, 9), &approver("ann", Role::Approver)).expect("ann approves");
        let twice = order.approve(&decision(&ann, &order, 10), &approver("ann", Role::Approver));
        assert!(matches!(&twice, Err(EngineError::Forbidden { rule, .. }) if rule == "one_approval_per_person"));
        assert_eq!(order.approvals.len(), 1);
        assert_eq!(order.version, before.version + 1);
    }

    #[test]
    fn a_small_order_is_approved_on_submission() {
        let buyer = person("carl", Role::Buyer);
        let mut order =
            PurchaseOrder::create(id("PO-2"), &spec(&[("A", 5, "20")]), &catalog(), &buyer, at(0)).expect("a draft");
        let before = order.clone();
        let unruled = order.submit(&decision(&buyer, &order, 1), None, &catalog(), &[]);
        assert!(matches!(&unruled, Err(EngineError::Conflict { message }) if message.contains("no approval rules")));
        assert_eq!(order, before);
        order.submit(&decision(&buyer, &order, 1), Some((&rules(), 1)), &catalog(), &[]).expect("submitted");
        assert_eq!(order.status, PoStatus::Approved);
        // A critical SKU takes the stricter path even for 100 EUR: one admin approval.
        let mut critical =
            PurchaseOrder::create(id("PO-3"), &spec(&[("A", 5, "20")]), &catalog(), &buyer, at(0)).expect("a draft");
        critical
            .submit(&decision(&buyer, &critical, 1), Some((&rules(), 1)), &catalog(), &["A".into()])
            .expect("submitted");
        assert_eq!(critical.status, PoStatus::Submitted);
        let ann = person("ann", Role::Approver);
        let refused = critical.approve(&decision(&ann, &critical, 2), &approver("ann", Role::Approver));
        assert!(matches!(&refused, Err(EngineError::Forbidden { rule, .. }) if rule == "approver_role"), "{refused:?}");
        let ada = person("ada", Role::Admin);
        critical.approve(&decision(&ada, &critical, 3), &approver("ada", Role::Admin)).expect("the admin approves");
        assert_eq!(critical.status, PoStatus::Approved);
    }

    #[test]
    fn bad_drafts_are_refused() {
        let buyer = person("carl", Role::Buyer);
        let create = |spec: &PoSpec, supplier: &str| {
            let spec = PoSpec { supplier: id(supplier), ..spec.clone() };
            PurchaseOrder::create(id("PO-9"), &spec, &catalog(), &buyer, at(0))
        };
        let mut past = spec(&[("A", 1, "1")]);
        past.lines[0].expected_on = "2026-12-01".parse().expect("a date");
        let mut nowhere = spec(&[("A", 1, "1")]);
        nowhere.lines[0].location = id("nowhere");
        let cases: [(PoSpec, &str, &str); 6] = [
            (spec(&[]), "basics-co", "lines"),
            (spec(&[("A", 0, "1")]), "basics-co", "lines[0].qty"),
            (spec(&[("A", 1, "-1")]), "basics-co", "lines[0].unit_price"),
            (spec(&[("A", 1, "1"), ("A", 2, "1")]), "basics-co", "lines[1]"),
            (past, "basics-co", "lines[0].expected_on"),
            (PoSpec { currency: "eur".into(), ..spec(&[("A", 1, "1")]) }, "basics-co", "currency"),
        ];
        for (spec, supplier, field) in cases {
            let refused = create(&spec, supplier);
            assert!(
                matches!(&refused, Err(EngineError::InvalidRequest { field: f, .. }) if f == field),
                "{field}: {refused:?}"
            );
        }
        let unknown = create(&spec(&[("A", 1, "1")]), "nobody-co");
        assert!(matches!(&unknown, Err(EngineError::NotFound { kind: "supplier", .. })), "{unknown:?}");
        let unknown = create(&nowhere, "basics-co");
        assert!(matches!(&unknown, Err(EngineError::NotFound { kind: "location", .. })), "{unknown:?}");
        let blocked = create(&spec(&[("A", 1, "1")]), "blocked-co");
        assert!(matches!(&blocked, Err(EngineError::Forbidden { rule, .. }) if rule == "supplier_blocked"));
    }

    #[test]
    fn receipts_are_exact_once_all_or_nothing_and_within_tolerance() {
        let mut order = order_in(PoStatus::Sent);
        let clerk = person("wes", Role::Warehouse);
        let receipt = |lines: &[(u32, i64, ReceiveTo)]| ReceiptSpec {
            lines: lines.iter().map(|&(line, qty, into)| ReceiptLine { line, qty, into }).collect(),
            comment: None,
        };
        // Line 2 is 5 ordered, 10% tolerance: 5 + 0 (5 × 10 / 100 rounds down) → 6 is over.
        let before = order.clone();
        let over = order.receive(
            &id("R-1"),
            &receipt(&[(1, 3, ReceiveTo::Stock), (2, 6, ReceiveTo::Stock)]),
            10,
            &clerk,
            at(9),
        );
        assert!(
            matches!(&over, Err(EngineError::Conflict { message }) if message.contains("over the 10% tolerance")),
            "{over:?}"
        );
        assert_eq!(order, before, "nothing of a refused receipt is taken");
        let unknown = order.receive(&id("R-1"), &receipt(&[(3, 1, ReceiveTo::Stock)]), 10, &clerk, at(9));
        assert!(matches!(unknown, Err(EngineError::InvalidRequest { .. })));
        // Line 1 is 10 ordered: 11 is within 10%.
        let effects = order
            .receive(
                &id("R-1"),
                &receipt(&[(1, 11, ReceiveTo::Stock), (2, 2, ReceiveTo::Quarantine)]),
                10,
                &clerk,
                at(9),
            )
            .expect("received");
        assert_eq!(
            effects,
            [
                ReceiptEffect {
                    sku: id("A"),
                    location: id("wh-1"),
                    into_stock: 11,
                    into_quarantine: 0,
                    unit_price: money("20.00"),
                    expected_on: None,
                },
                ReceiptEffect {
                    sku: id("B"),
                    location: id("wh-1"),
                    into_stock: 0,
                    into_quarantine: 2,
                    unit_price: money("20.00"),
                    expected_on: Some("2026-12-09".parse().expect("a date")),
                },
            ]
        );
        assert_eq!(order.status, PoStatus::PartiallyReceived);
        assert_eq!(order.inbound().iter().map(|(line, qty)| (line.line, *qty)).collect::<Vec<_>>(), [(2, 3)]);
        // The same receipt again: the same effects, nothing applied twice.
        let taken = order.clone();
        let again = order
            .receive(
                &id("R-1"),
                &receipt(&[(1, 11, ReceiveTo::Stock), (2, 2, ReceiveTo::Quarantine)]),
                10,
                &clerk,
                at(10),
            )
            .expect("the same receipt");
        assert_eq!(again, effects);
        assert_eq!(order, taken);
        let reused = order.receive(&id("R-1"), &receipt(&[(2, 1, ReceiveTo::Stock)]), 10, &clerk, at(10));
        assert_eq!(reused, Err(EngineError::IdempotencyMismatch));
        // Cancelling now cancels the open remainder only, and withdraws it from inbound.
        let buyer = person("carl", Role::Buyer);
        let withdrawn = order.cancel(&decision(&buyer, &order, 11)).expect("cancelled");
        assert_eq!(withdrawn, [(2, 3)]);
        assert_eq!(order.lines.iter().map(|l| (l.received, l.cancelled)).collect::<Vec<_>>(), [(11, 0), (2, 3)]);
        assert!(order.inbound().is_empty());
        let targets: Vec<(String, i64)> =
            order.inbound_targets().into_iter().map(|(sku, t)| (sku.to_string(), t.qty)).collect();
        assert_eq!(targets, [("A".to_string(), 0), ("B".to_string(), 0)], "cancelled: nothing expected");
    }

    #[test]
    fn inbound_only_once_sent() {
        for status in STATUSES {
            let order = order_in(status);
            let open: i64 = order.inbound().iter().map(|(_, qty)| qty).sum();
            let expected = match status {
                PoStatus::Sent => 15,
                PoStatus::PartiallyReceived => 11,
                _ => 0,
            };
            assert_eq!(open, expected, "{}", status.as_str());
            let targets = order.inbound_targets();
            assert_eq!(targets.iter().map(|(_, t)| t.qty).sum::<i64>(), expected, "{}", status.as_str());
            for (sku, target) in targets {
                assert_eq!(target.reference, order.id.as_str());
                let lines = order.lines.iter().filter(|l| l.sku == sku && l.location == target.location);
                let earliest_open = lines.filter(|l| l.open() > 0).map(|l| l.expected_on).min();
                assert_eq!(target.expected_on, earliest_open.filter(|_| expected > 0));
            }
        }
    }

    #[test]
    fn only_approvers_and_admins_change_a_suppliers_standing() {
        let mut catalog = catalog();
        let spec = |standing: Option<&str>| {
            let mut body = serde_json::json!({"name": "Watched", "currency": "EUR", "lead_time_days": 6});
            if let Some(standing) = standing {
                body["standing"] = serde_json::json!(standing);
            }
            serde_json::from_value(body).expect("a supplier spec")
        };
        // A buyer may change the lead time (the standing is kept) but not lift the watch.
        let kept = catalog.put_supplier(id("watched-co"), spec(None), Role::Buyer).expect("kept");
        assert_eq!((kept.standing, kept.lead_time_days), (Standing::Watch, 6.0));
        let refused = catalog.put_supplier(id("watched-co"), spec(Some("good")), Role::Buyer);
        assert!(
            matches!(&refused, Err(EngineError::Forbidden { rule, .. }) if rule == "supplier_standing"),
            "{refused:?}"
        );
        let refused = catalog.put_supplier(id("new-co"), spec(Some("blocked")), Role::Buyer);
        assert!(refused.is_err(), "a new supplier starts good unless an approver says otherwise");
        let lifted = catalog.put_supplier(id("watched-co"), spec(Some("good")), Role::Approver).expect("lifted");
        assert_eq!(lifted.standing, Standing::Good);
    }
}
