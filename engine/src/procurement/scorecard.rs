//! A supplier's scorecard from its purchase orders, their receipts and invoices: on-time-in-full per
//! line, lead time (mean and σ, from sending to each receipt: what planning's σL is measured from),
//! fill rate, price variance and QC rejects.

use super::matching::Invoice;
use super::order::{PoAction, PurchaseOrder};
use crate::ids::Id;
use crate::planning::LeadTime;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Receipts a lead time is measured from before planning uses it instead of the declared one.
pub const LEAD_TIME_SAMPLES_MIN: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub supplier: Id,
    pub as_of: NaiveDate,
    /// Orders that were sent (the ones a supplier can be judged on).
    pub orders: u32,
    /// Lines due by `as_of` (or received in full before), and of them those received in full by
    /// their expected date.
    pub lines_due: u32,
    pub lines_on_time_in_full: u32,
    pub on_time_in_full_pct: Option<Decimal>,
    /// Days from sending the order to each receipt of it (one sample per receipt line).
    pub lead_time_samples: u32,
    pub lead_time_days_mean: Option<f64>,
    pub lead_time_days_std: Option<f64>,
    /// Received (up to the ordered qty) of what was ordered on lines due.
    pub fill_rate_pct: Option<Decimal>,
    /// (Σ invoiced price × qty − Σ ordered price × qty) / Σ ordered price × qty, over invoices that count.
    pub price_variance_pct: Option<Decimal>,
    /// Received into quarantine of all received.
    pub qc_reject_pct: Option<Decimal>,
}

fn pct(part: Decimal, whole: Decimal) -> Option<Decimal> {
    (!whole.is_zero()).then(|| (part * Decimal::ONE_HUNDRED / whole).round_dp(2))
}

impl Scorecard {
    /// The lead time planning should use: measured once there are enough receipts.
    pub fn lead_time(&self) -> Option<LeadTime> {
        match (self.lead_time_days_mean, self.lead_time_days_std) {
            (Some(mean_days), Some(std_days)) if self.lead_time_samples >= LEAD_TIME_SAMPLES_MIN => {
                Some(LeadTime { mean_days, std_days, source: format!("{} receipts", self.lead_time_samples) })
            }
            _ => None,
        }
    }
}

/// The scorecard of `supplier` from its `orders` (with each order's invoices), as of `as_of`.
pub fn scorecard(supplier: &Id, orders: &[(&PurchaseOrder, &[Invoice])], as_of: NaiveDate) -> Scorecard {
    let mut card = Scorecard {
        supplier: supplier.clone(),
        as_of,
        orders: 0,
        lines_due: 0,
        lines_on_time_in_full: 0,
        on_time_in_full_pct: None,
        lead_time_samples: 0,
        lead_time_days_mean: None,
        lead_time_days_std: None,
        fill_rate_pct: None,
        price_variance_pct: None,
        qc_reject_pct: None,
    };
    let mut lead_days: Vec<f64> = Vec::new();
    let (mut ordered_due, mut received_due) = (0i64, 0i64);
    let (mut received_all, mut quarantined_all) = (0i64, 0i64);
    let (mut ordered_value, mut invoiced_value) = (Decimal::ZERO, Decimal::ZERO);
    for (order, invoices) in orders {
        assert_eq!(&order.supplier, supplier);
        let Some(sent) = order.events.iter().find(|e| e.action == PoAction::Send) else {
            continue;
        };
        card.orders += 1;
        let sent_on = sent.at.date_naive();
        for receipt in &order.receipts {
            let days = (receipt.at.date_naive() - sent_on).num_days() as f64;
            lead_days.extend(std::iter::repeat_n(days, receipt.lines.len()));
        }
        for line in &order.lines {
            let wanted = line.qty - line.cancelled;
            received_all += line.received;
            quarantined_all += line.quarantined;
            if wanted <= 0 || (line.expected_on > as_of && line.received < wanted) {
                continue;
            }
            card.lines_due += 1;
            ordered_due += wanted;
            received_due += line.received.min(wanted);
            let by_expected: i64 = order
                .receipts
                .iter()
                .filter(|r| r.at.date_naive() <= line.expected_on)
                .flat_map(|r| &r.lines)
                .filter(|l| l.line == line.line)
                .map(|l| l.qty)
                .sum();
            if by_expected >= wanted {
                card.lines_on_time_in_full += 1;
            }
        }
        for invoice in invoices.iter().filter(|i| i.counts()) {
            for line in &invoice.lines {
                let qty = Decimal::from(line.qty);
                ordered_value += line.ordered_price.amount() * qty;
                invoiced_value += line.unit_price.amount() * qty;
            }
        }
    }
    card.on_time_in_full_pct = pct(Decimal::from(card.lines_on_time_in_full), Decimal::from(card.lines_due));
    card.fill_rate_pct = pct(Decimal::from(received_due), Decimal::from(ordered_due));
    card.qc_reject_pct = pct(Decimal::from(quarantined_all), Decimal::from(received_all));
    card.price_variance_pct = pct(invoiced_value - ordered_value, ordered_value);
    card.lead_time_samples = u32::try_from(lead_days.len()).expect("bounded by receipts");
    if !lead_days.is_empty() {
        let n = lead_days.len() as f64;
        let mean = lead_days.iter().sum::<f64>() / n;
        // Sample standard deviation (n − 1): a handful of receipts should not look steadier than it is.
        let std = if lead_days.len() > 1 {
            (lead_days.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        card.lead_time_days_mean = Some((mean * 100.0).round() / 100.0);
        card.lead_time_days_std = Some((std * 100.0).round() / 100.0);
    }
    card
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::super::order::{PoLine, PoStatus, ReceiptLine, ReceiveTo};
    use super::*;
    use crate::ledger::{Actor, Role};
    use crate::money::Money;
    use chrono::{DateTime, Utc};

    fn at(day: u32) -> DateTime<Utc> {
        format!("2026-11-{day:02}T10:00:00Z").parse().expect("a time")
    }
    fn date(day: u32) -> NaiveDate {
        format!("2026-11-{day:02}").parse().expect("a date")
    }
    fn id(text: &str) -> Id {
        Id::new(text).expect("an id")
    }

    /// An order sent on `sent` with lines (qty, expected day) and receipts (day, [(line, qty, quarantined?)]).
    fn order(number: u32, sent: u32, lines: &[(i64, u32)], receipts: &[(u32, &[(u32, i64, bool)])]) -> PurchaseOrder {
        let actor = Actor { subject: "carl".into(), role: Role::Buyer };
        let mut order = PurchaseOrder {
            id: id(&format!("PO-{number}")),
            supplier: id("basics-co"),
            currency: "EUR".into(),
            lines: lines
                .iter()
                .zip(1u32..)
                .map(|(&(qty, day), line)| PoLine {
                    line,
                    sku: id("A"),
                    location: id("wh-1"),
                    qty,
                    unit_price: Money::parse("2").expect("money"),
                    expected_on: date(day),
                    received: 0,
                    quarantined: 0,
                    cancelled: 0,
                })
                .collect(),
            status: PoStatus::Sent,
            version: 1,
            created_by: "carl".into(),
            created_at: at(1),
            submitted_by: None,
            route: None,
            approvals: vec![],
            receipts: vec![],
            events: vec![super::super::order::PoEvent {
                version: 1,
                at: at(sent),
                actor,
                action: PoAction::Send,
                from: Some(PoStatus::Approved),
                to: PoStatus::Sent,
                comment: None,
            }],
        };
        for (index, &(day, got)) in receipts.iter().enumerate() {
            let lines: Vec<ReceiptLine> = got
                .iter()
                .map(|&(line, qty, quarantine)| ReceiptLine {
                    line,
                    qty,
                    into: if quarantine { ReceiveTo::Quarantine } else { ReceiveTo::Stock },
                })
                .collect();
            for l in &lines {
                let po_line = order.lines.iter_mut().find(|p| p.line == l.line).expect("a line");
                po_line.received += l.qty;
                if l.into == ReceiveTo::Quarantine {
                    po_line.quarantined += l.qty;
                }
            }
            order.receipts.push(super::super::order::Receipt {
                id: id(&format!("R-{number}-{index}")),
                at: at(day),
                by: "wes".into(),
                lines,
            });
        }
        order
    }

    #[test]
    fn scorecard_from_given_receipts() {
        // PO-1 sent on the 1st: line 1 (10, due the 6th) came in full on the 5th; line 2 (10, due
        // the 6th) 6 on the 5th and 4 on the 8th (late). PO-2 sent on the 10th: line 1 (20, due
        // the 15th) 18 on the 14th, 2 of them into quarantine; line 2 due the 30th, not yet.
        let first = order(1, 1, &[(10, 6), (10, 6)], &[(5, &[(1, 10, false), (2, 6, false)]), (8, &[(2, 4, false)])]);
        let second = order(2, 10, &[(20, 15), (5, 30)], &[(14, &[(1, 18, true)])]);
        let card = scorecard(&id("basics-co"), &[(&first, &[]), (&second, &[])], date(20));
        assert_eq!(card.orders, 2);
        // Due: PO-1's two lines and PO-2's first: one of three on time in full.
        assert_eq!((card.lines_due, card.lines_on_time_in_full), (3, 1));
        assert_eq!(card.on_time_in_full_pct, Some(Decimal::new(3333, 2)));
        // Received 10 + 10 + 18 of 40 due: 95%.
        assert_eq!(card.fill_rate_pct, Some(Decimal::from(95)));
        // 18 received into quarantine... of 38 received: 47.37%.
        assert_eq!(card.qc_reject_pct, Some(Decimal::new(4737, 2)));
        // Samples: 4, 4 (PO-1's first receipt, two lines), 7, and 4 (PO-2): mean 4.75, σ 1.5.
        assert_eq!(
            (card.lead_time_samples, card.lead_time_days_mean, card.lead_time_days_std),
            (4, Some(4.75), Some(1.5))
        );
        let lead = card.lead_time().expect("enough receipts to plan with");
        assert_eq!((lead.mean_days, lead.std_days, lead.source.as_str()), (4.75, 1.5, "4 receipts"));
        // An order never sent does not count; two receipts are too few to plan with.
        let draft = PurchaseOrder { events: vec![], ..order(3, 1, &[(1, 2)], &[]) };
        let thin = scorecard(
            &id("basics-co"),
            &[(&draft, &[]), (&order(4, 1, &[(5, 3)], &[(3, &[(1, 5, false)])]), &[])],
            date(20),
        );
        assert_eq!((thin.orders, thin.lead_time_samples), (1, 1));
        assert_eq!(thin.lead_time(), None);
        assert_eq!(thin.on_time_in_full_pct, Some(Decimal::ONE_HUNDRED));
        assert_eq!(scorecard(&id("basics-co"), &[], date(20)).fill_rate_pct, None);
        // Price variance over the invoices that count: 10 at 2.10 against 2.00 ordered is +5%; a
        // corrected invoice no longer counts.
        let invoice = |number: &str, price: &str, replaced: bool| super::super::matching::Invoice {
            id: id(number),
            number: number.into(),
            at: at(9),
            by: "fay".into(),
            lines: vec![super::super::matching::InvoiceLine {
                line: 1,
                sku: id("A"),
                qty: 10,
                unit_price: Money::parse(price).expect("money"),
                ordered_price: Money::parse("2").expect("money"),
                received: 10,
                invoiced_before: 0,
                landed_extra: Money::ZERO,
                landed_unit_cost: Money::parse(price).expect("money"),
                status: super::super::matching::MatchStatus::Matched,
                reasons: vec![],
            }],
            freight: Money::ZERO,
            duty: Money::ZERO,
            spread_by: super::super::matching::SpreadBy::Value,
            status: super::super::matching::MatchStatus::Matched,
            replaces: None,
            replaced_by: replaced.then(|| id("I-2")),
        };
        let invoices = [invoice("I-1", "9.99", true), invoice("I-2", "2.10", false)];
        let priced = scorecard(&id("basics-co"), &[(&first, &invoices)], date(20));
        assert_eq!(priced.price_variance_pct, Some(Decimal::from(5)));
    }
}
