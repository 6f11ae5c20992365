//! Operational metrics kept incrementally: every change of a customer order leaves a small
//! summary of what it means for the figures (`OrderFacts`); the difference between the summary
//! before and after is a handful of additions to day buckets (`Delta`), stored by the host in
//! the same transaction as the change. Reading a window sums its buckets (`read`): nothing is
//! recomputed from history on read, and every figure comes with the day series behind it.
//!
//! - **Fill rate**, for orders placed on a day: first-time (what the first allocation found) and
//!   final (what shipped once the order ended, substitutes counted for the line they replaced),
//!   each as order, line and unit rates.
//! - **Cycle time**, for orders shipped on a day: placed → shipped, as a histogram whose bins
//!   are about 10% wide, so p50 and p90 over any window are sums of buckets.
//! - **Backlog**: open orders by state and by the day they were placed (a gauge: an order leaves
//!   it when it ships or is cancelled).
//! - **Supplier performance** (`supply`), kept the same way from purchase orders and invoices.
//! - **Margin** (`margin`): price variance, split-shipment and expedite costs, lost sales.
//! - **Service**: of the orders shipped on a day with a promise, those shipped after it (SLA
//!   breaches), beside the cycle time.

mod facts;
mod health;
mod margin;
mod read;
mod supply;
#[cfg(test)]
mod tests;

pub use facts::{cycle_bin, cycle_bin_upper_seconds, Delta, LineFill, OrderFacts, ShipCosts, Sold, CYCLE_BINS};
pub use health::{read_stock_health, Aging, AgingRow, BandUnits, HealthFigures, HealthRow, StockHealthReport};
pub use margin::{bin_currency, currency_bin, read_margin, CurrencyMargin, Margin, MarginFigures, StockoutDays};
pub use read::{
    read_cycle_time, read_fill_rate, AgeBand, Backlog, BucketRow, CycleFigures, CycleTime, Dated, FillFigures,
    FillPair, FillRate, Keyed, MetricsBy, Report, Window, WindowFigures, GROUPS_MAX, OLDEST_AGE_BAND,
    WINDOW_DAYS_DEFAULT, WINDOW_DAYS_MAX,
};
pub use supply::{
    drift_window, read_suppliers, CurrencyVariance, InvoicedFacts, PoFacts, PoLineFacts, ReceiptFacts, SupplierFigures,
    Suppliers, DRIFT_WINDOW_DAYS,
};

/// What a bucket counts.
pub mod metric {
    /// Orders placed on the day, at their first allocation.
    pub const FILL_FIRST: &str = "fill_first";
    /// Orders placed on the day, once they ended (shipped, delivered or cancelled).
    pub const FILL_FINAL: &str = "fill_final";
    /// Orders shipped on the day; the bin is the cycle time's.
    pub const CYCLE: &str = "cycle";
    /// Open orders placed on the day, one metric per state: `backlog.released`, …
    pub const BACKLOG_PREFIX: &str = "backlog.";
    /// Purchase-order lines judged on the day (see `supply`).
    pub const PO_LINE: &str = "po_line";
    /// Receipt lines on the day.
    pub const PO_RECEIPT: &str = "po_receipt";
    /// Invoice lines recorded on the day that still count; the bin is their currency.
    pub const PO_INVOICE: &str = "po_invoice";
    /// Orders shipped on the day, their plans' costs; the bin is the order's currency.
    pub const SHIPPING: &str = "shipping";
    /// What orders shipped on the day sold for; the bin is the order's currency.
    pub const REVENUE: &str = "revenue";
}

/// What a bucket is broken down by.
pub mod dim {
    /// Every order (the key is empty).
    pub const ALL: &str = "all";
    pub const CHANNEL: &str = "channel";
    pub const SKU: &str = "sku";
    pub const LOCATION: &str = "location";
    pub const SUPPLIER: &str = "supplier";
}
