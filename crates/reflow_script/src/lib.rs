//! Runs one WebAssembly plugin as a Reflow actor: loads a `.wasm` with Extism on wasmtime,
//! serves the host side of the plugin ABI (`docs/abi.md`), and keeps the actor's state.
//!
//! # Brief overview
//!
//! - [`ScriptConfig`] says what to run (the spec's struct: bytes, entry point, runtime).
//! - [`PluginModule`] is a plugin compiled and checked once: its exports are validated and its
//!   [`PluginMetadata`](reflow_abi::PluginMetadata) read. Many actors share one module.
//! - [`ExtismEngine`] is one live plugin instance plus the actor's host-side state; it is
//!   reused for every message, never re-instantiated per message.
//! - A [`Backend`] runs the instances: by default our own implementation of the Extism ABI
//!   on wasmtime (`wasmtime_backend`, the fast path), or the `extism` crate itself (the
//!   reference the differential tests compare against).
//! - [`ScriptActor`] is an engine with a name and ports: what a flow network schedules.
//!
//! - [`Grants`] and [`Limits`] are the sandbox: what a plugin may touch (nothing by default)
//!   and how much memory, time, fuel and output one call may use. Both are backend-neutral
//!   and both backends implement them; a module runs on the backend asked for
//!   ([`PluginModule::load_on`]). HTTP for granted hosts is `http.rs`'s, shared by both.
//! - [`decode`] reads what a plugin hands the host, which is untrusted input.
//!
//! A trap, a loop or a bad module fails this actor only, as a [`ScriptError`] naming the actor
//! or plugin; after a failed call the instance is replaced and the actor's state is the one
//! from before the call. Sandbox decisions live here alone (docs/security.md). This crate knows
//! no graph.

mod actor;
mod call_state;
mod config;
pub(crate) mod decode;
mod engine;
mod entropy;
mod error;
mod extism_backend;
mod extism_kernel;
mod grants;
mod host_functions;
mod http;
mod module;
mod transcript;
mod wasmtime_backend;

pub use actor::ScriptActor;
pub use call_state::PLUGIN_LOG_TARGET;
pub use config::{Backend, Limit, Limits, ScriptConfig, ScriptEnvironment, ScriptRuntime};
pub use engine::{ExtismEngine, OutputSink};
pub use entropy::{Entropy, EntropyRead};
pub use error::ScriptError;
pub use grants::{GrantError, Grants, PathGrant};
pub use module::PluginModule;
pub use transcript::{Transcript, Undeclared};
pub use reflow_abi::{ActorConfig, ActorContext, ActorResult, Message, PluginMetadata, PortDefinition};
