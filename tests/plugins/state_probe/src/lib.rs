//! Exercises every host function: on `add` (Integer n) it reads `total` with `__get_state`,
//! writes `total + n` with `__set_state`, sends `progress` (and an undeclared `debug` port)
//! with `__send_output`, logs a line, and returns `total` with no `state` (so the host must
//! keep what `__set_state` wrote). On `read` it returns the raw `__get_state` of a key.
//! Every call also reports on `calls` how many calls this instance has served, which shows
//! whether the host reuses one instance (it counts up) or makes new ones (always 1).

use reflow_wasm::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

static CALLS: AtomicI64 = AtomicI64::new(0);

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "StateProbe".to_string(),
        description: "host function round trips".to_string(),
        inports: vec![
            port_def!("add", "add to total", "Integer"),
            port_def!("read", "state key to read", "String"),
            port_def!("trap", "traps (after a __set_state write)", "Any"),
        ],
        outports: vec![
            port_def!("total", "running total", "Integer"),
            port_def!("progress", "sent during the call", "Any"),
            port_def!("value", "a state value", "Any"),
            port_def!("calls", "calls served by this instance", "Integer"),
        ],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let mut outputs = HashMap::new();
    let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    outputs.insert("calls".to_string(), Message::Integer(calls));
    if context.payload.contains_key("trap") {
        // A write, then a trap (division by a runtime zero): the host must discard the write
        // and replace the instance.
        set_state("poisoned", &json!(true));
        let zero = context.payload.len() as i64 - 1;
        outputs.insert("calls".to_string(), Message::Integer(calls / zero));
    }
    if let Some(Message::Integer(n)) = context.payload.get("add") {
        let before = get_state("total").and_then(|v| v.as_i64()).unwrap_or(0);
        set_state("total", &json!(before + n));
        log_info(&format!("total {before} -> {}", before + n));
        let mut sent = HashMap::new();
        sent.insert("progress".to_string(), Message::String(format!("adding {n}")));
        send_output(sent);
        let mut undeclared = HashMap::new();
        undeclared.insert("debug".to_string(), Message::Integer(before));
        send_output(undeclared);
        outputs.insert("total".to_string(), Message::Integer(before + n));
    }
    if let Some(Message::String(key)) = context.payload.get("read") {
        let value = get_state(key).unwrap_or(serde_json::Value::Null);
        outputs.insert("value".to_string(), Message::Any(value));
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
