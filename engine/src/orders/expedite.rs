//! Escalations reach the replenishment list: an open exception escalated to procurement about a
//! line still short asks the line's SKU to be expedited; when the exception is resolved, closes
//! itself or the line gets its stock, the request is withdrawn. The host sends each change to the
//! SKU, whose plan shows it (`planning::expedite`).

use super::exceptions::{ExceptionStatus, OrderException};
use super::order::Order;
use crate::ids::Id;
use crate::planning::{ExpediteChange, ExpediteRequest};
use chrono::{DateTime, Utc};

/// What `exception` asks of its SKU now: an expedite request while it is open, escalated and its
/// line still waits for units; none otherwise.
pub fn expedite_request(order: &Order, exception: &OrderException) -> Option<ExpediteRequest> {
    assert_eq!(exception.order, order.id, "an exception of this order");
    if exception.status != ExceptionStatus::Open {
        return None;
    }
    let escalation = exception.escalation.as_ref()?;
    let number = exception.line?;
    let line = order.lines.iter().find(|line| line.line == number)?;
    let qty = line.backordered();
    (qty > 0).then(|| ExpediteRequest {
        exception: exception.id.clone(),
        order: order.id.clone(),
        line: number,
        qty,
        since: escalation.at,
        by: escalation.by.clone(),
    })
}

/// The change to send to the exception's SKU as it is saved: a request while there is one (sent
/// with every save of the order, so the units stay current; the SKU ignores what it holds
/// already), its withdrawal when `before` was escalated and open and it no longer asks. Only an
/// escalated exception can ask, and escalation is never undone, so any other is `None` at once.
pub fn expedite_change(
    order: &Order,
    before: Option<&OrderException>,
    after: &OrderException,
    at: DateTime<Utc>,
) -> Option<(Id, ExpediteChange)> {
    if !after.escalated {
        return None;
    }
    let sku = after.sku.clone()?;
    let request = expedite_request(order, after);
    let asked = before.is_some_and(|before| before.escalated && before.status == ExceptionStatus::Open);
    if request.is_none() && !asked {
        return None;
    }
    let change = ExpediteChange {
        exception: after.id.clone(),
        order_version: order.version,
        exception_version: after.version,
        at,
        request,
    };
    Some((sku, change))
}
