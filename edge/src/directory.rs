//! The Directory: one Durable Object holding master data (locations, channels) as an engine
//! `Catalog`, and the list of created SKUs that keep a copy of it.
//!
//! A master-data write is decided, saved and recorded under its idempotency key in one storage
//! transaction, with no `await` between the key check and the commit, so concurrent requests with
//! one key apply once. The answer does not wait for the SKU objects: it carries the new catalog
//! version, and the change reaches every SKU object in the background, from alarms, in batches,
//! retried until each has it. A caller that must read its own write sends
//! `Stockline-Min-Catalog-Version`, and a SKU object behind it fetches the catalog first.
//!
//! It also keeps the item index (`GET /v1/skus`): each created SKU's name and barcodes, sent by the
//! SKU object with every subscription (after each `PUT /v1/skus/{sku}` and each catalog refresh),
//! so a change that failed to reach the index gets there at the SKU's next refresh.

use crate::http::{call, now, serve, Answer, Answered, Envelope};
use crate::protocol::directory::{ITEMS_PAGE_MAX, PLANS_PAGE_MAX};
use crate::protocol::{DirectoryCommand, SkuCommand};
use crate::store;
use chrono::NaiveDate;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cell::RefCell;
use stockline_engine::metrics::{
    read_stock_health, AgingRow, HealthRow, MetricsBy, StockHealthReport, StockoutDays, Window, WINDOW_DAYS_MAX,
};
use stockline_engine::planning::{self, Alert, PlanSummary};
use stockline_engine::{Catalog, Id};
use stockline_shared::{
    AlertsResponse, Item, ItemsResponse, ReplenishmentGroup, ReplenishmentLine, ReplenishmentResponse,
};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

/// SKU objects pushed to at once when master data changes.
const PUSH_PARALLEL_MAX: usize = 32;
/// SKU objects pushed to by one alarm run; the next run follows at once while any is behind.
const PUSH_BATCH_MAX: i64 = 512;
/// How long to wait before pushing again to SKU objects that could not be reached.
const PUSH_RETRY_MS: i64 = 1_000;
/// Stockout days are kept this long: a window and the one before it, at their longest.
const STOCKOUT_KEPT_DAYS: u64 = 2 * WINDOW_DAYS_MAX as u64;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS catalog_subscribers (sku TEXT PRIMARY KEY,
         catalog_version INTEGER NOT NULL);
     CREATE INDEX IF NOT EXISTS catalog_subscribers_behind ON catalog_subscribers (catalog_version);
     CREATE TABLE IF NOT EXISTS items (sku TEXT PRIMARY KEY, name TEXT NOT NULL, barcodes TEXT NOT NULL,
         haystack TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS critical_skus (sku TEXT PRIMARY KEY);
     CREATE TABLE IF NOT EXISTS item_stock_policy (sku TEXT PRIMARY KEY, safety_stock INTEGER NOT NULL, unit_cost TEXT);
     CREATE TABLE IF NOT EXISTS item_substitutes (sku TEXT PRIMARY KEY, substitutes TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS plan_summaries (sku TEXT NOT NULL, location TEXT NOT NULL, supplier TEXT,
         needs_action INTEGER NOT NULL, at_risk INTEGER NOT NULL, urgency TEXT NOT NULL, at_risk_since TEXT,
         body TEXT NOT NULL, PRIMARY KEY (sku, location));
     CREATE INDEX IF NOT EXISTS plan_summaries_by_urgency ON plan_summaries (location, needs_action, urgency);
     CREATE INDEX IF NOT EXISTS plan_summaries_at_risk ON plan_summaries (location, at_risk, at_risk_since);
     CREATE TABLE IF NOT EXISTS stock_health (sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL,
         unsellable INTEGER NOT NULL, mean_daily REAL NOT NULL, excess INTEGER NOT NULL, dead INTEGER NOT NULL,
         dead_since TEXT, anomaly_on TEXT, PRIMARY KEY (sku, location));
     CREATE INDEX IF NOT EXISTS stock_health_dead ON stock_health (location, dead, dead_since);
     CREATE INDEX IF NOT EXISTS stock_health_anomaly ON stock_health (location, anomaly_on);
     CREATE INDEX IF NOT EXISTS stock_health_by_location ON stock_health (location);
     CREATE TABLE IF NOT EXISTS stockout_days (day TEXT NOT NULL, sku TEXT NOT NULL, PRIMARY KEY (day, sku));
     CREATE TABLE IF NOT EXISTS stock_aging (sku TEXT NOT NULL, location TEXT NOT NULL, bucket TEXT NOT NULL,
         band INTEGER NOT NULL, units INTEGER NOT NULL, PRIMARY KEY (sku, location, bucket, band));
     CREATE INDEX IF NOT EXISTS stock_aging_by_location ON stock_aging (location);";

#[durable_object]
pub struct Directory {
    state: State,
    env: Env,
    catalog: RefCell<Option<Catalog>>,
    /// Where the next push batch starts (SKU id order, wrapping): SKU objects that keep failing
    /// do not hide the ones after them.
    push_after: RefCell<String>,
}

/// An item's columns, from `items` and the tables beside it, for `SELECT {ITEM_COLUMNS} WHERE …`.
const ITEM_COLUMNS: &str = "items.sku AS sku, name, barcodes, p.safety_stock AS safety_stock, p.unit_cost AS unit_cost,
     EXISTS (SELECT 1 FROM critical_skus c WHERE c.sku = items.sku) AS critical,
     (SELECT s.substitutes FROM item_substitutes s WHERE s.sku = items.sku) AS substitutes
     FROM items LEFT JOIN item_stock_policy p ON p.sku = items.sku";

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct SkuRow {
    sku: String,
}

#[derive(Deserialize)]
struct ItemRow {
    sku: String,
    name: String,
    barcodes: String,
    critical: i64,
    /// None for an item indexed before its stock policy was kept here (until its next change).
    safety_stock: Option<i64>,
    unit_cost: Option<String>,
    /// The substitutes as a JSON list; none when it names none.
    substitutes: Option<String>,
}

impl ItemRow {
    fn item(self) -> Result<Item> {
        let sku = Id::new(self.sku).map_err(|e| worker::Error::RustError(format!("item index: {e}")))?;
        let unit_cost = self
            .unit_cost
            .map(|text| text.parse::<stockline_engine::Money>())
            .transpose()
            .map_err(|e| worker::Error::RustError(format!("item index: {sku}'s unit cost: {e}")))?;
        Ok(Item {
            barcodes: serde_json::from_str(&self.barcodes)?,
            sku,
            name: self.name,
            critical: self.critical != 0,
            safety_stock: self.safety_stock.unwrap_or(0),
            unit_cost,
            substitutes: self.substitutes.map(|text| serde_json::from_str(&text)).transpose()?.unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
struct CountRow {
    count: i64,
}

#[derive(Deserialize)]
struct PlanRow {
    at_risk_since: Option<String>,
    body: String,
}

/// A stored `at_risk_since` (RFC 3339, written by `take_plans`); one that does not parse is an error.
fn since(text: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(&t)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|e| worker::Error::RustError(format!("at_risk_since `{t}`: {e}")))
    })
    .transpose()
}

impl Directory {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn catalog(&self) -> Result<Catalog> {
        if let Some(catalog) = self.catalog.borrow().as_ref() {
            return Ok(catalog.clone());
        }
        let row: Option<ValueRow> = store::first(&self.sql(), "SELECT value FROM meta WHERE key = 'catalog'", vec![])?;
        let catalog = match row {
            Some(row) => serde_json::from_str(&row.value)?,
            None => Catalog::default(),
        };
        *self.catalog.borrow_mut() = Some(catalog.clone());
        Ok(catalog)
    }

    fn count(&self, query: &str, bindings: Vec<worker::SqlStorageValue>) -> Result<i64> {
        Ok(store::first::<CountRow>(&self.sql(), query, bindings)?.map_or(0, |row| row.count))
    }

    /// Master-data writes honour Idempotency-Key like every other write. Synchronous from the key
    /// check to the commit: no other request interleaves.
    fn write(&self, envelope: &Envelope<DirectoryCommand>) -> Result<Answer> {
        let now = now()?;
        if let Some(idempotency) = &envelope.idempotency {
            if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                return Ok(answer);
            }
        }
        let mut catalog = self.catalog()?;
        let decided = match &envelope.command {
            DirectoryCommand::PutLocation { id, spec } => {
                catalog.put_location(id.clone(), spec.clone()).map(serde_json::to_value)
            }
            DirectoryCommand::PutChannel { id, spec } => {
                catalog.put_channel(id.clone(), spec.clone()).map(serde_json::to_value)
            }
            DirectoryCommand::PutSupplier { id, spec } => {
                catalog.put_supplier(id.clone(), spec.clone(), envelope.actor.role).map(serde_json::to_value)
            }
            DirectoryCommand::SetMeasuredLeadTime { id, lead_time } => {
                match catalog.set_measured_lead_time(id.as_str(), lead_time.clone()) {
                    // The same as before: nothing to store or push.
                    Ok(None) => return Ok(Answer::ok(200, &serde_json::json!({ "changed": false }))),
                    Ok(Some(supplier)) => Ok(serde_json::to_value(supplier)),
                    Err(error) => Err(error),
                }
            }
            _ => unreachable!("only master-data writes come here"),
        };
        let mut body = match decided {
            Ok(body) => body?,
            Err(error) => return Ok(Answer::error(error.into())),
        };
        body["catalog_version"] = catalog.version().into();
        let answer = Answer { status: 200, body };
        let text = serde_json::to_string(&catalog)?;
        let recorded = envelope.idempotency.clone().map(|key| (key, answer.clone()));
        store::put_meta_recorded(&self.state.storage(), self.sql(), "catalog", text, recorded, now)?;
        *self.catalog.borrow_mut() = Some(catalog);
        Ok(answer)
    }

    /// Keeps a SKU's latest plan summaries (over all locations: location `''`; and per location),
    /// replacing the earlier ones. `at_risk_since` is when a summary became at risk (kept while it
    /// stays so): the alert's time.
    fn take_plans(&self, sku: &Id, summaries: &[PlanSummary], stockout_days: &[NaiveDate]) -> Result<()> {
        #[derive(Deserialize)]
        struct Earlier {
            location: String,
            at_risk_since: Option<String>,
        }
        assert!(summaries.iter().all(|summary| &summary.sku == sku), "a SKU sends its own plans");
        let clock = now()?;
        let now = clock.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let sql = self.sql();
        let earlier: Vec<Earlier> = store::rows(
            &sql,
            "SELECT location, at_risk_since FROM plan_summaries WHERE sku = ? AND at_risk = 1",
            vec![sku.as_str().into()],
        )?;
        let mut rows = Vec::with_capacity(summaries.len());
        let mut health = Vec::with_capacity(summaries.len());
        let mut aging: Vec<(String, &'static str, i64, i64)> = Vec::new();
        for summary in summaries {
            let location = summary.location.as_ref().map_or(String::new(), |l| l.to_string());
            if let Some(bands) = summary.health.as_ref().and_then(|h| h.aging.as_ref()) {
                for bucket in planning::AGED_BUCKETS {
                    for (band, units) in bands.bands(bucket).iter().enumerate().filter(|(_, units)| **units > 0) {
                        aging.push((location.clone(), bucket.as_str(), band as i64, *units));
                    }
                }
            }
            if let Some(h) = &summary.health {
                let dead_since = h.dead_since.map(|day| day.to_string());
                let anomaly_on = summary.anomaly.as_ref().map(|anomaly| anomaly.date.to_string());
                let figures = (h.on_hand, h.unsellable, h.mean_daily_demand, h.excess_units);
                health.push((location.clone(), figures, dead_since, anomaly_on));
            }
            let risk_since = summary.at_risk.then(|| {
                earlier
                    .iter()
                    .find(|e| e.location == location)
                    .and_then(|e| e.at_risk_since.clone())
                    .unwrap_or(now.clone())
            });
            // Stored as the list's line (the summary and since when it is at risk): a page is
            // these texts joined, never decoded and encoded again.
            let line = ReplenishmentLine { summary: summary.clone(), at_risk_since: since(risk_since.clone())? };
            rows.push((
                location,
                summary.supplier.as_ref().map(|s| s.to_string()),
                i64::from(summary.needs_action()),
                i64::from(summary.at_risk),
                summary.sort_key(),
                risk_since,
                serde_json::to_string(&line)?,
            ));
        }
        let sku = sku.to_string();
        let stockout_days: Vec<String> = stockout_days.iter().map(NaiveDate::to_string).collect();
        let oldest = (clock.date_naive() - chrono::Days::new(STOCKOUT_KEPT_DAYS)).to_string();
        store::transaction(&self.state.storage(), move || {
            for day in stockout_days {
                store::exec(
                    &sql,
                    "INSERT OR IGNORE INTO stockout_days (day, sku) VALUES (?, ?)",
                    vec![day.into(), sku.as_str().into()],
                )?;
            }
            store::exec(&sql, "DELETE FROM stockout_days WHERE day < ?", vec![oldest.into()])?;
            store::exec(&sql, "DELETE FROM plan_summaries WHERE sku = ?", vec![sku.as_str().into()])?;
            store::exec(&sql, "DELETE FROM stock_health WHERE sku = ?", vec![sku.as_str().into()])?;
            store::exec(&sql, "DELETE FROM stock_aging WHERE sku = ?", vec![sku.as_str().into()])?;
            for (location, bucket, band, units) in aging {
                store::exec(
                    &sql,
                    "INSERT INTO stock_aging (sku, location, bucket, band, units) VALUES (?, ?, ?, ?, ?)",
                    vec![sku.as_str().into(), location.into(), bucket.into(), band.into(), units.into()],
                )?;
            }
            for (location, (on_hand, unsellable, mean_daily, excess), dead_since, anomaly_on) in health {
                store::exec(
                    &sql,
                    "INSERT INTO stock_health (sku, location, on_hand, unsellable, mean_daily, excess, dead, dead_since,
                     anomaly_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        sku.as_str().into(),
                        location.into(),
                        on_hand.into(),
                        unsellable.into(),
                        mean_daily.into(),
                        excess.into(),
                        i64::from(dead_since.is_some()).into(),
                        dead_since.into(),
                        anomaly_on.into(),
                    ],
                )?;
            }
            for (location, supplier, needs_action, at_risk, urgency, since, body) in rows {
                store::exec(
                    &sql,
                    "INSERT INTO plan_summaries (sku, location, supplier, needs_action, at_risk, urgency, at_risk_since, body)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        sku.as_str().into(),
                        location.into(),
                        supplier.into(),
                        needs_action.into(),
                        at_risk.into(),
                        urgency.into(),
                        since.into(),
                        body.into(),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// The SKUs that need a buyer's action, most urgent first, grouped by supplier on the page.
    /// Each row's body is the list's line as `take_plans` encoded it; SQLite joins a supplier's
    /// lines into one JSON array (in urgency order), so a page crosses into wasm as a few strings,
    /// one per supplier, checked once (`RawValue`) and never decoded and encoded again here.
    fn replenishment(
        &self,
        supplier: Option<&Id>,
        location: Option<&Id>,
        at_risk: Option<bool>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<ReplenishmentResponse<Box<RawValue>>> {
        #[derive(Deserialize)]
        struct GroupRow {
            supplier: Option<String>,
            last: String,
            lines: String,
        }
        #[derive(Deserialize)]
        struct Found {
            found: i64,
        }
        assert!((1..=PLANS_PAGE_MAX).contains(&limit));
        let mut filter = String::from("location = ? AND needs_action = 1");
        let mut bindings: Vec<worker::SqlStorageValue> = vec![location.map_or("", Id::as_str).into()];
        if let Some(supplier) = supplier {
            filter.push_str(" AND supplier = ?");
            bindings.push(supplier.as_str().into());
        }
        if let Some(at_risk) = at_risk {
            filter.push_str(" AND at_risk = ?");
            bindings.push(i64::from(at_risk).into());
        }
        let query = format!(
            "SELECT supplier, MIN(urgency) AS first, MAX(urgency) AS last,
                    '[' || group_concat(body, ',' ORDER BY urgency) || ']' AS lines
             FROM (SELECT urgency, supplier, body
                   FROM plan_summaries WHERE {filter} AND urgency > ? ORDER BY urgency LIMIT ?)
             GROUP BY supplier ORDER BY first"
        );
        let mut page_bindings = bindings.clone();
        page_bindings.push(cursor.unwrap_or("").into());
        page_bindings.push(i64::from(limit).into());
        let rows: Vec<GroupRow> = store::rows(&self.sql(), &query, page_bindings)?;
        let last = rows.iter().map(|row| row.last.as_str()).max().map(str::to_string);
        let more = match &last {
            Some(last) => {
                let mut more_bindings = bindings;
                more_bindings.push(last.as_str().into());
                let exists =
                    format!("SELECT EXISTS (SELECT 1 FROM plan_summaries WHERE {filter} AND urgency > ?) AS found");
                store::first::<Found>(&self.sql(), &exists, more_bindings)?.is_some_and(|row| row.found == 1)
            }
            None => false,
        };
        let catalog = self.catalog()?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in rows {
            let supplier = row.supplier.map(Id::new).transpose().map_err(|e| e.to_string())?;
            let found = supplier.as_ref().and_then(|id| catalog.supplier(id.as_str()));
            groups.push(ReplenishmentGroup {
                name: found.map(|s| s.name.clone()),
                currency: found.map(|s| s.currency.clone()),
                supplier,
                lines: RawValue::from_string(row.lines)?,
            });
        }
        Ok(ReplenishmentResponse { groups, next_cursor: if more { last } else { None } })
    }

    /// The planned SKUs' stock health now: the total over every SKU (their plans over all
    /// locations) and the groups of `by`, summed here (one row per SKU or per location).
    fn stock_health(&self, by: Option<MetricsBy>) -> Result<StockHealthReport> {
        const SUMS: &str = "COUNT(*) AS skus, SUM(on_hand) AS on_hand, SUM(unsellable) AS unsellable,
            SUM(CASE WHEN mean_daily > 0 THEN on_hand - unsellable ELSE 0 END) AS covered_sellable,
            SUM(mean_daily) AS mean_daily_demand, SUM(excess) AS excess_units,
            SUM(excess > 0) AS with_excess, SUM(dead) AS dead, SUM(CASE WHEN dead = 1 THEN on_hand ELSE 0 END) AS dead_units";
        #[derive(Deserialize)]
        struct Row {
            key: String,
            skus: i64,
            on_hand: Option<i64>,
            unsellable: Option<i64>,
            covered_sellable: Option<i64>,
            mean_daily_demand: Option<f64>,
            excess_units: Option<i64>,
            with_excess: Option<i64>,
            dead: Option<i64>,
            dead_units: Option<i64>,
        }
        // SUM over no rows is NULL: nothing planned yet counts as zero SKUs with zero stock.
        let health = |row: Row| HealthRow {
            key: row.key,
            skus: row.skus,
            on_hand: row.on_hand.unwrap_or(0),
            unsellable: row.unsellable.unwrap_or(0),
            covered_sellable: row.covered_sellable.unwrap_or(0),
            mean_daily_demand: row.mean_daily_demand.unwrap_or(0.0),
            excess_units: row.excess_units.unwrap_or(0),
            with_excess: row.with_excess.unwrap_or(0),
            dead: row.dead.unwrap_or(0),
            dead_units: row.dead_units.unwrap_or(0),
        };
        let sql = self.sql();
        let total: Row =
            store::first(&sql, &format!("SELECT '' AS key, {SUMS} FROM stock_health WHERE location = ''"), vec![])?
                .ok_or("an aggregate answers one row")?;
        let groups: Vec<Row> = match by {
            None => Vec::new(),
            Some(MetricsBy::Location) => store::rows(
                &sql,
                &format!("SELECT location AS key, {SUMS} FROM stock_health WHERE location != '' GROUP BY location"),
                vec![],
            )?,
            Some(_) => store::rows(
                &sql,
                &format!("SELECT sku AS key, {SUMS} FROM stock_health WHERE location = '' GROUP BY sku"),
                vec![],
            )?,
        };
        let groups: Vec<HealthRow> = groups.into_iter().map(health).collect();
        // The age bands: the total's (keyed empty) and the groups'.
        let group_by = match by {
            None => None,
            Some(MetricsBy::Location) => Some(("location", "location != ''")),
            Some(_) => Some(("sku", "location = ''")),
        };
        let mut text = String::from(
            "SELECT '' AS key, bucket, band, SUM(units) AS units FROM stock_aging WHERE location = '' GROUP BY bucket, band",
        );
        if let Some((key, rows)) = group_by {
            text.push_str(&format!(
                " UNION ALL SELECT {key} AS key, bucket, band, SUM(units) AS units FROM stock_aging WHERE {rows}
                 GROUP BY {key}, bucket, band"
            ));
        }
        let aging: Vec<AgingRow> = store::rows(&sql, &text, vec![])?;
        Ok(read_stock_health(&health(total), &groups, &aging, by, now()?.date_naive()))
    }

    /// Each SKU's stockout days in `window` and in the one before it (the SKUs out at all).
    fn stockouts(&self, window: Window) -> Result<Vec<StockoutDays>> {
        let previous = window.previous();
        let day = |date: NaiveDate| worker::SqlStorageValue::from(date.to_string());
        store::rows(
            &self.sql(),
            "SELECT sku, SUM(day >= ?) AS days, SUM(day <= ?) AS previous_days FROM stockout_days
             WHERE day BETWEEN ? AND ? GROUP BY sku",
            vec![day(window.from), day(previous.to), day(previous.from), day(window.to)],
        )
    }

    /// Predicted stockouts, newest first: each names its owner team and what to act on.
    fn alerts(&self, limit: u32) -> Result<AlertsResponse> {
        assert!((1..=PLANS_PAGE_MAX).contains(&limit));
        let rows: Vec<PlanRow> = store::rows(
            &self.sql(),
            "SELECT at_risk_since, body FROM plan_summaries WHERE location = '' AND at_risk = 1
             ORDER BY at_risk_since DESC, sku LIMIT ?",
            vec![i64::from(limit).into()],
        )?;
        let mut alerts = Vec::with_capacity(rows.len());
        for row in rows {
            let summary: PlanSummary = serde_json::from_str(&row.body)?;
            let raised_at = since(row.at_risk_since)?.ok_or("an at-risk plan summary has its at_risk_since")?;
            alerts.extend(summary.stockout_alert(raised_at));
        }
        // Dead stock and the last week's demand anomalies, the newest first: the SKU's plan over
        // every location says since when.
        let stale = self.health_plans("h.dead = 1", "h.dead_since", limit)?;
        let odd = self.health_plans("h.anomaly_on IS NOT NULL", "h.anomaly_on", limit)?;
        let stale = stale.iter().filter_map(PlanSummary::dead_stock_alert).collect();
        let anomalies = odd.iter().filter_map(PlanSummary::anomaly_alert).collect();
        let limit = usize::try_from(limit).map_err(|e| e.to_string())?;
        Ok(AlertsResponse { alerts: Alert::merged(vec![alerts, stale, anomalies], limit) })
    }

    /// The plans over every location of the SKUs whose stock health (`h`) meets `condition`,
    /// the newest `since` first, at most `limit`.
    fn health_plans(&self, condition: &str, since: &str, limit: u32) -> Result<Vec<PlanSummary>> {
        let rows: Vec<PlanRow> = store::rows(
            &self.sql(),
            &format!(
                "SELECT p.at_risk_since, p.body FROM stock_health h JOIN plan_summaries p ON p.sku = h.sku AND p.location = ''
                 WHERE h.location = '' AND {condition} ORDER BY {since} DESC, h.sku LIMIT ?"
            ),
            vec![i64::from(limit).into()],
        )?;
        rows.iter().map(|row| Ok(serde_json::from_str(&row.body)?)).collect()
    }

    fn index(&self, item: &Item) -> Result<()> {
        let barcodes = serde_json::to_string(&item.barcodes)?;
        let haystack = format!("{} {} {}", item.sku, item.name, item.barcodes.join(" ")).to_lowercase();
        store::exec(
            &self.sql(),
            "INSERT INTO items (sku, name, barcodes, haystack) VALUES (?, ?, ?, ?)
             ON CONFLICT(sku) DO UPDATE SET name = excluded.name, barcodes = excluded.barcodes,
             haystack = excluded.haystack",
            vec![item.sku.as_str().into(), item.name.as_str().into(), barcodes.into(), haystack.into()],
        )?;
        store::exec(
            &self.sql(),
            "INSERT INTO item_stock_policy (sku, safety_stock, unit_cost) VALUES (?, ?, ?)
             ON CONFLICT(sku) DO UPDATE SET safety_stock = excluded.safety_stock, unit_cost = excluded.unit_cost",
            vec![
                item.sku.as_str().into(),
                item.safety_stock.into(),
                item.unit_cost.map(|cost| cost.to_string()).into(),
            ],
        )?;
        if item.substitutes.is_empty() {
            store::exec(&self.sql(), "DELETE FROM item_substitutes WHERE sku = ?", vec![item.sku.as_str().into()])?;
        } else {
            store::exec(
                &self.sql(),
                "INSERT INTO item_substitutes (sku, substitutes) VALUES (?, ?)
                 ON CONFLICT(sku) DO UPDATE SET substitutes = excluded.substitutes",
                vec![item.sku.as_str().into(), serde_json::to_string(&item.substitutes)?.into()],
            )?;
        }
        let flag = if item.critical {
            "INSERT INTO critical_skus (sku) VALUES (?) ON CONFLICT(sku) DO NOTHING"
        } else {
            "DELETE FROM critical_skus WHERE sku = ?"
        };
        store::exec(&self.sql(), flag, vec![item.sku.as_str().into()])
    }

    /// Which of `skus` are critical (for an order's approval route).
    /// Those of `skus` in `table` (`critical_skus` or `items`), in SKU order.
    fn among(&self, skus: &[Id], table: &'static str) -> Result<Vec<Id>> {
        assert!(matches!(table, "critical_skus" | "items"));
        let mut out = Vec::new();
        for chunk in skus.chunks(store::SQL_BINDINGS_MAX) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let bindings = chunk.iter().map(|sku| sku.as_str().into()).collect();
            let query = format!("SELECT sku FROM {table} WHERE sku IN ({marks}) ORDER BY sku");
            for row in store::rows::<SkuRow>(&self.sql(), &query, bindings)? {
                out.push(Id::new(row.sku).map_err(|e| worker::Error::RustError(format!("{table}: {e}")))?);
            }
        }
        Ok(out)
    }

    /// The items of those of `skus` that exist, in SKU order.
    fn items_of(&self, skus: &[Id]) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        for chunk in skus.chunks(store::SQL_BINDINGS_MAX) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let query = format!(
                "SELECT {ITEM_COLUMNS} WHERE items.sku IN ({marks})
                 ORDER BY items.sku"
            );
            let bindings = chunk.iter().map(|sku| sku.as_str().into()).collect();
            for row in store::rows::<ItemRow>(&self.sql(), &query, bindings)? {
                items.push(row.item()?);
            }
        }
        Ok(items)
    }

    /// A page of the item index in SKU order. The search is a case-insensitive substring match on
    /// SKU, name and barcodes (a scan over the index: fine for the tens of thousands of SKUs of
    /// one warehouse network; a full-text index is the step after).
    fn items(&self, q: Option<&str>, after: Option<&Id>, limit: u32) -> Result<ItemsResponse> {
        assert!((1..=ITEMS_PAGE_MAX).contains(&limit));
        let after = after.map_or("", Id::as_str);
        let fetch = i64::from(limit) + 1;
        let rows: Vec<ItemRow> = match q {
            Some(q) => store::rows(
                &self.sql(),
                &format!(
                    "SELECT {ITEM_COLUMNS} WHERE items.sku > ? AND instr(haystack, ?) > 0 ORDER BY items.sku LIMIT ?"
                ),
                vec![after.into(), q.to_lowercase().into(), fetch.into()],
            )?,
            None => store::rows(
                &self.sql(),
                &format!("SELECT {ITEM_COLUMNS} WHERE items.sku > ? ORDER BY items.sku LIMIT ?"),
                vec![after.into(), fetch.into()],
            )?,
        };
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.into_iter().take(limit as usize) {
            items.push(row.item()?);
        }
        let next_after = if more { items.last().map(|item| item.sku.clone()) } else { None };
        Ok(ItemsResponse { items, next_after })
    }

    async fn handle(&self, envelope: Envelope<DirectoryCommand>) -> Result<Answered> {
        let answer = match &envelope.command {
            DirectoryCommand::PutLocation { .. }
            | DirectoryCommand::PutChannel { .. }
            | DirectoryCommand::PutSupplier { .. }
            | DirectoryCommand::SetMeasuredLeadTime { .. } => {
                let answer = self.write(&envelope)?;
                if answer.status == 200 {
                    // The push runs from the alarm; setting it again is harmless. The change is
                    // stored either way: if the alarm cannot be set now, the next write sets it
                    // and SKU objects refresh a copy older than 60 s on their own.
                    if let Err(error) = self.state.storage().set_alarm(std::time::Duration::from_millis(0)).await {
                        worker::console_error!("directory: setting the push alarm failed: {error}");
                    }
                }
                Ok(answer)
            }
            DirectoryCommand::Critical { skus } => Ok(Answer::ok(200, &self.among(skus, "critical_skus")?)),
            DirectoryCommand::Defined { skus } => Ok(Answer::ok(200, &self.among(skus, "items")?)),
            DirectoryCommand::ItemsOf { skus } => Ok(Answer::ok(200, &self.items_of(skus)?)),
            DirectoryCommand::Subscribe { sku, item } => {
                if let Some(item) = item {
                    assert_eq!(&item.sku, sku, "a SKU indexes its own item");
                    self.index(item)?;
                }
                let catalog = self.catalog()?;
                store::exec(
                    &self.sql(),
                    "INSERT INTO catalog_subscribers (sku, catalog_version) VALUES (?, ?)
                     ON CONFLICT(sku) DO UPDATE SET catalog_version = MAX(catalog_version, excluded.catalog_version)",
                    vec![sku.as_str().into(), (catalog.version() as i64).into()],
                )?;
                Ok(Answer::ok(200, &catalog))
            }
            DirectoryCommand::Catalog => Ok(Answer::ok(200, &self.catalog()?)),
            DirectoryCommand::Items { q, after, limit } => {
                Ok(Answer::ok(200, &self.items(q.as_deref(), after.as_ref(), *limit)?))
            }
            DirectoryCommand::List => {
                let catalog = self.catalog()?;
                Ok(Answer::ok(
                    200,
                    &serde_json::json!({
                        "version": catalog.version(),
                        "locations": catalog.locations(),
                        "channels": catalog.channels().collect::<Vec<_>>(),
                        "suppliers": catalog.suppliers(),
                    }),
                ))
            }
            DirectoryCommand::PlanSummaries { sku, summaries, stockout_days } => {
                self.take_plans(sku, summaries, stockout_days)?;
                Ok(Answer::ok(200, &serde_json::json!({ "sku": sku, "plans": summaries.len() })))
            }
            DirectoryCommand::Replenishment { supplier, location, at_risk, cursor, limit } => {
                let page =
                    self.replenishment(supplier.as_ref(), location.as_ref(), *at_risk, cursor.as_deref(), *limit)?;
                return Ok(Answered::encoded(200, &page));
            }
            DirectoryCommand::Alerts { limit } => Ok(Answer::ok(200, &self.alerts(*limit)?)),
            DirectoryCommand::StockHealth { by } => Ok(Answer::ok(200, &self.stock_health(*by)?)),
            DirectoryCommand::Stockouts { window } => Ok(Answer::ok(200, &self.stockouts(*window)?)),
            DirectoryCommand::Status => {
                let version = self.catalog()?.version() as i64;
                let skus = self.count("SELECT COUNT(*) AS count FROM catalog_subscribers", vec![])?;
                let behind = self.count(
                    "SELECT COUNT(*) AS count FROM catalog_subscribers WHERE catalog_version < ?",
                    vec![version.into()],
                )?;
                Ok(Answer::ok(200, &serde_json::json!({ "version": version, "skus": skus, "skus_behind": behind })))
            }
        };
        answer.map(Answered::from)
    }

    /// Pushes the current catalog to the SKU objects behind it, a batch per run; sets the next run
    /// while any is still behind (at once, or after `PUSH_RETRY_MS` when some could not be reached).
    async fn push_batch(&self) -> Result<()> {
        let catalog = self.catalog()?;
        let version = catalog.version() as i64;
        let after = self.push_after.borrow().clone();
        let behind: Vec<SkuRow> = store::rows(
            &self.sql(),
            "SELECT sku FROM catalog_subscribers WHERE catalog_version < ? AND sku > ? ORDER BY sku LIMIT ?",
            vec![version.into(), after.as_str().into(), PUSH_BATCH_MAX.into()],
        )?;
        // The next batch starts after this one, or from the start once the end is reached.
        *self.push_after.borrow_mut() = match behind.len() as i64 {
            n if n == PUSH_BATCH_MAX => behind.last().map(|row| row.sku.clone()).unwrap_or_default(),
            _ => String::new(),
        };
        if behind.is_empty() {
            if after.is_empty() {
                return Ok(());
            }
            // Reached the end: start again from the first SKU behind, at once.
            self.state.storage().set_alarm(std::time::Duration::from_millis(0)).await?;
            return Ok(());
        }
        let namespace = self.env.durable_object(crate::protocol::sku::BINDING)?;
        let mut failed = 0usize;
        for chunk in behind.chunks(PUSH_PARALLEL_MAX) {
            let calls = chunk.iter().map(|row| {
                let envelope = Envelope::system(SkuCommand::Catalog { catalog: catalog.clone() });
                let namespace = &namespace;
                async move {
                    let stub = namespace.get_by_name(&row.sku)?;
                    let answer = call(&stub, "/sku", &envelope).await?;
                    if answer.status != 200 {
                        return Err(worker::Error::RustError(format!("answered {}: {}", answer.status, answer.body)));
                    }
                    Ok::<_, worker::Error>(())
                }
            });
            for (row, result) in chunk.iter().zip(join_all(calls).await) {
                match result {
                    Ok(()) => store::exec(
                        &self.sql(),
                        "UPDATE catalog_subscribers SET catalog_version = MAX(catalog_version, ?) WHERE sku = ?",
                        vec![version.into(), row.sku.as_str().into()],
                    )?,
                    Err(error) => {
                        failed += 1;
                        worker::console_error!("directory: catalog v{version} to `{}` failed: {error}", row.sku);
                    }
                }
            }
        }
        let still_behind = self.count(
            "SELECT COUNT(*) AS count FROM catalog_subscribers WHERE catalog_version < ?",
            vec![(self.catalog()?.version() as i64).into()],
        )?;
        if still_behind > 0 {
            let delay_ms = if failed > 0 { PUSH_RETRY_MS } else { 0 };
            self.state.storage().set_alarm(std::time::Duration::from_millis(delay_ms as u64)).await?;
        }
        Ok(())
    }
}

impl DurableObject for Directory {
    fn new(state: State, env: Env) -> Self {
        for schema in [store::SCHEMA, SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("directory: creating tables failed: {error}");
            }
        }
        Directory { state, env, catalog: RefCell::new(None), push_after: RefCell::new(String::new()) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "directory", |envelope| async move {
            let answer = self.handle(envelope).await;
            if answer.is_err() {
                // Drop the cached copy: storage is the truth after a failure.
                *self.catalog.borrow_mut() = None;
            }
            answer
        })
        .await
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(error) = self.push_batch().await {
            *self.catalog.borrow_mut() = None;
            worker::console_error!("directory: catalog push failed, retrying: {error}");
            self.state.storage().set_alarm(std::time::Duration::from_millis(PUSH_RETRY_MS as u64)).await?;
        }
        Response::ok("pushed")
    }
}
