//! CSV import and export on the wire: `POST /v1/imports` and `GET /v1/exports/{kind}`.

use serde::{Deserialize, Serialize};
pub use stockline_engine::import::{Change, ImportKind, PlannedRow, Row, RowError};

/// How much an import applies when some rows are bad: nothing (`file`, the default), or every
/// good row (`row`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Atomic {
    #[default]
    File,
    Row,
}

/// `POST /v1/imports`: a CSV file (with its header) of one kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub kind: ImportKind,
    pub csv: String,
    /// Report what would happen and apply nothing.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub atomic: Atomic,
}

/// What an import did (or, on a dry run, would do): every good row with its change, every bad
/// row with its line and reason, and the lines applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub dry_run: bool,
    pub atomic: Atomic,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub error_rows: u32,
    pub rows: Vec<PlannedRow>,
    pub errors: Vec<RowError>,
    /// The lines applied, in order (none on a dry run, or when a `file` import has bad rows).
    pub applied: Vec<u64>,
}

impl ImportReport {
    pub fn of(plan: stockline_engine::import::ImportPlan, dry_run: bool, atomic: Atomic) -> ImportReport {
        use stockline_engine::import::Change;
        let count = |change: Change| plan.rows.iter().filter(|row| row.change == change).count() as u32;
        ImportReport {
            kind: plan.kind,
            dry_run,
            atomic,
            new: count(Change::New),
            changed: count(Change::Changed),
            unchanged: count(Change::Unchanged),
            error_rows: plan.error_rows,
            rows: plan.rows,
            errors: plan.errors,
            applied: Vec::new(),
        }
    }
}
