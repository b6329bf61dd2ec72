//! The host functions as the original Reflow SDK offered them, so plugins written for it
//! compile unchanged: `host::send_output(outputs)?`, `host::set_state("count", json!(n))?`,
//! `host::get_state("count")`.
//!
//! The fallible ones return the PDK's [`Error`] (an `anyhow::Error`), as the original did, so
//! `?` works in functions returning `FnResult`, `anyhow::Result` or `Box<dyn Error>`. An
//! `Err` means the plugin could not even hand the call to the host (its memory is
//! exhausted). A refusal by the host (a bad handle, the call's output limit) fails the whole
//! call instead: the ABI's host functions return nothing the plugin could read.

pub use extism_pdk::Error;

use crate::imports;
use crate::Message;
use reflow_abi::serde_json::Value;
use std::collections::HashMap;

/// Sends messages on outports now, while `process` is still running; they arrive downstream
/// before the outputs `process` returns.
pub fn send_output(outputs: HashMap<String, Message>) -> Result<(), Error> {
    imports::send_output(outputs)
}

/// The value under `key` in this actor's state (`None` if absent or `null`).
pub fn get_state(key: &str) -> Option<Value> {
    imports::get_state(key)
}

/// Sets `key` to `value` in this actor's state at once (before `process` returns).
pub fn set_state(key: &str, value: Value) -> Result<(), Error> {
    imports::set_state(key, &value)
}
