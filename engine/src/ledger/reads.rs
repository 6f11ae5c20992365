//! Reads: available to promise, and the contract's availability answer.

use super::*;
use crate::orders::{Incoming, Promise};

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

/// What a read covers: the slots, and the channel's rules over them (none without a channel).
struct Scope<'c> {
    slots: &'c [u32],
    buffer: i64,
    cap: Option<i64>,
    stop_below: Option<i64>,
}

impl SkuLedger {
    /// The slots a read covers and the channel's rules.
    fn scope<'c>(catalog: &'c Catalog, channel: Option<&str>) -> Result<Scope<'c>, EngineError> {
        Ok(match channel {
            Some(id) => {
                let view = catalog.channel_or_not_found(id)?;
                Scope {
                    slots: &view.slots[..],
                    buffer: view.channel.buffer,
                    cap: view.channel.cap,
                    stop_below: view.channel.stop_below,
                }
            }
            None => Scope { slots: catalog.ordered_slots(), buffer: 0, cap: None, stop_below: None },
        })
    }

    /// The number a storefront promises: channel available (or all locations minus safety stock).
    pub fn available_to_promise(&self, catalog: &Catalog, channel: Option<&str>) -> Result<i64, EngineError> {
        let Scope { slots, buffer, cap, stop_below } = Self::scope(catalog, channel)?;
        let sum: i64 = slots.iter().map(|&slot| self.position(slot).available()).sum();
        Ok(channel_available(sum, self.safety_stock(), buffer, cap, stop_below))
    }

    /// `GET /v1/availability/{sku}?qty=N`'s promise: N now as far as the channel's available
    /// goes, the rest from the inbound expected at the channel's locations, by date ("3 now, 2 by
    /// 2026-12-05"), what no dated inbound covers left unpromised.
    pub fn promise(
        &self,
        catalog: &Catalog,
        channel: Option<&str>,
        qty: i64,
        today: chrono::NaiveDate,
    ) -> Result<Promise, EngineError> {
        self.policy_or_not_found()?;
        let Scope { slots, buffer, cap, stop_below } = Self::scope(catalog, channel)?;
        let sum: i64 = slots.iter().map(|&slot| self.position(slot).available()).sum();
        let incoming: Vec<Incoming> = self
            .expected
            .iter()
            .filter(|((location, _), _)| catalog.slot(location.as_str()).is_some_and(|slot| slots.contains(&slot)))
            .map(|(key, &qty)| Incoming { qty, expected_on: self.expected_on.get(key).copied() })
            .collect();
        let safety_stock = self.safety_stock();
        crate::orders::promise(qty, &incoming, today, |extra| {
            channel_available(sum.saturating_add(extra), safety_stock, buffer, cap, stop_below)
        })
    }

    /// What a placement reads of this SKU for `channel`: what the channel may sell, by location
    /// in the channel's order, the promise for `qty`, and the substitutes its definition names.
    pub fn stock_read(
        &self,
        catalog: &Catalog,
        channel: &str,
        qty: i64,
        today: chrono::NaiveDate,
    ) -> Result<crate::orders::StockRead, EngineError> {
        let availability = self.availability(catalog, Some(channel))?;
        let promise = self.promise(catalog, Some(channel), qty, today)?;
        let locations = availability
            .locations
            .iter()
            .map(|location| crate::orders::LocationStock {
                location: location.location.clone(),
                available: location.available,
                reorder_point: None,
            })
            .collect();
        let stock = crate::orders::SkuStock { sku: self.sku.clone(), sellable: availability.available, locations };
        let substitutes = self.policy().map_or_else(Vec::new, |policy| policy.substitutes.clone());
        Ok(crate::orders::StockRead { stock, promise, substitutes })
    }

    /// The contract's availability answer for this SKU.
    pub fn availability(&self, catalog: &Catalog, channel: Option<&str>) -> Result<Availability, EngineError> {
        let policy = self.policy_or_not_found()?;
        let view = match channel {
            Some(id) => Some(catalog.channel_or_not_found(id)?),
            None => None,
        };
        let Scope { slots, buffer, cap, stop_below } = Self::scope(catalog, channel)?;
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
