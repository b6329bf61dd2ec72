//! Hostile: on its trigger value it allocates 1 MiB blocks (touching every page) until the
//! host stops it. Any other Integer on `in` is counted in the state (`count`) and echoed on
//! `out`. The trigger is `config.trigger` (default 3).

use reflow_wasm::*;
use serde_json::json;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "MemoryBomb".to_string(),
        description: "allocates without end on its trigger value".to_string(),
        inports: vec![port_def!("in", "a value; the trigger allocates forever", "Integer")],
        outports: vec![port_def!("out", "the value", "Integer"), port_def!("count", "values counted so far", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let trigger = context.config.config.get("trigger").and_then(|v| v.as_i64()).unwrap_or(3);
    let Some(Message::Integer(n)) = context.payload.get("in") else { return Err("expected an Integer on `in`".into()) };
    if *n == trigger {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            blocks.push(std::hint::black_box(vec![0xAB; 1 << 20]));
        }
    }
    let count = context.state.get("count").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    let outputs = HashMap::from([("out".to_string(), Message::Integer(*n)), ("count".to_string(), Message::Integer(count))]);
    Ok(ActorResult { outputs, state: Some(json!({"count": count})) })
}

actor_plugin!(metadata: metadata(), process: process);
