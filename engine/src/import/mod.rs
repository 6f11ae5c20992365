//! CSV import and export of master data, policies, opening stock and demand history.
//!
//! An import is planned here, against what exists, before anything is applied: every row is read
//! with the same checks its API call makes (a location's through `Catalog::put_location` on a
//! copy, a SKU's through `SkuSpec::check`, a count through `Movement::check`, a day of demand
//! through `DemandImport::check`), references are looked up (locations, suppliers, SKUs, also
//! those the same file defines first), a row that names what an earlier row named is refused, and
//! each good row says whether it is new, changes something, or changes nothing. The host applies
//! the new and changed rows; a dry run applies nothing. A file's shape is the same both ways:
//! what `export` writes, `plan` reads back as unchanged.

use crate::catalog::{Catalog, ChannelSpec, LocationKind, LocationSpec};
use crate::error::EngineError;
use crate::ids::Id;
use crate::ledger::{MovementKind, Role, SkuSpec};
use crate::money::Money;
use crate::planning::{DemandDay, DemandImport, PlanningPolicy, SupplierSpec};
use crate::procurement::Standing;
use crate::Movement;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Data rows one file holds at most (the header not counted); split larger files.
pub const IMPORT_ROWS_MAX: usize = 1_000;
/// Errors one plan lists at most: every bad row of the largest file.
pub const IMPORT_ERRORS_MAX: usize = IMPORT_ROWS_MAX;
/// The separator inside one cell that lists several values (a channel's locations, barcodes).
pub const LIST_SEPARATOR: char = '|';

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Locations,
    Channels,
    Suppliers,
    Skus,
    Policies,
    OpeningStock,
    DemandHistory,
}

impl ImportKind {
    pub const ALL: [ImportKind; 7] = [
        ImportKind::Locations,
        ImportKind::Channels,
        ImportKind::Suppliers,
        ImportKind::Skus,
        ImportKind::Policies,
        ImportKind::OpeningStock,
        ImportKind::DemandHistory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Locations => "locations",
            ImportKind::Channels => "channels",
            ImportKind::Suppliers => "suppliers",
            ImportKind::Skus => "skus",
            ImportKind::Policies => "policies",
            ImportKind::OpeningStock => "opening_stock",
            ImportKind::DemandHistory => "demand_history",
        }
    }

    pub fn parse(text: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The columns, in the order an export writes them; `true`: the header must have it.
    pub fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            ImportKind::Locations => {
                &[("location", true), ("name", true), ("kind", true), ("region", true), ("priority", true)]
            }
            ImportKind::Channels => &[
                ("channel", true),
                ("name", true),
                ("locations", true),
                ("buffer", false),
                ("cap", false),
                ("stop_below", false),
            ],
            ImportKind::Suppliers => &[
                ("supplier", true),
                ("name", true),
                ("currency", true),
                ("lead_time_days", true),
                ("lead_time_std_days", false),
                ("standing", false),
            ],
            ImportKind::Skus => &[
                ("sku", true),
                ("name", true),
                ("safety_stock", false),
                ("unit_cost", false),
                ("barcodes", false),
                ("critical", false),
                ("substitutes", false),
            ],
            ImportKind::Policies => &[
                ("sku", true),
                ("supplier", false),
                ("service_level", false),
                ("review_period_days", false),
                ("lead_time_days", false),
                ("lead_time_std_days", false),
                ("moq", false),
                ("pack_multiple", false),
                ("min_qty", false),
                ("max_qty", false),
            ],
            ImportKind::OpeningStock => &[("sku", true), ("location", true), ("qty", true)],
            ImportKind::DemandHistory => &[("sku", true), ("location", false), ("date", true), ("qty", true)],
        }
    }
}

/// One good row, typed: what its API call would send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum Row {
    Location {
        id: Id,
        spec: LocationSpec,
    },
    Channel {
        id: Id,
        spec: ChannelSpec,
    },
    Supplier {
        id: Id,
        spec: SupplierSpec,
    },
    Sku {
        id: Id,
        spec: SkuSpec,
    },
    Policy {
        sku: Id,
        policy: PlanningPolicy,
    },
    /// Opening stock, applied as a count: on_hand at `location` becomes `qty`.
    Stock {
        sku: Id,
        location: Id,
        qty: i64,
    },
    /// Demand on `date` (at `location`, or the SKU's all-locations series).
    Demand {
        sku: Id,
        location: Option<Id>,
        date: NaiveDate,
        qty: i64,
    },
}

impl Row {
    /// The SKU a SKU-level row belongs to.
    pub fn sku(&self) -> Option<&Id> {
        match self {
            Row::Sku { id, .. } => Some(id),
            Row::Policy { sku, .. } | Row::Stock { sku, .. } | Row::Demand { sku, .. } => Some(sku),
            Row::Location { .. } | Row::Channel { .. } | Row::Supplier { .. } => None,
        }
    }

    /// The movement an opening-stock row applies.
    pub fn count(sku_location: &Id, qty: i64) -> Movement {
        Movement {
            kind: MovementKind::Count,
            into: None,
            disposition: None,
            location: sku_location.clone(),
            qty,
            to_location: None,
            reason: Some("opening stock (import)".to_string()),
            reference: None,
            counted_at_version: None,
            includes_versions: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Changed,
    /// The same as what exists: applying it would change nothing, so it is not applied.
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// The file's line (the header is line 1).
    pub line: u64,
    pub change: Change,
    #[serde(flatten)]
    pub row: Row,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

/// What a file would do: its good rows (each new, changed or unchanged) and its bad ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportPlan {
    pub kind: ImportKind,
    pub rows: Vec<PlannedRow>,
    /// Every bad row, in line order.
    pub errors: Vec<RowError>,
    /// How many rows are bad (also beyond those listed).
    pub error_rows: u32,
}

/// What exists, as far as a file needs it: the catalog, and the SKUs it names (each with its
/// definition) — a SKU missing here does not exist.
pub struct Existing<'a> {
    pub catalog: &'a Catalog,
    pub skus: &'a BTreeMap<Id, SkuSpec>,
    /// On hand now of the SKUs an opening-stock file names, by (SKU, location); absent is 0.
    pub on_hand: &'a BTreeMap<(Id, Id), i64>,
    /// The replenishment policies set of the SKUs a policies file names.
    pub policies: &'a BTreeMap<Id, PlanningPolicy>,
    /// Today, for demand history (no future days, at most two years back).
    pub today: NaiveDate,
}

/// The SKUs a file names (in its `sku` column), for the host to look up before planning.
/// A file that cannot be read names none (planning says why).
pub fn skus_named(kind: ImportKind, text: &str) -> Vec<Id> {
    let Ok((header, records)) = read(kind, text) else { return Vec::new() };
    let Some(at) = header.iter().position(|name| name == "sku") else { return Vec::new() };
    let mut skus: Vec<Id> =
        records.iter().filter_map(|(_, record)| record.get(at)).filter_map(|v| Id::new(v.trim()).ok()).collect();
    skus.sort();
    skus.dedup();
    skus
}

type Record = (u64, csv::StringRecord);

/// The header (checked against the kind's columns) and the records with their lines.
fn read(kind: ImportKind, text: &str) -> Result<(Vec<String>, Vec<Record>), EngineError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // a spreadsheet's byte-order mark
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| EngineError::invalid("csv", format!("line 1: {e}")))?
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let columns = kind.columns();
    for (at, name) in header.iter().enumerate() {
        if !columns.iter().any(|(column, _)| column == name) {
            let known: Vec<&str> = columns.iter().map(|(column, _)| *column).collect();
            return Err(EngineError::invalid(
                "csv",
                format!("line 1: `{name}` is not a column of {}; the columns are {}", kind.as_str(), known.join(", ")),
            ));
        }
        if header[..at].contains(name) {
            return Err(EngineError::invalid("csv", format!("line 1: `{name}` is named twice")));
        }
    }
    if let Some((missing, _)) =
        columns.iter().find(|(column, required)| *required && !header.iter().any(|h| h == column))
    {
        return Err(EngineError::invalid(
            "csv",
            format!("line 1: the column `{missing}` is required for {}", kind.as_str()),
        ));
    }
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| EngineError::invalid("csv", e.to_string()))?;
        // The line in the file as an editor shows it (the reader does not count blank lines).
        let mut at_byte = record.position().map_or(0, |p| p.byte() as usize).min(text.len());
        while matches!(text.as_bytes().get(at_byte), Some(b'\r' | b'\n')) {
            at_byte += 1; // the position may be taken before the blank lines the reader skipped
        }
        let line = 1 + text.as_bytes()[..at_byte].iter().filter(|b| **b == b'\n').count() as u64;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue; // a blank line
        }
        if records.len() >= IMPORT_ROWS_MAX {
            return Err(EngineError::invalid(
                "csv",
                format!("at most {IMPORT_ROWS_MAX} rows in one file (line {line} is one more): split the file"),
            ));
        }
        records.push((line, record));
    }
    if records.is_empty() {
        return Err(EngineError::invalid("csv", "the file has a header and no rows"));
    }
    Ok((header, records))
}

/// One record's cells by column name.
struct Cells<'a> {
    header: &'a [String],
    record: &'a csv::StringRecord,
}

type Cell<T> = Result<T, (String, String)>;

impl Cells<'_> {
    fn text(&self, column: &str) -> Option<&str> {
        let at = self.header.iter().position(|name| name == column)?;
        self.record.get(at).map(str::trim).filter(|value| !value.is_empty())
    }

    fn fail<T>(column: &str, reason: impl Into<String>) -> Cell<T> {
        Err((column.to_string(), reason.into()))
    }

    fn required(&self, column: &str) -> Cell<&str> {
        self.text(column).map_or_else(|| Cells::fail(column, "is empty"), Ok)
    }

    fn id(&self, column: &str) -> Cell<Id> {
        Id::new(self.required(column)?).or_else(|e| Cells::fail(column, e.to_string()))
    }

    fn optional_id(&self, column: &str) -> Cell<Option<Id>> {
        self.text(column).map(|v| Id::new(v).or_else(|e| Cells::fail(column, e.to_string()))).transpose()
    }

    fn number<T: std::str::FromStr>(&self, column: &str, what: &str) -> Cell<Option<T>> {
        match self.text(column) {
            None => Ok(None),
            Some(value) => value.parse().map(Some).or_else(|_| Cells::fail(column, format!("`{value}` is not {what}"))),
        }
    }

    fn whole(&self, column: &str) -> Cell<Option<i64>> {
        self.number(column, "a whole number")
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.text(column).map_or(Vec::new(), |v| v.split(LIST_SEPARATOR).map(|s| s.trim().to_string()).collect())
    }

    fn flag(&self, column: &str) -> Cell<bool> {
        match self.text(column).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "no" | "0") => Ok(false),
            Some("true" | "yes" | "1") => Ok(true),
            Some(other) => Cells::fail(column, format!("`{other}` is not true or false")),
        }
    }

    fn parsed<T: for<'de> Deserialize<'de>>(&self, column: &str, allowed: &str) -> Cell<Option<T>> {
        match self.text(column) {
            None => Ok(None),
            Some(value) => T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
                .map(Some)
                .or_else(|_| Cells::fail(column, format!("`{value}` is not one of {allowed}"))),
        }
    }
}

/// An engine refusal as a row error, naming the column when the check named a field.
fn refused(error: EngineError) -> (String, String) {
    match error {
        EngineError::InvalidRequest { field, message } => (field, message),
        EngineError::NotFound { kind, id } => (kind.to_string(), format!("{kind} `{id}` does not exist")),
        other => (String::new(), other.to_string()),
    }
}

/// Plans `text` (CSV with a header) as an import of `kind` against what exists.
pub fn plan(kind: ImportKind, text: &str, existing: &Existing) -> Result<ImportPlan, EngineError> {
    let (header, records) = read(kind, text)?;
    let mut catalog = existing.catalog.clone();
    let mut plan = ImportPlan { kind, rows: Vec::new(), errors: Vec::new(), error_rows: 0 };
    let mut seen: HashSet<String> = HashSet::new();
    for (line, record) in &records {
        let cells = Cells { header: &header, record };
        match plan_row(kind, &cells, &mut catalog, existing, &mut seen) {
            Ok((row, change)) => plan.rows.push(PlannedRow { line: *line, change, row }),
            Err((column, reason)) => {
                plan.error_rows += 1;
                if plan.errors.len() < IMPORT_ERRORS_MAX {
                    let column = (!column.is_empty()).then_some(column);
                    plan.errors.push(RowError { line: *line, column, reason });
                }
            }
        }
    }
    assert_eq!(plan.rows.len() + plan.error_rows as usize, records.len(), "every row is planned or refused");
    Ok(plan)
}

fn plan_row(
    kind: ImportKind,
    cells: &Cells,
    catalog: &mut Catalog,
    existing: &Existing,
    seen: &mut HashSet<String>,
) -> Cell<(Row, Change)> {
    let once = |seen: &mut HashSet<String>, column: &str, key: String| -> Cell<()> {
        match seen.insert(key.clone()) {
            true => Ok(()),
            false => Cells::fail(column, format!("{key} is on an earlier line too")),
        }
    };
    let sku_exists = |sku: &Id| -> Cell<()> {
        match existing.skus.contains_key(sku) {
            true => Ok(()),
            false => Cells::fail("sku", format!("SKU `{sku}` does not exist (import skus first)")),
        }
    };
    let location_exists = |catalog: &Catalog, location: &Id| -> Cell<()> {
        match catalog.slot(location.as_str()) {
            Some(_) => Ok(()),
            None => Cells::fail("location", format!("location `{location}` does not exist")),
        }
    };
    match kind {
        ImportKind::Locations => {
            let id = cells.id("location")?;
            once(seen, "location", id.to_string())?;
            let location_kind: LocationKind = cells
                .parsed("kind", "warehouse, store, 3pl, marketplace")?
                .map_or_else(|| Cells::fail("kind", "is empty"), Ok)?;
            let spec = LocationSpec {
                name: cells.required("name")?.to_string(),
                kind: location_kind,
                region: cells.required("region")?.to_string(),
                priority: cells.whole("priority")?.map_or_else(|| Cells::fail("priority", "is empty"), Ok)?,
            };
            let before = catalog.slot(id.as_str()).map(|slot| catalog.location(slot).clone());
            let after = catalog.put_location(id.clone(), spec.clone()).map_err(refused)?;
            let change = match before {
                None => Change::New,
                Some(before) if before == after => Change::Unchanged,
                Some(_) => Change::Changed,
            };
            Ok((Row::Location { id, spec }, change))
        }
        ImportKind::Channels => {
            let id = cells.id("channel")?;
            once(seen, "channel", id.to_string())?;
            let mut locations = Vec::new();
            for text in cells.list("locations") {
                locations.push(Id::new(text).or_else(|e| Cells::fail("locations", e.to_string()))?);
            }
            let spec = ChannelSpec {
                name: cells.required("name")?.to_string(),
                locations,
                buffer: cells.whole("buffer")?.unwrap_or(0),
                cap: cells.whole("cap")?,
                stop_below: cells.whole("stop_below")?,
            };
            let before = catalog.channel(id.as_str()).map(|view| view.channel.clone());
            let after = catalog.put_channel(id.clone(), spec.clone()).map_err(refused)?;
            let change = match before {
                None => Change::New,
                Some(before) if before == after => Change::Unchanged,
                Some(_) => Change::Changed,
            };
            Ok((Row::Channel { id, spec }, change))
        }
        ImportKind::Suppliers => {
            let id = cells.id("supplier")?;
            once(seen, "supplier", id.to_string())?;
            let spec = SupplierSpec {
                name: cells.required("name")?.to_string(),
                currency: cells.required("currency")?.to_string(),
                lead_time_days: cells
                    .number("lead_time_days", "a number of days")?
                    .map_or_else(|| Cells::fail("lead_time_days", "is empty"), Ok)?,
                lead_time_std_days: cells.number("lead_time_std_days", "a number of days")?.unwrap_or(0.0),
                standing: cells.parsed::<Standing>("standing", "good, watch, blocked")?,
            };
            let before = catalog.supplier(id.as_str()).cloned();
            // An import is an admin's: it may set a standing.
            let after = catalog.put_supplier(id.clone(), spec.clone(), Role::Admin).map_err(refused)?;
            let change = match before {
                None => Change::New,
                Some(before) if before == after => Change::Unchanged,
                Some(_) => Change::Changed,
            };
            Ok((Row::Supplier { id, spec }, change))
        }
        ImportKind::Skus => {
            let id = cells.id("sku")?;
            once(seen, "sku", id.to_string())?;
            let unit_cost = match cells.text("unit_cost") {
                None => None,
                Some(value) => Some(value.parse::<Money>().or_else(|e| Cells::fail("unit_cost", e.to_string()))?),
            };
            let mut substitutes = Vec::new();
            for text in cells.list("substitutes") {
                substitutes.push(Id::new(text).or_else(|e| Cells::fail("substitutes", e.to_string()))?);
            }
            if substitutes.contains(&id) {
                return Cells::fail("substitutes", format!("{id} cannot substitute itself"));
            }
            let spec = SkuSpec {
                name: cells.required("name")?.to_string(),
                safety_stock: cells.whole("safety_stock")?.unwrap_or(0),
                unit_cost,
                barcodes: cells.list("barcodes"),
                critical: cells.flag("critical")?,
                substitutes,
            };
            spec.check().map_err(refused)?;
            let change = match existing.skus.get(&id) {
                None => Change::New,
                // A definition without a cost keeps the cost the SKU has.
                Some(before)
                    if *before == SkuSpec { unit_cost: spec.unit_cost.or(before.unit_cost), ..spec.clone() } =>
                {
                    Change::Unchanged
                }
                Some(_) => Change::Changed,
            };
            Ok((Row::Sku { id, spec }, change))
        }
        ImportKind::Policies => {
            let sku = cells.id("sku")?;
            once(seen, "sku", sku.to_string())?;
            sku_exists(&sku)?;
            let defaults = PlanningPolicy::default();
            let policy = PlanningPolicy {
                service_level: cells.number("service_level", "a number")?.unwrap_or(defaults.service_level),
                review_period_days: cells
                    .number("review_period_days", "a whole number of days")?
                    .unwrap_or(defaults.review_period_days),
                supplier: cells.optional_id("supplier")?,
                lead_time_days: cells.number("lead_time_days", "a number of days")?,
                lead_time_std_days: cells.number("lead_time_std_days", "a number of days")?,
                moq: cells.whole("moq")?.unwrap_or(defaults.moq),
                pack_multiple: cells.whole("pack_multiple")?.unwrap_or(defaults.pack_multiple),
                min_qty: cells.whole("min_qty")?,
                max_qty: cells.whole("max_qty")?,
                ..defaults
            };
            policy.check(catalog).map_err(refused)?;
            let change = match existing.policies.get(&sku) {
                None => Change::New,
                Some(set) if *set == policy => Change::Unchanged,
                Some(_) => Change::Changed,
            };
            Ok((Row::Policy { sku, policy }, change))
        }
        ImportKind::OpeningStock => {
            let sku = cells.id("sku")?;
            let location = cells.id("location")?;
            once(seen, "sku", format!("{sku} at {location}"))?;
            sku_exists(&sku)?;
            location_exists(catalog, &location)?;
            let qty = cells.whole("qty")?.map_or_else(|| Cells::fail("qty", "is empty"), Ok)?;
            Row::count(&location, qty).check().map_err(refused)?;
            let change = match existing.on_hand.get(&(sku.clone(), location.clone())).copied().unwrap_or(0) {
                now if now == qty => Change::Unchanged,
                0 => Change::New,
                _ => Change::Changed,
            };
            Ok((Row::Stock { sku, location, qty }, change))
        }
        ImportKind::DemandHistory => {
            let sku = cells.id("sku")?;
            let location = cells.optional_id("location")?;
            let date: NaiveDate =
                cells.parsed("date", "a date YYYY-MM-DD")?.map_or_else(|| Cells::fail("date", "is empty"), Ok)?;
            let at = location.as_ref().map_or("all locations".to_string(), Id::to_string);
            once(seen, "date", format!("{sku} at {at} on {date}"))?;
            sku_exists(&sku)?;
            let qty = cells.whole("qty")?.map_or_else(|| Cells::fail("qty", "is empty"), Ok)?;
            let one = DemandImport { location: location.clone(), days: vec![DemandDay { date, qty }] };
            one.check(catalog, existing.today).map_err(|error| {
                let (column, reason) = refused(error);
                (column.trim_start_matches("days[0].").to_string(), reason)
            })?;
            Ok((Row::Demand { sku, location, date, qty }, Change::Changed))
        }
    }
}

/// The file for `rows`, in the kind's column order (the shape `plan` reads).
pub fn export(kind: ImportKind, rows: &[Row]) -> Result<String, EngineError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write_failed = |e: csv::Error| EngineError::unavailable(format!("writing CSV: {e}"));
    writer.write_record(kind.columns().iter().map(|(name, _)| *name)).map_err(write_failed)?;
    let join = |values: &[String]| values.join(&LIST_SEPARATOR.to_string());
    let or_empty = |value: Option<String>| value.unwrap_or_default();
    for row in rows {
        let cells: Vec<String> = match (kind, row) {
            (ImportKind::Locations, Row::Location { id, spec }) => vec![
                id.to_string(),
                spec.name.clone(),
                spec.kind.as_str().to_string(),
                spec.region.clone(),
                spec.priority.to_string(),
            ],
            (ImportKind::Channels, Row::Channel { id, spec }) => vec![
                id.to_string(),
                spec.name.clone(),
                join(&spec.locations.iter().map(Id::to_string).collect::<Vec<_>>()),
                spec.buffer.to_string(),
                or_empty(spec.cap.map(|v| v.to_string())),
                or_empty(spec.stop_below.map(|v| v.to_string())),
            ],
            (ImportKind::Suppliers, Row::Supplier { id, spec }) => vec![
                id.to_string(),
                spec.name.clone(),
                spec.currency.clone(),
                spec.lead_time_days.to_string(),
                spec.lead_time_std_days.to_string(),
                or_empty(spec.standing.map(|s| s.as_str().to_string())),
            ],
            (ImportKind::Skus, Row::Sku { id, spec }) => vec![
                id.to_string(),
                spec.name.clone(),
                spec.safety_stock.to_string(),
                or_empty(spec.unit_cost.map(|c| c.to_string())),
                join(&spec.barcodes),
                spec.critical.to_string(),
                join(&spec.substitutes.iter().map(Id::to_string).collect::<Vec<_>>()),
            ],
            (ImportKind::Policies, Row::Policy { sku, policy }) => vec![
                sku.to_string(),
                or_empty(policy.supplier.as_ref().map(Id::to_string)),
                policy.service_level.to_string(),
                policy.review_period_days.to_string(),
                or_empty(policy.lead_time_days.map(|v| v.to_string())),
                or_empty(policy.lead_time_std_days.map(|v| v.to_string())),
                policy.moq.to_string(),
                policy.pack_multiple.to_string(),
                or_empty(policy.min_qty.map(|v| v.to_string())),
                or_empty(policy.max_qty.map(|v| v.to_string())),
            ],
            (ImportKind::OpeningStock, Row::Stock { sku, location, qty }) => {
                vec![sku.to_string(), location.to_string(), qty.to_string()]
            }
            (ImportKind::DemandHistory, Row::Demand { sku, location, date, qty }) => {
                vec![sku.to_string(), or_empty(location.as_ref().map(Id::to_string)), date.to_string(), qty.to_string()]
            }
            (kind, row) => {
                return Err(EngineError::invalid("rows", format!("a {row:?} is not a row of {}", kind.as_str())))
            }
        };
        writer.write_record(&cells).map_err(write_failed)?;
    }
    let bytes = writer.into_inner().map_err(|e| EngineError::unavailable(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| EngineError::unavailable(format!("writing CSV: {e}")))
}

/// The catalog's locations, channels or suppliers as rows of `kind` (none for another kind).
pub fn catalog_rows(catalog: &Catalog, kind: ImportKind) -> Vec<Row> {
    match kind {
        ImportKind::Locations => catalog
            .locations()
            .iter()
            .map(|l| Row::Location {
                id: l.id.clone(),
                spec: LocationSpec {
                    name: l.name.clone(),
                    kind: l.kind,
                    region: l.region.clone(),
                    priority: l.priority,
                },
            })
            .collect(),
        ImportKind::Channels => catalog
            .channels()
            .map(|c| Row::Channel {
                id: c.id.clone(),
                spec: ChannelSpec {
                    name: c.name.clone(),
                    locations: c.locations.clone(),
                    buffer: c.buffer,
                    cap: c.cap,
                    stop_below: c.stop_below,
                },
            })
            .collect(),
        ImportKind::Suppliers => catalog
            .suppliers()
            .iter()
            .map(|s| Row::Supplier {
                id: s.id.clone(),
                spec: SupplierSpec {
                    name: s.name.clone(),
                    currency: s.currency.clone(),
                    lead_time_days: s.lead_time_days,
                    lead_time_std_days: s.lead_time_std_days,
                    standing: Some(s.standing),
                },
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The columns of the stock-positions export (export only: stock moves through movements).
pub const POSITION_COLUMNS: [&str; 10] = [
    "sku",
    "location",
    "on_hand",
    "available",
    "reserved",
    "allocated",
    "quarantined",
    "damaged",
    "inbound",
    "return_pending",
];

/// Stock positions, a row per SKU and location: what `GET /v1/availability/{sku}` says.
pub fn export_positions(rows: &[(Id, crate::LocationAvailability)]) -> Result<String, EngineError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write_failed = |e: csv::Error| EngineError::unavailable(format!("writing CSV: {e}"));
    writer.write_record(POSITION_COLUMNS).map_err(write_failed)?;
    for (sku, at) in rows {
        let numbers = [
            at.on_hand,
            at.available,
            at.reserved,
            at.allocated,
            at.quarantined,
            at.damaged,
            at.inbound,
            at.return_pending,
        ];
        let mut cells = vec![sku.to_string(), at.location.to_string()];
        cells.extend(numbers.iter().map(i64::to_string));
        writer.write_record(&cells).map_err(write_failed)?;
    }
    let bytes = writer.into_inner().map_err(|e| EngineError::unavailable(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| EngineError::unavailable(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests;
