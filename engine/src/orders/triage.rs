//! Triage: which exceptions an order's state calls for, and which open ones its state has made
//! moot. The host runs it after every change to an order (placement, allocation, a fill on
//! arrival, a step, the SLA watch), raises what is new (`may_raise` keeps the queues free of
//! repeats) and closes what is settled.

use super::allocate::Outcome;
use super::exceptions::{ExceptionKind, ExceptionSpec, ExceptionStatus, OrderException};
use super::order::{HoldKind, Order, OrderStatus};
use super::promise::{Promise, PromiseSlice, SlaState, SlaWatch};
use crate::ids::Id;
use crate::limits::TEXT_LENGTH_MAX;

/// Text cut to what a record holds, on a character boundary.
fn detail(text: String) -> String {
    if text.chars().count() <= TEXT_LENGTH_MAX {
        return text;
    }
    let mut cut: String = text.chars().take(TEXT_LENGTH_MAX - 1).collect();
    cut.push('…');
    cut
}

/// The exceptions `order` calls for now. `promises`: each backordered SKU's promise for what its
/// line still waits for (from stock and dated inbound, with the substitutes that have stock);
/// `sla`: the watch's latest reading. A line waiting for units that its first substitute able to
/// ship them all has now is offered that substitute too (customer service asks the customer).
pub fn triage(order: &Order, promises: &[(Id, Promise)], sla: Option<&SlaWatch>) -> Vec<ExceptionSpec> {
    let spec = |kind: ExceptionKind, line: Option<(u32, &Id)>, text: String| ExceptionSpec {
        order: order.id.clone(),
        line: line.map(|(number, _)| number),
        sku: line.map(|(_, sku)| sku.clone()),
        kind,
        detail: detail(text),
        substitute: None,
    };
    let mut out = Vec::new();
    if order.status == OrderStatus::OnHold {
        let (kind, why) = match order.hold {
            Some(HoldKind::Fraud) => (ExceptionKind::FraudHold, "payment flagged for review"),
            Some(HoldKind::Address) | None => (ExceptionKind::AddressHold, "address to verify"),
        };
        out.push(spec(kind, None, format!("order {} on hold: {why}", order.id)));
        return out;
    }
    let outcome = order.choice.as_ref().map(|choice| choice.outcome);
    if order.status.awaits_stock() && outcome == Some(Outcome::SplitNeedsApproval) {
        let explanation = order.choice.as_ref().map_or(String::new(), |choice| choice.explanation.clone());
        out.push(spec(ExceptionKind::SplitNeedsApproval, None, explanation));
    }
    if order.status.awaits_stock() && order.choice.is_some() && outcome != Some(Outcome::SplitNeedsApproval) {
        // Units of a substitute offered to an earlier line in this pass: not offered twice.
        let mut offered: Vec<(&Id, i64)> = Vec::new();
        for line in order.lines.iter().filter(|line| line.backordered() > 0) {
            let waiting = line.backordered();
            let promise = promises.iter().find(|(sku, _)| *sku == line.sku).map(|(_, promise)| promise);
            if promise.is_none() && line.substitute_for.is_some() {
                continue; // A substitute's line not read yet: its placement says what it lacks.
            }
            let dated: Vec<String> = promise
                .map(|p| {
                    waiting_slices(p, waiting).iter().map(|s| format!("{} by {}", s.qty, s.available_on)).collect()
                })
                .unwrap_or_default();
            let unpromised = promise.map_or(waiting, |p| p.unpromised);
            let (kind, text) = if unpromised == 0 {
                (
                    ExceptionKind::Backorder,
                    format!("line {}: {waiting} × {} backordered; {}", line.line, line.sku, dated.join(", ")),
                )
            } else if dated.is_empty() {
                (
                    ExceptionKind::Shortage,
                    format!("line {}: {waiting} × {} short, nothing dated inbound", line.line, line.sku),
                )
            } else {
                (
                    ExceptionKind::Shortage,
                    format!(
                        "line {}: {waiting} × {} short; {}; {unpromised} without a date",
                        line.line,
                        line.sku,
                        dated.join(", ")
                    ),
                )
            };
            out.push(spec(kind, Some((line.line, &line.sku)), text));
            // Never a SKU the order already has a line of (its own need comes first).
            let free = |sku: &Id, sellable: i64| {
                sellable - offered.iter().filter(|(other, _)| *other == sku).map(|(_, qty)| qty).sum::<i64>()
            };
            let offer = promise.and_then(|p| {
                p.substitutes
                    .iter()
                    .filter(|s| order.lines.iter().all(|l| l.sku != s.sku))
                    .find(|s| free(&s.sku, s.sellable) >= waiting)
            });
            if let Some(offer) = offer {
                offered.push((&offer.sku, waiting));
                out.push(ExceptionSpec {
                    substitute: Some(offer.sku.clone()),
                    ..spec(
                        ExceptionKind::SubstitutionOffered,
                        Some((line.line, &line.sku)),
                        format!(
                            "line {}: {waiting} × {} waiting; {} can ship {waiting} now ({} to sell)",
                            line.line, line.sku, offer.sku, offer.sellable
                        ),
                    )
                });
            }
        }
    }
    if let Some(watch) = sla.filter(|watch| watch.state != SlaState::OnTrack) {
        let state = if watch.state == SlaState::Breached { "missed" } else { "at risk" };
        out.push(spec(
            ExceptionKind::SlaAtRisk,
            None,
            format!("promise {state}: ship by {}; {}", watch.ship_by.format("%Y-%m-%d %H:%M UTC"), watch.reason),
        ));
    }
    out
}

/// The slices of `promise` that date the last `waiting` units it was asked for: the ones before
/// them were covered by stock the placement allocated (a promise is read for the whole line).
fn waiting_slices(promise: &Promise, waiting: i64) -> Vec<PromiseSlice> {
    let asked: i64 = promise.slices.iter().map(|s| s.qty).sum::<i64>() + promise.unpromised;
    let mut covered = (asked - waiting).max(0);
    let mut out = Vec::new();
    for slice in &promise.slices {
        let taken = covered.min(slice.qty);
        covered -= taken;
        if slice.qty > taken {
            out.push(PromiseSlice { qty: slice.qty - taken, available_on: slice.available_on });
        }
    }
    out
}

/// Why an open exception about `order` is settled by the order's own state (None: it stands).
/// `sla`: the watch's latest reading.
pub fn settled(order: &Order, exception: &OrderException, sla: Option<&SlaWatch>) -> Option<&'static str> {
    if exception.status != ExceptionStatus::Open || exception.order != order.id {
        return None;
    }
    if order.status == OrderStatus::Cancelled {
        return Some("the order was cancelled");
    }
    let line = exception.line.and_then(|number| order.lines.iter().find(|line| line.line == number));
    match exception.kind {
        ExceptionKind::Backorder | ExceptionKind::Shortage | ExceptionKind::SubstitutionOffered => match line {
            Some(line) if line.backordered() == 0 && line.substituted > 0 => {
                Some("the line's waiting units went to a substitute")
            }
            Some(line) if line.open() == 0 => Some("the line was shipped or cancelled"),
            Some(line) if line.backordered() == 0 => Some("the line got its stock"),
            _ => None,
        },
        ExceptionKind::AddressHold | ExceptionKind::FraudHold => {
            (order.status != OrderStatus::OnHold).then_some("the hold was lifted")
        }
        ExceptionKind::SplitNeedsApproval => (!order.status.awaits_stock()
            || order.choice.as_ref().is_some_and(|choice| choice.outcome != Outcome::SplitNeedsApproval))
        .then_some("the order no longer needs a split"),
        ExceptionKind::SlaAtRisk => match sla {
            None => Some("nothing left to ship against the promise"),
            Some(watch) if watch.state == SlaState::OnTrack => Some("the promise is on track again"),
            Some(_) => None,
        },
    }
}

/// Exceptions one order keeps over its life, open or not: past this, nothing new is raised
/// (a flapping SLA watch must not grow an order's record without bound).
pub const ORDER_EXCEPTIONS_KEPT_MAX: usize = 4 * crate::limits::ORDER_EXCEPTIONS_MAX;

/// What `reconcile` changed, by exception id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub raised: Vec<Id>,
    pub closed: Vec<Id>,
}

impl Reconciled {
    pub fn is_empty(&self) -> bool {
        self.raised.is_empty() && self.closed.is_empty()
    }
}

/// Brings one order's exceptions in line with its state, as the host runs it after every change:
/// closes the open ones its state settled, then raises what `triage` calls for and the queues do
/// not already hold. New ids are the order's own, numbered: `{order}-x{n}`.
pub fn reconcile(
    order: &Order,
    exceptions: &mut Vec<OrderException>,
    promises: &[(Id, Promise)],
    sla: Option<&SlaWatch>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Reconciled, crate::error::EngineError> {
    assert!(exceptions.iter().all(|e| e.order == order.id), "reconcile takes one order's exceptions");
    let mut out = Reconciled::default();
    for exception in exceptions.iter_mut() {
        if let Some(reason) = settled(order, exception, sla) {
            if exception.close(now, reason) {
                out.closed.push(exception.id.clone());
            }
        }
    }
    for spec in triage(order, promises, sla) {
        if exceptions.len() >= ORDER_EXCEPTIONS_KEPT_MAX {
            break;
        }
        if super::exceptions::may_raise(exceptions, &spec).is_err() {
            continue;
        }
        // A line is offered a substitute until a person answers one offer: that answer stands.
        // The same substitute is not offered again while its offer is open (an offer the system
        // closed, its line filled, does not count).
        let blocks = |e: &OrderException| {
            e.kind == ExceptionKind::SubstitutionOffered
                && e.line == spec.line
                && (e.status == ExceptionStatus::Resolved
                    || (e.status == ExceptionStatus::Open && e.substitute == spec.substitute))
        };
        if spec.kind == ExceptionKind::SubstitutionOffered && exceptions.iter().any(blocks) {
            continue;
        }
        let id = Id::new(format!("{}-x{}", order.id, exceptions.len() + 1))?;
        let exception = OrderException::raise(id.clone(), &spec, now)?;
        exceptions.push(exception);
        out.raised.push(id);
    }
    Ok(out)
}
