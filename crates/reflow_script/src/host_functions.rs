//! The Extism-crate backend's host functions: `__get_state`, `__set_state`, `__send_output`
//! (`extism:host/user`) and Extism's log functions, rerouted to our `tracing` target.
//!
//! Host functions find the actor they serve through Extism's per-call host context, a
//! [`CallContext`] set for each call. A compiled module is shared by many actors, so nothing
//! actor-specific may live in the functions themselves. The meaning of each function (and
//! the call's output budgets) is in `call_state.rs`, shared with the wasmtime backend.

use crate::call_state::{deliver, plugin_log, CallState};
use extism::{CurrentPlugin, Function, UserData, Val, ValType, EXTISM_ENV_MODULE, PTR};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone)]
pub(crate) struct CallContext(Arc<Mutex<CallState>>);

impl CallContext {
    pub fn new(state: CallState) -> Self {
        CallContext(Arc::new(Mutex::new(state)))
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

fn read_bytes(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str) -> Result<Vec<u8>, extism::Error> {
    // A handle the kernel does not know (the plugin passed a wild number) is refused here,
    // before Extism's own message, which names its plugin id instead of the argument.
    // Handle 0 is the empty text.
    if arg.i64() != Some(0) && plugin.memory_from_val(arg).is_none() {
        return Err(extism::Error::msg(format!("{function}: {what}: not a valid memory handle ({})", arg.i64().unwrap_or(-1))));
    }
    plugin
        .memory_get_val::<&[u8]>(arg)
        .map(<[u8]>::to_vec)
        .map_err(|e| extism::Error::msg(format!("{function}: cannot read {what}: {e}")))
}

fn read_str(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str) -> Result<String, extism::Error> {
    String::from_utf8(read_bytes(plugin, arg, function, what)?)
        .map_err(|_| extism::Error::msg(format!("{function}: {what} is not UTF-8")))
}

fn get_state(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__get_state")?;
    let key = read_str(plugin, &inputs[0], "__get_state", "the key")?;
    let value = ctx.lock().get(&key);
    let handle = plugin.memory_new(value)?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

fn set_state(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__set_state")?;
    let key = read_str(plugin, &inputs[0], "__set_state", "the key")?;
    let value = read_bytes(plugin, &inputs[1], "__set_state", "the value")?;
    let result = ctx.lock().set(key, &value);
    result.map_err(extism::Error::msg)
}

fn send_output(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__send_output")?;
    let outputs = read_bytes(plugin, &inputs[0], "__send_output", "the outputs")?;
    let (messages, sink) = {
        let mut call = ctx.lock();
        (call.take_outputs(&outputs).map_err(extism::Error::msg)?, call.sink.clone())
    };
    // Deliver outside the lock: the sink may block on a full downstream queue.
    deliver(sink.as_ref(), messages);
    Ok(())
}

macro_rules! extism_log {
    ($name:ident, $level:ident) => {
        fn $name(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
            let text = read_bytes(plugin, &inputs[0], stringify!($name), "the log line")?;
            let text = String::from_utf8_lossy(&text);
            // The log functions take ownership of the handle (Extism frees it too).
            if let Some(handle) = plugin.memory_from_val(&inputs[0]) {
                plugin.memory_free(handle)?;
            }
            match plugin.host_context::<CallContext>().map(|c| c.clone()) {
                Ok(ctx) => ctx.lock().log(tracing::Level::$level, &text),
                Err(_) => plugin_log(tracing::Level::$level, "?", &text),
            }
            Ok(())
        }
    };
}

extism_log!(log_trace, TRACE);
extism_log!(log_debug, DEBUG);
extism_log!(log_info, INFO);
extism_log!(log_warn, WARN);
extism_log!(log_error, ERROR);

type HostFn = fn(&mut CurrentPlugin, &[Val], &mut [Val], UserData<()>) -> HostResult;

/// Every host function a plugin may import, fresh for one compiled module.
pub(crate) fn host_functions() -> Vec<Function> {
    let user = |name: &str, params: Vec<ValType>, results: Vec<ValType>, f: HostFn| {
        Function::new(name, params, results, UserData::new(()), f)
    };
    let env_log = |name: &str, f: HostFn| Function::new(name, [PTR], [], UserData::new(()), f).with_namespace(EXTISM_ENV_MODULE);
    vec![
        user("__get_state", vec![PTR], vec![PTR], get_state),
        user("__set_state", vec![PTR, PTR], vec![], set_state),
        user("__send_output", vec![PTR], vec![], send_output),
        env_log("log_trace", log_trace),
        env_log("log_debug", log_debug),
        env_log("log_info", log_info),
        env_log("log_warn", log_warn),
        env_log("log_error", log_error),
    ]
}
