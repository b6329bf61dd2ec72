//! Hostile: calls the host functions with what a buggy or malicious plugin could pass. On
//! `in` (a String) it makes one bad call: `offset` gives `__send_output` a handle that points
//! nowhere, `json` gives it text that is not JSON, `shape` a JSON array instead of an object,
//! `message` an Integer message whose data is text, `state` gives `__set_state` a value that is
//! not JSON, `key` a key that is not UTF-8. Anything else returns normally on `out`.

use extism_pdk::Memory;
use reflow_wasm::*;
use std::collections::HashMap;

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn __set_state(key: u64, value: u64);
    fn __send_output(outputs: u64);
}

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "BadHostCalls".to_string(),
        description: "calls host functions with bad arguments".to_string(),
        inports: vec![port_def!("in", "which bad call to make", "String")],
        outports: vec![port_def!("out", "the input, when no bad call was asked for", "Any")],
        config_schema: None,
    }
}

fn memory(bytes: &[u8]) -> u64 {
    Memory::from_bytes(bytes).expect("memory").offset()
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let Some(Message::String(which)) = context.payload.get("in") else { return Err("expected a String".into()) };
    unsafe {
        match which.as_str() {
            "offset" => __send_output(0xDEAD_BEEF),
            "json" => __send_output(memory(b"{not json")),
            "shape" => __send_output(memory(b"[1, 2, 3]")),
            "message" => __send_output(memory(br#"{"out": {"type": "Integer", "data": "twelve"}}"#)),
            "state" => __set_state(memory(b"key"), memory(b"{oops")),
            "key" => __set_state(memory(&[0xff, 0xfe, 0x00]), memory(b"1")),
            _ => {}
        }
    }
    Ok(ActorResult { outputs: HashMap::from([("out".to_string(), Message::String(which.clone()))]), state: None })
}

actor_plugin!(metadata: metadata(), process: process);
