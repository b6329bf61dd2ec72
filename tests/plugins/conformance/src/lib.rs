//! The Rust SDK's conformance plugin: the protocol of `tests/conformance/README.md`, written
//! with `reflow_wasm`'s own API. The harness (`crates/reflow_script/tests/conformance.rs`)
//! runs every case of `tests/conformance/cases` against it and the other SDKs' plugins.

use reflow_wasm::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Conformance".to_string(),
        description: "The ABI conformance plugin (tests/conformance)".to_string(),
        inports: vec![port_def!("cmd", "What to do", "Object", required), port_def!("in", "A message to echo", "Any")],
        outports: vec![
            port_def!("out", "The answer", "Any"),
            port_def!("extra", "A second answer", "Any"),
            port_def!("sent", "Messages sent during the call", "Any"),
            port_def!("count", "The counter", "Integer"),
        ],
        config_schema: Some(json!({"type": "object", "properties": {"initial_value": {"type": "integer", "default": 0}}})),
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let Some(Message::Object(cmd)) = context.payload.get("cmd") else {
        return Err("conformance: no Object command on `cmd`".to_string());
    };
    let op = cmd["op"].as_str().unwrap_or("");
    let mut outputs = HashMap::new();
    let mut state = None;
    match op {
        "echo" => {
            let message = context.payload.get("in").cloned().ok_or("conformance: echo needs a message on `in`")?;
            outputs.insert("out".to_string(), message);
        }
        "make" => {
            outputs.insert("out".to_string(), make(cmd["type"].as_str().unwrap_or(""), &cmd["data"])?);
        }
        "send_plain" => {
            let mut sent = Map::new();
            sent.insert(text(&cmd["port"]).to_string(), cmd["value"].clone());
            send_output_json(&sent);
        }
        "send_then_return" => {
            for pair in cmd["send"].as_array().into_iter().flatten() {
                let message = tagged(&pair[1])?;
                send_output(HashMap::from([(text(&pair[0]).to_string(), message)]));
            }
            for (port, value) in cmd["return"].as_object().into_iter().flatten() {
                outputs.insert(port.clone(), tagged(value)?);
            }
        }
        "get_state" => {
            outputs.insert("out".to_string(), Message::Any(get_state(text(&cmd["key"])).unwrap_or(Value::Null)));
        }
        "set_get" => {
            let key = text(&cmd["key"]);
            set_state(key, &cmd["value"]);
            outputs.insert("out".to_string(), Message::Any(get_state(key).unwrap_or(Value::Null)));
        }
        "count" => {
            let before = match context.state.get("count") {
                Some(count) => count.as_i64().unwrap_or(0),
                None => context.config.get_integer("initial_value").unwrap_or(0),
            };
            state = Some(json!({"count": before + 1}));
            outputs.insert("count".to_string(), Message::Integer(before + 1));
        }
        "keep_state" => {
            outputs.insert("out".to_string(), Message::Flow);
        }
        "fail" => {
            if cmd["dirty"].as_bool() == Some(true) {
                set_state("dirty", &Value::Bool(true));
                send_output(HashMap::from([("sent".to_string(), Message::String("before failing".into()))]));
            }
            return Err(text(&cmd["message"]).to_string());
        }
        "config" => {
            let config = &context.config;
            outputs.insert(
                "out".to_string(),
                Message::Object(json!({
                    "integer": config.get_integer("i"),
                    "number": config.get_number("n"),
                    "string": config.get_string("s"),
                    "bool": config.get_bool("b"),
                    "missing": config.get_string("absent"),
                    "node_id": config.node_id,
                    "component": config.component,
                })),
            );
        }
        "fill" => {
            let bytes = cmd["bytes"].as_u64().unwrap_or(0) as usize;
            let mut blob = Map::new();
            blob.insert(text(&cmd["key"]).to_string(), Value::String("x".repeat(bytes)));
            state = Some(Value::Object(blob));
            outputs.insert("out".to_string(), Message::Integer(bytes as i64));
        }
        "measure" => {
            let key = text(&cmd["key"]);
            let length = |v: Option<&Value>| v.and_then(Value::as_str).map_or(-1, |s| s.len() as i64);
            outputs.insert("out".to_string(), Message::Integer(length(context.state.get(key))));
            outputs.insert("extra".to_string(), Message::Integer(length(get_state(key).as_ref())));
        }
        "flood" => {
            let count = cmd["count"].as_i64().unwrap_or(0);
            for i in 0..count {
                send_output(HashMap::from([("sent".to_string(), Message::Integer(i))]));
            }
            outputs.insert("out".to_string(), Message::Integer(count));
        }
        other => return Err(format!("conformance: unknown op {other:?}")),
    }
    Ok(ActorResult { outputs, state })
}

/// A message of type `ty` from `data`, through the SDK's constructors (the enum's variants).
fn make(ty: &str, data: &Value) -> Result<Message, String> {
    let wrong = || format!("conformance: cannot make a {ty} from {data}");
    Ok(match ty {
        "Flow" => Message::Flow,
        "Event" => Message::Event(data.clone()),
        "Boolean" => Message::Boolean(data.as_bool().ok_or_else(wrong)?),
        "Integer" => Message::Integer(data.as_i64().ok_or_else(wrong)?),
        "Float" => Message::Float(data.as_f64().ok_or_else(wrong)?),
        "String" => Message::String(data.as_str().ok_or_else(wrong)?.to_string()),
        "Object" => Message::Object(data.clone()),
        "Array" => Message::Array(data.as_array().ok_or_else(wrong)?.clone()),
        "Stream" => Message::Stream(
            data.as_array()
                .ok_or_else(wrong)?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(wrong))
                .collect::<Result<_, _>>()?,
        ),
        "Optional" => Message::Optional((!data.is_null()).then(|| Box::new(data.clone()))),
        "Any" => Message::Any(data.clone()),
        "Error" => Message::Error(data.as_str().ok_or_else(wrong)?.to_string()),
        _ => return Err(wrong()),
    })
}

/// A tagged message from the command, read as the SDK reads the host's messages.
fn tagged(value: &Value) -> Result<Message, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("conformance: bad message {value}: {e}"))
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

actor_plugin!(metadata: metadata(), process: process);
