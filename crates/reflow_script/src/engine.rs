//! One live plugin instance and its actor's host-side state.

use crate::call_state::CallState;
use crate::module::PluginInstance;
use crate::{Limits, PluginModule, ScriptConfig, ScriptError};
use reflow_abi::{ActorConfig, ActorResult, Message, PluginMetadata};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Where messages sent with `__send_output` go, as they are sent (during the call).
pub type OutputSink = Arc<dyn Fn(&str, Message) + Send + Sync>;

/// Runs one actor's plugin: one instance kept warm and reused for every message, and the
/// actor's state, which lives here (in the host), not in the plugin. The instance runs on the
/// module's backend (our wasmtime engine by default, or the `extism` crate).
pub struct ExtismEngine {
    module: PluginModule,
    instance: PluginInstance,
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
        let name: Arc<str> = actor.node_id.as_str().into();
        let instance = module.instantiate(name.clone())?;
        let config_json = serde_json::to_string(&actor).expect("ActorConfig always serialises");
        Ok(ExtismEngine { module: module.clone(), instance, actor: name, config_json, state: Map::new() })
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
        let call = CallState { actor: self.actor.clone(), state: self.state.clone(), sink: sink.cloned() };
        let (output, call) = match self.instance.call(&self.module.entry_point, input.as_bytes(), call) {
            Ok(done) => done,
            Err(reason) => {
                self.replace_instance();
                return Err(ScriptError::Call { actor: self.actor.to_string(), reason });
            }
        };
        let invalid = |reason: String| ScriptError::InvalidResult { actor: self.actor.to_string(), reason };
        let result: ActorResult = serde_json::from_slice(&output).map_err(|e| invalid(e.to_string()))?;
        let mut state = call.state;
        match result.state {
            None | Some(Value::Null) => {}
            Some(Value::Object(new_state)) => state = new_state,
            Some(other) => return Err(invalid(format!("`state` must be an object or null, got {other}"))),
        }
        self.state = state;
        Ok(result.outputs)
    }

    /// Calls any export with raw bytes, bypassing the `ActorContext` encoding (the actor's
    /// state is neither passed nor changed): for tests, benchmarks and plugins with extra
    /// exports. A failure replaces the instance, as in [`ExtismEngine::process`].
    pub fn call_export(&mut self, export: &str, input: &[u8]) -> Result<Vec<u8>, ScriptError> {
        let call = CallState { actor: self.actor.clone(), state: Map::new(), sink: None };
        match self.instance.call(export, input, call) {
            Ok((output, _)) => Ok(output),
            Err(reason) => {
                self.replace_instance();
                Err(ScriptError::Call { actor: self.actor.to_string(), reason })
            }
        }
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
        match self.module.instantiate(self.actor.clone()) {
            Ok(instance) => self.instance = instance,
            Err(e) => tracing::error!(actor = %self.actor, "cannot restart the plugin instance: {e}"),
        }
    }
}
