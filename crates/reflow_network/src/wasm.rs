//! A WASM plugin as a network component: a [`ScriptActor`] behind the [`Component`] trait.

use crate::component::{Component, ComponentError, Outputs, Payload};
use reflow_abi::PluginMetadata;
use reflow_script::{ScriptActor, ScriptError};

pub struct WasmComponent {
    actor: ScriptActor,
}

impl WasmComponent {
    pub fn new(actor: ScriptActor) -> WasmComponent {
        WasmComponent { actor }
    }

    pub fn actor(&self) -> &ScriptActor {
        &self.actor
    }

    pub fn actor_mut(&mut self) -> &mut ScriptActor {
        &mut self.actor
    }
}

impl Component for WasmComponent {
    fn metadata(&self) -> &PluginMetadata {
        self.actor.metadata()
    }

    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        // The scheduler names the actor itself; keep only what went wrong.
        self.actor.process(payload, out.sink().clone()).map_err(|e| match e {
            ScriptError::Call { reason, .. } => ComponentError(reason),
            ScriptError::InvalidResult { reason, .. } => ComponentError(format!("invalid ActorResult: {reason}")),
            ScriptError::LimitExceeded { limit, limits, .. } => ComponentError(format!("exceeded {}", limits.describe(limit))),
            other => ComponentError(other.to_string()),
        })
    }

    fn dropped_messages(&self) -> u64 {
        self.actor.dropped()
    }
}
