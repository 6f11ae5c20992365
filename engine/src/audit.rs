//! What every audited document shares (purchase orders, customer orders): the decision a person
//! makes on the version they saw, and the event the change leaves.

use crate::error::EngineError;
use crate::ids::check_text;
use crate::ledger::Actor;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One audited change of a document whose states are `S` and actions `A`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<S, A> {
    /// The document's version after the change.
    pub version: u32,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: A,
    pub from: Option<S>,
    pub to: S,
    pub comment: Option<String>,
}

/// Who acts, when, on which version they saw, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    pub actor: &'a Actor,
    pub at: DateTime<Utc>,
    pub seen_version: u32,
    pub comment: Option<&'a str>,
}

/// A comment is optional; an empty one is none.
pub fn check_comment(comment: Option<&str>) -> Result<(), EngineError> {
    comment.filter(|text| !text.trim().is_empty()).map_or(Ok(()), |text| check_text("comment", text))
}

/// The comment an event keeps: none for an empty one.
pub fn kept_comment(comment: Option<&str>) -> Option<String> {
    comment.filter(|text| !text.trim().is_empty()).map(str::to_string)
}

/// Appends `event` to a document's log of at most `max` events: the first (the creation) stays,
/// the oldest change after it goes.
pub fn append<S, A>(events: &mut Vec<Event<S, A>>, max: usize, event: Event<S, A>) {
    assert!(max >= 2, "a log keeps its creation and the latest change");
    if events.len() >= max {
        events.remove(1);
    }
    events.push(event);
    debug_assert!(events.len() <= max);
}
