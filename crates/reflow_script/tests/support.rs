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

/// Runs `body` once on each backend (the wasmtime one first). A module whose grants or limits
/// need the Extism backend runs there in both rounds (`PluginModule::load_on`).
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
