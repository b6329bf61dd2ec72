//! The one interface the scheduler knows: a component instance that turns input messages
//! into output messages. WASM plugins ([`crate::wasm::WasmComponent`]) and native built-ins
//! both implement it, so the scheduler never special-cases either.

use reflow_abi::{Message, PluginMetadata};
use reflow_script::OutputSink;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where a component's messages go. Cheap to clone and `'static`, so a WASM actor can hand
/// it to its plugin's `__send_output` for the duration of a call. Sending may block while a
/// downstream queue is full: that is the back-pressure.
#[derive(Clone)]
pub struct Outputs {
    sink: OutputSink,
    stop: Arc<AtomicBool>,
}

impl Outputs {
    pub fn new(sink: OutputSink, stop: Arc<AtomicBool>) -> Outputs {
        Outputs { sink, stop }
    }

    /// Sends `message` on `outport`.
    pub fn send(&self, outport: &str, message: Message) {
        (self.sink)(outport, message)
    }

    /// The sending function itself, for code that wants an [`OutputSink`].
    pub fn sink(&self) -> &OutputSink {
        &self.sink
    }

    /// True once the network is shutting down (Ctrl-C): a source should stop producing.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A failed `process` or `run_source` call. The scheduler reports it with the actor's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

impl ComponentError {
    pub fn new(message: impl Into<String>) -> Self {
        ComponentError(message.into())
    }
}

/// One live actor's behaviour. An instance belongs to one actor (one process in the graph) and
/// keeps its own state; the scheduler calls it from one thread at a time.
pub trait Component: Send {
    /// Ports and description; the graph is validated against it before anything runs.
    fn metadata(&self) -> &PluginMetadata;

    /// Handles one firing: `payload` holds the inport(s) that have data (see
    /// `docs/graph-format.md`, "When process is called").
    fn process(&mut self, payload: HashMap<String, Message>, out: &Outputs) -> Result<(), ComponentError>;

    /// Called once when the network starts, before any input: a source (a range, the lines
    /// of a file) produces its messages here. The default produces nothing.
    fn run_source(&mut self, _out: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Called once after the last input, before the actor's thread ends (flush a file).
    fn finish(&mut self, _out: &Outputs) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Messages this actor dropped for naming an outport its metadata does not declare.
    fn dropped_messages(&self) -> u64 {
        0
    }
}
