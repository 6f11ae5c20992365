//! Deciding: inbound expected from outside (a purchase order sent to its supplier), with the date
//! it is expected on. Transfers make their own expectations (`movements.rs`); a `receive` with the
//! same reference settles either kind.

use super::*;
use crate::procurement::{moving_average, true_up};
use chrono::NaiveDate;

/// What is still expected into `location` under `reference`, as a target: the host sends the
/// open quantity after each change of the order (sent, cancelled), so the same target twice
/// changes nothing. `qty` 0 withdraws the expectation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundTarget {
    pub location: Id,
    pub reference: String,
    pub qty: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on: Option<NaiveDate>,
}

/// A purchase order's receipt at one location, as Purchasing sends it to the SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReceipt {
    pub reference: String,
    pub location: Id,
    pub into_stock: i64,
    pub into_quarantine: i64,
    /// The order's price in the base currency.
    #[serde(default)]
    pub unit_cost: Option<Money>,
    /// The earliest date still open on the order at this location after the receipt.
    #[serde(default)]
    pub expected_on: Option<NaiveDate>,
}

impl SkuLedger {
    /// Sets what is expected into a location under a reference: inbound moves by the difference,
    /// in one entry. `None` when the target is already the state (a repeat changes nothing).
    pub fn expect_inbound(
        &mut self,
        catalog: &Catalog,
        target: InboundTarget,
        ctx: &Ctx,
    ) -> Result<Option<Entry>, EngineError> {
        self.policy_or_not_found()?;
        catalog.slot_or_not_found(target.location.as_str())?;
        check_text("reference", &target.reference)?;
        if !(0..=QTY_STORED_MAX).contains(&target.qty) {
            return Err(EngineError::invalid("qty", format!("must be a whole number 0..={QTY_STORED_MAX}")));
        }
        let now_expected = self.expected(target.location.as_str(), &target.reference);
        let key = (target.location.clone(), target.reference.clone());
        let date_now = self.expected_on.get(&key).copied();
        let date_then = if target.qty == 0 { None } else { target.expected_on };
        if now_expected == target.qty && date_now == date_then {
            return Ok(None);
        }
        if now_expected == 0 && target.qty > 0 && self.expected.len() >= EXPECTATIONS_MAX {
            return Err(EngineError::conflict(format!("at most {EXPECTATIONS_MAX} open expectations")));
        }
        let delta = target.qty - now_expected;
        let mut effects = Vec::with_capacity(2);
        if delta != 0 {
            effects.push(Effect::Qty { location: target.location.clone(), bucket: Bucket::Inbound, delta });
            effects.push(Effect::Expected {
                location: target.location.clone(),
                reference: target.reference.clone(),
                delta,
            });
        }
        let event = Event::InboundExpected {
            location: target.location,
            reference: target.reference,
            qty: target.qty,
            expected_on: date_then,
        };
        let entry = self.entry(event, effects, ctx);
        self.apply(catalog, &entry)?;
        debug_assert_eq!(self.expected(key.0.as_str(), &key.1), target.qty);
        Ok(Some(entry))
    }

    /// When what is expected under `reference` at `location` is due, if the expectation has a date
    /// (a transfer's has none).
    pub fn expected_on(&self, location: &Id, reference: &str) -> Option<NaiveDate> {
        self.expected_on.get(&(location.clone(), reference.to_string())).copied()
    }
}

impl SkuLedger {
    /// A purchase order's receipt at one location: `into_stock` units to sellable stock and
    /// `into_quarantine` to quarantine, each a `receive` with the order as reference (so each
    /// settles inbound). All or nothing: everything is checked before the first entry.
    ///
    /// With `unit_cost` (the order's price in the base currency) the SKU's moving-average unit
    /// cost takes the arriving units in, in an entry of its own when it changes; with
    /// `expected_on` (the earliest date still open on the order here) what stays expected moves
    /// to that date.
    pub fn receive_from_order(
        &mut self,
        catalog: &Catalog,
        receipt: &OrderReceipt,
        ctx: &Ctx,
    ) -> Result<Vec<Entry>, EngineError> {
        let OrderReceipt { reference, location, into_stock, into_quarantine, unit_cost, expected_on } = receipt;
        let (reference, into_stock, into_quarantine, unit_cost) =
            (reference.as_str(), *into_stock, *into_quarantine, *unit_cost);
        self.policy_or_not_found()?;
        let slot = catalog.slot_or_not_found(location.as_str())?;
        check_text("reference", reference)?;
        for (field, qty) in [("into_stock", into_stock), ("into_quarantine", into_quarantine)] {
            if !(0..=QTY_REQUEST_MAX).contains(&qty) {
                return Err(EngineError::invalid(field, format!("must be a whole number 0..={QTY_REQUEST_MAX}")));
            }
        }
        if into_stock + into_quarantine == 0 {
            return Err(EngineError::invalid("into_stock", "a receipt brings at least one unit"));
        }
        if unit_cost.is_some_and(Money::is_negative) {
            return Err(EngineError::invalid("unit_cost", "cannot be negative"));
        }
        let on_hand_before = self.on_hand_total();
        let position = self.position(slot);
        if position.on_hand + into_stock + into_quarantine > QTY_STORED_MAX {
            return Err(EngineError::invalid("into_stock", format!("on_hand would pass {QTY_STORED_MAX}")));
        }
        let mut entries = Vec::with_capacity(2);
        for (qty, into) in [(into_stock, ReceiveInto::Stock), (into_quarantine, ReceiveInto::Quarantine)] {
            if qty == 0 {
                continue;
            }
            let movement = Movement {
                kind: MovementKind::Receive,
                into: Some(into),
                disposition: None,
                location: location.clone(),
                qty,
                to_location: None,
                reason: None,
                reference: Some(reference.to_string()),
                counted_at_version: None,
                includes_versions: Vec::new(),
            };
            let outcome = self.record_movement(catalog, movement, ctx);
            // Checked above: a receive of a checked quantity into a known location cannot fail.
            entries.push(outcome.expect("a checked receive is recorded").entry);
        }
        let still_expected = self.expected(location.as_str(), reference);
        if still_expected > 0 && expected_on.is_some() && self.expected_on(location, reference) != *expected_on {
            let target = InboundTarget {
                location: location.clone(),
                reference: reference.to_string(),
                qty: still_expected,
                expected_on: *expected_on,
            };
            entries.extend(self.expect_inbound(catalog, target, ctx)?);
        }
        if let Some(unit_cost) = unit_cost {
            let average = self.policy().and_then(|p| p.unit_cost);
            let next = moving_average(on_hand_before, average, into_stock + into_quarantine, unit_cost);
            if Some(next) != average {
                let event = Event::CostRevalued { unit_cost: next, reference: reference.to_string() };
                let entry = self.entry(event, Vec::new(), ctx);
                self.apply(catalog, &entry)?;
                entries.push(entry);
            }
        }
        assert!(!entries.is_empty() && entries.len() <= 4);
        Ok(entries)
    }

    /// An invoice's landed cost for `qty` units that arrived earlier: `delta_per_unit` (landed
    /// less the price they arrived at, base currency) revalues only the units still on hand.
    /// `None` when nothing changes (no cost yet, nothing on hand, or a zero difference).
    pub fn revalue(
        &mut self,
        catalog: &Catalog,
        reference: &str,
        qty: i64,
        delta_per_unit: Money,
        ctx: &Ctx,
    ) -> Result<Option<Entry>, EngineError> {
        let policy = self.policy_or_not_found()?;
        check_text("reference", reference)?;
        if !(1..=QTY_REQUEST_MAX).contains(&qty) {
            return Err(EngineError::invalid("qty", format!("must be 1..={QTY_REQUEST_MAX}")));
        }
        let Some(average) = policy.unit_cost else { return Ok(None) };
        let (next, _to_cost_of_goods_sold) = true_up(self.on_hand_total(), average, qty, delta_per_unit);
        if next == average {
            return Ok(None);
        }
        let event = Event::CostRevalued { unit_cost: next, reference: reference.to_string() };
        let entry = self.entry(event, Vec::new(), ctx);
        self.apply(catalog, &entry)?;
        Ok(Some(entry))
    }

    /// Units on hand over every location.
    pub fn on_hand_total(&self) -> i64 {
        self.positions.iter().map(|p| p.on_hand).sum()
    }
}
