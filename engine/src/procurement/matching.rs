//! Invoices against a purchase order: the three-way match (ordered price, received qty, invoiced
//! qty and price, within tolerances) and landed cost (freight and duty spread over the lines into
//! each SKU's moving-average unit cost).

use super::order::{PoLine, PurchaseOrder};
use crate::error::EngineError;
use crate::ids::{check_text, Id};
use crate::limits::{INVOICES_MAX, PO_LINES_MAX, QTY_REQUEST_MAX};
use crate::money::Money;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How far an invoice may differ from the order and the receipts and still match. A price matches
/// when it is within `price_pct` percent **or** `price_abs` of the ordered price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchTolerance {
    #[serde(default)]
    pub qty_pct: Decimal,
    #[serde(default = "two")]
    pub price_pct: Decimal,
    #[serde(default)]
    pub price_abs: Money,
}

fn two() -> Decimal {
    Decimal::TWO
}

impl Default for MatchTolerance {
    fn default() -> MatchTolerance {
        MatchTolerance { qty_pct: Decimal::ZERO, price_pct: Decimal::TWO, price_abs: Money::ZERO }
    }
}

impl MatchTolerance {
    pub fn check(&self) -> Result<(), EngineError> {
        let hundred = Decimal::ONE_HUNDRED;
        if self.qty_pct < Decimal::ZERO
            || self.qty_pct > hundred
            || self.price_pct < Decimal::ZERO
            || self.price_pct > hundred
        {
            return Err(EngineError::invalid("tolerance", "percentages are 0..=100"));
        }
        if self.price_abs.is_negative() {
            return Err(EngineError::invalid("tolerance.price_abs", "cannot be negative"));
        }
        Ok(())
    }
}

/// How freight and duty are spread over an invoice's lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpreadBy {
    #[default]
    Value,
    Quantity,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLineSpec {
    pub line: u32,
    pub qty: i64,
    pub unit_price: Money,
}

/// `POST /v1/purchase-orders/{id}/invoices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSpec {
    /// The supplier's invoice number.
    pub number: String,
    pub lines: Vec<InvoiceLineSpec>,
    #[serde(default)]
    pub freight: Money,
    #[serde(default)]
    pub duty: Money,
    #[serde(default)]
    pub spread_by: SpreadBy,
    /// The invoice this one corrects (it no longer counts).
    #[serde(default)]
    pub replaces: Option<Id>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Matched,
    /// For finance: a line is outside a tolerance.
    Exception,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub line: u32,
    pub sku: Id,
    pub qty: i64,
    pub unit_price: Money,
    pub ordered_price: Money,
    /// Received against the line, and invoiced on it before this invoice.
    pub received: i64,
    pub invoiced_before: i64,
    /// This line's share of freight and duty, and the unit cost landed with it.
    pub landed_extra: Money,
    pub landed_unit_cost: Money,
    pub status: MatchStatus,
    /// Why it is an exception, in words and numbers.
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: Id,
    pub number: String,
    pub at: DateTime<Utc>,
    pub by: String,
    pub lines: Vec<InvoiceLine>,
    pub freight: Money,
    pub duty: Money,
    pub spread_by: SpreadBy,
    pub status: MatchStatus,
    pub replaces: Option<Id>,
    /// Set when a later invoice corrects it.
    pub replaced_by: Option<Id>,
}

impl Invoice {
    /// Whether it still counts (not corrected by a later one).
    pub fn counts(&self) -> bool {
        self.replaced_by.is_none()
    }
}

/// `amount` × `numerator` / `denominator`, to the cent (banker's rounding is not what an invoice
/// does: half away from zero).
fn share(amount: Decimal, numerator: Decimal, denominator: Decimal) -> Decimal {
    if denominator.is_zero() {
        return Decimal::ZERO;
    }
    (amount * numerator / denominator).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Spreads `extra` over lines of (qty, unit price) by value or quantity, to the cent; the cents
/// that rounding leaves go to the largest line, so the shares add up to `extra` exactly.
pub fn spread(extra: Money, lines: &[(i64, Money)], by: SpreadBy) -> Vec<Money> {
    let weights: Vec<Decimal> = lines
        .iter()
        .map(|&(qty, price)| match by {
            SpreadBy::Value => price.amount() * Decimal::from(qty),
            SpreadBy::Quantity => Decimal::from(qty),
        })
        .collect();
    let mut total: Decimal = weights.iter().sum();
    let mut weights = weights;
    if total.is_zero() {
        // Nothing has value (free goods): spread by quantity.
        weights = lines.iter().map(|&(qty, _)| Decimal::from(qty)).collect();
        total = weights.iter().sum();
    }
    let mut shares: Vec<Decimal> = weights.iter().map(|w| share(extra.amount(), *w, total)).collect();
    let left = extra.amount() - shares.iter().sum::<Decimal>();
    if let Some(largest) = weights.iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0))).map(|(i, _)| i) {
        shares[largest] += left;
    }
    let out: Vec<Money> = shares.into_iter().map(|s| Money::from_decimal(s).expect("a share of money fits")).collect();
    debug_assert_eq!(
        out.iter().map(|m| m.amount()).sum::<Decimal>(),
        if lines.is_empty() { Decimal::ZERO } else { extra.amount() }
    );
    out
}

/// The moving-average unit cost after `qty` units arrive at `unit_cost` onto `on_hand` units
/// valued at `average` (none yet: the arriving cost). Rounded to 6 decimal places.
pub fn moving_average(on_hand: i64, average: Option<Money>, qty: i64, unit_cost: Money) -> Money {
    assert!(qty >= 0);
    let on_hand = on_hand.max(0);
    let Some(average) = average.filter(|_| on_hand > 0) else {
        return unit_cost;
    };
    if qty == 0 {
        return average;
    }
    let value = average.amount() * Decimal::from(on_hand) + unit_cost.amount() * Decimal::from(qty);
    let next = (value / Decimal::from(on_hand + qty)).round_dp(6);
    Money::from_decimal(next).expect("an average of two costs fits")
}

/// A cost correction of `delta_per_unit` for `qty` units that arrived earlier, of which only the
/// ones still on hand are revalued: (the new average, the amount that goes to cost of goods sold
/// for the units already gone).
pub fn true_up(on_hand: i64, average: Money, qty: i64, delta_per_unit: Money) -> (Money, Money) {
    assert!(qty >= 0);
    let on_hand = on_hand.max(0);
    let still_here = qty.min(on_hand);
    let gone = qty - still_here;
    let to_cogs = Money::from_decimal(delta_per_unit.amount() * Decimal::from(gone)).expect("a variance fits");
    if on_hand == 0 || still_here == 0 {
        return (average, to_cogs);
    }
    let added = delta_per_unit.amount() * Decimal::from(still_here);
    let next = ((average.amount() * Decimal::from(on_hand) + added) / Decimal::from(on_hand)).round_dp(6);
    (Money::from_decimal(next.max(Decimal::ZERO)).expect("an average fits"), to_cogs)
}

fn percent(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        return Decimal::ZERO;
    }
    (part * Decimal::ONE_HUNDRED / whole).round_dp(2)
}

/// What a matched invoice does to one SKU's moving-average cost: `qty` units that arrived at the
/// ordered price cost `delta_per_unit` more (or less), in the order's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostChange {
    pub line: u32,
    pub sku: Id,
    pub qty: i64,
    pub delta_per_unit: Money,
}

impl Invoice {
    /// The landed-cost true-ups this invoice makes once recorded, against the order's earlier
    /// `invoices`: none unless it matched (an exception waits for its correction). A correction
    /// trues up only the difference from the last matched invoice in the chain it replaces (what
    /// the costs hold now), and takes back the lines that invoice had and this one does not.
    pub fn cost_changes(&self, invoices: &[Invoice]) -> Vec<CostChange> {
        if self.status != MatchStatus::Matched {
            return Vec::new();
        }
        let mut baseline: Option<&Invoice> = None;
        let mut next = self.replaces.as_ref();
        for _ in 0..=invoices.len() {
            let Some(id) = next else { break };
            let Some(earlier) = invoices.iter().find(|i| &i.id == id) else { break };
            if earlier.status == MatchStatus::Matched {
                baseline = Some(earlier);
                break;
            }
            next = earlier.replaces.as_ref();
        }
        let landed = |line: &InvoiceLine| line.landed_unit_cost.amount() - line.ordered_price.amount();
        let change = |line: &InvoiceLine, qty: i64, delta: Decimal| {
            let delta = delta.round_dp(6);
            (!delta.is_zero()).then(|| CostChange {
                line: line.line,
                sku: line.sku.clone(),
                qty,
                delta_per_unit: Money::from_decimal(delta).expect("a difference of unit costs fits"),
            })
        };
        let mut out: Vec<CostChange> = self
            .lines
            .iter()
            .filter_map(|line| {
                let before = baseline
                    .and_then(|b| b.lines.iter().find(|l| l.line == line.line))
                    .map_or(Decimal::ZERO, |l| landed(l) * Decimal::from(l.qty) / Decimal::from(line.qty));
                change(line, line.qty, landed(line) - before)
            })
            .collect();
        if let Some(baseline) = baseline {
            for gone in baseline.lines.iter().filter(|b| self.lines.iter().all(|l| l.line != b.line)) {
                out.extend(change(gone, gone.qty, -landed(gone)));
            }
        }
        out
    }
}

impl PurchaseOrder {
    /// Matches an invoice against the order and its receipts. The invoice is kept either way:
    /// `Matched`, or an `Exception` with the reason per line for finance. It may correct an
    /// earlier one (`replaces`), which then no longer counts.
    pub fn invoice(
        &self,
        invoices: &[Invoice],
        invoice_id: Id,
        spec: &InvoiceSpec,
        tolerance: &MatchTolerance,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Invoice, EngineError> {
        check_text("number", &spec.number)?;
        if spec.lines.is_empty() || spec.lines.len() > PO_LINES_MAX {
            return Err(EngineError::invalid("lines", format!("1..={PO_LINES_MAX} lines")));
        }
        if invoices.len() >= INVOICES_MAX {
            return Err(EngineError::conflict(format!(
                "purchase order {} has {INVOICES_MAX} invoices: no more",
                self.id
            )));
        }
        if spec.freight.is_negative() || spec.duty.is_negative() {
            return Err(EngineError::invalid("freight", "freight and duty cannot be negative"));
        }
        if self.lines.iter().all(|line| line.received == 0) {
            return Err(EngineError::conflict(format!("purchase order {} has nothing received to invoice", self.id)));
        }
        let replaced = match &spec.replaces {
            Some(earlier) => {
                let found = invoices
                    .iter()
                    .find(|i| &i.id == earlier)
                    .ok_or_else(|| EngineError::not_found("invoice", earlier.as_str()))?;
                if !found.counts() {
                    return Err(EngineError::conflict(format!("invoice {earlier} was already corrected")));
                }
                Some(found.id.clone())
            }
            None => None,
        };
        if invoices.iter().any(|i| i.counts() && i.number == spec.number && Some(&i.id) != replaced.as_ref()) {
            return Err(EngineError::conflict(format!(
                "invoice number {} is already recorded on this order",
                spec.number
            )));
        }
        let mut lines: Vec<(&PoLine, &InvoiceLineSpec)> = Vec::with_capacity(spec.lines.len());
        for (index, got) in spec.lines.iter().enumerate() {
            let field = format!("lines[{index}]");
            let line = self.lines.iter().find(|line| line.line == got.line).ok_or_else(|| {
                EngineError::invalid(&field, format!("purchase order {} has no line {}", self.id, got.line))
            })?;
            if !(1..=QTY_REQUEST_MAX).contains(&got.qty) {
                return Err(EngineError::invalid(&format!("{field}.qty"), format!("must be 1..={QTY_REQUEST_MAX}")));
            }
            if got.unit_price.is_negative() {
                return Err(EngineError::invalid(&format!("{field}.unit_price"), "cannot be negative"));
            }
            if got.unit_price.times(got.qty).is_none() {
                return Err(EngineError::invalid(&format!("{field}.unit_price"), "qty × unit_price is too large"));
            }
            if lines.iter().any(|(other, _)| other.line == got.line) {
                return Err(EngineError::invalid(&field, format!("line {} is invoiced twice", got.line)));
            }
            lines.push((line, got));
        }
        let extra = spec.freight.checked_add(spec.duty).ok_or_else(|| EngineError::invalid("freight", "too large"))?;
        let shares =
            spread(extra, &lines.iter().map(|(_, got)| (got.qty, got.unit_price)).collect::<Vec<_>>(), spec.spread_by);
        let mut out = Vec::with_capacity(lines.len());
        for ((line, got), landed_extra) in lines.into_iter().zip(shares) {
            let invoiced_before: i64 = invoices
                .iter()
                .filter(|i| i.counts() && Some(&i.id) != replaced.as_ref())
                .flat_map(|i| i.lines.iter())
                .filter(|l| l.line == got.line)
                .map(|l| l.qty)
                .sum();
            let mut reasons = Vec::new();
            let invoiced = invoiced_before + got.qty;
            let qty_allowed =
                Decimal::from(line.received) * (Decimal::ONE_HUNDRED + tolerance.qty_pct) / Decimal::ONE_HUNDRED;
            if Decimal::from(invoiced) > qty_allowed {
                reasons.push(format!(
                    "line {} ({}): invoiced {invoiced} (with {invoiced_before} before) but {} received, over the {}% tolerance",
                    line.line, line.sku, line.received, tolerance.qty_pct
                ));
            }
            let difference = got.unit_price.amount() - line.unit_price.amount();
            let difference_pct = percent(difference.abs(), line.unit_price.amount());
            let within_pct = difference_pct <= tolerance.price_pct;
            let within_abs = difference.abs() <= tolerance.price_abs.amount();
            if !(within_pct || within_abs || difference.is_zero()) {
                reasons.push(format!(
                    "line {} ({}): price {} against {} ordered, {}{}% ({}{}), over the {}% / {} tolerance",
                    line.line,
                    line.sku,
                    got.unit_price,
                    line.unit_price,
                    if difference > Decimal::ZERO { "+" } else { "−" },
                    difference_pct,
                    if difference > Decimal::ZERO { "+" } else { "−" },
                    difference.abs(),
                    tolerance.price_pct,
                    tolerance.price_abs
                ));
            }
            let per_unit = (landed_extra.amount() / Decimal::from(got.qty)).round_dp(6);
            let landed_unit_cost = Money::from_decimal(got.unit_price.amount() + per_unit).expect("a unit cost fits");
            out.push(InvoiceLine {
                line: line.line,
                sku: line.sku.clone(),
                qty: got.qty,
                unit_price: got.unit_price,
                ordered_price: line.unit_price,
                received: line.received,
                invoiced_before,
                landed_extra,
                landed_unit_cost,
                status: if reasons.is_empty() { MatchStatus::Matched } else { MatchStatus::Exception },
                reasons,
            });
        }
        let status = if out.iter().all(|l| l.status == MatchStatus::Matched) {
            MatchStatus::Matched
        } else {
            MatchStatus::Exception
        };
        Ok(Invoice {
            id: invoice_id,
            number: spec.number.clone(),
            at,
            by: by.to_string(),
            lines: out,
            freight: spec.freight,
            duty: spec.duty,
            spread_by: spec.spread_by,
            status,
            replaces: replaced,
            replaced_by: None,
        })
    }

    /// Records a matched-or-not invoice `invoice` decided for this order: kept with the others,
    /// and the one it corrects (if any) marked as replaced, so it no longer counts.
    pub fn take_invoice(&self, invoices: &mut Vec<Invoice>, invoice: Invoice) {
        assert!(invoices.len() < INVOICES_MAX);
        assert!(invoices.iter().all(|i| i.id != invoice.id), "an invoice is taken once");
        if let Some(earlier) = &invoice.replaces {
            let replaced = invoices.iter_mut().find(|i| &i.id == earlier).expect("`invoice` checked what it replaces");
            assert!(replaced.counts(), "only a counting invoice is corrected");
            replaced.replaced_by = Some(invoice.id.clone());
        }
        invoices.push(invoice);
    }

    /// The invoices that still stop the order from closing: counting ones in exception.
    pub fn open_exceptions<'a>(&self, invoices: &'a [Invoice]) -> impl Iterator<Item = &'a Invoice> {
        invoices.iter().filter(|i| i.counts() && i.status == MatchStatus::Exception)
    }

    /// Whether the invoices that count cover every received unit and all matched: the order can
    /// then be closed.
    pub fn fully_matched(&self, invoices: &[Invoice]) -> bool {
        let counting: Vec<&Invoice> = invoices.iter().filter(|i| i.counts()).collect();
        counting.iter().all(|i| i.status == MatchStatus::Matched)
            && self.lines.iter().all(|line| {
                let invoiced: i64 =
                    counting.iter().flat_map(|i| &i.lines).filter(|l| l.line == line.line).map(|l| l.qty).sum();
                invoiced >= line.received
            })
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    #[test]
    fn spread_table() {
        // (extra, lines (qty, price), by, shares)
        let table: [(&str, &[(i64, &str)], SpreadBy, &[&str]); 5] = [
            ("30", &[(10, "2"), (10, "1")], SpreadBy::Value, &["20", "10"]),
            ("30", &[(10, "2"), (20, "1")], SpreadBy::Quantity, &["10", "20"]),
            // 10 over three equal lines: 3.33 each, the cent left goes to the first largest.
            ("10", &[(1, "5"), (1, "5"), (1, "5")], SpreadBy::Value, &["3.34", "3.33", "3.33"]),
            // Free goods spread by quantity.
            ("6", &[(1, "0"), (2, "0")], SpreadBy::Value, &["2", "4"]),
            ("0", &[(1, "5")], SpreadBy::Value, &["0"]),
        ];
        for (extra, lines, by, expected) in table {
            let lines: Vec<(i64, Money)> = lines.iter().map(|&(q, p)| (q, money(p))).collect();
            let got = spread(money(extra), &lines, by);
            let expected: Vec<Money> = expected.iter().map(|t| money(t)).collect();
            assert_eq!(got, expected, "{extra} over {lines:?} by {by:?}");
        }
    }

    #[test]
    fn moving_average_table() {
        // (on hand, average, qty in, unit cost, new average)
        let table: [(i64, Option<&str>, i64, &str, &str); 5] = [
            (0, None, 10, "4", "4"),
            (10, Some("4"), 10, "6", "5"),
            (30, Some("2"), 10, "6", "3"),
            (-5, Some("2"), 10, "6", "6"),
            (3, Some("1"), 0, "9", "1"),
        ];
        for (on_hand, average, qty, cost, expected) in table {
            assert_eq!(
                moving_average(on_hand, average.map(money), qty, money(cost)),
                money(expected),
                "{on_hand} {average:?} {qty} {cost}"
            );
        }
    }

    #[test]
    fn true_up_revalues_only_units_on_hand() {
        // Of the units that came, as many as are on hand are taken to be still here (units are
        // fungible at a moving average); the correction for the rest goes to cost of goods sold.
        // (on hand, average, qty that came, correction per unit, new average, to COGS)
        let table: [(i64, &str, i64, &str, &str, &str); 4] = [
            // All 10 still here: 10 × 0.50 onto 10 units at 5.00.
            (10, "5", 10, "0.5", "5.5", "0"),
            // 4 left: 4 × 0.50 = 2.00 onto them (5.50), 6 × 0.50 = 3.00 to COGS.
            (4, "5", 10, "0.5", "5.5", "3"),
            // 10 on hand, 4 came: 2.00 over 10 units = +0.20.
            (10, "5", 4, "0.5", "5.2", "0"),
            // Nothing left: all of it to COGS (a credit here).
            (0, "5", 4, "-1", "5", "-4"),
        ];
        for (on_hand, average, qty, delta, next, cogs) in table {
            assert_eq!(
                true_up(on_hand, money(average), qty, money(delta)),
                (money(next), money(cogs)),
                "{on_hand} at {average}, {qty} corrected by {delta}"
            );
        }
    }

    fn received_order() -> PurchaseOrder {
        use super::super::order::{PoLineSpec, PoSpec};
        use crate::ledger::{Actor, Role};
        let line = |sku: &str, qty: i64, price: &str| PoLineSpec {
            sku: Id::new(sku).expect("id"),
            location: Id::new("wh-1").expect("id"),
            qty,
            unit_price: money(price),
            expected_on: "2026-12-09".parse().expect("a date"),
        };
        let spec = PoSpec {
            supplier: Id::new("basics-co").expect("id"),
            currency: "EUR".into(),
            lines: vec![line("A", 10, "5.00"), line("B", 20, "2.00")],
            comment: None,
        };
        let buyer = Actor { subject: "carl".into(), role: Role::Buyer };
        let at = "2026-12-02T10:00:00Z".parse().expect("a time");
        let mut catalog = crate::Catalog::default();
        let location = serde_json::from_value(
            serde_json::json!({"name": "WH 1", "kind": "warehouse", "region": "eu", "priority": 1}),
        )
        .expect("a location spec");
        catalog.put_location(Id::new("wh-1").expect("id"), location).expect("a location");
        let supplier =
            serde_json::from_value(serde_json::json!({"name": "Basics", "currency": "EUR", "lead_time_days": 5}))
                .expect("a supplier spec");
        catalog
            .put_supplier(Id::new("basics-co").expect("id"), supplier, crate::ledger::Role::Buyer)
            .expect("a supplier");
        let mut order =
            PurchaseOrder::create(Id::new("PO-1").expect("id"), &spec, &catalog, &buyer, at).expect("an order");
        order.lines[0].received = 10;
        order.lines[1].received = 15;
        order
    }

    /// Three-way match: (line 1 qty, price; line 2 qty, price) → status and the lines in exception.
    #[test]
    fn three_way_match_table() {
        let tolerance = MatchTolerance { qty_pct: Decimal::ZERO, price_pct: Decimal::TWO, price_abs: money("0.05") };
        let table: [((i64, &str), (i64, &str), MatchStatus, &[u32]); 7] = [
            ((10, "5.00"), (15, "2.00"), MatchStatus::Matched, &[]),
            // +2% exactly is within; +0.05 absolute is within though 2.5%.
            ((10, "5.10"), (15, "2.05"), MatchStatus::Matched, &[]),
            // +2.2% and +0.11: outside both.
            ((10, "5.11"), (15, "2.00"), MatchStatus::Exception, &[1]),
            // Cheaper is a difference too.
            ((10, "4.80"), (15, "2.00"), MatchStatus::Exception, &[1]),
            // 16 invoiced, 15 received.
            ((10, "5.00"), (16, "2.00"), MatchStatus::Exception, &[2]),
            ((11, "5.00"), (16, "2.10"), MatchStatus::Exception, &[1, 2]),
            // Invoicing less than received matches (the rest may come on another invoice).
            ((4, "5.00"), (15, "2.00"), MatchStatus::Matched, &[]),
        ];
        let order = received_order();
        let at = "2026-12-03T10:00:00Z".parse().expect("a time");
        for ((qty_1, price_1), (qty_2, price_2), status, exceptions) in table {
            let spec = InvoiceSpec {
                number: "INV-1".into(),
                lines: vec![
                    InvoiceLineSpec { line: 1, qty: qty_1, unit_price: money(price_1) },
                    InvoiceLineSpec { line: 2, qty: qty_2, unit_price: money(price_2) },
                ],
                freight: Money::ZERO,
                duty: Money::ZERO,
                spread_by: SpreadBy::Value,
                replaces: None,
            };
            let invoice =
                order.invoice(&[], Id::new("I-1").expect("id"), &spec, &tolerance, "fay", at).expect("recorded");
            let flagged: Vec<u32> =
                invoice.lines.iter().filter(|l| l.status == MatchStatus::Exception).map(|l| l.line).collect();
            assert_eq!(
                (invoice.status, flagged.as_slice()),
                (status, exceptions),
                "{qty_1}@{price_1}, {qty_2}@{price_2}"
            );
            assert!(invoice.lines.iter().all(|l| (l.status == MatchStatus::Exception) != l.reasons.is_empty()));
        }
    }

    #[test]
    fn a_corrected_invoice_replaces_the_exception_and_lands_freight() {
        let order = received_order();
        let at = "2026-12-03T10:00:00Z".parse().expect("a time");
        let tolerance = MatchTolerance::default();
        let spec = |price: &str, replaces: Option<&str>| InvoiceSpec {
            number: "INV-7".into(),
            lines: vec![
                InvoiceLineSpec { line: 1, qty: 10, unit_price: money(price) },
                InvoiceLineSpec { line: 2, qty: 15, unit_price: money("2.00") },
            ],
            freight: money("16"),
            duty: money("4"),
            spread_by: SpreadBy::Value,
            replaces: replaces.map(|r| Id::new(r).expect("id")),
        };
        let first = order
            .invoice(&[], Id::new("I-1").expect("id"), &spec("6.00", None), &tolerance, "fay", at)
            .expect("recorded");
        assert_eq!(first.status, MatchStatus::Exception);
        assert_eq!(
            first.lines[0].reasons,
            ["line 1 (A): price 6.00 against 5.00 ordered, +20% (+1.00), over the 2% / 0 tolerance"]
        );
        assert!(!order.fully_matched(std::slice::from_ref(&first)));
        // The same number again without saying it corrects the first is refused.
        let again = order.invoice(
            std::slice::from_ref(&first),
            Id::new("I-2").expect("id"),
            &spec("5.00", None),
            &tolerance,
            "fay",
            at,
        );
        assert!(matches!(again, Err(EngineError::Conflict { .. })), "{again:?}");
        let second = order
            .invoice(
                std::slice::from_ref(&first),
                Id::new("I-2").expect("id"),
                &spec("5.00", Some("I-1")),
                &tolerance,
                "fay",
                at,
            )
            .expect("the correction");
        assert_eq!(second.status, MatchStatus::Matched);
        assert_eq!(
            second.lines.iter().map(|l| l.invoiced_before).collect::<Vec<_>>(),
            [0, 0],
            "the corrected one no longer counts"
        );
        // Freight 16 + duty 4 = 20 over 50.00 and 30.00 of value: 12.50 and 7.50; per unit 1.25 and 0.50.
        assert_eq!(second.lines.iter().map(|l| l.landed_extra).collect::<Vec<_>>(), [money("12.5"), money("7.5")]);
        assert_eq!(second.lines.iter().map(|l| l.landed_unit_cost).collect::<Vec<_>>(), [money("6.25"), money("2.5")]);
        assert!(first.cost_changes(&[]).is_empty(), "an exception trues up nothing");
        let id = |text: &str| Id::new(text).expect("id");
        // Line 1 lands 1.25 a unit over 5.00, line 2 0.50 over 2.00.
        let earlier = std::slice::from_ref(&first);
        let changes: Vec<(u32, i64, Money)> =
            second.cost_changes(earlier).into_iter().map(|c| (c.line, c.qty, c.delta_per_unit)).collect();
        assert_eq!(changes, [(1, 10, money("1.25")), (2, 15, money("0.5"))]);
        // A correction of a matched invoice trues up only the difference (freight halved) ...
        let mut halved = second.clone();
        halved.id = id("I-3");
        halved.replaces = Some(second.id.clone());
        for line in &mut halved.lines {
            line.landed_unit_cost = Money::from_decimal(
                line.ordered_price.amount()
                    + (line.landed_unit_cost.amount() - line.ordered_price.amount()) / Decimal::TWO,
            )
            .expect("money");
        }
        let both = [first.clone(), second.clone()];
        let deltas = |invoice: &Invoice, earlier: &[Invoice]| -> Vec<(u32, i64, Money)> {
            invoice.cost_changes(earlier).into_iter().map(|c| (c.line, c.qty, c.delta_per_unit)).collect()
        };
        assert_eq!(deltas(&halved, &both), [(1, 10, money("-0.625")), (2, 15, money("-0.25"))]);
        // ... also through an exception in between: the baseline is the last matched in the chain.
        let mut exception = halved.clone();
        exception.status = MatchStatus::Exception;
        let mut after = halved.clone();
        after.id = id("I-4");
        after.replaces = Some(id("I-3"));
        let chain = [first.clone(), second.clone(), exception];
        assert_eq!(deltas(&after, &chain), [(1, 10, money("-0.625")), (2, 15, money("-0.25"))], "not twice");
        // A line the correction leaves out is taken back.
        let mut one_line = second.clone();
        one_line.id = id("I-5");
        one_line.replaces = Some(second.id.clone());
        one_line.lines.truncate(1);
        assert_eq!(deltas(&one_line, &both), [(2, 15, money("-0.5"))]);
        let mut invoices = vec![first];
        assert_eq!(order.open_exceptions(&invoices).count(), 1);
        order.take_invoice(&mut invoices, second);
        assert_eq!(invoices[0].replaced_by.as_ref().map(Id::as_str), Some("I-2"), "the correction replaces it");
        assert_eq!(order.open_exceptions(&invoices).count(), 0);
        assert!(order.fully_matched(&invoices));
    }
}
