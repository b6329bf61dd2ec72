//! The wasmtime backend against the reference (the `extism` crate): every example and test
//! plugin, Rust and Go, gets the same calls on both, and the outputs, sent messages, state
//! and errors must agree.

use crate::support::*;
use reflow_script::{ActorConfig, Backend, ExtismEngine, Limit, Limits, Message, PluginModule, ScriptConfig, ScriptError};
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
    Limit(Limit),
}

fn engine_on(backend: Backend, plugin: &str, config: &Value) -> ExtismEngine {
    engine_with(backend, plugin, config, Limits::default())
}

fn engine_with(backend: Backend, plugin: &str, config: &Value, limits: Limits) -> ExtismEngine {
    engine_from(backend, plugin, plugin_bytes(plugin), config, limits)
}

fn engine_from(backend: Backend, plugin: &str, bytes: Vec<u8>, config: &Value, limits: Limits) -> ExtismEngine {
    let module = PluginModule::load_on(backend, plugin, &ScriptConfig::new(bytes), limits).unwrap();
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
    run_engine(engine_with(backend, plugin, config, limits), plugin, calls)
}

fn run_engine(mut engine: ExtismEngine, plugin: &str, calls: &[Value]) -> (reflow_script::PluginMetadata, Vec<Outcome>) {
    let outcomes = calls
        .iter()
        .map(|call| {
            let recorder = Recorder::default();
            match engine.process(&payload(call.clone()), Some(&recorder.sink())) {
                Ok(outputs) => done(outputs, recorder.take(), state_of(&engine)),
                Err(e) => failed(plugin, e),
            }
        })
        .collect();
    (engine.metadata().clone(), outcomes)
}

fn done(outputs: std::collections::HashMap<String, Message>, sent: Vec<(String, Message)>, state: Value) -> Outcome {
    let mut outputs: Vec<_> = outputs.into_iter().collect();
    outputs.sort_by(|a, b| a.0.cmp(&b.0));
    // The ABI promises the order of sent messages: compare it, unsorted.
    Outcome::Done { outputs, sent, state }
}

fn failed(plugin: &str, error: ScriptError) -> Outcome {
    match error {
        ScriptError::Call { reason, .. } if reason.contains("wasm trap") => Outcome::Trap,
        ScriptError::Call { reason, .. } => Outcome::PluginError(reason),
        ScriptError::InvalidResult { .. } => Outcome::InvalidResult,
        ScriptError::LimitExceeded { limit, .. } => Outcome::Limit(limit),
        other => panic!("{plugin}: unexpected {other}"),
    }
}

/// `calls` through [`ExtismEngine::process_batch`], as the executor passes the messages an
/// actor has waiting: all at once, and after a failure the rest again. The state is seen only
/// after each batch, so every outcome carries the state the whole run ended with.
fn run_batched(mut engine: ExtismEngine, plugin: &str, calls: &[Value]) -> Vec<Outcome> {
    let payloads: Vec<_> = calls.iter().map(|call| payload(call.clone())).collect();
    let mut outcomes = Vec::new();
    let mut next = 0;
    while next < payloads.len() {
        let (outputs, error) = engine.process_batch(&payloads[next..], None);
        next += outputs.len();
        outcomes.extend(outputs.into_iter().map(|outputs| done(outputs, Vec::new(), Value::Null)));
        if let Some(error) = error {
            outcomes.push(failed(plugin, error));
            next += 1;
        }
    }
    let state = state_of(&engine);
    outcomes.iter_mut().for_each(|outcome| if let Outcome::Done { state: s, .. } = outcome { *s = state.clone() });
    outcomes
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

/// Plugins built by the first SDK (kept as binaries, `tests/plugins/prebuilt-sdk-0.1`) and the
/// same plugins built from today's SDK agree call for call, on both backends: the new SDK's
/// direct JSON decoding and bulk path change nothing a plugin or the host can observe.
#[test]
fn old_and_new_sdk_builds_of_the_same_plugin_agree() {
    let flow = json!({"type": "Flow"});
    let cases: [(&str, Vec<Value>); 3] = [
        ("doubler.wasm", vec![json!({"input": 21}), json!({"input": -4}), json!({"input": {"type": "Integer", "data": 8.0}}), json!({})]),
        (
            "state_probe.wasm",
            vec![json!({"add": 2}), json!({"add": 3}), json!({"read": "total"}), json!({"trap": null}), json!({"read": "poisoned"}), json!({"add": flow})],
        ),
        (
            "echo.wasm",
            vec![
                json!({"in": {"type": "Stream", "data": [0, 1, 255]}}),
                json!({"in": null}),
                json!({"in": {"type": "car", "data": 1, "x": [1.5, "s"]}}),
                json!({"in": {"data": "d", "type": "Object"}}),
                json!({"in": {"type": "Error", "data": {"code": 3}}}),
            ],
        ),
    ];
    for (plugin, calls) in cases {
        for backend in [Backend::Wasmtime, Backend::Extism] {
            let old = engine_from(backend, plugin, prebuilt_bytes(plugin), &json!({}), Limits::default());
            let new = engine_with(backend, plugin, &json!({}), Limits::default());
            let (meta_old, old) = run_engine(old, plugin, &calls);
            let (meta_new, new) = run_engine(new, plugin, &calls);
            assert_eq!(meta_old, meta_new, "{plugin} on {backend:?}: metadata differs");
            assert_eq!(old, new, "{plugin} on {backend:?}: the old and new SDK builds disagree");
        }
    }
}

/// The bulk path (`echo` of a plugin built with today's SDK, on our engine) and the PDK path
/// (`echo_pdk` of the same plugin, `echo` of the old SDK's build, and anything on the Extism
/// backend) move the same bytes, from empty to 1 MiB.
#[test]
fn bulk_and_pdk_paths_are_byte_exact_from_0_to_1_mib() {
    let mut engines = [
        ("bulk", engine_on(Backend::Wasmtime, "echo.wasm", &json!({})), "echo"),
        ("pdk, same plugin", engine_on(Backend::Wasmtime, "echo.wasm", &json!({})), "echo_pdk"),
        ("old sdk", engine_from(Backend::Wasmtime, "echo.wasm", prebuilt_bytes("echo.wasm"), &json!({}), Limits::default()), "echo"),
        ("extism", engine_on(Backend::Extism, "echo.wasm", &json!({})), "echo"),
    ];
    for size in [0usize, 1, 7, 8, 9, 1000, 1024, 4097, 64 * 1024, 1024 * 1024] {
        let input: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        for (path, engine, export) in engines.iter_mut() {
            let output = engine.call_export(export, &input).unwrap();
            assert_eq!(output.len(), size, "{path}: length at {size}");
            assert!(output == input, "{path}: bytes differ at size {size}");
        }
    }
    // Growing and shrinking again: a small input after a large one is not padded with the
    // large one's tail.
    for (path, engine, export) in engines.iter_mut() {
        assert_eq!(engine.call_export(export, b"abc").unwrap(), b"abc", "{path}");
    }
}

#[test]
fn the_pdk_echo_export_is_byte_exact_at_every_size_on_the_wasmtime_backend() {
    let mut engine = engine_on(Backend::Wasmtime, "echo.wasm", &json!({}));
    for size in [0usize, 1, 7, 8, 9, 1024, 64 * 1024, 1024 * 1024] {
        let input: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
        let output = engine.call_export("echo_pdk", &input).unwrap();
        assert_eq!(output.len(), size, "length at {size}");
        assert!(output == input, "bytes differ at size {size}");
    }
    assert_eq!(engine.call_export("noop", b"ignored").unwrap(), Vec::<u8>::new());
}

/// A batch (several messages in one `__reflow_batch_v1` call) gives what the same messages give
/// one by one: the same outputs (the counter's show the state handed from message to message
/// inside the batch), the same final state, and a failure in the middle (an error, a trap, the
/// time limit) fails that message only, the ones before it standing and the ones after it run
/// as usual; for the Rust and the Go SDK. On the Extism backend, and for a plugin built by the
/// first SDK (no batch export), `process_batch` makes one call per message, with the same
/// results again.
#[test]
fn a_batch_equals_the_same_messages_one_by_one() {
    let flow = json!({"type": "Flow"});
    let limits = Limits { call_timeout: std::time::Duration::from_millis(200), ..Limits::default() };
    let failing = [
        json!({"in": "a"}),
        json!({"in": 2}),
        json!({"fail": "broken"}),
        json!({"in": "c"}),
        json!({"panic": 1}),
        json!({"in": [1, 2]}),
        json!({"loop": null}),
        json!({"in": "d"}),
        json!({"in": "e"}),
    ];
    let counter = [json!({"increment": flow}), json!({"increment": flow}), json!({"decrement": flow}), json!({"reset": flow}), json!({"increment": flow})];
    let word = |w: Value| json!({"word": w});
    let tally = [word(json!("a")), word(json!("b")), word(json!("a")), word(json!(5)), word(json!("a")), json!({})];
    let cases: [(&str, Option<Vec<u8>>, Value, &[Value]); 4] = [
        ("failing.wasm", None, json!({}), &failing),
        ("counter.wasm", None, json!({"initial_value": 5}), &counter),
        // The Go SDK's batch export (examples/go/tally calls no host function).
        ("go_tally.wasm", None, json!({}), &tally),
        ("doubler.wasm", Some(prebuilt_bytes("doubler.wasm")), json!({}), &[json!({"input": 1}), json!({"input": 2}), json!({}), json!({"input": 4})]),
    ];
    for (plugin, bytes, config, calls) in cases {
        for backend in [Backend::Wasmtime, Backend::Extism] {
            let engine = || engine_from(backend, plugin, bytes.clone().unwrap_or_else(|| plugin_bytes(plugin)), &config, limits);
            let batches = backend == Backend::Wasmtime && bytes.is_none();
            assert_eq!(engine().batches(), batches, "{plugin} on {backend:?}: takes batches");
            let (_, mut one_by_one) = run_engine(engine(), plugin, calls);
            let last_state = one_by_one.iter().rev().find_map(|o| match o {
                Outcome::Done { state, .. } => Some(state.clone()),
                _ => None,
            });
            for outcome in &mut one_by_one {
                if let Outcome::Done { state, .. } = outcome {
                    *state = last_state.clone().unwrap();
                }
            }
            assert_eq!(run_batched(engine(), plugin, calls), one_by_one, "{plugin} on {backend:?}: a batch and one by one disagree");
        }
    }
}
