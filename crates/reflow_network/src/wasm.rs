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

    /// A plugin's state is what it keeps: the state object the host holds for it.
    fn checkpoint(&mut self) -> Result<Option<serde_json::Value>, ComponentError> {
        Ok(Some(serde_json::Value::Object(self.actor.engine().state().clone())))
    }

    fn restore(&mut self, saved: serde_json::Value) -> Result<(), ComponentError> {
        match saved {
            serde_json::Value::Object(state) => {
                self.actor.engine_mut().set_state(state);
                Ok(())
            }
            other => Err(ComponentError(format!("a stored state must be a JSON object, got {other}"))),
        }
    }

    fn dropped_messages(&self) -> u64 {
        self.actor.dropped()
    }
}
