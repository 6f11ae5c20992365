//! What-ifs on a plan's basis (`PlanBasis`: what a plan is computed from, on the wire), so a
//! buyer's device recomputes a SKU's plan for another service level, lead time or MOQ with this
//! same code, offline and before anything is saved.
//!
//! The forecast is chosen once, by the server, over the longest horizon a plan can have: the
//! backtest is the costly part, and none of the figures a what-if changes moves it. A plan from
//! a basis for a policy equals the plan the server computes once that policy is saved.

use super::class::classify;
use super::forecast::choose;
use super::plan::{horizon_days, plan, plan_with, Plan, PlanBasis};
use super::policy::LeadTime;
use crate::error::EngineError;
use crate::limits::{LEAD_TIME_DAYS_MAX, PLAN_HORIZON_DAYS_MAX};
use serde::{Deserialize, Serialize};

/// The figures a buyer tries before saving them; `None` keeps the policy's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub service_level: Option<f64>,
    pub lead_time_days: Option<f64>,
    pub lead_time_std_days: Option<f64>,
    pub moq: Option<i64>,
}

impl PlanBasis {
    /// Chooses the forecast once, over the longest horizon, for what-ifs to reuse.
    pub fn with_forecast(mut self) -> PlanBasis {
        let class = classify(&self.history).class;
        self.forecast = Some(choose(&self.history, class, PLAN_HORIZON_DAYS_MAX as usize));
        self
    }

    /// The plan for the basis as it is (its forecast chosen now when the basis has none).
    pub fn plan(&self) -> Plan {
        match &self.forecast {
            Some(forecast) => plan_with(self, forecast),
            None => plan(self),
        }
    }

    /// The plan had the policy these figures. Refused, as `PUT /v1/skus/{sku}/policy` would refuse
    /// them, when a figure is out of its bounds.
    pub fn what_if(&self, change: &WhatIf) -> Result<Plan, EngineError> {
        let mut policy = self.policy.clone();
        let mut lead_time = self.lead_time.clone();
        if let Some(level) = change.service_level {
            policy.service_level = level;
        }
        if let Some(moq) = change.moq {
            policy.moq = moq;
        }
        if change.lead_time_days.is_some() || change.lead_time_std_days.is_some() {
            lead_time = LeadTime {
                mean_days: change.lead_time_days.unwrap_or(lead_time.mean_days),
                std_days: change.lead_time_std_days.unwrap_or(lead_time.std_days),
                source: "what-if".to_string(),
            };
            policy.lead_time_days = Some(lead_time.mean_days);
            policy.lead_time_std_days = Some(lead_time.std_days);
        }
        policy.check_bounds()?;
        debug_assert!(lead_time.mean_days <= LEAD_TIME_DAYS_MAX && lead_time.std_days <= LEAD_TIME_DAYS_MAX);
        let forecast = self.forecast.as_ref().ok_or_else(|| EngineError::invalid("forecast", "the basis has none"))?;
        let needed_days = horizon_days(&lead_time, &policy);
        if forecast.daily.len() < needed_days {
            return Err(EngineError::invalid(
                "forecast",
                format!("covers {} days, the plan needs {needed_days}: fetch the basis again", forecast.daily.len()),
            ));
        }
        let changed = PlanBasis { policy, lead_time, forecast: None, ..self.clone() };
        Ok(plan_with(&changed, forecast))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use crate::money::Money;
    use crate::planning::plan::Inbound;
    use crate::planning::PlanningPolicy;
    use crate::position::Position;
    use chrono::NaiveDate;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    /// Twelve weeks of a weekly shape with some noise (a fixed sequence): the backtest has
    /// origins and picks a method of its own, not the mean.
    fn basis() -> PlanBasis {
        let shape = [20.0, 22.0, 25.0, 24.0, 40.0, 60.0, 15.0];
        let history: Vec<f64> = (0..84).map(|i| shape[i % 7] + f64::from((i as i32 * 37) % 11) - 5.0).collect();
        PlanBasis {
            sku: Id::new("SKU-W").expect("id"),
            location: None,
            elsewhere: Vec::new(),
            today: date("2026-12-04"),
            policy: PlanningPolicy { moq: 50, lead_time_days: Some(5.0), ..PlanningPolicy::default() },
            lead_time: LeadTime { mean_days: 5.0, std_days: 1.5, source: "policy".into() },
            history_first: Some(date("2026-09-11")),
            history,
            demand_today: 3,
            stock: Position { on_hand: 300, reserved: 20, ..Position::default() },
            inbound: vec![Inbound {
                location: Id::new("wh-1").expect("id"),
                reference: "PO-1".into(),
                qty: 120,
                expected_on: Some(date("2026-12-12")),
            }],
            unit_cost: Some(Money::parse("4.20").expect("money")),
            expedites: Vec::new(),
            forecast: None,
        }
    }

    /// The what-if on a device equals the plan the server computes once the policy is saved.
    fn check(change: WhatIf) {
        let basis = basis();
        let on_device = basis.clone().with_forecast().what_if(&change).expect("within bounds");
        let mut saved = basis.clone();
        saved.policy.service_level = change.service_level.unwrap_or(saved.policy.service_level);
        saved.policy.moq = change.moq.unwrap_or(saved.policy.moq);
        if change.lead_time_days.is_some() || change.lead_time_std_days.is_some() {
            saved.lead_time = LeadTime {
                mean_days: change.lead_time_days.unwrap_or(saved.lead_time.mean_days),
                std_days: change.lead_time_std_days.unwrap_or(saved.lead_time.std_days),
                source: "what-if".into(),
            };
        }
        let on_server = plan(&saved);
        assert_eq!(on_device, on_server, "{change:?}");
    }

    #[test]
    fn a_what_if_is_the_plan_the_saved_policy_gets() {
        check(WhatIf::default());
        check(WhatIf { service_level: Some(0.99), ..WhatIf::default() });
        check(WhatIf { service_level: Some(0.8), moq: Some(500), ..WhatIf::default() });
        check(WhatIf { lead_time_days: Some(30.0), lead_time_std_days: Some(6.0), ..WhatIf::default() });
        check(WhatIf { lead_time_days: Some(365.0), ..WhatIf::default() });
        let basis = basis().with_forecast();
        assert_ne!(basis.forecast.as_ref().map(|f| f.method), Some(crate::planning::Method::Mean));
        let higher = basis.what_if(&WhatIf { service_level: Some(0.99), ..WhatIf::default() }).expect("ok");
        assert!(higher.safety_stock > basis.plan().safety_stock);
    }

    #[test]
    fn a_what_if_out_of_bounds_is_refused_as_the_policy_would_be() {
        let basis = basis().with_forecast();
        for (change, field) in [
            (WhatIf { service_level: Some(1.0), ..WhatIf::default() }, "service_level"),
            (WhatIf { moq: Some(0), ..WhatIf::default() }, "moq"),
            (WhatIf { lead_time_days: Some(400.0), ..WhatIf::default() }, "lead_time_days"),
            (WhatIf { lead_time_std_days: Some(f64::NAN), ..WhatIf::default() }, "lead_time_std_days"),
        ] {
            let error = basis.what_if(&change).expect_err("out of bounds");
            assert!(error.to_string().starts_with(field), "{change:?}: {error}");
        }
        // A basis whose forecast is shorter than the plan needs (kept from another server's
        // answer, say) is refused, never read past its end.
        let mut short = basis.clone();
        if let Some(forecast) = short.forecast.as_mut() {
            forecast.daily.truncate(30);
        }
        let error = short.what_if(&WhatIf { lead_time_days: Some(60.0), ..WhatIf::default() }).expect_err("too short");
        assert!(error.to_string().starts_with("forecast: covers 30 days"), "{error}");
    }
}
