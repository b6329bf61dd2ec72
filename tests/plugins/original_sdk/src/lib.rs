//! A counter written against the original Reflow SDK's API, to prove that such code compiles
//! and behaves unchanged on ours: `host::get_state` / `host::set_state(key, value)?` /
//! `host::send_output(map)?`, the `helpers` functions, and a `#[plugin_fn]` export of its
//! own using the re-exported `plugin_fn`, `FnResult` and `Json`.
//!
//! On `input` (an Integer n): adds n to the stored `count`, sends `{"progress": "adding n"}`
//! during the call, and returns the new count on `output`. A negative n is refused with
//! `error_result` (on the `error` port) and changes nothing.

use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    let mut metadata = helpers::create_transform_metadata("OriginalCounter", "counts, the original SDK's way", "Integer", "Integer");
    metadata.outports.push(port_def!("progress", "sent during the call", "String"));
    metadata.outports.push(port_def!("error", "refused inputs", "Error"));
    metadata
}

fn process_actor(context: ActorContext) -> Result<ActorResult, Box<dyn std::error::Error>> {
    let Some(n) = get_input::<i64>(&context, "input") else {
        return Ok(error_result("input must be an integer"));
    };
    if n < 0 {
        return Ok(error_result(format!("refusing {n}: negative")));
    }
    let count = host::get_state("count").and_then(|v| v.as_i64()).unwrap_or(0) + n;
    host::set_state("count", serde_json::json!(count))?;

    let mut progress = HashMap::new();
    let (port, message) = create_output("progress", format!("adding {n}"));
    progress.insert(port, message);
    host::send_output(progress)?;

    Ok(success_result("output", count))
}

actor_plugin!(metadata: metadata(), process: process_actor);

/// An export of its own: the stored count, as JSON.
#[plugin_fn]
pub fn current_count() -> FnResult<Json<serde_json::Value>> {
    Ok(Json(serde_json::json!({ "count": host::get_state("count") })))
}
