//! Movements of stock as the contract names them, the checks that need no ledger, and what a
//! count raises.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Receive,
    Adjust,
    Count,
    Ship,
    Transfer,
    Quarantine,
    ReleaseQuarantine,
    Damage,
    Scrap,
    ReturnExpected,
    ReturnReceive,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receive => "receive",
            MovementKind::Adjust => "adjust",
            MovementKind::Count => "count",
            MovementKind::Ship => "ship",
            MovementKind::Transfer => "transfer",
            MovementKind::Quarantine => "quarantine",
            MovementKind::ReleaseQuarantine => "release_quarantine",
            MovementKind::Damage => "damage",
            MovementKind::Scrap => "scrap",
            MovementKind::ReturnExpected => "return_expected",
            MovementKind::ReturnReceive => "return_receive",
        }
    }
}

/// Where a `receive` puts the units: sellable stock, or on hand but quarantined (inspection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiveInto {
    Stock,
    Quarantine,
}

/// What a `return_receive` does with the returned units: back to stock, quarantine or damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Restock,
    Quarantine,
    Damage,
}

/// A movement as the contract's `POST /v1/skus/{sku}/movements` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    pub kind: MovementKind,
    /// `receive` only: `stock` (default) or `quarantine`, in the same entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<ReceiveInto>,
    /// `return_receive` only: `restock` (default), `quarantine` or `damage`, in the same entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    pub location: Id,
    pub qty: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_location: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_at_version: Option<u64>,
    /// `count` only: versions after `counted_at_version` whose movements the counter made before
    /// counting (a tablet's own receive, say). Those units are already in the count, so their
    /// on_hand change is not added again. Ascending, at most `COUNT_INCLUDES_MAX`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes_versions: Vec<u64>,
}

impl Movement {
    /// The net change to on_hand at `location` this movement records when it applies: the same
    /// rule as the effects `record_movement` decides (a scenario check holds them together). A
    /// count is 0 here: what it changes depends on the ledger, not on the movement.
    pub fn on_hand_change(&self) -> i64 {
        match self.kind {
            MovementKind::Receive | MovementKind::Adjust | MovementKind::ReturnReceive => self.qty,
            MovementKind::Ship | MovementKind::Transfer | MovementKind::Scrap => -self.qty,
            MovementKind::Count
            | MovementKind::Quarantine
            | MovementKind::ReleaseQuarantine
            | MovementKind::Damage
            | MovementKind::ReturnExpected => 0,
        }
    }

    /// The checks that need no ledger: the quantity for the kind, the fields the kind requires and
    /// the ones it does not take, text lengths. `record_movement` runs them first; a tablet runs
    /// the very same before it queues anything, so it never queues what the server will refuse
    /// for its shape.
    pub fn check(&self) -> Result<(), EngineError> {
        let qty = self.qty;
        match self.kind {
            MovementKind::Adjust => {
                if qty == 0 || qty.abs() > QTY_REQUEST_MAX {
                    return Err(EngineError::invalid(
                        "qty",
                        format!("must be a non-zero whole number within ±{QTY_REQUEST_MAX}"),
                    ));
                }
                if self.reason.is_none() {
                    return Err(EngineError::invalid("reason", "is required for an adjust"));
                }
            }
            MovementKind::Count => {
                if !(0..=QTY_REQUEST_MAX).contains(&qty) {
                    return Err(EngineError::invalid("qty", format!("must be a whole number 0..={QTY_REQUEST_MAX}")));
                }
            }
            _ => check_request_qty("qty", qty)?,
        }
        if let Some(reason) = &self.reason {
            check_text("reason", reason)?;
        }
        if let Some(reference) = &self.reference {
            check_text("reference", reference)?;
        }
        if self.counted_at_version.is_some() && self.kind != MovementKind::Count {
            return Err(EngineError::invalid("counted_at_version", "only a count takes counted_at_version"));
        }
        if !self.includes_versions.is_empty() {
            let Some(seen) = self.counted_at_version else {
                return Err(EngineError::invalid("includes_versions", "needs counted_at_version"));
            };
            if self.includes_versions.len() > COUNT_INCLUDES_MAX {
                return Err(EngineError::invalid("includes_versions", format!("at most {COUNT_INCLUDES_MAX}")));
            }
            let ascending = self.includes_versions.windows(2).all(|pair| pair[0] < pair[1]);
            if !ascending || self.includes_versions[0] <= seen {
                return Err(EngineError::invalid(
                    "includes_versions",
                    "must be ascending versions after counted_at_version",
                ));
            }
        }
        if self.to_location.is_some() && self.kind != MovementKind::Transfer {
            return Err(EngineError::invalid("to_location", "only a transfer takes to_location"));
        }
        if self.into.is_some() && self.kind != MovementKind::Receive {
            return Err(EngineError::invalid("into", "only a receive takes into"));
        }
        if self.disposition.is_some() && self.kind != MovementKind::ReturnReceive {
            return Err(EngineError::invalid("disposition", "only a return_receive takes disposition"));
        }
        match self.kind {
            MovementKind::Ship if self.reference.is_none() => {
                Err(EngineError::invalid("reference", "a ship names the committed reservation"))
            }
            MovementKind::Transfer => match (&self.to_location, &self.reference) {
                (None, _) => Err(EngineError::invalid("to_location", "a transfer names where it goes")),
                (_, None) => Err(EngineError::invalid("reference", "a transfer names the transfer")),
                (Some(to), _) if *to == self.location => {
                    Err(EngineError::invalid("to_location", "must differ from location"))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// What a count raised for people to resolve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountExceptionKind {
    /// The count left reservations or allocations without units to cover them.
    #[default]
    Shortfall,
    /// Another count of the same location, recorded after the version this counter had read,
    /// found a different quantity: someone has to count again.
    CountsDisagree,
}

/// A count that raised an exception: uncovered commitments, or counts that disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountException {
    #[serde(default)]
    pub kind: CountExceptionKind,
    /// The version of the count entry that raised it.
    pub version: u64,
    pub location: Id,
    /// Units committed at the location beyond what is on hand (`shortfall` only).
    pub shortfall: i64,
    /// The commitments at that location (at most `LINES_MAX` listed; `shortfall` only).
    pub holds: Vec<HoldShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<CountDisagreement>,
}

/// Two counts of one shelf that do not agree. The later count still applies (a count records
/// what is there); the exception asks for a recount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountDisagreement {
    /// The other count's entry, recorded after the version this count was taken at.
    pub other_count_version: u64,
    /// on_hand as the other count (and the movements after it) left it.
    pub other_on_hand: i64,
    /// on_hand as this count says it is.
    pub this_on_hand: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldShare {
    pub reservation: Id,
    pub status: HoldStatus,
    pub qty: i64,
}
