//! The client half of the sync protocol: a device's outbox of movements made (perhaps offline),
//! sent in order, each result recorded. Plain data with methods; the web app stores it in
//! IndexedDB and shows it, nothing more.
//!
//! Invariants: an operation keeps its `op_id` (its Idempotency-Key) and its body for every send,
//! so sending it again never applies it twice; operations are sent in the order they were made;
//! an operation leaves the outbox only when the user discards a rejected one, or a while after it
//! was applied (with nothing left to look at).
//!
//! Counts: a count made on this device after its own receive, ship or adjust of that SKU and
//! location (applied or still queued) already includes those units. It is sent only once they are
//! decided, naming their versions in `includes_versions`, so the server does not add them again.

use crate::sync::{SyncOp, SyncOpResult, SyncOutcome};
use crate::wire::AvailabilityResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stockline_engine::{CountException, Id, Movement};

/// Longest wait between two attempts when the server cannot be reached.
pub const RETRY_DELAY_MS_MAX: u64 = 30_000;
/// How long an applied operation stays in the outbox to be seen, before it is cleared.
pub const APPLIED_KEPT_MS: f64 = 15.0 * 60.0 * 1000.0;
/// Applied operations kept at most, however recent.
pub const APPLIED_KEPT_MAX: usize = 200;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OpState {
    Pending,
    Applied {
        version: u64,
        /// What the server raised with it (a count that disagrees with another), until someone
        /// acknowledges it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exceptions: Vec<CountException>,
    },
    Rejected {
        code: String,
        message: String,
    },
}

/// What a count was taken from: the stock card's version, and this device's own operations on the
/// same SKU and location that the card does not show yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountBasis {
    pub seen_version: u64,
    pub own_ops: Vec<Id>,
    /// Set once `includes_versions` is decided: from then on the body never changes.
    #[serde(default)]
    pub resolved: bool,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_basis: Option<CountBasis>,
    /// When the server's decision arrived (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at_ms: Option<f64>,
    /// Queued on purpose although the engine, against this device's replica of the SKU, said
    /// the server would refuse it (the server may know more).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expected_to_fail: bool,
}

impl QueuedOp {
    pub fn is_pending(&self) -> bool {
        self.state == OpState::Pending
    }

    pub fn is_rejected(&self) -> bool {
        matches!(self.state, OpState::Rejected { .. })
    }

    /// Applied, but the server raised something a person must look at.
    pub fn has_exceptions(&self) -> bool {
        matches!(&self.state, OpState::Applied { exceptions, .. } if !exceptions.is_empty())
    }

    pub fn needs_attention(&self) -> bool {
        self.is_rejected() || self.has_exceptions()
    }

    pub fn applied_version(&self) -> Option<u64> {
        match self.state {
            OpState::Applied { version, .. } => Some(version),
            _ => None,
        }
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
    /// Rejected, or applied with an exception (counts that disagree).
    pub attention: usize,
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
        assert!(self.get(op.op.op_id.as_str()).is_none(), "op ids are unique");
        let at = self.ops.partition_point(|q| q.seq <= op.seq);
        self.ops.insert(at, op);
    }

    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for q in &self.ops {
            match q.state {
                OpState::Pending => tally.pending += 1,
                OpState::Applied { .. } => tally.applied += 1,
                OpState::Rejected { .. } => {}
            }
            if q.needs_attention() {
                tally.attention += 1;
            }
        }
        tally
    }

    /// This device's operations on `sku` at `location` that a stock card at `seen_version` does
    /// not show: still pending, or applied after it. Counts are left out (they move no stock).
    pub fn own_since(&self, sku: &str, location: &str, seen_version: u64) -> Vec<&QueuedOp> {
        self.ops
            .iter()
            .filter(|q| q.op.sku.as_str() == sku && q.op.movement.location.as_str() == location)
            .filter(|q| q.op.movement.on_hand_change() != 0)
            .filter(|q| q.is_pending() || q.applied_version().is_some_and(|v| v > seen_version))
            .collect()
    }

    /// The next operations to send: the oldest pending ones, in order, up to `max`. A count waits
    /// (and the batch ends before it) while an operation it includes is undecided; once they are
    /// decided its `includes_versions` is fixed. Returns the batch and the operations whose body
    /// was fixed now (to store them before sending).
    pub fn next_batch(&mut self, max: usize) -> (Vec<SyncOp>, Vec<QueuedOp>) {
        let mut batch = Vec::new();
        let mut fixed = Vec::new();
        for index in 0..self.ops.len() {
            if batch.len() == max {
                break;
            }
            if !self.ops[index].is_pending() {
                continue;
            }
            if let Some(basis) = self.ops[index].count_basis.clone().filter(|b| !b.resolved) {
                let own: Vec<Option<&QueuedOp>> = basis.own_ops.iter().map(|id| self.get(id.as_str())).collect();
                if own.iter().flatten().any(|q| q.is_pending()) {
                    break;
                }
                let mut versions: Vec<u64> = own
                    .iter()
                    .flatten()
                    .filter_map(|q| q.applied_version())
                    .filter(|&v| v > basis.seen_version)
                    .collect();
                versions.sort_unstable();
                versions.dedup();
                let q = &mut self.ops[index];
                q.op.movement.includes_versions = versions;
                if let Some(basis) = q.count_basis.as_mut() {
                    basis.resolved = true;
                }
                fixed.push(q.clone());
            }
            batch.push(self.ops[index].op.clone());
        }
        (batch, fixed)
    }

    /// Records the server's results at `now_ms`; returns the operations whose state changed (to
    /// store them) and the positions the applied ones left (to refresh stock cards).
    pub fn record(&mut self, results: &[SyncOpResult], now_ms: f64) -> Vec<QueuedOp> {
        let mut changed = Vec::new();
        for result in results {
            let Some(q) = self.ops.iter_mut().find(|q| q.op.op_id == result.op_id) else { continue };
            if !q.is_pending() {
                continue;
            }
            match result.outcome {
                SyncOutcome::Applied => match result.version {
                    Some(version) => {
                        q.state = OpState::Applied { version, exceptions: result.exceptions.clone() };
                        q.decided_at_ms = Some(now_ms);
                    }
                    // An applied answer without its version: a server fault, ask again.
                    None => q.attempts += 1,
                },
                SyncOutcome::Rejected => {
                    let (code, message) = match &result.error {
                        Some(error) => (error.code.clone(), error.message.clone()),
                        None => ("rejected".to_string(), format!("HTTP {}", result.http_status)),
                    };
                    q.state = OpState::Rejected { code, message };
                    q.decided_at_ms = Some(now_ms);
                }
                SyncOutcome::Retry => q.attempts += 1,
            }
            changed.push(q.clone());
        }
        changed
    }

    /// The newest position each applied result carried, per SKU.
    pub fn positions(results: &[SyncOpResult]) -> Vec<AvailabilityResponse> {
        let mut newest: Vec<AvailabilityResponse> = Vec::new();
        for position in results.iter().filter_map(|r| r.position.as_ref()) {
            let sku = &position.availability.sku;
            match newest.iter_mut().find(|p| &p.availability.sku == sku) {
                Some(kept) if kept.availability.version < position.availability.version => *kept = position.clone(),
                Some(_) => {}
                None => newest.push(position.clone()),
            }
        }
        newest
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
    pub fn discard(&mut self, op_id: &str) -> Option<QueuedOp> {
        let index = self.ops.iter().position(|q| q.op.op_id.as_str() == op_id && q.is_rejected())?;
        Some(self.ops.remove(index))
    }

    /// Puts a discarded operation back (undo), in its place in the order.
    pub fn restore(&mut self, op: QueuedOp) {
        assert!(op.is_rejected(), "only a discarded (rejected) operation comes back");
        self.add(op);
    }

    /// The movements of `sku` made here that a replica at `version` does not hold yet: the
    /// pending ones and the ones applied after that version, in the order they were made.
    pub fn not_in_replica<'a>(&'a self, sku: &'a str, version: u64) -> impl Iterator<Item = &'a QueuedOp> {
        self.ops.iter().filter(move |q| {
            q.op.sku.as_str() == sku && (q.is_pending() || q.applied_version().is_some_and(|applied| applied > version))
        })
    }

    /// Every operation not yet on the server, or refused by it: what signing out would lose.
    pub fn unsent(&self) -> usize {
        self.ops.iter().filter(|q| q.is_pending() || q.is_rejected()).count()
    }

    /// Marks the exceptions of an applied operation as seen (someone is recounting).
    pub fn acknowledge(&mut self, op_id: &str) -> Option<QueuedOp> {
        let q = self.ops.iter_mut().find(|q| q.op.op_id.as_str() == op_id)?;
        match &mut q.state {
            OpState::Applied { exceptions, .. } if !exceptions.is_empty() => {
                exceptions.clear();
                Some(q.clone())
            }
            _ => None,
        }
    }

    /// Sends a rejected operation again, corrected (any field), as a new operation: a new id, as
    /// the old one was refused and applied nothing, in the old one's place in the order. Counts
    /// that named the old id name the new one.
    pub fn resend(&mut self, op_id: &str, new_op_id: Id, sku: Id, movement: Movement) -> Option<QueuedOp> {
        let index = self.ops.iter().position(|q| q.op.op_id.as_str() == op_id && q.is_rejected())?;
        let old_id = self.ops[index].op.op_id.clone();
        for other in &mut self.ops {
            if let Some(basis) = other.count_basis.as_mut().filter(|b| !b.resolved) {
                for own in &mut basis.own_ops {
                    if *own == old_id {
                        *own = new_op_id.clone();
                    }
                }
            }
        }
        let q = &mut self.ops[index];
        q.op.op_id = new_op_id;
        q.op.sku = sku;
        q.op.movement = movement;
        q.state = OpState::Pending;
        q.attempts = 0;
        q.decided_at_ms = None;
        q.expected_to_fail = false;
        Some(q.clone())
    }

    /// Clears applied operations (with nothing to look at) older than `APPLIED_KEPT_MS`, and
    /// beyond the newest `APPLIED_KEPT_MAX`; returns the ones removed (to delete them from storage,
    /// and see `Outbox::applied_through`).
    pub fn prune(&mut self, now_ms: f64) -> Vec<QueuedOp> {
        let mut applied_newest_first: Vec<usize> = (0..self.ops.len())
            .filter(|&i| matches!(&self.ops[i].state, OpState::Applied { exceptions, .. } if exceptions.is_empty()))
            .collect();
        applied_newest_first.reverse();
        let mut removed = Vec::new();
        for (rank, &index) in applied_newest_first.iter().enumerate() {
            let q = &self.ops[index];
            let old = q.decided_at_ms.is_none_or(|at| now_ms - at > APPLIED_KEPT_MS);
            if old || rank >= APPLIED_KEPT_MAX {
                removed.push(q.op.op_id.clone());
            }
        }
        // A pending count may still need an applied operation's version: keep those.
        let needed: Vec<Id> = self
            .ops
            .iter()
            .filter(|q| q.is_pending())
            .filter_map(|q| q.count_basis.as_ref().filter(|b| !b.resolved))
            .flat_map(|b| b.own_ops.iter().cloned())
            .collect();
        removed.retain(|id| !needed.contains(id));
        let (gone, kept) = std::mem::take(&mut self.ops).into_iter().partition(|q| removed.contains(&q.op.op_id));
        self.ops = kept;
        gone
    }

    /// The newest version each SKU's applied operations in `removed` had. A replica of the SKU
    /// older than that included them only through this outbox, which no longer has them: its
    /// projection would leave them out.
    pub fn applied_through(removed: &[QueuedOp]) -> BTreeMap<Id, u64> {
        let mut through: BTreeMap<Id, u64> = BTreeMap::new();
        for (sku, version) in removed.iter().filter_map(|q| Some((&q.op.sku, q.applied_version()?))) {
            let newest = through.entry(sku.clone()).or_insert(version);
            *newest = (*newest).max(version);
        }
        through
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

    fn movement(kind: MovementKind, qty: i64) -> Movement {
        Movement {
            into: None,
            disposition: None,
            kind,
            location: Id::new("wh").unwrap(),
            qty,
            to_location: None,
            reason: None,
            reference: None,
            counted_at_version: None,
            includes_versions: Vec::new(),
        }
    }

    fn op(id: &str, seq: f64) -> QueuedOp {
        QueuedOp {
            op: SyncOp {
                op_id: Id::new(id).unwrap(),
                sku: Id::new("SKU").unwrap(),
                movement: movement(MovementKind::Receive, 1),
                occurred_at: None,
            },
            seq,
            screen: "receive".into(),
            state: OpState::Pending,
            attempts: 0,
            count_basis: None,
            decided_at_ms: None,
            expected_to_fail: false,
        }
    }

    #[test]
    fn a_replica_at_a_version_lacks_the_pending_ops_and_those_applied_after_it() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0), op("c", 3.0), op("d", 4.0)]);
        let mut other = op("e", 5.0);
        other.op.sku = Id::new("OTHER").unwrap();
        outbox.add(other);
        outbox.record(
            &[
                result_at("a", SyncOutcome::Applied, 4),
                result_at("b", SyncOutcome::Applied, 5),
                result("c", SyncOutcome::Rejected),
            ],
            0.0,
        );
        let check = |version: u64, expected: &[&str]| {
            let ids: Vec<&str> = outbox.not_in_replica("SKU", version).map(|q| q.op.op_id.as_str()).collect();
            assert_eq!(ids, expected, "replica at version {version}");
        };
        check(3, &["a", "b", "d"]);
        check(4, &["b", "d"]);
        check(5, &["d"]);
    }

    fn count(id: &str, seq: f64, seen_version: u64, own: &[&str]) -> QueuedOp {
        let mut q = op(id, seq);
        q.op.movement = movement(MovementKind::Count, 25);
        q.op.movement.counted_at_version = Some(seen_version);
        q.count_basis = Some(CountBasis {
            seen_version,
            own_ops: own.iter().map(|o| Id::new(*o).unwrap()).collect(),
            resolved: false,
        });
        q
    }

    fn result(id: &str, outcome: SyncOutcome) -> SyncOpResult {
        result_at(id, outcome, 7)
    }

    fn result_at(id: &str, outcome: SyncOutcome, version: u64) -> SyncOpResult {
        SyncOpResult {
            op_id: Id::new(id).unwrap(),
            outcome,
            http_status: match outcome {
                SyncOutcome::Applied => 201,
                SyncOutcome::Rejected => 409,
                SyncOutcome::Retry => 503,
            },
            version: (outcome == SyncOutcome::Applied).then_some(version),
            error: (outcome == SyncOutcome::Rejected).then(|| ErrorDetail {
                code: "conflict".into(),
                message: "too many".into(),
                details: serde_json::Value::Null,
            }),
            exceptions: Vec::new(),
            position: None,
        }
    }

    fn ids(batch: &[SyncOp]) -> Vec<String> {
        batch.iter().map(|o| o.op_id.to_string()).collect()
    }

    fn op_ids(ops: &[QueuedOp]) -> Vec<String> {
        ops.iter().map(|q| q.op.op_id.to_string()).collect()
    }

    #[test]
    fn sends_in_order_and_records_each_result() {
        let mut outbox = Outbox::new(vec![op("c", 3.0), op("a", 1.0)]);
        outbox.add(op("b", 2.0));
        let (batch, _) = outbox.next_batch(2);
        assert_eq!(ids(&batch), ["a", "b"]);
        outbox.record(&[result("a", SyncOutcome::Applied), result("b", SyncOutcome::Rejected)], 0.0);
        assert_eq!(outbox.tally(), Tally { pending: 1, applied: 1, attention: 1 });
        assert_eq!(outbox.next_batch(10).0.len(), 1);
        assert_eq!(outbox.get("a").unwrap().applied_version(), Some(7));
        assert_eq!(outbox.unsent(), 2, "the pending and the rejected one");
    }

    #[test]
    fn unreachable_keeps_everything_and_backs_off() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0)]);
        assert_eq!(outbox.retry_delay_ms(), 1000);
        let (batch, _) = outbox.next_batch(10);
        outbox.unreachable(&batch);
        outbox.unreachable(&batch);
        assert_eq!(outbox.tally().pending, 2);
        assert_eq!(outbox.retry_delay_ms(), 4000);
        for _ in 0..10 {
            outbox.unreachable(&batch);
        }
        assert_eq!(outbox.retry_delay_ms(), RETRY_DELAY_MS_MAX);
        outbox.record(&[result("a", SyncOutcome::Retry)], 0.0);
        assert!(outbox.get("a").unwrap().is_pending());
    }

    #[test]
    fn only_rejected_ops_can_be_discarded_restored_or_resent() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0)]);
        outbox.record(&[result("a", SyncOutcome::Rejected)], 0.0);
        assert!(outbox.discard("b").is_none(), "a pending op stays");
        let discarded = outbox.discard("a").unwrap();
        assert_eq!(outbox.ops().len(), 1);
        outbox.restore(discarded);
        assert_eq!(ids(&outbox.next_batch(10).0), ["b"], "undo puts it back, still rejected");
        let mut corrected = movement(MovementKind::Adjust, -5);
        corrected.reason = Some("lost".into());
        let resent = outbox.resend("a", Id::new("a2").unwrap(), Id::new("OTHER").unwrap(), corrected.clone()).unwrap();
        assert_eq!((resent.op.op_id.as_str(), resent.op.sku.as_str(), resent.is_pending()), ("a2", "OTHER", true));
        assert_eq!(resent.op.movement, corrected, "every field can be corrected");
        assert_eq!(ids(&outbox.next_batch(10).0), ["a2", "b"], "keeps its place in the order");
    }

    #[test]
    fn a_count_waits_for_the_own_operations_it_includes_and_names_their_versions() {
        // Read version 2; receive 5 (queued); count 25; another SKU's op after it.
        let mut other = op("z", 4.0);
        other.op.sku = Id::new("OTHER").unwrap();
        let mut outbox = Outbox::new(vec![op("r", 1.0), count("c", 2.0, 2, &["r"]), other]);
        assert_eq!(outbox.own_since("SKU", "wh", 2).len(), 1);
        let (batch, fixed) = outbox.next_batch(10);
        assert_eq!(ids(&batch), ["r"], "the count is not sent before the receive is decided");
        assert!(fixed.is_empty());
        outbox.record(&[result_at("r", SyncOutcome::Applied, 3)], 0.0);
        assert!(outbox.own_since("SKU", "wh", 3).is_empty(), "a card at version 3 shows the receive");
        let (batch, fixed) = outbox.next_batch(10);
        assert_eq!(ids(&batch), ["c", "z"]);
        assert_eq!(batch[0].movement.includes_versions, [3]);
        assert_eq!(fixed.len(), 1, "the fixed body is stored before it is sent");
        // Sending it again sends the same body.
        outbox.unreachable(&batch);
        let (again, fixed) = outbox.next_batch(10);
        assert_eq!(again, batch);
        assert!(fixed.is_empty());
    }

    #[test]
    fn a_count_after_a_rejected_own_operation_includes_nothing_of_it() {
        let mut outbox = Outbox::new(vec![op("r", 1.0), count("c", 2.0, 2, &["r"])]);
        outbox.next_batch(10);
        outbox.record(&[result("r", SyncOutcome::Rejected)], 0.0);
        let (batch, _) = outbox.next_batch(10);
        assert_eq!(ids(&batch), ["c"]);
        assert!(batch[0].movement.includes_versions.is_empty());
        // Resent before the count was decided, the count follows the new id.
        let mut outbox = Outbox::new(vec![op("r", 1.0), count("c", 2.0, 2, &["r"])]);
        outbox.record(&[result("r", SyncOutcome::Rejected)], 0.0);
        outbox.resend("r", Id::new("r2").unwrap(), Id::new("SKU").unwrap(), movement(MovementKind::Receive, 5));
        let (batch, _) = outbox.next_batch(10);
        assert_eq!(ids(&batch), ["r2"]);
        outbox.record(&[result_at("r2", SyncOutcome::Applied, 9)], 0.0);
        assert_eq!(outbox.next_batch(10).0[0].movement.includes_versions, [9]);
    }

    #[test]
    fn applied_exceptions_need_attention_until_acknowledged() {
        let mut outbox = Outbox::new(vec![count("c", 1.0, 2, &[])]);
        let mut applied = result_at("c", SyncOutcome::Applied, 4);
        applied.exceptions = vec![CountException {
            kind: stockline_engine::CountExceptionKind::CountsDisagree,
            version: 4,
            location: Id::new("wh").unwrap(),
            shortfall: 0,
            holds: Vec::new(),
            disagreement: None,
        }];
        outbox.record(&[applied], 0.0);
        assert_eq!(outbox.tally().attention, 1);
        assert!(outbox.prune(APPLIED_KEPT_MS * 10.0).is_empty(), "not cleared while it needs attention");
        outbox.acknowledge("c").unwrap();
        assert_eq!(outbox.tally().attention, 0);
        assert_eq!(outbox.prune(APPLIED_KEPT_MS * 10.0).len(), 1);
    }

    #[test]
    fn applied_operations_are_cleared_after_a_while() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0), op("p", 3.0)]);
        outbox.record(&[result("a", SyncOutcome::Applied)], 0.0);
        outbox.record(&[result("b", SyncOutcome::Applied)], 1000.0);
        assert!(outbox.prune(APPLIED_KEPT_MS).is_empty(), "both are recent");
        let removed = outbox.prune(APPLIED_KEPT_MS + 500.0);
        assert_eq!(op_ids(&removed), ["a"]);
        assert_eq!(ids(&outbox.next_batch(10).0), ["p"], "pending ones are never cleared");
        let many: Vec<QueuedOp> = (0..APPLIED_KEPT_MAX + 5).map(|i| op(&format!("o{i}"), i as f64)).collect();
        let mut outbox = Outbox::new(many);
        let results: Vec<SyncOpResult> =
            (0..APPLIED_KEPT_MAX + 5).map(|i| result(&format!("o{i}"), SyncOutcome::Applied)).collect();
        outbox.record(&results, 0.0);
        assert_eq!(outbox.prune(0.0).len(), 5, "at most APPLIED_KEPT_MAX stay");
    }

    #[test]
    fn a_replica_older_than_a_cleared_operation_is_known() {
        let mut outbox = Outbox::new(vec![op("a", 1.0), op("b", 2.0), op("c", 3.0), op("p", 4.0)]);
        outbox.record(&[result_at("a", SyncOutcome::Applied, 4), result_at("b", SyncOutcome::Applied, 9)], 0.0);
        outbox.record(&[result_at("c", SyncOutcome::Rejected, 0)], 0.0);
        let removed = outbox.prune(APPLIED_KEPT_MS * 2.0);
        assert_eq!(op_ids(&removed), ["a", "b"], "applied and old; the rejected and pending ones stay");
        let through = Outbox::applied_through(&removed);
        assert_eq!(through.into_iter().collect::<Vec<_>>(), [(removed[0].op.sku.clone(), 9)]);
        assert!(Outbox::applied_through(&[]).is_empty());
    }
}
