//! The views: thin Leptos components, one file per screen. They show `model` and `Outbox` values
//! and call `sync`, `api` and `db`; decisions live in those, not here.

pub mod adjust;
pub mod count;
pub mod fields;
pub mod frame;
pub mod fulfilment;
pub mod imports;
pub mod orders;
pub mod outbox;
pub mod receive;
pub mod replenishment;
pub mod returns;
pub mod ship;
pub mod stock;
pub mod suppliers;
pub mod timeline;
pub mod transfer;
