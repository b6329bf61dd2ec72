//! A WASM plugin as a network component: a [`ScriptActor`] behind the [`Component`] trait,
//! optionally recorded ([`crate::record`]) and hot-swappable ([`crate::reload`]).

use crate::component::{Component, ComponentError, Outputs, Payload};
use crate::record::CallRecorder;
use crate::reload::Swappable;
use reflow_abi::PluginMetadata;
use reflow_script::{ScriptActor, ScriptError};

pub struct WasmComponent {
    actor: ScriptActor,
    recorder: Option<CallRecorder>,
    swap: Option<Swappable>,
    /// Messages dropped by the versions swapped out.
    dropped_before: u64,
}

impl WasmComponent {
    pub fn new(actor: ScriptActor) -> WasmComponent {
        WasmComponent { actor, recorder: None, swap: None, dropped_before: 0 }
    }

    /// Records every call into a recording.
    pub fn with_recorder(mut self, recorder: CallRecorder) -> WasmComponent {
        self.recorder = Some(recorder);
        self
    }

    pub(crate) fn with_swap(mut self, swap: Swappable) -> WasmComponent {
        self.swap = Some(swap);
        self
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
        // Between two calls: the one place a new version can take over (crate::reload).
        if let Some(new) = self.swap.as_ref().and_then(|swap| swap.swapped(&self.actor)) {
            self.dropped_before += self.actor.dropped();
            self.actor = new;
        }
        let result = match &self.recorder {
            None => self.actor.process(payload, out.sink().clone()),
            Some(recorder) => recorder.call(&mut self.actor, payload, out.sink()),
        };
        // The scheduler names the actor itself; keep only what went wrong.
        result.map_err(|e| match e {
            ScriptError::Call { reason, .. } => ComponentError(reason),
            ScriptError::InvalidResult { reason, .. } => ComponentError(format!("invalid ActorResult: {reason}")),
            ScriptError::LimitExceeded { limit, limits, .. } => ComponentError(format!("exceeded {}", limits.describe(limit))),
            other => ComponentError(other.to_string()),
        })
    }

    fn dropped_messages(&self) -> u64 {
        self.dropped_before + self.actor.dropped()
    }
}
