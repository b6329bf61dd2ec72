//! Raw ABI exercises for the engines: `echo` returns its input bytes unchanged through the
//! SDK's raw I/O (the bulk path on a Reflow host, the PDK elsewhere), `echo_pdk` the same
//! through the Extism PDK's own input/output loops, `noop` does nothing. Also a valid actor
//! (`process` passes `in` to `out`), so it loads like any plugin. Used by byte-exact tests and
//! benchmarks.

use extism_pdk::Memory;
use reflow_wasm::*;
use std::collections::HashMap;

#[no_mangle]
pub extern "C" fn echo() -> i32 {
    reflow_wasm::raw::with_input(|input| reflow_wasm::raw::set_output(input.to_vec()))
}

#[no_mangle]
pub extern "C" fn echo_pdk() -> i32 {
    let input = extism_pdk::input_bytes();
    if input.is_empty() {
        return 0;
    }
    Memory::from_bytes(&input).unwrap().set_output();
    0
}

#[no_mangle]
pub extern "C" fn noop() -> i32 {
    0
}

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Echo".into(),
        description: "passes messages through".into(),
        inports: vec![port_def!("in", "anything", "Any")],
        outports: vec![port_def!("out", "the same", "Any")],
        config_schema: None,
    }
}

fn pass(context: ActorContext) -> Result<ActorResult, String> {
    let outputs: HashMap<String, Message> = context.payload.get("in").map(|m| ("out".to_string(), m.clone())).into_iter().collect();
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: pass);
