//! Reads: available to promise, and the contract's availability answer.

use super::*;

/// One location's line in an availability answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationAvailability {
    pub location: Id,
    pub available: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub quarantined: i64,
    pub damaged: i64,
    pub inbound: i64,
    pub return_pending: i64,
}

/// The contract's availability answer (the host adds `as_of`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub sku: Id,
    pub channel: Option<Id>,
    pub available: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub allocated: i64,
    pub quarantined: i64,
    pub damaged: i64,
    pub inbound: i64,
    pub return_pending: i64,
    pub safety_stock: i64,
    pub version: u64,
    pub locations: Vec<LocationAvailability>,
}

impl SkuLedger {
    /// The number a storefront promises: channel available (or all locations minus safety stock).
    pub fn available_to_promise(&self, catalog: &Catalog, channel: Option<&str>) -> Result<i64, EngineError> {
        let (slots, buffer, cap, stop_below) = match channel {
            Some(id) => {
                let view = catalog.channel_or_not_found(id)?;
                (&view.slots[..], view.channel.buffer, view.channel.cap, view.channel.stop_below)
            }
            None => (catalog.ordered_slots(), 0, None, None),
        };
        let sum: i64 = slots.iter().map(|&slot| self.position(slot).available()).sum();
        Ok(channel_available(sum, self.safety_stock(), buffer, cap, stop_below))
    }

    /// The contract's availability answer for this SKU.
    pub fn availability(&self, catalog: &Catalog, channel: Option<&str>) -> Result<Availability, EngineError> {
        let policy = self.policy_or_not_found()?;
        let view = match channel {
            Some(id) => Some(catalog.channel_or_not_found(id)?),
            None => None,
        };
        let (slots, buffer, cap, stop_below) = match view {
            Some(view) => (&view.slots[..], view.channel.buffer, view.channel.cap, view.channel.stop_below),
            None => (catalog.ordered_slots(), 0, None, None),
        };
        let mut total = Position::default();
        let mut sum_available = 0;
        let mut locations = Vec::with_capacity(slots.len());
        for &slot in slots {
            let p = self.position(slot);
            total.add(&p);
            sum_available += p.available();
            locations.push(LocationAvailability {
                location: catalog.location(slot).id.clone(),
                available: p.available(),
                on_hand: p.on_hand,
                reserved: p.reserved,
                allocated: p.allocated,
                quarantined: p.quarantined,
                damaged: p.damaged,
                inbound: p.inbound,
                return_pending: p.return_pending,
            });
        }
        Ok(Availability {
            sku: self.sku.clone(),
            channel: view.map(|view| view.channel.id.clone()),
            available: channel_available(sum_available, policy.safety_stock, buffer, cap, stop_below),
            on_hand: total.on_hand,
            reserved: total.reserved,
            allocated: total.allocated,
            quarantined: total.quarantined,
            damaged: total.damaged,
            inbound: total.inbound,
            return_pending: total.return_pending,
            safety_stock: policy.safety_stock,
            version: self.version,
            locations,
        })
    }
}
