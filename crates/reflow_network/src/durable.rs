//! Durable actor state: a WASM plugin actor whose state is restored from a [`StateStore`] when
//! the network starts and committed to it after every successful call, before the call's
//! messages go downstream. `docs/state.md` states the guarantee; this is how it is kept:
//!
//! 1. The call runs with a buffering sink: messages it sends with `__send_output` and the
//!    outputs it returns are held, in order, not yet released.
//! 2. On success, the new state (`__set_state` writes and the returned state, as the engine
//!    already combined them) and the held messages are committed as one record.
//! 3. Only then are the held messages released downstream. The record keeps them as
//!    *pending* until the next commit replaces them or the actor finishes; after a crash they
//!    are delivered again when the network starts, before any new input.
//!
//! A failed call commits nothing and, as `docs/abi.md` says for every failed call, releases
//! what it had sent. A failed commit (state over the size cap, disk error) fails the call: the
//! actor's state goes back to what was committed and none of its messages are released.
//!
//! Without a store, a plugin actor is a plain [`WasmComponent`] and none of this costs anything.

use crate::component::{Component, ComponentError, Outputs, Payload, SourceStatus};
use crate::error::NetworkError;
use crate::wasm::WasmComponent;
use reflow_abi::{Message, PluginMetadata};
use reflow_state::{ActorKey, ActorRecord, Pending, StateStore};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// Where a network keeps its actors' state, and under which graph id.
#[derive(Clone)]
pub struct StateBinding {
    pub store: Arc<dyn StateStore>,
    pub graph_id: String,
}

/// The graph id a graph file's state is stored under: the file name without its `.json`
/// (`examples/graphs/demo.json` -> `demo`). Any other spelling of the extension keeps it,
/// after a `/` (`cnt.JSON` -> `cnt/JSON`): no file name holds a `/`, so no `X.json` can have
/// that id, and every file of a directory has an id of its own. Graphs sharing the default
/// state directory never share state; renaming the file leaves its state behind under the old id.
pub fn graph_id(graph_file: &Path) -> String {
    let Some(stem) = graph_file.file_stem().map(|s| s.to_string_lossy().into_owned()) else { return "graph".to_string() };
    match graph_file.extension().map(|e| e.to_string_lossy()) {
        None => format!("{stem}/"),
        Some(extension) if extension == "json" => stem,
        Some(extension) => format!("{stem}/{extension}"),
    }
}

/// The state directory `reflow run` uses unless told otherwise: `.reflow/state` in the graph
/// file's folder.
pub fn default_state_dir(graph_file: &Path) -> PathBuf {
    graph_file.parent().unwrap_or(Path::new("")).join(".reflow").join("state")
}

type Held = Arc<Mutex<Vec<(String, Message)>>>;

/// A [`WasmComponent`] whose state lives in a [`StateStore`]. See the module docs.
pub(crate) struct DurableComponent {
    inner: WasmComponent,
    store: Arc<dyn StateStore>,
    key: ActorKey,
    held: Held,
    /// Hands everything the plugin produces to `held`.
    holding: Outputs,
    /// The pending messages of the last commit of a previous run, delivered before any input.
    redeliver: Vec<(String, Message)>,
    /// The store holds pending messages for this actor: settle them when the actor finishes.
    unsettled: bool,
    /// The state as last committed (or restored): what the actor goes back to when a call
    /// fails, and what "unchanged" means.
    committed: Map<String, Value>,
    /// A call started and never returned (it panicked, and the scheduler caught it).
    interrupted: bool,
}

impl DurableComponent {
    /// Restores `inner`'s state (and the messages to deliver again) from `store`.
    pub fn restore(mut inner: WasmComponent, store: Arc<dyn StateStore>, key: ActorKey) -> Result<DurableComponent, NetworkError> {
        let record = store.load(&key)?.unwrap_or_default();
        let unsettled = !record.pending.is_empty();
        let redeliver = record
            .pending
            .into_iter()
            .map(|p| {
                Message::from_json(p.message)
                    .map(|m| (p.port.clone(), m))
                    .map_err(|e| NetworkError::PendingMessage { port: p.port.clone(), reason: e.to_string() })
            })
            .collect::<Result<Vec<_>, NetworkError>>()?;
        inner.actor_mut().engine_mut().set_state(record.state.clone());
        let held: Held = Arc::default();
        let holding = {
            let held = held.clone();
            Outputs::new(
                Arc::new(move |port: &str, message: Message| {
                    held.lock().unwrap_or_else(|p| p.into_inner()).push((port.to_string(), message))
                }),
                Arc::new(AtomicBool::new(false)),
            )
        };
        Ok(DurableComponent {
            inner,
            store,
            key,
            held,
            holding,
            redeliver,
            unsettled,
            committed: record.state,
            interrupted: false,
        })
    }

    fn take_held(&self) -> Vec<(String, Message)> {
        std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn release(messages: Vec<(String, Message)>, out: &Outputs) {
    for (port, message) in messages {
        out.send(&port, message);
    }
}

impl Component for DurableComponent {
    fn metadata(&self) -> &PluginMetadata {
        self.inner.metadata()
    }

    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        if self.interrupted {
            // The last call panicked half-way: forget what it produced and the state it left.
            self.take_held();
            self.inner.actor_mut().engine_mut().set_state(self.committed.clone());
        }
        self.interrupted = true;
        let result = self.inner.process(payload, &self.holding);
        self.interrupted = false;
        let produced = self.take_held();
        if let Err(e) = result {
            // The engine keeps the state of a failed call unchanged; restoring the committed one
            // anyway keeps memory and store equal whatever engine runs the plugin. What the
            // call sent stays sent (docs/abi.md).
            self.inner.actor_mut().engine_mut().set_state(self.committed.clone());
            release(produced, out);
            return Err(e);
        }
        let state = self.inner.actor().engine().state();
        if produced.is_empty() && *state == self.committed {
            // Nothing to make durable: the store already holds this state.
            return Ok(());
        }
        let record = ActorRecord {
            state: state.clone(),
            pending: produced.iter().map(|(port, m)| Pending { port: port.clone(), message: m.to_json() }).collect(),
        };
        if let Err(e) = self.store.commit(&self.key, &record) {
            self.inner.actor_mut().engine_mut().set_state(self.committed.clone());
            return Err(ComponentError(format!("state not committed, so the call is void and its messages are not sent: {e}")));
        }
        self.committed = record.state;
        self.unsettled = !record.pending.is_empty();
        release(produced, out);
        Ok(())
    }

    /// The messages to deliver again, all in the first step: they were one call's output.
    fn poll_source(&mut self, out: &Outputs, _budget: usize) -> Result<SourceStatus, ComponentError> {
        if !self.redeliver.is_empty() {
            tracing::info!(
                "actor {}: delivering again the {} message(s) of its last committed call before the restart",
                self.key.process,
                self.redeliver.len()
            );
        }
        release(std::mem::take(&mut self.redeliver), out);
        Ok(SourceStatus::Done)
    }

    fn finish(&mut self, _out: &Outputs) -> Result<(), ComponentError> {
        if self.unsettled {
            self.store.settle(&self.key).map_err(|e| ComponentError(e.to_string()))?;
            self.unsettled = false;
        }
        Ok(())
    }

    fn dropped_messages(&self) -> u64 {
        self.inner.dropped_messages()
    }
}
