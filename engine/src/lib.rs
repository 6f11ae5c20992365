//! Stockline's domain core. Sans-IO and deterministic: no clock, storage, network or randomness;
//! time, ids and the caller come in as arguments. See ARCHITECTURE.md.

pub mod audit;
pub mod catalog;
pub mod coordination;
pub mod error;
pub mod feed;
pub mod hold;
pub mod idempotency;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod money;
pub mod orders;
pub mod planning;
pub mod position;
pub mod procurement;
pub mod reservation;
pub mod webhooks;

pub use catalog::{Catalog, Channel, ChannelSpec, Location, LocationKind, LocationSpec};
pub use coordination::{CoordStep, Phase, ReleaseReason};
pub use error::{EngineError, HoldStatus, Shortage};
pub use hold::{Allocation, Hold, HoldLine, HoldLineRequest, HoldRequest};
pub use ids::{check_barcode, Id};
pub use ledger::{
    is_false, Actor, Availability, CountDisagreement, CountException, CountExceptionKind, Ctx, DeviceOp, Difference,
    Disposition, Effect, Entry, Event, InboundTarget, LedgerSnapshot, LocationAvailability, Movement, MovementKind,
    MovementOutcome, OrderReceipt, Projection, ReceiveInto, Replica, ReplicaSnapshot, Role, SkuLedger, SkuPolicy,
    SkuSpec,
};
pub use money::{Money, MoneyError};
pub use position::{channel_available, Bucket, Position};
pub use reservation::{
    CommitLine, CommitRequest, PlaceStep, Placement, Reservation, ReservationLine, ReservationLineRequest,
    ReservationRequest,
};
