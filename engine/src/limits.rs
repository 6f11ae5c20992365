//! Every bound the engine keeps, in one place (TigerStyle: put a limit on everything).
//!
//! Requests outside these limits are rejected with a typed error before any state changes;
//! state that would leave them is an invariant violation and trips an assertion.

/// Largest magnitude any stored quantity may reach: JSON numbers and SQLite integers in
/// JavaScript hosts stay exact up to 2^53 − 1.
pub const QTY_STORED_MAX: i64 = (1_i64 << 53) - 1;
/// Largest quantity a single request line may carry.
pub const QTY_REQUEST_MAX: i64 = 1_000_000_000;
/// Lines in one reservation (all SKUs together), SKUs in one batch read.
pub const LINES_MAX: usize = 100;
/// Locations a catalog may hold.
pub const LOCATIONS_MAX: usize = 1_024;
/// Channels a catalog may hold.
pub const CHANNELS_MAX: usize = 1_024;
/// Holds (pending, or committed with units still allocated) one SKU may carry at once.
pub const OPEN_HOLDS_MAX: usize = 65_536;
/// Resolved holds whose final status one SKU's ledger remembers, oldest forgotten first. Kept
/// small because it lives in the snapshot: the reservation records (kept 7 days) and the
/// coordinator's records are where a reservation's final status is looked up for longer.
pub const RESOLVED_REMEMBERED_MAX: usize = 1_024;
/// A multi-SKU commit still preparing this long after it began is given up (presumed abort).
pub const PREPARE_TIMEOUT_SECONDS: i64 = 30;
/// Reservation time-to-live bounds.
pub const TTL_SECONDS_MIN: u32 = 1;
pub const TTL_SECONDS_MAX: u32 = 86_400;
pub const TTL_SECONDS_DEFAULT: u32 = 900;
/// Length bounds for ids (`[A-Za-z0-9._:-]{1,64}`).
pub const ID_LENGTH_MAX: usize = 64;
/// Length bound for names, reasons and references.
pub const TEXT_LENGTH_MAX: usize = 256;
/// On-hand history points kept per location for counts taken at an earlier version.
pub const COUNT_HISTORY_POINTS_MAX: usize = 1_024;
/// Open count exceptions one SKU keeps for people to resolve.
pub const EXCEPTIONS_OPEN_MAX: usize = 1_024;
/// Open inbound expectations (purchase orders, transfers) per SKU.
pub const EXPECTATIONS_MAX: usize = 16_384;
/// Idempotency records are kept at least this long.
pub const IDEMPOTENCY_RETENTION_SECONDS: i64 = 24 * 60 * 60;
/// Resolved (committed, released, expired) reservation records are kept at least this long, then
/// pruned: `GET /v1/reservations/{id}` answers them for 7 days after they were resolved.
pub const RESERVATION_RETENTION_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Priority bounds for locations (lower ships first).
pub const PRIORITY_ABS_MAX: i64 = 1_000_000;
/// Barcodes (GTIN-8/12/13/14) one SKU may carry.
pub const BARCODES_MAX: usize = 16;
/// SKUs named as substitutes of one SKU, in order of preference.
pub const SUBSTITUTES_MAX: usize = 4;
/// Versions a count may name as already included (`includes_versions`).
pub const COUNT_INCLUDES_MAX: usize = 100;
/// Days of demand history kept per series (about two years).
pub const DEMAND_DAYS_MAX: i32 = 730;
/// Days one demand-history import may carry.
pub const DEMAND_IMPORT_DAYS_MAX: usize = 731;
/// Suppliers a catalog may hold.
pub const SUPPLIERS_MAX: usize = 4_096;
/// Bounds of a declared lead time and its spread, in days.
pub const LEAD_TIME_DAYS_MAX: f64 = 365.0;
/// Days between reviews a policy may name.
pub const REVIEW_PERIOD_DAYS_MAX: u32 = 90;
/// Days a plan projects ahead, at most.
pub const PLAN_HORIZON_DAYS_MAX: u32 = 365;
/// Locations a plan refresh plans one by one (besides the SKU over all of them).
pub const PLAN_LOCATIONS_MAX: usize = 32;
/// Lines on one purchase order.
pub const PO_LINES_MAX: usize = 500;
/// Audited events kept on one purchase order (the creation and the latest ones).
pub const PO_EVENTS_MAX: usize = 256;
/// Receipts taken against one purchase order.
pub const PO_RECEIPTS_MAX: usize = 256;
/// The most a receipt may exceed a line's ordered quantity, in percent.
pub const RECEIPT_TOLERANCE_PCT_MAX: u32 = 100;
/// Value bands in the approval rules.
pub const APPROVAL_BANDS_MAX: usize = 16;
/// Approvals one order can need (band and stricter path each).
pub const APPROVALS_REQUIRED_MAX: u8 = 5;
/// Currencies with a rate in the approval rules.
pub const CURRENCIES_MAX: usize = 64;
/// Invoices recorded against one purchase order (corrections included).
pub const INVOICES_MAX: usize = 64;
/// Lines on one customer order.
pub const ORDER_LINES_MAX: usize = 100;
/// Audited events kept on one customer order (the placement and the latest ones).
pub const ORDER_EVENTS_MAX: usize = 256;
/// Order priority bounds (higher is served first).
pub const ORDER_PRIORITY_MAX: i32 = 100;
/// Transit days a shipping rate may name.
pub const TRANSIT_DAYS_MAX: u32 = 60;
/// Shipping rates (location × region × service level) one table may hold.
pub const SHIPPING_RATES_MAX: usize = 16_384;
/// Candidate plans one allocation costs: one per location shipping complete, one greedy split
/// seeded at each location, and the cheapest source per line.
pub const ALLOCATION_PLANS_MAX: usize = 2 * LOCATIONS_MAX + 1;
/// Open exceptions one order may carry.
pub const ORDER_EXCEPTIONS_MAX: usize = 64;

/// Escalated order lines one SKU's replenishment plan tracks at once (open and recently withdrawn).
pub const EXPEDITE_REQUESTS_MAX: usize = 1_024;
/// How long a withdrawn expedite request is remembered, so a late copy of an older change is
/// recognised as older and ignored.
pub const EXPEDITE_WITHDRAWN_RETENTION_SECONDS: i64 = 30 * 24 * 60 * 60;
