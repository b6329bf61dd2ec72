use crate::support::*;
use reflow_script::{ExtismEngine, Message, ScriptConfig, ScriptEnvironment, ScriptRuntime};
use serde_json::json;

#[test]
fn doubler_doubles_21_to_42_through_the_spec_config() {
    // The ScriptConfig literal exactly as the specification writes it.
    let wasm_bytes = plugin_bytes("doubler.wasm");
    let config = ScriptConfig {
        environment: ScriptEnvironment::SYSTEM,
        runtime: ScriptRuntime::Extism,
        source: wasm_bytes, // Compiled WASM binary
        entry_point: "process".to_string(),
        packages: None,
    };
    let mut engine = ExtismEngine::new(config).unwrap();
    assert_eq!(engine.metadata().component, "MyActor");
    assert!(engine.metadata().inports[0].required);
    let outputs = engine.process(&payload(json!({"input": {"type": "Integer", "data": 21}})), None).unwrap();
    assert_eq!(outputs["output"], Message::Integer(42));
    assert_eq!(outputs.len(), 1);
}

#[test]
fn counter_keeps_state_between_calls_in_one_engine() {
    let mut engine = engine("counter.wasm", json!({}));
    let mut counts = Vec::new();
    for _ in 0..3 {
        let out = engine.process(&payload(json!({"increment": {"type": "Flow"}})), None).unwrap();
        counts.push(out["count"].clone());
    }
    assert_eq!(counts, vec![Message::Integer(1), Message::Integer(2), Message::Integer(3)]);
    assert_eq!(state_of(&engine), json!({"count": 3}));
    let out = engine.process(&payload(json!({"decrement": {"type": "Flow"}})), None).unwrap();
    assert_eq!(out["count"], Message::Integer(2));
}

#[test]
fn counter_reset_returns_initial_value_from_config() {
    let mut engine = engine("counter.wasm", json!({"initial_value": 10}));
    engine.process(&payload(json!({"increment": {"type": "Flow"}})), None).unwrap();
    assert_eq!(state_of(&engine), json!({"count": 11}), "the first count starts from initial_value");
    let out = engine.process(&payload(json!({"reset": {"type": "Flow"}})), None).unwrap();
    assert_eq!(out["count"], Message::Integer(10));
}

#[test]
fn wasip1_builds_load_with_wasi_and_run() {
    let mut engine = engine("doubler.wasip1.wasm", json!({}));
    let out = engine.process(&payload(json!({"input": 50})), None).unwrap();
    assert_eq!(out["output"], Message::Integer(100));
    let mut counter = engine_for_wasip1_counter();
    for expected in 1..=2 {
        let out = counter.process(&payload(json!({"increment": null})), None).unwrap();
        assert_eq!(out["count"], Message::Integer(expected));
    }
}

fn engine_for_wasip1_counter() -> ExtismEngine {
    engine("counter.wasip1.wasm", json!({}))
}

/// The doubler and counter as ported to the other SDKs (examples/c, examples/assemblyscript,
/// examples/zig): the same metadata as the Rust original, the same answers.
const DOUBLERS: [&str; 3] = ["c_doubler.wasm", "as_doubler.wasm", "zig_doubler.wasm"];
const COUNTERS: [&str; 3] = ["c_counter.wasm", "as_counter.wasm", "zig_counter.wasm"];

#[test]
fn ported_doublers_match_the_rust_original() {
    let original = load("doubler.wasm").metadata().clone();
    for name in DOUBLERS {
        let mut engine = engine(name, json!({}));
        assert_eq!(engine.metadata(), &original, "{name}: metadata");
        let outputs = engine.process(&payload(json!({"input": {"type": "Integer", "data": 21}})), None).unwrap();
        assert_eq!(outputs, std::collections::HashMap::from([("output".to_string(), Message::Integer(42))]), "{name}");
        let outputs = engine.process(&payload(json!({"input": {"type": "Integer", "data": -4611686018427387904i64}})), None).unwrap();
        assert_eq!(outputs["output"], Message::Integer(i64::MIN), "{name}: the whole i64 range");
        // Not an Integer: nothing out, as in the Rust sample.
        assert!(engine.process(&payload(json!({"input": {"type": "String", "data": "21"}})), None).unwrap().is_empty(), "{name}");
    }
}

#[test]
fn ported_counters_match_the_rust_original() {
    let original = load("counter.wasm").metadata().clone();
    for name in COUNTERS {
        let mut engine = engine(name, json!({"initial_value": 10}));
        assert_eq!(engine.metadata(), &original, "{name}: metadata");
        let mut counts = Vec::new();
        for port in ["increment", "increment", "decrement", "reset", "increment"] {
            let out = engine.process(&payload(json!({port: {"type": "Flow"}})), None).unwrap();
            counts.push(out["count"].clone());
        }
        assert_eq!(counts, [11, 12, 11, 10, 11].map(Message::Integer).to_vec(), "{name}");
        assert_eq!(state_of(&engine), json!({"count": 11}), "{name}");
    }
}

#[test]
fn the_cpp_doubler_built_from_the_c_header_runs() {
    let mut engine = engine("c_cpp_doubler.wasm", json!({}));
    assert_eq!(engine.metadata().component, "CppDoubler");
    for (input, calls) in [(21, 1), (50, 2)] {
        let outputs = engine.process(&payload(json!({"input": {"type": "Integer", "data": input}})), None).unwrap();
        assert_eq!(outputs["output"], Message::Integer(input * 2));
        assert_eq!(state_of(&engine), json!({"calls": calls}), "its __set_state write counts calls");
    }
}
