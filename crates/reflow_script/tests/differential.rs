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
    /// A call stopped by a limit, named with its value.
    Limit(String),
}

fn engine_on(backend: Backend, plugin: &str, config: &Value) -> ExtismEngine {
    engine_with(backend, plugin, config, Limits::default())
}

fn engine_with(backend: Backend, plugin: &str, config: &Value, limits: Limits) -> ExtismEngine {
    let module = PluginModule::load_on(backend, plugin, &ScriptConfig::new(plugin_bytes(plugin)), limits).unwrap();
    assert_eq!(module.backend(), backend, "{plugin}: loaded on another backend");
    let actor = ActorConfig {
        node_id: "diff".into(),
        component: module.metadata().component.clone(),
        config: config.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    ExtismEngine::from_module(&module, actor).unwrap()
}

fn run_calls(
    backend: Backend,
    plugin: &str,
    config: &Value,
    limits: Limits,
    calls: &[Value],
) -> (reflow_script::PluginMetadata, Vec<Outcome>) {
    let mut engine = engine_with(backend, plugin, config, limits);
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
                Err(ScriptError::LimitExceeded { limit, .. }) => Outcome::Limit(limit),
                Err(other) => panic!("{plugin}: unexpected {other}"),
            }
        })
        .collect();
    (engine.metadata().clone(), outcomes)
}

fn check(plugin: &str, config: Value, calls: &[Value]) {
    check_with(plugin, config, Limits::default(), calls)
}

fn check_with(plugin: &str, config: Value, limits: Limits, calls: &[Value]) {
    let (meta_w, wasmtime) = run_calls(Backend::Wasmtime, plugin, &config, limits, calls);
    let (meta_e, extism) = run_calls(Backend::Extism, plugin, &config, limits, calls);
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

/// The hostile fixtures of the sandbox tests: the same limit stops the same call, naming it
/// the same way, and the calls around it agree (the failed call leaves the state as it was).
#[test]
fn hostile_plugins_agree_on_limits_and_bad_host_calls() {
    let ms = std::time::Duration::from_millis;
    let counted = |hostile: Value| [json!({"in": 1}), json!({"in": 2}), hostile, json!({"in": 4})];
    check_with("infinite_loop.wasm", json!({}), Limits { call_timeout: ms(200), ..Limits::default() }, &counted(json!({"in": 3})));
    check_with("memory_bomb.wasm", json!({}), Limits { max_memory_pages: 256, ..Limits::default() }, &counted(json!({"in": 3})));
    let flood = [json!({"return": 5_000}), json!({"return": 50_000}), json!({"send": 50_000}), json!({"state": 50_000}), json!({"state": 6_000}), json!({"state": 6_000}), json!({"send": 100})];
    check_with("flood.wasm", json!({}), Limits { max_output_bytes: 10_000, ..Limits::default() }, &flood);
    let bad = ["offset", "json", "shape", "message", "state", "key", "nothing bad"];
    check("bad_host_calls.wasm", json!({}), &bad.map(|which| json!({"in": which})));
    check("undeclared_port.wasm", json!({}), &[json!({"in": 1})]);
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
