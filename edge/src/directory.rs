//! The Directory: one Durable Object holding master data (locations, channels) as an engine
//! `Catalog`. Every SKU object keeps a copy; the Directory pushes each change to all of them before
//! it answers, so a read after a master-data write sees it on every SKU.

use crate::http::{call, serve, Answer, Envelope};
use crate::store;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use stockline_engine::{Catalog, ChannelSpec, Id, LocationSpec};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

pub const BINDING: &str = "DIRECTORY";
pub const NAME: &str = "global";
/// SKU objects pushed to at once when master data changes.
const PUSH_PARALLEL_MAX: usize = 32;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DirectoryCommand {
    PutLocation {
        id: Id,
        spec: LocationSpec,
    },
    PutChannel {
        id: Id,
        spec: ChannelSpec,
    },
    /// A SKU object asks for the catalog and subscribes to changes.
    Subscribe {
        sku: Id,
    },
    List,
}

#[durable_object]
pub struct Directory {
    state: State,
    env: Env,
    catalog: RefCell<Option<Catalog>>,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

#[derive(Deserialize)]
struct SkuRow {
    sku: String,
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

    fn save(&self, catalog: Catalog) -> Result<()> {
        let text = serde_json::to_string(&catalog)?;
        store::exec(
            &self.sql(),
            "INSERT INTO meta (key, value) VALUES ('catalog', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![text.into()],
        )?;
        *self.catalog.borrow_mut() = Some(catalog);
        Ok(())
    }

    /// Sends the new catalog to every subscribed SKU object; they keep the highest version.
    async fn push(&self, catalog: &Catalog) -> Result<()> {
        let subscribers: Vec<SkuRow> = store::rows(&self.sql(), "SELECT sku FROM subscribers", vec![])?;
        let namespace = self.env.durable_object(crate::sku_object::BINDING)?;
        for chunk in subscribers.chunks(PUSH_PARALLEL_MAX) {
            let mut calls = Vec::with_capacity(chunk.len());
            for row in chunk {
                let stub = namespace.get_by_name(&row.sku)?;
                calls.push(async move {
                    let envelope = Envelope {
                        actor: stockline_engine::Actor::system(),
                        idempotency: None,
                        command: crate::sku_object::SkuCommand::Catalog { catalog: catalog.clone() },
                    };
                    call(&stub, "/sku", &envelope).await
                });
            }
            for result in join_all(calls).await {
                result?;
            }
        }
        Ok(())
    }

    /// A failed push is not a failed write: the SKU object refreshes its copy when it meets an
    /// unknown location or channel, or when its copy is older than `CATALOG_FRESH_MS`.
    async fn push_or_log(&self, catalog: &Catalog) {
        if let Err(error) = self.push(catalog).await {
            worker::console_error!("directory: pushing catalog v{} failed: {error}", catalog.version());
        }
    }

    /// Master-data writes honour Idempotency-Key like every other write.
    async fn handle(&self, envelope: Envelope<DirectoryCommand>) -> Result<Answer> {
        let now = crate::http::now();
        if let Some(idempotency) = &envelope.idempotency {
            if let Some(answer) = store::recorded_answer(&self.sql(), idempotency, now)? {
                return Ok(answer);
            }
        }
        let answer = self.decide(&envelope).await?;
        if let Some(idempotency) = &envelope.idempotency {
            store::record_answer(&self.sql(), idempotency, &answer, now)?;
        }
        Ok(answer)
    }

    async fn decide(&self, envelope: &Envelope<DirectoryCommand>) -> Result<Answer> {
        let mut catalog = self.catalog()?;
        match &envelope.command {
            DirectoryCommand::PutLocation { id, spec } => match catalog.put_location(id.clone(), spec.clone()) {
                Ok(location) => {
                    self.save(catalog.clone())?;
                    self.push_or_log(&catalog).await;
                    Ok(Answer::ok(200, &location))
                }
                Err(error) => Ok(Answer::error(error.into())),
            },
            DirectoryCommand::PutChannel { id, spec } => match catalog.put_channel(id.clone(), spec.clone()) {
                Ok(channel) => {
                    self.save(catalog.clone())?;
                    self.push_or_log(&catalog).await;
                    Ok(Answer::ok(200, &channel))
                }
                Err(error) => Ok(Answer::error(error.into())),
            },
            DirectoryCommand::Subscribe { sku } => {
                store::exec(
                    &self.sql(),
                    "INSERT INTO subscribers (sku) VALUES (?) ON CONFLICT(sku) DO NOTHING",
                    vec![sku.as_str().into()],
                )?;
                Ok(Answer::ok(200, &catalog))
            }
            DirectoryCommand::List => Ok(Answer::ok(
                200,
                &serde_json::json!({
                    "version": catalog.version(),
                    "locations": catalog.locations(),
                    "channels": catalog.channels().collect::<Vec<_>>(),
                }),
            )),
        }
    }
}

impl DurableObject for Directory {
    fn new(state: State, env: Env) -> Self {
        let _ = state.storage().sql().exec(store::SCHEMA, None);
        let _ = state.storage().sql().exec("CREATE TABLE IF NOT EXISTS subscribers (sku TEXT PRIMARY KEY)", None);
        Directory { state, env, catalog: RefCell::new(None) }
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
}
