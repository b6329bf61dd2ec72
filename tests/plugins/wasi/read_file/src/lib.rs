//! Touches the file system and environment through WASI, which the host grants nothing by
//! default. For each message on `in`:
//! - `"env"`: returns on `env` the environment it sees: `{"wasi": [NAME=value, ..], "granted": resolved_env}`;
//! - `"write"`: writes `written by read_file` to `config.path`;
//! - anything else: reads the file at `config.path` (a path inside the sandbox, such as
//!   `/data/greeting.txt`) and returns its text on `text`.
//!
//! Built for wasm32-wasip1. Without a grant no directory is preopened: every file operation
//! fails inside the plugin, which then returns an error.

use reflow_wasm::*;
use serde_json::json;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "ReadFile".to_string(),
        description: "reads or writes config.path, shows its environment".to_string(),
        inports: vec![port_def!("in", "what to do", "Any")],
        outports: vec![port_def!("text", "the file's text", "String"), port_def!("env", "the environment seen", "Object")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let path = context.config.config.get("path").and_then(|v| v.as_str()).unwrap_or("/data/greeting.txt");
    let mut outputs = HashMap::new();
    match context.payload.get("in") {
        Some(Message::String(s)) if s == "env" => {
            let wasi: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            outputs.insert("env".to_string(), Message::Object(json!({"wasi": wasi, "granted": context.config.resolved_env})));
        }
        Some(Message::String(s)) if s == "write" => {
            std::fs::write(path, "written by read_file").map_err(|e| format!("cannot write {path}: {e}"))?;
        }
        _ => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            outputs.insert("text".to_string(), Message::String(text));
        }
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
