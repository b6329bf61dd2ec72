//! The message that travels on ports, and its two JSON readings.
//!
//! On the wire a message is adjacently tagged: `{"type":"Integer","data":5}`, with
//! `"data":null` for `Flow`. Plugins written against the original Go SDK also send plain JSON
//! values through `__send_output` (`{"status":"done","count":3}`), so [`Message::from_json`]
//! accepts both: a tagged object is read as a message, anything else is mapped by its JSON
//! kind (integer -> `Integer`, object -> `Object`, null -> `Optional(None)`, ...).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// A Reflow message: the 12 variants of the specification.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A control signal without data.
    Flow,
    Event(Value),
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Object(Value),
    Array(Vec<Value>),
    /// Binary data; JSON carries it as an array of byte values.
    Stream(Vec<u8>),
    Optional(Option<Box<Value>>),
    Any(Value),
    Error(String),
}

/// Why a JSON value is not a tagged message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageError(String);

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MessageError {}

/// The names of the variants, as they appear in `"type"`.
pub const MESSAGE_TYPES: [&str; 12] = [
    "Flow", "Event", "Boolean", "Integer", "Float", "String", "Object", "Array", "Stream",
    "Optional", "Any", "Error",
];

impl Message {
    /// The variant's name, as written in the `"type"` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Flow => "Flow",
            Message::Event(_) => "Event",
            Message::Boolean(_) => "Boolean",
            Message::Integer(_) => "Integer",
            Message::Float(_) => "Float",
            Message::String(_) => "String",
            Message::Object(_) => "Object",
            Message::Array(_) => "Array",
            Message::Stream(_) => "Stream",
            Message::Optional(_) => "Optional",
            Message::Any(_) => "Any",
            Message::Error(_) => "Error",
        }
    }

    /// The tagged JSON form `{"type":..., "data":...}`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::with_capacity(2);
        map.insert("type".into(), Value::String(self.type_name().into()));
        map.insert("data".into(), self.data());
        Value::Object(map)
    }

    /// The payload alone, as plain JSON (`Integer(5)` -> `5`, `Flow` -> `null`).
    pub fn data(&self) -> Value {
        match self {
            Message::Flow => Value::Null,
            Message::Event(v) | Message::Object(v) | Message::Any(v) => v.clone(),
            Message::Boolean(b) => Value::Bool(*b),
            Message::Integer(i) => Value::from(*i),
            Message::Float(f) => Value::from(*f),
            Message::String(s) | Message::Error(s) => Value::String(s.clone()),
            Message::Array(items) => Value::Array(items.clone()),
            Message::Stream(bytes) => Value::Array(bytes.iter().map(|b| Value::from(*b)).collect()),
            Message::Optional(None) => Value::Null,
            Message::Optional(Some(v)) => (**v).clone(),
        }
    }

    /// Reads a tagged message strictly: an object with a known `"type"` and fitting `"data"`.
    pub fn from_tagged(value: &Value) -> Result<Message, MessageError> {
        let obj = value
            .as_object()
            .ok_or_else(|| MessageError(format!("a message must be a JSON object, got {}", json_kind(value))))?;
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| MessageError("a message needs a string \"type\" field".into()))?;
        let data = obj.get("data").unwrap_or(&Value::Null);
        Message::from_type_and_data(ty, data)
    }

    /// Builds the variant named `ty` from its `data`.
    pub fn from_type_and_data(ty: &str, data: &Value) -> Result<Message, MessageError> {
        let wrong = |want: &str| MessageError(format!("a {ty} message needs {want} as data, got {}", json_kind(data)));
        Ok(match ty {
            "Flow" => Message::Flow,
            "Event" => Message::Event(data.clone()),
            "Boolean" => Message::Boolean(data.as_bool().ok_or_else(|| wrong("a boolean"))?),
            "Integer" => Message::Integer(as_integer(data).ok_or_else(|| wrong("an integer"))?),
            "Float" => Message::Float(data.as_f64().ok_or_else(|| wrong("a number"))?),
            "String" => Message::String(data.as_str().ok_or_else(|| wrong("a string"))?.to_string()),
            "Object" => Message::Object(data.clone()),
            "Array" => Message::Array(data.as_array().ok_or_else(|| wrong("an array"))?.clone()),
            "Stream" => Message::Stream(as_bytes(data).ok_or_else(|| wrong("an array of bytes"))?),
            "Optional" => Message::Optional(match data {
                Value::Null => None,
                other => Some(Box::new(other.clone())),
            }),
            "Any" => Message::Any(data.clone()),
            "Error" => Message::Error(match data {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            other => {
                return Err(MessageError(format!(
                    "unknown message type {other:?} (expected one of {})",
                    MESSAGE_TYPES.join(", ")
                )))
            }
        })
    }

    /// Maps a plain JSON value to the message a reader would expect.
    pub fn from_plain(value: Value) -> Message {
        match value {
            Value::Null => Message::Optional(None),
            Value::Bool(b) => Message::Boolean(b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Message::Integer(i),
                None => Message::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Message::String(s),
            Value::Array(items) => Message::Array(items),
            obj @ Value::Object(_) => Message::Object(obj),
        }
    }

    /// Reads either form: a tagged message (an object whose `"type"` names a variant and whose
    /// other keys are at most `"data"`), or else a plain value mapped by [`Message::from_plain`].
    pub fn from_json(value: Value) -> Result<Message, MessageError> {
        if looks_tagged(&value) {
            Message::from_tagged(&value)
        } else {
            Ok(Message::from_plain(value))
        }
    }
}

fn looks_tagged(value: &Value) -> bool {
    let Some(obj) = value.as_object() else { return false };
    let known_type = obj.get("type").and_then(Value::as_str).is_some_and(|t| MESSAGE_TYPES.contains(&t));
    known_type && obj.keys().all(|k| k == "type" || k == "data")
}

fn as_integer(data: &Value) -> Option<i64> {
    // Go's encoding/json and JavaScript write whole floats as `42.0` at times: accept them.
    data.as_i64().or_else(|| {
        data.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64)
    })
}

fn as_bytes(data: &Value) -> Option<Vec<u8>> {
    data.as_array()?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

/// How error messages name a JSON value's kind ("a number", "an object", ...).
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("type", self.type_name())?;
        map.serialize_entry("data", &self.data())?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Message::from_tagged(&value).map_err(D::Error::custom)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl From<Message> for Value {
    fn from(message: Message) -> Value {
        message.to_json()
    }
}

macro_rules! from_rust {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Message {
            fn from(v: $t) -> Message { Message::$variant(v.into()) }
        })*
    };
}

/// A plain JSON value as [`Message::from_plain`] maps it (`5` is `Integer(5)`), so that
/// `success_result("out", json!({...}))` works as it did with the original SDK.
impl From<Value> for Message {
    fn from(value: Value) -> Message {
        Message::from_plain(value)
    }
}

from_rust!(bool => Boolean, i64 => Integer, i32 => Integer, f64 => Float, String => String, &str => String, Vec<u8> => Stream);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all_variants() -> Vec<Message> {
        vec![
            Message::Flow,
            Message::Event(json!({"kind": "tick"})),
            Message::Boolean(true),
            Message::Integer(-5),
            Message::Float(2.5),
            Message::String("hi".into()),
            Message::Object(json!({"a": 1})),
            Message::Array(vec![json!(1), json!("x")]),
            Message::Stream(vec![0, 255, 7]),
            Message::Optional(None),
            Message::Optional(Some(Box::new(json!(3)))),
            Message::Any(json!([true])),
            Message::Error("bad".into()),
        ]
    }

    #[test]
    fn every_variant_round_trips_through_tagged_json() {
        for m in all_variants() {
            let text = serde_json::to_string(&m).unwrap();
            let back: Message = serde_json::from_str(&text).unwrap();
            assert_eq!(back, m, "{text}");
        }
    }

    #[test]
    fn wire_shapes_match_the_abi() {
        assert_eq!(serde_json::to_value(Message::Integer(5)).unwrap(), json!({"type":"Integer","data":5}));
        assert_eq!(serde_json::to_value(Message::Flow).unwrap(), json!({"type":"Flow","data":null}));
        // The original SDKs omit `data` for Flow.
        assert_eq!(Message::from_tagged(&json!({"type":"Flow"})).unwrap(), Message::Flow);
    }

    #[test]
    fn plain_values_map_by_kind() {
        assert_eq!(Message::from_json(json!(3)).unwrap(), Message::Integer(3));
        assert_eq!(Message::from_json(json!(0.5)).unwrap(), Message::Float(0.5));
        assert_eq!(Message::from_json(json!("s")).unwrap(), Message::String("s".into()));
        assert_eq!(Message::from_json(json!(null)).unwrap(), Message::Optional(None));
        assert_eq!(Message::from_json(json!({"status": 1})).unwrap(), Message::Object(json!({"status": 1})));
        // An object with a `type` key that is not a message type stays an object.
        let obj = json!({"type": "car", "data": 1});
        assert_eq!(Message::from_json(obj.clone()).unwrap(), Message::Object(obj));
    }

    #[test]
    fn malformed_tagged_messages_name_the_problem() {
        let err = Message::from_tagged(&json!({"type":"Integer","data":"x"})).unwrap_err();
        assert!(err.to_string().contains("Integer"), "{err}");
        let err = Message::from_tagged(&json!({"type":"Nope"})).unwrap_err();
        assert!(err.to_string().contains("Nope"), "{err}");
        assert_eq!(Message::from_tagged(&json!({"type":"Integer","data":42.0})).unwrap(), Message::Integer(42));
    }
}
