//! The native half of the plugin's imports on the wasmtime backend: our host functions
//! (`extism:host/user`) and the parts of `extism:host/env` that need the host (logging,
//! vars, config, HTTP), as typed `func_wrap` functions. The memory half is the kernel module.

use super::kernel::Kernel;
use super::HostState;
use crate::call_state::deliver;
use wasmtime::{Caller, Linker, Result};

const ENV: &str = "extism:host/env";
const USER: &str = "extism:host/user";
/// Extism's cap on one plugin's vars, kept for compatibility.
const MAX_VAR_BYTES: usize = 1 << 20;

fn kernel(caller: &Caller<'_, HostState>) -> Result<Kernel> {
    caller.data().kernel.ok_or_else(|| wasmtime::Error::msg("the kernel memory is not set up"))
}

/// The bytes of a block the plugin passed, or an error naming the function and argument.
fn read(caller: &Caller<'_, HostState>, handle: u64, function: &str, what: &str) -> Result<Vec<u8>> {
    kernel(caller)?
        .block(caller, handle)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::Error::msg(format!("{function}: {what}: not a valid memory handle ({handle})")))
}

fn read_string(caller: &Caller<'_, HostState>, handle: u64, function: &str, what: &str) -> Result<String> {
    String::from_utf8(read(caller, handle, function, what)?)
        .map_err(|_| wasmtime::Error::msg(format!("{function}: {what} is not UTF-8")))
}

fn outside_call(function: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("{function} called outside a process call"))
}

/// Extism's level numbers: 0 trace .. 4 error; i32::MAX turns the PDK's logging off.
fn log_level() -> i32 {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => i32::MAX,
        f if f >= LevelFilter::TRACE => 0,
        f if f >= LevelFilter::DEBUG => 1,
        f if f >= LevelFilter::INFO => 2,
        f if f >= LevelFilter::WARN => 3,
        _ => 4,
    }
}

pub(super) fn define(linker: &mut Linker<HostState>) -> Result<()> {
    linker.func_wrap(USER, "__get_state", |mut caller: Caller<'_, HostState>, key: u64| -> Result<u64> {
        let key = read_string(&caller, key, "__get_state", "the key")?;
        let value = caller.data().call.as_ref().ok_or_else(|| outside_call("__get_state"))?.get(&key);
        kernel(&caller)?.alloc(&mut caller, value.as_bytes())
    })?;
    linker.func_wrap(USER, "__set_state", |mut caller: Caller<'_, HostState>, key: u64, value: u64| -> Result<()> {
        let key = read_string(&caller, key, "__set_state", "the key")?;
        let value = read(&caller, value, "__set_state", "the value")?;
        let call = caller.data_mut().call.as_mut().ok_or_else(|| outside_call("__set_state"))?;
        call.set(key, &value).map_err(wasmtime::Error::msg)
    })?;
    linker.func_wrap(USER, "__send_output", |mut caller: Caller<'_, HostState>, outputs: u64| -> Result<()> {
        let outputs = read(&caller, outputs, "__send_output", "the outputs")?;
        let call = caller.data_mut().call.as_mut().ok_or_else(|| outside_call("__send_output"))?;
        let messages = call.take_outputs(&outputs).map_err(wasmtime::Error::msg)?;
        deliver(call.sink.clone().as_ref(), messages);
        Ok(())
    })?;

    macro_rules! log_fn {
        ($name:literal, $level:ident) => {
            linker.func_wrap(ENV, $name, |mut caller: Caller<'_, HostState>, text: u64| -> Result<()> {
                let text = read(&caller, text, $name, "the log line")?;
                let text = String::from_utf8_lossy(&text);
                let state = caller.data_mut();
                match state.call.as_mut() {
                    Some(call) => call.log(tracing::Level::$level, &text),
                    None => crate::call_state::plugin_log(tracing::Level::$level, &state.actor, &text),
                }
                Ok(())
            })?;
        };
    }
    log_fn!("log_trace", TRACE);
    log_fn!("log_debug", DEBUG);
    log_fn!("log_info", INFO);
    log_fn!("log_warn", WARN);
    log_fn!("log_error", ERROR);
    linker.func_wrap(ENV, "get_log_level", || -> i32 { log_level() })?;

    // Extism's manifest config: plugins run by reflow get their configuration in the
    // ActorContext instead; only the granted env values are there (as on the Extism backend).
    linker.func_wrap(ENV, "config_get", |mut caller: Caller<'_, HostState>, key: u64| -> Result<u64> {
        let key = read_string(&caller, key, "config_get", "the key")?;
        match caller.data().config.get(&key).cloned() {
            Some(value) => kernel(&caller)?.alloc(&mut caller, value.as_bytes()),
            None => Ok(0),
        }
    })?;
    linker.func_wrap(ENV, "var_get", |mut caller: Caller<'_, HostState>, key: u64| -> Result<u64> {
        let key = read_string(&caller, key, "var_get", "the key")?;
        match caller.data().vars.get(&key).cloned() {
            Some(value) => kernel(&caller)?.alloc(&mut caller, &value),
            None => Ok(0),
        }
    })?;
    linker.func_wrap(ENV, "var_set", |mut caller: Caller<'_, HostState>, key: u64, value: u64| -> Result<()> {
        let key = read_string(&caller, key, "var_set", "the key")?;
        if value == 0 {
            caller.data_mut().vars.remove(&key);
            return Ok(());
        }
        let value = read(&caller, value, "var_set", "the value")?;
        let vars = &mut caller.data_mut().vars;
        let used: usize = vars.iter().filter(|(k, _)| **k != key).map(|(k, v)| k.len() + v.len()).sum();
        if used + key.len() + value.len() > MAX_VAR_BYTES {
            return Err(wasmtime::Error::msg(format!("var_set: the plugin's vars would exceed {MAX_VAR_BYTES} bytes")));
        }
        vars.insert(key, value);
        Ok(())
    })?;
    // No HTTP client here: a module granted HTTP hosts runs on the Extism backend. Refused
    // with the words Extism uses for a host that is not granted.
    linker.func_wrap(ENV, "http_request", |caller: Caller<'_, HostState>, request: u64, _: u64| -> Result<u64> {
        let request = read(&caller, request, "http_request", "the request")?;
        let url = serde_json::from_slice::<serde_json::Value>(&request)
            .ok()
            .and_then(|r| r.get("url").and_then(|u| u.as_str()).map(str::to_string))
            .unwrap_or_default();
        Err(wasmtime::Error::msg(format!("HTTP request to {url} is not allowed (no HTTP host is granted to this plugin)")))
    })?;
    linker.func_wrap(ENV, "http_status_code", || -> i32 { 0 })?;
    linker.func_wrap(ENV, "http_headers", || -> u64 { 0 })?;
    Ok(())
}
