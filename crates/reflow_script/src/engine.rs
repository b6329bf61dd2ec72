//! One live plugin instance and its actor's host-side state.

use crate::call_state::CallState;
use crate::module::{CallFailure, PluginInstance};
use crate::{decode, Entropy, Limit, Limits, PluginModule, ScriptConfig, ScriptError};
use reflow_abi::{ActorConfig, Message, PluginMetadata};
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
    /// `,"config":CONFIG,"state":`, the middle of every `ActorContext`, serialised once: the
    /// config does not change between messages.
    config_part: String,
    state: Arc<Map<String, Value>>,
    /// `state` as JSON, kept while the state does not change (most calls of most actors leave
    /// it as it is); `None` once it changed, until the next context is encoded.
    state_json: Option<String>,
    /// The buffer the context is encoded into, reused from call to call.
    input: Vec<u8>,
    /// How the next call's WASI clock and random reads are served, then what they were.
    entropy: Entropy,
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
        let name: Arc<str> = actor.node_id.as_str().into();
        let instance = module.instantiate(name.clone())?;
        for (key, value) in &module.grants.env {
            actor.resolved_env.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let config_json = serde_json::to_string(&actor).expect("ActorConfig always serialises");
        Ok(ExtismEngine {
            module: module.clone(),
            instance,
            actor: name,
            config_part: format!(",\"config\":{config_json},\"state\":"),
            state: Arc::default(),
            state_json: None,
            input: Vec::new(),
            entropy: Entropy::Live,
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
        self.state = Arc::new(state);
        self.state_json = None;
    }

    /// Serves the next [`ExtismEngine::process`] call's WASI clock and random reads as
    /// `entropy` says (recorded, or replayed from a recording); [`ExtismEngine::take_entropy`]
    /// then returns what the call read. Only for that one call: the next is live again.
    pub fn set_entropy(&mut self, entropy: Entropy) {
        self.entropy = entropy;
    }

    /// What the last call read (an [`Entropy::Record`]) or left unreplayed (an
    /// [`Entropy::Replay`]), as set by [`ExtismEngine::set_entropy`]; [`Entropy::Live`] if
    /// nothing was set.
    pub fn take_entropy(&mut self) -> Entropy {
        std::mem::take(&mut self.entropy)
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
        self.process_ports(payload, sink).map(|ports| ports.into_iter().collect())
    }

    /// [`ExtismEngine::process`], with the returned outputs as the plugin wrote them (a port
    /// named twice: the last counts), for a caller that routes them by port anyway.
    pub(crate) fn process_ports(
        &mut self,
        payload: &HashMap<String, Message>,
        sink: Option<&OutputSink>,
    ) -> Result<Vec<(String, Message)>, ScriptError> {
        let limits = self.module.limits;
        self.encode_context(payload);
        let call = CallState::new(self.actor.clone(), self.state.clone(), sink.cloned()).with_budget(limits.max_output_bytes);
        // Only a recording or a replay touches the instance's tape: a live call costs a branch.
        let taped = !matches!(self.entropy, Entropy::Live);
        if taped {
            self.instance.swap_entropy(std::mem::take(&mut self.entropy));
        }
        let called = self.instance.call(&self.module.entry_point, &self.input, call);
        if taped {
            self.entropy = self.instance.swap_entropy(Entropy::Live);
        }
        let (output, call) = match called {
            Ok(done) => done,
            Err(failure) => {
                self.replace_instance();
                return Err(self.failed(failure));
            }
        };
        self.take_result(&output, Some(call))
    }

    /// Whether [`ExtismEngine::process_batch`] passes several messages in one call: on our
    /// engine, for a plugin with `__reflow_batch_v1` that calls none of our host functions
    /// (docs/abi.md, "Batches"). Otherwise it makes one call per message.
    pub fn batches(&self) -> bool {
        self.instance.batches()
    }

    /// Runs the entry point for each payload in order, with the same outputs, state and
    /// errors as [`ExtismEngine::process`] one payload at a time, in one call when the plugin
    /// takes batches ([`ExtismEngine::batches`]; else one call each, messages sent with
    /// `__send_output` going to `sink` during its call). Returns the outputs of the payloads
    /// done, in order, and the error of the next one if it failed; then the payloads after it
    /// were not run (they may be passed again: the instance is ready for them).
    pub fn process_batch(
        &mut self,
        payloads: &[HashMap<String, Message>],
        sink: Option<&OutputSink>,
    ) -> (Vec<HashMap<String, Message>>, Option<ScriptError>) {
        let (outputs, failed) = self.process_batch_ports(payloads, sink);
        (outputs.into_iter().map(|ports| ports.into_iter().collect()).collect(), failed)
    }

    /// [`ExtismEngine::process_batch`], each payload's outputs as in
    /// [`ExtismEngine::process_ports`].
    pub(crate) fn process_batch_ports(
        &mut self,
        payloads: &[HashMap<String, Message>],
        sink: Option<&OutputSink>,
    ) -> (Vec<Vec<(String, Message)>>, Option<ScriptError>) {
        let mut outputs = Vec::with_capacity(payloads.len());
        if payloads.len() < 2 || !self.batches() {
            for payload in payloads {
                match self.process_ports(payload, sink) {
                    Ok(done) => outputs.push(done),
                    Err(e) => return (outputs, Some(e)),
                }
            }
            return (outputs, None);
        }
        self.encode_batch(payloads);
        let call = CallState::new(self.actor.clone(), self.state.clone(), None).with_budget(self.module.limits.max_output_bytes);
        let (results, failure) = self.instance.call_batch(&self.input, payloads.len(), call);
        for result in &results {
            match self.take_result(result, None) {
                Ok(done) => outputs.push(done),
                Err(e) => {
                    // The plugin went on from a result the host refused (over the output
                    // limit, or invalid): what it did after that is void, so the payloads
                    // after this one run again on a fresh instance.
                    self.replace_instance();
                    return (outputs, Some(e));
                }
            }
        }
        if let Some(failure) = failure {
            self.replace_instance();
            return (outputs, Some(self.failed(failure)));
        }
        (outputs, None)
    }

    /// A call's `ActorResult` text taken in: checked against the output limit, decoded, and
    /// the state changed as it says (a returned state replaces it; else the call's
    /// `__set_state` writes, if `call` made any, are kept).
    fn take_result(&mut self, output: &[u8], call: Option<CallState>) -> Result<Vec<(String, Message)>, ScriptError> {
        let limits = self.module.limits;
        let over_output = || ScriptError::LimitExceeded { actor: self.actor.to_string(), limit: Limit::Output, limits };
        if output.len() as u64 > limits.max_output_bytes {
            return Err(over_output());
        }
        let returned = decode::actor_result(output)
            .map_err(|reason| ScriptError::InvalidResult { actor: self.actor.to_string(), reason })?;
        match (returned.state, call) {
            (Some(new_state), _) => self.set_state(new_state),
            (None, Some(call)) if call.wrote_state(limits.max_output_bytes) => {
                // `__set_state` adds keys call after call: the whole state must stay within
                // the output limit too (a returned state already does, being part of the
                // output). Its text is the next context's.
                let text = serde_json::to_string(&*call.state).expect("JSON values always serialise");
                if text.len() as u64 > limits.max_output_bytes {
                    return Err(over_output());
                }
                self.state = call.state;
                self.state_json = Some(text);
            }
            (None, _) => {}
        }
        Ok(returned.outputs)
    }

    /// Calls any export with raw bytes, bypassing the `ActorContext` encoding (the actor's
    /// state is neither passed nor changed): for tests, benchmarks and plugins with extra
    /// exports. A failure replaces the instance, as in [`ExtismEngine::process`].
    pub fn call_export(&mut self, export: &str, input: &[u8]) -> Result<Vec<u8>, ScriptError> {
        let limits = self.module.limits;
        let call = CallState::new(self.actor.clone(), Arc::default(), None).with_budget(limits.max_output_bytes);
        match self.instance.call(export, input, call) {
            Ok((output, _)) if output.len() as u64 > limits.max_output_bytes => {
                Err(ScriptError::LimitExceeded { actor: self.actor.to_string(), limit: Limit::Output, limits })
            }
            Ok((output, _)) => Ok(output),
            Err(failure) => {
                self.replace_instance();
                Err(self.failed(failure))
            }
        }
    }

    /// The error for a failed call: the limit it hit, or the reason.
    fn failed(&self, failure: CallFailure) -> ScriptError {
        match failure.limit {
            Some(limit) => ScriptError::LimitExceeded { actor: self.actor.to_string(), limit, limits: self.module.limits },
            None => ScriptError::Call { actor: self.actor.to_string(), reason: failure.reason },
        }
    }

    /// `{"payload":..,"config":..,"state":..}` into `self.input`: the payload written straight
    /// from the messages, the config and the unchanged state spliced in as kept text.
    fn encode_context(&mut self, payload: &HashMap<String, Message>) {
        self.encode_input(b"{\"payload\":", payload)
    }

    /// `{"payloads":[..],"config":..,"state":..}` (an `ActorBatch`) into `self.input`, as
    /// [`Self::encode_context`] writes one context.
    fn encode_batch(&mut self, payloads: &[HashMap<String, Message>]) {
        self.encode_input(b"{\"payloads\":", payloads)
    }

    fn encode_input(&mut self, opening: &[u8], payload: &(impl serde::Serialize + ?Sized)) {
        let state = self.state_json.get_or_insert_with(|| serde_json::to_string(&*self.state).expect("JSON values always serialise"));
        let input = &mut self.input;
        input.clear();
        input.extend_from_slice(opening);
        serde_json::to_writer(&mut *input, payload).expect("messages always serialise");
        input.extend_from_slice(self.config_part.as_bytes());
        input.extend_from_slice(state.as_bytes());
        input.push(b'}');
    }

    /// After a failed call the instance may be in any state (a trap mid-allocation, a
    /// half-run Go scheduler): start a fresh one. The actor's state is host-side and survives.
    fn replace_instance(&mut self) {
        if let Err(e) = self.instance.restart(&self.module, self.actor.clone()) {
            tracing::error!(actor = %self.actor, "cannot restart the plugin instance: {e}");
        }
    }
}
