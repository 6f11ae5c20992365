//! What the app knows, as plain data with methods (the todomvc way): no signals, no IO.
//!
//! Validity is the engine's: a movement is built here and checked with `Movement::check`, the
//! same code the server runs, and its errors are put in a warehouse worker's words.

use serde::{Deserialize, Serialize};
use stockline_shared::limits::QTY_REQUEST_MAX;
use stockline_shared::{Action, Role};
use stockline_shared::{
    AvailabilityResponse, CountBasis, Disposition, EngineError, Id, Item, LocationAvailability, Movement, MovementKind,
    OpState, Outbox, PurchaseOrder, QueuedOp, ReceiptLine, ReceiptSpec, ReceiveInto, ReceiveTo,
};

/// Items remembered as "recent" on the stock screen.
pub const RECENT_MAX: usize = 8;
/// Suggestions shown while typing a name or part of a SKU.
pub const SUGGESTIONS_MAX: usize = 8;
/// Characters of what someone typed that a message repeats.
const ECHO_CHARS_MAX: usize = 40;

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
    /// Items looked up or worked on, newest first.
    #[serde(default)]
    pub recent: Vec<String>,
}

impl Settings {
    pub fn signed_in(&self) -> bool {
        !self.token.trim().is_empty()
    }

    /// The API a page talks to by default: its own origin. Deployed, one Worker serves the app
    /// and `/v1/`; locally, the app's server passes `/v1/` on to the API.
    pub fn default_api_base(origin: &str) -> String {
        origin.trim_end_matches('/').to_string()
    }

    /// Warehouse work (movements) is for the warehouse role and admins; everyone may look up stock.
    pub fn may_record_movements(&self) -> bool {
        matches!(self.role.as_deref(), Some("warehouse" | "admin"))
    }

    /// Replenishment (suggestions, plans) is for buyers, approvers and admins.
    pub fn may_plan(&self) -> bool {
        matches!(self.role.as_deref(), Some("buyer" | "approver" | "admin"))
    }

    pub fn screens(&self) -> Vec<Screen> {
        let mut screens = if self.may_record_movements() { Screen::ALL.to_vec() } else { vec![Screen::Lookup] };
        if self.may_plan() {
            screens.insert(1, Screen::Replenishment);
            screens.insert(2, Screen::Orders);
            screens.insert(3, Screen::Approvals);
            screens.insert(4, Screen::Suppliers);
        }
        if self.may_record_movements() {
            screens.insert(1, Screen::Picking);
        }
        if crate::fulfilment::team_of(self.role.as_deref()).is_some() {
            screens.push(Screen::Exceptions);
        }
        if self.may_read_metrics() {
            screens.push(Screen::Dashboard);
        }
        if self.role.as_deref() == Some("admin") {
            screens.push(Screen::Import);
        }
        screens
    }

    /// The managers' dashboard is for whoever the server lets read the metrics.
    pub fn may_read_metrics(&self) -> bool {
        self.role.as_deref().and_then(Role::from_name).is_some_and(|role| Action::ReadMetrics.allowed(role))
    }

    /// Puts `sku` first among the recent items.
    pub fn remember(&mut self, sku: &str) {
        self.recent.retain(|s| s != sku);
        self.recent.insert(0, sku.to_string());
        self.recent.truncate(RECENT_MAX);
        self.last_sku = Some(sku.to_string());
    }

    /// Signed out: who and where are forgotten, the server address stays.
    pub fn signed_out(&self) -> Settings {
        Settings { api_base: self.api_base.clone(), ..Settings::default() }
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
    Replenishment,
    Orders,
    Approvals,
    Suppliers,
    /// Released customer orders as pick lists for this location.
    Picking,
    /// The team's queue of order exceptions.
    Exceptions,
    /// CSV import (admins).
    Import,
    /// The managers' KPIs (admins, approvers).
    Dashboard,
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
            Screen::Replenishment => "Reorder",
            Screen::Orders => "Orders",
            Screen::Approvals => "Approvals",
            Screen::Suppliers => "Suppliers",
            Screen::Picking => "Pick",
            Screen::Exceptions => "Exceptions",
            Screen::Import => "Import",
            Screen::Dashboard => "Dashboard",
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
            Screen::Replenishment => "tab-replenishment",
            Screen::Orders => "tab-orders",
            Screen::Approvals => "tab-approvals",
            Screen::Suppliers => "tab-suppliers",
            Screen::Picking => "tab-picking",
            Screen::Exceptions => "tab-exceptions",
            Screen::Import => "tab-import",
            Screen::Dashboard => "tab-dashboard",
        }
    }

    /// On a phone the bottom bar holds these; the rest are in the menu.
    pub fn on_phone_bar(self) -> bool {
        matches!(self, Screen::Lookup | Screen::Receive | Screen::Ship | Screen::Count | Screen::Replenishment)
    }

    /// Whether the screen starts with an item field a scan goes into.
    pub fn takes_items(self) -> bool {
        !matches!(
            self,
            Screen::Outbox
                | Screen::Replenishment
                | Screen::Orders
                | Screen::Approvals
                | Screen::Suppliers
                | Screen::Picking
                | Screen::Exceptions
                | Screen::Import
                | Screen::Dashboard
        )
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

    /// This location's line (zeros when the SKU has never been here).
    pub fn here(&self, location: &str) -> LocationAvailability {
        self.availability.availability.locations.iter().find(|l| l.location.as_str() == location).cloned().unwrap_or(
            LocationAvailability {
                location: Id::new(location).unwrap_or_else(|_| self.availability.availability.sku.clone()),
                available: 0,
                on_hand: 0,
                reserved: 0,
                allocated: 0,
                quarantined: 0,
                damaged: 0,
                inbound: 0,
                return_pending: 0,
            },
        )
    }

    /// Every location, this one first, then the rest in the server's (shipping) order.
    pub fn network(&self, location: &str) -> Vec<LocationAvailability> {
        let mut lines = self.availability.availability.locations.clone();
        lines.sort_by_key(|l| l.location.as_str() != location);
        lines
    }

    /// "just now", "5 min ago", "3 h ago", "2 d ago".
    pub fn age(&self, now_ms: f64) -> String {
        age(self.fetched_at_ms, now_ms)
    }

    /// A card from a sync result replaces this one only when it is newer.
    pub fn is_older_than(&self, availability: &AvailabilityResponse) -> bool {
        self.version() < availability.availability.version
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

/// What someone typed, shortened for a message: a 5,000-character scan is not repeated whole.
pub fn echo(input: &str) -> String {
    let trimmed = input.trim();
    if trimmed.chars().count() <= ECHO_CHARS_MAX {
        return trimmed.to_string();
    }
    let head: String = trimmed.chars().take(ECHO_CHARS_MAX).collect();
    format!("{head}… ({} characters)", trimmed.chars().count())
}

/// The items this device knows (names and barcodes), for scans and search, offline too.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemIndex {
    items: Vec<Item>,
}

/// What a scan or a typed text names.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// Exactly one item: by SKU, barcode, SKU in another case, or the only match.
    One(Item),
    /// Several match: the person picks one.
    Many(Vec<Item>),
    None,
}

impl ItemIndex {
    pub fn new(mut items: Vec<Item>) -> ItemIndex {
        items.sort_by(|a, b| a.sku.cmp(&b.sku));
        ItemIndex { items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, sku: &str) -> Option<&Item> {
        self.items.binary_search_by(|item| item.sku.as_str().cmp(sku)).ok().map(|index| &self.items[index])
    }

    pub fn name(&self, sku: &str) -> Option<&str> {
        self.get(sku).map(|item| item.name.as_str())
    }

    /// Items whose SKU, name or a barcode contains `text` in any case; SKUs that start with it first.
    pub fn search(&self, text: &str, limit: usize) -> Vec<Item> {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<&Item> = self
            .items
            .iter()
            .filter(|item| {
                item.sku.as_str().to_lowercase().contains(&needle)
                    || item.name.to_lowercase().contains(&needle)
                    || item.barcodes.iter().any(|b| b.contains(&needle))
            })
            .collect();
        found.sort_by_key(|item| !item.sku.as_str().to_lowercase().starts_with(&needle));
        found.into_iter().take(limit).cloned().collect()
    }

    /// What a scan (or Enter after typing) names: the SKU exactly, a barcode exactly, the SKU in
    /// another case, or the one item that matches; otherwise the matches to choose from.
    pub fn resolve(&self, input: &str) -> Found {
        let text = input.trim();
        if text.is_empty() {
            return Found::None;
        }
        if let Some(item) = self.get(text) {
            return Found::One(item.clone());
        }
        if let Some(item) = self.items.iter().find(|item| item.barcodes.iter().any(|b| b == text)) {
            return Found::One(item.clone());
        }
        let same_but_case: Vec<&Item> =
            self.items.iter().filter(|item| item.sku.as_str().eq_ignore_ascii_case(text)).collect();
        if let [item] = same_but_case.as_slice() {
            return Found::One((*item).clone());
        }
        match self.search(text, SUGGESTIONS_MAX + 1).as_slice() {
            [] => Found::None,
            [item] => Found::One(item.clone()),
            many => Found::Many(many.iter().take(SUGGESTIONS_MAX).cloned().collect()),
        }
    }
}

/// Whether a quantity may be negative, and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QtyKind {
    /// 1 or more (receive, ship, transfer, returns).
    Units,
    /// 0 or more: what is on the shelf.
    Count,
    /// Not 0; the sign says found (+) or lost (−).
    Change,
}

/// A quantity typed into a form, read exactly as typed: digits, with a sign only for a change.
/// Range and zero are the engine's to judge (`Movement::check`).
pub fn parse_qty(input: &str, kind: QtyKind) -> Result<i64, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err("Type the quantity".to_string());
    }
    // A minus typed on a keyboard, or the typographic one (U+2212) a sign toggle shows.
    let (negative, digits) = if let Some(rest) = text.strip_prefix('-').or_else(|| text.strip_prefix('\u{2212}')) {
        (true, rest)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("“{}” is not a whole number: type digits only, no decimals or letters", echo(text)));
    }
    if negative && kind != QtyKind::Change {
        return Err(match kind {
            QtyKind::Count => "A count is what is on the shelf: 0 or more".to_string(),
            _ => "Type how many, without a minus sign".to_string(),
        });
    }
    let magnitude: i64 = digits.parse().map_err(|_| "That number is far too large".to_string())?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// A whole number as people read it: 1,000,000,000.
fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 {
        out.insert(0, '−');
    }
    out
}

/// The engine's verdict on a movement, in a warehouse worker's words (its bounds are the
/// engine's own limits).
pub fn explain(error: &EngineError, kind: MovementKind) -> String {
    let most = grouped(QTY_REQUEST_MAX);
    match error {
        EngineError::InvalidRequest { field, message } => match (field.as_str(), kind) {
            ("qty", MovementKind::Adjust) => {
                format!("Type how many were found (+) or lost (−): a whole number, not 0, at most {most}")
            }
            ("qty", MovementKind::Count) => format!("Type what is on the shelf: 0 or more, at most {most}"),
            ("qty", _) => format!("Type how many: a whole number from 1 to {most}"),
            ("reason", _) if message.contains("required") => "Say why: choose or type a reason".into(),
            ("reason", _) => format!("The reason {message}"),
            ("reference", MovementKind::Ship) if message.contains("names") => "Load the order first".into(),
            ("reference", MovementKind::Transfer) if message.contains("names") => {
                "A transfer needs a reference: the other end receives under it".into()
            }
            ("reference", _) => format!("The reference {message}"),
            ("to_location", _) => "Choose where it goes: another location".into(),
            (field, _) => format!("{field}: {message}"),
        },
        other => other.to_string(),
    }
}

fn optional_text(input: &str) -> Option<String> {
    let text = input.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// What a form says, before it becomes a movement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub qty: i64,
    pub reason: String,
    pub reference: String,
    pub to_location: String,
    pub to_quarantine: bool,
    pub disposition: Option<Disposition>,
}

/// Builds the movement a screen makes and checks it with the engine's own rules.
pub fn build(kind: MovementKind, location: &Id, form: &Form) -> Result<Movement, String> {
    let to_location = match optional_text(&form.to_location) {
        Some(to) => Some(Id::new(to).map_err(|_| "Choose where it goes from the list".to_string())?),
        None => None,
    };
    let movement = Movement {
        kind,
        into: (kind == MovementKind::Receive && form.to_quarantine).then_some(ReceiveInto::Quarantine),
        disposition: form.disposition.filter(|d| kind == MovementKind::ReturnReceive && *d != Disposition::Restock),
        location: location.clone(),
        qty: form.qty,
        to_location,
        reason: optional_text(&form.reason),
        reference: optional_text(&form.reference),
        counted_at_version: None,
        includes_versions: Vec::new(),
    };
    movement.check().map_err(|error| explain(&error, kind))?;
    Ok(movement)
}

/// What to do with a returned unit once it is back, as the return screen's choice names it.
pub fn parse_disposition(value: &str) -> Result<Disposition, String> {
    match value {
        "restock" => Ok(Disposition::Restock),
        "quarantine" => Ok(Disposition::Quarantine),
        "damage" => Ok(Disposition::Damage),
        other => Err(format!("Choose what happens to the returned units (not “{}”)", echo(other))),
    }
}

/// What a count is taken from, and what the counter should expect on the shelf.
#[derive(Clone, Debug, PartialEq)]
pub struct CountFrom {
    pub seen_version: u64,
    pub on_hand_seen: i64,
    /// This device's own operations since: (words, on-hand change).
    pub own: Vec<(String, i64)>,
    pub own_ops: Vec<Id>,
}

impl CountFrom {
    pub fn new(card: &StockCard, outbox: &Outbox, location: &str) -> CountFrom {
        let seen_version = card.version();
        let own_ops = outbox.own_since(&card.sku, location, seen_version);
        CountFrom {
            seen_version,
            on_hand_seen: card.here(location).on_hand,
            own: own_ops
                .iter()
                .map(|q| (verb(q.op.movement.kind, q.op.movement.qty), q.op.movement.on_hand_change()))
                .collect(),
            own_ops: own_ops.iter().map(|q| q.op.op_id.clone()).collect(),
        }
    }

    pub fn expected(&self) -> i64 {
        self.on_hand_seen + self.own.iter().map(|(_, change)| change).sum::<i64>()
    }

    /// "20 on hand here (version 2) + your receive of 5 = 25 expected".
    pub fn describe(&self) -> String {
        let mut text = format!("{} on hand here (version {})", self.on_hand_seen, self.seen_version);
        if self.own.is_empty() {
            return text;
        }
        for (words, change) in &self.own {
            let sign = if *change < 0 { "−" } else { "+" };
            text.push_str(&format!(" {sign} your {words}"));
        }
        text.push_str(&format!(" = {} expected", self.expected()));
        text
    }

    pub fn basis(&self) -> CountBasis {
        CountBasis { seen_version: self.seen_version, own_ops: self.own_ops.clone(), resolved: false }
    }
}

/// "receive of 5", "ship of 2", "adjust of −3".
fn verb(kind: MovementKind, qty: i64) -> String {
    let noun = match kind {
        MovementKind::Receive => "receive",
        MovementKind::Adjust => "adjustment",
        MovementKind::Ship => "shipment",
        MovementKind::Transfer => "transfer out",
        MovementKind::Scrap => "scrap",
        MovementKind::ReturnReceive => "return",
        _ => kind.as_str(),
    };
    format!("{noun} of {}", qty.abs())
}

/// A movement as a warehouse worker says it: "Receive 10 × W-1 (Blue widget) into quarantine".
pub fn describe(sku: &str, name: Option<&str>, movement: &Movement) -> String {
    let item = match name {
        Some(name) if name != sku => format!("{sku} ({name})"),
        _ => sku.to_string(),
    };
    let qty = movement.qty;
    let mut text = match movement.kind {
        MovementKind::Receive => format!("Receive {qty} × {item}"),
        MovementKind::Adjust if qty < 0 => format!("Adjust −{} × {item}", -qty),
        MovementKind::Adjust => format!("Adjust +{qty} × {item}"),
        MovementKind::Count => format!("Count {qty} × {item}"),
        MovementKind::Ship => format!("Ship {qty} × {item}"),
        MovementKind::Transfer => format!("Transfer {qty} × {item}"),
        MovementKind::ReturnExpected => format!("Return expected {qty} × {item}"),
        MovementKind::ReturnReceive => format!("Return received {qty} × {item}"),
        other => format!("{} {qty} × {item}", other.as_str()),
    };
    if movement.into == Some(ReceiveInto::Quarantine) {
        text.push_str(" into quarantine");
    }
    match movement.disposition {
        Some(Disposition::Quarantine) => text.push_str(" to quarantine"),
        Some(Disposition::Damage) => text.push_str(" as damaged"),
        _ => {}
    }
    if let Some(to) = &movement.to_location {
        text.push_str(&format!(" to {to}"));
    }
    match movement.kind {
        MovementKind::Ship => text.push_str(&format!(" for order {}", movement.reference.as_deref().unwrap_or("?"))),
        _ => {
            if let Some(reference) = &movement.reference {
                text.push_str(&format!(" · {reference}"));
            }
        }
    }
    if let Some(reason) = &movement.reason {
        text.push_str(&format!(" · {reason}"));
    }
    text
}

/// An operation's state in words, with a short tag for styling.
pub fn state_words(queued: &QueuedOp, sending: bool, online: bool) -> (&'static str, String) {
    match &queued.state {
        OpState::Pending if sending => ("sending", "Sending…".to_string()),
        OpState::Pending if !online => ("pending", "Saved on this device: sends when back online".to_string()),
        OpState::Pending if queued.attempts > 0 => {
            ("pending", format!("Waiting: the server did not answer ({} tries)", queued.attempts))
        }
        OpState::Pending => ("pending", "Waiting to send".to_string()),
        OpState::Applied { version, exceptions } if !exceptions.is_empty() => {
            ("attention", format!("Done (version {version}) — {}", exception_words(exceptions)))
        }
        OpState::Applied { version, .. } => ("applied", format!("Done: on the server (version {version})")),
        OpState::Rejected { code, message } => {
            ("rejected", format!("Not done: {}", rejection_words(code, message, queued.op.movement.kind)))
        }
    }
}

fn exception_words(exceptions: &[stockline_shared::CountException]) -> String {
    let mut words = Vec::new();
    for exception in exceptions {
        match &exception.disagreement {
            Some(d) => words.push(format!(
                "counts disagree: another count says {}, yours says {}. Count again",
                d.other_on_hand, d.this_on_hand
            )),
            None => words.push(format!(
                "{} units promised to orders are not on the shelf: tell a supervisor",
                exception.shortfall
            )),
        }
    }
    words.join("; ")
}

/// A server's refusal, as the person who made the operation can act on it.
pub fn rejection_words(code: &str, message: &str, kind: MovementKind) -> String {
    let plain = message.replace('`', "");
    match (code, kind) {
        ("conflict", MovementKind::Ship) => format!("the order does not have that many to ship here ({plain})"),
        ("conflict", _) => format!("there is not enough stock here for this ({plain})"),
        ("not_found", _) if message.contains("sku") => "the server does not know this item: check the SKU".into(),
        ("not_found", _) if message.contains("location") => "the server does not know this location".into(),
        ("not_found", _) => format!("not found ({plain})"),
        ("forbidden", _) => "this sign-in may not record stock movements".into(),
        ("unauthorized", _) => "the sign-in has expired: sign in again".into(),
        ("invalid_request", _) => format!("the server refused the entry ({plain})"),
        _ => format!("{plain} ({code})"),
    }
}

/// What is left to ship of a pick line after this device's own shipments for the order.
pub fn left_to_ship(allocated: i64, outbox: &Outbox, order: &str, sku: &str, location: &str) -> i64 {
    let shipped: i64 = outbox
        .ops()
        .iter()
        .filter(|q| q.op.movement.kind == MovementKind::Ship && !q.is_rejected())
        .filter(|q| q.op.sku.as_str() == sku && q.op.movement.location.as_str() == location)
        .filter(|q| q.op.movement.reference.as_deref() == Some(order))
        .map(|q| q.op.movement.qty)
        .sum();
    (allocated - shipped).max(0)
}

/// A receipt being entered against one order at the dock: each line still open here, with the
/// quantity as typed and whether it goes into quarantine. Plain data; the engine judges the
/// quantities when it is queued (`Receiving::queue`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiptDraft {
    pub order: Id,
    pub lines: Vec<DraftLine>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DraftLine {
    pub line: u32,
    pub sku: Id,
    /// Still open on the order (as this device sees it).
    pub open: i64,
    pub qty: String,
    pub quarantine: bool,
}

impl ReceiptDraft {
    /// The lines of `order` still open at `location`, nothing entered yet.
    pub fn new(order: &PurchaseOrder, location: &Id) -> ReceiptDraft {
        let lines = order
            .open_at(location)
            .map(|line| DraftLine {
                line: line.line,
                sku: line.sku.clone(),
                open: line.open(),
                qty: String::new(),
                quarantine: false,
            })
            .collect();
        ReceiptDraft { order: order.id.clone(), lines }
    }

    /// A scanned item counts one more on its first line with room left, or on its last line
    /// (an over-receipt is the engine's to judge). Returns the line's index.
    pub fn scan(&mut self, sku: &Id) -> Result<usize, String> {
        let entered =
            |line: &DraftLine| if line.qty.trim().is_empty() { Ok(0) } else { parse_qty(&line.qty, QtyKind::Units) };
        let mut target = None;
        for (index, line) in self.lines.iter().enumerate().filter(|(_, line)| &line.sku == sku) {
            let got = entered(line).map_err(|problem| format!("Line {} ({}): {problem}", line.line, line.sku))?;
            target = Some((index, got));
            if got < line.open {
                break;
            }
        }
        let (index, got) = target.ok_or_else(|| format!("{sku} is not on {} for this location", self.order))?;
        self.lines[index].qty = (got + 1).to_string();
        Ok(index)
    }

    /// The receipt entered: each line with a quantity, read exactly as typed.
    pub fn spec(&self) -> Result<ReceiptSpec, String> {
        let mut lines = Vec::new();
        for line in self.lines.iter().filter(|line| !line.qty.trim().is_empty()) {
            let qty = parse_qty(&line.qty, QtyKind::Units)
                .map_err(|problem| format!("Line {} ({}): {problem}", line.line, line.sku))?;
            let into = if line.quarantine { ReceiveTo::Quarantine } else { ReceiveTo::Stock };
            lines.push(ReceiptLine { line: line.line, qty, into });
        }
        if lines.is_empty() {
            return Err("Enter a quantity on at least one line, or scan the items".to_string());
        }
        Ok(ReceiptSpec { lines, comment: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines 1 and 3 (A, 2 open; A, 5 open) go to wh-1, line 2 (B) to wh-2; line 4 (C) is in.
    fn order_on_its_way() -> PurchaseOrder {
        let line = |line: u32, sku: &str, location: &str, qty: i64, received: i64| {
            serde_json::json!({"line": line, "sku": sku, "location": location, "qty": qty, "unit_price": "1.00",
                "expected_on": "2026-12-09", "received": received, "quarantined": 0, "cancelled": 0})
        };
        serde_json::from_value(serde_json::json!({
            "id": "PO-7", "supplier": "s", "currency": "EUR", "status": "partially_received", "version": 5,
            "created_by": "carl", "created_at": "2026-12-01T09:00:00Z", "submitted_by": "carl",
            "route": null, "approvals": [], "receipts": [], "events": [],
            "lines": [line(1, "A", "wh-1", 3, 1), line(2, "B", "wh-2", 4, 0), line(3, "A", "wh-1", 5, 0),
                      line(4, "C", "wh-1", 2, 2)]
        }))
        .expect("an order")
    }

    #[test]
    fn a_receipt_draft_takes_scans_and_typing() {
        let id = |s: &str| Id::new(s).expect("id");
        let mut draft = ReceiptDraft::new(&order_on_its_way(), &id("wh-1"));
        let open: Vec<(u32, i64)> = draft.lines.iter().map(|l| (l.line, l.open)).collect();
        assert_eq!(open, [(1, 2), (3, 5)], "only what is open here");
        assert!(draft.spec().is_err(), "nothing entered");
        // Scans fill line 1 to its open 2, then go on to line 3; past everything, the last line.
        let scanned: Vec<usize> = (0..9).map(|_| draft.scan(&id("A")).expect("on the order")).collect();
        assert_eq!(scanned, [0, 0, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!((draft.lines[0].qty.as_str(), draft.lines[1].qty.as_str()), ("2", "7"));
        assert!(draft.scan(&id("B")).is_err(), "B goes to wh-2");
        assert!(draft.scan(&id("Z")).is_err(), "not on the order");
        // Typing replaces; a quarantine tick goes with the line.
        draft.lines[1].qty = " 3 ".into();
        draft.lines[1].quarantine = true;
        let spec = draft.spec().expect("a receipt");
        assert_eq!(
            spec.lines,
            [
                ReceiptLine { line: 1, qty: 2, into: ReceiveTo::Stock },
                ReceiptLine { line: 3, qty: 3, into: ReceiveTo::Quarantine }
            ]
        );
        for bad in ["2.5", "-1", "1e3", "two"] {
            draft.lines[0].qty = bad.into();
            let problem = draft.spec().expect_err(bad);
            assert!(problem.starts_with("Line 1 (A): "), "{bad}: {problem}");
            assert!(draft.scan(&id("A")).is_err(), "{bad}: a scan does not guess over a typo");
        }
        // An empty line is skipped, not zero.
        draft.lines[0].qty = "  ".into();
        assert_eq!(draft.spec().expect("a receipt").lines.len(), 1);
    }

    #[test]
    fn left_to_ship_counts_this_devices_shipments_for_the_line() {
        let ship = |id: &str, sku: &str, location: &str, order: &str, qty: i64, state: OpState| QueuedOp {
            op: stockline_shared::SyncOp {
                op_id: Id::new(id).unwrap(),
                sku: Id::new(sku).unwrap(),
                movement: Movement {
                    kind: MovementKind::Ship,
                    into: None,
                    disposition: None,
                    location: Id::new(location).unwrap(),
                    qty,
                    to_location: None,
                    reason: None,
                    reference: Some(order.into()),
                    counted_at_version: None,
                    includes_versions: Vec::new(),
                },
                occurred_at: None,
            },
            seq: 1.0,
            screen: "ship".into(),
            state,
            attempts: 0,
            count_basis: None,
            decided_at_ms: None,
            expected_to_fail: false,
        };
        let rejected = OpState::Rejected { code: "insufficient_stock".into(), message: "short".into() };
        let outbox = Outbox::new(vec![
            ship("a", "SKU-1", "wh-1", "order-1", 2, OpState::Pending),
            ship("b", "SKU-1", "wh-1", "order-1", 1, rejected),
            ship("c", "SKU-1", "wh-2", "order-1", 5, OpState::Pending),
            ship("d", "SKU-2", "wh-1", "order-1", 5, OpState::Pending),
            ship("e", "SKU-1", "wh-1", "order-2", 5, OpState::Pending),
        ]);
        // Only "a" counts: "b" was refused, the others are another location, SKU or order.
        assert_eq!(left_to_ship(5, &outbox, "order-1", "SKU-1", "wh-1"), 3);
        assert_eq!(left_to_ship(1, &outbox, "order-1", "SKU-1", "wh-1"), 0, "never below zero");
        assert_eq!(left_to_ship(4, &Outbox::default(), "order-1", "SKU-1", "wh-1"), 4);
    }

    fn item(sku: &str, name: &str, barcodes: &[&str]) -> Item {
        Item {
            sku: Id::new(sku).unwrap(),
            name: name.into(),
            barcodes: barcodes.iter().map(|b| b.to_string()).collect(),
            critical: false,
            safety_stock: 0,
            unit_cost: None,
            substitutes: Vec::new(),
        }
    }

    fn index() -> ItemIndex {
        ItemIndex::new(vec![
            item("W-2", "Green widget", &[]),
            item("W-1", "Blue widget", &["4006381333931"]),
            item("G-1", "Red gadget", &[]),
        ])
    }

    #[test]
    fn a_scan_resolves_by_sku_barcode_case_or_the_only_match() {
        let index = index();
        let sku = |found: Found| match found {
            Found::One(item) => item.sku.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(sku(index.resolve("W-1")), "W-1");
        assert_eq!(sku(index.resolve(" 4006381333931 ")), "W-1", "a barcode");
        assert_eq!(sku(index.resolve("w-2")), "W-2", "another case");
        assert_eq!(sku(index.resolve("gadg")), "G-1", "the one item whose name matches");
        assert!(matches!(index.resolve("widget"), Found::Many(many) if many.len() == 2));
        assert_eq!(index.resolve("W-9"), Found::None);
        assert_eq!(index.resolve(""), Found::None);
        assert_eq!(index.search("w-", 10).len(), 2, "SKUs that start with it");
    }

    #[test]
    fn quantities_are_read_exactly_as_typed() {
        let check = |typed: &str, kind: QtyKind| {
            parse_qty(typed, kind).map_err(|e| e.split(':').next().unwrap_or("").to_string())
        };
        assert_eq!(check("-3", QtyKind::Change), Ok(-3));
        assert_eq!(check("\u{2212}3", QtyKind::Change), Ok(-3), "the typographic minus");
        assert_eq!(check("+2", QtyKind::Change), Ok(2));
        assert_eq!(check(" 12 ", QtyKind::Units), Ok(12));
        assert_eq!(check("0", QtyKind::Count), Ok(0), "zero is the engine's to judge");
        assert!(check("12.5", QtyKind::Units).is_err());
        assert!(check("1e3", QtyKind::Units).is_err());
        assert!(check("-", QtyKind::Change).is_err());
        assert!(check("-1", QtyKind::Count).is_err());
        assert!(check("-1", QtyKind::Units).is_err());
        assert!(check("99999999999999999999", QtyKind::Units).is_err());
        assert!(check("", QtyKind::Units).is_err());
    }

    #[test]
    fn movements_are_checked_by_the_engine_and_explained_in_plain_words() {
        let here = Id::new("wh-1").unwrap();
        let form = |qty: i64, reason: &str| Form { qty, reason: reason.into(), ..Form::default() };
        assert!(build(MovementKind::Adjust, &here, &form(-3, "lost")).is_ok());
        assert_eq!(build(MovementKind::Adjust, &here, &form(-3, " ")), Err("Say why: choose or type a reason".into()));
        assert!(build(MovementKind::Adjust, &here, &form(0, "x")).unwrap_err().contains("not 0"));
        assert!(build(MovementKind::Receive, &here, &form(0, "")).unwrap_err().contains("from 1 to 1,000,000,000"));
        assert!(build(MovementKind::Adjust, &here, &form(1, &"x".repeat(257))).unwrap_err().contains("1..=256"));
        assert_eq!(build(MovementKind::Ship, &here, &form(1, "")), Err("Load the order first".into()));
    }

    #[test]
    fn bounds_are_said_with_their_digits_grouped() {
        let shown: Vec<String> = [0, 999, 1_000, 65_536, 1_000_000_000, -1_234].into_iter().map(grouped).collect();
        assert_eq!(shown, ["0", "999", "1,000", "65,536", "1,000,000,000", "−1,234"]);
    }

    #[test]
    fn the_dashboard_is_shown_to_whoever_may_read_the_metrics() {
        for (role, shown) in [
            ("admin", true),
            ("approver", true),
            ("buyer", true),
            ("warehouse", false),
            ("storefront", false),
            ("nobody", false),
        ] {
            let settings = Settings { role: Some(role.to_string()), ..Settings::default() };
            assert_eq!(settings.screens().contains(&Screen::Dashboard), shown, "{role}");
        }
        assert!(!Settings::default().may_read_metrics(), "signed out");
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        assert_eq!(echo("W-1"), "W-1");
        let long = "X".repeat(5000);
        assert_eq!(echo(&long), format!("{}… (5000 characters)", "X".repeat(40)));
    }
}

/// A copy of something fetched from the server, kept for offline reading: when, and whether it is
/// the live answer or the saved one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fetched<T> {
    pub fetched_at_ms: f64,
    pub value: T,
    #[serde(skip, default = "saved")]
    pub source: Source,
}

impl<T> Fetched<T> {
    pub fn live(value: T, now_ms: f64) -> Fetched<T> {
        Fetched { fetched_at_ms: now_ms, value, source: Source::Live }
    }

    /// "Live" or "Saved copy from 5 min ago": what a manager or buyer is reading.
    pub fn freshness(&self, now_ms: f64) -> String {
        match self.source {
            Source::Live => "Live".to_string(),
            Source::Saved => format!("Offline: saved copy from {}", age(self.fetched_at_ms, now_ms)),
        }
    }
}
