//! Splits each line of text on `line` into lowercase words and sends each on `word` while
//! the call runs (one call, many messages: `send_output`). Used by
//! `examples/graphs/word-count.json`.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Words".to_string(),
        description: "Splits lines into lowercase words".to_string(),
        inports: vec![port_def!("line", "a line of text", "String", required)],
        outports: vec![port_def!("word", "each word of the line, in order", "String")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let line = match context.payload.get("line") {
        Some(Message::String(line)) => line,
        Some(other) => return Err(format!("line must be a String, got {}", other.type_name())),
        None => return Ok(ActorResult { outputs: HashMap::new(), state: None }),
    };
    for word in line.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        send_output(HashMap::from([("word".to_string(), Message::String(word.to_lowercase()))]));
    }
    Ok(ActorResult { outputs: HashMap::new(), state: None })
}

actor_plugin!(metadata: metadata(), process: process);
