//! Supplier performance kept from purchase-order changes, like the order figures: what one
//! purchase order (with its invoices) means for the buckets (`PoFacts`), the additions a change
//! makes, and a window's figures by supplier, SKU or location (`read_suppliers`).
//!
//! - **On time in full** and **fill rate**, for lines judged on a day: a line is judged on the day
//!   it was received in full if that is by its expected date (on time), else on its expected date
//!   (late or short; what came later still counts for the fill rate). A day after today judges
//!   nothing yet.
//! - **Lead time**, for receipts on a day: days from sending the order, one sample per receipt
//!   line; mean and sample σ from the count, Σ and Σ² of whole days, so any window is exact.
//!   **Drift**: σ at least doubled against the window before, both with enough samples.
//! - **QC rejects**: of the units received on a day, those received into quarantine.
//! - **Price variance**: on invoices recorded on a day that still count (not corrected), invoiced
//!   against ordered value, to the cent, in each order's currency. Values in different currencies
//!   are never added up: over several, the variance is given per currency only.

use super::facts::{cents, Delta, Sums};
use super::margin::{bin_currency, currency_bin};
use super::read::{add, pct, Dated, Keyed, MetricsBy, Window, WindowFigures, GROUPS_MAX};
use super::{dim, metric};
use crate::ids::Id;
use crate::planning::Alert;
use crate::procurement::{Invoice, PoAction, PurchaseOrder, ReceiveTo, LEAD_TIME_SAMPLES_MIN};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A purchase-order line as the figures judge it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoLineFacts {
    pub sku: Id,
    pub location: Id,
    /// Ordered less cancelled (> 0: a line cancelled whole is not judged).
    pub wanted: i64,
    /// Received, up to `wanted`.
    pub received: i64,
    pub on_time_in_full: bool,
    pub judged_on: NaiveDate,
}

/// The receipt lines of one day for one SKU at one location (one lead time: the order was sent
/// on one day), merged so an order received in many parts keeps small facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptFacts {
    pub sku: Id,
    pub location: Id,
    pub on: NaiveDate,
    pub lead_days: i64,
    /// Receipt lines merged (each a lead-time sample).
    pub lines: i64,
    pub qty: i64,
    pub quarantined: i64,
}

/// One line of an invoice that counts, its values in cents of the order's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicedFacts {
    pub sku: Id,
    pub location: Id,
    pub on: NaiveDate,
    pub ordered_cents: i64,
    pub invoiced_cents: i64,
}

/// One purchase order, as the supplier figures see it; kept by the host beside the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoFacts {
    pub supplier: Id,
    /// The order's currency: its invoices' money is kept in it (empty in facts kept before it
    /// was: their invoices are in no currency).
    #[serde(default)]
    pub currency: String,
    /// The day it was sent: an order is judged from then on (kept once seen: the order's own
    /// event log is capped).
    pub sent_on: Option<NaiveDate>,
    pub lines: Vec<PoLineFacts>,
    pub receipts: Vec<ReceiptFacts>,
    pub invoiced: Vec<InvoicedFacts>,
}

impl PoFacts {
    /// The facts of `order` and its `invoices` now, from the facts before (none: first seen).
    pub fn observe(before: Option<&PoFacts>, order: &PurchaseOrder, invoices: &[Invoice]) -> PoFacts {
        let sent_on = before.and_then(|facts| facts.sent_on).or_else(|| {
            order.events.iter().find(|event| event.action == PoAction::Send).map(|event| event.at.date_naive())
        });
        let mut facts = PoFacts {
            supplier: order.supplier.clone(),
            currency: order.currency.clone(),
            sent_on,
            lines: vec![],
            receipts: vec![],
            invoiced: vec![],
        };
        let Some(sent_on) = sent_on else {
            return facts;
        };
        let line_of = |number: u32| order.lines.iter().find(|line| line.line == number);
        for line in &order.lines {
            let wanted = line.qty - line.cancelled;
            if wanted <= 0 {
                continue;
            }
            // The day the receipts reached what is wanted, if they did.
            let mut so_far = 0;
            let full_on = order.receipts.iter().find_map(|receipt| {
                so_far += receipt.lines.iter().filter(|got| got.line == line.line).map(|got| got.qty).sum::<i64>();
                (so_far >= wanted).then(|| receipt.at.date_naive())
            });
            let on_time_in_full = full_on.is_some_and(|day| day <= line.expected_on);
            facts.lines.push(PoLineFacts {
                sku: line.sku.clone(),
                location: line.location.clone(),
                wanted,
                received: line.received.min(wanted),
                on_time_in_full,
                judged_on: if on_time_in_full { full_on.unwrap_or(line.expected_on) } else { line.expected_on },
            });
        }
        let mut received: BTreeMap<(NaiveDate, &Id, &Id), ReceiptFacts> = BTreeMap::new();
        for receipt in &order.receipts {
            let on = receipt.at.date_naive();
            for got in &receipt.lines {
                let line = line_of(got.line).expect("a receipt names the order's lines");
                let day = received.entry((on, &line.sku, &line.location)).or_insert_with(|| ReceiptFacts {
                    sku: line.sku.clone(),
                    location: line.location.clone(),
                    on,
                    lead_days: (on - sent_on).num_days().max(0),
                    lines: 0,
                    qty: 0,
                    quarantined: 0,
                });
                day.lines += 1;
                day.qty += got.qty;
                day.quarantined += if got.into == ReceiveTo::Quarantine { got.qty } else { 0 };
            }
        }
        facts.receipts = received.into_values().collect();
        for invoice in invoices.iter().filter(|invoice| invoice.counts()) {
            for got in &invoice.lines {
                let location = line_of(got.line).expect("an invoice names the order's lines").location.clone();
                let qty = Decimal::from(got.qty);
                facts.invoiced.push(InvoicedFacts {
                    sku: got.sku.clone(),
                    location,
                    on: invoice.at.date_naive(),
                    ordered_cents: cents(got.ordered_price.amount() * qty),
                    invoiced_cents: cents(got.unit_price.amount() * qty),
                });
            }
        }
        facts.check();
        facts
    }

    fn check(&self) {
        for line in &self.lines {
            assert!(line.wanted > 0 && (0..=line.wanted).contains(&line.received), "line of {}", line.sku);
        }
        for receipt in &self.receipts {
            assert!(receipt.lines > 0 && receipt.qty > 0 && receipt.lead_days >= 0);
            assert!((0..=receipt.qty).contains(&receipt.quarantined));
        }
        for invoiced in &self.invoiced {
            assert!(invoiced.ordered_cents >= 0 && invoiced.invoiced_cents >= 0);
        }
    }

    fn contributions(&self, into: &mut Sums, sign: i64) {
        let supplier = self.supplier.as_str();
        let mut add = |metric: &str, sku: &Id, location: &Id, day: NaiveDate, bin: u32, values: [i64; 6]| {
            let values = values.map(|value| sign * value);
            for (dim, key) in [
                (dim::ALL, ""),
                (dim::SUPPLIER, supplier),
                (dim::SKU, sku.as_str()),
                (dim::LOCATION, location.as_str()),
            ] {
                into.add(metric, dim, key, day, bin, values);
            }
        };
        for line in &self.lines {
            let values = [1, i64::from(line.on_time_in_full), line.wanted, line.received, 0, 0];
            add(metric::PO_LINE, &line.sku, &line.location, line.judged_on, 0, values);
        }
        for receipt in &self.receipts {
            let (n, lead) = (receipt.lines, receipt.lead_days);
            let values = [n, n * lead, n * lead * lead, receipt.qty, receipt.quarantined, 0];
            add(metric::PO_RECEIPT, &receipt.sku, &receipt.location, receipt.on, 0, values);
        }
        // Invoices by currency (the bin): the margin figures keep currencies apart.
        let money = currency_bin(&self.currency).unwrap_or(0);
        for invoiced in &self.invoiced {
            let values = [1, invoiced.ordered_cents, invoiced.invoiced_cents, 0, 0, 0];
            add(metric::PO_INVOICE, &invoiced.sku, &invoiced.location, invoiced.on, money, values);
        }
    }

    /// The bucket additions that turn `before`'s contributions into `after`'s.
    pub fn deltas(before: Option<&PoFacts>, after: &PoFacts) -> Vec<Delta> {
        let mut sums = Sums::default();
        after.contributions(&mut sums, 1);
        if let Some(before) = before {
            before.contributions(&mut sums, -1);
        }
        sums.deltas()
    }
}

/// Supplier performance over some days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierFigures {
    /// Purchase-order lines judged (see the module) and those received in full by their date.
    pub lines_due: i64,
    pub lines_on_time_in_full: i64,
    pub on_time_in_full_pct: Option<Decimal>,
    /// Units wanted on those lines and received of them (up to what was wanted).
    pub units_due: i64,
    pub units_received: i64,
    pub fill_rate_pct: Option<Decimal>,
    /// Receipt lines (the lead-time samples), their mean and sample σ in days.
    pub lead_time_samples: i64,
    pub lead_time_days_mean: Option<f64>,
    pub lead_time_days_std: Option<f64>,
    /// σ at least doubled against the window before (both with 3 samples or more).
    pub lead_time_drift: bool,
    /// Units received (on those receipts) and of them into quarantine.
    pub received: i64,
    pub quarantined: i64,
    pub qc_reject_pct: Option<Decimal>,
    /// Invoice lines, and (invoiced − ordered) / ordered value over them when they are all in one
    /// currency (`None` over several: see `price_variance_by_currency`).
    pub invoice_lines: i64,
    pub price_variance_pct: Option<Decimal>,
    /// The same per currency, by currency code. (Missing in copies saved before it was kept: none.)
    #[serde(default)]
    pub price_variance_by_currency: Vec<CurrencyVariance>,
}

/// The price variance of the invoices in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyVariance {
    /// The orders' currency; `None` for invoices kept before currencies were (their value is in
    /// no known currency).
    pub currency: Option<String>,
    pub invoice_lines: i64,
    pub price_variance_pct: Option<Decimal>,
}

/// The sums behind `SupplierFigures`: lines, receipts, invoices; and the invoices' (lines,
/// ordered, invoiced) by currency bin, since money adds up only within a currency.
#[derive(Clone, Debug, Default)]
struct SupplierSums {
    slots: [[i64; 6]; 3],
    invoices: BTreeMap<u32, [i64; 3]>,
}

impl SupplierSums {
    fn add(&mut self, slot: usize, row: &super::BucketRow<'_>) {
        add(&mut self.slots[slot], &row.values);
        if slot == 2 {
            let [lines, ordered, invoiced] = self.invoices.entry(row.bin).or_default();
            *lines += row.values[0];
            *ordered += row.values[1];
            *invoiced += row.values[2];
        }
    }
}

fn slot(name: &str) -> Option<usize> {
    match name {
        metric::PO_LINE => Some(0),
        metric::PO_RECEIPT => Some(1),
        metric::PO_INVOICE => Some(2),
        _ => None,
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl SupplierFigures {
    fn of(sums: &SupplierSums) -> SupplierFigures {
        let [lines_due, otif, units_due, units_received, ..] = sums.slots[0];
        let [samples, lead_sum, lead_squares, received, quarantined, _] = sums.slots[1];
        let [invoice_lines, ..] = sums.slots[2];
        let by_currency: Vec<CurrencyVariance> = sums
            .invoices
            .iter()
            .filter(|(_, [lines, ..])| *lines != 0)
            .map(|(&bin, &[lines, ordered_cents, invoiced_cents])| CurrencyVariance {
                currency: bin_currency(bin),
                invoice_lines: lines,
                price_variance_pct: pct(invoiced_cents - ordered_cents, ordered_cents),
            })
            .collect();
        assert_eq!(by_currency.iter().map(|c| c.invoice_lines).sum::<i64>(), invoice_lines);
        let price_variance_pct = match by_currency.as_slice() {
            [one] => one.price_variance_pct,
            _ => None,
        };
        assert!((0..=lines_due).contains(&otif) && (0..=units_due).contains(&units_received));
        assert!(samples >= 0 && lead_sum >= 0 && lead_squares >= 0 && (0..=received).contains(&quarantined));
        let (mean, std) = if samples > 0 {
            let n = samples as f64;
            // Σ(x − x̄)² = Σx² − (Σx)²/n, exact in integers as n·Σx² − (Σx)².
            let spread = i128::from(samples) * i128::from(lead_squares) - i128::from(lead_sum) * i128::from(lead_sum);
            assert!(spread >= 0, "a variance is never negative");
            let std = if samples > 1 { (spread as f64 / (n * (n - 1.0))).sqrt() } else { 0.0 };
            (Some(round2(lead_sum as f64 / n)), Some(round2(std)))
        } else {
            (None, None)
        };
        SupplierFigures {
            lines_due,
            lines_on_time_in_full: otif,
            on_time_in_full_pct: pct(otif, lines_due),
            units_due,
            units_received,
            fill_rate_pct: pct(units_received, units_due),
            lead_time_samples: samples,
            lead_time_days_mean: mean,
            lead_time_days_std: std,
            lead_time_drift: false,
            received,
            quarantined,
            qc_reject_pct: pct(quarantined, received),
            invoice_lines,
            price_variance_pct,
            price_variance_by_currency: by_currency,
        }
    }

    /// Whether the lead time's σ at least doubled against `before` (both measured enough).
    fn drifted_from(&self, before: &SupplierFigures) -> bool {
        let enough = i64::from(LEAD_TIME_SAMPLES_MIN);
        match (self.lead_time_days_std, before.lead_time_days_std) {
            (Some(now), Some(then)) if self.lead_time_samples >= enough && before.lead_time_samples >= enough => {
                now > 0.0 && now >= 2.0 * then
            }
            _ => false,
        }
    }
}

/// `GET /v1/metrics/suppliers`: lines judged, receipts and invoices in the window; groups
/// drifting first, then the lowest on-time-in-full (unjudged last).
pub type Suppliers = WindowFigures<SupplierFigures>;

/// Days a supplier's lead-time drift is measured over (against as many days before them).
pub const DRIFT_WINDOW_DAYS: u32 = 30;

/// The window drift alerts are read over, ending `today`.
pub fn drift_window(today: NaiveDate) -> Window {
    Window::ending(today, DRIFT_WINDOW_DAYS)
}

impl Suppliers {
    /// A `supplier_drift` alert per supplier whose lead time drifts in this window (read by
    /// supplier), for purchasing, measured `at`.
    pub fn drift_alerts(&self, at: DateTime<Utc>) -> Vec<Alert> {
        if self.by != Some(MetricsBy::Supplier) {
            return Vec::new();
        }
        self.groups
            .iter()
            .filter(|group| group.figures.lead_time_drift)
            .filter_map(|group| {
                let supplier = Id::new(group.key.as_str()).ok()?;
                let (mean, std) = (group.figures.lead_time_days_mean?, group.figures.lead_time_days_std?);
                let message = format!(
                    "{supplier}'s lead time varies twice as much as before: {mean:.1} ± {std:.1} days over {} \
                     receipt lines from {} to {}; safety stock planned on the old spread is short",
                    group.figures.lead_time_samples, self.from, self.to
                );
                let link = format!("/v1/metrics/suppliers?by=supplier&from={}&to={}", self.from, self.to);
                let alert = Alert::new("supplier_drift", supplier.as_str(), "purchasing", at, message, link);
                Some(Alert { supplier: Some(supplier), ..alert })
            })
            .collect()
    }
}

/// Supplier performance in `window` as of `today` from the buckets of the window and the one
/// before it (dim all, and `by`'s for both windows: drift compares them).
pub fn read_suppliers(
    rows: &[super::BucketRow<'_>],
    window: Window,
    by: Option<MetricsBy>,
    today: NaiveDate,
) -> Suppliers {
    let previous_window = window.previous();
    let (mut total, mut previous) = (SupplierSums::default(), SupplierSums::default());
    let mut days: BTreeMap<NaiveDate, SupplierSums> = window.each_day().map(|day| (day, Default::default())).collect();
    let mut groups: BTreeMap<&str, (SupplierSums, SupplierSums)> = BTreeMap::new();
    for row in rows {
        let Some(slot) = slot(&row.metric) else { continue };
        // A line is judged on its day: one after today is not due yet.
        if slot == 0 && row.day > today {
            continue;
        }
        if row.dim == dim::ALL {
            if window.holds(row.day) {
                total.add(slot, row);
                days.entry(row.day).or_default().add(slot, row);
            } else if previous_window.holds(row.day) {
                previous.add(slot, row);
            }
        } else if by.is_some_and(|by| by.dim() == row.dim) {
            let group = groups.entry(row.key.as_ref()).or_default();
            if window.holds(row.day) {
                group.0.add(slot, row);
            } else if previous_window.holds(row.day) {
                group.1.add(slot, row);
            }
        }
    }
    let with_drift = |now: &SupplierSums, before: &SupplierSums| {
        let mut figures = SupplierFigures::of(now);
        figures.lead_time_drift = figures.drifted_from(&SupplierFigures::of(before));
        figures
    };
    let mut groups: Vec<Keyed<SupplierFigures>> = groups
        .into_iter()
        .filter(|(_, (now, _))| now.slots.iter().any(|sums| sums[0] > 0))
        .map(|(key, (now, before))| Keyed { key: key.to_string(), figures: with_drift(&now, &before) })
        .collect();
    groups.sort_by(|a, b| {
        let rank = |group: &Keyed<SupplierFigures>| {
            let otif = group.figures.on_time_in_full_pct;
            (!group.figures.lead_time_drift, otif.is_none(), otif)
        };
        rank(a).cmp(&rank(b)).then_with(|| a.key.cmp(&b.key))
    });
    groups.truncate(GROUPS_MAX);
    Suppliers {
        from: window.from,
        to: window.to,
        by,
        figures: with_drift(&total, &previous),
        previous: SupplierFigures::of(&previous),
        groups,
        days: days.into_iter().map(|(date, sums)| Dated { date, figures: SupplierFigures::of(&sums) }).collect(),
    }
}
