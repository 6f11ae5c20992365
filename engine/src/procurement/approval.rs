//! Approval rules: who must approve a purchase order, by its value in the base currency, the
//! supplier's standing and whether a line's SKU is critical; and the checks every approval passes
//! (segregation of duties, the approver's role and spend limit).

use super::matching::MatchTolerance;
use crate::error::EngineError;
use crate::ledger::Role;
use crate::limits::{APPROVALS_REQUIRED_MAX, APPROVAL_BANDS_MAX, CURRENCIES_MAX};
use crate::money::{check_currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A supplier's standing with purchasing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    #[default]
    Good,
    /// Orders need a stricter path (one more approval, by an admin).
    Watch,
    /// No new orders.
    Blocked,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Good => "good",
            Standing::Watch => "watch",
            Standing::Blocked => "blocked",
        }
    }
}

/// Orders worth up to `up_to` (in the base currency; `None`: any value) need `approvals`
/// approvals, each by a person holding one of `roles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub up_to: Option<Money>,
    pub approvals: u8,
    pub roles: Vec<Role>,
}

/// `PUT /v1/approval-rules`: the bands in increasing `up_to` (the last open-ended), the rates
/// that turn an order's currency into the base currency, and the stricter paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// ISO 4217.
    pub base_currency: String,
    /// Units of the base currency per unit of each other currency.
    #[serde(default)]
    pub rates: BTreeMap<String, Decimal>,
    pub bands: Vec<Band>,
    /// Extra approvals for a supplier on `watch`, and for an order with a critical SKU.
    #[serde(default = "one")]
    pub watch_extra_approvals: u8,
    #[serde(default = "one")]
    pub critical_extra_approvals: u8,
    /// Who may give an extra approval (the stricter path).
    #[serde(default = "admins")]
    pub strict_roles: Vec<Role>,
    /// How far a supplier's invoice may differ from the order and the receipts and still match.
    #[serde(default)]
    pub match_tolerance: MatchTolerance,
}

fn one() -> u8 {
    1
}
fn admins() -> Vec<Role> {
    vec![Role::Admin]
}

/// What an order needs, fixed when it is submitted (later rule changes do not move it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub rules_version: u32,
    /// The order's value in the base currency.
    pub value_base: Money,
    pub approvals: u8,
    pub roles: Vec<Role>,
    /// Approvals (beyond the band's) that only `strict_roles` may give.
    pub strict_approvals: u8,
    pub strict_roles: Vec<Role>,
    /// Why, in words: "value 12,400.00 EUR in band ≤ 25,000.00: 2 approvals; supplier on watch: +1".
    pub reasons: Vec<String>,
}

/// A person who may approve, with their spend limit in the base currency (`None`: no limit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub subject: String,
    pub role: Role,
    pub spend_limit: Option<Money>,
}

impl ApprovalRules {
    pub fn check(&self) -> Result<(), EngineError> {
        check_currency("base_currency", &self.base_currency)?;
        self.match_tolerance.check()?;
        if self.rates.len() > CURRENCIES_MAX {
            return Err(EngineError::invalid("rates", format!("at most {CURRENCIES_MAX} currencies")));
        }
        for (code, rate) in &self.rates {
            check_currency("rates", code)?;
            if *rate <= Decimal::ZERO {
                return Err(EngineError::invalid("rates", format!("the rate of {code} must be above 0")));
            }
        }
        if self.bands.is_empty() || self.bands.len() > APPROVAL_BANDS_MAX {
            return Err(EngineError::invalid("bands", format!("1..={APPROVAL_BANDS_MAX} bands")));
        }
        let mut floor: Option<Money> = None;
        for (index, band) in self.bands.iter().enumerate() {
            let field = format!("bands[{index}]");
            let last = index + 1 == self.bands.len();
            match (band.up_to, last) {
                (None, false) => return Err(EngineError::invalid(&field, "only the last band may be open-ended")),
                (Some(_), true) => {
                    return Err(EngineError::invalid(&field, "the last band must be open-ended (no up_to)"))
                }
                (Some(up_to), false) => {
                    if up_to.is_negative() || floor.is_some_and(|floor| up_to <= floor) {
                        return Err(EngineError::invalid(&field, "up_to must increase from band to band"));
                    }
                    floor = Some(up_to);
                }
                (None, true) => {}
            }
            if band.approvals > APPROVALS_REQUIRED_MAX {
                return Err(EngineError::invalid(&field, format!("at most {APPROVALS_REQUIRED_MAX} approvals")));
            }
            if band.approvals > 0 && band.roles.is_empty() {
                return Err(EngineError::invalid(&field, "say which roles may approve"));
            }
            if band.roles.iter().any(|role| !matches!(role, Role::Approver | Role::Admin | Role::Buyer)) {
                return Err(EngineError::invalid(&field, "approving roles are buyer, approver or admin"));
            }
        }
        if self.watch_extra_approvals > APPROVALS_REQUIRED_MAX || self.critical_extra_approvals > APPROVALS_REQUIRED_MAX
        {
            return Err(EngineError::invalid("watch_extra_approvals", format!("at most {APPROVALS_REQUIRED_MAX}")));
        }
        if self.strict_roles.is_empty() {
            return Err(EngineError::invalid("strict_roles", "say which roles may give the stricter approvals"));
        }
        Ok(())
    }

    fn rate(&self, currency: &str) -> Result<Decimal, EngineError> {
        self.rates.get(currency).copied().ok_or_else(|| {
            EngineError::invalid(
                "currency",
                format!(
                    "no rate from {currency} to the base currency {}: add it to the approval rules",
                    self.base_currency
                ),
            )
        })
    }

    /// A unit price or cost in `currency` as base currency, to 6 decimal places (a total is
    /// rounded to cents by `to_base`; a unit price of 0.0049 must not become 0).
    pub fn unit_to_base(&self, amount: Money, currency: &str) -> Result<Money, EngineError> {
        if currency == self.base_currency {
            return Ok(amount);
        }
        let rate = self.rate(currency)?;
        amount
            .amount()
            .checked_mul(rate)
            .map(|v| v.round_dp(6))
            .and_then(Money::from_decimal)
            .ok_or_else(|| EngineError::invalid("unit_price", "too large in the base currency"))
    }

    /// `amount` in `currency` as base currency; an unknown currency is refused.
    pub fn to_base(&self, amount: Money, currency: &str) -> Result<Money, EngineError> {
        if currency == self.base_currency {
            return Ok(amount);
        }
        let rate = self.rate(currency)?;
        let value = amount.amount().checked_mul(rate).map(|v| v.round_dp(2));
        value
            .and_then(Money::from_decimal)
            .ok_or_else(|| EngineError::invalid("lines", "the order's value is too large"))
    }

    /// The route an order of `value` in `currency` takes.
    pub fn route(
        &self,
        rules_version: u32,
        value: Money,
        currency: &str,
        standing: Standing,
        critical_skus: &[String],
    ) -> Result<Route, EngineError> {
        debug_assert!(self.check().is_ok());
        if standing == Standing::Blocked {
            return Err(EngineError::forbidden("supplier_blocked", "the supplier is blocked: no new purchase orders"));
        }
        let value_base = self.to_base(value, currency)?;
        let band = self
            .bands
            .iter()
            .find(|band| band.up_to.is_none_or(|up_to| value_base <= up_to))
            .expect("the last band is open-ended");
        let bound = band.up_to.map_or("any value".to_string(), |up_to| format!("≤ {up_to}"));
        let mut reasons = vec![format!(
            "value {value_base} {} in band {bound}: {} approval{}",
            self.base_currency,
            band.approvals,
            if band.approvals == 1 { "" } else { "s" }
        )];
        let mut strict_approvals = 0u8;
        if standing == Standing::Watch && self.watch_extra_approvals > 0 {
            strict_approvals += self.watch_extra_approvals;
            reasons.push(format!("supplier on watch: +{}", self.watch_extra_approvals));
        }
        if !critical_skus.is_empty() && self.critical_extra_approvals > 0 {
            strict_approvals += self.critical_extra_approvals;
            reasons.push(format!("critical SKU {}: +{}", critical_skus.join(", "), self.critical_extra_approvals));
        }
        Ok(Route {
            rules_version,
            value_base,
            approvals: band.approvals,
            roles: band.roles.clone(),
            strict_approvals,
            strict_roles: self.strict_roles.clone(),
            reasons,
        })
    }
}

impl Route {
    pub fn approvals_required(&self) -> u8 {
        self.approvals + self.strict_approvals
    }
}

/// The approval `approver` may give next, given the ones already given (in order): `Ok(true)`
/// for a strict-path approval, `Ok(false)` for a band approval; or the rule that refuses it.
/// `creator` and `submitter` can never approve: segregation of duties.
pub fn may_approve(
    route: &Route,
    given: &[String],
    given_strict: u8,
    creator: &str,
    submitter: &str,
    approver: &Approver,
) -> Result<bool, EngineError> {
    if approver.subject == creator {
        return Err(EngineError::forbidden(
            "segregation_of_duties",
            format!("{} created this purchase order and cannot approve it", approver.subject),
        ));
    }
    if approver.subject == submitter {
        return Err(EngineError::forbidden(
            "segregation_of_duties",
            format!("{} submitted this purchase order and cannot approve it", approver.subject),
        ));
    }
    if given.contains(&approver.subject) {
        return Err(EngineError::forbidden(
            "one_approval_per_person",
            format!("{} has already approved this purchase order: another person must", approver.subject),
        ));
    }
    if let Some(limit) = approver.spend_limit {
        if route.value_base > limit {
            return Err(EngineError::forbidden(
                "spend_limit",
                format!("the order's value {} is above {}'s spend limit {limit}", route.value_base, approver.subject),
            ));
        }
    }
    let band_given = u8::try_from(given.len()).expect("bounded") - given_strict;
    let band_open = band_given < route.approvals && route.roles.contains(&approver.role);
    let strict_open = given_strict < route.strict_approvals && route.strict_roles.contains(&approver.role);
    // A strict-path approver fills the stricter approvals first: band approvals are open to more people.
    if strict_open {
        Ok(true)
    } else if band_open {
        Ok(false)
    } else {
        let roles: Vec<&str> = if given_strict < route.strict_approvals {
            route.strict_roles.iter().chain(&route.roles).map(|role| role.as_str()).collect()
        } else {
            route.roles.iter().map(|role| role.as_str()).collect()
        };
        Err(EngineError::forbidden(
            "approver_role",
            format!("a {} cannot give the approval still needed (by: {})", approver.role.as_str(), roles.join(", ")),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    #[test]
    fn unit_prices_convert_to_six_places_totals_to_cents() {
        let rules = rules();
        assert_eq!(rules.unit_to_base(money("0.0049"), "USD"), Ok(money("0.00441")));
        assert_eq!(rules.to_base(money("0.0049"), "USD"), Ok(money("0")));
        assert_eq!(rules.unit_to_base(money("-1.25"), "EUR"), Ok(money("-1.25")), "a true-up may be negative");
        assert!(rules.unit_to_base(money("1"), "GBP").is_err());
    }

    fn rules() -> ApprovalRules {
        ApprovalRules {
            base_currency: "EUR".into(),
            rates: BTreeMap::from([("USD".to_string(), Decimal::new(9, 1))]),
            bands: vec![
                Band { up_to: Some(money("1000")), approvals: 0, roles: vec![] },
                Band { up_to: Some(money("25000")), approvals: 1, roles: vec![Role::Approver, Role::Admin] },
                Band { up_to: None, approvals: 2, roles: vec![Role::Approver, Role::Admin] },
            ],
            watch_extra_approvals: 1,
            critical_extra_approvals: 1,
            strict_roles: vec![Role::Admin],
            match_tolerance: MatchTolerance::default(),
        }
    }

    /// Routing: (value, currency, standing, critical?) → (band approvals, strict approvals) or the refusing rule.
    #[test]
    fn routing_table() {
        let table: [(&str, &str, Standing, bool, Result<(u8, u8), &str>); 10] = [
            ("999.99", "EUR", Standing::Good, false, Ok((0, 0))),
            ("1000", "EUR", Standing::Good, false, Ok((0, 0))),
            ("1000.01", "EUR", Standing::Good, false, Ok((1, 0))),
            ("25000", "EUR", Standing::Good, false, Ok((1, 0))),
            ("25000.01", "EUR", Standing::Good, false, Ok((2, 0))),
            // 1,100 USD × 0.9 = 990 EUR: the lowest band.
            ("1100", "USD", Standing::Good, false, Ok((0, 0))),
            ("5000", "EUR", Standing::Watch, false, Ok((1, 1))),
            ("5000", "EUR", Standing::Good, true, Ok((1, 1))),
            ("50000", "EUR", Standing::Watch, true, Ok((2, 2))),
            ("10", "EUR", Standing::Blocked, false, Err("supplier_blocked")),
        ];
        for (value, currency, standing, critical, expected) in table {
            let critical_skus = if critical { vec!["SKU-1".to_string()] } else { vec![] };
            let got = rules()
                .route(1, money(value), currency, standing, &critical_skus)
                .map(|route| (route.approvals, route.strict_approvals))
                .map_err(|error| match error {
                    EngineError::Forbidden { rule, .. } => rule,
                    other => panic!("{other}"),
                });
            assert_eq!(got, expected.map_err(str::to_string), "{value} {currency} {standing:?} {critical}");
        }
        let unknown = rules().route(1, money("10"), "GBP", Standing::Good, &[]);
        assert!(matches!(unknown, Err(EngineError::InvalidRequest { .. })), "{unknown:?}");
        let route = rules().route(3, money("30000"), "EUR", Standing::Watch, &["A".into()]).expect("a route");
        assert_eq!(
            route.reasons,
            ["value 30000 EUR in band any value: 2 approvals", "supplier on watch: +1", "critical SKU A: +1"]
        );
    }

    #[test]
    fn rules_are_checked() {
        let mut broken = rules();
        broken.bands[2].up_to = Some(money("90000"));
        assert!(broken.check().is_err(), "the last band must be open-ended");
        let mut broken = rules();
        broken.bands[1].up_to = Some(money("500"));
        assert!(broken.check().is_err(), "bands increase");
        let mut broken = rules();
        broken.bands[1].roles = vec![Role::Warehouse];
        assert!(broken.check().is_err(), "a warehouse role does not approve");
        let mut broken = rules();
        broken.rates.insert("GBP".into(), Decimal::ZERO);
        assert!(broken.check().is_err(), "a rate is above 0");
        assert!(rules().check().is_ok());
    }

    /// Every refusal of an approval, by rule.
    #[test]
    fn approval_checks_table() {
        let route = rules().route(1, money("30000"), "EUR", Standing::Watch, &[]).expect("a route");
        assert_eq!((route.approvals, route.strict_approvals), (2, 1));
        let person = |subject: &str, role: Role, limit: Option<&str>| Approver {
            subject: subject.into(),
            role,
            spend_limit: limit.map(money),
        };
        let given = vec!["ann".to_string()];
        // (approver, already given, of them strict, expected: strict? or rule)
        let table: [(Approver, Vec<String>, u8, Result<bool, &str>); 8] = [
            (person("bob", Role::Approver, None), vec![], 0, Ok(false)),
            (person("ada", Role::Admin, None), vec![], 0, Ok(true)),
            (person("carl", Role::Buyer, None), vec![], 0, Err("segregation_of_duties")),
            (person("sue", Role::Approver, None), vec![], 0, Err("segregation_of_duties")),
            (person("ann", Role::Approver, None), given.clone(), 0, Err("one_approval_per_person")),
            (person("bob", Role::Approver, Some("25000")), vec![], 0, Err("spend_limit")),
            (person("bob", Role::Approver, Some("30000")), vec![], 0, Ok(false)),
            // Two band approvals given; the strict one needs an admin.
            (person("bob", Role::Approver, None), vec!["ann".into(), "dan".into()], 0, Err("approver_role")),
        ];
        for (approver, given, strict, expected) in table {
            let got = may_approve(&route, &given, strict, "carl", "sue", &approver).map_err(|error| match error {
                EngineError::Forbidden { rule, .. } => rule,
                other => panic!("{other}"),
            });
            assert_eq!(got, expected.map_err(str::to_string), "{approver:?} after {given:?}");
        }
    }
}
