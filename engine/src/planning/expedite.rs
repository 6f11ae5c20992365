//! Expedite requests: customer order lines short of a SKU whose exception a person escalated to
//! procurement. They put the SKU at the top of the replenishment list, marked `expedite`, with
//! the units customers wait for, until the exception is resolved or closes itself.
//!
//! The orders side decides a request (`orders::expedite_change`) and sends it to the SKU; changes
//! may arrive late, twice or out of order (an outbox retries), so each carries its place in the
//! order's history, `(order_version, exception_version)`, and the book keeps only the newest.
//! A withdrawn request is remembered for a while (a tombstone), so an older copy that arrives
//! after it is recognised and ignored.

use crate::error::EngineError;
use crate::ids::Id;
use crate::limits::{EXPEDITE_REQUESTS_MAX, EXPEDITE_WITHDRAWN_RETENTION_SECONDS, QTY_REQUEST_MAX};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One escalated order line waiting for a SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpediteRequest {
    pub exception: Id,
    pub order: Id,
    pub line: u32,
    /// Units the line still waits for.
    pub qty: i64,
    /// When it was escalated.
    pub since: DateTime<Utc>,
    /// Who escalated it (the actor's subject).
    pub by: String,
}

/// A request set (`request` some) or withdrawn (none), at its place in the order's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpediteChange {
    pub exception: Id,
    pub order_version: u32,
    pub exception_version: u32,
    pub at: DateTime<Utc>,
    pub request: Option<ExpediteRequest>,
}

impl ExpediteChange {
    fn stamp(&self) -> (u32, u32) {
        (self.order_version, self.exception_version)
    }

    /// A change as the orders side must send it: a request about its own exception, for a
    /// positive quantity within the request limit.
    pub fn check(&self) -> Result<(), EngineError> {
        if let Some(request) = &self.request {
            if request.exception != self.exception {
                return Err(EngineError::invalid(
                    "request.exception",
                    format!("{} is not the change's exception {}", request.exception, self.exception),
                ));
            }
            if !(1..=QTY_REQUEST_MAX).contains(&request.qty) {
                return Err(EngineError::invalid(
                    "request.qty",
                    format!("{} units: an escalated line waits for 1 to {QTY_REQUEST_MAX}", request.qty),
                ));
            }
        }
        Ok(())
    }
}

/// A SKU's expedite requests: the newest change of each exception.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpediteBook {
    changes: BTreeMap<Id, ExpediteChange>,
}

impl ExpediteBook {
    /// Takes a change when it is newer than the one held for its exception; answers whether the
    /// open requests changed. Refused, changing nothing, when it is malformed or when the book
    /// is full of requests newer than the withdrawal retention.
    pub fn apply(&mut self, change: ExpediteChange) -> Result<bool, EngineError> {
        change.check()?;
        if let Some(held) = self.changes.get(&change.exception) {
            if held.stamp() >= change.stamp() {
                return Ok(false);
            }
            let changed = held.request != change.request;
            self.changes.insert(change.exception.clone(), change);
            self.check_invariants();
            return Ok(changed);
        }
        if self.changes.len() >= EXPEDITE_REQUESTS_MAX {
            self.prune(change.at);
        }
        if self.changes.len() >= EXPEDITE_REQUESTS_MAX && change.request.is_none() {
            return Ok(false); // Withdrawing what the full book does not hold: nothing to change.
        }
        if self.changes.len() >= EXPEDITE_REQUESTS_MAX {
            return Err(EngineError::conflict(format!(
                "this SKU already tracks {EXPEDITE_REQUESTS_MAX} escalated order lines: resolve some first"
            )));
        }
        let changed = change.request.is_some();
        self.changes.insert(change.exception.clone(), change);
        self.check_invariants();
        Ok(changed)
    }

    /// Forgets withdrawals older than the retention at `now`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let before = now - Duration::seconds(EXPEDITE_WITHDRAWN_RETENTION_SECONDS);
        self.changes.retain(|_, change| change.request.is_some() || change.at >= before);
    }

    /// The open requests, the oldest escalation first.
    pub fn open(&self) -> Vec<ExpediteRequest> {
        let mut open: Vec<ExpediteRequest> = self.changes.values().filter_map(|c| c.request.clone()).collect();
        open.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.exception.cmp(&b.exception)));
        open
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    fn check_invariants(&self) {
        assert!(self.changes.len() <= EXPEDITE_REQUESTS_MAX);
        for (exception, change) in &self.changes {
            assert_eq!(exception, &change.exception);
            assert!(change.request.as_ref().is_none_or(|r| r.qty > 0 && &r.exception == exception));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_000_000 + minute * 60, 0).expect("a time")
    }

    fn id(text: &str) -> Id {
        Id::new(text).expect("an id")
    }

    /// `(exception, order_version, exception_version, qty)`; qty 0 is a withdrawal.
    fn change((exception, order_version, exception_version, qty): (&str, u32, u32, i64)) -> ExpediteChange {
        ExpediteChange {
            exception: id(exception),
            order_version,
            exception_version,
            at: at(i64::from(order_version)),
            request: (qty > 0).then(|| ExpediteRequest {
                exception: id(exception),
                order: id("o-1"),
                line: 1,
                qty,
                since: at(0),
                by: "buyer".to_string(),
            }),
        }
    }

    /// Applies the changes in turn; checks what each answered and the open quantities left.
    fn check(changes: &[(&str, u32, u32, i64)], answered: &[bool], open: &[(&str, i64)]) {
        let mut book = ExpediteBook::default();
        let got: Vec<bool> = changes.iter().map(|c| book.apply(change(*c)).expect("accepted")).collect();
        assert_eq!(got, answered, "{changes:?}");
        let left: Vec<(String, i64)> = book.open().iter().map(|r| (r.exception.to_string(), r.qty)).collect();
        let want: Vec<(String, i64)> = open.iter().map(|(e, q)| (e.to_string(), *q)).collect();
        assert_eq!(left, want, "{changes:?}");
    }

    #[test]
    fn the_newest_change_of_each_exception_wins_whatever_the_arrival_order() {
        // set, then withdrawn
        check(&[("ex-1", 3, 2, 5), ("ex-1", 4, 3, 0)], &[true, true], &[]);
        // the withdrawal arrives first: the older set is ignored
        check(&[("ex-1", 4, 3, 0), ("ex-1", 3, 2, 5)], &[false, false], &[]);
        // a repeat changes nothing
        check(&[("ex-1", 3, 2, 5), ("ex-1", 3, 2, 5)], &[true, false], &[("ex-1", 5)]);
        // a partial fill lowers the units (same exception version, newer order version)
        check(&[("ex-1", 3, 2, 5), ("ex-1", 4, 2, 2)], &[true, true], &[("ex-1", 2)]);
        // the same units at a newer version is no change to the list
        check(&[("ex-1", 3, 2, 5), ("ex-1", 3, 3, 5)], &[true, false], &[("ex-1", 5)]);
        // two exceptions, oldest escalation first
        check(&[("ex-2", 5, 4, 1), ("ex-1", 3, 2, 5)], &[true, true], &[("ex-1", 5), ("ex-2", 1)]);
    }

    #[test]
    fn malformed_changes_are_refused_and_change_nothing() {
        let mut book = ExpediteBook::default();
        let mut wrong = change(("ex-1", 1, 2, 5));
        wrong.request.as_mut().expect("set").exception = id("ex-9");
        assert!(book.apply(wrong).is_err());
        let mut zero = change(("ex-1", 1, 2, 5));
        zero.request.as_mut().expect("set").qty = 0;
        assert!(book.apply(zero).is_err());
        assert!(book.is_empty());
    }

    #[test]
    fn a_full_book_forgets_old_withdrawals_before_it_refuses() {
        let mut book = ExpediteBook::default();
        for n in 0..EXPEDITE_REQUESTS_MAX {
            let name = format!("ex-{n}");
            let mut withdrawn = change((&name, 1, 2, 0));
            withdrawn.at = at(0);
            book.apply(withdrawn).expect("accepted");
        }
        let mut late = change(("ex-new", 1, 2, 3));
        late.at = at(0) + Duration::seconds(EXPEDITE_WITHDRAWN_RETENTION_SECONDS + 1);
        assert_eq!(book.apply(late.clone()), Ok(true));
        assert_eq!(book.open().len(), 1);

        let mut full = ExpediteBook::default();
        for n in 0..EXPEDITE_REQUESTS_MAX {
            full.apply(change((&format!("ex-{n}"), 1, 2, 1))).expect("accepted");
        }
        assert!(full.apply(late).is_err());
        assert_eq!(full.open().len(), EXPEDITE_REQUESTS_MAX);
        // A withdrawal of one it does not hold is no change, not a refusal retried forever.
        assert_eq!(full.apply(change(("ex-gone", 1, 2, 0))), Ok(false));
    }
}
