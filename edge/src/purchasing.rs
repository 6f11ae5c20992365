//! Purchasing: one Durable Object holding the purchase orders and the approval rules.
//!
//! A thin adapter like the others: every change is an engine method on a `PurchaseOrder` (which
//! checks the version the caller saw and the rules), stored with its idempotency record in one
//! storage transaction, with no `await` between the key check and the commit. What a decision
//! needs from elsewhere (the supplier's standing, the locations) is read from the Directory first.

use crate::busy::{Alarm, Busy};
use crate::feed;
use crate::http::{call_for, directory_stub, now, serve, sku_call, Answer, Answered, Envelope, Idempotency};
use crate::metric_store;
use crate::protocol::directory;
use crate::protocol::purchasing::{ORDERS_PAGE_MAX, RECEIPT_TOLERANCE_PCT};
use crate::protocol::{DirectoryCommand, PurchasingCommand, SkuCommand};
use crate::store;
use chrono::{DateTime, Utc};
use futures_channel::oneshot;
use futures_util::future::{join_all, select, Either};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use stockline_engine::feed::{FeedEvent, Stream, StreamKind};
use stockline_engine::idempotency::fingerprint;
use stockline_engine::metrics::{self, PoFacts};
use stockline_engine::planning::PlanSummary;
use stockline_engine::procurement::{
    draft_from_suggestions, scorecard, ApprovalRules, Approver, Decision, Invoice, PoAction, PoStatus, PurchaseOrder,
    ReceiptEffect, Scorecard,
};
use stockline_engine::{Actor, Catalog, EngineError, Id, OrderReceipt};
use stockline_shared::{
    ApiError, DeliveriesResponse, DraftFromSuggestions, InboxItem, InboxResponse, PurchaseOrderView,
    PurchaseOrdersResponse, ReplenishmentResponse, StockPending, DELIVERIES_MAX,
};
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State};

/// `stock_changes`: what order decisions did to SKU ledgers and is not yet applied there, in the
/// order decided; each row is a keyed internal command (its envelope), sent until it applies.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS purchase_orders (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
         status TEXT NOT NULL, supplier TEXT NOT NULL, body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS purchase_orders_by_status ON purchase_orders (status, seq);
     CREATE INDEX IF NOT EXISTS purchase_orders_by_supplier ON purchase_orders (supplier, seq);
     CREATE TABLE IF NOT EXISTS stock_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, po TEXT NOT NULL,
         sku TEXT NOT NULL, location TEXT NOT NULL, change TEXT NOT NULL, envelope TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0, next_try_ms INTEGER NOT NULL, last_error TEXT);
     CREATE INDEX IF NOT EXISTS stock_changes_by_sku ON stock_changes (sku, seq);
     CREATE INDEX IF NOT EXISTS stock_changes_by_po ON stock_changes (po, seq);
     CREATE INDEX IF NOT EXISTS stock_changes_due ON stock_changes (next_try_ms);
     CREATE TABLE IF NOT EXISTS lead_time_push (supplier TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS invoices (po TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
         PRIMARY KEY (po, id));
     CREATE TABLE IF NOT EXISTS po_facts (po TEXT PRIMARY KEY, body TEXT NOT NULL);";

/// How long a request waits for its stock changes to apply before it answers with them pending
/// (the alarm carries on).
const APPLY_WAIT_MS: u64 = 5_000;
/// The alarm's first retry, the longest wait between two tries, and SKUs one alarm run drives.
const RETRY_MS: i64 = 1_000;
const RETRY_MS_MAX: i64 = 60_000;
const ALARM_SKUS_MAX: i64 = 64;
/// How long after a receipt the supplier's measured lead time is pushed to planning.
const LEAD_TIME_PUSH_DELAY_MS: i64 = 5_000;
/// A scorecard reads at most this many of the supplier's latest orders.
const SCORECARD_ORDERS_MAX: i64 = 1_000;
/// Changes of one SKU one sender sends in a row (the rest wait for the next round).
const CHANGES_PER_SEND_MAX: i64 = 64;
/// How often the alarm prunes idempotency records past their retention.
const HOUSEKEEPING_EVERY_MS: i64 = 60 * 60 * 1000;

/// One change for a SKU ledger that an order decision made: kept with the decision, sent after.
struct StockChange {
    sku: Id,
    location: Id,
    /// `inbound` or `receipt`.
    change: &'static str,
    envelope: Envelope<SkuCommand>,
}

/// The changes a send or cancel makes: the order's inbound targets, keyed by the order's version.
fn inbound_changes(order: &PurchaseOrder, actor: &Actor) -> Vec<StockChange> {
    order
        .inbound_targets()
        .into_iter()
        .map(|(sku, target)| {
            let key = format!("po:{}:v{}:{}@{}", order.id, order.version, sku, target.location);
            let location = target.location.clone();
            let command = SkuCommand::ExpectInbound { sku: sku.clone(), target };
            StockChange { sku, location, change: "inbound", envelope: keyed(actor, key, command) }
        })
        .collect()
}

/// The changes a receipt makes: one per (SKU, location), keyed by the receipt, with the units'
/// order price in the base currency (none when the rules no longer convert the order's currency:
/// the stock moves, and the cost is left as it was).
fn receipt_changes(
    order: &PurchaseOrder,
    receipt: &Id,
    effects: Vec<ReceiptEffect>,
    rules: Option<&ApprovalRules>,
    actor: &Actor,
) -> Vec<StockChange> {
    effects
        .into_iter()
        .map(|effect| {
            let unit_cost = rules.and_then(|rules| rules.unit_to_base(effect.unit_price, &order.currency).ok());
            let key = format!("po:{}:{}:{}@{}", order.id, receipt, effect.sku, effect.location);
            let command = SkuCommand::ReceiveFromOrder {
                sku: effect.sku.clone(),
                receipt: OrderReceipt {
                    reference: order.id.to_string(),
                    location: effect.location.clone(),
                    into_stock: effect.into_stock,
                    into_quarantine: effect.into_quarantine,
                    unit_cost,
                    expected_on: effect.expected_on,
                },
            };
            StockChange {
                sku: effect.sku,
                location: effect.location,
                change: "receipt",
                envelope: keyed(actor, key, command),
            }
        })
        .collect()
}

/// The landed-cost true-ups a matched invoice makes, one per line, in the base currency.
fn cost_changes(
    order: &PurchaseOrder,
    invoice: &Invoice,
    earlier: &[Invoice],
    rules: &ApprovalRules,
    actor: &Actor,
) -> std::result::Result<Vec<StockChange>, EngineError> {
    let mut changes = Vec::new();
    for change in invoice.cost_changes(earlier) {
        let line =
            order.lines.iter().find(|l| l.line == change.line).expect("an invoice line names a line of the order");
        let key = format!("po:{}:{}:line-{}", order.id, invoice.id, change.line);
        let command = SkuCommand::Revalue {
            sku: change.sku.clone(),
            reference: format!("{} {}", order.id, invoice.id),
            qty: change.qty,
            delta_per_unit: rules.unit_to_base(change.delta_per_unit, &order.currency)?,
        };
        let location = line.location.clone();
        changes.push(StockChange { sku: change.sku, location, change: "cost", envelope: keyed(actor, key, command) });
    }
    Ok(changes)
}

/// Changes as stored: (SKU, location, change, envelope text).
type ChangeRows = Vec<(Id, Id, &'static str, String)>;

fn change_rows(changes: Vec<StockChange>) -> Result<ChangeRows> {
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        rows.push((change.sku, change.location, change.change, serde_json::to_string(&change.envelope)?));
    }
    Ok(rows)
}

/// Stores an order's changes to send (inside the caller's transaction), due for the alarm in
/// `RETRY_MS` if the request does not send them first.
fn insert_changes(sql: &SqlStorage, po: &str, rows: ChangeRows, now_ms: i64) -> Result<()> {
    for (sku, location, change, envelope) in rows {
        store::exec(
            sql,
            "INSERT INTO stock_changes (po, sku, location, change, envelope, next_try_ms) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                po.into(),
                sku.as_str().into(),
                location.as_str().into(),
                change.into(),
                envelope.into(),
                (now_ms + RETRY_MS).into(),
            ],
        )?;
    }
    Ok(())
}

/// An id read back from this object's storage (written from an `Id`: a bad one is a storage fault).
/// Stores a purchase order's facts when they changed and adds what the change means to the
/// metric buckets (inside the change's transaction).
fn save_facts(sql: &SqlStorage, po: &Id, facts: Option<String>, deltas: Vec<metrics::Delta>) -> Result<()> {
    if let Some(body) = facts {
        store::exec(
            sql,
            "INSERT INTO po_facts (po, body) VALUES (?, ?) ON CONFLICT(po) DO UPDATE SET body = excluded.body",
            vec![po.as_str().into(), body.into()],
        )?;
    }
    metric_store::add(sql, deltas)
}

fn stored_id(text: String) -> Result<Id> {
    Id::new(text).map_err(|e| worker::Error::RustError(format!("purchasing storage: {e}")))
}

/// An internal command under a key of its own (the SKU object answers a repeat from its record).
fn keyed(actor: &Actor, key: String, command: SkuCommand) -> Envelope<SkuCommand> {
    let text = serde_json::to_string(&command).unwrap_or_default();
    let fingerprint = fingerprint(&[text.as_bytes()]).to_string();
    Envelope {
        actor: actor.clone(),
        idempotency: Some(Idempotency { key, fingerprint }),
        command,
        min_catalog_version: None,
    }
}

/// The approval rules as stored: the rules and their version (1 for the first).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRules {
    pub version: u32,
    #[serde(flatten)]
    pub rules: ApprovalRules,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct OrderRow {
    seq: i64,
    body: String,
}

#[derive(Deserialize)]
struct ChangeRow {
    seq: i64,
    sku: String,
    envelope: String,
}

#[derive(Deserialize)]
struct PendingRow {
    sku: String,
    location: String,
    change: String,
    attempts: i64,
    last_error: Option<String>,
}

#[durable_object]
pub struct Purchasing {
    state: State,
    env: Env,
    /// SKUs whose changes a request is sending now, each with the requests waiting for it: one
    /// sender per SKU keeps each SKU's changes in the order decided.
    busy: RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    alarm: Alarm,
}

fn engine(error: EngineError) -> Answer {
    Answer::error(ApiError::from(error))
}

impl Purchasing {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn rules(&self) -> Result<Option<StoredRules>> {
        let row: Option<ValueRow> =
            store::first(&self.sql(), "SELECT value FROM meta WHERE key = 'approval_rules'", vec![])?;
        Ok(match row {
            Some(row) => Some(serde_json::from_str(&row.value)?),
            None => None,
        })
    }

    fn order(&self, id: &Id) -> Result<Option<(i64, PurchaseOrder)>> {
        let row: Option<OrderRow> =
            store::first(&self.sql(), "SELECT seq, body FROM purchase_orders WHERE id = ?", vec![id.as_str().into()])?;
        Ok(match row {
            Some(row) => Some((row.seq, serde_json::from_str(&row.body)?)),
            None => None,
        })
    }

    /// The Directory's catalog (suppliers and their standing, locations).
    async fn catalog(&self) -> Result<Catalog> {
        call_for(&directory_stub(&self.env)?, "/directory", &Envelope::system(DirectoryCommand::Catalog)).await
    }

    /// The supplier's suggestions on the replenishment list (over all locations), most urgent
    /// first: at most one draft's worth.
    async fn suggestions(&self, supplier: &Id) -> Result<Vec<PlanSummary>> {
        let command = DirectoryCommand::Replenishment {
            supplier: Some(supplier.clone()),
            location: None,
            at_risk: None,
            cursor: None,
            limit: directory::PLANS_PAGE_MAX,
        };
        let page: ReplenishmentResponse =
            call_for(&directory_stub(&self.env)?, "/directory", &Envelope::system(command)).await?;
        Ok(page.groups.into_iter().flat_map(|group| group.lines).map(|line| line.summary).collect())
    }

    /// What a change of `order` (with its `invoices` after it) means for the supplier figures:
    /// the facts to store (none when unchanged) and the bucket additions.
    fn po_facts(&self, order: &PurchaseOrder, invoices: &[Invoice]) -> Result<(Option<String>, Vec<metrics::Delta>)> {
        #[derive(Deserialize)]
        struct Row {
            body: String,
        }
        let before: Option<Row> =
            store::first(&self.sql(), "SELECT body FROM po_facts WHERE po = ?", vec![order.id.as_str().into()])?;
        let before: Option<PoFacts> = before.map(|row| serde_json::from_str(&row.body)).transpose()?;
        let after = PoFacts::observe(before.as_ref(), order, invoices);
        let deltas = PoFacts::deltas(before.as_ref(), &after);
        let body = (before.as_ref() != Some(&after)).then(|| serde_json::to_string(&after)).transpose()?;
        Ok((body, deltas))
    }

    /// Stores an order (new or changed), the changes it makes to SKU ledgers and the answer
    /// under its key, in one transaction.
    fn save(
        &self,
        seq: i64,
        order: &PurchaseOrder,
        changes: Vec<StockChange>,
        recorded: Option<(&Idempotency, &Answer)>,
    ) -> Result<()> {
        let now = now()?;
        let sql = self.sql();
        let body = serde_json::to_string(order)?;
        let (id, status, supplier) = (order.id.to_string(), order.status.as_str(), order.supplier.to_string());
        let recorded = recorded.map(|(key, answer)| (key.clone(), answer.clone()));
        let rows = change_rows(changes)?;
        let now_ms = now.timestamp_millis();
        let (po, events) = (order.id.clone(), order.events.clone());
        let (facts, deltas) = self.po_facts(order, &self.invoices(&order.id)?)?;
        store::transaction(&self.state.storage(), move || {
            save_facts(&sql, &po, facts, deltas)?;
            // The order's changes for the event feed, with the change itself.
            let stream = Stream::new(StreamKind::PurchaseOrder, po.clone());
            feed::stage(
                &sql,
                &stream,
                &events,
                |e| u64::from(e.version),
                |e, prev| FeedEvent::of_purchase_order(&po, e, prev),
            )?;
            store::exec(
                &sql,
                "INSERT INTO purchase_orders (id, seq, status, supplier, body) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
                vec![id.clone().into(), seq.into(), status.into(), supplier.into(), body.into()],
            )?;
            insert_changes(&sql, &id, rows, now_ms)?;
            if let Some((key, answer)) = recorded {
                store::record_answer(&sql, &key, &answer, now)?;
            }
            Ok(())
        })
    }

    /// A supplier's scorecard from its latest `SCORECARD_ORDERS_MAX` orders and their invoices.
    fn scorecard(&self, supplier: &Id, as_of: chrono::NaiveDate) -> Result<Scorecard> {
        let rows: Vec<OrderRow> = store::rows(
            &self.sql(),
            "SELECT seq, body FROM purchase_orders WHERE supplier = ? ORDER BY seq DESC LIMIT ?",
            vec![supplier.as_str().into(), SCORECARD_ORDERS_MAX.into()],
        )?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let order: PurchaseOrder = serde_json::from_str(&row.body)?;
            let invoices = self.invoices(&order.id)?;
            orders.push((order, invoices));
        }
        let borrowed: Vec<(&PurchaseOrder, &[Invoice])> = orders.iter().map(|(o, i)| (o, i.as_slice())).collect();
        Ok(scorecard(supplier, &borrowed, as_of))
    }

    /// Tells the Directory the lead times the latest receipts measured (planning plans with them).
    async fn push_lead_times(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Due {
            supplier: String,
        }
        let now = now()?;
        let due: Vec<Due> = store::rows(
            &self.sql(),
            "SELECT supplier FROM lead_time_push WHERE due_ms <= ? ORDER BY due_ms LIMIT 16",
            vec![now.timestamp_millis().into()],
        )?;
        let today = now.date_naive();
        for row in due {
            let supplier = stored_id(row.supplier.clone())?;
            let lead_time = self.scorecard(&supplier, today)?.lead_time();
            let command = DirectoryCommand::SetMeasuredLeadTime { id: supplier, lead_time };
            let answer =
                crate::http::call(&directory_stub(&self.env)?, "/directory", &Envelope::system(command)).await?;
            if answer.status < 500 {
                // Told, or refused for good (the supplier is gone, a figure out of range): the
                // next receipt measures again.
                store::exec(&self.sql(), "DELETE FROM lead_time_push WHERE supplier = ?", vec![row.supplier.into()])?;
            } else {
                worker::console_error!(
                    "purchasing: the directory refused a lead time: {} {}",
                    answer.status,
                    answer.body
                );
            }
        }
        Ok(())
    }

    /// The order's invoices, oldest first.
    fn invoices(&self, po: &Id) -> Result<Vec<Invoice>> {
        #[derive(Deserialize)]
        struct Row {
            body: String,
        }
        let rows: Vec<Row> =
            store::rows(&self.sql(), "SELECT body FROM invoices WHERE po = ? ORDER BY seq", vec![po.as_str().into()])?;
        rows.iter().map(|row| Ok(serde_json::from_str(&row.body)?)).collect()
    }

    /// The order as `GET` shows it: with its stock changes on their way and its invoices.
    fn view(&self, order: PurchaseOrder) -> Result<PurchaseOrderView> {
        let stock_pending = self.stock_pending(&order.id)?;
        let invoices = self.invoices(&order.id)?;
        Ok(PurchaseOrderView { order, stock_pending, invoices })
    }

    /// Stores an order's invoices (the new one and the one it corrects) and the answer, at once.
    /// `invoices`: each with its place in the order's list.
    fn save_invoices(
        &self,
        order: &PurchaseOrder,
        all: &[Invoice],
        invoices: &[(i64, Invoice)],
        changes: Vec<StockChange>,
        recorded: Option<(&Idempotency, &Answer)>,
    ) -> Result<()> {
        let now = now()?;
        let sql = self.sql();
        let (facts, deltas) = self.po_facts(order, all)?;
        let changes = change_rows(changes)?;
        let now_ms = now.timestamp_millis();
        let mut rows = Vec::with_capacity(invoices.len());
        for (seq, invoice) in invoices {
            rows.push((invoice.id.to_string(), *seq, serde_json::to_string(invoice)?));
        }
        let po = order.id.to_string();
        let facts_of = order.id.clone();
        let recorded = recorded.map(|(key, answer)| (key.clone(), answer.clone()));
        store::transaction(&self.state.storage(), move || {
            save_facts(&sql, &facts_of, facts, deltas)?;
            for (id, seq, body) in rows {
                store::exec(
                    &sql,
                    "INSERT INTO invoices (po, id, seq, body) VALUES (?, ?, ?, ?)
                     ON CONFLICT(po, id) DO UPDATE SET body = excluded.body",
                    vec![po.clone().into(), id.into(), seq.into(), body.into()],
                )?;
            }
            insert_changes(&sql, &po, changes, now_ms)?;
            if let Some((key, answer)) = recorded {
                store::record_answer(&sql, &key, &answer, now)?;
            }
            Ok(())
        })
    }

    /// The SKUs with changes of `po` still to apply.
    fn pending_skus(&self, po: &Id) -> Result<Vec<Id>> {
        #[derive(Deserialize)]
        struct Sku {
            sku: String,
        }
        let rows: Vec<Sku> =
            store::rows(&self.sql(), "SELECT DISTINCT sku FROM stock_changes WHERE po = ?", vec![po.as_str().into()])?;
        rows.into_iter().map(|row| stored_id(row.sku)).collect()
    }

    /// The changes waiting for each of `skus`, oldest first, at most `CHANGES_PER_SEND_MAX` each:
    /// one statement per hundred SKUs rather than one per SKU.
    fn pending_changes(&self, skus: &[Id]) -> Result<HashMap<String, Vec<ChangeRow>>> {
        let mut by_sku: HashMap<String, Vec<ChangeRow>> = HashMap::with_capacity(skus.len());
        for chunk in skus.chunks(store::SQL_BINDINGS_MAX - 1) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut bindings: Vec<worker::SqlStorageValue> = chunk.iter().map(|sku| sku.as_str().into()).collect();
            bindings.push(CHANGES_PER_SEND_MAX.into());
            let rows: Vec<ChangeRow> = store::rows(
                &self.sql(),
                &format!(
                    "SELECT seq, sku, envelope FROM (SELECT seq, sku, envelope,
                         ROW_NUMBER() OVER (PARTITION BY sku ORDER BY seq) AS nth
                     FROM stock_changes WHERE sku IN ({marks})) WHERE nth <= ? ORDER BY seq"
                ),
                bindings,
            )?;
            for row in rows {
                by_sku.entry(row.sku.clone()).or_default().push(row);
            }
        }
        Ok(by_sku)
    }

    /// The order's changes still on their way to SKU ledgers.
    fn stock_pending(&self, po: &Id) -> Result<Vec<StockPending>> {
        let rows: Vec<PendingRow> = store::rows(
            &self.sql(),
            "SELECT sku, location, change, attempts, last_error FROM stock_changes WHERE po = ? ORDER BY seq",
            vec![po.as_str().into()],
        )?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            pending.push(StockPending {
                sku: stored_id(row.sku)?,
                location: stored_id(row.location)?,
                change: row.change,
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                last_error: row.last_error,
            });
        }
        Ok(pending)
    }

    /// Sends `po`'s changes to their SKU objects (each SKU's in the order decided, SKUs side by
    /// side), waiting at most `APPLY_WAIT_MS`; what is left the alarm sends.
    /// The decision is committed before this runs: a failure here is logged, not answered (the
    /// answer shows what is still pending, and the alarm sends it).
    async fn apply_changes(&self, po: &Id) {
        let skus = match self.pending_skus(po) {
            Ok(skus) => skus,
            Err(error) => return worker::console_error!("purchasing: reading {po}'s pending changes: {error}"),
        };
        if skus.is_empty() {
            return;
        }
        let sending = Box::pin(self.send_all(&skus));
        let deadline = Delay::from(std::time::Duration::from_millis(APPLY_WAIT_MS));
        let failed = match select(sending, deadline).await {
            Either::Left((sent, _)) => sent.err(),
            Either::Right(_) => None,
        };
        if let Some(error) = failed {
            worker::console_error!("purchasing: sending {po}'s changes (the alarm tries again): {error}");
        }
    }

    /// Sends one SKU's pending changes, oldest first, until one fails (it is tried again later,
    /// and nothing after it is sent before it: a receipt must not overtake the inbound it settles).
    /// Returns the rows that applied; the caller deletes them in one statement (a row sent again
    /// before that is answered from the SKU's record, applying nothing).
    ///
    /// `read` are the SKU's changes as `pending_changes` read them just before: used when no
    /// other sender held the SKU in between (else they are read again, as another may have sent
    /// some).
    async fn send_changes(&self, sku: &Id, read: Vec<ChangeRow>) -> Result<Vec<i64>> {
        let busy_key = sku.to_string();
        let mut waited = false;
        while self.busy.borrow().contains_key(&busy_key) {
            let (wake, woken) = oneshot::channel();
            self.busy.borrow_mut().entry(busy_key.clone()).or_default().push(wake);
            // Woken when the other sender ends; a dropped sender wakes too (Canceled).
            let _ = woken.await;
            waited = true;
        }
        self.busy.borrow_mut().insert(busy_key.clone(), Vec::new());
        let _busy = Busy { set: &self.busy, keys: vec![busy_key] };
        let rows: Vec<ChangeRow> = if waited {
            store::rows(
                &self.sql(),
                "SELECT seq, sku, envelope FROM stock_changes WHERE sku = ? ORDER BY seq LIMIT ?",
                vec![sku.as_str().into(), CHANGES_PER_SEND_MAX.into()],
            )?
        } else {
            read
        };
        let mut applied = Vec::with_capacity(rows.len());
        for row in rows {
            let sent = match serde_json::from_str::<Envelope<SkuCommand>>(&row.envelope) {
                Ok(envelope) => {
                    sku_call::<serde_json::Value>(&self.env, sku, &envelope).await.map_err(|e| e.to_string())
                }
                Err(error) => Err(format!("the stored change cannot be read: {error}")),
            };
            if let Err(error) = sent {
                // The whole SKU waits (nothing overtakes this change), with a growing pause.
                let now_ms = now()?.timestamp_millis();
                store::exec(
                    &self.sql(),
                    "UPDATE stock_changes SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                    vec![error.into(), row.seq.into()],
                )?;
                store::exec(
                    &self.sql(),
                    "UPDATE stock_changes SET next_try_ms = ? + MIN(?, ? * (1 << MIN(
                         (SELECT attempts FROM stock_changes WHERE seq = ?), 6))) WHERE sku = ?",
                    vec![now_ms.into(), RETRY_MS_MAX.into(), RETRY_MS.into(), row.seq.into(), sku.as_str().into()],
                )?;
                break;
            }
            applied.push(row.seq);
        }
        Ok(applied)
    }

    /// Sends the pending changes of `skus`, side by side, and forgets the ones that applied (one
    /// SKU's storage failure does not keep the others' applied changes around).
    async fn send_all(&self, skus: &[Id]) -> Result<()> {
        let mut read = self.pending_changes(skus)?;
        let mut applied = Vec::new();
        let mut failed = None;
        // `join_all` starts every send before any awaits: a SKU no one else is sending is taken
        // with the rows just read.
        let sends = skus.iter().map(|sku| self.send_changes(sku, read.remove(sku.as_str()).unwrap_or_default()));
        for sent in join_all(sends).await {
            match sent {
                Ok(seqs) => applied.extend(seqs),
                Err(error) => failed = Some(error),
            }
        }
        for chunk in applied.chunks(store::SQL_BINDINGS_MAX) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let bindings = chunk.iter().map(|&seq| seq.into()).collect();
            store::exec(&self.sql(), &format!("DELETE FROM stock_changes WHERE seq IN ({marks})"), bindings)?;
        }
        if !applied.is_empty() {
            // Stock may have arrived: orders waiting for it are placed again now rather than at
            // the next sweep. A failed nudge costs only that wait.
            if let Err(error) = self.nudge_orders().await {
                worker::console_error!("purchasing: telling orders that stock arrived: {error}");
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn nudge_orders(&self) -> Result<()> {
        use crate::protocol::{orders, OrdersCommand};
        let stub = self.env.durable_object(orders::BINDING)?.get_by_name(orders::NAME)?;
        let answer = crate::http::call(&stub, "/orders", &Envelope::system(OrdersCommand::StockArrived)).await?;
        if answer.status != 202 {
            return Err(worker::Error::RustError(format!("orders answered {}: {}", answer.status, answer.body)));
        }
        Ok(())
    }

    async fn arm(&self, in_ms: i64) -> Result<()> {
        self.alarm.arm(&self.state, in_ms).await
    }

    /// Sends the changes that are due (a crash, a SKU object that did not answer), then prunes
    /// old idempotency records; sets the next alarm while changes remain.
    async fn run_alarm(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Due {
            sku: String,
        }
        let now = now()?;
        let due: Vec<Due> = store::rows(
            &self.sql(),
            "SELECT DISTINCT sku FROM stock_changes WHERE next_try_ms <= ? LIMIT ?",
            vec![now.timestamp_millis().into(), ALARM_SKUS_MAX.into()],
        )?;
        let mut skus = Vec::with_capacity(due.len());
        for row in due {
            skus.push(stored_id(row.sku)?);
        }
        self.send_all(&skus).await?;
        self.push_lead_times().await?;
        store::prune(&self.sql(), now)?;
        #[derive(Deserialize)]
        struct Next {
            next: Option<i64>,
        }
        let next: Option<Next> = store::first(
            &self.sql(),
            "SELECT MIN(next) AS next FROM (SELECT MIN(next_try_ms) AS next FROM stock_changes
             UNION ALL SELECT MIN(due_ms) FROM lead_time_push)",
            vec![],
        )?;
        let now_ms = crate::http::now()?.timestamp_millis();
        let mut in_ms = match next.and_then(|n| n.next) {
            Some(next_ms) => (next_ms - now_ms).clamp(0, RETRY_MS_MAX),
            None => HOUSEKEEPING_EVERY_MS,
        };
        match feed::send_staged(&self.env, &self.state.storage()).await {
            Ok(true) => in_ms = 0,
            Ok(false) => {}
            Err(error) => {
                worker::console_error!("purchasing: sending events to the feed failed (tried again later): {error}");
                in_ms = in_ms.min(feed::SEND_RETRY_MS);
            }
        }
        self.arm(in_ms).await
    }

    /// The next order's number: one past the highest there is (orders are never deleted).
    fn next_seq(&self) -> Result<i64> {
        #[derive(Deserialize)]
        struct Last {
            last: Option<i64>,
        }
        let row: Option<Last> = store::first(&self.sql(), "SELECT MAX(seq) AS last FROM purchase_orders", vec![])?;
        Ok(row.and_then(|row| row.last).unwrap_or(0) + 1)
    }

    /// A replayed answer for a key already used, or None: decide.
    fn replay(&self, envelope: &Envelope<PurchasingCommand>, now: DateTime<Utc>) -> Result<Option<Answer>> {
        match &envelope.idempotency {
            Some(key) => store::recorded_answer(&self.sql(), key, now),
            None => Ok(None),
        }
    }

    async fn handle(&self, envelope: Envelope<PurchasingCommand>) -> Result<Answered> {
        // A repeat is answered from its record without asking anyone (checked again below, right
        // before deciding: another request with the key may finish in between).
        if let Some(answer) = self.replay(&envelope, now()?)? {
            return Ok(answer.into());
        }
        // What a decision needs from the Directory is read before anything is decided.
        let catalog = match &envelope.command {
            PurchasingCommand::Create { .. }
            | PurchasingCommand::FromSuggestions { .. }
            | PurchasingCommand::Decide { action: PoAction::Submit, .. }
            | PurchasingCommand::Scorecard { .. } => Some(self.catalog().await?),
            _ => None,
        };
        let suggestions = match &envelope.command {
            PurchasingCommand::FromSuggestions { request } => Some(self.suggestions(&request.supplier).await?),
            _ => None,
        };
        // A decision that changes stock arms the alarm before it is stored: whatever happens to
        // this request after the commit (kill -9 included), the alarm sends the changes.
        // So does any change: the alarm sends it to the event feed.
        if envelope.command.writes() {
            self.arm(feed::SEND_DELAY_MS).await?;
        }
        // Which of a submitted order's SKUs are critical (their route is stricter).
        let critical = match &envelope.command {
            PurchasingCommand::Decide { id, action: PoAction::Submit, .. } => match self.order(id)? {
                Some((_, order)) => {
                    let mut skus: Vec<Id> = order.lines.iter().map(|line| line.sku.clone()).collect();
                    skus.sort();
                    skus.dedup();
                    let command = DirectoryCommand::Critical { skus };
                    let critical: Vec<Id> =
                        call_for(&directory_stub(&self.env)?, "/directory", &Envelope::system(command)).await?;
                    Some(critical)
                }
                None => Some(Vec::new()),
            },
            _ => None,
        };
        // Which of a new order's SKUs exist.
        let defined = match &envelope.command {
            PurchasingCommand::Create { spec } => {
                let command = DirectoryCommand::Defined { skus: spec.skus() };
                let mut defined: Vec<Id> =
                    call_for(&directory_stub(&self.env)?, "/directory", &Envelope::system(command)).await?;
                // The item index follows a definition on a best-effort basis: a SKU it misses is
                // asked for directly (its object is the truth), up to the first that is missing.
                let missed: Vec<Id> = spec.skus().into_iter().filter(|sku| !defined.contains(sku)).collect();
                for sku in missed {
                    let stub = self.env.durable_object(crate::protocol::sku::BINDING)?.get_by_name(sku.as_str())?;
                    let read = SkuCommand::Availability { sku: sku.clone(), channel: None, qty: None };
                    let answer = crate::http::call(&stub, "/sku", &Envelope::system(read)).await?;
                    match answer.status {
                        200 => defined.push(sku),
                        404 => break,
                        status => {
                            let error = format!("sku `{sku}` answered {status} when asked whether it exists");
                            return Err(worker::Error::RustError(error));
                        }
                    }
                }
                Some(defined)
            }
            _ => None,
        };
        let now = now()?;
        let answer = match &envelope.command {
            PurchasingCommand::PutRules { rules } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer.into());
                }
                if let Err(error) = rules.check() {
                    return Ok(engine(error).into());
                }
                let version = self.rules()?.map_or(1, |stored| stored.version + 1);
                let stored = StoredRules { version, rules: rules.clone() };
                let answer = Answer::ok(200, &stored);
                let text = serde_json::to_string(&stored)?;
                let recorded = envelope.idempotency.clone().map(|key| (key, answer.clone()));
                store::put_meta_recorded(&self.state.storage(), self.sql(), "approval_rules", text, recorded, now)?;
                Ok(answer)
            }
            PurchasingCommand::GetRules => Ok(match self.rules()? {
                Some(stored) => Answer::ok(200, &stored),
                None => engine(EngineError::not_found("approval_rules", "global")),
            }),
            PurchasingCommand::Create { spec } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer.into());
                }
                let catalog = catalog.expect("read above");
                let seq = self.next_seq()?;
                let id = Id::new(format!("PO-{seq:06}")).map_err(|e| e.to_string())?;
                let created = PurchaseOrder::create(id, spec, &catalog, &envelope.actor, now)
                    .and_then(|order| spec.check_defined(&defined.expect("read above")).map(|()| order));
                let order = match created {
                    Ok(order) => order,
                    Err(error) => return Ok(engine(error).into()),
                };
                let answer = Answer::ok(201, &order);
                self.save(seq, &order, Vec::new(), envelope.idempotency.as_ref().map(|key| (key, &answer)))?;
                Ok(answer)
            }
            PurchasingCommand::FromSuggestions { request } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer.into());
                }
                let catalog = catalog.expect("read above");
                let Some(supplier) = catalog.supplier(request.supplier.as_str()) else {
                    return Ok(engine(EngineError::not_found("supplier", request.supplier.as_str())).into());
                };
                let suggestions = suggestions.expect("read above");
                let (spec, skipped) = match draft_from_suggestions(request, supplier, &suggestions, now.date_naive()) {
                    Ok(drafted) => drafted,
                    Err(error) => return Ok(engine(error).into()),
                };
                let seq = self.next_seq()?;
                let id = Id::new(format!("PO-{seq:06}")).map_err(|e| e.to_string())?;
                let order = match PurchaseOrder::create(id, &spec, &catalog, &envelope.actor, now) {
                    Ok(order) => order,
                    Err(error) => return Ok(engine(error).into()),
                };
                let answer = Answer::ok(201, &DraftFromSuggestions { order: order.clone(), skipped });
                self.save(seq, &order, Vec::new(), envelope.idempotency.as_ref().map(|key| (key, &answer)))?;
                Ok(answer)
            }
            PurchasingCommand::Get { id } => Ok(match self.order(id)? {
                Some((_, order)) => Answer::ok(200, &self.view(order)?),
                None => engine(EngineError::not_found("purchase_order", id.as_str())),
            }),
            PurchasingCommand::Invoice { id, spec } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer.into());
                }
                let Some((_, order)) = self.order(id)? else {
                    return Ok(engine(EngineError::not_found("purchase_order", id.as_str())).into());
                };
                // An order is received only after it was submitted under rules: they exist.
                let Some(stored) = self.rules()? else {
                    return Ok(engine(EngineError::not_found("approval_rules", "global")).into());
                };
                let mut invoices = self.invoices(id)?;
                let invoice_id = Id::new(format!("INV-{}", invoices.len() + 1)).map_err(|e| e.to_string())?;
                let tolerance = &stored.rules.match_tolerance;
                let invoice = match order.invoice(&invoices, invoice_id, spec, tolerance, &envelope.actor.subject, now)
                {
                    Ok(invoice) => invoice,
                    Err(error) => return Ok(engine(error).into()),
                };
                let changes = match cost_changes(&order, &invoice, &invoices, &stored.rules, &envelope.actor) {
                    Ok(changes) => changes,
                    Err(error) => return Ok(engine(error).into()),
                };
                let answer = Answer::ok(201, &invoice);
                let replaces = invoice.replaces.clone();
                let new_id = invoice.id.clone();
                order.take_invoice(&mut invoices, invoice);
                // What changed: the new invoice, and the one it corrects.
                let changed: Vec<(i64, Invoice)> = (0i64..)
                    .zip(invoices.iter().cloned())
                    .filter(|(_, i)| i.id == new_id || Some(&i.id) == replaces.as_ref())
                    .collect();
                let recorded = envelope.idempotency.as_ref().map(|key| (key, &answer));
                self.save_invoices(&order, &invoices, &changed, changes, recorded)?;
                self.apply_changes(id).await;
                Ok(answer)
            }
            PurchasingCommand::Scorecard { supplier } => {
                let catalog = catalog.expect("read above");
                if catalog.supplier(supplier.as_str()).is_none() {
                    return Ok(engine(EngineError::not_found("supplier", supplier.as_str())).into());
                }
                Ok(Answer::ok(200, &self.scorecard(supplier, now.date_naive())?))
            }
            PurchasingCommand::Alerts => {
                let window = metrics::drift_window(now.date_naive());
                let by = Some(metrics::MetricsBy::Supplier);
                let query = metric_store::Query {
                    metrics: &[metrics::metric::PO_RECEIPT],
                    window,
                    through: now.date_naive(),
                    totals: true,
                    groups: by.map(|by| metric_store::Groups { by, current: true, previous: true, keys: None }),
                    backlog: false,
                };
                let buckets = metric_store::read(&self.sql(), query)?;
                let alerts = metrics::read_suppliers(&buckets.rows()?, window, by, now.date_naive()).drift_alerts(now);
                Ok(Answer::ok(200, &stockline_shared::AlertsResponse { alerts }))
            }
            PurchasingCommand::MarginRows { window, by } => {
                let kept = by.filter(|by| matches!(by, metrics::MetricsBy::Sku | metrics::MetricsBy::Supplier));
                let query = metric_store::Query {
                    metrics: &[metrics::metric::PO_INVOICE],
                    window: *window,
                    through: now.date_naive(),
                    totals: true,
                    groups: metric_store::Groups::of(kept),
                    backlog: false,
                };
                // Passed on as SQLite wrote it: the margin's reader reads the rows.
                let json = metric_store::read(&self.sql(), query)?.into_json();
                return Ok(Answered::Encoded { status: 200, json });
            }
            PurchasingCommand::Metrics { window, by } => {
                let query = metric_store::Query {
                    metrics: &[metrics::metric::PO_LINE, metrics::metric::PO_RECEIPT, metrics::metric::PO_INVOICE],
                    window: *window,
                    through: now.date_naive(),
                    totals: true,
                    groups: by.map(|by| metric_store::Groups { by, current: true, previous: true, keys: None }),
                    backlog: false,
                };
                let buckets = metric_store::read(&self.sql(), query)?;
                Ok(Answer::ok(200, &metrics::read_suppliers(&buckets.rows()?, *window, *by, now.date_naive())))
            }
            PurchasingCommand::Receive { id, receipt, spec } => {
                let Some((seq, mut order)) = self.order(id)? else {
                    return Ok(engine(EngineError::not_found("purchase_order", id.as_str())).into());
                };
                let taken = order.receipts.iter().any(|r| &r.id == receipt);
                let effects = match order.receive(receipt, spec, RECEIPT_TOLERANCE_PCT, &envelope.actor, now) {
                    Ok(effects) => effects,
                    Err(error) => return Ok(engine(error).into()),
                };
                // A receipt already taken (the same key again) changes nothing: its changes were
                // stored with it and are sent (or were) from there.
                if !taken {
                    let rules = self.rules()?;
                    let rules = rules.as_ref().map(|stored| &stored.rules);
                    let changes = receipt_changes(&order, receipt, effects, rules, &envelope.actor);
                    self.save(seq, &order, changes, None)?;
                    // The supplier's measured lead time may have moved: the alarm tells planning, once
                    // a while after the first receipt (a scorecard reads the supplier's orders: not
                    // once per receipt of a busy dock).
                    store::exec(
                        &self.sql(),
                        "INSERT INTO lead_time_push (supplier, due_ms) VALUES (?, ?) ON CONFLICT(supplier) DO NOTHING",
                        vec![order.supplier.as_str().into(), (now.timestamp_millis() + LEAD_TIME_PUSH_DELAY_MS).into()],
                    )?;
                }
                self.apply_changes(id).await;
                // Applying changes stock, not the order: the order is as stored above.
                let view = self.view(order)?;
                Ok(Answer::ok(if taken { 200 } else { 201 }, &view))
            }
            PurchasingCommand::Deliveries { location } => Ok(Answer::ok(200, &self.deliveries(location)?)),
            PurchasingCommand::List { status, supplier, after, limit } => {
                if let Some(after) = after {
                    if self.order(after)?.is_none() {
                        let error = ApiError::invalid("cursor", "must be a next_cursor this endpoint gave");
                        return Ok(Answer::error(error).into());
                    }
                }
                Ok(Answer::ok(200, &self.list(*status, supplier.as_ref(), after.as_ref(), *limit)?))
            }
            PurchasingCommand::Inbox { spend_limit, limit } => {
                let approver = Approver {
                    subject: envelope.actor.subject.clone(),
                    role: envelope.actor.role,
                    spend_limit: *spend_limit,
                };
                Ok(Answer::ok(200, &self.inbox(&approver, *limit)?))
            }
            PurchasingCommand::Decide { id, action, request, spend_limit } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer.into());
                }
                let Some((seq, mut order)) = self.order(id)? else {
                    return Ok(engine(EngineError::not_found("purchase_order", id.as_str())).into());
                };
                let decision = Decision {
                    actor: &envelope.actor,
                    at: now,
                    seen_version: request.version,
                    comment: request.comment.as_deref(),
                };
                let approver = Approver {
                    subject: envelope.actor.subject.clone(),
                    role: envelope.actor.role,
                    spend_limit: *spend_limit,
                };
                let mut changes_inbound = false;
                let decided = match action {
                    PoAction::Submit => {
                        let stored = self.rules()?;
                        let rules = stored.as_ref().map(|stored| (&stored.rules, stored.version));
                        let catalog = catalog.expect("read above");
                        let critical = critical.expect("read above");
                        let critical: Vec<String> = critical.iter().map(Id::to_string).collect();
                        order.submit(&decision, rules, &catalog, &critical)
                    }
                    PoAction::Approve => order.approve(&decision, &approver),
                    PoAction::Reject => order.reject(&decision, &approver),
                    PoAction::Send => {
                        changes_inbound = true;
                        order.send(&decision)
                    }
                    PoAction::Cancel => {
                        order.cancel(&decision).map(|withdrawn| changes_inbound = !withdrawn.is_empty())
                    }
                    PoAction::Close => order.close(&decision, &self.invoices(id)?),
                    PoAction::Create | PoAction::Receive => {
                        return Ok(engine(EngineError::invalid("action", "not a decision on an order")).into())
                    }
                };
                if let Err(error) = decided {
                    return Ok(engine(error).into());
                }
                let answer = Answer::ok(200, &order);
                let changes = if changes_inbound { inbound_changes(&order, &envelope.actor) } else { Vec::new() };
                self.save(seq, &order, changes, envelope.idempotency.as_ref().map(|key| (key, &answer)))?;
                self.apply_changes(id).await;
                Ok(answer)
            }
        };
        answer.map(Answered::from)
    }

    fn list(
        &self,
        status: Option<PoStatus>,
        supplier: Option<&Id>,
        after: Option<&Id>,
        limit: u32,
    ) -> Result<PurchaseOrdersResponse> {
        assert!((1..=ORDERS_PAGE_MAX).contains(&limit));
        let before = match after {
            Some(id) => self.order(id)?.map(|(seq, _)| seq).ok_or("the cursor was checked")?,
            None => store::SEQ_END,
        };
        let mut query = String::from("SELECT seq, body FROM purchase_orders WHERE seq < ?");
        let mut bindings: Vec<worker::SqlStorageValue> = vec![before.into()];
        if let Some(status) = status {
            query.push_str(" AND status = ?");
            bindings.push(status.as_str().into());
        }
        if let Some(supplier) = supplier {
            query.push_str(" AND supplier = ?");
            bindings.push(supplier.as_str().into());
        }
        query.push_str(" ORDER BY seq DESC LIMIT ?");
        bindings.push((i64::from(limit) + 1).into());
        let rows: Vec<OrderRow> = store::rows(&self.sql(), &query, bindings)?;
        let more = rows.len() > limit as usize;
        let mut orders = Vec::with_capacity(rows.len().min(limit as usize));
        for row in rows.into_iter().take(limit as usize) {
            let order: PurchaseOrder = serde_json::from_str(&row.body)?;
            orders.push(order.summary().map_err(|e| e.to_string())?);
        }
        let next_cursor = if more { orders.last().map(|o| o.id.to_string()) } else { None };
        Ok(PurchaseOrdersResponse { orders, next_cursor })
    }

    /// The orders on their way with a line still open at `location`, the earliest open line there
    /// first, at most `DELIVERIES_MAX`.
    fn deliveries(&self, location: &Id) -> Result<DeliveriesResponse> {
        let rows: Vec<OrderRow> = store::rows(
            &self.sql(),
            "SELECT seq, body FROM purchase_orders WHERE status IN ('sent', 'partially_received') ORDER BY seq",
            vec![],
        )?;
        let mut orders = Vec::new();
        for row in rows {
            let order: PurchaseOrder = serde_json::from_str(&row.body)?;
            if order.expected_at(location) {
                orders.push(order);
            }
        }
        orders.sort_by_cached_key(|order| (order.next_expected_at(location), order.id.clone()));
        let more = orders.len() > DELIVERIES_MAX;
        orders.truncate(DELIVERIES_MAX);
        Ok(DeliveriesResponse { location: location.clone(), orders, more })
    }

    /// The submitted orders `approver` may approve now, oldest first, with what each still needs.
    fn inbox(&self, approver: &Approver, limit: u32) -> Result<InboxResponse> {
        assert!((1..=ORDERS_PAGE_MAX).contains(&limit));
        let rows: Vec<OrderRow> = store::rows(
            &self.sql(),
            "SELECT seq, body FROM purchase_orders WHERE status = 'submitted' ORDER BY seq",
            vec![],
        )?;
        let mut items = Vec::new();
        let mut waiting_on_others = 0u32;
        for row in rows {
            let order: PurchaseOrder = serde_json::from_str(&row.body)?;
            match order.approvable_by(approver) {
                Ok(strict) if items.len() < limit as usize => {
                    items.push(InboxItem {
                        summary: order.summary().map_err(|e| e.to_string())?,
                        strict,
                        route: order.route.clone(),
                    });
                }
                Ok(_) => {}
                Err(_) => waiting_on_others += 1,
            }
        }
        Ok(InboxResponse { spend_limit: approver.spend_limit, orders: items, waiting_on_others })
    }
}

impl DurableObject for Purchasing {
    fn new(state: State, env: Env) -> Self {
        if let Err(error) = metric_store::create(&state.storage().sql()) {
            worker::console_error!("purchasing: creating the metric buckets failed: {error}");
        }
        for schema in [store::SCHEMA, SCHEMA, feed::OUT_SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("purchasing: creating tables failed: {error}");
            }
        }
        Purchasing { state, env, busy: RefCell::new(HashMap::new()), alarm: Alarm::default() }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.fired();
        if let Err(error) = self.run_alarm().await {
            worker::console_error!("purchasing alarm failed, retrying: {error}");
            self.alarm.retry(&self.state, RETRY_MS).await?;
        }
        Response::ok("ok")
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "purchasing", |envelope| async move { self.handle(envelope).await }).await
    }
}
