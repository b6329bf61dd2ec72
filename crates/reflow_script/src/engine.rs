//! One live plugin instance and its actor's host-side state.

use crate::host_functions::{host_functions, CallContext};
use crate::{decode, Grants, Limit, Limits, PluginModule, ScriptConfig, ScriptError};
use reflow_abi::{ActorConfig, Message, PluginMetadata};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Where messages sent with `__send_output` go, as they are sent (during the call).
pub type OutputSink = Arc<dyn Fn(&str, Message) + Send + Sync>;

/// The Extism setup every plugin gets: our host functions, the limits, and only what `grants`
/// allows: WASI (when the module imports it) with the granted directories preopened and no
/// env or args, HTTP to the granted hosts only, the granted env values as Extism config.
pub(crate) fn new_plugin_builder(bytes: &[u8], wasi: bool, limits: Limits, grants: &Grants) -> extism::PluginBuilder<'static> {
    let mut manifest = extism::Manifest::new([extism::Wasm::data(bytes.to_vec())])
        .with_timeout(limits.call_timeout)
        .with_memory_max(limits.max_memory_pages)
        .with_config(grants.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    manifest.memory.max_http_response_bytes = Some(limits.max_output_bytes);
    if !grants.http_hosts.is_empty() {
        manifest = manifest.with_allowed_hosts(grants.http_hosts.iter().cloned());
    }
    for path in &grants.paths {
        // Extism's convention: a `ro:` prefix on the host path preopens it read-only.
        let host = path.host.display().to_string();
        let host = if path.writable { host } else { format!("ro:{host}") };
        manifest = manifest.with_allowed_path(host, &path.guest);
    }
    let mut builder = extism::PluginBuilder::new(manifest).with_wasi(wasi).with_functions(host_functions());
    if let Some(fuel) = limits.fuel {
        builder = builder.with_fuel_limit(fuel);
    }
    builder
}

/// Runs one actor's plugin: one instance kept warm and reused for every message, and the
/// actor's state, which lives here (in the host), not in the plugin.
pub struct ExtismEngine {
    module: PluginModule,
    /// This actor's own compilation of the module (see [`PluginModule::compile_for_actor`]).
    compiled: Arc<extism::CompiledPlugin>,
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
    /// The module's granted env values are added to `actor.resolved_env`.
    pub fn from_module(module: &PluginModule, mut actor: ActorConfig) -> Result<ExtismEngine, ScriptError> {
        let compiled = module.compile_for_actor()?;
        let plugin = instantiate(module, &compiled)?;
        for (name, value) in &module.grants.env {
            actor.resolved_env.entry(name.clone()).or_insert_with(|| value.clone());
        }
        let config_json = serde_json::to_string(&actor).expect("ActorConfig always serialises");
        Ok(ExtismEngine {
            module: module.clone(),
            compiled,
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
    /// a non-null returned `state` replaces the whole state. A call over a limit fails with
    /// [`ScriptError::LimitExceeded`]; after any failed call the state is the one from before.
    pub fn process(
        &mut self,
        payload: &HashMap<String, Message>,
        sink: Option<&OutputSink>,
    ) -> Result<HashMap<String, Message>, ScriptError> {
        let limits = self.module.limits;
        let input = self.encode_context(payload);
        let context = CallContext::new(self.actor.clone(), self.state.clone(), sink.cloned()).with_budget(limits.max_output_bytes);
        let call = self.plugin.call_with_host_context::<&[u8], &[u8], _>(
            &*self.module.entry_point,
            input.as_bytes(),
            context.clone(),
        );
        let bytes = match call {
            Ok(bytes) => bytes,
            Err(e) => {
                let limit = context.lock().exceeded.or_else(|| exceeded_limit(&e));
                let error = match limit {
                    Some(limit) => ScriptError::LimitExceeded { actor: self.actor.to_string(), limit: limits.describe(limit) },
                    None => ScriptError::Call { actor: self.actor.to_string(), reason: describe_failure(&e) },
                };
                self.replace_instance();
                return Err(error);
            }
        };
        if bytes.len() as u64 > limits.max_output_bytes {
            return Err(ScriptError::LimitExceeded { actor: self.actor.to_string(), limit: limits.describe(Limit::Output) });
        }
        let returned = decode::actor_result(bytes)
            .map_err(|reason| ScriptError::InvalidResult { actor: self.actor.to_string(), reason })?;
        let (mut state, wrote_keys) = {
            let mut call = context.lock();
            (std::mem::take(&mut call.state), call.state_budget != limits.max_output_bytes)
        };
        match returned.state {
            Some(new_state) => state = new_state,
            // `__set_state` adds keys call after call: the whole state must stay within the
            // output limit too (a returned state already does, being part of the output).
            None if wrote_keys && state_size(&state) > limits.max_output_bytes => {
                return Err(ScriptError::LimitExceeded { actor: self.actor.to_string(), limit: limits.describe(Limit::Output) });
            }
            None => {}
        }
        self.state = state;
        Ok(returned.outputs)
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
        match instantiate(&self.module, &self.compiled) {
            Ok(plugin) => self.plugin = plugin,
            Err(e) => tracing::error!(actor = %self.actor, "cannot restart the plugin instance: {e}"),
        }
    }
}

fn instantiate(module: &PluginModule, compiled: &extism::CompiledPlugin) -> Result<extism::Plugin, ScriptError> {
    extism::Plugin::new_from_compiled(compiled)
        .map_err(|e| ScriptError::Load { plugin: module.name.to_string(), reason: format!("{e:#}") })
}

/// The bytes of `state` as JSON.
fn state_size(state: &Map<String, Value>) -> u64 {
    serde_json::to_string(state).map_or(u64::MAX, |text| text.len() as u64)
}

/// Which limit stopped a call, from the error Extism reports: its epoch timeout says
/// `timeout`, its memory limiter `oom`, fuel exhaustion `plugin ran out of fuel`.
pub(crate) fn exceeded_limit(error: &extism::Error) -> Option<Limit> {
    error.chain().find_map(|cause| match cause.to_string().as_str() {
        "timeout" => Some(Limit::Time),
        "oom" => Some(Limit::Memory),
        "plugin ran out of fuel" => Some(Limit::Fuel),
        _ => None,
    })
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
