//! What one `process` call may touch, and the meaning of our host functions, independent of
//! the engine that calls them: both backends decode the plugin's arguments, then come here.

use crate::engine::OutputSink;
use reflow_abi::Message;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The `tracing` target of plugin log lines, so that `RUST_LOG=reflow_script=debug` shows them.
pub const PLUGIN_LOG_TARGET: &str = "reflow_script::plugin";

/// The actor's state during a call (a working copy, kept only if the call succeeds) and where
/// sent messages go.
pub(crate) struct CallState {
    pub actor: Arc<str>,
    pub state: Map<String, Value>,
    pub sink: Option<OutputSink>,
}

impl CallState {
    /// `__get_state`: the JSON text of the value under `key`, `null` if absent.
    pub fn get(&self, key: &str) -> String {
        self.state.get(key).map_or_else(|| "null".to_string(), Value::to_string)
    }

    /// `__set_state`: `value` must be JSON text.
    pub fn set(&mut self, key: String, value: &[u8]) -> Result<(), String> {
        let value = serde_json::from_slice(value).map_err(|e| format!("__set_state: the value is not valid JSON: {e}"))?;
        self.state.insert(key, value);
        Ok(())
    }
}

/// `__send_output`: a JSON object `{port: message-or-plain-value}`, delivered to `sink` now,
/// in document order. Nothing is delivered if any entry is malformed.
pub(crate) fn send_outputs(sink: Option<&OutputSink>, outputs: &[u8]) -> Result<(), String> {
    let outputs = match serde_json::from_slice::<Value>(outputs) {
        Ok(Value::Object(map)) => map,
        Ok(other) => return Err(format!("__send_output: expected a JSON object {{port: message}}, got {other}")),
        Err(e) => return Err(format!("__send_output: the outputs are not valid JSON: {e}")),
    };
    let mut messages = Vec::with_capacity(outputs.len());
    for (port, value) in outputs {
        let message = Message::from_json(value).map_err(|e| format!("__send_output: port {port:?}: {e}"))?;
        messages.push((port, message));
    }
    if let Some(sink) = sink {
        for (port, message) in messages {
            sink(&port, message);
        }
    }
    Ok(())
}

/// A plugin log line, as a `tracing` event naming the actor.
pub(crate) fn plugin_log(level: tracing::Level, actor: &str, text: &str) {
    match level {
        tracing::Level::TRACE => tracing::trace!(target: PLUGIN_LOG_TARGET, actor, "{text}"),
        tracing::Level::DEBUG => tracing::debug!(target: PLUGIN_LOG_TARGET, actor, "{text}"),
        tracing::Level::INFO => tracing::info!(target: PLUGIN_LOG_TARGET, actor, "{text}"),
        tracing::Level::WARN => tracing::warn!(target: PLUGIN_LOG_TARGET, actor, "{text}"),
        tracing::Level::ERROR => tracing::error!(target: PLUGIN_LOG_TARGET, actor, "{text}"),
    }
}
