//! The Extism-crate backend's host functions: `__get_state`, `__set_state`, `__send_output`
//! (`extism:host/user`) and Extism's log functions, rerouted to our `tracing` target.
//!
//! Host functions find the actor they serve through Extism's per-call host context, a
//! [`CallContext`] set for each call. A compiled module is shared by many actors, so nothing
//! actor-specific may live in the functions themselves. The meaning of each function (and
//! the call's output budgets) is in `call_state.rs`, shared with the wasmtime backend.

use crate::call_state::{deliver, plugin_log, CallState, MAX_VAR_BYTES};
use crate::extism_kernel::{copy_block, new_block};
use extism::convert::MemoryHandle;
use extism::{CurrentPlugin, Function, UserData, Val, ValType, EXTISM_ENV_MODULE, PTR};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone)]
pub(crate) struct CallContext {
    state: Arc<Mutex<CallState>>,
    /// Set when the host gave the call up (`ExtismInstance::call`): whatever the plugin still
    /// does on its abandoned thread reaches nothing.
    closed: Arc<AtomicBool>,
}

impl CallContext {
    pub fn new(state: CallState) -> Self {
        CallContext { state: Arc::new(Mutex::new(state)), closed: Arc::default() }
    }

    pub fn lock(&self) -> MutexGuard<'_, CallState> {
        // A panic while holding this lock can only come from our own host code; the state
        // inside is still a valid map, so keep using it rather than poisoning the actor.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the call for its host functions: each fails from now on, and its sink is dropped.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.lock().sink = None;
    }
}

type HostResult = Result<(), extism::Error>;

/// A state key longer than this is not read (keys are names, not data).
const MAX_KEY_BYTES: u64 = 1 << 20;

fn context(plugin: &mut CurrentPlugin, function: &str) -> Result<CallContext, extism::Error> {
    let context = plugin
        .host_context::<CallContext>()
        .map(|c| c.clone())
        .map_err(|_| extism::Error::msg(format!("{function} called outside a process call")))?;
    if context.closed.load(Ordering::Acquire) {
        return Err(extism::Error::msg(format!("{function}: the call was given up at its time limit")));
    }
    Ok(context)
}

/// The block at the handle `arg` (`None` for handle 0, the empty text), or an error naming
/// the function and argument for a handle the kernel does not know (a wild number; refused
/// here before Extism's own message, which names its plugin id instead of the argument).
fn handle_of(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str) -> Result<Option<MemoryHandle>, extism::Error> {
    if arg.i64() == Some(0) {
        return Ok(None);
    }
    plugin
        .memory_from_val(arg)
        .map(Some)
        .ok_or_else(|| invalid_handle(arg, function, what))
}

fn invalid_handle(arg: &Val, function: &str, what: &str) -> extism::Error {
    extism::Error::msg(format!("{function}: {what}: not a valid memory handle ({})", arg.i64().unwrap_or(-1)))
}

/// The bytes at the handle `arg`, if they are no more than `max`.
fn read_bytes(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str, max: u64) -> Result<Vec<u8>, extism::Error> {
    let Some(handle) = handle_of(plugin, arg, function, what)? else { return Ok(Vec::new()) };
    if handle.length > max {
        if let Ok(ctx) = plugin.host_context::<CallContext>() {
            ctx.lock().exceeded = Some(crate::Limit::Output);
        }
        return Err(extism::Error::msg(format!("{function}: the call's output limit is exceeded")));
    }
    copy_block(plugin, handle).ok_or_else(|| invalid_handle(arg, function, what))
}

fn read_str(plugin: &mut CurrentPlugin, arg: &Val, function: &str, what: &str, max: u64) -> Result<String, extism::Error> {
    String::from_utf8(read_bytes(plugin, arg, function, what, max)?)
        .map_err(|_| extism::Error::msg(format!("{function}: {what} is not UTF-8")))
}

fn get_state(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__get_state")?;
    let key = read_str(plugin, &inputs[0], "__get_state", "the key", MAX_KEY_BYTES)?;
    let value = ctx.lock().get(&key);
    let handle = new_block(plugin, value.as_bytes())?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

fn set_state(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__set_state")?;
    let budget = ctx.lock().state_budget;
    let key = read_str(plugin, &inputs[0], "__set_state", "the key", budget)?;
    let value = read_bytes(plugin, &inputs[1], "__set_state", "the value", budget)?;
    let result = ctx.lock().set(key, &value);
    result.map_err(extism::Error::msg)
}

fn send_output(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "__send_output")?;
    let budget = ctx.lock().send_budget;
    let outputs = read_bytes(plugin, &inputs[0], "__send_output", "the outputs", budget)?;
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
            let ctx = plugin.host_context::<CallContext>().map(|c| c.clone()).ok();
            let handle = handle_of(plugin, &inputs[0], stringify!($name), "the log line")?;
            let text = match (handle, &ctx) {
                // A line over the log budget is dropped unread (see `handle_of`).
                (Some(handle), Some(ctx)) if handle.length > ctx.lock().log.left => None,
                (Some(handle), _) => Some(copy_block(plugin, handle).ok_or_else(|| invalid_handle(&inputs[0], stringify!($name), "the log line"))?),
                (None, _) => Some(Vec::new()),
            };
            // The log functions take ownership of the handle (Extism frees it too).
            if let Some(handle) = handle {
                plugin.memory_free(handle)?;
            }
            match (ctx, text) {
                (Some(ctx), Some(text)) => ctx.lock().log(tracing::Level::$level, &String::from_utf8_lossy(&text)),
                (Some(ctx), None) => {
                    let mut call = ctx.lock();
                    let actor = call.actor.clone();
                    call.log.over(&actor);
                }
                (None, text) => plugin_log(tracing::Level::$level, "?", &String::from_utf8_lossy(&text.unwrap_or_default())),
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

/// Extism's own `http_request` follows redirects to any host (it checks the first URL only):
/// ours (`crate::http`, the same on both backends) replaces it, shadowing it in the linker.
fn http_request(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let ctx = context(plugin, "http_request")?;
    let request = read_bytes(plugin, &inputs[0], "http_request", "the request", u64::MAX)?;
    let body = match inputs[1].i64() {
        Some(0) | None => None,
        Some(_) => Some(read_bytes(plugin, &inputs[1], "http_request", "the body", u64::MAX)?),
    };
    ctx.lock().http_status = 0;
    let manifest = plugin.manifest();
    let granted = manifest.allowed_hosts.clone().unwrap_or_default();
    let max_body = manifest.memory.max_http_response_bytes.unwrap_or(u64::MAX);
    let time_left = plugin.time_remaining().unwrap_or(std::time::Duration::MAX);
    match crate::http::send(&granted, &request, body.as_deref(), time_left, max_body) {
        Ok(response) => {
            ctx.lock().http_status = response.status;
            let handle = new_block(plugin, &response.body)?;
            outputs[0] = plugin.memory_to_val(handle);
            Ok(())
        }
        Err(failure) => {
            if let Some(limit) = failure.limit {
                ctx.lock().exceeded = Some(limit);
            }
            Err(extism::Error::msg(failure.reason))
        }
    }
}

fn http_status_code(plugin: &mut CurrentPlugin, _: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let status = plugin.host_context::<CallContext>().map_or(0, |c| c.lock().http_status);
    outputs[0] = Val::I32(i32::from(status));
    Ok(())
}

/// Extism's config and vars functions read their keys as unchecked slices too (see
/// `extism_kernel`): ours, with the same meaning (the manifest's config, the plugin's vars
/// kept across calls, the same 1 MiB cap), read and write through the checked copies.
fn config_get(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let key = read_str(plugin, &inputs[0], "config_get", "the key", MAX_KEY_BYTES)?;
    let value = plugin.manifest().config.get(&key).cloned();
    outputs[0] = Val::I64(match value {
        Some(value) => new_block(plugin, value.as_bytes())?.offset as i64,
        None => 0,
    });
    Ok(())
}

fn var_get(plugin: &mut CurrentPlugin, inputs: &[Val], outputs: &mut [Val], _: UserData<()>) -> HostResult {
    let key = read_str(plugin, &inputs[0], "var_get", "the key", MAX_KEY_BYTES)?;
    let value = plugin.vars().get(&key).cloned();
    outputs[0] = Val::I64(match value {
        Some(value) => new_block(plugin, &value)?.offset as i64,
        None => 0,
    });
    Ok(())
}

fn var_set(plugin: &mut CurrentPlugin, inputs: &[Val], _: &mut [Val], _: UserData<()>) -> HostResult {
    let key = read_str(plugin, &inputs[0], "var_set", "the key", MAX_KEY_BYTES)?;
    if inputs[1].i64() == Some(0) {
        plugin.vars_mut().remove(&key);
        return Ok(());
    }
    let value = read_bytes(plugin, &inputs[1], "var_set", "the value", MAX_VAR_BYTES as u64)?;
    let vars = plugin.vars_mut();
    let used: usize = vars.iter().filter(|(k, _)| **k != key).map(|(k, v)| k.len() + v.len()).sum();
    if used + key.len() + value.len() > MAX_VAR_BYTES {
        return Err(extism::Error::msg(format!("var_set: the plugin's vars would exceed {MAX_VAR_BYTES} bytes")));
    }
    vars.insert(key, value);
    Ok(())
}

type HostFn = fn(&mut CurrentPlugin, &[Val], &mut [Val], UserData<()>) -> HostResult;

/// Every host function a plugin may import, fresh for one compiled module, with the kernel
/// functions shadowed over `slots` (`extism_kernel`).
pub(crate) fn host_functions(slots: &crate::extism_kernel::Slots) -> Vec<Function> {
    let user = |name: &str, params: Vec<ValType>, results: Vec<ValType>, f: HostFn| {
        Function::new(name, params, results, UserData::new(()), f)
    };
    let env = |name: &str, params: Vec<ValType>, results: Vec<ValType>, f: HostFn| {
        Function::new(name, params, results, UserData::new(()), f).with_namespace(EXTISM_ENV_MODULE)
    };
    let mut functions = vec![
        user("__get_state", vec![PTR], vec![PTR], get_state),
        user("__set_state", vec![PTR, PTR], vec![], set_state),
        user("__send_output", vec![PTR], vec![], send_output),
        env("log_trace", vec![PTR], vec![], log_trace),
        env("log_debug", vec![PTR], vec![], log_debug),
        env("log_info", vec![PTR], vec![], log_info),
        env("log_warn", vec![PTR], vec![], log_warn),
        env("log_error", vec![PTR], vec![], log_error),
        env("http_request", vec![PTR, PTR], vec![PTR], http_request),
        env("http_status_code", vec![], vec![ValType::I32], http_status_code),
        env("config_get", vec![PTR], vec![PTR], config_get),
        env("var_get", vec![PTR], vec![PTR], var_get),
        env("var_set", vec![PTR, PTR], vec![], var_set),
    ];
    functions.extend(crate::extism_kernel::functions(slots));
    functions
}
