//! Applying entries: the only code that changes state, used by every decision and by replay.

use super::*;

impl SkuLedger {
    /// Adds an entry's effects to the state. Used by every decision and by replay.
    pub fn apply(&mut self, catalog: &Catalog, entry: &Entry) -> Result<(), EngineError> {
        if entry.version != self.version + 1 {
            return Err(EngineError::conflict(format!(
                "entry version {} does not follow version {}",
                entry.version, self.version
            )));
        }
        let tracks_history = match &entry.event {
            Event::Movement { movement, .. } => movement.kind != MovementKind::Count,
            _ => false,
        };
        for effect in &entry.effects {
            match effect {
                Effect::Qty { location, bucket, delta } => {
                    let slot = catalog.slot_or_not_found(location.as_str())? as usize;
                    if self.positions.len() <= slot {
                        self.positions.resize(slot + 1, Position::default());
                        self.history.resize(slot + 1, OnHandHistory::default());
                    }
                    let value = self.positions[slot].get_mut(*bucket);
                    *value += delta;
                    assert!(*value >= 0 && *value <= QTY_STORED_MAX, "{} at {location} out of range", bucket.as_str());
                    if *bucket == Bucket::OnHand && tracks_history {
                        self.history[slot].record(entry.version, *delta);
                    }
                }
                Effect::Expected { location, reference, delta } => {
                    let key = (location.clone(), reference.clone());
                    let value = self.expected.entry(key.clone()).or_insert(0);
                    *value += delta;
                    assert!(*value >= 0);
                    if *value == 0 {
                        self.expected.remove(&key);
                        self.expected_on.remove(&key);
                    }
                }
            }
        }
        match &entry.event {
            Event::SkuDefined { name, safety_stock, unit_cost, barcodes, critical, substitutes } => {
                self.policy = Some(SkuPolicy {
                    name: name.clone(),
                    safety_stock: *safety_stock,
                    unit_cost: *unit_cost,
                    barcodes: barcodes.clone(),
                    critical: *critical,
                    substitutes: substitutes.clone(),
                });
            }
            Event::Movement { movement, exceptions } => {
                if movement.kind == MovementKind::Count {
                    let slot = catalog.slot_or_not_found(movement.location.as_str())? as usize;
                    if self.positions.len() <= slot {
                        self.positions.resize(slot + 1, Position::default());
                        self.history.resize(slot + 1, OnHandHistory::default());
                    }
                    assert!(self.history[slot].last_count_version < entry.version);
                    self.history[slot].last_count_version = entry.version;
                }
                if movement.kind == MovementKind::Ship {
                    let reference = movement.reference.as_deref().expect("a ship has a reference");
                    let hold = self.holds.get_mut(reference).expect("a ship draws on an open committed hold");
                    let allocation = hold
                        .allocated
                        .iter_mut()
                        .find(|a| a.location == movement.location)
                        .expect("a ship draws on an allocation at its location");
                    allocation.qty -= movement.qty;
                    assert!(allocation.qty >= 0);
                    hold.allocated.retain(|a| a.qty > 0);
                    if hold.allocated.is_empty() {
                        self.retire(reference, HoldStatus::Committed);
                    }
                }
                for exception in exceptions {
                    if self.exceptions.len() == EXCEPTIONS_OPEN_MAX {
                        self.exceptions.pop_front();
                    }
                    self.exceptions.push_back(exception.clone());
                }
            }
            Event::HoldPlaced { hold } => {
                assert_eq!(hold.status, HoldStatus::Pending);
                assert!(!hold.prepared, "a hold is placed unprepared");
                assert!(entry.effects.iter().all(|e| matches!(e, Effect::Qty { bucket: Bucket::Reserved, .. })));
                self.expiry_index.insert((hold.expires_at_ms(), hold.id.clone()));
                self.pending_count += 1;
                let previous = self.holds.insert(hold.id.clone(), hold.clone());
                assert!(previous.is_none(), "a hold is placed once");
            }
            Event::HoldPrepared { reservation } => {
                assert!(entry.effects.is_empty(), "preparing a hold moves no units");
                let hold = self.holds.get_mut(reservation).expect("prepare names an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "only a pending hold is prepared");
                assert!(!hold.prepared, "a hold is prepared once");
                hold.prepared = true;
                let removed = self.expiry_index.remove(&(hold.expires_at_ms(), hold.id.clone()));
                assert!(removed, "an unprepared pending hold is in the expiry index");
                self.prepared_count += 1;
            }
            Event::HoldCommitted { reservation } => {
                let hold = self.holds.get_mut(reservation).expect("commit resolves an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "a hold resolves exactly once");
                let prepared = std::mem::take(&mut hold.prepared);
                hold.status = HoldStatus::Committed;
                hold.allocated = entry
                    .effects
                    .iter()
                    .filter_map(|effect| match effect {
                        Effect::Qty { location, bucket: Bucket::Allocated, delta } => {
                            Some(Allocation { location: location.clone(), qty: *delta })
                        }
                        _ => None,
                    })
                    .collect();
                let key = (hold.expires_at_ms(), hold.id.clone());
                let empty = hold.allocated.is_empty();
                self.unindex_pending(key, prepared);
                if empty {
                    self.retire(reservation.as_str(), HoldStatus::Committed);
                }
            }
            Event::HoldReleased { reservation } | Event::HoldExpired { reservation } => {
                let status = match entry.event {
                    Event::HoldReleased { .. } => HoldStatus::Released,
                    _ => HoldStatus::Expired,
                };
                let (id, hold) = self.holds.remove_entry(reservation).expect("release resolves an open hold");
                assert_eq!(hold.status, HoldStatus::Pending, "a hold resolves exactly once");
                assert!(status != HoldStatus::Expired || !hold.prepared, "a prepared hold never expires");
                let key = (hold.expires_at_ms(), id);
                self.unindex_pending(key.clone(), hold.prepared);
                self.remember_resolved(key.1, status);
            }
            Event::AllocationReleased { reservation, location, qty } => {
                assert!(
                    entry
                        .effects
                        .iter()
                        .all(|e| matches!(e, Effect::Qty { bucket: Bucket::Allocated, delta, .. } if *delta == -qty)),
                    "a released allocation moves its units out of allocated"
                );
                let hold =
                    self.holds.get_mut(reservation).expect("an allocation is released from an open committed hold");
                assert_eq!(hold.status, HoldStatus::Committed);
                let allocation = hold
                    .allocated
                    .iter_mut()
                    .find(|a| a.location == *location)
                    .expect("an allocation is released where it is");
                allocation.qty -= qty;
                assert!(allocation.qty >= 0);
                hold.allocated.retain(|a| a.qty > 0);
                if hold.allocated.is_empty() {
                    self.retire(reservation.as_str(), HoldStatus::Committed);
                }
            }
            Event::CostRevalued { unit_cost, .. } => {
                let policy = self.policy.as_mut().expect("only a defined SKU is revalued");
                assert!(!unit_cost.is_negative());
                policy.unit_cost = Some(*unit_cost);
            }
            Event::InboundExpected { location, reference, qty, expected_on } => {
                let key = (location.clone(), reference.clone());
                assert_eq!(self.expected.get(&key).copied().unwrap_or(0), *qty, "the effects reach the target");
                match expected_on {
                    Some(date) if *qty > 0 => {
                        self.expected_on.insert(key, *date);
                    }
                    _ => {
                        self.expected_on.remove(&key);
                    }
                }
            }
        }
        self.version = entry.version;
        assert!(self.prepared_count <= self.pending_count);
        debug_assert_eq!(self.pending_count, self.expiry_index.len() + self.prepared_count);
        Ok(())
    }

    /// Forgets a pending hold that was just resolved: from the expiry index, or the prepared count.
    fn unindex_pending(&mut self, key: (i64, Id), prepared: bool) {
        if prepared {
            assert!(self.prepared_count > 0);
            self.prepared_count -= 1;
        } else {
            let removed = self.expiry_index.remove(&key);
            assert!(removed, "an unprepared pending hold is in the expiry index");
        }
        assert!(self.pending_count > 0);
        self.pending_count -= 1;
    }

    /// Removes an open hold and remembers how it was resolved.
    fn retire(&mut self, id: &str, status: HoldStatus) {
        let (id, _) = self.holds.remove_entry(id).expect("only an open hold is retired");
        self.remember_resolved(id, status);
    }

    fn remember_resolved(&mut self, id: Id, status: HoldStatus) {
        if self.resolved_order.len() == RESOLVED_REMEMBERED_MAX {
            if let Some(oldest) = self.resolved_order.pop_front() {
                self.resolved.remove(&oldest);
            }
        }
        self.resolved.insert(id.clone(), status);
        self.resolved_order.push_back(id);
    }

    /// Rebuilds a ledger from its entries alone.
    pub fn replay<'a>(
        catalog: &Catalog,
        sku: Id,
        entries: impl IntoIterator<Item = &'a Entry>,
    ) -> Result<SkuLedger, EngineError> {
        let mut ledger = SkuLedger::new(sku);
        for entry in entries {
            ledger.apply(catalog, entry)?;
        }
        Ok(ledger)
    }
}
