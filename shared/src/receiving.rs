//! Receiving against purchase orders at a dock, perhaps offline: the orders on their way to the
//! device's location (a copy fetched when online), and the receipts made on the device, each
//! queued with its own Idempotency-Key and sent once when online.
//!
//! The device checks a receipt with the engine's own `PurchaseOrder::receive` on its copy of the
//! order, with the receipts it has not sent yet applied first: what it shows as still open is
//! what the server will compute, and an over-receipt is refused on the dock before it is queued.
//! The server checks again (the order may have changed since the copy): a refusal is kept with
//! its reason, nothing applied.
//!
//! Plain data with methods; the web app stores it in IndexedDB and shows it.

use crate::decisions::DecisionState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::procurement::{PurchaseOrder, ReceiptSpec};
use stockline_engine::{Actor, Id, Role};

/// Over-receipt allowed per line, percent of what was ordered (the server's and the device's).
pub const RECEIPT_TOLERANCE_PCT: u32 = 10;
/// Orders one `GET /v1/deliveries` answers at most (oldest expected first).
pub const DELIVERIES_MAX: usize = 50;
/// Receipts a device keeps at most (sent ones are dropped first).
pub const RECEIPTS_MAX: usize = 200;

/// A receipt's standing: pending until the server answers, then applied or refused.
pub type ReceiptState = DecisionState;

/// The resource a purchase order's writes belong to (their Idempotency-Keys are scoped to it).
pub fn order_resource(order: &Id) -> String {
    format!("purchase_order:{order}")
}

/// A receipt's id, from its Idempotency-Key as stored (`auth::scoped_key`): the same key is the
/// same receipt, on the server and on the device that made it.
pub fn receipt_id(scoped_key: &str) -> Result<Id, String> {
    let digest = stockline_engine::idempotency::fingerprint(&[scoped_key.as_bytes()]).to_string();
    Id::new(format!("R-{}", &digest[..12])).map_err(|e| e.to_string())
}

/// `GET /v1/deliveries?location=L`: the orders on their way to `location` with a line still
/// open there, the earliest expected first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveriesResponse {
    pub location: Id,
    pub orders: Vec<PurchaseOrder>,
    /// More orders are on their way than `DELIVERIES_MAX`.
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedReceipt {
    /// The Idempotency-Key it is sent with, every time.
    pub key: String,
    /// The id the server gives it (`receipt_id` of the key scoped to the person and the order):
    /// a receipt the server already took is the same receipt in the device's view, not another.
    pub receipt: Id,
    pub order: Id,
    /// The dock it was received at: its lines all go there.
    pub location: Id,
    pub spec: ReceiptSpec,
    /// Order of making (ms since the epoch); f64 because IndexedDB numbers are.
    pub queued_at_ms: f64,
    pub state: ReceiptState,
}

impl QueuedReceipt {
    /// A new receipt by `subject` against `order` under `key`.
    pub fn new(
        subject: &str,
        key: String,
        order: Id,
        location: Id,
        spec: ReceiptSpec,
        queued_at_ms: f64,
    ) -> Result<QueuedReceipt, String> {
        let receipt = receipt_id(&crate::auth::scoped_key(subject, &order_resource(&order), &key))?;
        Ok(QueuedReceipt { key, receipt, order, location, spec, queued_at_ms, state: DecisionState::Pending })
    }

    pub fn is_pending(&self) -> bool {
        self.state == DecisionState::Pending
    }

    /// Units on the receipt.
    pub fn units(&self) -> i64 {
        self.spec.lines.iter().map(|line| line.qty).sum()
    }
}

/// The dock's copy of the orders it expects, and its receipts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Receiving {
    orders: Vec<PurchaseOrder>,
    /// More orders are on their way than the copy holds.
    more: bool,
    receipts: Vec<QueuedReceipt>,
}

impl Receiving {
    pub fn new(orders: Vec<PurchaseOrder>, more: bool, mut receipts: Vec<QueuedReceipt>) -> Receiving {
        receipts.sort_by(|a, b| a.queued_at_ms.total_cmp(&b.queued_at_ms));
        Receiving { orders, more, receipts }
    }

    pub fn more(&self) -> bool {
        self.more
    }

    /// The orders as the server copy says, for keeping on the device.
    pub fn copies(&self) -> &[PurchaseOrder] {
        &self.orders
    }

    pub fn receipts(&self) -> &[QueuedReceipt] {
        &self.receipts
    }

    pub fn pending(&self) -> impl Iterator<Item = &QueuedReceipt> {
        self.receipts.iter().filter(|r| r.is_pending())
    }

    /// The orders still expected at `location`, as this device sees them: the server's copy with
    /// the receipts not yet sent applied, in the copy's order.
    pub fn expected_at(&self, location: &Id) -> Vec<PurchaseOrder> {
        self.orders
            .iter()
            .filter_map(|order| self.as_seen(&order.id))
            .filter(|order| order.expected_at(location))
            .collect()
    }

    /// One order as this device sees it (see `expected_at`). A pending receipt the copy already
    /// has (taken by the server, its answer not back yet) is the same receipt under its server
    /// id, so it counts once; one that no longer fits the copy (another dock received the rest)
    /// is left for the server to refuse.
    pub fn as_seen(&self, order: &Id) -> Option<PurchaseOrder> {
        let mut seen = self.orders.iter().find(|o| &o.id == order)?.clone();
        for receipt in self.pending().filter(|r| &r.order == order) {
            let Some(at) = received_at(receipt.queued_at_ms) else { continue };
            let mut next = seen.clone();
            if next.receive(&receipt.receipt, &receipt.spec, RECEIPT_TOLERANCE_PCT, &dock(), at).is_ok() {
                seen = next;
            }
        }
        Some(seen)
    }

    /// Takes the server's list of orders on their way (fetched when online). Receipts not yet
    /// sent stay and are applied on top. An order the copy has at a later version (an answer
    /// that came back while the list was on its way) keeps that version.
    pub fn refresh(&mut self, orders: Vec<PurchaseOrder>, more: bool) {
        let mut orders = orders;
        for order in &mut orders {
            if let Some(newer) = self.orders.iter().find(|o| o.id == order.id && o.version > order.version) {
                *order = newer.clone();
            }
        }
        self.orders = orders;
        self.more = more;
    }

    /// Queues a receipt after checking it with the engine against the order as this device sees
    /// it: every line goes to the receipt's dock, nothing over the tolerance, all or nothing.
    /// Returns the keys of answered receipts dropped to stay within `RECEIPTS_MAX`.
    pub fn queue(&mut self, receipt: QueuedReceipt) -> Result<Vec<String>, String> {
        assert!(receipt.is_pending(), "a new receipt is pending");
        if self.receipts.iter().any(|r| r.key == receipt.key) {
            return Err("this receipt is already queued".to_string());
        }
        let Some(mut order) = self.as_seen(&receipt.order) else {
            return Err(format!("{} is not on this device's list of deliveries: refresh it", receipt.order));
        };
        if receipt.spec.lines.is_empty() {
            return Err("Enter a quantity on at least one line".to_string());
        }
        for got in &receipt.spec.lines {
            if let Some(line) = order.lines.iter().find(|line| line.line == got.line) {
                if line.location != receipt.location {
                    return Err(format!("line {} ({}) goes to {}, not here", line.line, line.sku, line.location));
                }
            }
        }
        let at = received_at(receipt.queued_at_ms).ok_or("this device's clock is out of range")?;
        if order.receipts.iter().any(|r| r.id == receipt.receipt) {
            return Err("this receipt is already on the order".to_string());
        }
        order
            .receive(&receipt.receipt, &receipt.spec, RECEIPT_TOLERANCE_PCT, &dock(), at)
            .map_err(|e| e.to_string())?;
        // Room is made by forgetting applied receipts, oldest first: a refused one waits for a look.
        let mut dropped = Vec::new();
        while self.receipts.len() >= RECEIPTS_MAX {
            let applied = |r: &QueuedReceipt| matches!(r.state, DecisionState::Applied { .. });
            let Some(oldest) = self.receipts.iter().position(applied) else {
                return Err(format!("{RECEIPTS_MAX} receipts wait to be sent or looked at: deal with them first"));
            };
            dropped.push(self.receipts.remove(oldest).key);
        }
        self.receipts.push(receipt);
        Ok(dropped)
    }

    /// Records the server's answer to a pending receipt (an answered one keeps its first answer).
    /// An applied receipt's answer carries the order as it now stands, which replaces the copy.
    pub fn record(&mut self, key: &str, state: ReceiptState, order: Option<PurchaseOrder>) -> Option<&QueuedReceipt> {
        assert!(state != DecisionState::Pending, "an answer decides");
        let index = self.receipts.iter().position(|r| r.key == key)?;
        if self.receipts[index].is_pending() {
            self.receipts[index].state = state;
            if let Some(order) = order {
                assert!(order.id == self.receipts[index].order, "the answer is about the receipt's order");
                match self.orders.iter_mut().find(|o| o.id == order.id) {
                    Some(copy) if copy.version <= order.version => *copy = order,
                    Some(_) => {}
                    None => self.orders.push(order),
                }
            }
        }
        Some(&self.receipts[index])
    }

    /// Work still to do on the device: receipts not sent yet, and refused ones nobody has looked at.
    pub fn unsettled(&self) -> usize {
        self.receipts.iter().filter(|r| !matches!(r.state, DecisionState::Applied { .. })).count()
    }

    /// Forgets an answered receipt (the dock has looked at it).
    pub fn dismiss(&mut self, key: &str) -> bool {
        let before = self.receipts.len();
        self.receipts.retain(|r| r.key != key || r.is_pending());
        self.receipts.len() < before
    }
}

/// Whoever is at the dock, for the device's own checks (the server records the real person).
fn dock() -> Actor {
    Actor { subject: "this device".to_string(), role: Role::Warehouse }
}

fn received_at(ms: f64) -> Option<DateTime<Utc>> {
    if !ms.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockline_engine::procurement::{ReceiptLine, ReceiveTo};

    /// A sent order of 10 × A (line 1) to wh-1 and 4 × B (line 2) to wh-2.
    fn order() -> PurchaseOrder {
        serde_json::from_value(serde_json::json!({
            "id": "PO-7", "supplier": "basics-co", "currency": "EUR", "status": "sent", "version": 5,
            "created_by": "carl", "created_at": "2026-12-01T09:00:00Z", "submitted_by": "carl",
            "route": {"rules_version": 1, "value_base": "32.00", "approvals": 0, "roles": [],
                      "strict_approvals": 0, "strict_roles": [], "reasons": []},
            "approvals": [], "receipts": [], "events": [],
            "lines": [
                {"line": 1, "sku": "A", "location": "wh-1", "qty": 10, "unit_price": "2.00",
                 "expected_on": "2026-12-09", "received": 0, "quarantined": 0, "cancelled": 0},
                {"line": 2, "sku": "B", "location": "wh-2", "qty": 4, "unit_price": "3.00",
                 "expected_on": "2026-12-10", "received": 0, "quarantined": 0, "cancelled": 0}
            ]
        }))
        .expect("an order")
    }

    fn receipt(key: &str, lines: &[(u32, i64, ReceiveTo)]) -> QueuedReceipt {
        let spec = ReceiptSpec {
            lines: lines.iter().map(|&(line, qty, into)| ReceiptLine { line, qty, into }).collect(),
            comment: None,
        };
        let (order, location) = (Id::new("PO-7").expect("id"), Id::new("wh-1").expect("id"));
        QueuedReceipt::new("wes", key.into(), order, location, spec, 1_764_580_000_000.0).expect("a receipt")
    }

    /// The order as the server has it after taking `receipt` (its id is the server's).
    fn taken_by_the_server(order: &PurchaseOrder, receipt: &QueuedReceipt) -> PurchaseOrder {
        let mut taken = order.clone();
        let at = received_at(receipt.queued_at_ms).expect("a time");
        let wes = Actor { subject: "wes".into(), role: Role::Warehouse };
        taken.receive(&receipt.receipt, &receipt.spec, RECEIPT_TOLERANCE_PCT, &wes, at).expect("taken");
        taken
    }

    fn open(receiving: &Receiving, line: u32) -> i64 {
        let order = receiving.as_seen(&Id::new("PO-7").expect("id")).expect("on the list");
        order.lines.iter().find(|l| l.line == line).expect("a line").open()
    }

    /// Table: a receipt queued against the copy (with earlier pending receipts applied), and
    /// whether the device takes it.
    #[test]
    fn receipts_are_checked_by_the_engine_before_they_are_queued() {
        use ReceiveTo::*;
        type Case<'a> = (&'a [(u32, i64, ReceiveTo)], Result<i64, &'a str>);
        let cases: &[Case] = &[
            (&[(1, 6, Stock)], Ok(4)),
            (&[(1, 4, Quarantine)], Ok(0)),
            // 10% over 10 ordered is 11 at most: 6 + 4 already, 1 more fits, 2 do not.
            (&[(1, 2, Stock)], Err("over the 10% tolerance")),
            (&[(1, 1, Stock)], Ok(0)),
            (&[(2, 1, Stock)], Err("goes to wh-2, not here")),
            (&[(9, 1, Stock)], Err("has no line 9")),
            (&[(1, 0, Stock)], Err("must be 1..=")),
            (&[], Err("at least one line")),
        ];
        let mut receiving = Receiving::new(vec![order()], false, vec![]);
        for (n, (lines, expected)) in cases.iter().enumerate() {
            let before = receiving.clone();
            let got = receiving.queue(receipt(&format!("k{n}"), lines));
            match expected {
                Ok(open_after) => {
                    assert!(got.is_ok(), "case {n}: {got:?}");
                    assert_eq!(open(&receiving, 1), *open_after, "case {n}");
                }
                Err(words) => {
                    let message = got.expect_err("refused");
                    assert!(message.contains(words), "case {n}: {message}");
                    assert_eq!(receiving, before, "case {n}: a refusal queues nothing");
                }
            }
        }
        assert_eq!(receiving.pending().count(), 3);
        assert!(receiving.expected_at(&Id::new("wh-1").expect("id")).is_empty(), "all of wh-1's line is in");
        assert_eq!(receiving.expected_at(&Id::new("wh-2").expect("id")).len(), 1, "wh-2 still waits");
    }

    #[test]
    fn an_answer_replaces_the_copy_once_and_a_refusal_is_kept() {
        let mut receiving = Receiving::new(vec![order()], false, vec![]);
        receiving.queue(receipt("k1", &[(1, 6, ReceiveTo::Stock)])).expect("queued");
        receiving.queue(receipt("k2", &[(1, 3, ReceiveTo::Stock)])).expect("queued");
        // The server took k1: its answer is the order with 6 received.
        let mut after = order();
        after.lines[0].received = 6;
        after.version = 6;
        let applied = DecisionState::Applied { status: "partially_received".into() };
        receiving.record("k1", applied.clone(), Some(after.clone()));
        assert_eq!(open(&receiving, 1), 1, "the copy has k1, k2 pending on top");
        // A resend's late answer changes nothing.
        receiving.record("k1", DecisionState::Refused { code: "x".into(), message: "y".into() }, Some(order()));
        assert_eq!(receiving.receipts()[0].state, applied);
        assert_eq!(receiving.copies()[0], after);
        // k2 refused (the order changed): nothing of it is counted any more; it waits for a look.
        let refused = DecisionState::Refused { code: "conflict".into(), message: "cancelled".into() };
        receiving.record("k2", refused, None);
        assert_eq!(open(&receiving, 1), 4);
        assert!(receiving.dismiss("k2") && receiving.dismiss("k1"));
        assert!(receiving.receipts().is_empty());
    }

    #[test]
    fn a_refreshed_copy_keeps_pending_receipts_on_top() {
        let mut receiving = Receiving::new(vec![order()], false, vec![]);
        receiving.queue(receipt("k1", &[(1, 6, ReceiveTo::Stock)])).expect("queued");
        let mut elsewhere = order();
        elsewhere.lines[0].received = 5; // another dock took 5 meanwhile
        elsewhere.status = stockline_engine::procurement::PoStatus::PartiallyReceived;
        receiving.refresh(vec![elsewhere], false);
        // 5 + 6 = 11 of 10 is within the tolerance: the device counts it, nothing left open.
        assert_eq!(open(&receiving, 1), 0);
        assert!(receiving.queue(receipt("k2", &[(1, 1, ReceiveTo::Stock)])).is_err(), "12 of 10 is too many");
    }

    /// The server took a receipt but its answer was lost: a fresh copy already has it, and the
    /// pending receipt (the same id) counts once, not twice.
    #[test]
    fn a_receipt_the_server_took_counts_once() {
        let mut receiving = Receiving::new(vec![order()], false, vec![]);
        let k1 = receipt("k1", &[(1, 6, ReceiveTo::Stock)]);
        receiving.queue(k1.clone()).expect("queued");
        assert_eq!(open(&receiving, 1), 4);
        receiving.refresh(vec![taken_by_the_server(&order(), &k1)], false);
        assert_eq!(open(&receiving, 1), 4, "the copy has it: not counted again");
        assert_eq!(receiving.pending().count(), 1, "still to be sent (the resend is answered from the record)");
        // And the dock can still receive the rest.
        receiving.queue(receipt("k2", &[(1, 4, ReceiveTo::Stock)])).expect("the rest fits");
        assert_eq!(open(&receiving, 1), 0);
        // The same key from another person is another receipt.
        let theirs =
            QueuedReceipt::new("ann", "k1".into(), k1.order.clone(), k1.location.clone(), k1.spec.clone(), 1.0);
        assert_ne!(theirs.expect("a receipt").receipt, k1.receipt);
    }

    /// A list fetched before an answer came back does not undo the answer.
    #[test]
    fn a_stale_list_keeps_the_later_copy() {
        let mut receiving = Receiving::new(vec![order()], false, vec![]);
        let k1 = receipt("k1", &[(1, 6, ReceiveTo::Stock)]);
        receiving.queue(k1.clone()).expect("queued");
        let taken = taken_by_the_server(&order(), &k1);
        receiving.record("k1", DecisionState::Applied { status: "partially_received".into() }, Some(taken.clone()));
        receiving.refresh(vec![order()], true);
        assert_eq!(receiving.copies(), [taken]);
        assert_eq!(open(&receiving, 1), 4);
        assert!(receiving.more());
        // An older answer does not replace a newer copy either.
        receiving.queue(receipt("k2", &[(1, 1, ReceiveTo::Stock)])).expect("queued");
        receiving.record("k2", DecisionState::Applied { status: "x".into() }, Some(order()));
        assert_eq!(open(&receiving, 1), 4);
    }
}
