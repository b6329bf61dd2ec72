//! Safe wrappers over the host functions of `docs/abi.md` (`extism:host/user`).
//!
//! The imports are only referenced from here; the linker drops the ones a plugin never calls.

use crate::Message;
use extism_pdk::Memory;
use reflow_abi::serde_json::{self, Value};
use std::collections::HashMap;

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn __get_state(key: u64) -> u64;
    fn __set_state(key: u64, value: u64);
    fn __send_output(outputs: u64);
}

/// Allocates `bytes` in Extism memory. Allocation fails only when the plugin's memory is
/// exhausted, which leaves nothing sensible to do but stop the call.
fn to_memory(bytes: &[u8]) -> Memory {
    Memory::from_bytes(bytes).expect("out of Extism memory")
}

/// The value under `key` in this actor's state, as the host holds it now (`None` if absent).
pub fn get_state(key: &str) -> Option<Value> {
    let key = to_memory(key.as_bytes());
    let handle = unsafe { __get_state(key.offset()) };
    key.free();
    let memory = Memory::find(handle)?;
    let value = serde_json::from_slice(&memory.to_vec()).ok();
    memory.free();
    value.filter(|v: &Value| !v.is_null())
}

/// Sets `key` to `value` in this actor's state at once (before `process` returns).
pub fn set_state(key: &str, value: &Value) {
    let key_mem = to_memory(key.as_bytes());
    let value_mem = to_memory(value.to_string().as_bytes());
    unsafe { __set_state(key_mem.offset(), value_mem.offset()) };
    key_mem.free();
    value_mem.free();
}

/// Sends messages on outports now, while `process` is still running; they arrive downstream
/// before the outputs `process` returns.
pub fn send_output(outputs: HashMap<String, Message>) {
    let json = serde_json::to_vec(&outputs).expect("messages always serialise");
    let memory = to_memory(&json);
    unsafe { __send_output(memory.offset()) };
    memory.free();
}
