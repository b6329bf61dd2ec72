//! The Rust SDK seen from a plugin that depends on `reflow_wasm` and nothing else: `port_def!`
//! and `actor_plugin!` must expand, and `ActorContext`, `ActorResult` and `Message` must be
//! usable, without `serde_json` or `extism-pdk` in the plugin's dependencies. The host's tests
//! (`crates/reflow_script/tests/sdk.rs`) read what it sends to learn the SDK's wire format:
//!
//! - the message on `in` comes back on `out` as the SDK decoded and encoded it;
//! - `who` carries the process name from `ActorContext.config`;
//! - the state's `seen` grows by the config's `step` (default 1) and is sent on `seen`,
//!   unless a message is on `keep`: then the result has no state (the state must not change).

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "SdkOnly".to_string(),
        description: "Echoes its input and counts its calls in its state".to_string(),
        inports: vec![
            port_def!("in", "Any message, sent back on out", "Any", required),
            port_def!("keep", "When present, the call returns no state", "Flow"),
        ],
        outports: vec![
            port_def!("out", "The message on in", "Any"),
            port_def!("who", "The process name", "String"),
            port_def!("seen", "The state's count after this call", "Integer"),
        ],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let mut outputs = HashMap::new();
    let message = context.payload.get("in").ok_or("no message on `in`")?;
    outputs.insert("out".to_string(), message.clone());
    outputs.insert("who".to_string(), Message::String(context.config.node_id.clone()));
    if context.payload.contains_key("keep") {
        return Ok(ActorResult { outputs, state: None });
    }
    let step = context.config.get_integer("step").unwrap_or(1);
    let seen = context.state.get("seen").and_then(|seen| seen.as_i64()).unwrap_or(0) + step;
    outputs.insert("seen".to_string(), Message::Integer(seen));
    let mut state = context.state;
    state.insert("seen".to_string(), seen.into());
    Ok(ActorResult { outputs, state: Some(state.into()) })
}

actor_plugin!(metadata: metadata(), process: process);
