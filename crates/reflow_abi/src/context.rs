//! What the host hands to `process` and what it gets back.

use crate::{Message, PortMessages};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The input of one `process` call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorContext {
    /// The messages that arrived, by inport name.
    #[serde(default, deserialize_with = "lenient_messages")]
    pub payload: HashMap<String, Message>,
    /// Who the actor is and the graph's configuration of it.
    #[serde(default)]
    pub config: ActorConfig,
    /// The actor's state as the host holds it (an empty object at first).
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub state: Map<String, Value>,
}

/// Who the actor is and how the graph configured it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorConfig {
    /// The process name in the graph.
    #[serde(default)]
    pub node_id: String,
    /// The component the process runs (the plugin's `PluginMetadata.component`).
    #[serde(default)]
    pub component: String,
    /// Environment values the graph granted to this actor (empty unless granted).
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub resolved_env: HashMap<String, String>,
    /// The per-process configuration from the graph.
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub config: Map<String, Value>,
    /// A field of the original ABI that this host always leaves `None`: kept so that the
    /// context keeps the shape plugins of the original SDKs decode.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl ActorConfig {
    /// The raw configuration value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key)
    }

    /// An integer setting; whole floats (`3.0`) count, as JSON from JavaScript writes them.
    pub fn get_integer(&self, key: &str) -> Option<i64> {
        let v = self.config.get(key)?;
        v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    }

    /// A number setting (an integer counts too); `None` when absent or not a number.
    pub fn get_number(&self, key: &str) -> Option<f64> {
        self.config.get(key)?.as_f64()
    }

    /// A string setting; `None` when absent or not a string (no number is turned into text).
    pub fn get_string(&self, key: &str) -> Option<String> {
        self.config.get(key)?.as_str().map(str::to_string)
    }

    /// A boolean setting; `None` when absent or not a boolean (no `"true"` string counts).
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.config.get(key)?.as_bool()
    }
}

/// The answer of one `process` call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorResult {
    /// Messages to send, by outport name.
    #[serde(default, deserialize_with = "lenient_messages")]
    pub outputs: HashMap<String, Message>,
    /// The actor's new state; `None` (or a missing key, as the original Go SDK writes it)
    /// leaves the state unchanged.
    #[serde(default)]
    pub state: Option<Value>,
}

/// The input of one `__reflow_batch_v1` call (`docs/abi.md`, "Batches"): the payloads of
/// several firings, in order, with the config once and the state before the first of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActorBatch {
    /// One payload per firing, in the order the messages arrived.
    #[serde(default, deserialize_with = "lenient_payloads")]
    pub payloads: Vec<HashMap<String, Message>>,
    /// As [`ActorContext::config`], the same for every payload.
    #[serde(default)]
    pub config: ActorConfig,
    /// The state before the first payload; each later one sees what the one before returned.
    #[serde(default, deserialize_with = "crate::null_as_default")]
    pub state: Map<String, Value>,
}

/// [`lenient_messages`] for each payload of a batch.
fn lenient_payloads<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<HashMap<String, Message>>, D::Error> {
    let payloads: Option<Vec<Option<PortMessages>>> = Option::deserialize(d)?;
    Ok(payloads.unwrap_or_default().into_iter().map(|p| p.map(|p| p.0.into_iter().collect()).unwrap_or_default()).collect())
}

/// A port map whose values may be tagged messages or plain JSON (see [`Message::from_json`]),
/// read straight from the text; `null` is an empty map. A port named twice keeps the last.
fn lenient_messages<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<String, Message>, D::Error> {
    let ports: Option<PortMessages> = Option::deserialize(d)?;
    Ok(ports.map(|p| p.0.into_iter().collect()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_reads_the_abi_shape() {
        let ctx: ActorContext = serde_json::from_value(json!({
            "payload": {"input": {"type": "Integer", "data": 21}},
            "config": {"node_id": "n1", "component": "C", "resolved_env": {}, "config": {"initial_value": 7.0}, "namespace": null},
            "state": null
        }))
        .unwrap();
        assert_eq!(ctx.payload["input"], Message::Integer(21));
        assert_eq!(ctx.config.get_integer("initial_value"), Some(7));
        assert!(ctx.state.is_empty());
    }

    #[test]
    fn batch_reads_payloads_in_order() {
        let batch: ActorBatch = serde_json::from_str(
            r#"{"payloads":[{"in":{"type":"Integer","data":1}},{},null,{"in":"plain"}],"config":{"node_id":"n"},"state":{"k":1}}"#,
        )
        .unwrap();
        assert_eq!(batch.payloads.len(), 4);
        assert_eq!(batch.payloads[0]["in"], Message::Integer(1));
        assert!(batch.payloads[1].is_empty() && batch.payloads[2].is_empty());
        assert_eq!(batch.payloads[3]["in"], Message::String("plain".into()));
        assert_eq!(batch.config.node_id, "n");
        assert_eq!(batch.state["k"], json!(1));
    }

    #[test]
    fn result_without_state_means_unchanged() {
        let r: ActorResult = serde_json::from_str(r#"{"outputs":{"value":{"type":"Integer","data":1},"s":"plain"}}"#).unwrap();
        assert_eq!(r.state, None);
        assert_eq!(r.outputs["value"], Message::Integer(1));
        assert_eq!(r.outputs["s"], Message::String("plain".into()));
    }

    #[test]
    fn a_bad_output_names_its_port() {
        let err = serde_json::from_str::<ActorResult>(r#"{"outputs":{"out":{"type":"Integer","data":"x"}}}"#).unwrap_err();
        assert!(err.to_string().contains("\"out\""), "{err}");
    }
}
