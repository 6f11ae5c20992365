//! An audited document's timeline — a purchase order's, a customer order's: its changes newest
//! first, each with what was done, the status it moved, who did it as which role, when, the
//! version it made and the comment.

use leptos::prelude::*;
use stockline_shared::Actor;

/// How the app writes a moment: "Dec 3 10:42".
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%b %-d %H:%M").to_string()
}

/// One change as the timeline shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub action: String,
    /// "allocated → released", or the status alone when it did not move.
    pub change: String,
    pub who: String,
    pub comment: Option<String>,
}

impl Step {
    /// A change of `version` from status `from` to `to` (their names), by `actor` at `at`.
    pub fn new(
        action: &str,
        (from, to): (Option<&str>, &str),
        actor: &Actor,
        at: chrono::DateTime<chrono::Utc>,
        version: u32,
        comment: Option<&str>,
    ) -> Step {
        let change = match from {
            Some(from) if from != to => format!("{from} → {to}"),
            _ => to.to_string(),
        };
        Step {
            action: action.replace('_', " "),
            change,
            who: format!("{} ({}) · {} · v{version}", actor.subject, actor.role.as_str(), when(at)),
            comment: comment.map(str::to_string),
        }
    }
}

/// The steps, newest first (they come oldest first, as the document keeps them).
#[component]
pub fn Timeline(steps: Vec<Step>, testid: &'static str) -> impl IntoView {
    view! {
        <ol class="ops" data-testid=testid>
            {steps.into_iter().rev().map(|step| view! {
                <li class="op">
                    <strong>{step.action}</strong>
                    <span>{step.change}</span>
                    <span class="muted small">{step.who}</span>
                    {step.comment.map(|c| view! { <span>{format!("“{c}”")}</span> })}
                </li>
            }).collect_view()}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockline_shared::orders::Role;

    #[test]
    fn a_step_says_what_moved_and_who_moved_it() {
        let actor = Actor { subject: "dock-1".into(), role: Role::Warehouse };
        let at = chrono::DateTime::from_timestamp(1_796_300_000, 0).expect("a time");
        let moved = Step::new("release_hold", (Some("on_hold"), "allocated"), &actor, at, 3, Some("ok"));
        assert_eq!(
            (moved.action.as_str(), moved.change.as_str(), moved.who.as_str(), moved.comment.as_deref()),
            ("release hold", "on_hold → allocated", "dock-1 (warehouse) · Dec 3 12:13 · v3", Some("ok"))
        );
        let stayed = Step::new("prioritise", (Some("released"), "released"), &actor, at, 4, None);
        assert_eq!(stayed.change, "released");
    }
}
