//! The original Reflow SDK's helpers for the common shapes of an actor: one `input` and one
//! `output` port, reading a payload as a Rust type, results with one output or an `error`.
//! Re-exported at the crate's top level, as the original did.

use crate::{ActorContext, ActorResult, Message, PluginMetadata, PortDefinition};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Metadata of a transform: a required inport `input` of `input_type` and an outport
/// `output` of `output_type`.
pub fn create_transform_metadata(
    component: &str,
    description: &str,
    input_type: &str,
    output_type: &str,
) -> PluginMetadata {
    PluginMetadata {
        component: component.to_string(),
        description: description.to_string(),
        inports: vec![PortDefinition::new("input", "Input data", input_type, true)],
        outports: vec![PortDefinition::new("output", "Transformed output", output_type, false)],
        config_schema: None,
    }
}

/// The message on `port`, read as a `T` from its plain JSON data (`Integer(5)` as `5`); `None`
/// if the port has no message or its data is not a `T`.
pub fn get_input<T: DeserializeOwned>(context: &ActorContext, port: &str) -> Option<T> {
    let message = context.payload.get(port)?;
    reflow_abi::serde_json::from_value(message.data()).ok()
}

/// One entry of an outputs map: `outputs.extend([create_output("sum", 3)])`.
pub fn create_output(port: &str, value: impl Into<Message>) -> (String, Message) {
    (port.to_string(), value.into())
}

/// A result with `error` on the `error` outport and no state change.
pub fn error_result(error: impl std::fmt::Display) -> ActorResult {
    let mut outputs = HashMap::new();
    outputs.insert("error".to_string(), Message::Error(error.to_string()));
    ActorResult { outputs, state: None }
}

/// A result with one output and no state change.
pub fn success_result(port: &str, value: impl Into<Message>) -> ActorResult {
    let mut outputs = HashMap::new();
    outputs.insert(port.to_string(), value.into());
    ActorResult { outputs, state: None }
}
