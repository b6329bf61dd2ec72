//! The host functions of `docs/abi.md` (`extism:host/user`), imported once and wrapped once.
//! Both the crate's own API (top level) and the original SDK's [`host`](crate::host) module
//! call these.
//!
//! What can fail on the plugin's side (no Extism memory left for the arguments) is an `Err`
//! here. What the host refuses (a bad handle, bad JSON, the call's output limit) fails the
//! whole call on the host's side: these imports return nothing, so the ABI has no way to hand
//! the refusal back to the plugin. The linker drops the imports a plugin never calls.

use crate::Message;
use extism_pdk::{Error, Memory};
use reflow_abi::serde_json::{self, Value};
use std::collections::HashMap;

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn __get_state(key: u64) -> u64;
    fn __set_state(key: u64, value: u64);
    fn __send_output(outputs: u64);
}

/// The value under `key` in this actor's state, as the host holds it now (`None` if absent,
/// `null`, or if no memory is left to ask).
pub(crate) fn get_state(key: &str) -> Option<Value> {
    let key = Memory::from_bytes(key.as_bytes()).ok()?;
    let handle = unsafe { __get_state(key.offset()) };
    key.free();
    let memory = Memory::find(handle)?;
    let value = serde_json::from_slice(&memory.to_vec()).ok();
    memory.free();
    value.filter(|v: &Value| !v.is_null())
}

pub(crate) fn set_state(key: &str, value: &Value) -> Result<(), Error> {
    let key_mem = Memory::from_bytes(key.as_bytes())?;
    let value_mem = match Memory::from_bytes(value.to_string().as_bytes()) {
        Ok(memory) => memory,
        Err(e) => {
            key_mem.free();
            return Err(e);
        }
    };
    unsafe { __set_state(key_mem.offset(), value_mem.offset()) };
    key_mem.free();
    value_mem.free();
    Ok(())
}

pub(crate) fn send_output(outputs: HashMap<String, Message>) -> Result<(), Error> {
    let json = serde_json::to_vec(&outputs)?;
    send_output_bytes(&json)
}

/// `{port: value}` as it is: each value a tagged message or a plain JSON value.
pub(crate) fn send_output_json(outputs: &serde_json::Map<String, Value>) -> Result<(), Error> {
    send_output_bytes(serde_json::to_string(outputs).expect("JSON values always serialise").as_bytes())
}

fn send_output_bytes(json: &[u8]) -> Result<(), Error> {
    let memory = Memory::from_bytes(json)?;
    unsafe { __send_output(memory.offset()) };
    memory.free();
    Ok(())
}
