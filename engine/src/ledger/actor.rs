//! Who makes a change, and when: the actor and the context every decision takes.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Storefront,
    Warehouse,
    Buyer,
    Approver,
    /// Accounts payable: records supplier invoices and resolves their exceptions.
    Finance,
    /// Customer service: reads orders and resolves their exceptions (holds, substitutions,
    /// splits that need the customer's say).
    CustomerService,
    Admin,
    /// The host itself (alarms, expiry).
    System,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Storefront,
        Role::Warehouse,
        Role::Buyer,
        Role::Approver,
        Role::Finance,
        Role::CustomerService,
        Role::Admin,
        Role::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Storefront => "storefront",
            Role::Warehouse => "warehouse",
            Role::Buyer => "buyer",
            Role::Approver => "approver",
            Role::Finance => "finance",
            Role::CustomerService => "customer_service",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    /// The role `as_str` names `name`, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

/// Who asked for a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub subject: String,
    pub role: Role,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { subject: "system".to_string(), role: Role::System }
    }
}

/// The caller and the clock, passed into every decision (the engine has neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub actor: Actor,
    /// The host's time when the change is recorded.
    pub now: DateTime<Utc>,
    /// The caller's time when the change happened (offline tablets sync later); defaults to `now`.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl Ctx {
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Ctx {
        Ctx { actor, now, occurred_at: None }
    }
}
