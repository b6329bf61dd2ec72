//! Where actor state lives between messages and across restarts: the [`StateStore`] trait with
//! memory and embedded-database backends, chosen by the caller. Stores values under actor keys;
//! knows no scheduling and no plugins.
//!
//! # Brief overview
//!
//! - An [`ActorKey`] is a graph id and a process name; under it a store keeps one
//!   [`ActorRecord`]: the actor's state (a JSON object) and the messages its last committed step
//!   produced ([`Pending`]), which the caller re-delivers after a crash.
//! - [`StateStore::commit`] replaces a record atomically: after a crash the store holds either
//!   the old record or the new one, never a mix. It refuses a state larger than the store's
//!   [`StoreOptions::max_state_bytes`].
//! - [`MemoryStore`] keeps records for the life of the process (tests, ephemeral runs);
//!   [`DbStore`] keeps them in one [redb](https://www.redb.org) file that survives restarts and
//!   `SIGKILL`. A file that is not a state store, is damaged, or was written by an
//!   incompatible version is reported as a [`StateError`] and left untouched, never reset.
//! - `NatsStore` (feature `nats`) keeps them in a JetStream KV bucket, so an actor can resume
//!   on another machine (`docs/cluster.md`).
//! - [`Snapshot`] is the JSON form of one graph's state, for `reflow state export|import`.
//!
//! `docs/state.md` says what the network promises on top of this (commit before release).

mod db;
mod error;
mod memory;
#[cfg(feature = "nats")]
mod nats;
mod snapshot;
mod store;

pub use db::DbStore;
pub use error::StateError;
pub use memory::MemoryStore;
#[cfg(feature = "nats")]
pub use nats::NatsStore;
pub use snapshot::Snapshot;
pub use store::{ActorKey, ActorRecord, Pending, StateStore, StoreOptions, DEFAULT_MAX_STATE_BYTES};
