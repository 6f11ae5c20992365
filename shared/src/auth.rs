//! Roles and what each may do. Tokens are configured by the host; this is the policy.

use serde::{Deserialize, Serialize};
use stockline_engine::{Actor, Money, Role};
use subtle::ConstantTimeEq;

/// Who a bearer token stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub token: String,
    pub role: Role,
    pub subject: String,
    /// The most this person may approve on one purchase order, in the approval rules' base
    /// currency (none: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_limit: Option<Money>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor { subject: self.subject.clone(), role: self.role }
    }
}

/// Parses the host's token table: JSON `[{"token", "role", "subject"}]`.
pub fn parse_tokens(config: &str) -> Result<Vec<Principal>, String> {
    let principals: Vec<Principal> = serde_json::from_str(config).map_err(|e| format!("token table: {e}"))?;
    if principals.iter().any(|p| p.role == Role::System) {
        return Err("token table: role `system` is the host's own".to_string());
    }
    Ok(principals)
}

pub fn authenticate<'a>(principals: &'a [Principal], authorization: Option<&str>) -> Option<&'a Principal> {
    // The scheme is case-insensitive (RFC 9110 §11.1): `Bearer`, `bearer` and `BEARER` are one.
    let (scheme, token) = authorization?.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    principals.iter().find(|p| constant_time_eq(p.token.as_bytes(), token.as_bytes()))
}

/// Compares tokens in time that does not depend on where they differ (`subtle`).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Everything the API lets someone do, by the role it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Read,
    WriteMasterData,
    RecordMovement,
    Reserve,
    /// Suppliers, replenishment policies, demand history (buyers and approvers).
    Plan,
    /// Read purchase orders (buyers, approvers, the warehouse that receives them).
    ReadPurchasing,
    /// Draft, submit, send, cancel and close purchase orders (buyers).
    Purchase,
    /// Approve or reject purchase orders (the approval rules say whose approval counts).
    Approve,
    /// Record supplier invoices against purchase orders and correct them (finance).
    Invoice,
    /// Place customer orders (storefronts, customer service).
    PlaceOrder,
    /// Read customer orders and the exception queues.
    ReadOrders,
    /// Release, pick, ship and deliver orders (the warehouse).
    FulfilOrder,
    /// Cancel an order or a line (customer service, the storefront that placed it).
    CancelOrder,
    /// Act on an order exception; the engine checks the exception's team.
    ResolveException,
    /// Read the event feed and manage webhooks (integrations: admin only).
    ReadEvents,
    /// Read the operational metrics (managers: admins and approvers).
    ReadMetrics,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::WriteMasterData => "write master data",
            Action::RecordMovement => "record movements",
            Action::Reserve => "reserve stock",
            Action::Plan => "set replenishment policy",
            Action::ReadPurchasing => "read purchase orders",
            Action::Purchase => "manage purchase orders",
            Action::Approve => "approve purchase orders",
            Action::Invoice => "record supplier invoices",
            Action::PlaceOrder => "place orders",
            Action::ReadOrders => "read orders",
            Action::FulfilOrder => "fulfil orders",
            Action::CancelOrder => "cancel orders",
            Action::ResolveException => "resolve order exceptions",
            Action::ReadEvents => "read the event feed",
            Action::ReadMetrics => "read the metrics",
        }
    }

    pub fn allowed(self, role: Role) -> bool {
        match (self, role) {
            (_, Role::Admin) => true,
            (_, Role::System) => false,
            (Action::Read, _) => true,
            (Action::WriteMasterData, _) => false,
            (Action::RecordMovement, Role::Warehouse) => true,
            (Action::Reserve, Role::Storefront) => true,
            (Action::Plan, Role::Buyer | Role::Approver) => true,
            (Action::ReadPurchasing, Role::Buyer | Role::Approver | Role::Warehouse | Role::Finance) => true,
            (Action::Purchase, Role::Buyer) => true,
            (Action::Approve, Role::Buyer | Role::Approver) => true,
            (Action::Invoice, Role::Finance) => true,
            (Action::PlaceOrder | Action::CancelOrder, Role::Storefront | Role::CustomerService) => true,
            (
                Action::ReadOrders,
                Role::Storefront | Role::Warehouse | Role::Buyer | Role::Approver | Role::CustomerService,
            ) => true,
            (Action::FulfilOrder, Role::Warehouse) => true,
            (Action::ReadMetrics, Role::Approver | Role::Buyer) => true,
            (Action::ResolveException, Role::Warehouse | Role::Buyer | Role::Approver | Role::CustomerService) => true,
            _ => false,
        }
    }
}

/// An Idempotency-Key as stored: it belongs to its caller and to the resource that owns the write
/// (../shared/API.md, Idempotency), so another caller's request, or the same key used for another
/// resource, is a different request and never sees the first answer.
pub fn scoped_key(subject: &str, resource: &str, key: &str) -> String {
    format!("{subject}\u{1f}{resource}\u{1f}{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let table = [
            (Action::Read, Role::Storefront, true),
            (Action::Read, Role::Buyer, true),
            (Action::WriteMasterData, Role::Admin, true),
            (Action::WriteMasterData, Role::Warehouse, false),
            (Action::RecordMovement, Role::Warehouse, true),
            (Action::RecordMovement, Role::Storefront, false),
            (Action::Reserve, Role::Storefront, true),
            (Action::Reserve, Role::Warehouse, false),
            (Action::Reserve, Role::Admin, true),
            (Action::ReadPurchasing, Role::Warehouse, true),
            (Action::ReadPurchasing, Role::Storefront, false),
            (Action::Purchase, Role::Buyer, true),
            (Action::PlaceOrder, Role::Storefront, true),
            (Action::PlaceOrder, Role::Warehouse, false),
            (Action::ReadOrders, Role::CustomerService, true),
            (Action::ReadOrders, Role::Finance, false),
            (Action::FulfilOrder, Role::Warehouse, true),
            (Action::FulfilOrder, Role::CustomerService, false),
            (Action::CancelOrder, Role::CustomerService, true),
            (Action::CancelOrder, Role::Warehouse, false),
            (Action::ResolveException, Role::CustomerService, true),
            (Action::ResolveException, Role::Storefront, false),
            (Action::ReadEvents, Role::Admin, true),
            (Action::ReadEvents, Role::Buyer, false),
            (Action::ReadEvents, Role::Warehouse, false),
            (Action::ReadMetrics, Role::Admin, true),
            (Action::ReadMetrics, Role::Approver, true),
            (Action::ReadMetrics, Role::Buyer, true),
            (Action::ReadMetrics, Role::Storefront, false),
            (Action::ReadMetrics, Role::Warehouse, false),
            (Action::Purchase, Role::Approver, false),
            (Action::Approve, Role::Approver, true),
            (Action::Approve, Role::Warehouse, false),
            (Action::Approve, Role::Finance, false),
            (Action::Invoice, Role::Finance, true),
            (Action::Invoice, Role::Buyer, false),
            (Action::Invoice, Role::Approver, false),
            (Action::ReadPurchasing, Role::Finance, true),
            (Action::Purchase, Role::Finance, false),
        ];
        for (action, role, expected) in table {
            assert_eq!(action.allowed(role), expected, "{action:?} by {role:?}");
        }
    }

    #[test]
    fn tokens() {
        let table =
            parse_tokens(r#"[{"token":"dev-admin","role":"admin","subject":"dev-admin"}]"#).expect("valid table");
        assert_eq!(authenticate(&table, Some("Bearer dev-admin")).map(|p| p.role), Some(Role::Admin));
        assert!(authenticate(&table, Some("Bearer dev-admi")).is_none());
        assert!(authenticate(&table, Some("dev-admin")).is_none());
        assert!(authenticate(&table, None).is_none());
        assert_eq!(authenticate(&table, Some("bearer dev-admin")).map(|p| p.role), Some(Role::Admin));
        assert_eq!(authenticate(&table, Some("BEARER dev-admin")).map(|p| p.role), Some(Role::Admin));
        assert!(authenticate(&table, Some("Basic dev-admin")).is_none());
        assert!(authenticate(&table, Some("Bearerdev-admin")).is_none());
        assert!(parse_tokens(r#"[{"token":"x","role":"system","subject":"x"}]"#).is_err());
    }
}
