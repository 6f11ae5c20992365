//! Day buckets of the metrics in a Durable Object's SQLite: the additions a change makes (written
//! in that change's transaction) and a window's rows read back for the engine's `read_*`. Shared
//! by the objects that keep metrics (Orders, Purchasing); each keeps its own facts beside its
//! documents.

use crate::store;
use chrono::NaiveDate;
use serde::Deserialize;
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
    pub by: Option<MetricsBy>,
    /// The last day counted (today): a bucket dated later is not due yet.
    pub through: NaiveDate,
    /// `by`'s groups of the window before too (for a comparison per group).
    pub previous_groups: bool,
    /// The backlog's buckets, any day.
    pub backlog: bool,
    /// Only these keys' groups (a JSON array of strings); every key's when none.
    pub keys: Option<&'a str>,
}

/// A window's buckets: `metrics`' per-day totals (dim all) in the window and the one before it;
/// `by`'s groups summed over a window in SQLite (one row per key and bin, dated the last day
/// counted: a breakdown over 10,000 SKUs is 10,000 rows, not one per day); the backlog's when
/// asked.
pub fn rows(sql: &SqlStorage, query: Query<'_>) -> Result<Vec<BucketRow>> {
    #[derive(Deserialize)]
    struct Row {
        metric: String,
        dim: String,
        key: String,
        day: String,
        bin: i64,
        n0: i64,
        n1: i64,
        n2: i64,
        n3: i64,
        n4: i64,
        n5: i64,
    }
    let Query { metrics, window, by, through, previous_groups, backlog, keys } = query;
    let marks = vec!["?"; metrics.len()].join(", ");
    let named = || metrics.iter().map(|m| SqlStorageValue::from(*m));
    let last = window.to.min(through);
    let mut text = format!(
        "SELECT metric, dim, key, day, bin, n0, n1, n2, n3, n4, n5 FROM metric_buckets
         WHERE metric IN ({marks}) AND dim = ? AND day BETWEEN ? AND ?"
    );
    let mut bindings: Vec<SqlStorageValue> = named().collect();
    bindings.push(metrics::dim::ALL.into());
    bindings.push(window.previous().from.to_string().into());
    bindings.push(last.to_string().into());
    if let Some(by) = by {
        let mut spans = vec![(window.from, last)];
        if previous_groups {
            let previous = window.previous();
            spans.push((previous.from, previous.to.min(through)));
        }
        for (from, to) in spans.into_iter().filter(|(from, to)| from <= to) {
            text.push_str(&format!(
                " UNION ALL SELECT metric, dim, key, ? AS day, bin, SUM(n0) AS n0, SUM(n1) AS n1, SUM(n2) AS n2,
                 SUM(n3) AS n3, SUM(n4) AS n4, SUM(n5) AS n5 FROM metric_buckets
                 WHERE metric IN ({marks}) AND dim = ? AND day BETWEEN ? AND ?{only} GROUP BY metric, key, bin",
                only = if keys.is_some() { " AND key IN (SELECT value FROM json_each(?))" } else { "" }
            ));
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
        text.push_str(
            " UNION ALL SELECT metric, dim, key, day, bin, n0, n1, n2, n3, n4, n5 FROM metric_buckets
             WHERE metric > ? AND metric < ? AND dim = ?",
        );
        bindings.push(metrics::metric::BACKLOG_PREFIX.into());
        bindings.push("backlog/".into());
        bindings.push(metrics::dim::ALL.into());
    }
    assert!(bindings.len() <= store::SQL_BINDINGS_MAX);
    // One JSON text crosses into wasm, not a JS object per row (a breakdown over 10,000 SKUs by
    // cycle-time bin is 100,000 rows).
    let text = format!(
        "SELECT json_group_array(json_array(metric, dim, key, day, bin, n0, n1, n2, n3, n4, n5)) AS rows FROM ({text})"
    );
    #[derive(Deserialize)]
    struct Joined {
        rows: String,
    }
    let joined: Joined = store::first(sql, &text, bindings)?.ok_or("an aggregate answers one row")?;
    let rows: Vec<Row> = serde_json::from_str(&joined.rows).map_err(|e| format!("metric_buckets as JSON: {e}"))?;
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        let day = row.day.parse().map_err(|e| format!("metric_buckets: day {:?}: {e}", row.day))?;
        let bin = u32::try_from(row.bin).map_err(|_| format!("metric_buckets: bin {}", row.bin))?;
        let values = [row.n0, row.n1, row.n2, row.n3, row.n4, row.n5];
        read.push(BucketRow { metric: row.metric, dim: row.dim, key: row.key, day, bin, values });
    }
    Ok(read)
}
