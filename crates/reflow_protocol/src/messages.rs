//! The wire format: the message envelope and the protocol's spellings of our model (ports,
//! edge ids, port types). Payloads stay `serde_json::Value`s read with the helpers here,
//! because the protocol defines dozens of them and a client may send keys it does not
//! define; replies are written with exactly the keys the protocol's schemas allow.

use reflow_network::graph::PortRef;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One message from a client: `{protocol, command, payload, secret?, requestId?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    pub protocol: String,
    pub command: String,
    #[serde(default)]
    pub payload: Value,
    /// The access token (protocol 0.8); older clients put it in `payload.secret`.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default, rename = "requestId")]
    pub request_id: Option<String>,
}

impl Request {
    /// The secret wherever the client put it.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref().or_else(|| self.payload.get("secret").and_then(Value::as_str))
    }
}

/// One message to a client. `responseTo` is set on direct replies to a request that had a
/// `requestId`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reply {
    pub protocol: String,
    pub command: String,
    pub payload: Value,
    #[serde(rename = "responseTo", skip_serializing_if = "Option::is_none")]
    pub response_to: Option<String>,
}

impl Reply {
    pub fn new(protocol: &str, command: &str, payload: Value) -> Reply {
        Reply { protocol: protocol.to_string(), command: command.to_string(), payload, response_to: None }
    }

    /// `{protocol}:error` with `message`, the protocol's way of refusing a request.
    pub fn error(protocol: &str, message: impl Into<String>) -> Reply {
        Reply::new(protocol, "error", json!({ "message": message.into() }))
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// A refusal to send back: the text goes into `{protocol}:error`.
pub type Refusal = String;

/// The string at `payload[key]`, or a refusal naming the key.
pub fn string(payload: &Value, key: &str) -> Result<String, Refusal> {
    match payload.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Err(format!("Missing `{key}` in payload")),
    }
}

/// The object at `payload[key]`: empty when absent, a refusal when not an object.
pub fn object(payload: &Value, key: &str) -> Result<Map<String, Value>, Refusal> {
    match payload.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(format!("`{key}` must be an object")),
    }
}

/// `payload[key]` as a port: `{node, port, index?}` (an index may be a number or a numeric
/// string, as clients send both).
pub fn port(payload: &Value, key: &str) -> Result<PortRef, Refusal> {
    let value = payload.get(key).ok_or_else(|| format!("Missing `{key}` in payload"))?;
    let node = string(value, "node").map_err(|e| format!("{key}: {e}"))?;
    let name = string(value, "port").map_err(|e| format!("{key}: {e}"))?;
    let index = match value.get("index") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().ok_or_else(|| format!("{key}: `index` must be a whole number"))?),
        Some(Value::String(s)) => Some(s.parse::<u64>().map_err(|_| format!("{key}: `index` must be a whole number"))?),
        Some(_) => return Err(format!("{key}: `index` must be a number")),
    };
    Ok(PortRef { process: node, port: name, index: index.map(|i| i as usize) })
}

/// A port as the protocol writes it: `{node, port}` plus `index` for an array-port slot.
pub fn wire_port(port: &PortRef) -> Value {
    let mut value = json!({ "node": port.process, "port": port.port });
    if let Some(index) = port.index {
        value["index"] = json!(index);
    }
    value
}

/// The protocol's edge id, an FBP DSL line: `SRC() OUT -> IN TGT()`.
pub fn edge_id(src: &PortRef, tgt: &PortRef) -> String {
    reflow_trace::flowtrace::edge_id(&src.process, &src.port, src.index, &tgt.process, &tgt.port, tgt.index)
}

/// The id of an IIP's data event: `DATA -> IN TGT()`.
pub fn initial_id(tgt: &PortRef) -> String {
    format!("DATA -> {} {}()", reflow_trace::flowtrace::port_id(&tgt.port, tgt.index), tgt.process)
}

/// Our port type (`docs/abi.md`: `Integer`, `Any`, ...) in the names FBP editors know
/// (`int`, `all`, ...); a type without an FBP name is sent lower-cased.
pub fn fbp_port_type(port_type: &str) -> String {
    match port_type {
        "Any" => "all",
        "Flow" => "bang",
        "Integer" => "int",
        "Float" => "number",
        "Boolean" => "boolean",
        "String" => "string",
        "Object" => "object",
        "Array" => "array",
        "Stream" => "buffer",
        other => return other.to_lowercase(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_ids_follow_the_fbp_dsl() {
        let src = PortRef::new("Hello", "out");
        let tgt = PortRef::with_index("World", "in", 2);
        assert_eq!(edge_id(&src, &tgt), "Hello() OUT -> IN[2] World()");
        assert_eq!(initial_id(&PortRef::new("Hello", "in")), "DATA -> IN Hello()");
    }

    #[test]
    fn ports_accept_numeric_string_indexes_and_refuse_bad_ones() {
        let p = port(&json!({"src": {"node": "a", "port": "out", "index": "3"}}), "src").unwrap();
        assert_eq!(p, PortRef::with_index("a", "out", 3));
        assert!(port(&json!({"src": {"node": "a", "port": "out", "index": "x"}}), "src").is_err());
        assert!(port(&json!({"src": {"node": "a"}}), "src").is_err());
        assert!(port(&json!({}), "src").is_err());
    }
}
