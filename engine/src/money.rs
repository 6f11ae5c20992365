//! Money: an exact decimal amount (`rust_decimal`), never a float. On the wire it is a plain
//! decimal string ("12.50", "-3.2"): at most `WHOLE_DIGITS_MAX` whole and `FRACTION_DIGITS_MAX`
//! fractional digits, an optional leading minus, no exponent, no plus, no bare point.
//! Whether a negative amount makes sense (a cost cannot be, a variance can) is the caller's rule.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code: three capital letters ("EUR"); `field` names it in the error.
pub fn check_currency(field: &str, code: &str) -> Result<(), crate::error::EngineError> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(crate::error::EngineError::invalid(field, format!("`{code}` is not an ISO 4217 code such as \"EUR\"")))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not money: use a decimal string such as \"12.50\" (at most {whole} whole and {fraction} fractional digits)", whole = Money::WHOLE_DIGITS_MAX, fraction = Money::FRACTION_DIGITS_MAX)]
pub struct MoneyError {
    pub text: String,
}

impl Money {
    pub const WHOLE_DIGITS_MAX: usize = 12;
    pub const FRACTION_DIGITS_MAX: usize = 6;
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let refused = || MoneyError { text: text.chars().take(40).collect() };
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let digits = |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
        let well_formed = !whole.is_empty()
            && digits(whole, Money::WHOLE_DIGITS_MAX)
            && !(unsigned.contains('.') && fraction.is_empty())
            && digits(fraction, Money::FRACTION_DIGITS_MAX);
        if !well_formed {
            return Err(refused());
        }
        let amount = Decimal::from_str_exact(text).map_err(|_| refused())?;
        let money = Money(amount);
        debug_assert!(money.fits(), "a parsed amount fits the digit limits");
        Ok(money)
    }

    /// Wraps an amount computed elsewhere; `None` when it does not fit the digit limits.
    pub fn from_decimal(amount: Decimal) -> Option<Money> {
        let money = Money(amount.normalize());
        money.fits().then_some(money)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The sum, or `None` past the digit limits.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        Money::from_decimal(self.0.checked_add(other.0)?)
    }

    /// This amount `qty` times (a line total), or `None` past the digit limits.
    pub fn times(self, qty: i64) -> Option<Money> {
        Money::from_decimal(self.0.checked_mul(Decimal::from(qty))?)
    }

    fn fits(self) -> bool {
        let whole_digits = self.0.trunc().abs().to_string().trim_start_matches('0').len();
        whole_digits <= Money::WHOLE_DIGITS_MAX && self.0.scale() as usize <= Money::FRACTION_DIGITS_MAX
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        Money::parse(text)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        // A borrowed &str where the format allows it, an owned String otherwise (serde_json::Value).
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    /// `json` decoded as money: its text again, or None when refused.
    #[track_caller]
    fn check(json: &str, expect: Option<&str>) {
        let decoded = serde_json::from_str::<Money>(json).ok();
        assert_eq!(decoded.map(|m| m.to_string()).as_deref(), expect, "{json}");
        if let Some(money) = decoded {
            let encoded = serde_json::to_string(&money).expect("money encodes");
            assert_eq!(serde_json::from_str::<Money>(&encoded).ok(), Some(money), "round trip of {json}");
        }
    }

    #[test]
    fn money_is_a_plain_decimal_string() {
        check(r#""12.50""#, Some("12.50"));
        check(r#""0""#, Some("0"));
        check(r#""-3.2""#, Some("-3.2"));
        check(r#""999999999999.999999""#, Some("999999999999.999999"));
        for bad in [
            r#""1e3""#,
            r#"".5""#,
            r#""5.""#,
            r#""+1""#,
            r#""--1""#,
            r#""-""#,
            "12.5",
            "null",
            r#""1.1234567""#,
            r#""1234567890123""#,
            r#""1 000""#,
            r#""""#,
        ] {
            check(bad, None);
        }
    }

    #[test]
    fn arithmetic_stays_within_the_limits() {
        let price = Money::parse("4.10").expect("money");
        assert_eq!(price.times(3).map(|m| m.to_string()).as_deref(), Some("12.3"));
        assert_eq!(
            price.checked_add(Money::parse("0.90").expect("money")).map(|m| m.to_string()).as_deref(),
            Some("5")
        );
        let big = Money::parse("999999999999").expect("money");
        assert_eq!(big.times(10), None, "13 whole digits");
        assert_eq!(big.checked_add(Money::parse("1").expect("money")), None);
        assert!(Money::parse("-0.01").expect("money").is_negative());
        assert!(!Money::parse("0").expect("money").is_negative());
    }
}
