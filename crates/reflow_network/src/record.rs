//! Recording a run (`reflow run --record FILE`, [`Network::record_to`](crate::Network::record_to)):
//! what is kept and where it is taken. The file format is `reflow_trace`'s.
//!
//! Two hooks, both outside the scheduler's hot path when nothing is recorded:
//!
//! - **Connections.** The run is started with [`RunOptions::observe_edges`](crate::RunOptions)
//!   and its observer wrapped in a [`RecordingObserver`], so the scheduler's existing edge
//!   hook reports each message as it is sent; without a recording that hook is off and costs
//!   nothing.
//! - **Plugin calls.** A [`WasmComponent`](crate::wasm::WasmComponent) given a [`CallRecorder`]
//!   records each call around [`ScriptActor::process_split`](reflow_script::ScriptActor):
//!   the payload, the state before and after, what it sent and returned, and what it read from
//!   its WASI clocks and random source (so that `reflow replay` can hand it the same values).
//!   Without one, a plugin call takes the plain path (one `Option` test).

use crate::scheduler::{ActorFailure, DeadLetter, Observer};
use reflow_abi::Message;
use reflow_script::{Entropy, ScriptActor, ScriptError};
use reflow_trace::{CallRecord, EdgeRecord, TraceWriter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Records one plugin actor's calls into a recording.
#[derive(Clone)]
pub struct CallRecorder {
    pub writer: Arc<TraceWriter>,
    /// The process's index in the recording's [`reflow_trace::Start::processes`].
    pub process: u32,
}

type Sent = Arc<Mutex<Vec<(String, Message)>>>;

impl CallRecorder {
    /// Runs one call of `actor` and records it; messages go on to `out` as they would without
    /// the recording.
    pub fn call(
        &self,
        actor: &mut ScriptActor,
        payload: &HashMap<String, Message>,
        out: &reflow_script::OutputSink,
    ) -> Result<(), ScriptError> {
        let (seq, micros) = self.writer.stamp();
        let state_before = actor.engine().state().clone();
        let mut recorded_payload: Vec<(String, Message)> = payload.iter().map(|(port, m)| (port.clone(), m.clone())).collect();
        recorded_payload.sort_by(|a, b| a.0.cmp(&b.0));
        let sent: Sent = Arc::default();
        let sink: reflow_script::OutputSink = {
            let (sent, out) = (sent.clone(), out.clone());
            Arc::new(move |port: &str, message: Message| {
                sent.lock().unwrap_or_else(|p| p.into_inner()).push((port.to_string(), message.clone()));
                out(port, message)
            })
        };
        let mut outputs = Vec::new();
        actor.engine_mut().set_entropy(Entropy::Record(Vec::new()));
        let result = actor.process_split(payload, sink, &mut |port, message| {
            outputs.push((port.to_string(), message.clone()));
            out(port, message)
        });
        let entropy = actor.engine_mut().take_entropy().into_reads();
        let state = actor.engine().state();
        let state_after = (*state != state_before).then(|| state.clone());
        let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
        self.writer.call(CallRecord {
            seq,
            micros,
            process: self.process,
            payload: recorded_payload,
            state_before,
            state_after,
            sent,
            outputs,
            entropy,
            error: result.as_ref().err().map(|e| e.to_string()),
            limit: result.as_ref().err().and_then(limit_of).map(|l| reflow_trace::limit_name(l).to_string()),
        });
        result
    }
}

/// The limit a failed call went over, if that is why it failed.
pub(crate) fn limit_of(error: &ScriptError) -> Option<reflow_script::Limit> {
    match error {
        ScriptError::LimitExceeded { limit, .. } => Some(*limit),
        _ => None,
    }
}

/// The run's observer, plus every message on every connection into the recording.
pub(crate) struct RecordingObserver {
    pub inner: Arc<dyn Observer>,
    pub writer: Arc<TraceWriter>,
    /// Whether `inner` asked for edge reports itself.
    pub forward_edges: bool,
}

impl Observer for RecordingObserver {
    fn exported(&self, port: &str, message: &Message) {
        self.inner.exported(port, message)
    }

    fn failed(&self, failure: &ActorFailure) {
        self.inner.failed(failure)
    }

    fn dead_letter(&self, letter: &DeadLetter) {
        self.inner.dead_letter(letter)
    }

    fn edge_data(&self, route: usize, message: &Message) {
        let (seq, micros) = self.writer.stamp();
        self.writer.edge(EdgeRecord { seq, micros, edge: route as u32, message: message.clone() });
        if self.forward_edges {
            self.inner.edge_data(route, message)
        }
    }
}
