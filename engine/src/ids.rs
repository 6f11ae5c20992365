//! Validated identifiers and bounded text.

use crate::error::EngineError;
use crate::limits::{ID_LENGTH_MAX, TEXT_LENGTH_MAX};
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

/// An identifier of `[A-Za-z0-9._:-]{1,64}`: SKUs, locations, channels, reservations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    pub fn new(value: impl Into<String>) -> Result<Id, EngineError> {
        let value = value.into();
        if is_valid_id(&value) {
            Ok(Id(value))
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
        id.0
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

pub(crate) fn truncate_for_message(value: &str) -> String {
    value.chars().take(80).collect()
}
