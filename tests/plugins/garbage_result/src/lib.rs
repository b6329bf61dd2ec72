//! Breaks the ABI on purpose: valid metadata, but `process` outputs text that is not JSON.

use extism_pdk::Memory;
use reflow_wasm::*;

#[no_mangle]
pub extern "C" fn get_metadata() -> i32 {
    let meta = PluginMetadata {
        component: "Garbage".into(),
        description: "returns invalid JSON".into(),
        inports: vec![port_def!("in", "anything", "Any")],
        outports: vec![port_def!("out", "never sent", "Any")],
        config_schema: None,
    };
    Memory::from_bytes(serde_json::to_vec(&meta).unwrap()).unwrap().set_output();
    0
}

#[no_mangle]
pub extern "C" fn process() -> i32 {
    Memory::from_bytes(b"{\"outputs\": not json").unwrap().set_output();
    0
}
