//! A SKU's policy: what `PUT /v1/skus/{sku}` sets, with money as a plain decimal string.

use super::*;

/// A SKU's policy, set by `PUT /v1/skus/{sku}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuSpec {
    pub name: String,
    pub safety_stock: i64,
    #[serde(default, deserialize_with = "money")]
    pub unit_cost: Option<Decimal>,
    /// What scanners read off the item: GTIN-8/12/13/14, at most `BARCODES_MAX`.
    #[serde(default)]
    pub barcodes: Vec<String>,
}

/// Money on the wire: a plain decimal string ("12.50"), at most 12 whole and 6 fractional digits.
/// Numbers, exponents and signs are refused: a price is never a float and never negative.
fn money<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole, 12) || (text.contains('.') && fraction.is_empty()) || !digits(fraction, 6) {
        return Err(serde::de::Error::custom(format!("`{text}` is not money: use a decimal string such as \"12.50\"")));
    }
    text.parse::<Decimal>().map(Some).map_err(serde::de::Error::custom)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuPolicy {
    pub name: String,
    pub safety_stock: i64,
    pub unit_cost: Option<Decimal>,
    #[serde(default)]
    pub barcodes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::SkuSpec;

    #[track_caller]
    fn check(unit_cost: &str, expect: Option<&str>) {
        let body = format!(r#"{{"name":"x","safety_stock":0,"unit_cost":{unit_cost}}}"#);
        let parsed = serde_json::from_str::<SkuSpec>(&body).ok().map(|spec| spec.unit_cost.map(|c| c.to_string()));
        assert_eq!(parsed, expect.map(|e| (e != "null").then(|| e.to_string())), "{unit_cost}");
    }

    #[test]
    fn money_is_a_plain_decimal_string() {
        check(r#""12.50""#, Some("12.50"));
        check(r#""0""#, Some("0"));
        check("null", Some("null"));
        for bad in [
            r#""1e3""#,
            r#"".5""#,
            r#""5.""#,
            r#""-1""#,
            r#""+1""#,
            "12.5",
            r#""1.1234567""#,
            r#""1234567890123""#,
            r#""""#,
        ] {
            check(bad, None);
        }
    }
}
