//! Hostile: gigantic outputs. An Integer `n` on `return` returns a String of `n` bytes on
//! `out`; on `send` it sends one with `__send_output`; on `state` it writes one into the
//! state with `__set_state`, under a new key each time; on `log` it logs `n` lines of 100
//! bytes. The host caps what one call may hand it.

use reflow_wasm::*;
use serde_json::json;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Flood".to_string(),
        description: "returns, sends or stores n bytes".to_string(),
        inports: vec![
            port_def!("return", "bytes to return", "Integer"),
            port_def!("send", "bytes to send", "Integer"),
            port_def!("state", "bytes to store", "Integer"),
            port_def!("log", "100-byte lines to log", "Integer"),
        ],
        outports: vec![port_def!("out", "n bytes of text", "String")],
        config_schema: None,
    }
}

fn text(n: &i64) -> String {
    "x".repeat((*n).max(0) as usize)
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let mut outputs = HashMap::new();
    if let Some(Message::Integer(n)) = context.payload.get("return") {
        outputs.insert("out".to_string(), Message::String(text(n)));
    }
    if let Some(Message::Integer(n)) = context.payload.get("send") {
        send_output(HashMap::from([("out".to_string(), Message::String(text(n)))]));
    }
    if let Some(Message::Integer(n)) = context.payload.get("state") {
        set_state(&format!("blob{}", context.state.len()), &json!(text(n)));
    }
    if let Some(Message::Integer(n)) = context.payload.get("log") {
        for i in 0..*n {
            log_info(&format!("{i:>10} {}", "x".repeat(89)));
        }
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
