//! Storage: everything a ledger holds as a snapshot, and back.

use super::*;

/// Everything a ledger holds, keyed by ids rather than catalog slots, for storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    pub sku: Id,
    pub policy: Option<SkuPolicy>,
    pub version: u64,
    pub positions: Vec<(Id, Position)>,
    history: Vec<(Id, OnHandHistory)>,
    pub holds: Vec<Hold>,
    pub resolved: Vec<(Id, HoldStatus)>,
    pub expected: Vec<(Id, String, i64)>,
    /// Dates of the dated expectations (absent in snapshots from before purchase orders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_on: Vec<(Id, String, chrono::NaiveDate)>,
    pub exceptions: Vec<CountException>,
}

impl SkuLedger {
    pub fn snapshot(&self, catalog: &Catalog) -> LedgerSnapshot {
        let slot_id = |slot: usize| catalog.location(slot as u32).id.clone();
        LedgerSnapshot {
            sku: self.sku.clone(),
            policy: self.policy.clone(),
            version: self.version,
            positions: self
                .positions
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.is_zero())
                .map(|(slot, p)| (slot_id(slot), *p))
                .collect(),
            history: self
                .history
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.points.is_empty() || h.last_count_version > 0)
                .map(|(slot, h)| (slot_id(slot), h.clone()))
                .collect(),
            holds: {
                let mut holds: Vec<Hold> = self.holds.values().cloned().collect();
                holds.sort_by(|a, b| a.id.cmp(&b.id));
                holds
            },
            resolved: self.resolved_order.iter().map(|id| (id.clone(), self.resolved[id])).collect(),
            expected: self.expected.iter().map(|((l, r), q)| (l.clone(), r.clone(), *q)).collect(),
            expected_on: self.expected_on.iter().map(|((l, r), d)| (l.clone(), r.clone(), *d)).collect(),
            exceptions: self.exceptions.iter().cloned().collect(),
        }
    }

    pub fn restore(catalog: &Catalog, snapshot: LedgerSnapshot) -> Result<SkuLedger, EngineError> {
        let mut ledger = SkuLedger::new(snapshot.sku);
        ledger.policy = snapshot.policy;
        ledger.version = snapshot.version;
        let size = catalog.location_count();
        ledger.positions = vec![Position::default(); size];
        ledger.history = vec![OnHandHistory::default(); size];
        for (location, position) in snapshot.positions {
            ledger.positions[catalog.slot_or_not_found(location.as_str())? as usize] = position;
        }
        for (location, history) in snapshot.history {
            ledger.history[catalog.slot_or_not_found(location.as_str())? as usize] = history;
        }
        for hold in snapshot.holds {
            if hold.status == HoldStatus::Pending {
                if hold.prepared {
                    ledger.prepared_count += 1;
                } else {
                    ledger.expiry_index.insert((hold.expires_at_ms(), hold.id.clone()));
                }
                ledger.pending_count += 1;
            } else if hold.prepared {
                return Err(EngineError::conflict(format!("snapshot: hold `{}` is prepared but not pending", hold.id)));
            }
            ledger.holds.insert(hold.id.clone(), hold);
        }
        for (id, status) in snapshot.resolved {
            ledger.resolved.insert(id.clone(), status);
            ledger.resolved_order.push_back(id);
        }
        ledger.expected = snapshot.expected.into_iter().map(|(l, r, q)| ((l, r), q)).collect();
        ledger.expected_on = snapshot.expected_on.into_iter().map(|(l, r, d)| ((l, r), d)).collect();
        if let Some(((location, reference), _)) =
            ledger.expected_on.iter().find(|(key, _)| !ledger.expected.contains_key(key))
        {
            return Err(EngineError::conflict(format!(
                "snapshot: a date for `{reference}` at `{location}` expects nothing"
            )));
        }
        ledger.exceptions = snapshot.exceptions.into();
        Ok(ledger)
    }
}
