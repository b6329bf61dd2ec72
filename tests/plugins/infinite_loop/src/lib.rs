//! Hostile: loops forever on its trigger value. Any other Integer on `in` is counted in the
//! state (`count`, returned) and echoed on `out` (sent with `__send_output` during the call),
//! so a test can see that a restart kept the count from before the looping call, and can hold
//! a call inside the host. The trigger is `config.trigger` (default 3).

use reflow_wasm::*;
use serde_json::json;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "InfiniteLoop".to_string(),
        description: "loops forever on its trigger value".to_string(),
        inports: vec![port_def!("in", "a value; the trigger loops", "Integer")],
        outports: vec![port_def!("out", "the value", "Integer"), port_def!("count", "values counted so far", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let trigger = context.config.config.get("trigger").and_then(|v| v.as_i64()).unwrap_or(3);
    let Some(Message::Integer(n)) = context.payload.get("in") else { return Err("expected an Integer on `in`".into()) };
    if *n == trigger {
        let mut spins = 0u64;
        loop {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
    send_output(HashMap::from([("out".to_string(), Message::Integer(*n))]));
    let count = context.state.get("count").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    let outputs = HashMap::from([("count".to_string(), Message::Integer(count))]);
    Ok(ActorResult { outputs, state: Some(json!({"count": count})) })
}

actor_plugin!(metadata: metadata(), process: process);
