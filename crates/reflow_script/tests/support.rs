//! Finding built plugins and driving one call.

use reflow_script::{ActorConfig, Backend, ExtismEngine, Limits, Message, OutputSink, PluginModule, ScriptConfig};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub fn plugin_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
    assert!(path.exists(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path
}

pub fn plugin_bytes(name: &str) -> Vec<u8> {
    std::fs::read(plugin_path(name)).unwrap()
}

/// A plugin built by the first SDK, kept as a binary (`tests/plugins/prebuilt-sdk-0.1`).
pub fn prebuilt_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/plugins/prebuilt-sdk-0.1").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn load(name: &str) -> PluginModule {
    PluginModule::load(name, &ScriptConfig::new(plugin_bytes(name)), Limits::default())
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

pub fn engine(name: &str, config: Value) -> ExtismEngine {
    let module = load(name);
    let actor = ActorConfig {
        node_id: format!("test-{name}"),
        component: module.metadata().component.clone(),
        config: config.as_object().cloned().unwrap_or_default(),
        ..ActorConfig::default()
    };
    ExtismEngine::from_module(&module, actor).unwrap()
}

/// `{"port": message-or-plain-value}` as a payload.
pub fn payload(json: Value) -> HashMap<String, Message> {
    json.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), Message::from_json(v.clone()).unwrap()))
        .collect()
}

/// Messages in the order a sink received them.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<(String, Message)>>>);

impl Recorder {
    pub fn sink(&self) -> OutputSink {
        let log = self.0.clone();
        Arc::new(move |port: &str, message: Message| log.lock().unwrap().push((port.to_string(), message)))
    }

    pub fn take(&self) -> Vec<(String, Message)> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

pub fn state_of(engine: &ExtismEngine) -> Value {
    Value::Object(engine.state().clone())
}

pub fn object(json: Value) -> Map<String, Value> {
    json.as_object().unwrap().clone()
}

/// An actor under a sandbox test. The sandbox tests (`sandbox.rs`) reach the engine only
/// through this trait and [`start_sandboxed`], which runs on [`current_backend`]: each test
/// body runs once per backend ([`on_both_backends`]).
pub trait SandboxedActor {
    fn call(&mut self, payload: Value) -> Result<HashMap<String, Message>, reflow_script::ScriptError>;
    fn call_with_sink(&mut self, payload: Value, sink: &OutputSink) -> Result<HashMap<String, Message>, reflow_script::ScriptError>;
    fn state(&self) -> Value;
}

impl SandboxedActor for ExtismEngine {
    fn call(&mut self, json: Value) -> Result<HashMap<String, Message>, reflow_script::ScriptError> {
        self.process(&payload(json), None)
    }

    fn call_with_sink(&mut self, json: Value, sink: &OutputSink) -> Result<HashMap<String, Message>, reflow_script::ScriptError> {
        self.process(&payload(json), Some(sink))
    }

    fn state(&self) -> Value {
        state_of(self)
    }
}

thread_local! {
    static BACKEND: std::cell::Cell<Backend> = const { std::cell::Cell::new(Backend::Wasmtime) };
}

/// The backend [`start_sandboxed`] asks for on this thread.
pub fn current_backend() -> Backend {
    BACKEND.with(|b| b.get())
}

/// Runs `body` once on each backend (the wasmtime one first).
pub fn on_both_backends(body: impl Fn()) {
    for backend in [Backend::Wasmtime, Backend::Extism] {
        eprintln!("--- on the {backend:?} backend");
        BACKEND.with(|b| b.set(backend));
        body();
    }
    BACKEND.with(|b| b.set(Backend::Wasmtime));
}

/// Starts plugin `name` as actor `actor` with `grants` (grant strings), `limits` and its
/// per-process `config`, on [`current_backend`]: the one place the sandbox tests name an engine.
pub fn start_sandboxed(
    name: &str,
    actor: &str,
    grants: &[&str],
    limits: Limits,
    config: Value,
) -> Result<Box<dyn SandboxedActor>, reflow_script::ScriptError> {
    let packages = (!grants.is_empty()).then(|| grants.iter().map(|g| g.to_string()).collect());
    let script = ScriptConfig { packages, ..ScriptConfig::new(plugin_bytes(name)) };
    let module = PluginModule::load_on(current_backend(), name, &script, limits)?;
    let actor = ActorConfig {
        node_id: actor.to_string(),
        component: module.metadata().component.clone(),
        config: config.as_object().cloned().unwrap_or_default(),
        ..ActorConfig::default()
    };
    Ok(Box::new(ExtismEngine::from_module(&module, actor)?))
}

pub type ActorBox = Box<dyn SandboxedActor + Send>;

/// Two actors started from one loaded plugin, as a graph starts the processes that share a
/// plugin file and settings.
pub fn start_pair_sandboxed(
    name: &str,
    limits: Limits,
    config: Value,
) -> Result<(ActorBox, ActorBox), reflow_script::ScriptError> {
    let module = PluginModule::load_on(current_backend(), name, &ScriptConfig::new(plugin_bytes(name)), limits)?;
    let actor = |node: &str| ActorConfig {
        node_id: node.to_string(),
        component: module.metadata().component.clone(),
        config: config.as_object().cloned().unwrap_or_default(),
        ..ActorConfig::default()
    };
    Ok((Box::new(ExtismEngine::from_module(&module, actor("a"))?), Box::new(ExtismEngine::from_module(&module, actor("b"))?)))
}

/// A plugin written in the wasm text format, for hostile fixtures: `get_metadata` (component
/// `hostile`, inport `in`) and a `process` whose body is `process` (it ends with
/// `(call $done)` to return `{"outputs":{}}`, or returns a status of its own). `extra` adds
/// imports, memories, tables and functions (the `extism:host/env` memory functions and our
/// host functions are imported as `$alloc`, `$store_u8`, `$store_u64`, `$load_u64`,
/// `$output_set`, `$set_state`, `$get_state`, `$send_output`; `$emit` copies bytes of the
/// plugin's memory into a new block and returns its handle). The plugin's memory holds the
/// metadata at 0, the result at 512 and is free from 1024.
pub fn wat_plugin(extra: &str, process: &str) -> String {
    wat_plugin_with(r#"(memory (export "memory") 1)"#, extra, process)
}

/// As [`wat_plugin`], with the plugin's memory declared by `memory` (at least one page).
pub fn wat_plugin_with(memory: &str, extra: &str, process: &str) -> String {
    const METADATA: &str = r#"{"component":"hostile","inports":[{"name":"in"}],"outports":[{"name":"out"}]}"#;
    const RESULT: &str = r#"{"outputs":{}}"#;
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "__set_state" (func $set_state (param i64 i64)))
  (import "extism:host/user" "__get_state" (func $get_state (param i64) (result i64)))
  (import "extism:host/user" "__send_output" (func $send_output (param i64)))
  {extra}
  {memory}
  (data (i32.const 0) "{metadata}")
  (data (i32.const 512) "{result}")
  (func $emit (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $end (loop $copy
      (br_if $end (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.get $h))
  (func $done (result i32)
    (call $output_set (call $emit (i32.const 512) (i32.const {result_len})) (i64.const {result_len}))
    (i32.const 0))
  (func (export "get_metadata") (result i32)
    (call $output_set (call $emit (i32.const 0) (i32.const {metadata_len})) (i64.const {metadata_len}))
    (i32.const 0))
  (func (export "process") (result i32)
    {process})
)"#,
        metadata = quote(METADATA),
        metadata_len = METADATA.len(),
        result = quote(RESULT),
        result_len = RESULT.len(),
    )
}

/// Loads a wat plugin on `backend` with `grants` and `limits`.
pub fn load_wat(backend: Backend, wat: &str, grants: &[String], limits: Limits) -> Result<PluginModule, reflow_script::ScriptError> {
    let bytes = wat::parse_str(wat).unwrap_or_else(|e| panic!("the fixture does not assemble: {e}\n{wat}"));
    let script = ScriptConfig { packages: (!grants.is_empty()).then(|| grants.to_vec()), ..ScriptConfig::new(bytes) };
    let module = PluginModule::load_on(backend, "hostile.wat", &script, limits)?;
    assert_eq!(module.backend(), backend, "loaded on the backend asked for");
    Ok(module)
}

/// An actor named `hostile` of `module`.
pub fn hostile_actor(module: &PluginModule) -> Result<ExtismEngine, reflow_script::ScriptError> {
    let actor = ActorConfig { node_id: "hostile".into(), component: "hostile".into(), ..ActorConfig::default() };
    ExtismEngine::from_module(module, actor)
}

/// Runs `f` on a thread of its own and waits for it at most `guard` (a hang guard, not a
/// timing assertion: it only turns a hang into a failure that names `what`).
pub fn within<T: Send + 'static>(guard: std::time::Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    match result.recv_timeout(guard) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not end within {guard:?} (hang guard)"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// Log output captured from a thread-local `tracing` subscriber.
#[derive(Clone, Default)]
pub struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    /// A subscriber writing here, with the env filter `filter`.
    pub fn subscriber(&self, filter: &str) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(move || writer.clone()).with_ansi(false).finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
