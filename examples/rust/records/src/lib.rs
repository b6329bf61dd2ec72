//! One step of a JSON-records pipeline, chosen per process by `config.op`:
//!
//! - `filter`: passes a record whose `config.field` is a number `>= config.min`, drops others;
//! - `map`: adds `total` = `qty * price`;
//! - `enrich`: adds every key of `config.fields` to the record;
//! - `validate`: fails the call on a record without a numeric `qty` and `price`, so the
//!   scheduler sends it on the process's `error` outport; passes the others.
//!
//! Used by `examples/graphs/orders-pipeline.json` and `examples/graphs/orders-fan.json`.

use reflow_wasm::*;
use serde_json::{Map, Value};
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "Records".to_string(),
        description: "filter, map, enrich or validate JSON records (config.op)".to_string(),
        inports: vec![port_def!("in", "a record (a JSON object)", "Object", required)],
        outports: vec![port_def!("out", "the record, changed or passed", "Object")],
        config_schema: Some(serde_json::json!({
            "type": "object",
            "required": ["op"],
            "properties": {"op": {"enum": ["filter", "map", "enrich", "validate"]}}
        })),
    }
}

fn number(record: &Map<String, Value>, key: &str) -> Option<f64> {
    record.get(key).and_then(Value::as_f64)
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let mut record = match context.payload.get("in") {
        Some(Message::Object(Value::Object(record))) => record.clone(),
        Some(other) => return Err(format!("in must be an Object, got {}", other.type_name())),
        None => return Ok(ActorResult { outputs: HashMap::new(), state: None }),
    };
    let config = &context.config;
    let keep = match config.get_string("op").as_deref() {
        Some("filter") => {
            let field = config.get_string("field").ok_or("filter needs config.field")?;
            let min = config.get_number("min").ok_or("filter needs config.min")?;
            number(&record, &field).is_some_and(|v| v >= min)
        }
        Some("map") => {
            let qty = number(&record, "qty").ok_or("map needs a numeric qty")?;
            let price = number(&record, "price").ok_or("map needs a numeric price")?;
            record.insert("total".into(), serde_json::json!(qty * price));
            true
        }
        Some("enrich") => {
            if let Some(Value::Object(fields)) = config.get("fields") {
                record.extend(fields.clone());
            }
            true
        }
        Some("validate") => {
            for key in ["qty", "price"] {
                if number(&record, key).is_none() {
                    let id = record.get("id").map_or_else(|| "?".to_string(), Value::to_string);
                    return Err(format!("record {id}: {key} must be a number"));
                }
            }
            true
        }
        other => return Err(format!("config.op must be filter, map, enrich or validate, got {other:?}")),
    };
    let mut outputs = HashMap::new();
    if keep {
        outputs.insert("out".to_string(), Message::Object(Value::Object(record)));
    }
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
