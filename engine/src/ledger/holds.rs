//! Deciding: holds (reservations on one SKU), placed, prepared, committed, released, expired.

use super::*;

impl SkuLedger {
    /// Places a pending hold, all lines or none. Lines are checked in order against what the
    /// earlier lines of the same request already took.
    pub fn place_hold(&mut self, catalog: &Catalog, request: HoldRequest, ctx: &Ctx) -> Result<Entry, EngineError> {
        let entry = self.plan_hold(catalog, request, ctx)?;
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// The pending hold this very request placed before: same id, channel, reference and
    /// requested lines (the expiry is the retry's own and is not compared). A host whose answer
    /// was lost (a crash between the hold and its record) asks again and gets the hold it made,
    /// as TigerBeetle answers `exists` for a transfer created twice; any other request for a
    /// taken id is still refused by `place_hold`.
    pub fn placed_hold(&self, request: &HoldRequest) -> Option<&Hold> {
        let hold = self.holds.get(request.id.as_str())?;
        let requested =
            |lines: &[HoldLineRequest]| lines.iter().map(|l| (l.qty, l.location.clone())).collect::<Vec<_>>();
        let held: Vec<(i64, Option<Id>)> = hold.lines.iter().map(|l| (l.qty, l.location.clone())).collect();
        let same = hold.status == HoldStatus::Pending
            && hold.channel == request.channel
            && hold.reference == request.reference
            && held == requested(&request.lines);
        same.then_some(hold)
    }

    /// Decides a hold without placing it: the entry `place_hold` would apply, or why it cannot.
    /// A coordinator uses it to report every SKU's shortage once one SKU fell short.
    pub fn plan_hold(&self, catalog: &Catalog, request: HoldRequest, ctx: &Ctx) -> Result<Entry, EngineError> {
        self.policy_or_not_found()?;
        if request.lines.is_empty() || request.lines.len() > LINES_MAX {
            return Err(EngineError::invalid("lines", format!("must hold 1..={LINES_MAX} lines")));
        }
        if request.expires_at <= ctx.now {
            return Err(EngineError::invalid("ttl_seconds", "the hold would expire before it is placed"));
        }
        if let Some(reference) = &request.reference {
            check_text("reference", reference)?;
        }
        if self.hold_status(request.id.as_str()).is_some() {
            return Err(EngineError::conflict(format!("reservation `{}` already exists", request.id)));
        }
        if self.holds.len() >= OPEN_HOLDS_MAX {
            return Err(EngineError::conflict(format!("this SKU already has {OPEN_HOLDS_MAX} open reservations")));
        }
        let channel = match &request.channel {
            Some(id) => Some(catalog.channel_or_not_found(id.as_str())?),
            None => None,
        };
        let slots: &[u32] = match channel {
            Some(view) => &view.slots,
            None => catalog.ordered_slots(),
        };
        let (buffer, cap, stop_below) = match channel {
            Some(view) => (view.channel.buffer, view.channel.cap, view.channel.stop_below),
            None => (0, None, None),
        };
        let safety_stock = self.safety_stock();
        // Units taken by earlier lines of this request, per slot.
        let mut taken: Vec<(u32, i64)> = Vec::new();
        let taken_at =
            |taken: &Vec<(u32, i64)>, slot: u32| taken.iter().find(|(s, _)| *s == slot).map_or(0, |(_, qty)| *qty);
        let mut lines = Vec::with_capacity(request.lines.len());
        let mut shortages = Vec::new();
        for line in &request.lines {
            check_request_qty("qty", line.qty)?;
            let pinned = match &line.location {
                Some(location) => {
                    let slot = catalog.slot_or_not_found(location.as_str())?;
                    if !slots.contains(&slot) {
                        return Err(EngineError::invalid(
                            "location",
                            format!("location `{location}` is not one of the channel's locations"),
                        ));
                    }
                    Some(slot)
                }
                None => None,
            };
            let available_at =
                |slot: u32, taken: &Vec<(u32, i64)>| (self.position(slot).free() - taken_at(taken, slot)).max(0);
            let sum: i64 = slots.iter().map(|&slot| available_at(slot, &taken)).sum();
            let mut limit = channel_available(sum, safety_stock, buffer, cap, stop_below);
            if let Some(slot) = pinned {
                limit = limit.min(available_at(slot, &taken));
            }
            if line.qty > limit {
                shortages.push(Shortage { sku: self.sku.to_string(), requested: line.qty, available: limit });
                continue;
            }
            let mut allocations = Vec::new();
            let mut remaining = line.qty;
            let order: &[u32] = match &pinned {
                Some(slot) => std::slice::from_ref(slot),
                None => slots,
            };
            for &slot in order {
                if remaining == 0 {
                    break;
                }
                let take = available_at(slot, &taken).min(remaining);
                if take == 0 {
                    continue;
                }
                remaining -= take;
                match taken.iter_mut().find(|(s, _)| *s == slot) {
                    Some(entry) => entry.1 += take,
                    None => taken.push((slot, take)),
                }
                allocations.push(Allocation { location: catalog.location(slot).id.clone(), qty: take });
            }
            assert_eq!(remaining, 0, "channel available never exceeds the sum of location available");
            lines.push(HoldLine { qty: line.qty, location: line.location.clone(), allocations });
        }
        if !shortages.is_empty() {
            return Err(EngineError::InsufficientStock { shortages });
        }
        let effects = taken
            .iter()
            .map(|&(slot, qty)| Effect::Qty {
                location: catalog.location(slot).id.clone(),
                bucket: Bucket::Reserved,
                delta: qty,
            })
            .collect();
        let hold = Hold {
            id: request.id,
            status: HoldStatus::Pending,
            channel: request.channel,
            reference: request.reference,
            placed_at: ctx.now,
            expires_at: request.expires_at,
            lines,
            allocated: Vec::new(),
            prepared: false,
        };
        Ok(self.entry(Event::HoldPlaced { hold }, effects, ctx))
    }

    /// The hold if it is pending at `now`: a prepared hold is, whatever the time.
    fn pending_hold(&self, id: &str, now: DateTime<Utc>) -> Result<&Hold, EngineError> {
        match self.holds.get(id) {
            Some(hold) if hold.is_expired_at(now) => Err(EngineError::AlreadyResolved { status: HoldStatus::Expired }),
            Some(hold) if hold.status == HoldStatus::Pending => Ok(hold),
            Some(hold) => Err(EngineError::AlreadyResolved { status: hold.status }),
            None => match self.resolved.get(id) {
                Some(&status) => Err(EngineError::AlreadyResolved { status }),
                None => Err(EngineError::not_found("reservation", id)),
            },
        }
    }

    /// Prepares a pending, unexpired hold for a coordinator's commit across SKUs (two-phase commit,
    /// presumed abort): from now on it does not expire and only `commit_hold` or `release_hold` end
    /// it. `Ok(None)` when it is already prepared (a retried prepare changes nothing).
    pub fn prepare_hold(&mut self, catalog: &Catalog, id: &str, ctx: &Ctx) -> Result<Option<Entry>, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        if hold.prepared {
            return Ok(None);
        }
        let entry = self.entry(Event::HoldPrepared { reservation: hold.id.clone() }, Vec::new(), ctx);
        self.apply(catalog, &entry)?;
        Ok(Some(entry))
    }

    /// Commits a pending hold (prepared or not): `qty` units (all when None) move to allocated,
    /// the rest is released.
    pub fn commit_hold(
        &mut self,
        catalog: &Catalog,
        id: &str,
        qty: Option<i64>,
        ctx: &Ctx,
    ) -> Result<Entry, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        let held = hold.qty();
        let mut to_commit = qty.unwrap_or(held);
        if !(0..=held).contains(&to_commit) {
            return Err(EngineError::invalid("qty", format!("can commit 0..={held} units of `{}`", self.sku)));
        }
        let mut effects = Vec::new();
        for allocation in hold.held_by_location() {
            let committed = allocation.qty.min(to_commit);
            to_commit -= committed;
            effects.push(Effect::Qty {
                location: allocation.location.clone(),
                bucket: Bucket::Reserved,
                delta: -allocation.qty,
            });
            if committed > 0 {
                effects.push(Effect::Qty {
                    location: allocation.location,
                    bucket: Bucket::Allocated,
                    delta: committed,
                });
            }
        }
        assert_eq!(to_commit, 0);
        let entry = self.entry(Event::HoldCommitted { reservation: hold.id.clone() }, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Releases a pending hold, prepared or not (void).
    pub fn release_hold(&mut self, catalog: &Catalog, id: &str, ctx: &Ctx) -> Result<Entry, EngineError> {
        let hold = self.pending_hold(id, ctx.now)?;
        let effects = Self::release_effects(hold);
        let entry = self.entry(Event::HoldReleased { reservation: hold.id.clone() }, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    /// Gives `qty` units a committed hold allocated at `location` back to available (the order
    /// they were for was cancelled). Refused beyond what the hold still has allocated there, so
    /// a repeat after all was given back changes nothing twice.
    pub fn release_allocation(
        &mut self,
        catalog: &Catalog,
        id: &str,
        location: &Id,
        qty: i64,
        ctx: &Ctx,
    ) -> Result<Entry, EngineError> {
        if !(1..=QTY_REQUEST_MAX).contains(&qty) {
            return Err(EngineError::invalid("qty", format!("must be 1..={QTY_REQUEST_MAX}")));
        }
        catalog.slot_or_not_found(location.as_str())?;
        let allocated = match self.holds.get(id) {
            Some(hold) if hold.status == HoldStatus::Committed => hold.allocated_at(location.as_str()),
            Some(_) => {
                return Err(EngineError::conflict(format!("reservation `{id}` is not committed: release it instead")))
            }
            None => match self.resolved.get(id) {
                Some(_) => 0,
                None => return Err(EngineError::not_found("reservation", id)),
            },
        };
        if qty > allocated {
            return Err(EngineError::conflict(format!(
                "reservation `{id}` has {allocated} allocated at `{location}`, cannot release {qty}"
            )));
        }
        let effects = vec![Effect::Qty { location: location.clone(), bucket: Bucket::Allocated, delta: -qty }];
        let event = Event::AllocationReleased { reservation: Id::new(id)?, location: location.clone(), qty };
        let entry = self.entry(event, effects, ctx);
        self.apply(catalog, &entry)?;
        Ok(entry)
    }

    fn release_effects(hold: &Hold) -> Vec<Effect> {
        hold.held_by_location()
            .into_iter()
            .map(|a| Effect::Qty { location: a.location, bucket: Bucket::Reserved, delta: -a.qty })
            .collect()
    }

    /// Expires every pending hold whose `expires_at` is at or before `now`, earliest first.
    /// Prepared holds are not in the index and never expire.
    /// Cost grows with the holds expired, not with the holds open.
    pub fn expire_due(&mut self, catalog: &Catalog, now: DateTime<Utc>) -> Vec<Entry> {
        let now_ms = now.timestamp_millis();
        let ctx = Ctx::new(Actor::system(), now);
        let mut entries = Vec::new();
        while let Some((expires_at_ms, id)) = self.expiry_index.first().cloned() {
            if expires_at_ms > now_ms {
                break;
            }
            let hold = &self.holds[&id];
            assert_eq!(hold.status, HoldStatus::Pending, "only pending holds are in the expiry index");
            assert!(!hold.prepared, "prepared holds are not in the expiry index");
            let effects = Self::release_effects(hold);
            let mut entry = self.entry(Event::HoldExpired { reservation: id }, effects, &ctx);
            entry.occurred_at = hold.expires_at;
            self.apply(catalog, &entry).expect("expiring a pending hold always applies");
            entries.push(entry);
        }
        entries
    }
}
