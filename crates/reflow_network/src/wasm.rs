//! A WASM plugin as a network component: a [`ScriptActor`] behind the [`Component`] trait,
//! optionally recorded ([`crate::record`]) and hot-swappable ([`crate::reload`]).

use crate::component::{Component, ComponentError, Outputs, Payload};
use crate::record::CallRecorder;
use crate::reload::Swappable;
use reflow_abi::{Message, PluginMetadata};
use reflow_script::{ScriptActor, ScriptError};
use std::collections::HashMap;

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

    /// Between two calls: the one place a new version can take over (crate::reload).
    fn take_swap(&mut self) {
        if let Some(new) = self.swap.as_ref().and_then(|swap| swap.swapped(&self.actor)) {
            self.dropped_before += self.actor.dropped();
            self.actor = new;
        }
    }
}

impl Component for WasmComponent {
    fn metadata(&self) -> &PluginMetadata {
        self.actor.metadata()
    }

    fn process(&mut self, payload: &mut Payload, out: &Outputs) -> Result<(), ComponentError> {
        self.take_swap();
        let map = take_map(payload);
        let result = match &self.recorder {
            None => self.actor.process(&map, out.sink().clone()),
            Some(recorder) => recorder.call(&mut self.actor, &map, out.sink()),
        };
        result.map_err(|e| {
            // The call took nothing: a failure dead-letters the whole payload.
            *payload = map.into_iter().collect();
            component_error(e)
        })
    }

    fn process_batch(&mut self, batch: &mut [Payload], out: &Outputs, done: &mut usize) -> Result<(), ComponentError> {
        // A recording keeps every call apart (its payload, state before and after), so a
        // recorded actor is called once per message.
        if self.recorder.is_some() {
            for payload in batch {
                self.process(payload, out)?;
                *done += 1;
            }
            return Ok(());
        }
        self.take_swap();
        let maps: Vec<HashMap<String, Message>> = batch.iter_mut().map(take_map).collect();
        let (handled, failed) = self.actor.process_batch(&maps, out.sink().clone());
        *done = handled;
        // What was not handled goes back, for the failure and the firings after it.
        for (payload, map) in batch.iter_mut().zip(maps).skip(handled) {
            *payload = map.into_iter().collect();
        }
        failed.map_or(Ok(()), |e| Err(component_error(e)))
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
        self.dropped_before + self.actor.dropped()
    }
}

/// The scheduler names the actor itself; keep only what went wrong.
fn component_error(error: ScriptError) -> ComponentError {
    match error {
        ScriptError::Call { reason, .. } => ComponentError(reason),
        ScriptError::InvalidResult { reason, .. } => ComponentError(format!("invalid ActorResult: {reason}")),
        ScriptError::LimitExceeded { limit, limits, .. } => ComponentError(format!("exceeded {}", limits.describe(limit))),
        other => ComponentError(other.to_string()),
    }
}

/// A firing's messages as a plugin call takes them (`ActorContext.payload`), moved out of the
/// payload.
fn take_map(payload: &mut Payload) -> HashMap<String, Message> {
    std::mem::take(payload).into_map()
}
