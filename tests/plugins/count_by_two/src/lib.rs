//! The example counter (examples/rust/counter), same ports and state, counting by two: the
//! "new version" whose replay on a recording of the counter must differ at every call.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Counter".to_string(),
        description: "Stateful counter actor that counts by two".to_string(),
        inports: vec![
            port_def!("increment", "Increment counter", "Flow"),
            port_def!("decrement", "Decrement counter", "Flow"),
            port_def!("reset", "Reset counter", "Flow"),
        ],
        outports: vec![port_def!("count", "Current count", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let initial = context.config.get_integer("initial_value").unwrap_or(0);
    let mut count = context.state.get("count").and_then(|v| v.as_i64()).unwrap_or(initial);
    if context.payload.contains_key("increment") {
        count += 2;
    } else if context.payload.contains_key("decrement") {
        count -= 2;
    } else if context.payload.contains_key("reset") {
        count = initial;
    }
    let mut outputs = HashMap::new();
    outputs.insert("count".to_string(), Message::Integer(count));
    Ok(ActorResult { outputs, state: Some(serde_json::json!({ "count": count })) })
}

actor_plugin!(metadata: metadata(), process: process);
