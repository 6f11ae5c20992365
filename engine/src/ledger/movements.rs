//! Deciding: a SKU's definition and movements.

use super::*;

impl SkuLedger {
    /// Creates or updates the SKU's policy.
    pub fn define(&mut self, catalog: &Catalog, spec: SkuSpec, ctx: &Ctx) -> Result<Entry, EngineError> {
        spec.check()?;
        if spec.substitutes.contains(self.sku()) {
            return Err(EngineError::invalid("substitutes", format!("{} cannot substitute itself", self.sku())));
        }
        // The unit cost is the ledger's moving average once receipts have set it: a definition
        // without one keeps it; one with a cost sets it (a correction by hand).
        let unit_cost = spec.unit_cost.or_else(|| self.policy().and_then(|policy| policy.unit_cost));
        let event = Event::SkuDefined {
            name: spec.name,
            safety_stock: spec.safety_stock,
            unit_cost,
            barcodes: spec.barcodes,
            critical: spec.critical,
            substitutes: spec.substitutes,
        };
        let entry = self.entry(event, Vec::new(), ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Records a movement of the contract's table. All-or-nothing: on error nothing changed.
    pub fn record_movement(
        &mut self,
        catalog: &Catalog,
        movement: Movement,
        ctx: &Ctx,
    ) -> Result<MovementOutcome, EngineError> {
        self.policy_or_not_found()?;
        let slot = catalog.slot_or_not_found(movement.location.as_str())?;
        movement.check()?;
        let qty = movement.qty;
        let location = movement.location.clone();
        let position = self.position(slot);
        let mut effects: Vec<Effect> = Vec::with_capacity(2);
        let qty_effect = |bucket: Bucket, delta: i64| Effect::Qty { location: location.clone(), bucket, delta };
        let mut exceptions = Vec::new();
        match movement.kind {
            MovementKind::Receive => {
                effects.push(qty_effect(Bucket::OnHand, qty));
                if movement.into == Some(ReceiveInto::Quarantine) {
                    effects.push(qty_effect(Bucket::Quarantined, qty));
                }
                if let Some(reference) = &movement.reference {
                    let still_expected = self.expected(location.as_str(), reference);
                    let settled = qty.min(still_expected);
                    if settled > 0 {
                        effects.push(qty_effect(Bucket::Inbound, -settled));
                        effects.push(Effect::Expected {
                            location: location.clone(),
                            reference: reference.clone(),
                            delta: -settled,
                        });
                    }
                }
            }
            MovementKind::Adjust => effects.push(qty_effect(Bucket::OnHand, qty)),
            MovementKind::Count => {
                let history = self.history.get(slot as usize);
                let on_hand_new = match movement.counted_at_version {
                    None => qty,
                    Some(seen) if seen > self.version => {
                        return Err(EngineError::invalid(
                            "counted_at_version",
                            format!("version {seen} is above the current version {}", self.version),
                        ));
                    }
                    Some(_) if movement.includes_versions.last().is_some_and(|&v| v > self.version) => {
                        return Err(EngineError::invalid(
                            "includes_versions",
                            format!("names a version above the current version {}", self.version),
                        ));
                    }
                    Some(seen) => {
                        let since = history.map_or(Some(0), |h| h.change_since(seen));
                        let included: Option<i64> = movement
                            .includes_versions
                            .iter()
                            .map(|&v| history.map_or(Some(0), |h| h.change_at(v)))
                            .sum();
                        match (since, included) {
                            (Some(since), Some(included)) => (qty + since - included).max(0),
                            _ => {
                                return Err(EngineError::conflict(format!(
                                    "version {seen} is too old to merge a count with; count again"
                                )))
                            }
                        }
                    }
                };
                let delta = on_hand_new - position.on_hand;
                if delta != 0 {
                    effects.push(qty_effect(Bucket::OnHand, delta));
                }
                let last_count_version = history.map_or(0, |h| h.last_count_version);
                match movement.counted_at_version {
                    Some(seen) if last_count_version > seen && delta != 0 => exceptions.push(CountException {
                        kind: CountExceptionKind::CountsDisagree,
                        version: self.version + 1,
                        location: location.clone(),
                        shortfall: 0,
                        holds: Vec::new(),
                        disagreement: Some(CountDisagreement {
                            other_count_version: last_count_version,
                            other_on_hand: position.on_hand,
                            this_on_hand: on_hand_new,
                        }),
                    }),
                    _ => {}
                }
                let shortfall = position.committed() - on_hand_new;
                if shortfall > 0 {
                    exceptions.push(CountException {
                        kind: CountExceptionKind::Shortfall,
                        version: self.version + 1,
                        location: location.clone(),
                        shortfall,
                        holds: self.commitments_at(location.as_str()),
                        disagreement: None,
                    });
                }
            }
            MovementKind::Ship => {
                let Some(reference) = &movement.reference else {
                    unreachable!("Movement::check: a ship names its reservation");
                };
                let allocated = match self.holds.get(reference.as_str()) {
                    Some(hold) if hold.status == HoldStatus::Committed => hold.allocated_at(location.as_str()),
                    _ => 0,
                };
                if qty > allocated {
                    return Err(EngineError::conflict(format!(
                        "reservation `{reference}` has {allocated} allocated at `{location}`, cannot ship {qty}"
                    )));
                }
                effects.push(qty_effect(Bucket::Allocated, -qty));
                effects.push(qty_effect(Bucket::OnHand, -qty));
            }
            MovementKind::Transfer => {
                let (Some(to_location), Some(reference)) = (movement.to_location.clone(), movement.reference.clone())
                else {
                    unreachable!("Movement::check: a transfer names where it goes and the transfer");
                };
                catalog.slot_or_not_found(to_location.as_str())?;
                if self.expected(to_location.as_str(), &reference) == 0 && self.expected.len() >= EXPECTATIONS_MAX {
                    return Err(EngineError::conflict(format!("at most {EXPECTATIONS_MAX} open expectations")));
                }
                effects.push(qty_effect(Bucket::OnHand, -qty));
                effects.push(Effect::Qty { location: to_location.clone(), bucket: Bucket::Inbound, delta: qty });
                effects.push(Effect::Expected { location: to_location, reference, delta: qty });
            }
            MovementKind::Quarantine => effects.push(qty_effect(Bucket::Quarantined, qty)),
            MovementKind::ReleaseQuarantine => effects.push(qty_effect(Bucket::Quarantined, -qty)),
            MovementKind::Damage => effects.push(qty_effect(Bucket::Damaged, qty)),
            MovementKind::Scrap => {
                effects.push(qty_effect(Bucket::Damaged, -qty));
                effects.push(qty_effect(Bucket::OnHand, -qty));
            }
            MovementKind::ReturnExpected => effects.push(qty_effect(Bucket::ReturnPending, qty)),
            MovementKind::ReturnReceive => {
                effects.push(qty_effect(Bucket::ReturnPending, -qty));
                effects.push(qty_effect(Bucket::OnHand, qty));
                match movement.disposition.unwrap_or(Disposition::Restock) {
                    Disposition::Restock => {}
                    Disposition::Quarantine => effects.push(qty_effect(Bucket::Quarantined, qty)),
                    Disposition::Damage => effects.push(qty_effect(Bucket::Damaged, qty)),
                }
            }
        }
        if movement.kind != MovementKind::Count {
            self.check_effects(catalog, &effects)?;
        }
        let event = Event::Movement { movement, exceptions: exceptions.clone() };
        let entry = self.entry(event, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(MovementOutcome { entry, exceptions })
    }

    /// Rejects effects that would make a bucket negative or leave stock uncovered (or worse covered).
    fn check_effects(&self, catalog: &Catalog, effects: &[Effect]) -> Result<(), EngineError> {
        let mut touched: Vec<(u32, Position)> = Vec::with_capacity(2);
        for effect in effects {
            let Effect::Qty { location, bucket, delta } = effect else { continue };
            let slot = catalog.slot_or_not_found(location.as_str())?;
            let index = match touched.iter().position(|(s, _)| *s == slot) {
                Some(index) => index,
                None => {
                    touched.push((slot, self.position(slot)));
                    touched.len() - 1
                }
            };
            let value = touched[index].1.get_mut(*bucket);
            *value += delta;
            if !check_stored(*value) {
                return Err(EngineError::conflict(format!("{} at `{location}` would exceed ±2^53−1", bucket.as_str())));
            }
        }
        for (slot, after) in &touched {
            let location = &catalog.location(*slot).id;
            for bucket in Bucket::ALL {
                if after.get(bucket) < 0 {
                    return Err(EngineError::conflict(format!(
                        "{} at `{location}` would become {}",
                        bucket.as_str(),
                        after.get(bucket)
                    )));
                }
            }
            let before = self.position(*slot);
            if after.free() < 0 && after.free() < before.free() {
                return Err(EngineError::conflict(format!(
                    "on_hand at `{location}` would be {} but {} is quarantined, damaged, reserved or allocated",
                    after.on_hand,
                    after.committed()
                )));
            }
        }
        Ok(())
    }

    fn commitments_at(&self, location: &str) -> Vec<HoldShare> {
        let mut shares: Vec<HoldShare> = self
            .holds
            .values()
            .filter_map(|hold| {
                let qty = match hold.status {
                    HoldStatus::Pending => hold
                        .lines
                        .iter()
                        .flat_map(|line| &line.allocations)
                        .filter(|a| a.location.as_str() == location)
                        .map(|a| a.qty)
                        .sum(),
                    _ => hold.allocated_at(location),
                };
                (qty > 0).then(|| HoldShare { reservation: hold.id.clone(), status: hold.status, qty })
            })
            .collect();
        shares.sort_by(|a, b| a.reservation.cmp(&b.reservation));
        shares.truncate(LINES_MAX);
        shares
    }
}
