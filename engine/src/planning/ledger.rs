//! A SKU's plans from its ledger: what goes into a plan (stock summed over the locations planned
//! for, open inbound, demand so far today, what other locations can spare) and which locations a
//! refresh plans one by one. Hosts load the ledger and the history; the choices are made here.

use super::expedite::ExpediteRequest;
use super::history::DemandHistory;
use super::plan::{Elsewhere, Inbound, PlanBasis};
use super::policy::PlanningPolicy;
use crate::catalog::Catalog;
use crate::error::EngineError;
use crate::ids::Id;
use crate::ledger::{Effect, Entry, SkuLedger};
use crate::limits::PLAN_LOCATIONS_MAX;
use crate::position::Bucket;
use crate::position::Position;
use chrono::NaiveDate;

/// Days of a location's demand that say what it sells a day, when others ask what it can spare.
pub const RECENT_DEMAND_DAYS: i32 = 28;

/// What the SKU's plans on `today` are computed from (`PlanBasis::plan` gives each plan; its
/// forecast is not chosen yet: see `PlanBasis::with_forecast`). One per scope: the SKU over every
/// location (`None`) or at one. `expedites`: the escalated order lines waiting for it, the oldest
/// first (the plan over every location shows them).
#[allow(clippy::too_many_arguments)]
pub fn bases(
    ledger: &SkuLedger,
    catalog: &Catalog,
    policy: Option<&PlanningPolicy>,
    history: &DemandHistory,
    today: NaiveDate,
    scopes: &[Option<Id>],
    expedites: &[ExpediteRequest],
) -> Result<Vec<PlanBasis>, EngineError> {
    if !ledger.is_defined() {
        return Err(EngineError::not_found("sku", ledger.sku().as_str()));
    }
    let policy = policy.ok_or_else(|| EngineError::not_found("policy", ledger.sku().as_str()))?;
    let lead_time = policy.lead_time(catalog)?;
    let yesterday = today.pred_opt().ok_or_else(|| EngineError::invalid("today", "has no day before it"))?;
    // Every location with free stock, and what it sells a day: a location's plan may borrow from it.
    let elsewhere: Vec<Elsewhere> = catalog
        .locations()
        .iter()
        .enumerate()
        .filter_map(|(slot, location)| {
            let free = ledger.position(slot as u32).free();
            (free > 0).then(|| Elsewhere {
                location: location.id.clone(),
                free,
                mean_daily: history.mean_daily(location.id.as_str(), yesterday, RECENT_DEMAND_DAYS),
            })
        })
        .collect();
    let mut out = Vec::with_capacity(scopes.len());
    for location in scopes {
        let slots: Vec<u32> = match location {
            Some(location) => vec![catalog.slot_or_not_found(location.as_str())?],
            None => (0..catalog.location_count() as u32).collect(),
        };
        let mut stock = Position::default();
        for &slot in &slots {
            stock.add(&ledger.position(slot));
        }
        let series_key = location.as_ref().map(Id::as_str);
        let (history_first, series) = history.series(series_key, yesterday);
        let inbound: Vec<Inbound> = ledger
            .expectations()
            .filter(|(at, _, _)| location.as_ref().is_none_or(|location| *at == location))
            .map(|(at, reference, qty)| Inbound {
                location: at.clone(),
                reference: reference.to_string(),
                qty,
                expected_on: ledger.expected_on(at, reference),
            })
            .collect();
        out.push(PlanBasis {
            sku: ledger.sku().clone(),
            location: location.clone(),
            elsewhere: if location.is_some() { elsewhere.clone() } else { Vec::new() },
            today,
            policy: policy.clone(),
            lead_time: lead_time.clone(),
            history_first,
            history: series,
            stock,
            inbound,
            demand_today: history.on(series_key, today),
            unit_cost: ledger.policy().and_then(|p| p.unit_cost),
            expedites: if location.is_none() { expedites.to_vec() } else { Vec::new() },
            forecast: None,
        });
    }
    Ok(out)
}

/// Whether the SKU has nothing to sell anywhere: no location has available units.
pub fn out_of_stock(ledger: &SkuLedger, catalog: &Catalog) -> bool {
    (0..catalog.location_count() as u32).all(|slot| ledger.position(slot).available() == 0)
}

/// Whether today is a stockout day, which the margin figures price as lost sales: the SKU has
/// nothing to sell anywhere, and either `entries` (a write just made) took units that could be
/// sold, or it was already out on `last_out` yesterday or today (the stockout goes on). A SKU
/// that never had units has no stockout: there were no sales to lose.
pub fn stockout_day(
    ledger: &SkuLedger,
    catalog: &Catalog,
    entries: &[Entry],
    last_out: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    let took = entries.iter().flat_map(|entry| &entry.effects).any(|effect| match effect {
        Effect::Qty { bucket: Bucket::OnHand, delta, .. } => *delta < 0,
        Effect::Qty {
            bucket: Bucket::Reserved | Bucket::Allocated | Bucket::Quarantined | Bucket::Damaged,
            delta,
            ..
        } => *delta > 0,
        _ => false,
    });
    let going_on = last_out.is_some_and(|day| day >= today - chrono::Days::new(1));
    (took || going_on) && out_of_stock(ledger, catalog)
}

/// Days of stockouts a plan refresh reports: the last week's (a refresh runs at least daily, so
/// each day is reported; a week keeps one even when refreshes are missed).
pub const STOCKOUT_REPORT_DAYS: i32 = 7;

/// What a refresh plans: the SKU over every location, then each location with stock, inbound or
/// demand of it, at most `PLAN_LOCATIONS_MAX`, in shipping order.
pub fn refresh_scopes(ledger: &SkuLedger, catalog: &Catalog, history: &DemandHistory) -> Vec<Option<Id>> {
    let locations = catalog
        .ordered_slots()
        .iter()
        .filter(|&&slot| {
            let position = ledger.position(slot);
            position.on_hand > 0 || position.inbound > 0 || history.has_series(catalog.location(slot).id.as_str())
        })
        .take(PLAN_LOCATIONS_MAX)
        .map(|&slot| Some(catalog.location(slot).id.clone()));
    std::iter::once(None).chain(locations).collect()
}
