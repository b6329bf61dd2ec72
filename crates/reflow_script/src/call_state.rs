//! What one `process` call may touch, and the meaning of our host functions, independent of
//! the engine that calls them: both backends decode the plugin's arguments, then come here.
//! The output budgets of [`Limits::max_output_bytes`](crate::Limits) are kept here too, so
//! both backends enforce them identically.

use crate::engine::OutputSink;
use crate::Limit;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The `tracing` target of plugin log lines and plugin-originated warnings, so that
/// `RUST_LOG=reflow_script=debug` shows them.
pub const PLUGIN_LOG_TARGET: &str = "reflow_script::plugin";

/// Extism's cap on one plugin's vars (`var_set`), kept on both backends for compatibility.
pub(crate) const MAX_VAR_BYTES: usize = 1 << 20;

/// The actor's state during a call (a working copy, kept only if the call succeeds; shared
/// with the engine's copy until the first `__set_state`, so a call that writes no key copies
/// nothing), where
/// sent messages go, and what the call may still hand the host.
pub(crate) struct CallState {
    pub actor: Arc<str>,
    pub state: Arc<Map<String, Value>>,
    pub sink: Option<OutputSink>,
    /// Bytes the call may still pass to `__send_output`, and to `__set_state`.
    pub send_budget: u64,
    pub state_budget: u64,
    /// Log lines the call may still write (log functions and, on our engine, WASI stdio).
    pub log: LogBudget,
    /// Set when a host function refused to go over a limit, so the call's error names it.
    pub exceeded: Option<Limit>,
    /// The status of the call's last HTTP response (Extism's `http_status_code`).
    pub http_status: u16,
}

impl CallState {
    /// A call with unlimited budgets (see [`CallState::with_budget`]).
    pub fn new(actor: Arc<str>, state: Arc<Map<String, Value>>, sink: Option<OutputSink>) -> CallState {
        CallState {
            actor,
            state,
            sink,
            send_budget: u64::MAX,
            state_budget: u64::MAX,
            log: LogBudget { left: u64::MAX, capped: false },
            exceeded: None,
            http_status: 0,
        }
    }

    /// The whole state of a finished call, every field of it, leaving an empty call for the
    /// same actor (nothing sent, no state): how a backend that shares the state with its host
    /// functions hands it back.
    pub fn take(&mut self) -> CallState {
        let empty = CallState::new(self.actor.clone(), Arc::default(), None);
        std::mem::replace(self, empty)
    }

    /// Caps what the call may pass to `__send_output` (in total), to `__set_state`, and to the
    /// log functions.
    pub fn with_budget(mut self, bytes: u64) -> CallState {
        self.send_budget = bytes;
        self.state_budget = bytes;
        self.log.left = bytes;
        self
    }

    /// Whether `__set_state` wrote anything during the call (given the budget it started with).
    pub fn wrote_state(&self, budget: u64) -> bool {
        self.state_budget != budget
    }

    /// `__get_state`: the JSON text of the value under `key`, `null` if absent.
    pub fn get(&self, key: &str) -> String {
        self.state.get(key).map_or_else(|| "null".to_string(), Value::to_string)
    }

    /// `__set_state`: `value` must be JSON text; key and value count against the budget.
    pub fn set(&mut self, key: String, value: &[u8]) -> Result<(), String> {
        spend(&mut self.state_budget, &mut self.exceeded, key.len() + value.len(), "__set_state")?;
        let value = serde_json::from_slice(value).map_err(|e| format!("__set_state: the value is not valid JSON: {e}"))?;
        Arc::make_mut(&mut self.state).insert(key, value);
        Ok(())
    }

    /// `__send_output`, first half: takes the bytes from the budget and decodes the messages.
    /// The caller delivers them to [`CallState::sink`] (outside any lock: the sink may block
    /// on a full downstream queue).
    pub fn take_outputs(&mut self, outputs: &[u8]) -> Result<Vec<(String, reflow_abi::Message)>, String> {
        spend(&mut self.send_budget, &mut self.exceeded, outputs.len(), "__send_output")?;
        let text = std::str::from_utf8(outputs).map_err(|_| "__send_output: the outputs are not UTF-8".to_string())?;
        crate::decode::sent_outputs(text).map_err(|e| format!("__send_output: {e}"))
    }

    /// A plugin log line, within the call's budget (see [`LogBudget::log`]).
    pub fn log(&mut self, level: tracing::Level, text: &str) {
        self.log.log(&self.actor, level, text)
    }
}

/// Bytes of log lines a call may still write; past it, lines are dropped (once warned).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogBudget {
    pub left: u64,
    pub capped: bool,
}

impl LogBudget {
    /// A plugin log line, within the budget. A plugin logging without end must not flood the
    /// host's log: lines past the call's output limit are dropped, with one warning. Logging
    /// never fails a call.
    pub fn log(&mut self, actor: &str, level: tracing::Level, text: &str) {
        if self.capped {
            return;
        }
        match self.left.checked_sub(text.len() as u64) {
            Some(left) => {
                self.left = left;
                plugin_log(level, actor, text);
            }
            None => self.over(actor),
        }
    }

    /// Drops a line over the budget, and every further one (with one warning).
    pub fn over(&mut self, actor: &str) {
        if !std::mem::replace(&mut self.capped, true) {
            tracing::warn!(
                target: PLUGIN_LOG_TARGET,
                "actor {actor}: log output over the call's output limit; its further log lines are dropped",
            );
        }
    }
}

/// Takes `n` bytes from a budget, or records that the output limit was exceeded.
fn spend(budget: &mut u64, exceeded: &mut Option<Limit>, n: usize, function: &str) -> Result<(), String> {
    match budget.checked_sub(n as u64) {
        Some(rest) => {
            *budget = rest;
            Ok(())
        }
        None => {
            *exceeded = Some(Limit::Output);
            Err(format!("{function}: the call's output limit is exceeded"))
        }
    }
}

/// Delivers decoded messages to `sink`, in document order.
pub(crate) fn deliver(sink: Option<&OutputSink>, messages: Vec<(String, reflow_abi::Message)>) {
    if let Some(sink) = sink {
        for (port, message) in messages {
            sink(&port, message);
        }
    }
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

/// One line for a failed call, from an error's cause chain (outermost first): each cause's
/// first line, without the wasm backtrace engines attach (frame addresses help nobody
/// reading a graph's error report). Both backends describe traps with it.
pub(crate) fn one_line_failure(causes: impl Iterator<Item = String>) -> String {
    causes
        .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
        .filter_map(|text| text.lines().next().map(|line| line.trim().to_string()))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}
