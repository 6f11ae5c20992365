//! The edge: a thin adapter. Decode and authorise in the Worker, route to the Durable Object that
//! owns the data, let the engine decide there, persist, answer. See ARCHITECTURE.md.

mod api;
mod busy;
mod coordinator;
mod directory;
mod feed;
mod http;
mod ids;
mod metric_store;
mod orders;
mod protocol;
mod purchasing;
mod sku_object;
mod store;

pub use coordinator::ReservationCoordinator;
pub use directory::Directory;
pub use feed::Feed;
pub use orders::Orders;
pub use purchasing::Purchasing;
pub use sku_object::SkuObject;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Ok(api::handle(req, env).await)
}
