//! Master data every SKU ledger reads: locations (with a dense slot each) and channels.
//!
//! Slots are assigned in insertion order and never reused, so a location keeps its slot for
//! the life of a catalog; positions are kept in vectors indexed by slot.

use crate::error::EngineError;
use crate::ids::{check_text, Id, IdMap};
use crate::ledger::Role;
use crate::limits::{CHANNELS_MAX, LEAD_TIME_DAYS_MAX, LOCATIONS_MAX, PRIORITY_ABS_MAX, QTY_STORED_MAX, SUPPLIERS_MAX};
use crate::planning::{LeadTime, Supplier, SupplierSpec};
use crate::procurement::Standing;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationKind {
    Warehouse,
    Store,
    #[serde(rename = "3pl")]
    ThirdParty,
    Marketplace,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Warehouse => "warehouse",
            LocationKind::Store => "store",
            LocationKind::ThirdParty => "3pl",
            LocationKind::Marketplace => "marketplace",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSpec {
    pub name: String,
    pub kind: LocationKind,
    pub region: String,
    pub priority: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(rename = "location")]
    pub id: Id,
    pub name: String,
    pub kind: LocationKind,
    pub region: String,
    pub priority: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: String,
    pub locations: Vec<Id>,
    pub buffer: i64,
    pub cap: Option<i64>,
    pub stop_below: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    #[serde(rename = "channel")]
    pub id: Id,
    pub name: String,
    pub locations: Vec<Id>,
    pub buffer: i64,
    pub cap: Option<i64>,
    pub stop_below: Option<i64>,
}

/// A channel resolved against the catalog: its slots in shipping order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    pub channel: Channel,
    pub slots: Vec<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "CatalogData", into = "CatalogData")]
pub struct Catalog {
    locations: Vec<Location>,
    slot_by_id: IdMap<u32>,
    /// All slots in shipping order: priority ascending, then id.
    ordered_slots: Vec<u32>,
    channels: Vec<ChannelView>,
    channel_by_id: IdMap<usize>,
    /// Suppliers by id (planning names them; purchase orders will too).
    suppliers: Vec<Supplier>,
    supplier_by_id: IdMap<usize>,
    /// Grows by one with every change, so hosts can tell a stale copy.
    version: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CatalogData {
    version: u64,
    locations: Vec<Location>,
    channels: Vec<Channel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    suppliers: Vec<Supplier>,
}

impl From<CatalogData> for Catalog {
    fn from(data: CatalogData) -> Catalog {
        let mut catalog = Catalog::default();
        for location in data.locations {
            catalog.insert_location(location);
        }
        for channel in data.channels {
            catalog.insert_channel(channel);
        }
        for supplier in data.suppliers {
            catalog.insert_supplier(supplier);
        }
        catalog.reindex();
        catalog.version = data.version;
        catalog
    }
}

impl From<Catalog> for CatalogData {
    fn from(catalog: Catalog) -> CatalogData {
        CatalogData {
            version: catalog.version,
            locations: catalog.locations,
            channels: catalog.channels.into_iter().map(|view| view.channel).collect(),
            suppliers: catalog.suppliers,
        }
    }
}

impl Catalog {
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn location_count(&self) -> usize {
        self.locations.len()
    }

    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().map(|view| &view.channel)
    }

    pub fn location(&self, slot: u32) -> &Location {
        &self.locations[slot as usize]
    }

    pub fn slot(&self, id: &str) -> Option<u32> {
        self.slot_by_id.get(id).copied()
    }

    pub fn slot_or_not_found(&self, id: &str) -> Result<u32, EngineError> {
        self.slot(id).ok_or_else(|| EngineError::not_found("location", id))
    }

    /// Every slot in shipping order.
    pub fn ordered_slots(&self) -> &[u32] {
        &self.ordered_slots
    }

    pub fn channel(&self, id: &str) -> Option<&ChannelView> {
        self.channel_by_id.get(id).map(|&index| &self.channels[index])
    }

    pub fn channel_or_not_found(&self, id: &str) -> Result<&ChannelView, EngineError> {
        self.channel(id).ok_or_else(|| EngineError::not_found("channel", id))
    }

    /// The stock part of the catalog (locations and channels), for a device's replica of a SKU.
    pub fn without_suppliers(&self) -> Catalog {
        let mut catalog = self.clone();
        catalog.suppliers.clear();
        catalog.supplier_by_id = IdMap::default();
        catalog
    }

    pub fn suppliers(&self) -> &[Supplier] {
        &self.suppliers
    }

    pub fn supplier(&self, id: &str) -> Option<&Supplier> {
        self.supplier_by_id.get(id).map(|&index| &self.suppliers[index])
    }

    /// Creates or replaces a supplier. Its standing is kept when the spec names none (a new one
    /// starts `good`); only an approver or an admin may change it, so the buyer who orders from a
    /// supplier cannot lift the stricter path or the block on it.
    /// Sets the lead time measured from a supplier's receipts (None: not enough yet). `None`
    /// answer: the same as before, nothing changed (the version stays).
    pub fn set_measured_lead_time(
        &mut self,
        id: &str,
        measured: Option<LeadTime>,
    ) -> Result<Option<Supplier>, EngineError> {
        let supplier = self.supplier(id).ok_or_else(|| EngineError::not_found("supplier", id))?;
        if let Some(lead) = &measured {
            let sane = |days: f64| days.is_finite() && (0.0..=LEAD_TIME_DAYS_MAX).contains(&days);
            if !sane(lead.mean_days) || !sane(lead.std_days) {
                return Err(EngineError::invalid("lead_time", format!("days must be 0..={LEAD_TIME_DAYS_MAX}")));
            }
        }
        if supplier.measured_lead_time == measured {
            return Ok(None);
        }
        let mut changed = supplier.clone();
        changed.measured_lead_time = measured;
        self.insert_supplier(changed.clone());
        self.version += 1;
        Ok(Some(changed))
    }

    pub fn put_supplier(&mut self, id: Id, spec: SupplierSpec, by: Role) -> Result<Supplier, EngineError> {
        spec.check()?;
        let existing = self.supplier(id.as_str());
        if existing.is_none() && self.suppliers.len() >= SUPPLIERS_MAX {
            return Err(EngineError::conflict(format!("a catalog holds at most {SUPPLIERS_MAX} suppliers")));
        }
        let current = existing.map_or(Standing::Good, |supplier| supplier.standing);
        let standing = spec.standing.unwrap_or(current);
        if standing != current && !matches!(by, Role::Approver | Role::Admin) {
            return Err(EngineError::forbidden(
                "supplier_standing",
                format!(
                    "a {} cannot change a supplier's standing ({} → {}): an approver or admin can",
                    by.as_str(),
                    current.as_str(),
                    standing.as_str()
                ),
            ));
        }
        let supplier = Supplier {
            id,
            name: spec.name,
            currency: spec.currency,
            lead_time_days: spec.lead_time_days,
            lead_time_std_days: spec.lead_time_std_days,
            standing,
            measured_lead_time: existing.and_then(|supplier| supplier.measured_lead_time.clone()),
        };
        self.insert_supplier(supplier.clone());
        self.version += 1;
        Ok(supplier)
    }

    fn insert_supplier(&mut self, supplier: Supplier) {
        match self.supplier_by_id.get(&supplier.id) {
            Some(&index) => self.suppliers[index] = supplier,
            None => {
                self.supplier_by_id.insert(supplier.id.clone(), self.suppliers.len());
                self.suppliers.push(supplier);
            }
        }
    }

    /// Creates or replaces a location. Returns the stored location.
    pub fn put_location(&mut self, id: Id, spec: LocationSpec) -> Result<Location, EngineError> {
        check_text("name", &spec.name)?;
        check_text("region", &spec.region)?;
        if spec.priority.abs() > PRIORITY_ABS_MAX {
            return Err(EngineError::invalid("priority", format!("must be within ±{PRIORITY_ABS_MAX}")));
        }
        if self.slot(id.as_str()).is_none() && self.locations.len() >= LOCATIONS_MAX {
            return Err(EngineError::conflict(format!("a catalog holds at most {LOCATIONS_MAX} locations")));
        }
        let location = Location { id, name: spec.name, kind: spec.kind, region: spec.region, priority: spec.priority };
        self.insert_location(location.clone());
        self.reindex();
        self.version += 1;
        Ok(location)
    }

    /// Creates or replaces a channel. Every named location must exist.
    pub fn put_channel(&mut self, id: Id, spec: ChannelSpec) -> Result<Channel, EngineError> {
        check_text("name", &spec.name)?;
        if spec.locations.is_empty() || spec.locations.len() > LOCATIONS_MAX {
            return Err(EngineError::invalid("locations", format!("must list 1..={LOCATIONS_MAX} locations")));
        }
        for (field, value) in [("buffer", Some(spec.buffer)), ("cap", spec.cap), ("stop_below", spec.stop_below)] {
            if let Some(value) = value {
                if !(0..=QTY_STORED_MAX).contains(&value) {
                    return Err(EngineError::invalid(field, "must be a whole number >= 0"));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for location in &spec.locations {
            if !seen.insert(location) {
                return Err(EngineError::invalid("locations", format!("`{location}` is listed twice")));
            }
            if self.slot(location.as_str()).is_none() {
                return Err(EngineError::invalid("locations", format!("location `{location}` does not exist")));
            }
        }
        if self.channel(id.as_str()).is_none() && self.channels.len() >= CHANNELS_MAX {
            return Err(EngineError::conflict(format!("a catalog holds at most {CHANNELS_MAX} channels")));
        }
        let channel = Channel {
            id,
            name: spec.name,
            locations: spec.locations,
            buffer: spec.buffer,
            cap: spec.cap,
            stop_below: spec.stop_below,
        };
        self.insert_channel(channel.clone());
        self.reindex();
        self.version += 1;
        Ok(channel)
    }

    fn insert_location(&mut self, location: Location) {
        match self.slot_by_id.get(&location.id) {
            Some(&slot) => self.locations[slot as usize] = location,
            None => {
                let slot = u32::try_from(self.locations.len()).expect("LOCATIONS_MAX fits u32");
                self.slot_by_id.insert(location.id.clone(), slot);
                self.locations.push(location);
            }
        }
    }

    fn insert_channel(&mut self, channel: Channel) {
        let view = ChannelView { channel, slots: Vec::new() };
        match self.channel_by_id.get(&view.channel.id) {
            Some(&index) => self.channels[index] = view,
            None => {
                self.channel_by_id.insert(view.channel.id.clone(), self.channels.len());
                self.channels.push(view);
            }
        }
    }

    /// Recomputes shipping orders after any change (priorities affect every channel).
    fn reindex(&mut self) {
        let mut ordered: Vec<u32> = (0..self.locations.len() as u32).collect();
        ordered.sort_by(|&a, &b| {
            let (la, lb) = (&self.locations[a as usize], &self.locations[b as usize]);
            la.priority.cmp(&lb.priority).then_with(|| la.id.cmp(&lb.id))
        });
        // rank[slot] = the slot's place in shipping order (a lookup, not a scan per comparison:
        // at the catalog limits a scan made every change cost seconds).
        let mut rank = vec![0_usize; ordered.len()];
        for (place, &slot) in ordered.iter().enumerate() {
            rank[slot as usize] = place;
        }
        self.ordered_slots = ordered;
        for index in 0..self.channels.len() {
            let mut slots: Vec<u32> = self.channels[index]
                .channel
                .locations
                .iter()
                .filter_map(|id| self.slot_by_id.get(id).copied())
                .collect();
            slots.sort_by_key(|&slot| rank[slot as usize]);
            self.channels[index].slots = slots;
        }
    }
}
