//! The native half of the plugin's imports on the wasmtime backend: our host functions
//! (`extism:host/user`) and the parts of `extism:host/env` that need the host (logging,
//! vars, config, HTTP), as typed `func_wrap` functions. The memory half is the kernel module.

use super::kernel::Kernel;
use super::HostState;
use crate::call_state::{deliver, MAX_VAR_BYTES};
use wasmtime::{Caller, Linker, Result};

const ENV: &str = "extism:host/env";
const USER: &str = "extism:host/user";

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
            linker.func_wrap(ENV, $name, |caller: Caller<'_, HostState>, text: u64| -> Result<()> {
                let text = read(&caller, text, $name, "the log line")?;
                let text = String::from_utf8_lossy(&text);
                let state = caller.data();
                state.log.lock().unwrap_or_else(|p| p.into_inner()).log(&state.actor, tracing::Level::$level, &text);
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
    // HTTP to granted hosts only (`crate::http`); the call's remaining time bounds the whole
    // exchange, its output limit the response body.
    linker.func_wrap(ENV, "http_request", |mut caller: Caller<'_, HostState>, request: u64, body: u64| -> Result<u64> {
        let request = read(&caller, request, "http_request", "the request")?;
        let body = if body == 0 { None } else { Some(read(&caller, body, "http_request", "the body")?) };
        let state = caller.data_mut();
        state.http_status = 0;
        if state.http_hosts.is_empty() {
            let url = crate::http::request_url(&request);
            return Err(wasmtime::Error::msg(format!("{} (no HTTP host is granted to this plugin)", crate::http::not_allowed(&url))));
        }
        let time_left = state.deadline.left().unwrap_or(std::time::Duration::MAX);
        let max_body = state.max_output_bytes;
        match crate::http::send(&state.http_hosts, &request, body.as_deref(), time_left, max_body) {
            Ok(response) => {
                state.http_status = response.status;
                kernel(&caller)?.alloc(&mut caller, &response.body)
            }
            Err(failure) => {
                if let (Some(limit), Some(call)) = (failure.limit, state.call.as_mut()) {
                    call.exceeded = Some(limit);
                }
                Err(wasmtime::Error::msg(failure.reason))
            }
        }
    })?;
    linker.func_wrap(ENV, "http_status_code", |caller: Caller<'_, HostState>| -> i32 { i32::from(caller.data().http_status) })?;
    // Response headers are off, as in Extism's default.
    linker.func_wrap(ENV, "http_headers", || -> u64 { 0 })?;
    Ok(())
}
