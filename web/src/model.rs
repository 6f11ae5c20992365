//! What the app knows, as plain data with methods (the todomvc way): no signals, no IO.

use serde::{Deserialize, Serialize};
use stockline_shared::{AvailabilityResponse, Disposition, Id, Movement, MovementKind, ReceiveInto};

/// Where the app talks to, as whom, and where the device is; kept in IndexedDB across reloads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub api_base: String,
    pub token: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    pub last_sku: Option<String>,
}

impl Settings {
    pub fn signed_in(&self) -> bool {
        !self.token.trim().is_empty()
    }

    /// The API a page served at `hostname` talks to by default: the same host, port 8787.
    pub fn default_api_base(protocol: &str, hostname: &str) -> String {
        format!("{protocol}//{hostname}:8787")
    }

    /// Warehouse work (movements) is for the warehouse role and admins; everyone may look up stock.
    pub fn may_record_movements(&self) -> bool {
        matches!(self.role.as_deref(), Some("warehouse" | "admin"))
    }

    pub fn screens(&self) -> Vec<Screen> {
        if self.may_record_movements() {
            Screen::ALL.to_vec()
        } else {
            vec![Screen::Lookup]
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Screen {
    Lookup,
    Receive,
    Ship,
    Count,
    Adjust,
    Transfer,
    Returns,
    Outbox,
}

impl Screen {
    pub const ALL: [Screen; 8] = [
        Screen::Lookup,
        Screen::Receive,
        Screen::Ship,
        Screen::Count,
        Screen::Adjust,
        Screen::Transfer,
        Screen::Returns,
        Screen::Outbox,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Screen::Lookup => "Stock",
            Screen::Receive => "Receive",
            Screen::Ship => "Ship",
            Screen::Count => "Count",
            Screen::Adjust => "Adjust",
            Screen::Transfer => "Transfer",
            Screen::Returns => "Returns",
            Screen::Outbox => "Outbox",
        }
    }

    pub fn testid(self) -> &'static str {
        match self {
            Screen::Lookup => "tab-lookup",
            Screen::Receive => "tab-receive",
            Screen::Ship => "tab-ship",
            Screen::Count => "tab-count",
            Screen::Adjust => "tab-adjust",
            Screen::Transfer => "tab-transfer",
            Screen::Returns => "tab-returns",
            Screen::Outbox => "tab-outbox",
        }
    }
}

/// Where a stock card's numbers came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    Live,
    Saved,
}

/// One SKU's position as last fetched from the server, kept for offline use (and, for counts,
/// the ledger version the counter saw).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockCard {
    pub sku: String,
    /// Milliseconds since the epoch when it was fetched (f64: IndexedDB numbers are doubles).
    pub fetched_at_ms: f64,
    pub availability: AvailabilityResponse,
    #[serde(skip, default = "saved")]
    pub source: Source,
}

fn saved() -> Source {
    Source::Saved
}

impl StockCard {
    pub fn live(availability: AvailabilityResponse, now_ms: f64) -> StockCard {
        StockCard {
            sku: availability.availability.sku.to_string(),
            fetched_at_ms: now_ms,
            availability,
            source: Source::Live,
        }
    }

    pub fn is_saved_copy(&self) -> bool {
        self.source == Source::Saved
    }

    pub fn version(&self) -> u64 {
        self.availability.availability.version
    }

    pub fn on_hand_at(&self, location: &str) -> Option<i64> {
        self.availability.availability.locations.iter().find(|l| l.location.as_str() == location).map(|l| l.on_hand)
    }

    /// "just now", "5 min ago", "3 h ago", "2 d ago".
    pub fn age(&self, now_ms: f64) -> String {
        age(self.fetched_at_ms, now_ms)
    }
}

pub fn age(then_ms: f64, now_ms: f64) -> String {
    let seconds = ((now_ms - then_ms) / 1000.0).max(0.0) as u64;
    match seconds {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// Normalises what a person or a scanner typed into an id, or says what is wrong with it.
pub fn parse_id(what: &str, input: &str) -> Result<Id, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err(format!("Type or scan a {what}"));
    }
    Id::new(value).map_err(|_| format!("`{value}` is not a {what} (letters, digits and . _ : - only)"))
}

pub fn parse_sku(input: &str) -> Result<String, String> {
    parse_id("SKU", input).map(|id| id.to_string())
}

/// A quantity typed into a form: a whole number, at most 1,000,000,000 either way.
pub fn parse_qty(input: &str, signed: bool) -> Result<i64, String> {
    let qty: i64 = input.trim().parse().map_err(|_| "Quantity must be a whole number".to_string())?;
    let limit = 1_000_000_000;
    match (signed, qty) {
        (_, 0) => Err("Quantity must not be 0".to_string()),
        (false, q) if q < 0 => Err("Quantity must be positive".to_string()),
        (_, q) if q.abs() > limit => Err("Quantity is too large".to_string()),
        (_, q) => Ok(q),
    }
}

fn optional_text(input: &str) -> Option<String> {
    let text = input.trim();
    (!text.is_empty()).then(|| text.to_string())
}

pub fn movement(kind: MovementKind, location: &Id, qty: i64) -> Movement {
    Movement {
        into: None,
        disposition: None,
        kind,
        location: location.clone(),
        qty,
        to_location: None,
        reason: None,
        reference: None,
        counted_at_version: None,
    }
}

/// Receiving: to stock, or straight into quarantine. One movement, one entry: the units are never
/// sellable on their way to quarantine.
pub fn receive(location: &Id, qty: i64, reference: &str, to_quarantine: bool) -> Vec<Movement> {
    let mut received = movement(MovementKind::Receive, location, qty);
    received.reference = optional_text(reference);
    if to_quarantine {
        received.into = Some(ReceiveInto::Quarantine);
    }
    vec![received]
}

/// What to do with a returned unit once it is back, as the return screen's choice names it.
pub fn parse_disposition(value: &str) -> Result<Disposition, String> {
    match value {
        "restock" => Ok(Disposition::Restock),
        "quarantine" => Ok(Disposition::Quarantine),
        "damage" => Ok(Disposition::Damage),
        other => Err(format!("Choose what happens to the returned units (not `{other}`)")),
    }
}

/// A return received: one movement with its disposition, in one entry.
pub fn return_receive(location: &Id, qty: i64, disposition: Disposition) -> Vec<Movement> {
    let mut received = movement(MovementKind::ReturnReceive, location, qty);
    if disposition != Disposition::Restock {
        received.disposition = Some(disposition);
    }
    vec![received]
}

pub fn adjust(location: &Id, qty: i64, reason: &str) -> Result<Movement, String> {
    let reason = optional_text(reason).ok_or("Say why (a reason is required)")?;
    let mut adjusted = movement(MovementKind::Adjust, location, qty);
    adjusted.reason = Some(reason);
    Ok(adjusted)
}

/// A count of what is on the shelf, merged by the server with what happened since `seen_version`.
pub fn count(location: &Id, qty: i64, seen_version: Option<u64>) -> Movement {
    let mut counted = movement(MovementKind::Count, location, qty);
    counted.counted_at_version = seen_version;
    counted
}

pub fn parse_count(input: &str) -> Result<i64, String> {
    let qty: i64 = input.trim().parse().map_err(|_| "Count must be a whole number".to_string())?;
    if !(0..=1_000_000_000).contains(&qty) {
        return Err("Count must be 0 or more".to_string());
    }
    Ok(qty)
}

pub fn transfer(location: &Id, qty: i64, to: &Id, reference: &str) -> Result<Movement, String> {
    if location == to {
        return Err("Choose another location to transfer to".to_string());
    }
    let mut moved = movement(MovementKind::Transfer, location, qty);
    moved.to_location = Some(to.clone());
    moved.reference = Some(optional_text(reference).ok_or("A transfer needs a reference")?);
    Ok(moved)
}

pub fn ship(location: &Id, qty: i64, reservation: &Id) -> Movement {
    let mut shipped = movement(MovementKind::Ship, location, qty);
    shipped.reference = Some(reservation.to_string());
    shipped
}

/// A one-line description of a movement for lists.
pub fn describe(sku: &str, movement: &Movement) -> String {
    let mut text = format!("{} {} × {} at {}", movement.kind.as_str(), movement.qty, sku, movement.location);
    if let Some(to) = &movement.to_location {
        text.push_str(&format!(" → {to}"));
    }
    if let Some(reference) = &movement.reference {
        text.push_str(&format!(" ({reference})"));
    }
    if let Some(version) = movement.counted_at_version {
        text.push_str(&format!(" seen at v{version}"));
    }
    text
}
