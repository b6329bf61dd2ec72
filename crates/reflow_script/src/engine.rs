//! One live plugin instance and its actor's host-side state.

use crate::host_functions::{host_functions, CallContext};
use crate::{Limits, PluginModule, ScriptConfig, ScriptError};
use reflow_abi::{ActorConfig, ActorResult, Message, PluginMetadata};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Where messages sent with `__send_output` go, as they are sent (during the call).
pub type OutputSink = Arc<dyn Fn(&str, Message) + Send + Sync>;

/// The Extism setup every plugin gets: our host functions, the limits, and WASI with nothing
/// granted when the module imports it (no preopened dirs, no env, no args).
pub(crate) fn new_plugin_builder(bytes: &[u8], wasi: bool, limits: Limits) -> extism::PluginBuilder<'static> {
    let manifest = extism::Manifest::new([extism::Wasm::data(bytes.to_vec())])
        .with_timeout(limits.call_timeout)
        .with_memory_max(limits.max_memory_pages);
    extism::PluginBuilder::new(manifest).with_wasi(wasi).with_functions(host_functions())
}

/// Runs one actor's plugin: one instance kept warm and reused for every message, and the
/// actor's state, which lives here (in the host), not in the plugin.
pub struct ExtismEngine {
    module: PluginModule,
    plugin: extism::Plugin,
    actor: Arc<str>,
    /// `ActorContext.config`, serialised once: it does not change between messages.
    config_json: String,
    state: Map<String, Value>,
}

impl ExtismEngine {
    /// Loads `config` and starts one instance, with default limits and an actor named after
    /// the plugin's component.
    pub fn new(config: ScriptConfig) -> Result<ExtismEngine, ScriptError> {
        let module = PluginModule::load("plugin", &config, Limits::default())?;
        let actor = ActorConfig {
            node_id: module.metadata().component.clone(),
            component: module.metadata().component.clone(),
            ..ActorConfig::default()
        };
        ExtismEngine::from_module(&module, actor)
    }

    /// Starts an instance of an already compiled module for the actor described by `actor`.
    pub fn from_module(module: &PluginModule, actor: ActorConfig) -> Result<ExtismEngine, ScriptError> {
        let plugin = instantiate(module)?;
        let config_json = serde_json::to_string(&actor).expect("ActorConfig always serialises");
        Ok(ExtismEngine {
            module: module.clone(),
            plugin,
            actor: actor.node_id.as_str().into(),
            config_json,
            state: Map::new(),
        })
    }

    pub fn metadata(&self) -> &PluginMetadata {
        self.module.metadata()
    }

    /// The actor's name (its process name in a graph).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The actor's current state.
    pub fn state(&self) -> &Map<String, Value> {
        &self.state
    }

    /// Replaces the actor's state (restoring it, or seeding it for a test).
    pub fn set_state(&mut self, state: Map<String, Value>) {
        self.state = state;
    }

    /// Runs the entry point once with `payload`. Messages the plugin sends with
    /// `__send_output` go to `sink` during the call; the returned map holds the outputs the
    /// call returned. The state changes only if the call succeeds: `__set_state` writes, then
    /// a non-null returned `state` replaces the whole state.
    pub fn process(
        &mut self,
        payload: &HashMap<String, Message>,
        sink: Option<&OutputSink>,
    ) -> Result<HashMap<String, Message>, ScriptError> {
        let input = self.encode_context(payload);
        let context = CallContext::new(self.actor.clone(), self.state.clone(), sink.cloned());
        let call = self
            .plugin
            .call_with_host_context::<&[u8], &[u8], _>(&*self.module.entry_point, input.as_bytes(), context.clone())
            .map(|bytes| serde_json::from_slice::<ActorResult>(bytes));
        let result = match call {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => {
                return Err(ScriptError::InvalidResult { actor: self.actor.to_string(), reason: e.to_string() })
            }
            Err(e) => {
                let reason = describe_failure(&e);
                self.replace_instance();
                return Err(ScriptError::Call { actor: self.actor.to_string(), reason });
            }
        };
        let mut state = std::mem::take(&mut context.lock().state);
        match result.state {
            None | Some(Value::Null) => {}
            Some(Value::Object(new_state)) => state = new_state,
            Some(other) => {
                return Err(ScriptError::InvalidResult {
                    actor: self.actor.to_string(),
                    reason: format!("`state` must be an object or null, got {other}"),
                })
            }
        }
        self.state = state;
        Ok(result.outputs)
    }

    /// `{"payload":..,"config":..,"state":..}` with the cached config text spliced in.
    fn encode_context(&self, payload: &HashMap<String, Message>) -> String {
        let payload = serde_json::to_string(payload).expect("messages always serialise");
        let state = serde_json::to_string(&self.state).expect("JSON values always serialise");
        let mut input = String::with_capacity(payload.len() + state.len() + self.config_json.len() + 32);
        input.push_str("{\"payload\":");
        input.push_str(&payload);
        input.push_str(",\"config\":");
        input.push_str(&self.config_json);
        input.push_str(",\"state\":");
        input.push_str(&state);
        input.push('}');
        input
    }

    /// After a failed call the instance may be in any state (a trap mid-allocation, a
    /// half-run Go scheduler): start a fresh one. The actor's state is host-side and survives.
    fn replace_instance(&mut self) {
        match instantiate(&self.module) {
            Ok(plugin) => self.plugin = plugin,
            Err(e) => tracing::error!(actor = %self.actor, "cannot restart the plugin instance: {e}"),
        }
    }
}

fn instantiate(module: &PluginModule) -> Result<extism::Plugin, ScriptError> {
    extism::Plugin::new_from_compiled(&module.compiled)
        .map_err(|e| ScriptError::Load { plugin: module.name.to_string(), reason: format!("{e:#}") })
}

/// One line for a failed call: the plugin's own error message, or the trap without the wasm
/// backtrace Extism attaches (frame addresses help nobody reading a graph's error report).
fn describe_failure(error: &extism::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
        .filter_map(|text| text.lines().next().map(|line| line.trim().to_string()))
        .filter(|line| !line.is_empty())
        .collect();
    parts.join(": ")
}
