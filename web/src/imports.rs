//! The admin's CSV import, as plain data: which kinds there are, what a report says in words,
//! and which apply buttons make sense. The view only draws it.

use stockline_shared::imports::{Change, ImportKind, PlannedRow, Row};
use stockline_shared::{Atomic, ImportReport};

/// Preview rows shown at most (the counts cover them all).
pub const PREVIEW_ROWS_MAX: usize = 50;

pub fn kind_label(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Locations => "Locations",
        ImportKind::Channels => "Channels",
        ImportKind::Suppliers => "Suppliers",
        ImportKind::Skus => "SKUs",
        ImportKind::Policies => "Replenishment policies",
        ImportKind::OpeningStock => "Opening stock (counts)",
        ImportKind::DemandHistory => "Demand history",
    }
}

/// The header a file of `kind` takes, as a hint next to the file field.
pub fn header(kind: ImportKind) -> String {
    kind.columns().iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",")
}

/// One good row in words: `wh-east — East (warehouse, eu, priority 1)`.
pub fn describe(row: &Row) -> String {
    match row {
        Row::Location { id, spec } => {
            format!("{id} — {} ({}, {}, priority {})", spec.name, spec.kind.as_str(), spec.region, spec.priority)
        }
        Row::Channel { id, spec } => {
            let locations: Vec<&str> = spec.locations.iter().map(|l| l.as_str()).collect();
            format!("{id} — {} from {}", spec.name, locations.join(", "))
        }
        Row::Supplier { id, spec } => format!("{id} — {} ({}, {} days)", spec.name, spec.currency, spec.lead_time_days),
        Row::Sku { id, spec } => format!("{id} — {}, safety stock {}", spec.name, spec.safety_stock),
        Row::Policy { sku, policy } => format!("{sku} — MOQ {}, pack {}", policy.moq, policy.pack_multiple),
        Row::Stock { sku, location, qty } => format!("{sku} at {location}: {qty} on hand"),
        Row::Demand { sku, location, date, qty } => {
            let at = location.as_ref().map_or("all locations".to_string(), |l| l.to_string());
            format!("{sku} at {at} on {date}: {qty}")
        }
    }
}

pub fn change_label(change: Change) -> &'static str {
    match change {
        Change::New => "new",
        Change::Changed => "changes",
        Change::Unchanged => "unchanged",
    }
}

/// What a report came to, in one sentence.
pub fn summary(report: &ImportReport) -> String {
    let rows = report.rows.len() as u32 + report.error_rows;
    let counts = format!(
        "{rows} rows: {} new, {} changing, {} unchanged, {} with errors",
        report.new, report.changed, report.unchanged, report.error_rows
    );
    if report.dry_run {
        return format!("Preview — nothing applied yet. {counts}.");
    }
    if report.applied.is_empty() && report.error_rows > 0 && report.atomic == Atomic::File {
        return format!("Nothing applied: the file has bad rows. {counts}.");
    }
    format!("Applied {} rows. {counts}.", report.applied.len())
}

/// The rows a preview lists: those with errors come as errors; these are the good ones, the
/// first `PREVIEW_ROWS_MAX`.
pub fn preview(report: &ImportReport) -> &[PlannedRow] {
    &report.rows[..report.rows.len().min(PREVIEW_ROWS_MAX)]
}

/// Whether "apply all" makes sense: something to apply and no bad row.
pub fn may_apply_all(report: &ImportReport) -> bool {
    report.dry_run && report.error_rows == 0 && report.new + report.changed > 0
}

/// Whether "apply the good rows" makes sense: some bad rows and something good to apply.
pub fn may_apply_good_rows(report: &ImportReport) -> bool {
    report.dry_run && report.error_rows > 0 && report.new + report.changed > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockline_shared::imports::RowError;
    use stockline_shared::Id;

    fn report(dry_run: bool, new: u32, errors: u32, applied: Vec<u64>) -> ImportReport {
        let row = PlannedRow {
            line: 2,
            change: Change::New,
            row: Row::Stock { sku: Id::new("TEE").unwrap(), location: Id::new("wh-1").unwrap(), qty: 40 },
        };
        ImportReport {
            kind: ImportKind::OpeningStock,
            dry_run,
            atomic: Atomic::File,
            new,
            changed: 0,
            unchanged: 0,
            error_rows: errors,
            rows: vec![row; new as usize],
            errors: (0..errors)
                .map(|n| RowError { line: 10 + u64::from(n), column: None, reason: "bad".into() })
                .collect(),
            applied,
        }
    }

    #[test]
    fn words_and_buttons() {
        // (report, summary starts with, apply all, apply good rows)
        let table = [
            (report(true, 3, 0, vec![]), "Preview — nothing applied yet. 3 rows: 3 new", true, false),
            (report(true, 3, 2, vec![]), "Preview — nothing applied yet. 5 rows", false, true),
            (report(true, 0, 2, vec![]), "Preview", false, false),
            (report(false, 3, 2, vec![]), "Nothing applied: the file has bad rows", false, false),
            (report(false, 3, 0, vec![2, 3, 4]), "Applied 3 rows", false, false),
        ];
        for (report, words, all, good) in table {
            assert!(summary(&report).starts_with(words), "{}", summary(&report));
            assert_eq!((may_apply_all(&report), may_apply_good_rows(&report)), (all, good), "{words}");
        }
        assert_eq!(describe(&report(true, 1, 0, vec![]).rows[0].row), "TEE at wh-1: 40 on hand");
        assert_eq!(header(ImportKind::OpeningStock), "sku,location,qty");
    }
}
