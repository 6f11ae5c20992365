//! An approver's decisions on purchase orders, made perhaps offline: each is queued with its own
//! Idempotency-Key and the order version the approver read, and sent once when online. A decision
//! that meets an order changed since it was read is refused by the server (409 `conflict`) and
//! kept, with the reason, for a fresh look; one the server never answered stays pending and is
//! sent again under the same key, so it applies at most once.
//!
//! Plain data with methods; the web app stores it in IndexedDB and shows it.

use crate::wire::DecisionRequest;
use serde::{Deserialize, Serialize};
use stockline_engine::Id;

/// Decisions kept at most (applied ones are dropped first).
pub const DECISIONS_MAX: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
}

impl DecisionKind {
    /// The path segment: `/v1/purchase-orders/{id}/approve`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::Reject => "reject",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DecisionState {
    Pending,
    /// The server took it: the order's status after it.
    Applied {
        status: String,
    },
    /// The server refused it (the order changed, a rule said no): nothing applied.
    Refused {
        code: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedDecision {
    /// The Idempotency-Key it is sent with, every time.
    pub key: String,
    pub order: Id,
    pub kind: DecisionKind,
    /// The order's version when the approver read it.
    pub version: u32,
    pub comment: String,
    /// Order of making (ms since the epoch); f64 because IndexedDB numbers are.
    pub queued_at_ms: f64,
    pub state: DecisionState,
}

impl QueuedDecision {
    pub fn is_pending(&self) -> bool {
        self.state == DecisionState::Pending
    }

    pub fn request(&self) -> DecisionRequest {
        let comment = (!self.comment.trim().is_empty()).then(|| self.comment.clone());
        DecisionRequest { version: self.version, comment }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decisions {
    list: Vec<QueuedDecision>,
}

impl Decisions {
    pub fn new(mut list: Vec<QueuedDecision>) -> Decisions {
        list.sort_by(|a, b| a.queued_at_ms.total_cmp(&b.queued_at_ms));
        Decisions { list }
    }

    pub fn list(&self) -> &[QueuedDecision] {
        &self.list
    }

    /// The latest decision on `order`, if any.
    pub fn for_order(&self, order: &str) -> Option<&QueuedDecision> {
        self.list.iter().rev().find(|d| d.order.as_str() == order)
    }

    pub fn pending(&self) -> impl Iterator<Item = &QueuedDecision> {
        self.list.iter().filter(|d| d.is_pending())
    }

    /// Queues a decision. One order takes one pending decision at a time; a rejection needs a
    /// reason. Returns the keys of applied decisions dropped to stay within `DECISIONS_MAX`.
    pub fn queue(&mut self, decision: QueuedDecision) -> Result<Vec<String>, String> {
        assert!(decision.is_pending(), "a new decision is pending");
        if self.list.iter().any(|d| d.key == decision.key) {
            return Err("this decision is already queued".to_string());
        }
        if self.list.iter().any(|d| d.order == decision.order && d.is_pending()) {
            return Err(format!("{} already has a decision waiting to be sent", decision.order));
        }
        if decision.kind == DecisionKind::Reject && decision.comment.trim().is_empty() {
            return Err("A rejection needs a reason: write it in the comment".to_string());
        }
        let mut dropped = Vec::new();
        while self.list.len() >= DECISIONS_MAX {
            let Some(oldest) = self.list.iter().position(|d| !d.is_pending()) else {
                return Err(format!("{DECISIONS_MAX} decisions are waiting to be sent: send them first"));
            };
            dropped.push(self.list.remove(oldest).key);
        }
        self.list.push(decision);
        Ok(dropped)
    }

    /// Records the server's answer to a pending decision (a decided one keeps its first answer).
    pub fn record(&mut self, key: &str, state: DecisionState) -> Option<&QueuedDecision> {
        assert!(state != DecisionState::Pending, "an answer decides");
        let decision = self.list.iter_mut().find(|d| d.key == key)?;
        if decision.is_pending() {
            decision.state = state;
        }
        Some(decision)
    }

    /// Forgets a decided one (the approver has looked at it).
    pub fn dismiss(&mut self, key: &str) -> bool {
        let before = self.list.len();
        self.list.retain(|d| d.key != key || d.is_pending());
        self.list.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(key: &str, order: &str, kind: DecisionKind, comment: &str) -> QueuedDecision {
        QueuedDecision {
            key: key.into(),
            order: Id::new(order).expect("id"),
            kind,
            version: 3,
            comment: comment.into(),
            queued_at_ms: 1.0,
            state: DecisionState::Pending,
        }
    }

    #[test]
    fn one_pending_decision_per_order_and_rejections_need_a_reason() {
        let mut decisions = Decisions::default();
        decisions.queue(decision("k1", "PO-1", DecisionKind::Approve, "")).expect("queued");
        assert!(decisions.queue(decision("k2", "PO-1", DecisionKind::Reject, "no")).is_err(), "one at a time");
        assert!(decisions.queue(decision("k1", "PO-2", DecisionKind::Approve, "")).is_err(), "keys are unique");
        assert!(decisions.queue(decision("k3", "PO-2", DecisionKind::Reject, "  ")).is_err(), "a reason");
        decisions.queue(decision("k3", "PO-2", DecisionKind::Reject, "too dear")).expect("queued");
        assert_eq!(decisions.pending().count(), 2);
        assert_eq!(decisions.list()[0].request(), DecisionRequest { version: 3, comment: None });
        assert_eq!(decisions.list()[1].request().comment.as_deref(), Some("too dear"));
    }

    #[test]
    fn an_answer_decides_once_and_a_refusal_is_kept_for_a_fresh_look() {
        let mut decisions = Decisions::default();
        decisions.queue(decision("k1", "PO-1", DecisionKind::Approve, "")).expect("queued");
        let refused = DecisionState::Refused { code: "conflict".into(), message: "changed".into() };
        decisions.record("k1", refused.clone());
        // A late second answer (a resend) does not overwrite the first.
        decisions.record("k1", DecisionState::Applied { status: "approved".into() });
        assert_eq!(decisions.for_order("PO-1").map(|d| &d.state), Some(&refused));
        assert_eq!(decisions.pending().count(), 0);
        // Now the order can take a new decision (after a fresh look), and the old one is dismissed.
        decisions.queue(decision("k2", "PO-1", DecisionKind::Approve, "")).expect("queued again");
        assert!(decisions.dismiss("k1"));
        assert!(!decisions.dismiss("k2"), "a pending decision is not dismissed");
        assert_eq!(decisions.list().len(), 1);
    }

    #[test]
    fn applied_decisions_make_room() {
        let mut decisions = Decisions::default();
        for n in 0..DECISIONS_MAX {
            let key = format!("k{n}");
            decisions.queue(decision(&key, &format!("PO-{n}"), DecisionKind::Approve, "")).expect("queued");
            decisions.record(&key, DecisionState::Applied { status: "approved".into() });
        }
        let dropped = decisions.queue(decision("new", "PO-new", DecisionKind::Approve, "")).expect("room made");
        assert_eq!(dropped, ["k0"]);
        assert_eq!(decisions.list().len(), DECISIONS_MAX);
    }
}
