//! Validated identifiers and bounded text.

use crate::error::EngineError;
use crate::limits::{ID_LENGTH_MAX, TEXT_LENGTH_MAX};
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// An identifier of `[A-Za-z0-9._:-]{1,64}`: SKUs, locations, channels, reservations.
///
/// Shared, immutable text: ids are cloned into every entry, effect and index, so a clone is a
/// reference-count increment rather than an allocation. Compares, orders and hashes as its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(Arc<str>);

impl Id {
    pub fn new(value: impl Into<String>) -> Result<Id, EngineError> {
        let value = value.into();
        if is_valid_id(&value) {
            Ok(Id(Arc::from(value)))
        } else {
            Err(EngineError::invalid(
                "id",
                format!("`{}` is not an id of [A-Za-z0-9._:-]{{1,64}}", truncate_for_message(&value)),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn is_valid_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= ID_LENGTH_MAX
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

impl TryFrom<String> for Id {
    type Error = EngineError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Id::new(value)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0.to_string()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Free text (names, reasons, references): 1..=256 characters, no control characters.
pub fn check_text(field: &'static str, value: &str) -> Result<(), EngineError> {
    let chars = value.chars().count();
    if chars == 0 || chars > TEXT_LENGTH_MAX {
        return Err(EngineError::invalid(field, format!("must be 1..={TEXT_LENGTH_MAX} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(EngineError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// A barcode a scanner reads off the item: a GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14
/// (GS1), digits only, with a correct check digit.
pub fn check_barcode(value: &str) -> Result<(), EngineError> {
    let valid = match value.len() {
        8 => gtin_validate::gtin8::check(value),
        12 => gtin_validate::gtin12::check(value),
        13 => gtin_validate::gtin13::check(value),
        14 => gtin_validate::gtin14::check(value),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "barcodes",
            format!("`{}` is not a GTIN-8, -12, -13 or -14 with a correct check digit", truncate_for_message(value)),
        ))
    }
}

pub(crate) fn truncate_for_message(value: &str) -> String {
    value.chars().take(80).collect()
}

/// A hash map keyed by ids, with the Fx hash (`rustc-hash`): fast and deterministic. SipHash was
/// the largest single cost of replay and reservations. Not resistant to chosen collisions: the ids
/// it hashes (reservations, locations, channels) are made by the host and by admins, and are at
/// most 64 bytes of `[A-Za-z0-9._:-]`.
pub type IdMap<V> = HashMap<Id, V, FxBuildHasher>;
