//! Tripler: triples each Integer on `input`. Not built by the repository's plugin build:
//! `cargo xtask fbp-spec` sends this file to `reflow serve --allow-build` with
//! `component:source`, as an FBP editor would, together with `tripler.tests.yml`.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Tripler".to_string(),
        description: "Triples each Integer".to_string(),
        inports: vec![port_def!("input", "A number to triple", "Integer", required)],
        outports: vec![port_def!("output", "The number, tripled", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let mut outputs = HashMap::new();
    match context.payload.get("input") {
        Some(Message::Integer(n)) => {
            let tripled = n.checked_mul(3).ok_or_else(|| format!("{n} tripled does not fit in an Integer"))?;
            outputs.insert("output".to_string(), Message::Integer(tripled));
        }
        Some(other) => return Err(format!("input must be an Integer, got {}", other.type_name())),
        None => {}
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
