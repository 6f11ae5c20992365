//! A draft purchase order from a supplier's replenishment suggestions: each suggested quantity as
//! planned (MOQ and pack multiples already in it), at the SKU's unit cost, expected after the
//! supplier's lead time, to one destination.

use super::order::{PoLineSpec, PoSpec};
use crate::error::EngineError;
use crate::ids::Id;
use crate::limits::PO_LINES_MAX;
use crate::money::Money;
use crate::planning::{PlanSummary, Supplier};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `POST /v1/purchase-orders/from-suggestions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromSuggestions {
    pub supplier: Id,
    /// Where the goods go.
    pub location: Id,
    /// Only these SKUs (all the supplier's suggestions when absent).
    #[serde(default)]
    pub skus: Option<Vec<Id>>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A suggestion left out of the draft, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub sku: Id,
    pub reason: String,
}

/// The draft's spec and the suggestions it could not take.
pub fn draft_from_suggestions(
    request: &FromSuggestions,
    supplier: &Supplier,
    suggestions: &[PlanSummary],
    today: NaiveDate,
) -> Result<(PoSpec, Vec<Skipped>), EngineError> {
    assert!(suggestions.iter().all(|s| s.supplier.as_ref() == Some(&supplier.id)), "the supplier's suggestions");
    if let Some(skus) = &request.skus {
        if skus.is_empty() || skus.len() > PO_LINES_MAX {
            return Err(EngineError::invalid("skus", format!("1..={PO_LINES_MAX} SKUs, or none for all")));
        }
    }
    let lead_days = supplier.lead_time_days.ceil().max(0.0) as i64;
    let expected_on = today + Duration::days(lead_days);
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for summary in suggestions {
        if request.skus.as_ref().is_some_and(|skus| !skus.contains(&summary.sku)) {
            continue;
        }
        if summary.suggestion_qty <= 0 {
            continue;
        }
        let Some(value) = summary.value else {
            skipped.push(Skipped {
                sku: summary.sku.clone(),
                reason: "no unit cost on the SKU: set one (PUT /v1/skus/{sku}) or write the line by hand".into(),
            });
            continue;
        };
        let unit = (value.amount() / Decimal::from(summary.suggestion_qty)).round_dp(Money::FRACTION_DIGITS_MAX as u32);
        let unit_price = Money::from_decimal(unit).expect("a unit price below the value fits");
        if lines.len() == PO_LINES_MAX {
            skipped.push(Skipped {
                sku: summary.sku.clone(),
                reason: format!("the draft is full ({PO_LINES_MAX} lines)"),
            });
            continue;
        }
        lines.push(PoLineSpec {
            sku: summary.sku.clone(),
            location: request.location.clone(),
            qty: summary.suggestion_qty,
            unit_price,
            expected_on,
        });
    }
    if let Some(skus) = &request.skus {
        for sku in skus {
            if !suggestions.iter().any(|s| &s.sku == sku && s.suggestion_qty > 0) {
                skipped
                    .push(Skipped { sku: sku.clone(), reason: format!("no suggestion from supplier {}", supplier.id) });
            }
        }
    }
    if lines.is_empty() {
        return Err(EngineError::conflict(format!(
            "nothing to order from supplier {}: no suggestion{} with a unit cost",
            supplier.id,
            if request.skus.is_some() { " for those SKUs" } else { "" }
        )));
    }
    let spec = PoSpec {
        supplier: supplier.id.clone(),
        currency: supplier.currency.clone(),
        lines,
        comment: request.comment.clone().or_else(|| Some("from replenishment suggestions".into())),
    };
    Ok((spec, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::{DemandClass, Method};

    fn id(text: &str) -> Id {
        Id::new(text).expect("an id")
    }

    fn summary(sku: &str, qty: i64, value: Option<&str>) -> PlanSummary {
        PlanSummary {
            sku: id(sku),
            location: None,
            supplier: Some(id("basics-co")),
            as_of: "2026-12-02".parse().expect("a date"),
            at_risk: false,
            stockout_date: None,
            order_by: None,
            suggestion_qty: qty,
            value: value.map(|v| Money::parse(v).expect("money")),
            reason: String::new(),
            action: None,
            demand_class: DemandClass::Smooth,
            method: Method::Ses,
            inventory_position: 0,
            reorder_point: 0,
            expedite_qty: 0,
            health: None,
            anomaly: None,
        }
    }

    #[test]
    fn suggestions_become_lines_at_their_planned_quantities() {
        let supplier: Supplier = serde_json::from_value(serde_json::json!({
            "supplier": "basics-co", "name": "Basics", "currency": "EUR", "lead_time_days": 4.5, "lead_time_std_days": 1
        }))
        .expect("a supplier");
        let today: NaiveDate = "2026-12-02".parse().expect("a date");
        let request = FromSuggestions { supplier: id("basics-co"), location: id("wh-1"), skus: None, comment: None };
        // 360 (MOQ and packs already in it) at 720.00 → 2.00 each; one without a cost is skipped.
        let suggestions = [
            summary("A", 360, Some("720")),
            summary("B", 24, None),
            summary("C", 0, None),
            summary("D", 3, Some("10")),
        ];
        let (spec, skipped) = draft_from_suggestions(&request, &supplier, &suggestions, today).expect("a draft");
        let lines: Vec<(&str, i64, String, String)> = spec
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.qty, l.unit_price.to_string(), l.expected_on.to_string()))
            .collect();
        assert_eq!(
            lines,
            [
                ("A", 360, "2".to_string(), "2026-12-07".to_string()),
                ("D", 3, "3.333333".to_string(), "2026-12-07".to_string())
            ]
        );
        assert_eq!(skipped.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["B"]);
        assert_eq!(spec.currency, "EUR");
        // Only some SKUs: the one with no suggestion is named.
        let some = FromSuggestions { skus: Some(vec![id("D"), id("Z")]), ..request.clone() };
        let (spec, skipped) = draft_from_suggestions(&some, &supplier, &suggestions, today).expect("a draft");
        assert_eq!(spec.lines.len(), 1);
        assert_eq!(skipped.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(), ["Z"]);
        // Nothing orderable.
        let none = FromSuggestions { skus: Some(vec![id("B")]), ..request };
        assert!(matches!(
            draft_from_suggestions(&none, &supplier, &suggestions, today),
            Err(EngineError::Conflict { .. })
        ));
    }
}
