//! The Rust SDK crate (`reflow_wasm`) itself, through `sdk_only`, a plugin that depends on it
//! alone: what its macros export and the JSON its types write, read raw from the `extism`
//! crate (so no decoding of ours stands in between), then the same plugin through our engine.

use crate::support::*;
use reflow_script::{Backend, ExtismEngine, Limits, Message, PluginModule, ScriptConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `export` of `bytes` called with `input` on a plain Extism plugin, its output as JSON.
fn raw_call(bytes: &[u8], export: &str, input: &Value) -> Value {
    let mut plugin = extism::Plugin::new(bytes, [], false).expect("an Extism plugin");
    let output = plugin.call::<&[u8], Vec<u8>>(export, input.to_string().as_bytes()).unwrap_or_else(|e| panic!("{export}: {e:#}"));
    serde_json::from_slice(&output).unwrap_or_else(|e| panic!("{export} wrote no JSON ({e}): {}", String::from_utf8_lossy(&output)))
}

fn context(payload: Value, config: Value, state: Value) -> Value {
    json!({"payload": payload, "config": {"node_id": "p", "component": "SdkOnly", "config": config}, "state": state})
}

#[test]
fn the_macros_export_metadata_with_the_original_sdks_port_fields() {
    let metadata = raw_call(&plugin_bytes("sdk_only.wasm"), "get_metadata", &json!(null));
    let port = |name: &str, description: &str, port_type: &str, required: bool| {
        json!({"name": name, "description": description, "port_type": port_type, "required": required})
    };
    assert_eq!(
        metadata,
        json!({
            "component": "SdkOnly",
            "description": "Echoes its input and counts its calls in its state",
            "inports": [
                port("in", "Any message, sent back on out", "Any", true),
                port("keep", "When present, the call returns no state", "Flow", false),
            ],
            "outports": [
                port("out", "The message on in", "Any", false),
                port("who", "The process name", "String", false),
                port("seen", "The state's count after this call", "Integer", false),
            ],
            "config_schema": null,
        })
    );
    // A port is written with the fields a plugin of the original SDK writes, `port_type` among them.
    let original = raw_call(&prebuilt_bytes("echo.wasm"), "get_metadata", &json!(null));
    let fields = |port: &Value| port.as_object().unwrap().keys().cloned().collect::<BTreeSet<String>>();
    assert_eq!(fields(&metadata["inports"][0]), fields(&original["inports"][0]), "original: {original:#}");
}

#[test]
fn every_message_type_comes_back_as_it_was_sent() {
    let bytes = plugin_bytes("sdk_only.wasm");
    let messages = [
        json!({"type": "Flow", "data": null}),
        json!({"type": "Event", "data": {"name": "tick"}}),
        json!({"type": "Boolean", "data": true}),
        json!({"type": "Integer", "data": -9007199254740993i64}),
        json!({"type": "Float", "data": 0.5}),
        json!({"type": "String", "data": "é \" \\ \n"}),
        json!({"type": "Object", "data": {"a": [1, {"b": null}]}}),
        json!({"type": "Array", "data": [1, "two", null]}),
        json!({"type": "Stream", "data": [0, 255, 10]}),
        json!({"type": "Optional", "data": null}),
        json!({"type": "Optional", "data": 3}),
        json!({"type": "Any", "data": [true]}),
        json!({"type": "Error", "data": "bad"}),
    ];
    let types: BTreeSet<&str> = messages.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 12, "every one of the specification's 12 message types");
    for message in messages {
        let result = raw_call(&bytes, "process", &context(json!({"in": message}), json!({}), json!({})));
        assert_eq!(result["outputs"]["out"], message);
        assert_eq!(result["outputs"]["who"], json!({"type": "String", "data": "p"}), "ActorContext.config.node_id");
    }
}

#[test]
fn a_result_carries_the_new_state_or_none_at_all() {
    let bytes = plugin_bytes("sdk_only.wasm");
    let input = |payload: Value| context(payload, json!({"step": 2}), json!({"seen": 40, "other": "kept"}));
    let result = raw_call(&bytes, "process", &input(json!({"in": 1})));
    assert_eq!(result["state"], json!({"seen": 42, "other": "kept"}), "ActorContext.state and config read, state returned");
    assert_eq!(result["outputs"]["seen"], json!({"type": "Integer", "data": 42}));
    // No state: the SDK writes `null`, which the ABI reads as "unchanged", as a missing key.
    let result = raw_call(&bytes, "process", &input(json!({"in": 1, "keep": {"type": "Flow"}})));
    assert_eq!(result["state"], json!(null), "{result:#}");
    assert!(result["outputs"].get("seen").is_none(), "{result:#}");
}

#[test]
fn through_the_engine_state_is_kept_between_calls_and_a_result_without_one_changes_nothing() {
    for backend in [Backend::Wasmtime, Backend::Extism] {
        let module = PluginModule::load_on(backend, "sdk_only.wasm", &ScriptConfig::new(plugin_bytes("sdk_only.wasm")), Limits::default())
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let actor = reflow_script::ActorConfig { node_id: "counter".into(), ..Default::default() };
        let mut engine = ExtismEngine::from_module(&module, actor).unwrap();
        let seen = |engine: &mut ExtismEngine, json: Value| engine.process(&payload(json), None).unwrap().remove("seen");
        assert_eq!(seen(&mut engine, json!({"in": 1})), Some(Message::Integer(1)), "{backend:?}");
        assert_eq!(seen(&mut engine, json!({"in": 1})), Some(Message::Integer(2)), "{backend:?}");
        assert_eq!(seen(&mut engine, json!({"in": 1, "keep": {"type": "Flow"}})), None, "{backend:?}");
        assert_eq!(state_of(&engine), json!({"seen": 2}), "{backend:?}: a result without state leaves it");
        assert_eq!(seen(&mut engine, json!({"in": 1})), Some(Message::Integer(3)), "{backend:?}");
    }
}
