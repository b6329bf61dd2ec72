//! The FBP network-protocol server behind `reflow serve`: editor messages in, calls on the
//! network out, events back. The wire format is a boundary we do not own, so its types live
//! here and the network depends on nothing in this crate.
//!
//! # Brief overview
//!
//! - [`serve`] binds a WebSocket listener (subprotocol `noflo`), then serves every client
//!   until the process ends; [`ServeConfig`] says where, which secret, which components,
//!   which origins ([`access`] says who may connect, and why).
//! - [`Runtime`] is the state all clients share: the graphs being edited, the component
//!   catalog and the running networks. [`Runtime::handle`] takes one decoded message and
//!   answers through a [`Client`]; network events go to every client through the [`Hub`].
//! - [`messages`] holds the wire envelope and the protocol's spellings (edge ids, port types).
//! - [`Runtime`], [`Hub`], [`Client`] and [`Backlog`] are public on purpose: they are the
//!   protocol without its transport. [`serve`] is one transport (WebSocket); another (a test,
//!   an in-process editor, a different socket) connects a client with [`Hub::connect`] (or
//!   [`Hub::join`], already admitted), hands each text message to [`Runtime::handle`], writes
//!   what arrives on the client's channel and calls [`Backlog::written`] once per message
//!   written, so that a client that stops reading loses only `data` events, never replies
//!   ([`MAX_BACKLOG`]).
//!
//! Sub-protocols: `runtime`, `component`, `graph`, `network` and `trace` (see `docs/fbp-protocol.md`
//! for each message's status). A graph edited here is a plain [`reflow_network::Graph`]: it
//! runs with [`reflow_network::Network`] as `reflow run` runs a file, and exports as FBP JSON.

pub mod access;
mod components;
pub mod error;
mod graphs;
pub mod messages;
mod network;
mod runtime;
mod server;
pub mod setsource;
mod trace;
pub mod watch;

pub use error::ProtocolError;
pub use watch::{RunWatcher, WatchedRun, Watcher};
pub use runtime::{Backlog, Client, Hub, Runtime, RuntimeConfig, MAX_BACKLOG};
pub use access::{generate_secret, Allowlist};
pub use server::{serve, ServeConfig, DEFAULT_MAX_MESSAGE_BYTES};
pub use setsource::BuildConfig;
