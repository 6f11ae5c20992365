//! A SKU's policy: what `PUT /v1/skus/{sku}` sets.

use super::*;

/// A SKU's policy, set by `PUT /v1/skus/{sku}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuSpec {
    pub name: String,
    pub safety_stock: i64,
    #[serde(default)]
    pub unit_cost: Option<Money>,
    /// What scanners read off the item: GTIN-8/12/13/14, at most `BARCODES_MAX`.
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// A critical SKU (a stockout stops a line or breaks a promise): a purchase order with it
    /// takes the approval rules' stricter path.
    #[serde(default)]
    pub critical: bool,
    /// SKUs customer service may offer when this one is short, in order of preference (at most
    /// `SUBSTITUTES_MAX`, each once, never the SKU itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<Id>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuPolicy {
    pub name: String,
    pub safety_stock: i64,
    pub unit_cost: Option<Money>,
    #[serde(default)]
    pub barcodes: Vec<String>,
    #[serde(default)]
    pub critical: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitutes: Vec<Id>,
}

/// For `skip_serializing_if`: a flag that is off is left out.
pub fn is_false(flag: &bool) -> bool {
    !*flag
}

impl SkuSpec {
    /// The checks a definition needs no ledger for: the name, safety stock, unit cost, barcodes.
    pub fn check(&self) -> Result<(), EngineError> {
        check_text("name", &self.name)?;
        if !(0..=QTY_STORED_MAX).contains(&self.safety_stock) {
            return Err(EngineError::invalid("safety_stock", "must be a whole number >= 0"));
        }
        if let Some(cost) = self.unit_cost {
            if cost.is_negative() {
                return Err(EngineError::invalid("unit_cost", "must be >= 0"));
            }
        }
        if self.barcodes.len() > BARCODES_MAX {
            return Err(EngineError::invalid("barcodes", format!("at most {BARCODES_MAX}")));
        }
        for (index, barcode) in self.barcodes.iter().enumerate() {
            check_barcode(barcode)?;
            if self.barcodes[..index].contains(barcode) {
                return Err(EngineError::invalid("barcodes", "each barcode once"));
            }
        }
        if self.substitutes.len() > SUBSTITUTES_MAX {
            return Err(EngineError::invalid("substitutes", format!("at most {SUBSTITUTES_MAX}")));
        }
        for (index, substitute) in self.substitutes.iter().enumerate() {
            if self.substitutes[..index].contains(substitute) {
                return Err(EngineError::invalid("substitutes", format!("{substitute} is named twice")));
            }
        }
        Ok(())
    }
}
