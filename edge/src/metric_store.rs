//! Day buckets of the metrics in a Durable Object's SQLite: the additions a change makes (written
//! in that change's transaction) and a window's rows read back for the engine's `read_*`. Shared
//! by the objects that keep metrics (Orders, Purchasing); each keeps its own facts beside its
//! documents.

use crate::store;
use chrono::NaiveDate;
use serde::Deserialize;
use std::borrow::Cow;
use stockline_engine::metrics::{self, BucketRow, Delta, MetricsBy, Window};
use worker::{Result, SqlStorage, SqlStorageValue};

/// Clustered by key then day (`WITHOUT ROWID`): a breakdown sums each key's days in one pass,
/// with no sort (a 90-day breakdown over 10,000 SKUs is 3× faster than clustered by day).
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS metric_buckets (metric TEXT NOT NULL, dim TEXT NOT NULL,
         key TEXT NOT NULL, bin INTEGER NOT NULL, day TEXT NOT NULL, n0 INTEGER NOT NULL, n1 INTEGER NOT NULL,
         n2 INTEGER NOT NULL, n3 INTEGER NOT NULL, n4 INTEGER NOT NULL, n5 INTEGER NOT NULL,
         PRIMARY KEY (metric, dim, key, bin, day)) WITHOUT ROWID;";

/// Creates the table, moving buckets kept before in `metric_days` (clustered by day) into it.
pub fn create(sql: &SqlStorage) -> Result<()> {
    store::exec(sql, SCHEMA, vec![])?;
    #[derive(Deserialize)]
    struct Count {
        count: i64,
    }
    let old: Option<Count> = store::first(
        sql,
        "SELECT COUNT(*) AS count FROM sqlite_master WHERE type = 'table' AND name = 'metric_days'",
        vec![],
    )?;
    if old.is_some_and(|old| old.count > 0) {
        store::exec(
            sql,
            "INSERT OR IGNORE INTO metric_buckets (metric, dim, key, bin, day, n0, n1, n2, n3, n4, n5)
             SELECT metric, dim, key, bin, day, n0, n1, n2, n3, n4, n5 FROM metric_days",
            vec![],
        )?;
        store::exec(sql, "DROP TABLE metric_days", vec![])?;
    }
    Ok(())
}

/// Adds `deltas` to their buckets (call inside the change's transaction).
pub fn add(sql: &SqlStorage, deltas: Vec<Delta>) -> Result<()> {
    for delta in deltas {
        let mut bindings: Vec<SqlStorageValue> = vec![
            delta.metric.into(),
            delta.dim.into(),
            delta.day.to_string().into(),
            delta.key.into(),
            i64::from(delta.bin).into(),
        ];
        bindings.extend(delta.values.into_iter().map(SqlStorageValue::from));
        store::exec(
            sql,
            "INSERT INTO metric_buckets (metric, dim, day, key, bin, n0, n1, n2, n3, n4, n5)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(metric, dim, key, bin, day) DO UPDATE SET n0 = n0 + excluded.n0,
             n1 = n1 + excluded.n1, n2 = n2 + excluded.n2, n3 = n3 + excluded.n3,
             n4 = n4 + excluded.n4, n5 = n5 + excluded.n5",
            bindings,
        )?;
    }
    Ok(())
}

/// What a read wants from the buckets.
pub struct Query<'a> {
    pub metrics: &'a [&'a str],
    pub window: Window,
    /// The last day counted (today): a bucket dated later is not due yet.
    pub through: NaiveDate,
    /// `metrics`' per-day totals (dim all) in the window and the one before it.
    pub totals: bool,
    /// Groups summed over the window (and the one before), when a breakdown is asked for.
    pub groups: Option<Groups<'a>>,
    /// The backlog's buckets, any day.
    pub backlog: bool,
}

/// A breakdown's groups: one row per key and bin, summed over a window in SQLite and dated its
/// last day counted (a breakdown over 10,000 SKUs is 10,000 rows, not one per day).
pub struct Groups<'a> {
    pub by: MetricsBy,
    /// The window's own groups.
    pub current: bool,
    /// The groups of the window before (for a comparison per group).
    pub previous: bool,
    /// Only these keys' groups (a JSON array of strings); every key's when none.
    pub keys: Option<&'a str>,
}

impl Groups<'_> {
    /// The window's groups of every key.
    pub fn of(by: Option<MetricsBy>) -> Option<Groups<'static>> {
        by.map(|by| Groups { by, current: true, previous: false, keys: None })
    }
}

/// A window's buckets as the JSON text SQLite built: an array of parts, each
/// `[dim, day, [[metric, key, bin, n0, …, n5], …]]` (a breakdown's rows share their dim and
/// day: written once, not 100,000 times). Read as rows that borrow from it, or passed on to
/// another object as it is.
pub struct Buckets(String);

impl Buckets {
    pub fn rows(&self) -> Result<Vec<BucketRow<'_>>> {
        rows_of(&self.0)
    }

    pub fn into_json(self) -> String {
        self.0
    }
}

/// Buckets' JSON text as rows, borrowing their names from it.
pub fn rows_of(json: &str) -> Result<Vec<BucketRow<'_>>> {
    type Row<'a> = (Cow<'a, str>, Cow<'a, str>, i64, i64, i64, i64, i64, i64, i64);
    type Part<'a> = (Cow<'a, str>, &'a str, Vec<Row<'a>>);
    let parts: Vec<Part<'_>> = serde_json::from_str(json).map_err(|e| format!("metric_buckets as JSON: {e}"))?;
    let mut read = Vec::with_capacity(parts.iter().map(|(_, _, rows)| rows.len()).sum());
    for (dim, day, rows) in parts {
        let day: NaiveDate = day.parse().map_err(|e| format!("metric_buckets: day {day:?}: {e}"))?;
        for (metric, key, bin, n0, n1, n2, n3, n4, n5) in rows {
            let bin = u32::try_from(bin).map_err(|_| format!("metric_buckets: bin {bin}"))?;
            let values = [n0, n1, n2, n3, n4, n5];
            read.push(BucketRow { metric, dim: dim.clone(), key, day, bin, values });
        }
    }
    Ok(read)
}

/// The JSON of a part's rows, as SQLite's `json_group_array` builds it.
const PART_ROWS: &str = "json_group_array(json_array(metric, key, bin, n0, n1, n2, n3, n4, n5))";

/// A window's buckets: what `query` asks for, in one SQLite statement whose answer is one JSON
/// text.
pub fn read(sql: &SqlStorage, query: Query<'_>) -> Result<Buckets> {
    let Query { metrics, window, through, totals, groups, backlog } = query;
    let marks = vec!["?"; metrics.len()].join(", ");
    let named = || metrics.iter().map(|m| SqlStorageValue::from(*m));
    let last = window.to.min(through);
    let mut parts: Vec<String> = Vec::new();
    let mut bindings: Vec<SqlStorageValue> = Vec::new();
    if totals {
        parts.push(format!(
            "SELECT json_array(?, day, {PART_ROWS}) AS part FROM metric_buckets
             WHERE metric IN ({marks}) AND dim = ? AND day BETWEEN ? AND ? GROUP BY day"
        ));
        bindings.push(metrics::dim::ALL.into());
        bindings.extend(named());
        bindings.push(metrics::dim::ALL.into());
        bindings.push(window.previous().from.to_string().into());
        bindings.push(last.to_string().into());
    }
    if let Some(Groups { by, current, previous, keys }) = groups {
        let mut spans = Vec::with_capacity(2);
        if current {
            spans.push((window.from, last));
        }
        if previous {
            let previous = window.previous();
            spans.push((previous.from, previous.to.min(through)));
        }
        for (from, to) in spans.into_iter().filter(|(from, to)| from <= to) {
            parts.push(format!(
                "SELECT json_array(?, ?, {PART_ROWS}) AS part FROM (SELECT metric, key, bin, SUM(n0) AS n0,
                 SUM(n1) AS n1, SUM(n2) AS n2, SUM(n3) AS n3, SUM(n4) AS n4, SUM(n5) AS n5 FROM metric_buckets
                 WHERE metric IN ({marks}) AND dim = ? AND day BETWEEN ? AND ?{only} GROUP BY metric, key, bin)",
                only = if keys.is_some() { " AND key IN (SELECT value FROM json_each(?))" } else { "" }
            ));
            bindings.push(by.dim().into());
            bindings.push(to.to_string().into());
            bindings.extend(named());
            bindings.push(by.dim().into());
            bindings.push(from.to_string().into());
            bindings.push(to.to_string().into());
            if let Some(keys) = keys {
                bindings.push(keys.into());
            }
        }
    }
    if backlog {
        parts.push(format!(
            "SELECT json_array(?, day, {PART_ROWS}) AS part FROM metric_buckets
             WHERE metric > ? AND metric < ? AND dim = ? GROUP BY day"
        ));
        bindings.push(metrics::dim::ALL.into());
        bindings.push(metrics::metric::BACKLOG_PREFIX.into());
        bindings.push("backlog/".into());
        bindings.push(metrics::dim::ALL.into());
    }
    if parts.is_empty() {
        return Ok(Buckets("[]".to_string()));
    }
    assert!(bindings.len() <= store::SQL_BINDINGS_MAX);
    // One JSON text crosses into wasm, not a JS object per row (a breakdown over 10,000 SKUs by
    // cycle-time bin is 100,000 rows). The parts are joined as text: each is JSON already.
    let text = format!(
        "SELECT '[' || COALESCE(group_concat(part, ','), '') || ']' AS rows FROM ({})",
        parts.join(" UNION ALL ")
    );
    #[derive(Deserialize)]
    struct Joined {
        rows: String,
    }
    let joined: Joined = store::first(sql, &text, bindings)?.ok_or("an aggregate answers one row")?;
    Ok(Buckets(joined.rows))
}
