//! Reading what a plugin hands the host. Everything here is untrusted input: a plugin may
//! return any bytes, so every function returns an error text instead of panicking, and the
//! caller names the actor. Shared by every engine, and fuzzed (tests/decode.rs). Messages
//! are read straight from the text (no `Value` tree first: `reflow_abi::PortMessages`).

use reflow_abi::{Message, PortMessages};
use serde::Deserialize;
use serde_json::{Map, Value};

/// What one `process` call returned: its outputs by port, in the order the plugin wrote them
/// (a port named twice: the last one counts, as in a map), and its new state (`None`: no
/// change).
#[derive(Debug, Clone, PartialEq)]
pub struct Returned {
    pub outputs: Vec<(String, Message)>,
    pub state: Option<Map<String, Value>>,
}

/// `reflow_abi::ActorResult` as the host reads it: the same fields and errors, the outputs
/// kept as a list (the host routes them by the metadata's outport order, so building a hash
/// map of them first is work thrown away).
#[derive(Deserialize)]
struct WireResult {
    #[serde(default)]
    outputs: Option<PortMessages>,
    #[serde(default)]
    state: Option<Value>,
}

/// Reads the `ActorResult` JSON of a `process` call.
pub fn actor_result(bytes: &[u8]) -> Result<Returned, String> {
    // serde would also read a struct from a JSON array (`[outputs, state]`): the ABI says object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        return Err(format!("expected a JSON object {{\"outputs\": .., \"state\": ..}}, got {start:?}"));
    }
    let result: WireResult = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let state = match result.state {
        None | Some(Value::Null) => None,
        Some(Value::Object(state)) => Some(state),
        Some(other) => return Err(format!("`state` must be an object or null, got {}", brief(&other))),
    };
    Ok(Returned { outputs: result.outputs.map(|ports| ports.0).unwrap_or_default(), state })
}

/// Reads the argument of `__send_output`: a JSON object `{port: message-or-plain-value}`,
/// in document order, in one pass over the text.
pub fn sent_outputs(text: &str) -> Result<Vec<(String, Message)>, String> {
    match serde_json::from_str::<PortMessages>(text) {
        Ok(ports) => Ok(ports.0),
        Err(e) if !e.is_data() => Err(format!("the outputs are not valid JSON: {e}")),
        // Valid JSON of the wrong shape: say what it was (the cold path may parse it again).
        Err(e) => match serde_json::from_str::<Value>(text) {
            Ok(value) if !value.is_object() => Err(format!("expected a JSON object {{port: message}}, got {}", brief(&value))),
            _ => Err(e.to_string()),
        },
    }
}

/// A value for an error line: at most 80 characters of its JSON.
fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_with_state_and_plain_values_decodes() {
        let r = actor_result(br#"{"outputs":{"out":5},"state":{"n":1}}"#).unwrap();
        assert_eq!(r.outputs, vec![("out".to_string(), Message::Integer(5))]);
        assert_eq!(r.state.unwrap()["n"], 1);
        assert_eq!(actor_result(br#"{"outputs":{}}"#).unwrap().state, None);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(actor_result(b"not json").is_err());
        assert!(actor_result(b"[{}, {}]").unwrap_err().starts_with("expected a JSON object"));
        assert!(actor_result(br#"{"outputs":{},"state":[1]}"#).unwrap_err().contains("`state` must be an object"));
        assert!(sent_outputs("[1]").unwrap_err().contains("expected a JSON object"));
        assert!(sent_outputs(r#"{"p":{"type":"Integer","data":"x"}}"#).unwrap_err().starts_with("port \"p\""));
    }
}

#[cfg(test)]
mod fuzz;
