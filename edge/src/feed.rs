//! The event feed: one Durable Object keeps the log every producer hands its events to, and the
//! producers' side of it (what they stage in their own transactions and send from their alarms).
//!
//! The log numbers events by SQLite `AUTOINCREMENT` in the order it appends them, one writer, so a
//! cursor is that number and a page (`seq > cursor`) never skips or repeats an event, also while
//! producers append. The engine (`stockline_engine::feed`) says what an event is and whether an
//! event is the next of its stream, a repeat, or leaves a gap.

use crate::busy::Alarm;
use crate::http::{call_for, now, serve, Answer, Answered, Envelope};
use crate::protocol::feed::{BINDING, NAME};
use crate::protocol::FeedCommand;
use crate::store;
use chrono::{DateTime, Utc};
use futures_util::future::{select, Either};
use serde::Deserialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use stockline_engine::feed::{
    check_append, family_of, Append, FeedEvent, FeedHead, Stream, FEED_BATCH_MAX, FEED_RETENTION_DAYS,
};
use stockline_engine::webhooks::{
    signature, Attempt, Next, Webhook, WebhookSpec, WebhookStatus, DELIVERY_TIMEOUT_MS, SIGNATURE_HEADER, WEBHOOKS_MAX,
};
use stockline_engine::Id;
use stockline_shared::{ApiError, FeedItem};
use stockline_shared::{DeliveriesPage, DeliveryAttempt};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};
use worker::{js_sys, Delay, Fetch, Method, RequestInit};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
         stream TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, family TEXT NOT NULL,
         at_ms INTEGER NOT NULL, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS streams (stream TEXT PRIMARY KEY, version INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL,
         body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON deliveries (webhook, seq);";

/// Attempts one alarm makes at most (over all webhooks), and the attempts a webhook's log keeps.
const ATTEMPTS_PER_ALARM_MAX: u32 = 64;
const DELIVERIES_KEPT_MAX: i64 = 1_000;

/// Rows one page looks at, whatever the filter: a page of rare types over a long feed answers
/// what it found so far and a cursor to go on from, in bounded time.
const SCAN_ROWS_MAX: i64 = 20_000;
/// Rows one prune looks at (the next alarm goes on).
const PRUNE_ROWS_MAX: i64 = 10_000;
/// How often the log forgets events past their retention.
const HOUSEKEEPING_EVERY_MS: i64 = 60 * 60 * 1000;
/// A producer tries a failed send again this long after it; it first sends `SEND_DELAY_MS` after
/// the change (a SKU object: its own `send_delay_ms`, spread over the next second).
pub const SEND_RETRY_MS: i64 = 5_000;
pub use stockline_engine::feed::{send_delay_ms, SEND_DELAY_MS};

fn stub(env: &Env) -> Result<worker::Stub> {
    env.durable_object(BINDING)?.get_by_name(NAME)
}

#[durable_object]
pub struct Feed {
    state: State,
    #[allow(dead_code)]
    env: Env,
    alarm: Alarm,
    /// When this instance last pruned (ms since the epoch).
    pruned_at_ms: Cell<Option<i64>>,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

/// A webhook as the API shows it: never its secret.
fn shown(mut hook: Webhook) -> Webhook {
    hook.secret = String::new();
    hook
}

fn outcome_of(next: &Next) -> String {
    match next {
        Next::Advance => "delivered",
        Next::RetryAt(_) => "failed",
        Next::GaveUp => "gave_up",
        Next::Paused => "paused",
    }
    .to_string()
}

#[derive(Deserialize)]
struct Last {
    version: i64,
}

impl Feed {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn last_version(sql: &SqlStorage, stream: &str) -> Result<u64> {
        let last: Option<Last> =
            store::first(sql, "SELECT version FROM streams WHERE stream = ?", vec![stream.into()])?;
        Ok(last.map_or(0, |row| row.version.max(0) as u64))
    }

    /// Appends a producer's events, each only when it is the next of its stream, in one
    /// transaction. Answers the version the log holds of each stream named: the producer forgets
    /// what is at or below it, and sends again from it after a gap.
    fn append(&self, events: Vec<String>) -> Result<Answer> {
        if events.len() > FEED_BATCH_MAX {
            return Ok(Answer::error(ApiError::invalid("events", format!("at most {FEED_BATCH_MAX}"))));
        }
        let mut rows = Vec::with_capacity(events.len());
        for body in events {
            let head: FeedHead = serde_json::from_str(&body)?;
            rows.push((head, body));
        }
        let sql = self.sql();
        let held = store::transaction(&self.state.storage(), move || {
            // The last version of each stream named, as it goes; written once per stream.
            let mut held: BTreeMap<String, (u64, bool)> = BTreeMap::new();
            for (head, body) in rows {
                let stream = head.stream.to_string();
                let last = match held.get(&stream) {
                    Some((last, _)) => *last,
                    None => Feed::last_version(&sql, &stream)?,
                };
                match check_append(last, head.prev_version, head.version) {
                    Append::Next => {
                        store::exec(
                            &sql,
                            "INSERT INTO events (stream, version, type, family, at_ms, body) VALUES (?, ?, ?, ?, ?, ?)",
                            vec![
                                stream.as_str().into(),
                                (head.version as i64).into(),
                                head.kind.as_str().into(),
                                family_of(&head.kind).into(),
                                head.at.timestamp_millis().into(),
                                body.into(),
                            ],
                        )?;
                        held.insert(stream, (head.version, true));
                    }
                    Append::Repeat => {
                        held.entry(stream).or_insert((last, false));
                    }
                    Append::Gap { last } => {
                        worker::console_error!(
                            "feed: {} version {} follows {} but the log holds {last}: refused, the producer sends again",
                            head.stream,
                            head.version,
                            head.prev_version
                        );
                        held.entry(stream).or_insert((last, false));
                    }
                }
            }
            let mut answer = BTreeMap::new();
            for (stream, (version, appended)) in held {
                if appended {
                    store::exec(
                        &sql,
                        "INSERT INTO streams (stream, version) VALUES (?, ?)
                         ON CONFLICT(stream) DO UPDATE SET version = excluded.version",
                        vec![stream.as_str().into(), (version as i64).into()],
                    )?;
                }
                answer.insert(stream, version);
            }
            Ok(answer)
        })?;
        Ok(Answer::ok(200, &held))
    }

    /// A page of events after `after`, of the given types or families (all when none).
    fn read(&self, after: u64, types: &[String], limit: u32) -> Result<Answered> {
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            body: String,
        }
        #[derive(Deserialize)]
        struct Bounds {
            newest: Option<i64>,
            pruned: Option<String>,
        }
        let sql = self.sql();
        let bounds: Bounds = store::first(
            &sql,
            "SELECT (SELECT MAX(seq) FROM events) AS newest, (SELECT value FROM meta WHERE key = 'pruned_through') AS pruned",
            vec![],
        )?
        .ok_or("no bounds row")?;
        let pruned: i64 = bounds
            .pruned
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| format!("pruned_through: {e}"))?
            .unwrap_or(0);
        let after = after.min(i64::MAX as u64) as i64;
        if after < pruned {
            let mut error = ApiError::conflict(format!(
                "cursor {after} is older than the feed keeps ({FEED_RETENTION_DAYS} days); read on from {pruned}"
            ));
            error.body.error.details =
                serde_json::json!({ "reason": "cursor_expired", "oldest_cursor": pruned.to_string() });
            return Ok(Answer::error(error).into());
        }
        let newest = bounds.newest.unwrap_or(pruned);
        let window_end = after.saturating_add(SCAN_ROWS_MAX);
        let mut query = String::from("SELECT seq, body FROM events WHERE seq > ? AND seq <= ?");
        let mut bindings: Vec<worker::SqlStorageValue> = vec![after.into(), window_end.into()];
        if !types.is_empty() {
            let marks = vec!["?"; types.len()].join(", ");
            query.push_str(&format!(" AND (type IN ({marks}) OR family IN ({marks}))"));
            for _ in 0..2 {
                bindings.extend(types.iter().map(|name| name.as_str().into()));
            }
        }
        query.push_str(" ORDER BY seq LIMIT ?");
        bindings.push(i64::from(limit).into());
        let rows: Vec<Row> = store::rows(&sql, &query, bindings)?;
        let full = rows.len() as u32 == limit;
        // The page's JSON is written here from the stored events (each a JSON object the log
        // encoded itself): each gets its cursor in front of its first field, none is decoded.
        let mut json = String::with_capacity(rows.iter().map(|row| row.body.len() + 24).sum::<usize>() + 64);
        json.push_str("{\"events\":[");
        for (at, row) in rows.iter().enumerate() {
            let fields = row.body.strip_prefix('{').ok_or("a stored event is not a JSON object")?;
            if at > 0 {
                json.push(',');
            }
            json.push_str(&format!("{{\"cursor\":\"{}\",{fields}", row.seq));
        }
        // Read on from the last event answered when the page is full; otherwise everything up to
        // the end of the window (or the newest event) was looked at.
        let next = match (full, rows.last()) {
            (true, Some(last)) => last.seq,
            _ => window_end.min(newest).max(after),
        };
        json.push_str(&format!("],\"next_cursor\":\"{next}\",\"has_more\":{}}}", next < newest));
        Ok(Answered::Encoded { status: 200, json })
    }

    /// Forgets events past the retention, oldest first (events are appended in time order, so
    /// the oldest are at the lowest cursors), remembering how far it went (older cursors are
    /// refused). Bounded work per call: at most `PRUNE_ROWS_MAX` rows looked at.
    fn prune(&self, now: DateTime<Utc>) -> Result<()> {
        #[derive(Deserialize)]
        struct Old {
            seq: i64,
            at_ms: i64,
        }
        let cutoff_ms = now.timestamp_millis() - FEED_RETENTION_DAYS * 24 * 3600 * 1000;
        let sql = self.sql();
        let oldest: Vec<Old> =
            store::rows(&sql, "SELECT seq, at_ms FROM events ORDER BY seq LIMIT ?", vec![PRUNE_ROWS_MAX.into()])?;
        let Some(through) = oldest.iter().take_while(|row| row.at_ms < cutoff_ms).map(|row| row.seq).last() else {
            return Ok(());
        };
        store::transaction(&self.state.storage(), move || {
            store::exec(&sql, "DELETE FROM events WHERE seq <= ?", vec![through.into()])?;
            store::exec(
                &sql,
                "INSERT INTO meta (key, value) VALUES ('pruned_through', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                vec![through.to_string().into()],
            )
        })
    }

    async fn handle(&self, envelope: Envelope<FeedCommand>) -> Result<Answered> {
        let now = now()?;
        let (answer, deliver) = match envelope.command {
            FeedCommand::Append { events } => (self.append(events)?.into(), true),
            FeedCommand::Read { after, types, limit } => (self.read(after, &types, limit)?, false),
            FeedCommand::PutWebhook { id, spec } => (self.put_webhook(id, spec, now)?.into(), true),
            FeedCommand::GetWebhook { id } => match self.webhook(id.as_str())? {
                Some(hook) => (Answer::ok(200, &shown(hook)).into(), false),
                None => (Answer::error(ApiError::not_found("webhook")).into(), false),
            },
            FeedCommand::Deliveries { id, limit } => (self.deliveries(&id, limit)?.into(), false),
        };
        // New events (or a webhook set active) go to the receivers from the alarm, at once.
        if deliver && self.has_active_webhook()? {
            self.alarm.arm(&self.state, 0).await?;
        }
        self.alarm.arm(&self.state, HOUSEKEEPING_EVERY_MS).await?;
        Ok(answer)
    }

    // -------------------------------------------------------------------------- webhooks

    fn webhooks(&self) -> Result<Vec<Webhook>> {
        let rows: Vec<BodyRow> = store::rows(&self.sql(), "SELECT body FROM webhooks ORDER BY id", vec![])?;
        rows.iter().map(|row| serde_json::from_str(&row.body).map_err(worker::Error::from)).collect()
    }

    fn webhook(&self, id: &str) -> Result<Option<Webhook>> {
        let row: Option<BodyRow> =
            store::first(&self.sql(), "SELECT body FROM webhooks WHERE id = ?", vec![id.into()])?;
        row.map(|row| serde_json::from_str(&row.body).map_err(worker::Error::from)).transpose()
    }

    fn has_active_webhook(&self) -> Result<bool> {
        Ok(self.webhooks()?.iter().any(|hook| hook.status == WebhookStatus::Active))
    }

    fn save_webhook(sql: &SqlStorage, hook: &Webhook) -> Result<()> {
        store::exec(
            sql,
            "INSERT INTO webhooks (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            vec![hook.id.as_str().into(), serde_json::to_string(hook)?.into()],
        )
    }

    /// Creates or changes a webhook; a new one starts after the newest event there is now.
    fn put_webhook(&self, id: Id, spec: WebhookSpec, now: DateTime<Utc>) -> Result<Answer> {
        #[derive(Deserialize)]
        struct Newest {
            seq: Option<i64>,
        }
        let existing = self.webhook(id.as_str())?;
        if existing.is_none() && self.webhooks()?.len() >= WEBHOOKS_MAX {
            return Ok(Answer::error(ApiError::conflict(format!("at most {WEBHOOKS_MAX} webhooks"))));
        }
        let created = existing.is_none();
        let newest: Option<Newest> = store::first(&self.sql(), "SELECT MAX(seq) AS seq FROM events", vec![])?;
        let cursor = newest.and_then(|n| n.seq).unwrap_or(0).max(0) as u64;
        let hook = match Webhook::put(existing, id.to_string(), spec, cursor, now) {
            Ok(hook) => hook,
            Err(error) => return Ok(Answer::error(error.into())),
        };
        Feed::save_webhook(&self.sql(), &hook)?;
        Ok(Answer::ok(if created { 201 } else { 200 }, &shown(hook)))
    }

    /// A webhook's attempts, newest first.
    fn deliveries(&self, id: &Id, limit: u32) -> Result<Answer> {
        if self.webhook(id.as_str())?.is_none() {
            return Ok(Answer::error(ApiError::not_found("webhook")));
        }
        let rows: Vec<BodyRow> = store::rows(
            &self.sql(),
            "SELECT body FROM deliveries WHERE webhook = ? ORDER BY seq DESC LIMIT ?",
            vec![id.as_str().into(), i64::from(limit).into()],
        )?;
        let mut attempts = Vec::with_capacity(rows.len());
        for row in rows {
            attempts.push(serde_json::from_str::<DeliveryAttempt>(&row.body)?);
        }
        Ok(Answer::ok(200, &DeliveriesPage { deliveries: attempts }))
    }

    /// The next event after `hook`'s cursor that it wants, looking at most `SCAN_ROWS_MAX` rows;
    /// when none of those is wanted, the cursor moves past them (nothing there is for it).
    fn head(&self, hook: &mut Webhook) -> Result<Option<(u64, FeedEvent)>> {
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            #[serde(rename = "type")]
            kind: String,
            body: String,
        }
        let rows: Vec<Row> = store::rows(
            &self.sql(),
            "SELECT seq, type, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![(hook.cursor as i64).into(), SCAN_ROWS_MAX.min(1_000).into()],
        )?;
        for row in &rows {
            if hook.wants(&row.kind) {
                return Ok(Some((row.seq as u64, serde_json::from_str(&row.body)?)));
            }
        }
        if let Some(last) = rows.last() {
            hook.cursor = last.seq as u64;
            Feed::save_webhook(&self.sql(), hook)?;
        }
        Ok(None)
    }

    /// Delivers what is due, one event at a time per webhook, in feed order. Answers when the
    /// alarm should come back (ms from now), if anything is left.
    async fn deliver(&self) -> Result<Option<i64>> {
        let mut budget = ATTEMPTS_PER_ALARM_MAX;
        let mut next_ms: Option<i64> = None;
        for mut hook in self.webhooks()? {
            loop {
                let now = now()?;
                if hook.status != WebhookStatus::Active {
                    break;
                }
                if !hook.due(now) {
                    let wait = hook.next_try_at.map_or(0, |at| (at - now).num_milliseconds().max(0));
                    next_ms = Some(next_ms.map_or(wait, |n| n.min(wait)));
                    break;
                }
                if budget == 0 {
                    next_ms = Some(0);
                    break;
                }
                let Some((seq, event)) = self.head(&mut hook)? else {
                    // Nothing wanted in the rows looked at: look on at once if there may be more.
                    if self.newest_seq()? > hook.cursor {
                        next_ms = Some(0);
                    }
                    break;
                };
                budget -= 1;
                let (attempt, record) = self.send(&hook, seq, event).await?;
                // A request may have changed the webhook meanwhile: apply the outcome to the stored one.
                let Some(mut fresh) = self.webhook(&hook.id)? else {
                    break;
                };
                if fresh.status != WebhookStatus::Active || fresh.cursor != hook.cursor {
                    hook = fresh;
                    continue;
                }
                let next = fresh.attempted(seq, attempt, crate::http::now()?);
                let record = DeliveryAttempt { outcome: outcome_of(&next), ..record };
                let sql = self.sql();
                let saved = fresh.clone();
                store::transaction(&self.state.storage(), move || {
                    Feed::save_webhook(&sql, &saved)?;
                    store::exec(
                        &sql,
                        "INSERT INTO deliveries (webhook, body) VALUES (?, ?)",
                        vec![saved.id.as_str().into(), serde_json::to_string(&record)?.into()],
                    )?;
                    store::exec(
                        &sql,
                        "DELETE FROM deliveries WHERE webhook = ? AND seq <= (SELECT seq FROM deliveries
                         WHERE webhook = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                        vec![saved.id.as_str().into(), saved.id.as_str().into(), DELIVERIES_KEPT_MAX.into()],
                    )
                })?;
                hook = fresh;
            }
        }
        Ok(next_ms)
    }

    fn newest_seq(&self) -> Result<u64> {
        #[derive(Deserialize)]
        struct Newest {
            seq: Option<i64>,
        }
        let newest: Option<Newest> = store::first(&self.sql(), "SELECT MAX(seq) AS seq FROM events", vec![])?;
        Ok(newest.and_then(|n| n.seq).unwrap_or(0).max(0) as u64)
    }

    /// One attempt: POST the event, signed, to the webhook's URL (the only place this object
    /// sends anything), within `DELIVERY_TIMEOUT_MS`.
    async fn send(&self, hook: &Webhook, seq: u64, event: FeedEvent) -> Result<(Attempt, DeliveryAttempt)> {
        let started = js_sys::Date::now();
        let event_id = event.id.clone();
        let attempt_no = hook.failures_in_row + 1;
        let result = self.post(hook, seq, event, attempt_no).await;
        let duration_ms = (js_sys::Date::now() - started).max(0.0) as u64;
        let at = crate::http::now()?;
        let (attempt, http_status, error) = match result {
            Ok(status) if (200..300).contains(&status) => (Attempt::Delivered, Some(status), None),
            Ok(status) => (Attempt::Failed { why: format!("the receiver answered {status}") }, Some(status), None),
            Err(error) => {
                let why = format!("no answer: {error}");
                (Attempt::Failed { why: why.clone() }, None, Some(why))
            }
        };
        let record = DeliveryAttempt {
            event_id,
            cursor: seq.to_string(),
            attempt: attempt_no,
            at,
            http_status,
            error,
            duration_ms,
            outcome: String::new(),
        };
        Ok((attempt, record))
    }

    async fn post(&self, hook: &Webhook, seq: u64, event: FeedEvent, attempt_no: u32) -> Result<u16> {
        let event_id = event.id.clone();
        let body = serde_json::to_string(&FeedItem { cursor: seq.to_string(), event })?;
        let timestamp = now()?.timestamp();
        let headers = worker::Headers::new();
        headers.set("content-type", "application/json")?;
        headers.set(SIGNATURE_HEADER, &signature(&hook.secret, timestamp, body.as_bytes()))?;
        headers.set("Stockline-Event-Id", &event_id)?;
        headers.set("Stockline-Webhook-Id", &hook.id)?;
        headers.set("Stockline-Delivery-Attempt", &attempt_no.to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
        let request = Request::new_with_init(&hook.url, &init)?;
        let sent = Box::pin(async move { Fetch::Request(request).send().await.map(|r| r.status_code()) });
        let timeout = Box::pin(Delay::from(std::time::Duration::from_millis(DELIVERY_TIMEOUT_MS)));
        match select(sent, timeout).await {
            Either::Left((status, _)) => status,
            Either::Right(_) => Err(worker::Error::RustError(format!("no answer within {DELIVERY_TIMEOUT_MS} ms"))),
        }
    }
}

impl DurableObject for Feed {
    fn new(state: State, env: Env) -> Self {
        for schema in [store::SCHEMA, SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("feed: creating tables failed: {error}");
            }
        }
        Feed { state, env, alarm: Alarm::default(), pruned_at_ms: Cell::new(None) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "feed", |envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm.fired();
        let now = now()?;
        if self.pruned_at_ms.get().is_none_or(|at| now.timestamp_millis() - at >= HOUSEKEEPING_EVERY_MS) {
            self.prune(now)?;
            self.pruned_at_ms.set(Some(now.timestamp_millis()));
        }
        match self.deliver().await {
            Ok(Some(in_ms)) => self.alarm.arm(&self.state, in_ms).await?,
            Ok(None) => {}
            Err(error) => {
                worker::console_error!("feed: delivering to webhooks failed (tried again later): {error}");
                self.alarm.arm(&self.state, SEND_RETRY_MS).await?;
            }
        }
        self.alarm.arm(&self.state, HOUSEKEEPING_EVERY_MS).await?;
        Response::ok("ok")
    }
}

// ------------------------------------------------------------------ the producers' side

/// Tables an object that stages events keeps: what is staged and not yet in the log, and the
/// last version staged of each of its streams.
pub const OUT_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS feed_out (seq INTEGER PRIMARY KEY AUTOINCREMENT,
         stream TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS feed_out_by_stream ON feed_out (stream, version);
     CREATE TABLE IF NOT EXISTS feed_streams (stream TEXT PRIMARY KEY, version INTEGER NOT NULL);";

/// Stages the events of `stream` newer than the last staged, inside the caller's transaction:
/// `versions` are the versions the document now has events for (oldest first), `event_of` makes
/// the event of one version given the one before it. Answers whether anything was staged.
pub fn stage<T>(
    sql: &SqlStorage,
    stream: &Stream,
    items: &[T],
    version_of: impl Fn(&T) -> u64,
    event_of: impl Fn(&T, u64) -> FeedEvent,
) -> Result<bool> {
    let key = stream.to_string();
    let last: Option<Last> =
        store::first(sql, "SELECT version FROM feed_streams WHERE stream = ?", vec![key.as_str().into()])?;
    let mut prev = last.map_or(0, |row| row.version.max(0) as u64);
    let first = prev;
    for item in items.iter().filter(|item| version_of(item) > first) {
        let event = event_of(item, prev);
        debug_assert_eq!(event.stream, *stream);
        store::exec(
            sql,
            "INSERT INTO feed_out (stream, version, body) VALUES (?, ?, ?)",
            vec![key.as_str().into(), (event.version as i64).into(), serde_json::to_string(&event)?.into()],
        )?;
        prev = event.version;
    }
    if prev > first {
        store::exec(
            sql,
            "INSERT INTO feed_streams (stream, version) VALUES (?, ?)
             ON CONFLICT(stream) DO UPDATE SET version = excluded.version",
            vec![key.as_str().into(), (prev as i64).into()],
        )?;
    }
    Ok(prev > first)
}

/// Hands events (each its JSON text) to the log; answers the version it holds of each stream named.
pub async fn append(env: &Env, events: Vec<String>) -> Result<BTreeMap<String, u64>> {
    call_for(&stub(env)?, "/feed", &Envelope::system(FeedCommand::Append { events })).await
}

/// Sends what this object staged, oldest first, one batch; forgets what the log holds. Answers
/// whether more is staged.
pub async fn send_staged(env: &Env, storage: &worker::Storage) -> Result<bool> {
    #[derive(Deserialize)]
    struct Row {
        body: String,
    }
    let sql = storage.sql();
    let rows: Vec<Row> =
        store::rows(&sql, "SELECT body FROM feed_out ORDER BY seq LIMIT ?", vec![(FEED_BATCH_MAX as i64).into()])?;
    if rows.is_empty() {
        return Ok(false);
    }
    let held = append(env, rows.into_iter().map(|row| row.body).collect()).await?;
    store::transaction(storage, move || {
        for (stream, version) in held {
            store::exec(
                &sql,
                "DELETE FROM feed_out WHERE stream = ? AND version <= ?",
                vec![stream.into(), (version as i64).into()],
            )?;
        }
        Ok(())
    })?;
    #[derive(Deserialize)]
    struct One {
        #[allow(dead_code)]
        one: i64,
    }
    Ok(store::first::<One>(&storage.sql(), "SELECT 1 AS one FROM feed_out LIMIT 1", vec![])?.is_some())
}
