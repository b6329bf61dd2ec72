//! Sends on ports its metadata does not declare, as the original SDKs' examples do: for each
//! Integer on `in` it sends `status` with `__send_output` and returns `count` (both
//! undeclared) beside `out` (declared). A host drops the undeclared ones with a warning.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "UndeclaredPort".to_string(),
        description: "sends on undeclared ports".to_string(),
        inports: vec![port_def!("in", "a value", "Integer")],
        outports: vec![port_def!("out", "the value", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let Some(Message::Integer(n)) = context.payload.get("in") else { return Err("expected an Integer on `in`".into()) };
    send_output(HashMap::from([("status".to_string(), Message::String(format!("got {n}")))]));
    let outputs = HashMap::from([("out".to_string(), Message::Integer(*n)), ("count".to_string(), Message::Integer(1))]);
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
