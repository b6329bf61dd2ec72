//! A feedback loop's step, for the checkpoint tests: `in` takes an Integer n and sends n on
//! `tick`; while n is not a multiple of 4 it also sends n - 1 on `again`, which the graph
//! connects back to `in`. So each number circulates at most three more times and the loop
//! ends by itself. Keeps no state: what a loop holds is its messages in flight.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Countdown".to_string(),
        description: "counts each number down to a multiple of 4, one loop turn per step".to_string(),
        inports: vec![port_def!("in", "a number", "Integer")],
        outports: vec![port_def!("again", "the number minus one, until a multiple of 4", "Integer"), port_def!("tick", "every number seen", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let Some(Message::Integer(n)) = context.payload.get("in") else { return Err("countdown: `in` takes an Integer".into()) };
    let mut outputs = HashMap::new();
    outputs.insert("tick".to_string(), Message::Integer(*n));
    if n % 4 != 0 {
        outputs.insert("again".to_string(), Message::Integer(n - 1));
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
