//! Orders: one Durable Object holding customer orders, their exceptions, the shipping rates and
//! nodes, and the routing rules.
//!
//! A thin adapter over the engine's `orders` area. Placing an order is the engine's `Placement`:
//! this object does the I/O each step names — reads stock from the SKU objects, reserves the plan
//! pinned to its locations through a coordinator shard (the one path to stock), commits it — and
//! stores the placement after every step, so a crash resumes it (the alarm) and a repeated step is
//! answered from the other side's record (every call is keyed). Shipping and cancelling send the
//! ledger changes they decide from an outbox kept with the decision. Exceptions follow the
//! order's state through `reconcile`; waiting orders are placed again when stock arrives.

use crate::busy::{Alarm, Busy};
use crate::feed;
use crate::http::{call, now, serve, sku_call, Answer, Answered, Envelope, Idempotency};
use crate::metric_store;
use crate::protocol::orders::PAGE_MAX;
use crate::protocol::{
    coordinator, MetricsKind, OrderActionRequest, OrdersCommand, ResolveRequest, ShippingSpec, SkuCommand,
};
use crate::store;
use chrono::{DateTime, Utc};
use futures_channel::oneshot;
use futures_util::future::{join_all, select, Either};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use stockline_engine::audit::Decision;
use stockline_engine::feed::{FeedEvent, Stream, StreamKind};
use stockline_engine::idempotency::fingerprint;
use stockline_engine::limits::EXCEPTIONS_OPEN_MAX;
use stockline_engine::metrics::{self, MetricsBy, OrderFacts, Window};
use stockline_engine::orders::{
    backorder_queue, check_nodes, draw, evaluate, expedite_change, queue, reconcile, sla_watch, substitutes_to_read,
    EvaluationCase, ExceptionStatus, Holding, Node, Order, OrderAction, OrderException, OrderSpec, OrderStatus,
    Placement, PlacementStep, Promise, Routing, RoutingRules, ShippingRates, StockRead, SubstituteStock, Team,
    EVALUATION_ORDERS_MAX,
};
use stockline_engine::planning::Alert;
use stockline_engine::{Actor, CommitRequest, EngineError, Id, Money};
use stockline_shared::orders::{
    EvaluationResponse, ExceptionsResponse, OrderView, OrdersResponse, ResolveResponse, RoutingRulesResponse,
    ShippingResponse,
};
use stockline_shared::{AlertsResponse, ApiError};
use worker::{durable_object, Delay, DurableObject, Env, Request, Response, Result, SqlStorage, State};

/// `placements`: orders being placed, each with where it is and the promises its last stock read
/// gave; `outbox`: ledger changes decided (ships, units given back) and not yet applied.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
         status TEXT NOT NULL, promised_ms INTEGER, body TEXT NOT NULL, holdings TEXT NOT NULL,
         promises TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, seq);
     CREATE TABLE IF NOT EXISTS placements (order_id TEXT PRIMARY KEY, body TEXT NOT NULL,
         next_try_ms INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS exceptions (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, team TEXT NOT NULL,
         status TEXT NOT NULL, due_ms INTEGER NOT NULL, body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS exceptions_by_order ON exceptions (order_id);
     CREATE INDEX IF NOT EXISTS exceptions_by_team ON exceptions (team, status, due_ms);
     CREATE INDEX IF NOT EXISTS exceptions_by_status ON exceptions (status, due_ms);
     CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL,
         sku TEXT NOT NULL, envelope TEXT NOT NULL, next_try_ms INTEGER NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
     CREATE INDEX IF NOT EXISTS outbox_by_order ON outbox (order_id, seq);
     CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_try_ms);
     CREATE TABLE IF NOT EXISTS cases (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS node_days (location TEXT NOT NULL, day TEXT NOT NULL, shipments INTEGER NOT NULL,
         PRIMARY KEY (location, day));
     CREATE TABLE IF NOT EXISTS order_facts (order_id TEXT PRIMARY KEY, body TEXT NOT NULL);";

/// Steps one request drives a placement before it leaves the rest to the alarm.
const DRIVE_STEPS_MAX: u32 = 16;
/// The alarm's retry of a placement or a ledger change, and the longest wait between tries.
const RETRY_MS: i64 = 1_000;
const RETRY_MS_MAX: i64 = 60_000;
/// While orders wait for stock (or a promise is watched), the alarm looks again this often.
const SWEEP_EVERY_MS: i64 = 5_000;
/// Waiting orders one sweep places again, and promised orders one sweep watches.
const SWEEP_ORDERS_MAX: i64 = 32;
/// How long before its last moment an order's promise is at risk.
const SLA_WARN_MINUTES: u32 = 120;
/// How long a request waits for its ledger changes before it answers with them on their way.
const APPLY_WAIT_MS: u64 = 5_000;
/// How often the alarm prunes idempotency records past their retention.
const HOUSEKEEPING_EVERY_MS: i64 = 60 * 60 * 1000;

/// The shipping table as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Shipping {
    rates: ShippingRates,
    nodes: Vec<Node>,
}

/// The routing rules as stored: the active set (version 0 until one is activated: no penalties)
/// and the draft.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Rules {
    active: RoutingRules,
    draft: Option<RoutingRules>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            active: RoutingRules { version: 0, shipment_penalty: Money::ZERO, drain_penalty: Money::ZERO },
            draft: None,
        }
    }
}

/// A placement as stored, with the promises of its last stock read (for the exceptions).
#[derive(Serialize, Deserialize)]
struct StoredPlacement {
    placement: Placement,
    promises: Vec<(Id, Promise)>,
}

#[derive(Clone)]
/// An order as stored, with the units it holds and the promises of its last stock read (what
/// its backordered lines can expect, for its exceptions).
struct Stored {
    seq: i64,
    order: Order,
    holdings: Vec<Holding>,
    promises: Vec<(Id, Promise)>,
}

impl Stored {
    fn from_row(row: OrderRow) -> Result<Stored> {
        Ok(Stored {
            seq: row.seq,
            order: serde_json::from_str(&row.body)?,
            holdings: serde_json::from_str(&row.holdings)?,
            promises: serde_json::from_str(&row.promises)?,
        })
    }
}

#[derive(Deserialize)]
struct OrderRow {
    seq: i64,
    body: String,
    holdings: String,
    promises: String,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct OutboxRow {
    seq: i64,
    sku: String,
    envelope: String,
}

/// How a step's I/O ended.
enum Io {
    /// Answered: the placement moved on.
    Moved,
    /// Not answered (a call failed on the way, an object busy): the step is tried again later.
    Later(String),
}

fn stored_id(text: String) -> Result<Id> {
    Id::new(text).map_err(|e| worker::Error::RustError(format!("orders storage: {e}")))
}

fn engine(error: EngineError) -> Answer {
    Answer::error(ApiError::from(error))
}

/// An internal command under a key of its own (the other object answers a repeat from its record).
fn keyed<C: Serialize>(actor: &Actor, key: String, command: C) -> Result<Envelope<C>> {
    let text = serde_json::to_string(&command)?;
    let fingerprint = fingerprint(&[key.as_bytes(), text.as_bytes()]).to_string();
    Ok(Envelope {
        actor: actor.clone(),
        idempotency: Some(Idempotency { key, fingerprint }),
        command,
        min_catalog_version: None,
    })
}

fn system<C>(command: C) -> Envelope<C> {
    Envelope::system(command)
}

#[durable_object]
pub struct Orders {
    state: State,
    env: Env,
    /// Orders and keys with a request in progress, each with the requests waiting for it.
    busy: RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    alarm: Alarm,
    /// When the sweep of waiting orders next runs (ms since the epoch); none: at the next alarm.
    sweep_at_ms: Cell<Option<i64>>,
}

impl Orders {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Waits until no other request holds `key`, then holds it until the guard drops.
    async fn lock(&self, key: String) -> Busy<'_> {
        while self.busy.borrow().contains_key(&key) {
            let (wake, woken) = oneshot::channel();
            self.busy.borrow_mut().entry(key.clone()).or_default().push(wake);
            // Woken when the holder ends; a dropped holder wakes too (Canceled).
            let _ = woken.await;
        }
        self.busy.borrow_mut().insert(key.clone(), Vec::new());
        Busy { set: &self.busy, keys: vec![key] }
    }

    fn meta<T: for<'de> Deserialize<'de> + Default>(&self, key: &str) -> Result<T> {
        let row: Option<ValueRow> =
            store::first(&self.sql(), "SELECT value FROM meta WHERE key = ?", vec![key.into()])?;
        Ok(match row {
            Some(row) => serde_json::from_str(&row.value)?,
            None => T::default(),
        })
    }

    /// The nodes as configured, with the shipments already planned at each today.
    fn nodes_today(&self, shipping: &Shipping, now: DateTime<Utc>) -> Result<Vec<Node>> {
        #[derive(Deserialize)]
        struct Row {
            location: String,
            shipments: i64,
        }
        let day = now.date_naive().to_string();
        let rows: Vec<Row> =
            store::rows(&self.sql(), "SELECT location, shipments FROM node_days WHERE day = ?", vec![day.into()])?;
        let mut nodes = shipping.nodes.clone();
        for node in &mut nodes {
            if let Some(row) = rows.iter().find(|row| row.location == node.location.as_str()) {
                node.shipments_today = u32::try_from(row.shipments).unwrap_or(u32::MAX);
            }
        }
        Ok(nodes)
    }

    fn load(&self, id: &Id) -> Result<Option<Stored>> {
        let row: Option<OrderRow> = store::first(
            &self.sql(),
            "SELECT seq, body, holdings, promises FROM orders WHERE id = ?",
            vec![id.as_str().into()],
        )?;
        row.map(Stored::from_row).transpose()
    }

    fn placement(&self, id: &Id) -> Result<Option<StoredPlacement>> {
        let row: Option<BodyRow> =
            store::first(&self.sql(), "SELECT body FROM placements WHERE order_id = ?", vec![id.as_str().into()])?;
        Ok(match row {
            Some(row) => Some(serde_json::from_str(&row.body)?),
            None => None,
        })
    }

    fn exceptions_of(&self, order: &Id) -> Result<Vec<OrderException>> {
        let rows: Vec<BodyRow> = store::rows(
            &self.sql(),
            "SELECT body FROM exceptions WHERE order_id = ? ORDER BY rowid",
            vec![order.as_str().into()],
        )?;
        rows.iter().map(|row| Ok(serde_json::from_str(&row.body)?)).collect()
    }

    fn view(&self, stored: Stored, now: DateTime<Utc>) -> Result<OrderView> {
        let shipping: Shipping = self.meta("shipping")?;
        let nodes = self.nodes_today(&shipping, now)?;
        let placing = self.placement(&stored.order.id)?.is_some();
        let sla = sla_watch(&stored.order, &nodes, &shipping.rates, now, SLA_WARN_MINUTES);
        let exceptions = self.exceptions_of(&stored.order.id)?;
        let actions = if placing { Vec::new() } else { stored.order.status.actions().to_vec() };
        Ok(OrderView { order: stored.order, holdings: stored.holdings, exceptions, sla, actions, placing })
    }

    fn view_of(&self, id: &Id, now: DateTime<Utc>) -> Result<Answer> {
        Ok(match self.load(id)? {
            Some(stored) => Answer::ok(200, &self.view(stored, now)?),
            None => Answer::error(ApiError::not_found("order")),
        })
    }

    /// Writes an order, its holdings, its exceptions as `reconcile` left them, the ledger changes
    /// it decided (with what its escalated exceptions ask of their SKUs) and the answer under its
    /// key — one transaction. `placement`: the placement to
    /// keep (Some) or to drop (None) with it.
    #[allow(clippy::too_many_arguments)]
    fn save(
        &self,
        stored: &Stored,
        exceptions: &[OrderException],
        placement: Option<(&StoredPlacement, i64)>,
        mut outbox: Vec<(Id, String)>,
        recorded: Option<(&Idempotency, &Answer)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = self.sql();
        let order = &stored.order;
        // Only an escalated exception asks anything of its SKU: the others need no earlier state.
        for after in exceptions.iter().filter(|exception| exception.escalated) {
            let before: Option<BodyRow> =
                store::first(&sql, "SELECT body FROM exceptions WHERE id = ?", vec![after.id.as_str().into()])?;
            let before: Option<OrderException> = before.map(|row| serde_json::from_str(&row.body)).transpose()?;
            if let Some((sku, change)) = expedite_change(order, before.as_ref(), after, now) {
                let envelope = system(SkuCommand::Expedite { sku: sku.clone(), change });
                outbox.push((sku, serde_json::to_string(&envelope)?));
            }
        }
        let (id, seq, status) = (order.id.to_string(), stored.seq, order.status.as_str());
        let promised_ms = order.promised_by.map(|at| at.timestamp_millis());
        let body = serde_json::to_string(order)?;
        let holdings = serde_json::to_string(&stored.holdings)?;
        let promises = serde_json::to_string(&stored.promises)?;
        let placement = match placement {
            Some((placement, next_try_ms)) => Some((serde_json::to_string(placement)?, next_try_ms)),
            None => None,
        };
        let mut exception_rows = Vec::with_capacity(exceptions.len());
        for exception in exceptions {
            exception_rows.push((
                exception.id.to_string(),
                exception.team.as_str(),
                exception.status.as_str(),
                exception.due_at.timestamp_millis(),
                serde_json::to_string(exception)?,
            ));
        }
        // What the change means for the metrics: the facts before → after, as bucket additions.
        let facts_before: Option<BodyRow> =
            store::first(&sql, "SELECT body FROM order_facts WHERE order_id = ?", vec![id.clone().into()])?;
        let facts_before: Option<OrderFacts> = facts_before.map(|row| serde_json::from_str(&row.body)).transpose()?;
        let facts = OrderFacts::observe(facts_before.as_ref(), order);
        let deltas = OrderFacts::deltas(facts_before.as_ref(), &facts);
        let facts = (facts_before.as_ref() != Some(&facts)).then(|| serde_json::to_string(&facts)).transpose()?;
        let recorded = recorded.map(|(key, answer)| (key.clone(), answer.clone()));
        let now_ms = now.timestamp_millis();
        let (order_id, order_events, exceptions) = (order.id.clone(), order.events.clone(), exceptions.to_vec());
        store::transaction(&self.state.storage(), move || {
            // The order's and its exceptions' changes for the event feed, with the change itself.
            let stream = Stream::new(StreamKind::Order, order_id.clone());
            let version_of = |event: &stockline_engine::orders::OrderEvent| u64::from(event.version);
            feed::stage(&sql, &stream, &order_events, version_of, |event, prev| {
                FeedEvent::of_order(&order_id, event, prev)
            })?;
            for exception in &exceptions {
                let stream = Stream::new(StreamKind::Exception, exception.id.clone());
                let one = std::slice::from_ref(exception);
                feed::stage(&sql, &stream, one, |e| u64::from(e.version), FeedEvent::of_exception)?;
            }
            store::exec(
                &sql,
                "INSERT INTO orders (id, seq, status, promised_ms, body, holdings, promises) VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body,
                 holdings = excluded.holdings, promises = excluded.promises",
                vec![
                    id.clone().into(),
                    seq.into(),
                    status.into(),
                    promised_ms.into(),
                    body.into(),
                    holdings.into(),
                    promises.into(),
                ],
            )?;
            match placement {
                Some((body, next_try_ms)) => store::exec(
                    &sql,
                    "INSERT INTO placements (order_id, body, next_try_ms) VALUES (?, ?, ?)
                     ON CONFLICT(order_id) DO UPDATE SET body = excluded.body, next_try_ms = excluded.next_try_ms",
                    vec![id.clone().into(), body.into(), next_try_ms.into()],
                )?,
                None => store::exec(&sql, "DELETE FROM placements WHERE order_id = ?", vec![id.clone().into()])?,
            }
            for (exception, team, status, due_ms, body) in exception_rows {
                store::exec(
                    &sql,
                    "INSERT INTO exceptions (id, order_id, team, status, due_ms, body) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT(id) DO UPDATE SET team = excluded.team, status = excluded.status,
                     due_ms = excluded.due_ms, body = excluded.body",
                    vec![exception.into(), id.clone().into(), team.into(), status.into(), due_ms.into(), body.into()],
                )?;
            }
            for (sku, envelope) in outbox {
                store::exec(
                    &sql,
                    "INSERT INTO outbox (order_id, sku, envelope, next_try_ms) VALUES (?, ?, ?, ?)",
                    vec![id.clone().into(), sku.as_str().into(), envelope.into(), (now_ms + RETRY_MS).into()],
                )?;
            }
            if let Some(body) = facts {
                store::exec(
                    &sql,
                    "INSERT INTO order_facts (order_id, body) VALUES (?, ?)
                     ON CONFLICT(order_id) DO UPDATE SET body = excluded.body",
                    vec![id.clone().into(), body.into()],
                )?;
            }
            metric_store::add(&sql, deltas)?;
            if let Some((key, answer)) = recorded {
                store::record_answer(&sql, &key, &answer, now)?;
            }
            Ok(())
        })
    }

    /// The buckets the margin is read from, as one JSON text of two arrays, passed on unread:
    /// shipping and revenue (the totals and `by`'s groups), and the revenue of `skus` (those with
    /// stockout days: lost sales are priced SKU by SKU) in the window and the one before it that
    /// the first array does not hold already.
    fn margin_rows(&self, window: Window, by: Option<MetricsBy>, skus: &[Id], now: DateTime<Utc>) -> Result<Answered> {
        use metrics::metric::{REVENUE, SHIPPING};
        let kept = by.filter(|by| matches!(by, MetricsBy::Sku | MetricsBy::Channel));
        let through = now.date_naive();
        let query = metric_store::Query {
            metrics: &[SHIPPING, REVENUE],
            window,
            through,
            totals: true,
            groups: metric_store::Groups::of(kept),
            backlog: false,
        };
        let kept_rows = metric_store::read(&self.sql(), query)?.into_json();
        let keys = serde_json::to_string(skus)?;
        let of_skus = metric_store::Groups {
            by: MetricsBy::Sku,
            current: kept != Some(MetricsBy::Sku),
            previous: true,
            keys: Some(&keys),
        };
        let query = metric_store::Query {
            metrics: &[REVENUE],
            window,
            through,
            totals: false,
            groups: (!skus.is_empty()).then_some(of_skus),
            backlog: false,
        };
        let of_skus = metric_store::read(&self.sql(), query)?.into_json();
        Ok(Answered::Encoded { status: 200, json: format!("[{kept_rows},{of_skus}]") })
    }

    fn metrics(&self, kind: MetricsKind, window: Window, by: Option<MetricsBy>, now: DateTime<Utc>) -> Result<Answer> {
        let today = now.date_naive();
        let query = |metrics, backlog| metric_store::Query {
            metrics,
            window,
            through: today,
            totals: true,
            groups: metric_store::Groups::of(by),
            backlog,
        };
        Ok(match kind {
            MetricsKind::FillRate => {
                let fill = [metrics::metric::FILL_FIRST, metrics::metric::FILL_FINAL];
                let buckets = metric_store::read(&self.sql(), query(&fill, false))?;
                Answer::ok(200, &metrics::read_fill_rate(&buckets.rows()?, window, by))
            }
            MetricsKind::CycleTime => {
                let buckets = metric_store::read(&self.sql(), query(&[metrics::metric::CYCLE], true))?;
                Answer::ok(200, &metrics::read_cycle_time(&buckets.rows()?, window, by, today))
            }
        })
    }

    /// Brings the order's exceptions in line with its state; answers them all, as they now stand.
    fn reconciled(&self, stored: &Stored, now: DateTime<Utc>) -> Result<Vec<OrderException>> {
        self.reconciled_with(stored, self.exceptions_of(&stored.order.id)?, now)
    }

    // ------------------------------------------------------------------------------ placing

    /// Reads each SKU the order still needs, as its channel may sell it (all at once); then, for
    /// each that cannot ship all its line waits for, the substitutes its definition names (what
    /// customer service may offer instead: into the read's promise).
    async fn read_stock(&self, order: &Order) -> std::result::Result<Vec<StockRead>, EngineError> {
        let lines = order.to_allocate();
        let read = |sku: &Id, qty: i64| {
            let envelope = system(SkuCommand::StockRead { sku: sku.clone(), channel: order.channel.clone(), qty });
            let sku = sku.clone();
            async move { sku_call::<StockRead>(&self.env, &sku, &envelope).await }
        };
        let mut reads: Vec<StockRead> = join_all(lines.iter().map(|line| read(&line.sku, line.qty)))
            .await
            .into_iter()
            .collect::<std::result::Result<_, _>>()?;
        let short = substitutes_to_read(&lines, &reads);
        let found = join_all(short.iter().map(|(_, sku, qty)| read(sku, *qty))).await;
        for ((at, sku, _), found) in short.into_iter().zip(found) {
            match found {
                Ok(substitute) if substitute.stock.sellable > 0 => {
                    reads[at].promise.substitutes.push(SubstituteStock { sku, sellable: substitute.stock.sellable });
                }
                Ok(_) => {}
                // A substitute that cannot be read (gone, unreachable) is simply not offered.
                Err(error) => worker::console_error!("orders: reading substitute {sku}: {error}"),
            }
        }
        Ok(reads)
    }

    /// The allocation from a stock read, recorded on the placement, and the case it makes for
    /// evaluating routing rules later.
    fn allocate(
        &self,
        placement: &mut StoredPlacement,
        reads: Vec<StockRead>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), EngineError>> {
        let shipping: Shipping = self.meta("shipping")?;
        let rules: Rules = self.meta("routing_rules")?;
        let nodes = self.nodes_today(&shipping, now)?;
        let locations: Vec<Id> = reads
            .first()
            .map(|read| read.stock.locations.iter().map(|l| l.location.clone()).collect())
            .unwrap_or_default();
        placement.promises = reads.iter().map(|read| (read.stock.sku.clone(), read.promise.clone())).collect();
        let stock: Vec<_> = reads.into_iter().map(|read| read.stock).collect();
        let order = placement.placement.order();
        let case = EvaluationCase {
            order: order.id.clone(),
            lines: order.to_allocate(),
            region: order.ship_to_region.clone(),
            service_level: order.service_level,
            promised_by: order.promised_by,
            split: order.split,
            locations: locations.clone(),
            stock: stock.clone(),
            nodes: nodes.clone(),
            at: now,
        };
        let routing = Routing { rates: &shipping.rates, rules: &rules.active, nodes: &nodes };
        if let Err(error) = placement.placement.stock_read(&stock, &locations, routing, now) {
            return Ok(Err(error));
        }
        let sql = self.sql();
        store::exec(&sql, "INSERT INTO cases (body) VALUES (?)", vec![serde_json::to_string(&case)?.into()])?;
        store::exec(
            &sql,
            "DELETE FROM cases WHERE seq <= (SELECT MAX(seq) FROM cases) - ?",
            vec![(EVALUATION_ORDERS_MAX as i64).into()],
        )?;
        Ok(Ok(()))
    }

    fn coordinator_stub(&self, reservation: &Id) -> Result<worker::Stub> {
        let shard = crate::ids::shard_for(Some(reservation.as_str()))
            .map_err(|e| worker::Error::RustError(e.body.error.message))?;
        self.env.durable_object(coordinator::BINDING)?.get_by_name(&coordinator::shard_name(shard))
    }

    /// One reservation step through the reservation's coordinator shard, keyed by the step.
    async fn coordinate(
        &self,
        reservation: &Id,
        step: &str,
        command: crate::protocol::CoordinatorCommand,
    ) -> std::result::Result<Answer, String> {
        let envelope =
            keyed(&Actor::system(), format!("order:{reservation}:{step}"), command).map_err(|e| e.to_string())?;
        let stub = self.coordinator_stub(reservation).map_err(|e| e.to_string())?;
        let called = Box::pin(call(&stub, "/coordinator", &envelope));
        let deadline = Delay::from(std::time::Duration::from_millis(10_000));
        let answered = match select(called, deadline).await {
            Either::Left((Ok(answer), _)) => Ok(answer),
            Either::Left((Err(error), _)) => Err(error.to_string()),
            Either::Right(_) => Err("the coordinator did not answer in 10 s".into()),
        };
        answered
    }

    /// Does the I/O of the placement's current step and records its answer on the placement.
    async fn step(&self, stored: &mut StoredPlacement, now: DateTime<Utc>) -> Result<Io> {
        use crate::protocol::CoordinatorCommand;
        let placement = &mut stored.placement;
        let moved = |result: std::result::Result<(), EngineError>| -> Result<Io> {
            result.map(|()| Io::Moved).map_err(|e| worker::Error::RustError(format!("placement: {e}")))
        };
        match placement.step() {
            PlacementStep::Done => Ok(Io::Moved),
            PlacementStep::ReadStock { .. } => match self.read_stock(placement.order()).await {
                Ok(reads) => match self.allocate(stored, reads, now)? {
                    Ok(()) => Ok(Io::Moved),
                    Err(error) => Ok(Io::Later(error.to_string())),
                },
                Err(error) => Ok(Io::Later(error.to_string())),
            },
            PlacementStep::Reserve { reservation, request } => {
                let command = CoordinatorCommand::Reserve { id: reservation.clone(), request };
                let answer = match self.coordinate(&reservation, "reserve", command).await {
                    Ok(answer) => answer,
                    Err(error) => return Ok(Io::Later(error)),
                };
                if (200..300).contains(&answer.status) {
                    return moved(placement.reserved());
                }
                let error: stockline_shared::ErrorBody = serde_json::from_value(answer.body.clone())?;
                match error.hold_outcome() {
                    Some(refusal @ EngineError::InsufficientStock { .. }) => moved(placement.refused(refusal, now)),
                    _ if answer.status == 409 || answer.status >= 500 => Ok(Io::Later(error.error.message)),
                    _ => {
                        // Refused for good (a location or channel gone since the read): give up this
                        // attempt; the order waits, and the next sweep places it again.
                        worker::console_error!("orders: reserving {reservation} refused: {}", error.error.message);
                        moved(placement.abandon())
                    }
                }
            }
            PlacementStep::Commit { reservation } => {
                let command = CoordinatorCommand::Commit { id: reservation.clone(), request: CommitRequest::default() };
                let answer = match self.coordinate(&reservation, "commit", command).await {
                    Ok(answer) => answer,
                    Err(error) => return Ok(Io::Later(error)),
                };
                if (200..300).contains(&answer.status) {
                    return moved(placement.committed(now));
                }
                let error: stockline_shared::ErrorBody = serde_json::from_value(answer.body.clone())?;
                match error.hold_outcome() {
                    Some(refusal @ EngineError::AlreadyResolved { .. }) => {
                        moved(placement.commit_refused(refusal, now))
                    }
                    _ => Ok(Io::Later(error.error.message)),
                }
            }
            PlacementStep::Release { reservation } => {
                let command = CoordinatorCommand::Release { id: reservation.clone() };
                let answer = match self.coordinate(&reservation, "release", command).await {
                    Ok(answer) => answer,
                    Err(error) => return Ok(Io::Later(error)),
                };
                let error: Option<stockline_shared::ErrorBody> = (!(200..300).contains(&answer.status))
                    .then(|| serde_json::from_value(answer.body.clone()))
                    .transpose()?;
                match error {
                    None => moved(placement.released()),
                    Some(error) if answer.status == 404 || error.hold_outcome().is_some() => {
                        moved(placement.released())
                    }
                    Some(error) => Ok(Io::Later(error.error.message)),
                }
            }
        }
    }

    /// Drives the order's placement until it is done (then the order takes its outcome) or a
    /// step must wait (stored, due for the alarm). The caller holds the order's lock.
    async fn drive(&self, id: &Id) -> Result<()> {
        let Some(mut stored) = self.placement(id)? else { return Ok(()) };
        for _ in 0..DRIVE_STEPS_MAX {
            let now = now()?;
            if matches!(stored.placement.step(), PlacementStep::Done) {
                return self.finish(stored, now);
            }
            match self.step(&mut stored, now).await? {
                Io::Moved => {
                    let order = self.load(id)?.ok_or("a placed order is stored")?;
                    self.save(&order, &[], Some((&stored, now.timestamp_millis() + RETRY_MS)), Vec::new(), None, now)?;
                }
                Io::Later(why) => {
                    worker::console_log!("orders: placing {id} waits: {why}");
                    let order = self.load(id)?.ok_or("a placed order is stored")?;
                    self.save(&order, &[], Some((&stored, now.timestamp_millis() + RETRY_MS)), Vec::new(), None, now)?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A placement done: the order as it left it, the units it now holds, the shipments planned
    /// at each node today, its exceptions — stored together, the placement dropped.
    fn finish(&self, stored: StoredPlacement, now: DateTime<Utc>) -> Result<()> {
        let holdings = stored.placement.holdings();
        let order = stored.placement.into_order();
        let mut current = self.load(&order.id)?.ok_or("a placed order is stored")?;
        let mut locations: Vec<&Id> = holdings.iter().map(|h| &h.location).collect();
        locations.sort();
        locations.dedup();
        let day = now.date_naive().to_string();
        for location in locations {
            store::exec(
                &self.sql(),
                "INSERT INTO node_days (location, day, shipments) VALUES (?, ?, 1)
                 ON CONFLICT(location, day) DO UPDATE SET shipments = shipments + 1",
                vec![location.as_str().into(), day.clone().into()],
            )?;
        }
        store::exec(&self.sql(), "DELETE FROM node_days WHERE day < ?", vec![day.into()])?;
        current.order = order;
        current.holdings.extend(holdings);
        current.promises = stored.promises;
        let exceptions = self.reconciled(&current, now)?;
        self.save(&current, &exceptions, None, Vec::new(), None, now)
    }

    /// Starts placing a stored order that waits for stock (new, or filled again).
    fn begin_placement(
        &self,
        stored: &Stored,
        reads: Option<Vec<StockRead>>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), EngineError>> {
        let placement = match Placement::new(stored.order.clone()) {
            Ok(placement) => placement,
            Err(error) => return Ok(Err(error)),
        };
        let mut placement = StoredPlacement { placement, promises: Vec::new() };
        if let Some(reads) = reads {
            if let Err(error) = self.allocate(&mut placement, reads, now)? {
                return Ok(Err(error));
            }
        }
        self.save(stored, &[], Some((&placement, now.timestamp_millis() + RETRY_MS)), Vec::new(), None, now)?;
        Ok(Ok(()))
    }

    async fn place(&self, actor: &Actor, spec: OrderSpec, key: Option<&Idempotency>) -> Result<Answer> {
        let _key_lock = match key {
            Some(key) => Some(self.lock(format!("key:{}", key.key)).await),
            None => None,
        };
        if let Some(key) = key {
            if let Some(answer) = store::recorded_answer(&self.sql(), key, now()?)? {
                // The same order again: as it is now (driven on if a crash left it half placed).
                let Some(id) = answer.body["id"].as_str().map(str::to_string) else { return Ok(answer) };
                let id = stored_id(id)?;
                let _order_lock = self.lock(format!("order:{id}")).await;
                self.drive(&id).await?;
                let mut answer = self.view_of(&id, now()?)?;
                answer.status = 201;
                return Ok(answer);
            }
        }
        if let Err(error) = spec.check() {
            return Ok(engine(error));
        }
        // Everything the order names is read before anything is stored: an unknown SKU or channel
        // is refused with nothing kept.
        let provisional = Order::place(
            Id::new("pending").map_err(|e| worker::Error::RustError(e.to_string()))?,
            &spec,
            actor,
            now()?,
        );
        let provisional = match provisional {
            Ok(order) => order,
            Err(error) => return Ok(engine(error)),
        };
        // Read for an order on hold too (it is placed once the hold is lifted): an unknown SKU or
        // channel is refused now, not retried for ever after the release.
        let reads = match self.read_stock(&provisional).await {
            Ok(reads) => provisional.status.awaits_stock().then_some(reads),
            Err(error) => return Ok(engine(error)),
        };
        // From here to the write nothing waits: the sequence number is this order's alone.
        let now = now()?;
        #[derive(Deserialize)]
        struct Seq {
            seq: Option<i64>,
        }
        let seq = store::first::<Seq>(&self.sql(), "SELECT MAX(seq) AS seq FROM orders", vec![])?
            .and_then(|s| s.seq)
            .unwrap_or(0)
            + 1;
        let id = Id::new(format!("SO-{seq:06}")).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let order = match Order::place(id.clone(), &spec, actor, now) {
            Ok(order) => order,
            Err(error) => return Ok(engine(error)),
        };
        let stored = Stored { seq, order, holdings: Vec::new(), promises: Vec::new() };
        let _order_lock = self.lock(format!("order:{id}")).await;
        let exceptions = self.reconciled(&stored, now)?;
        let answer = Answer::ok(201, &self.view(stored.clone(), now)?);
        self.save(&stored, &exceptions, None, Vec::new(), key.map(|key| (key, &answer)), now)?;
        if let Some(reads) = reads {
            if let Err(error) = self.begin_placement(&stored, Some(reads), now)? {
                worker::console_error!("orders: placing {id}: {error}");
            }
            self.arm(RETRY_MS).await?;
            self.drive(&id).await?;
        }
        let mut answer = self.view_of(&id, crate::http::now()?)?;
        answer.status = 201;
        Ok(answer)
    }

    // ------------------------------------------------------------------------ steps, cancel

    /// The ledger changes that ship `order`'s allocations (before `advance` clears them).
    fn ship_changes(order: &Order, holdings: &mut Vec<Holding>, actor: &Actor) -> Result<Vec<(Id, String)>> {
        let mut changes = Vec::new();
        for line in &order.lines {
            for allocation in &line.allocations {
                for part in draw(holdings, &line.sku, &allocation.location, allocation.qty) {
                    let key = format!(
                        "order:{}:v{}:ship:{}:{}@{}",
                        order.id, order.version, part.reservation, part.sku, part.location
                    );
                    let command =
                        SkuCommand::ShipHeld { sku: part.sku.clone(), holding: part.clone(), order: order.id.clone() };
                    changes.push((part.sku.clone(), serde_json::to_string(&keyed(actor, key, command)?)?));
                }
            }
        }
        Ok(changes)
    }

    /// The ledger changes that give back what a cancellation freed.
    fn release_changes(
        order: &Order,
        freed: Vec<(Id, stockline_engine::Allocation)>,
        holdings: &mut Vec<Holding>,
        actor: &Actor,
    ) -> Result<Vec<(Id, String)>> {
        let mut changes = Vec::new();
        for (sku, allocation) in freed {
            for part in draw(holdings, &sku, &allocation.location, allocation.qty) {
                let key = format!(
                    "order:{}:v{}:release:{}:{}@{}",
                    order.id, order.version, part.reservation, part.sku, part.location
                );
                let command = SkuCommand::ReleaseHeld { sku: part.sku.clone(), holding: part.clone() };
                changes.push((part.sku.clone(), serde_json::to_string(&keyed(actor, key, command)?)?));
            }
        }
        Ok(changes)
    }

    async fn act(
        &self,
        actor: &Actor,
        id: &Id,
        action: OrderAction,
        request: OrderActionRequest,
        key: Option<&Idempotency>,
    ) -> Result<Answer> {
        let _lock = self.lock(format!("order:{id}")).await;
        let now = now()?;
        if let Some(key) = key {
            if let Some(answer) = store::recorded_answer(&self.sql(), key, now)? {
                return Ok(answer);
            }
        }
        let Some(mut stored) = self.load(id)? else { return Ok(Answer::error(ApiError::not_found("order"))) };
        if self.placement(id)?.is_some() {
            return Ok(Answer::error(ApiError::conflict(format!(
                "order {id} is being placed: read it again in a moment"
            ))));
        }
        let decision = Decision { actor, at: now, seen_version: request.version, comment: request.comment.as_deref() };
        let before = stored.order.clone();
        let mut holdings = stored.holdings.clone();
        let decided = match action {
            OrderAction::Cancel | OrderAction::CancelLine => {
                let line = if action == OrderAction::CancelLine { request.line } else { None };
                stored.order.cancel(line, &decision).and_then(|freed| {
                    Self::release_changes(&stored.order, freed, &mut holdings, actor)
                        .map_err(|e| EngineError::unavailable(e.to_string()))
                })
            }
            OrderAction::Ship => stored.order.advance(action, &decision).and_then(|()| {
                Self::ship_changes(&before, &mut holdings, actor).map_err(|e| EngineError::unavailable(e.to_string()))
            }),
            _ => stored.order.advance(action, &decision).map(|()| Vec::new()),
        };
        let changes = match decided {
            Ok(changes) => changes,
            Err(error) => return Ok(engine(error)),
        };
        stored.holdings = holdings;
        let exceptions = self.reconciled(&stored, now)?;
        let answer = Answer::ok(200, &self.view(stored.clone(), now)?);
        self.save(&stored, &exceptions, None, changes, key.map(|key| (key, &answer)), now)?;
        if action == OrderAction::ReleaseHold {
            if let Err(error) = self.begin_placement(&stored, None, now)? {
                worker::console_error!("orders: placing {id} after its hold: {error}");
            }
            self.drive(id).await?;
        }
        self.arm(RETRY_MS).await?;
        self.apply_outbox(Some(id)).await;
        Ok(match action {
            OrderAction::ReleaseHold => self.view_of(id, crate::http::now()?)?,
            _ => answer,
        })
    }

    async fn resolve(
        &self,
        actor: &Actor,
        id: &Id,
        request: ResolveRequest,
        key: Option<&Idempotency>,
    ) -> Result<Answer> {
        let row: Option<BodyRow> =
            store::first(&self.sql(), "SELECT body FROM exceptions WHERE id = ?", vec![id.as_str().into()])?;
        let Some(row) = row else { return Ok(Answer::error(ApiError::not_found("exception"))) };
        let exception: OrderException = serde_json::from_str(&row.body)?;
        let order_id = exception.order.clone();
        let _lock = self.lock(format!("order:{order_id}")).await;
        let now = now()?;
        if let Some(key) = key {
            if let Some(answer) = store::recorded_answer(&self.sql(), key, now)? {
                return Ok(answer);
            }
        }
        let mut exceptions = self.exceptions_of(&order_id)?;
        let Some(index) = exceptions.iter().position(|e| e.id == *id) else {
            return Ok(Answer::error(ApiError::not_found("exception")));
        };
        let Some(mut stored) = self.load(&order_id)? else { return Ok(Answer::error(ApiError::not_found("order"))) };
        if self.placement(&order_id)?.is_some() {
            return Ok(Answer::error(ApiError::conflict(format!(
                "order {order_id} is being placed: read it again in a moment"
            ))));
        }
        let mut exception = exceptions[index].clone();
        let follow_up = match exception.resolve(request.action, actor, now, request.version, request.comment.as_deref())
        {
            Ok(follow_up) => follow_up,
            Err(error) => return Ok(engine(error)),
        };
        let mut holdings = stored.holdings.clone();
        let freed = match stored.order.follow(&follow_up, actor, now, request.comment.as_deref()) {
            Ok(freed) => freed,
            Err(error) => return Ok(engine(error)),
        };
        let changes = Self::release_changes(&stored.order, freed, &mut holdings, actor)?;
        stored.holdings = holdings;
        exceptions[index] = exception.clone();
        let others = self.reconciled_with(&stored, exceptions, now)?;
        let place_again = stored.order.status.awaits_stock();
        let view = self.view(stored.clone(), now)?;
        let answer = Answer::ok(200, &ResolveResponse { exception: exception.clone(), order: view });
        self.save(&stored, &others, None, changes, key.map(|key| (key, &answer)), now)?;
        if place_again {
            if let Err(error) = self.begin_placement(&stored, None, now)? {
                worker::console_error!("orders: placing {order_id} after {id}: {error}");
            }
            self.drive(&order_id).await?;
        }
        self.arm(RETRY_MS).await?;
        self.apply_outbox(Some(&order_id)).await;
        if !place_again {
            return Ok(answer);
        }
        // Placed again: the answer shows where that got (the recorded one, taken before, is
        // what a replay answers; the order itself is always readable).
        let now = crate::http::now()?;
        let Some(placed) = self.load(&order_id)? else { return Ok(answer) };
        Ok(Answer::ok(200, &ResolveResponse { exception, order: self.view(placed, now)? }))
    }

    /// `reconciled` over exceptions already in hand (one just resolved).
    fn reconciled_with(
        &self,
        stored: &Stored,
        mut exceptions: Vec<OrderException>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderException>> {
        let shipping: Shipping = self.meta("shipping")?;
        let nodes = self.nodes_today(&shipping, now)?;
        let sla = sla_watch(&stored.order, &nodes, &shipping.rates, now, SLA_WARN_MINUTES);
        reconcile(&stored.order, &mut exceptions, &stored.promises, sla.as_ref(), now)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        Ok(exceptions)
    }

    // ------------------------------------------------------------------------------ outbox

    /// Sends the ledger changes due (of one order, or all), oldest first, waiting at most
    /// `APPLY_WAIT_MS`; what fails or is left the alarm sends. Logged, not answered: the decision
    /// is committed.
    async fn apply_outbox(&self, order: Option<&Id>) {
        let sending = Box::pin(self.send_outbox(order));
        let deadline = Delay::from(std::time::Duration::from_millis(APPLY_WAIT_MS));
        if let Either::Left((Err(error), _)) = select(sending, deadline).await {
            worker::console_error!("orders: sending ledger changes (the alarm tries again): {error}");
        }
    }

    async fn send_outbox(&self, order: Option<&Id>) -> Result<()> {
        let _lock = self.lock("outbox".into()).await;
        let now_ms = now()?.timestamp_millis();
        let rows: Vec<OutboxRow> = match order {
            Some(order) => store::rows(
                &self.sql(),
                "SELECT seq, sku, envelope FROM outbox WHERE order_id = ? ORDER BY seq LIMIT 64",
                vec![order.as_str().into()],
            )?,
            None => store::rows(
                &self.sql(),
                "SELECT seq, sku, envelope FROM outbox WHERE next_try_ms <= ? ORDER BY seq LIMIT 64",
                vec![now_ms.into()],
            )?,
        };
        for row in rows {
            let sku = stored_id(row.sku)?;
            let envelope: Envelope<SkuCommand> = serde_json::from_str(&row.envelope)?;
            match sku_call::<serde_json::Value>(&self.env, &sku, &envelope).await {
                Ok(_) => store::exec(&self.sql(), "DELETE FROM outbox WHERE seq = ?", vec![row.seq.into()])?,
                Err(error) => {
                    worker::console_error!("orders: a ledger change for {sku} failed (retried): {error}");
                    store::exec(
                        &self.sql(),
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?,
                         next_try_ms = ? + MIN(?, ? * (1 << MIN(attempts, 6))) WHERE seq = ?",
                        vec![
                            error.to_string().into(),
                            now_ms.into(),
                            RETRY_MS_MAX.into(),
                            RETRY_MS.into(),
                            row.seq.into(),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------- waiting orders

    /// Places again the orders that wait for stock, highest priority first, then the oldest: each
    /// whose SKUs now have stock to sell.
    async fn fill(&self) -> Result<()> {
        let rows: Vec<BodyRow> = store::rows(
            &self.sql(),
            "SELECT body FROM orders WHERE status IN ('placed', 'backordered', 'partially_allocated')
             AND id NOT IN (SELECT order_id FROM placements) ORDER BY seq LIMIT 1000",
            vec![],
        )?;
        let waiting =
            rows.iter().map(|row| serde_json::from_str(&row.body)).collect::<serde_json::Result<Vec<Order>>>()?;
        let placed: Vec<&Order> = waiting.iter().filter(|o| o.status == OrderStatus::Placed).collect();
        let mut ordered: Vec<Id> = backorder_queue(&waiting).into_iter().map(|o| o.id.clone()).collect();
        ordered.extend(placed.into_iter().map(|o| o.id.clone()));
        // SKUs read as having nothing to sell in this sweep: an order needing only those is not
        // read again until the next.
        let mut dry: HashSet<Id> = HashSet::new();
        let mut placed = 0;
        for id in ordered {
            if placed >= SWEEP_ORDERS_MAX {
                self.sweep_soon().await?;
                break;
            }
            let _lock = self.lock(format!("order:{id}")).await;
            let Some(stored) = self.load(&id)? else { continue };
            if !stored.order.status.awaits_stock() || self.placement(&id)?.is_some() {
                continue;
            }
            if stored.order.choice.is_some() && stored.order.to_allocate().iter().all(|line| dry.contains(&line.sku)) {
                continue;
            }
            let reads = match self.read_stock(&stored.order).await {
                Ok(reads) => reads,
                Err(error) => {
                    worker::console_error!("orders: reading stock for {id}: {error}");
                    continue;
                }
            };
            // Stock that arrived during this sweep for a SKU an earlier order found empty goes
            // to that order first: the sweep starts again from the top of the queue.
            if reads.iter().any(|read| read.stock.sellable > 0 && dry.contains(&read.stock.sku)) {
                self.sweep_soon().await?;
                break;
            }
            dry.extend(reads.iter().filter(|read| read.stock.sellable <= 0).map(|read| read.stock.sku.clone()));
            if reads.iter().all(|read| read.stock.sellable <= 0) && stored.order.choice.is_some() {
                continue; // Still nothing to sell: the order's record is left as it is.
            }
            placed += 1;
            if self.begin_placement(&stored, Some(reads), now()?)?.is_ok() {
                self.drive(&id).await?;
            }
        }
        Ok(())
    }

    /// Watches the promises of open orders (the soonest first) and raises or closes `sla_at_risk`.
    fn watch_promises(&self, now: DateTime<Utc>) -> Result<()> {
        let rows: Vec<OrderRow> = store::rows(
            &self.sql(),
            "SELECT seq, body, holdings, promises FROM orders WHERE promised_ms IS NOT NULL
             AND status NOT IN ('shipped', 'delivered', 'cancelled') AND id NOT IN (SELECT order_id FROM placements)
             ORDER BY promised_ms LIMIT ?",
            vec![SWEEP_ORDERS_MAX.into()],
        )?;
        for row in rows {
            let stored = Stored::from_row(row)?;
            let before = self.exceptions_of(&stored.order.id)?;
            let after = self.reconciled(&stored, now)?;
            if before != after {
                self.save(&stored, &after, None, Vec::new(), None, now)?;
            }
        }
        Ok(())
    }

    async fn run_alarm(&self) -> Result<()> {
        let now = now()?;
        #[derive(Deserialize)]
        struct Due {
            order_id: String,
        }
        let due: Vec<Due> = store::rows(
            &self.sql(),
            "SELECT order_id FROM placements WHERE next_try_ms <= ? LIMIT ?",
            vec![now.timestamp_millis().into(), SWEEP_ORDERS_MAX.into()],
        )?;
        for row in due {
            let id = stored_id(row.order_id)?;
            let _lock = self.lock(format!("order:{id}")).await;
            self.drive(&id).await?;
        }
        self.send_outbox(None).await?;
        // The sweep runs every `SWEEP_EVERY_MS` (or at once when asked), not on every alarm: the
        // alarm also fires soon after each change to send it to the event feed.
        if self.sweep_at_ms.get().is_none_or(|at_ms| at_ms <= now.timestamp_millis()) {
            self.sweep_at_ms.set(Some(now.timestamp_millis() + SWEEP_EVERY_MS));
            self.fill().await?;
            self.watch_promises(now)?;
            store::prune(&self.sql(), now)?;
        }
        match feed::send_staged(&self.env, &self.state.storage()).await {
            Ok(true) => self.arm(0).await?,
            Ok(false) => {}
            Err(error) => {
                worker::console_error!("orders: sending events to the feed failed (tried again later): {error}");
                self.arm(feed::SEND_RETRY_MS).await?;
            }
        }
        self.arm_next().await
    }

    /// The sweep of waiting orders runs again now.
    async fn sweep_soon(&self) -> Result<()> {
        self.sweep_at_ms.set(None);
        self.arm(0).await
    }

    /// Arms the alarm for what is still to do: placements and changes to retry, orders waiting
    /// for stock or with a promise to watch; otherwise the housekeeping interval.
    async fn arm_next(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let pending = store::first::<Count>(
            &self.sql(),
            "SELECT (SELECT COUNT(*) FROM placements) + (SELECT COUNT(*) FROM outbox)
               + (SELECT COUNT(*) FROM orders WHERE status IN ('placed', 'backordered', 'partially_allocated')
                  OR (promised_ms IS NOT NULL AND status NOT IN ('shipped', 'delivered', 'cancelled'))) AS n",
            vec![],
        )?
        .map_or(0, |c| c.n);
        let staged =
            store::first::<Count>(&self.sql(), "SELECT COUNT(*) AS n FROM feed_out", vec![])?.map_or(0, |c| c.n);
        if staged > 0 {
            self.arm(feed::SEND_DELAY_MS).await?;
        }
        self.arm(if pending > 0 { SWEEP_EVERY_MS } else { HOUSEKEEPING_EVERY_MS }).await
    }

    async fn arm(&self, in_ms: i64) -> Result<()> {
        self.alarm.arm(&self.state, in_ms).await
    }

    // ------------------------------------------------------------------------ configuration

    /// Stores a configuration value (`meta[name]`) with the answer under its key, in one write,
    /// and answers it.
    fn put_recorded<T: Serialize>(
        &self,
        name: &'static str,
        value: &T,
        key: Option<&Idempotency>,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> Result<Answer> {
        let recorded = key.map(|key| (key.clone(), answer.clone()));
        store::put_meta_recorded(
            &self.state.storage(),
            self.sql(),
            name,
            serde_json::to_string(value)?,
            recorded,
            now,
        )?;
        Ok(answer)
    }

    fn put_shipping(&self, spec: ShippingSpec, key: Option<&Idempotency>, now: DateTime<Utc>) -> Result<Answer> {
        let rates = match ShippingRates::new(spec.currency, spec.rates) {
            Ok(rates) => rates,
            Err(error) => return Ok(engine(error)),
        };
        let nodes: Vec<Node> =
            spec.nodes.into_iter().map(|n| Node::new(n.location, n.cutoff_minute_utc, n.capacity_per_day)).collect();
        if let Err(error) = check_nodes(&nodes) {
            return Ok(engine(error));
        }
        let shipping = Shipping { rates, nodes };
        let answer = Answer::ok(200, &self.shipping_response(&shipping, now)?);
        self.put_recorded("shipping", &shipping, key, answer, now)
    }

    fn shipping_response(&self, shipping: &Shipping, now: DateTime<Utc>) -> Result<ShippingResponse> {
        Ok(ShippingResponse {
            currency: shipping.rates.currency().to_string(),
            rates: shipping.rates.rates().to_vec(),
            nodes: self.nodes_today(shipping, now)?,
        })
    }

    fn put_rules(&self, mut draft: RoutingRules, key: Option<&Idempotency>, now: DateTime<Utc>) -> Result<Answer> {
        if let Err(error) = draft.check() {
            return Ok(engine(error));
        }
        let mut rules: Rules = self.meta("routing_rules")?;
        draft.version = rules.active.version.max(rules.draft.as_ref().map_or(0, |d| d.version)) + 1;
        rules.draft = Some(draft);
        let answer =
            Answer::ok(200, &RoutingRulesResponse { active: rules.active.clone(), draft: rules.draft.clone() });
        self.put_recorded("routing_rules", &rules, key, answer, now)
    }

    fn activate(&self, version: u32, key: Option<&Idempotency>, now: DateTime<Utc>) -> Result<Answer> {
        let mut rules: Rules = self.meta("routing_rules")?;
        match rules.draft.take() {
            Some(draft) if draft.version == version => rules.active = draft,
            Some(draft) => {
                return Ok(Answer::error(ApiError::conflict(format!(
                    "the draft is version {}, not {version}: look again",
                    draft.version
                ))))
            }
            None => return Ok(Answer::error(ApiError::conflict("there is no draft to activate"))),
        }
        let answer = Answer::ok(200, &RoutingRulesResponse { active: rules.active.clone(), draft: None });
        self.put_recorded("routing_rules", &rules, key, answer, now)
    }

    fn evaluate(&self, orders: u32) -> Result<Answer> {
        let rules: Rules = self.meta("routing_rules")?;
        let Some(draft) = rules.draft else {
            return Ok(Answer::error(ApiError::conflict("there is no draft to evaluate: PUT /v1/routing-rules first")));
        };
        let shipping: Shipping = self.meta("shipping")?;
        let rows: Vec<BodyRow> = store::rows(
            &self.sql(),
            "SELECT body FROM cases ORDER BY seq DESC LIMIT ?",
            vec![i64::from(orders.min(EVALUATION_ORDERS_MAX as u32)).into()],
        )?;
        let mut cases = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            cases.push(serde_json::from_str::<EvaluationCase>(&row.body)?);
        }
        Ok(match evaluate(&cases, &shipping.rates, &rules.active, &draft) {
            Ok(evaluation) => Answer::ok(200, &EvaluationResponse { evaluation }),
            Err(error) => engine(error),
        })
    }

    /// A page of orders, newest first, placed before `before` (a `seq`): in `status`, and with
    /// `location` only those holding units there (SQLite looks into the stored holdings, so a
    /// page is whole however many other orders come between).
    fn list(
        &self,
        status: Option<OrderStatus>,
        location: Option<Id>,
        before: Option<i64>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Answer> {
        let limit = limit.clamp(1, PAGE_MAX);
        // No cursor: every seq (a bound of i64::MAX would not survive the trip through a JS number).
        let mut query = String::from("SELECT seq, body, holdings, promises FROM orders WHERE seq < ?");
        let mut bindings: Vec<worker::SqlStorageValue> = vec![before.unwrap_or(store::SEQ_END).into()];
        if let Some(status) = status {
            query.push_str(" AND status = ?");
            bindings.push(status.as_str().into());
        }
        if let Some(location) = &location {
            query.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(orders.holdings) AS h
                   WHERE json_extract(h.value, '$.location') = ? AND json_extract(h.value, '$.qty') > 0)",
            );
            bindings.push(location.as_str().into());
        }
        query.push_str(" ORDER BY seq DESC LIMIT ?");
        bindings.push((i64::from(limit) + 1).into());
        let rows: Vec<OrderRow> = store::rows(&self.sql(), &query, bindings)?;
        let more = rows.len() > limit as usize;
        let mut orders = Vec::with_capacity(rows.len().min(limit as usize));
        let mut last_seq = None;
        for row in rows.into_iter().take(limit as usize) {
            let stored = Stored::from_row(row)?;
            last_seq = Some(stored.seq);
            orders.push(self.view(stored, now)?);
        }
        let next_cursor = if more { last_seq.map(|seq| seq.to_string()) } else { None };
        Ok(Answer::ok(200, &OrdersResponse { orders, next_cursor }))
    }

    /// The alerts of the open exceptions that raise one (SLAs at risk), newest first.
    fn alerts(&self, limit: u32) -> Result<Answer> {
        let rows: Vec<BodyRow> = store::rows(
            &self.sql(),
            "SELECT body FROM exceptions WHERE status = ? LIMIT ?",
            vec![ExceptionStatus::Open.as_str().into(), (EXCEPTIONS_OPEN_MAX as i64).into()],
        )?;
        let mut alerts = Vec::new();
        for row in rows {
            alerts.extend(serde_json::from_str::<OrderException>(&row.body)?.alert());
        }
        let alerts = Alert::merged(vec![alerts], usize::try_from(limit).map_err(|e| e.to_string())?);
        Ok(Answer::ok(200, &AlertsResponse { alerts }))
    }

    fn exceptions(&self, team: Option<Team>, status: Option<ExceptionStatus>, limit: u32) -> Result<Answer> {
        let limit = i64::from(limit.min(PAGE_MAX));
        let mut query = String::from("SELECT body FROM exceptions WHERE 1 = 1");
        let mut bindings: Vec<worker::SqlStorageValue> = Vec::new();
        if let Some(team) = team {
            query.push_str(" AND team = ?");
            bindings.push(team.as_str().into());
        }
        if let Some(status) = status {
            query.push_str(" AND status = ?");
            bindings.push(status.as_str().into());
        }
        query.push_str(" ORDER BY due_ms, id LIMIT ?");
        bindings.push(limit.into());
        let rows: Vec<BodyRow> = store::rows(&self.sql(), &query, bindings)?;
        let mut all = Vec::with_capacity(rows.len());
        for row in rows {
            all.push(serde_json::from_str::<OrderException>(&row.body)?);
        }
        let exceptions: Vec<OrderException> = match team {
            Some(team) => queue(&all, team, status).into_iter().cloned().collect(),
            None => all,
        };
        Ok(Answer::ok(200, &ExceptionsResponse { exceptions }))
    }

    async fn handle(&self, envelope: Envelope<OrdersCommand>) -> Result<Answered> {
        let now = now()?;
        let key = envelope.idempotency.as_ref();
        let actor = &envelope.actor;
        let config_replay = match (&envelope.command, key) {
            (
                OrdersCommand::PutShipping { .. }
                | OrdersCommand::PutRules { .. }
                | OrdersCommand::ActivateRules { .. },
                Some(key),
            ) => store::recorded_answer(&self.sql(), key, now)?,
            _ => None,
        };
        if let Some(answer) = config_replay {
            return Ok(answer.into());
        }
        if envelope.command.writes() {
            // What a change records reaches the event feed from the alarm. Armed before the
            // change is stored, so that a crash right after the commit still sends it.
            self.arm(feed::SEND_DELAY_MS).await?;
        }
        let answer = match envelope.command {
            OrdersCommand::PutShipping { spec } => self.put_shipping(spec, key, now)?,
            OrdersCommand::GetShipping => Answer::ok(200, &self.shipping_response(&self.meta("shipping")?, now)?),
            OrdersCommand::PutRules { rules } => self.put_rules(rules, key, now)?,
            OrdersCommand::GetRules => {
                let rules: Rules = self.meta("routing_rules")?;
                Answer::ok(200, &RoutingRulesResponse { active: rules.active, draft: rules.draft })
            }
            OrdersCommand::EvaluateRules { orders } => self.evaluate(orders)?,
            OrdersCommand::ActivateRules { version } => self.activate(version, key, now)?,
            OrdersCommand::Place { spec } => self.place(actor, spec, key).await?,
            OrdersCommand::Get { id } => self.view_of(&id, now)?,
            OrdersCommand::List { status, location, before, limit } => {
                self.list(status, location, before, limit, now)?
            }
            OrdersCommand::Act { id, action, request } => self.act(actor, &id, action, request, key).await?,
            OrdersCommand::Exceptions { team, status, limit } => self.exceptions(team, status, limit)?,
            OrdersCommand::Alerts { limit } => self.alerts(limit)?,
            OrdersCommand::Resolve { id, request } => self.resolve(actor, &id, request, key).await?,
            OrdersCommand::Metrics { kind, window, by } => self.metrics(kind, window, by, now)?,
            // A read whose buckets pass on as SQLite wrote them (no alarm to move).
            OrdersCommand::MarginRows { window, by, skus } => return self.margin_rows(window, by, &skus, now),
            OrdersCommand::StockArrived => {
                // The sweep runs now rather than in the caller's time: a receipt is not held up
                // by the orders it fills.
                self.sweep_soon().await?;
                Answer::ok(202, &serde_json::json!({ "sweep": "scheduled" }))
            }
        };
        if let Err(error) = self.arm_next().await {
            worker::console_error!("orders: setting the alarm failed: {error}");
        }
        Ok(answer.into())
    }
}

impl DurableObject for Orders {
    fn new(state: State, env: Env) -> Self {
        if let Err(error) = metric_store::create(&state.storage().sql()) {
            worker::console_error!("orders: creating the metric buckets failed: {error}");
        }
        for schema in [store::SCHEMA, SCHEMA, feed::OUT_SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("orders: creating tables failed: {error}");
            }
        }
        Orders { state, env, busy: RefCell::new(HashMap::new()), alarm: Alarm::default(), sweep_at_ms: Cell::new(None) }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.fired();
        if let Err(error) = self.run_alarm().await {
            worker::console_error!("orders alarm failed, retrying: {error}");
            self.alarm.retry(&self.state, RETRY_MS).await?;
        }
        Response::ok("ok")
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "orders", |envelope| async move { self.handle(envelope).await }).await
    }
}
