//! The client half of the sync protocol: a device's outbox of movements made (perhaps offline),
//! sent in order, each result recorded. Plain data with methods; the web app stores it in
//! IndexedDB and shows it, nothing more.
//!
//! Invariants: an operation keeps its `op_id` (its Idempotency-Key) for every send, so sending it
//! again never applies it twice; operations are sent in the order they were made; nothing leaves
//! the outbox except by the user discarding a rejected operation.

use crate::sync::{SyncOp, SyncOpResult, SyncOutcome};
use serde::{Deserialize, Serialize};

/// Longest wait between two attempts when the server cannot be reached.
pub const RETRY_DELAY_MS_MAX: u64 = 30_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OpState {
    Pending,
    Applied { version: u64 },
    Rejected { code: String, message: String },
}

/// One operation in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedOp {
    pub op: SyncOp,
    /// Order of making (ms since the epoch × 1000 + a counter); f64 because IndexedDB numbers are.
    pub seq: f64,
    /// What made it, for people: "receive", "count", ...
    pub screen: String,
    pub state: OpState,
    /// Sends that did not reach a decision.
    pub attempts: u32,
}

impl QueuedOp {
    pub fn is_pending(&self) -> bool {
        self.state == OpState::Pending
    }

    pub fn is_rejected(&self) -> bool {
        matches!(self.state, OpState::Rejected { .. })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    ops: Vec<QueuedOp>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub pending: usize,
    pub applied: usize,
    pub rejected: usize,
}

impl Outbox {
    pub fn new(mut ops: Vec<QueuedOp>) -> Outbox {
        ops.sort_by(|a, b| a.seq.total_cmp(&b.seq));
        Outbox { ops }
    }

    pub fn ops(&self) -> &[QueuedOp] {
        &self.ops
    }

    pub fn get(&self, op_id: &str) -> Option<&QueuedOp> {
        self.ops.iter().find(|q| q.op.op_id.as_str() == op_id)
    }

    pub fn add(&mut self, op: QueuedOp) {
        debug_assert!(self.get(op.op.op_id.as_str()).is_none(), "op ids are unique");
        let at = self.ops.partition_point(|q| q.seq <= op.seq);
        self.ops.insert(at, op);
    }

    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for q in &self.ops {
            match q.state {
                OpState::Pending => tally.pending += 1,
                OpState::Applied { .. } => tally.applied += 1,
                OpState::Rejected { .. } => tally.rejected += 1,
            }
        }
        tally
    }

    /// The next operations to send: the oldest pending ones, in order.
    pub fn next_batch(&self, max: usize) -> Vec<SyncOp> {
        self.ops.iter().filter(|q| q.is_pending()).take(max).map(|q| q.op.clone()).collect()
    }

    /// Records the server's results; returns the operations whose state changed (to store them).
    pub fn record(&mut self, results: &[SyncOpResult]) -> Vec<QueuedOp> {
        let mut changed = Vec::new();
        for result in results {
            let Some(q) = self.ops.iter_mut().find(|q| q.op.op_id == result.op_id) else { continue };
            match result.outcome {
                SyncOutcome::Applied => q.state = OpState::Applied { version: result.version.unwrap_or(0) },
                SyncOutcome::Rejected => {
                    let (code, message) = match &result.error {
                        Some(error) => (error.code.clone(), error.message.clone()),
                        None => ("rejected".to_string(), format!("HTTP {}", result.http_status)),
                    };
                    q.state = OpState::Rejected { code, message };
                }
                SyncOutcome::Retry => q.attempts += 1,
            }
            changed.push(q.clone());
        }
        changed
    }

    /// A send that got no answer: every operation in it stays pending, one attempt more.
    pub fn unreachable(&mut self, sent: &[SyncOp]) -> Vec<QueuedOp> {
        let mut changed = Vec::new();
        for op in sent {
            if let Some(q) = self.ops.iter_mut().find(|q| q.op.op_id == op.op_id) {
                q.attempts += 1;
                changed.push(q.clone());
            }
        }
        changed
    }

    /// Removes a rejected operation the user chose to drop. Pending or applied ones stay.
    pub fn discard(&mut self, op_id: &str) -> bool {
        let before = self.ops.len();
        self.ops.retain(|q| !(q.op.op_id.as_str() == op_id && q.is_rejected()));
        self.ops.len() != before
    }

    /// Sends a rejected operation again with a corrected quantity, as a new operation (new id:
    /// the old one was refused and applied nothing) in the old one's place in the order.
    pub fn resend(&mut self, op_id: &str, new_op_id: crate::Id, qty: i64) -> Option<QueuedOp> {
        let q = self.ops.iter_mut().find(|q| q.op.op_id.as_str() == op_id && q.is_rejected())?;
        q.op.op_id = new_op_id;
        q.op.movement.qty = qty;
        q.state = OpState::Pending;
        q.attempts = 0;
        Some(q.clone())
    }

    /// How long to wait before the next attempt: doubling from 1 s, at most 30 s.
    pub fn retry_delay_ms(&self) -> u64 {
        let attempts = self.ops.iter().filter(|q| q.is_pending()).map(|q| q.attempts).max().unwrap_or(0);
        (1000u64 << attempts.min(5)).min(RETRY_DELAY_MS_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorDetail, Id, Movement, MovementKind};

    fn op(id: &str, seq: f64) -> QueuedOp {
        QueuedOp {
            op: SyncOp {
                op_id: Id::new(id).unwrap(),
                sku: Id::new("SKU").unwrap(),
                movement: Movement {
                    into: None,
                    disposition: None,
                    kind: MovementKind::Receive,
                    location: Id::new("wh").unwrap(),
                    qty: 1,
                    to_location: None,
                    reason: None,
                    reference: None,
                    counted_at_version: None,
                },
                occurred_at: None,
            },
            seq,
            screen: "receive".into(),
            state: OpState::Pending,
            attempts: 0,
        }
    }

    fn result(id: &str, outcome: SyncOutcome) -> SyncOpResult {
        SyncOpResult {
            op_id: Id::new(id).unwrap(),
            outcome,
            http_status: match outcome {
                SyncOutcome::Applied => 201,
                SyncOutcome::Rejected => 409,
                SyncOutcome::Retry => 503,
            },
            version: (outcome == SyncOutcome::Applied).then_some(7),
            error: (outcome == SyncOutcome::Rejected).then(|| ErrorDetail {
                code: "conflict".into(),
                message: "too many".into(),
                details: serde_json::Value::Null,
            }),
        }
    }

    #[test]
    fn sends_in_order_and_records_each_result() {
        let mut outbox = Outbox::new(vec![op("c", 3.0), op("a", 1.0)]);
        outbox.add(op("b", 2.0));
        let batch: Vec<String> = outbox.next_batch(2).iter().map(|o| o.op_id.to_string()).collect();
        assert_eq!(batch, ["a", "b"]);
        outbox.record(&[result("a", SyncOutcome::Applied), result("b", SyncOutcome::Rejected)]);
        assert_eq!(outbox.tally(), Tally { pending: 1, applied: 1, rejected: 1 });
        assert_eq!(outbox.next_batch(10).len(), 1);
        assert_eq!(outbox.get("a").unwrap().state, OpState::Applied { version: 7 });
    }

    #[test]
    fn unreachable_keeps_everything_and_backs_off() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0)]);
        assert_eq!(outbox.retry_delay_ms(), 1000);
        let batch = outbox.next_batch(10);
        outbox.unreachable(&batch);
        outbox.unreachable(&batch);
        assert_eq!(outbox.tally().pending, 2);
        assert_eq!(outbox.retry_delay_ms(), 4000);
        for _ in 0..10 {
            outbox.unreachable(&batch);
        }
        assert_eq!(outbox.retry_delay_ms(), RETRY_DELAY_MS_MAX);
        outbox.record(&[result("a", SyncOutcome::Retry)]);
        assert!(outbox.get("a").unwrap().is_pending());
    }

    #[test]
    fn only_rejected_ops_can_be_discarded_or_resent() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0)]);
        outbox.record(&[result("a", SyncOutcome::Rejected)]);
        assert!(!outbox.discard("b"), "a pending op stays");
        let resent = outbox.resend("a", Id::new("a2").unwrap(), 5).unwrap();
        assert_eq!((resent.op.op_id.as_str(), resent.op.movement.qty, resent.is_pending()), ("a2", 5, true));
        assert_eq!(outbox.next_batch(10)[0].op_id.as_str(), "a2", "keeps its place in the order");
        outbox.record(&[result("a2", SyncOutcome::Rejected)]);
        assert!(outbox.discard("a2"));
        assert_eq!(outbox.ops().len(), 1);
    }
}
