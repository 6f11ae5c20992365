//! Purchasing: one Durable Object holding the purchase orders and the approval rules.
//!
//! A thin adapter like the others: every change is an engine method on a `PurchaseOrder` (which
//! checks the version the caller saw and the rules), stored with its idempotency record in one
//! storage transaction, with no `await` between the key check and the commit. What a decision
//! needs from elsewhere (the supplier's standing, the locations) is read from the Directory first.

use crate::http::{call_for, directory_stub, now, serve, Answer, Envelope};
use crate::protocol::directory;
use crate::protocol::purchasing::ORDERS_PAGE_MAX;
use crate::protocol::{DirectoryCommand, PurchasingCommand};
use crate::store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockline_engine::planning::PlanSummary;
use stockline_engine::procurement::{
    draft_from_suggestions, ApprovalRules, Approver, Decision, PoAction, PoStatus, PurchaseOrder,
};
use stockline_engine::{Catalog, EngineError, Id};
use stockline_shared::{
    ApiError, DraftFromSuggestions, InboxItem, InboxResponse, PurchaseOrdersResponse, ReplenishmentResponse,
};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS purchase_orders (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
         status TEXT NOT NULL, supplier TEXT NOT NULL, body TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS purchase_orders_by_status ON purchase_orders (status, seq);
     CREATE INDEX IF NOT EXISTS purchase_orders_by_supplier ON purchase_orders (supplier, seq);";

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

#[durable_object]
pub struct Purchasing {
    state: State,
    env: Env,
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

    /// Stores an order (new or changed) and the answer under its key, in one transaction.
    fn save(
        &self,
        seq: i64,
        order: &PurchaseOrder,
        envelope: &Envelope<PurchasingCommand>,
        answer: &Answer,
    ) -> Result<()> {
        let now = now()?;
        let sql = self.sql();
        let body = serde_json::to_string(order)?;
        let (id, status, supplier) = (order.id.to_string(), order.status.as_str(), order.supplier.to_string());
        let recorded = envelope.idempotency.clone().map(|key| (key, answer.clone()));
        store::transaction(&self.state.storage(), move || {
            store::exec(
                &sql,
                "INSERT INTO purchase_orders (id, seq, status, supplier, body) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
                vec![id.into(), seq.into(), status.into(), supplier.into(), body.into()],
            )?;
            if let Some((key, answer)) = recorded {
                store::record_answer(&sql, &key, &answer, now)?;
            }
            Ok(())
        })
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

    async fn handle(&self, envelope: Envelope<PurchasingCommand>) -> Result<Answer> {
        // What a decision needs from the Directory is read before anything is decided.
        let catalog = match &envelope.command {
            PurchasingCommand::Create { .. }
            | PurchasingCommand::FromSuggestions { .. }
            | PurchasingCommand::Decide { action: PoAction::Submit, .. } => Some(self.catalog().await?),
            _ => None,
        };
        let suggestions = match &envelope.command {
            PurchasingCommand::FromSuggestions { request } => Some(self.suggestions(&request.supplier).await?),
            _ => None,
        };
        let now = now()?;
        match &envelope.command {
            PurchasingCommand::PutRules { rules } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer);
                }
                if let Err(error) = rules.check() {
                    return Ok(engine(error));
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
                    return Ok(answer);
                }
                let catalog = catalog.expect("read above");
                let seq = self.next_seq()?;
                let id = Id::new(format!("PO-{seq:06}")).map_err(|e| e.to_string())?;
                let order = match PurchaseOrder::create(id, spec, &catalog, &envelope.actor, now) {
                    Ok(order) => order,
                    Err(error) => return Ok(engine(error)),
                };
                let answer = Answer::ok(201, &order);
                self.save(seq, &order, &envelope, &answer)?;
                Ok(answer)
            }
            PurchasingCommand::FromSuggestions { request } => {
                if let Some(answer) = self.replay(&envelope, now)? {
                    return Ok(answer);
                }
                let catalog = catalog.expect("read above");
                let Some(supplier) = catalog.supplier(request.supplier.as_str()) else {
                    return Ok(engine(EngineError::not_found("supplier", request.supplier.as_str())));
                };
                let suggestions = suggestions.expect("read above");
                let (spec, skipped) = match draft_from_suggestions(request, supplier, &suggestions, now.date_naive()) {
                    Ok(drafted) => drafted,
                    Err(error) => return Ok(engine(error)),
                };
                let seq = self.next_seq()?;
                let id = Id::new(format!("PO-{seq:06}")).map_err(|e| e.to_string())?;
                let order = match PurchaseOrder::create(id, &spec, &catalog, &envelope.actor, now) {
                    Ok(order) => order,
                    Err(error) => return Ok(engine(error)),
                };
                let answer = Answer::ok(201, &DraftFromSuggestions { order: order.clone(), skipped });
                self.save(seq, &order, &envelope, &answer)?;
                Ok(answer)
            }
            PurchasingCommand::Get { id } => Ok(match self.order(id)? {
                Some((_, order)) => Answer::ok(200, &order),
                None => engine(EngineError::not_found("purchase_order", id.as_str())),
            }),
            PurchasingCommand::List { status, supplier, after, limit } => {
                if let Some(after) = after {
                    if self.order(after)?.is_none() {
                        let error = ApiError::invalid("cursor", "must be a next_cursor this endpoint gave");
                        return Ok(Answer::error(error));
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
                    return Ok(answer);
                }
                let Some((seq, mut order)) = self.order(id)? else {
                    return Ok(engine(EngineError::not_found("purchase_order", id.as_str())));
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
                let decided = match action {
                    PoAction::Submit => {
                        let stored = self.rules()?;
                        let rules = stored.as_ref().map(|stored| (&stored.rules, stored.version));
                        let catalog = catalog.expect("read above");
                        // SKUs cannot be marked critical yet (a SKU attribute still to come): the
                        // engine's stricter path for them is tested there, not reachable here.
                        order.submit(&decision, rules, &catalog, &[])
                    }
                    PoAction::Approve => order.approve(&decision, &approver),
                    PoAction::Reject => order.reject(&decision, &approver),
                    PoAction::Send => order.send(&decision),
                    PoAction::Cancel => order.cancel(&decision).map(|_| ()),
                    PoAction::Close => order.close(&decision),
                    PoAction::Create | PoAction::Receive => {
                        return Ok(engine(EngineError::invalid("action", "not a decision on an order")))
                    }
                };
                if let Err(error) = decided {
                    return Ok(engine(error));
                }
                let answer = Answer::ok(200, &order);
                self.save(seq, &order, &envelope, &answer)?;
                Ok(answer)
            }
        }
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
            None => i64::MAX,
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
        for schema in [store::SCHEMA, SCHEMA] {
            if let Err(error) = state.storage().sql().exec(schema, None) {
                worker::console_error!("purchasing: creating tables failed: {error}");
            }
        }
        Purchasing { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        serve(req, "purchasing", |envelope| async move { self.handle(envelope).await }).await
    }
}
