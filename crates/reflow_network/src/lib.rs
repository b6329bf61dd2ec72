//! The flow network: the graph model, the FBP JSON loader (file types are not the model;
//! loaders call its constructors), validation naming each problem and where, built-in
//! components, and the scheduler that runs every process as an actor on a pool of workers. A WASM
//! plugin is one actor kind among the built-ins: the scheduler only knows [`Component`].
//!
//! # Brief overview
//!
//! - [`load_graph`] reads a file into a [`Graph`]; [`validate`] checks it against a
//!   [`ComponentCatalog`] (what ports each component has).
//! - [`Network::load`] does both with the real catalog (built-ins and `.wasm` plugins, each
//!   plugin compiled once) and [`Network::run`] runs it to the end, returning a
//!   [`RunReport`].
//! - [`scheduler`] documents when `process` is called, how a run ends, and how failures are
//!   supervised; [`sandbox`] reads each process's grants, limits and failure policy from its
//!   graph metadata.
//! - [`Network::with_state`] keeps the graph's state in a `reflow_state` store: consistent
//!   checkpoints of the whole run, resumed after a crash ([`durable`]; `docs/state.md`).
//!
//! - [`Network::prepare_part`] runs part of a graph in this process, with a [`Bridge`]
//!   component standing for the other end of each edge that crosses to another part
//!   (`reflow_cluster` runs one graph on several machines with it; [`part`]).
//!
//! - [`NetworkError`] is the crate's one error type (a cause from another crate is its
//!   `source`).
//!
//! The scheduler's wiring (actor specs, routes, exports) is internal: a network is built
//! from a [`Graph`], so `Network` is the one way to run components (a part of one included).
//!
//! It knows no editor protocol.

pub mod builtins;
pub mod component;
pub mod durable;
pub mod error;
pub mod graph;
pub mod loader;
pub mod network;
pub mod part;
pub mod record;
pub mod reload;
pub mod replay;
pub mod sandbox;
pub mod scheduler;
pub mod snapshot;
pub mod validate;
pub(crate) mod wasm;

pub use component::{Component, ComponentError, Outputs, Payload, SourceStatus};
pub use durable::{default_state_dir, graph_id, StateBinding, Unfinished};
pub use graph::{EditError, Graph};
pub use loader::{load_graph, GraphError};
pub use error::NetworkError;
pub use network::{Network, Plan, PluginCatalog, Prepared};
pub use part::{Bridge, CrossingEdge};
pub use reload::{ReloadError, Reloader, Swap};
pub use sandbox::{ProcessSettings, SandboxPolicy};
pub use scheduler::{ActorFailure, ActorStats, DeadLetter, Escalation, FailurePolicy, Halt, Inlet, InletError, Observer, Probe, RunOptions, RunReport, ERROR_PORT};
pub use snapshot::{snapshot_mismatches, SnapshotMismatch};
pub use validate::{validate, warnings, ComponentCatalog, ValidationError};
// The sandbox's types, as a network's settings and errors use them (a caller of this crate
// needs no other for them).
pub use reflow_script::{GrantError, Grants, Limit, Limits};
