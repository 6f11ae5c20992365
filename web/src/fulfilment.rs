//! Orders on the floor and in the teams' queues, as plain data (no signals, no IO): which queue a
//! role works, an exception's buttons in words, how long its team has left, and the pick list a
//! location works from its released orders.

use chrono::{DateTime, Utc};
use stockline_shared::orders::{ExceptionAction, ExceptionStatus, OrderException, OrderStatus, OrderView, Role, Team};

/// The team whose queue a role works first (an admin starts with the warehouse's and may switch).
pub fn team_of(role: Option<&str>) -> Option<Team> {
    let role: Role = serde_json::from_value(serde_json::Value::String(role?.to_string())).ok()?;
    Team::ALL.into_iter().find(|team| team.roles().contains(&role))
}

/// Teams a role may switch between on the exceptions screen.
pub fn teams_of(role: Option<&str>) -> Vec<Team> {
    let Some(role) = role.and_then(|r| serde_json::from_value::<Role>(serde_json::Value::String(r.to_string())).ok())
    else {
        return Vec::new();
    };
    Team::ALL.into_iter().filter(|team| team.roles().contains(&role)).collect()
}

pub fn team_label(team: Team) -> &'static str {
    match team {
        Team::Warehouse => "Warehouse",
        Team::Procurement => "Procurement",
        Team::CustomerService => "Customer service",
    }
}

/// A resolution's button, in the words of the person who taps it.
pub fn action_label(action: ExceptionAction) -> &'static str {
    match action {
        ExceptionAction::ApprovePartial => "Ship what we have",
        ExceptionAction::ApproveSplit => "Approve the split",
        ExceptionAction::AcceptSubstitute => "Accept the substitute",
        ExceptionAction::Escalate => "Escalate to procurement",
        ExceptionAction::CancelLine => "Cancel the line",
        ExceptionAction::KeepBackorder => "Keep on backorder",
        ExceptionAction::ReleaseHold => "Release the hold",
        ExceptionAction::Expedite => "Pick it first",
    }
}

/// The buttons an open exception offers (the engine's list for its kind); none once it is
/// resolved or closed. An escalated one is procurement's and is not escalated again.
pub fn actions(exception: &OrderException) -> Vec<ExceptionAction> {
    if exception.status != ExceptionStatus::Open {
        return Vec::new();
    }
    exception
        .kind
        .actions()
        .iter()
        .copied()
        .filter(|action| !(exception.escalated && *action == ExceptionAction::Escalate))
        .collect()
}

/// "due in 25 min", "due in 3 h", "overdue by 10 min".
pub fn due_words(due_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (due_at - now).num_minutes();
    let span = |m: i64| if m.abs() < 120 { format!("{} min", m.abs()) } else { format!("{} h", m.abs() / 60) };
    if minutes < 0 {
        format!("overdue by {}", span(minutes))
    } else {
        format!("due in {}", span(minutes))
    }
}

/// One line to pick: a SKU and the units an order holds for it here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickLine {
    pub sku: String,
    pub qty: i64,
}

/// An order's part of a location's pick list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickTicket {
    pub order: String,
    pub status: OrderStatus,
    pub version: u32,
    pub priority: i32,
    pub placed_at: DateTime<Utc>,
    pub lines: Vec<PickLine>,
    /// Units of the order held at other locations (picked and shipped there).
    pub elsewhere: i64,
}

/// The tickets `location` works: orders released to the floor or picked, with the units they
/// hold here, highest priority first, then the oldest. Orders holding nothing here are left out.
pub fn pick_list(orders: &[OrderView], location: &str) -> Vec<PickTicket> {
    let mut tickets: Vec<PickTicket> = orders
        .iter()
        .filter(|view| matches!(view.order.status, OrderStatus::Released | OrderStatus::Picked))
        .filter_map(|view| {
            let mut lines = Vec::new();
            let mut elsewhere = 0;
            for line in &view.order.lines {
                for allocation in &line.allocations {
                    if allocation.location.as_str() == location {
                        lines.push(PickLine { sku: line.sku.to_string(), qty: allocation.qty });
                    } else {
                        elsewhere += allocation.qty;
                    }
                }
            }
            (!lines.is_empty()).then(|| PickTicket {
                order: view.order.id.to_string(),
                status: view.order.status,
                version: view.order.version,
                priority: view.order.priority,
                placed_at: view.order.placed_at,
                lines,
                elsewhere,
            })
        })
        .collect();
    tickets.sort_by(|a, b| (-a.priority, a.placed_at, &a.order).cmp(&(-b.priority, b.placed_at, &b.order)));
    tickets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000) + chrono::Duration::minutes(minutes)
    }

    #[test]
    fn roles_work_their_team_queue() {
        let cases = [
            (Some("warehouse"), Some(Team::Warehouse), 1),
            (Some("buyer"), Some(Team::Procurement), 1),
            (Some("approver"), Some(Team::Procurement), 1),
            (Some("customer_service"), Some(Team::CustomerService), 1),
            (Some("admin"), Some(Team::Warehouse), 3),
            (Some("storefront"), None, 0),
            (Some("finance"), None, 0),
            (Some("nobody"), None, 0),
            (None, None, 0),
        ];
        for (role, team, teams) in cases {
            assert_eq!((team_of(role), teams_of(role).len()), (team, teams), "{role:?}");
        }
    }

    #[test]
    fn due_in_words() {
        let cases = [
            (25, "due in 25 min"),
            (0, "due in 0 min"),
            (-10, "overdue by 10 min"),
            (300, "due in 5 h"),
            (-180, "overdue by 3 h"),
        ];
        for (minutes, words) in cases {
            assert_eq!(due_words(at(minutes), at(0)), words, "{minutes}");
        }
    }

    fn order(
        id: &str,
        status: &str,
        priority: i32,
        placed_minute: i64,
        allocations: &[(&str, &str, i64)],
    ) -> OrderView {
        let lines: Vec<serde_json::Value> = allocations
            .iter()
            .enumerate()
            .map(|(i, (sku, location, qty))| {
                serde_json::json!({"line": i + 1, "sku": sku, "qty": qty, "unit_price": "1.00",
                    "allocations": [{"location": location, "qty": qty}], "shipped": 0, "cancelled": 0})
            })
            .collect();
        let body = serde_json::json!({
            "id": id, "channel": "web", "currency": "EUR", "ship_to_region": "eu", "service_level": "standard",
            "priority": priority, "promised_by": null, "split": "allow", "hold": null, "reference": null,
            "lines": lines, "status": status, "version": 3, "placed_by": "web", "placed_at": at(placed_minute),
            "choice": null, "events": [], "holdings": [], "exceptions": [], "actions": [], "placing": false
        });
        serde_json::from_value(body).expect("an order view")
    }

    #[test]
    fn a_location_picks_its_own_units_first_things_first() {
        let orders = [
            order("SO-1", "released", 0, 0, &[("TEE", "wh-1", 2), ("CAP", "wh-2", 1)]),
            order("SO-2", "released", 100, 5, &[("CAP", "wh-1", 1)]),
            order("SO-3", "allocated", 100, 1, &[("TEE", "wh-1", 9)]),
            order("SO-4", "picked", 0, 2, &[("MUG", "wh-1", 4)]),
            order("SO-5", "released", 50, 3, &[("MUG", "wh-2", 4)]),
        ];
        let list = pick_list(&orders, "wh-1");
        let got: Vec<(&str, i64, i64)> =
            list.iter().map(|t| (t.order.as_str(), t.lines.iter().map(|l| l.qty).sum(), t.elsewhere)).collect();
        assert_eq!(got, [("SO-2", 1, 0), ("SO-1", 2, 1), ("SO-4", 4, 0)], "not released: not on the floor");
        assert_eq!(list[1].lines, [PickLine { sku: "TEE".into(), qty: 2 }]);
        assert!(pick_list(&orders, "wh-9").is_empty());
    }
}
