//! The wasmtime backend against the reference (the `extism` crate): every example and test
//! plugin, Rust and Go, gets the same calls on both, and the outputs, sent messages, state
//! and errors must agree.

use crate::support::*;
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, PluginModule, ScriptConfig, ScriptError};
use serde_json::{json, Value};

/// What one call did, comparable across backends.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done { outputs: Vec<(String, Message)>, sent: Vec<(String, Message)>, state: Value },
    /// The plugin's own error message.
    PluginError(String),
    /// A trap; the wording may differ between engines, only the kind must agree.
    Trap,
    InvalidResult,
}

fn engine_on(backend: Backend, plugin: &str, config: &Value) -> ExtismEngine {
    let module = PluginModule::load_on(backend, plugin, &ScriptConfig::new(plugin_bytes(plugin)), Limits::default()).unwrap();
    let actor = ActorConfig {
        node_id: "diff".into(),
        component: module.metadata().component.clone(),
        config: config.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    ExtismEngine::from_module(&module, actor).unwrap()
}

fn run_calls(backend: Backend, plugin: &str, config: &Value, calls: &[Value]) -> (reflow_script::PluginMetadata, Vec<Outcome>) {
    let mut engine = engine_on(backend, plugin, config);
    let outcomes = calls
        .iter()
        .map(|call| {
            let recorder = Recorder::default();
            match engine.process(&payload(call.clone()), Some(&recorder.sink())) {
                Ok(outputs) => {
                    let mut outputs: Vec<_> = outputs.into_iter().collect();
                    outputs.sort_by(|a, b| a.0.cmp(&b.0));
                    let mut sent = recorder.take();
                    sent.sort_by(|a, b| a.0.cmp(&b.0));
                    Outcome::Done { outputs, sent, state: state_of(&engine) }
                }
                Err(ScriptError::Call { reason, .. }) if reason.contains("wasm trap") => Outcome::Trap,
                Err(ScriptError::Call { reason, .. }) => Outcome::PluginError(reason),
                Err(ScriptError::InvalidResult { .. }) => Outcome::InvalidResult,
                Err(other) => panic!("{plugin}: unexpected {other}"),
            }
        })
        .collect();
    (engine.metadata().clone(), outcomes)
}

fn check(plugin: &str, config: Value, calls: &[Value]) {
    let (meta_w, wasmtime) = run_calls(Backend::Wasmtime, plugin, &config, calls);
    let (meta_e, extism) = run_calls(Backend::Extism, plugin, &config, calls);
    assert_eq!(meta_w, meta_e, "{plugin}: metadata differs");
    assert_eq!(wasmtime, extism, "{plugin}: the backends disagree");
    assert_eq!(wasmtime.len(), calls.len());
}

#[test]
fn rust_examples_agree() {
    check("doubler.wasm", json!({}), &[json!({"input": 21}), json!({"input": -4}), json!({})]);
    check("doubler.wasip1.wasm", json!({}), &[json!({"input": 7})]);
    let flow = json!({"type": "Flow"});
    check(
        "counter.wasm",
        json!({"initial_value": 5}),
        &[json!({"increment": flow}), json!({"increment": flow}), json!({"decrement": flow}), json!({"reset": flow})],
    );
    check("counter.wasip1.wasm", json!({}), &[json!({"increment": flow}), json!({"reset": flow})]);
}

#[test]
fn go_plugins_agree() {
    let op = |name: &str| json!({"operation": {"type": "String", "data": name}});
    check("go_counter.wasm", json!({}), &[op("increment"), op("double"), op("decrement"), op("reset"), json!({})]);
    check(
        "go_greeter.wasm",
        json!({"greeting": "Hi", "repeat": 2}),
        &[json!({"name": {"type": "String", "data": "Ada"}}), json!({"name": {"type": "Integer", "data": 3}})],
    );
}

#[test]
fn fixture_plugins_agree_on_host_functions_and_failures() {
    check(
        "state_probe.wasm",
        json!({}),
        &[json!({"add": 2}), json!({"add": 3}), json!({"read": "total"}), json!({"trap": null}), json!({"read": "poisoned"})],
    );
    check("failing.wasm", json!({}), &[json!({"in": "a"}), json!({"fail": "broken"}), json!({"panic": 1}), json!({"in": [1, 2]})]);
    check("garbage_result.wasm", json!({}), &[json!({"in": 1})]);
    check("echo.wasm", json!({}), &[json!({"in": {"type": "Stream", "data": [0, 1, 255]}}), json!({"in": null})]);
}

#[test]
fn the_echo_export_is_byte_exact_at_every_size_on_the_wasmtime_backend() {
    let mut engine = engine_on(Backend::Wasmtime, "echo.wasm", &json!({}));
    for size in [0usize, 1, 7, 8, 9, 1024, 64 * 1024, 1024 * 1024] {
        let input: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        let output = engine.call_export("echo", &input).unwrap();
        assert_eq!(output.len(), size, "length at {size}");
        assert!(output == input, "bytes differ at size {size}");
    }
    assert_eq!(engine.call_export("noop", b"ignored").unwrap(), Vec::<u8>::new());
}
