//! The host side of the plugin's imports: `__get_state`, `__set_state`, `__send_output`
//! (`extism:host/user`) and Extism's log functions, rerouted to our `tracing` target.
//!
//! Host functions find the actor they serve through Extism's per-call host context, a
//! [`CallContext`] set for each call. A compiled module is shared by many actors, so nothing
//! actor-specific may live in the functions themselves.

use crate::engine::OutputSink;
use crate::Limit;
use extism::{CurrentPlugin, Function, UserData, Val, ValType, EXTISM_ENV_MODULE, PTR};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex, MutexGuard};

/// The `tracing` target of plugin log lines and plugin-originated warnings, so that
/// `RUST_LOG=reflow_script=debug` shows them.
pub const PLUGIN_LOG_TARGET: &str = "reflow_script::plugin";

/// What one call may touch: the actor's state (a working copy, kept only if the call
/// succeeds) and where sent messages go.
pub(crate) struct CallState {
    pub actor: Arc<str>,
    pub state: Map<String, Value>,
    pub sink: Option<OutputSink>,
    /// Bytes the call may still pass to `__send_output`, and to `__set_state`.
    pub send_budget: u64,
    pub state_budget: u64,
    /// Bytes of log lines the call may still write; past it, lines are dropped (once warned).
    pub log_budget: u64,
    pub log_capped: bool,
    /// Set when a host function refused to go over a limit, so the call's error names it.
    pub exceeded: Option<Limit>,
}

#[derive(Clone)]
pub(crate) struct CallContext(Arc<Mutex<CallState>>);

impl CallContext {
    pub fn new(actor: Arc<str>, state: Map<String, Value>, sink: Option<OutputSink>) -> Self {
        CallContext(Arc::new(Mutex::new(CallState {
            actor,
            state,
            sink,
            send_budget: u64::MAX,
            state_budget: u64::MAX,
            log_budget: u64::MAX,
            log_capped: false,
            exceeded: None,
        })))
    }

    /// Caps what the call may pass to `__send_output` (in total), to `__set_state`, and to the
    /// log functions.
    pub fn with_budget(self, bytes: u64) -> Self {
        {
            let mut state = self.lock();
            state.send_budget = bytes;
            state.state_budget = bytes;
            state.log_budget = bytes;
        }
        self
    }

    /// Takes `n` bytes from a budget, or records that the output limit was exceeded.
    fn spend(&self, n: usize, budget: fn(&mut CallState) -> &mut u64, function: &str) -> HostResult {
        let mut state = self.lock();
        let left = budget(&mut state);
        match left.checked_sub(n as u64) {
            Some(rest) => {
                *left = rest;
                Ok(())
            }
            None => {
                state.exceeded = Some(Limit::Output);
                Err(extism::Error::msg(format!("{function}: the call's output limit is exceeded")))
            }
        }
    }

    pub fn for_metadata(plugin: &str) -> Self {
        CallContext::new(plugin.into(), Map::new(), None)
    }

    pub fn lock(&self) -> MutexGuard<'_, CallState> {
        // A panic while holding this lock can only come from our own host code; the state
        // inside is still a valid map, so keep using it rather than poisoning the actor.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type HostResult = Result<(), extism::Error>;

fn context(plugin: &mut CurrentPlugin, function: &str) -> Result<CallContext, extism::Error> {
    plugin
        .host_context::<CallContext>()
        .map(|c| c.clone())
        .map_err(|_| extism::Error::msg(format!("{function} called outside a process call")))
}

fn read_str(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str) -> Result<String, extism::Error> {
    // A handle the kernel does not know (the plugin passed a wild number) is refused here,
    // before Extism's own message, which names its plugin id instead of the argument.
    // Handle 0 is the empty text.
    if arg.i64() != Some(0) && plugin.memory_from_val(arg).is_none() {
        return Err(extism::Error::msg(format!("{function}: {what}: not a valid memory handle ({arg:?})")));
    }
    plugin
        .memory_get_val::<&str>(arg)
        .map(str::to_string)
        .map_err(|e| extism::Error::msg(format!("{function}: cannot read {what}: {e}")))
}

fn read_json(text: &str, function: &str, what: &str) -> Result<Value, extism::Error> {
    serde_json::from_str(text).map_err(|e| extism::Error::msg(format!("{function}: {what} is not valid JSON: {e}")))
}

fn get_state(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__get_state")?;
    let key = read_str(plugin, &inputs[0], "__get_state", "the key")?;
    let value = ctx.lock().state.get(&key).cloned().unwrap_or(Value::Null);
    let handle = plugin.memory_new(value.to_string())?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

fn set_state(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__set_state")?;
    let key = read_str(plugin, &inputs[0], "__set_state", "the key")?;
    let text = read_str(plugin, &inputs[1], "__set_state", "the value")?;
    ctx.spend(key.len() + text.len(), |s| &mut s.state_budget, "__set_state")?;
    let value = read_json(&text, "__set_state", "the value")?;
    ctx.lock().state.insert(key, value);
    Ok(())
}

fn send_output(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__send_output")?;
    let text = read_str(plugin, &inputs[0], "__send_output", "the outputs")?;
    ctx.spend(text.len(), |s| &mut s.send_budget, "__send_output")?;
    let messages = crate::decode::sent_outputs(&text).map_err(|e| extism::Error::msg(format!("__send_output: {e}")))?;
    // Release the lock before calling out: the sink may block on a full downstream queue.
    let sink = ctx.lock().sink.clone();
    if let Some(sink) = sink {
        for (port, message) in messages {
            sink(&port, message);
        }
    }
    Ok(())
}

macro_rules! plugin_log {
    ($name:ident, $level:ident) => {
        fn $name(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
            let text = read_str(plugin, &inputs[0], stringify!($name), "the log line")?;
            // The log functions take ownership of the handle (Extism frees it too).
            if let Some(handle) = plugin.memory_from_val(&inputs[0]) {
                plugin.memory_free(handle)?;
            }
            let Ok(ctx) = plugin.host_context::<CallContext>().map(|c| c.clone()) else {
                tracing::$level!(target: PLUGIN_LOG_TARGET, actor = "?", "{text}");
                return Ok(());
            };
            let mut state = ctx.lock();
            // A plugin logging without end must not flood the host's log: lines past the
            // call's output limit are dropped, with one warning. Logging never fails a call.
            if state.log_capped {
                return Ok(());
            }
            match state.log_budget.checked_sub(text.len() as u64) {
                Some(left) => {
                    state.log_budget = left;
                    tracing::$level!(target: PLUGIN_LOG_TARGET, actor = &*state.actor, "{text}");
                }
                None => {
                    state.log_capped = true;
                    tracing::warn!(
                        target: PLUGIN_LOG_TARGET,
                        "actor {}: log output over the call's output limit; its further log lines are dropped",
                        state.actor
                    );
                }
            }
            Ok(())
        }
    };
}

plugin_log!(log_trace, trace);
plugin_log!(log_debug, debug);
plugin_log!(log_info, info);
plugin_log!(log_warn, warn);
plugin_log!(log_error, error);

/// Every host function a plugin may import, fresh for one compiled module.
pub(crate) fn host_functions() -> Vec<Function> {
    let user = |name: &str, params: Vec<ValType>, results: Vec<ValType>, f| {
        Function::new(name, params, results, UserData::new(()), f)
    };
    let env_log = |name: &str, f| Function::new(name, [PTR], [], UserData::new(()), f).with_namespace(EXTISM_ENV_MODULE);
    vec![
        user("__get_state", vec![PTR], vec![PTR], get_state as HostFn),
        user("__set_state", vec![PTR, PTR], vec![], set_state as HostFn),
        user("__send_output", vec![PTR], vec![], send_output as HostFn),
        env_log("log_trace", log_trace as HostFn),
        env_log("log_debug", log_debug as HostFn),
        env_log("log_info", log_info as HostFn),
        env_log("log_warn", log_warn as HostFn),
        env_log("log_error", log_error as HostFn),
    ]
}

type HostFn = fn(&mut CurrentPlugin, &[Val], &mut [Val], UserData<()>) -> HostResult;
