//! Fails on request: `fail` returns an error (its String data is the message), `panic`
//! panics (a trap in wasm), `loop` loops until the call's time limit, anything on `in` is
//! echoed to `out`. Its state counts the calls that did not fail; it calls no host function,
//! so a Reflow host may pass it several messages in one call (docs/abi.md, "Batches").

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Failing".to_string(),
        description: "fails on request".to_string(),
        inports: vec![
            port_def!("in", "echoed", "Any"),
            port_def!("fail", "error message", "String"),
            port_def!("panic", "panics", "Any"),
            port_def!("loop", "loops until the time limit", "Any"),
        ],
        outports: vec![port_def!("out", "echo", "Any")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    if let Some(Message::String(reason)) = context.payload.get("fail") {
        return Err(reason.clone());
    }
    if context.payload.contains_key("panic") {
        panic!("failing plugin panicked on purpose");
    }
    if context.payload.contains_key("loop") {
        let mut spins = 0u64;
        loop {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
    let mut outputs = HashMap::new();
    if let Some(message) = context.payload.get("in") {
        outputs.insert("out".to_string(), message.clone());
    }
    let mut state = serde_json::Map::new();
    state.insert("echoed".into(), serde_json::json!(context.state.get("echoed").and_then(|v| v.as_i64()).unwrap_or(0) + 1));
    Ok(ActorResult { outputs, state: Some(serde_json::Value::Object(state)) })
}

actor_plugin!(metadata: metadata(), process: process);
