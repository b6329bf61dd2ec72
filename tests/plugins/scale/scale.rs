// The body of the `scale_double` and `scale_triple` fixtures (each sets FACTOR and includes
// this): on `in` (Integer n) it sends `out` {"value": n * FACTOR, "seen": calls so far}, the
// call count kept in the actor's state, so a hot swap from one to the other shows that the
// state was carried over and which version answered each message.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Scale".to_string(),
        description: "multiplies by a constant and counts its calls".to_string(),
        inports: vec![port_def!("in", "a number", "Integer")],
        outports: vec![port_def!("out", "{value, seen}", "Object")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let Some(Message::Integer(n)) = context.payload.get("in") else { return Err("`in` takes an Integer".into()) };
    let seen = context.state.get("seen").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    let mut outputs = HashMap::new();
    outputs.insert("out".to_string(), Message::Object(serde_json::json!({ "value": n * FACTOR, "seen": seen })));
    Ok(ActorResult { outputs, state: Some(serde_json::json!({ "seen": seen })) })
}

actor_plugin!(metadata: metadata(), process: process);
