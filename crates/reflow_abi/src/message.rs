//! The message that travels on ports, and its two JSON readings.
//!
//! On the wire a message is adjacently tagged: `{"type":"Integer","data":5}`, with
//! `"data":null` for `Flow`. Plugins written against the original Go SDK also send plain JSON
//! values through `__send_output` (`{"status":"done","count":3}`), so [`Message::from_json`]
//! accepts both: a tagged object is read as a message, anything else is mapped by its JSON
//! kind (integer -> `Integer`, object -> `Object`, null -> `Optional(None)`, ...).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// A Reflow message: the 12 variants of the specification.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A control signal without data (`data` is `null`, or absent as the original SDKs write it).
    Flow,
    /// Something that happened, described by any JSON value.
    Event(Value),
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number; a whole float such as `42.0` is read as one (Go and JavaScript write those).
    Integer(i64),
    /// A number; NaN and the infinities, which JSON cannot carry, are written as `null`.
    Float(f64),
    /// Text.
    String(String),
    /// A JSON value meant as a record (usually an object; not checked, as the original SDKs do not).
    Object(Value),
    /// A list of JSON values.
    Array(Vec<Value>),
    /// Binary data; JSON carries it as an array of byte values.
    Stream(Vec<u8>),
    /// A value that may be absent: `data` `null` is `None`.
    Optional(Option<Box<Value>>),
    /// Any JSON value, for ports that take every kind.
    Any(Value),
    /// A failure to report downstream, as text (a non-string `data` is kept as its JSON text).
    Error(String),
}

/// Why a JSON value is not a tagged message: its text names the field and what it held, for
/// errors that name the port and actor around it.
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
        Message::from_parts(ty, obj.get("data").cloned().unwrap_or(Value::Null))
    }

    /// Builds the variant named `ty` from its `data`.
    pub fn from_type_and_data(ty: &str, data: &Value) -> Result<Message, MessageError> {
        Message::from_parts(ty, data.clone())
    }

    /// As [`Message::from_type_and_data`], taking the data by value (no copy of its tree).
    pub fn from_parts(ty: &str, data: Value) -> Result<Message, MessageError> {
        let wrong = |want: &str, data: &Value| MessageError(format!("a {ty} message needs {want} as data, got {}", json_kind(data)));
        Ok(match ty {
            "Flow" => Message::Flow,
            "Event" => Message::Event(data),
            "Boolean" => Message::Boolean(data.as_bool().ok_or_else(|| wrong("a boolean", &data))?),
            "Integer" => Message::Integer(as_integer(&data).ok_or_else(|| wrong("an integer", &data))?),
            "Float" => Message::Float(data.as_f64().ok_or_else(|| wrong("a number", &data))?),
            "String" => match data {
                Value::String(s) => Message::String(s),
                other => return Err(wrong("a string", &other)),
            },
            "Object" => Message::Object(data),
            "Array" => match data {
                Value::Array(items) => Message::Array(items),
                other => return Err(wrong("an array", &other)),
            },
            "Stream" => Message::Stream(as_bytes(&data).ok_or_else(|| wrong("an array of bytes", &data))?),
            "Optional" => Message::Optional(match data {
                Value::Null => None,
                other => Some(Box::new(other)),
            }),
            "Any" => Message::Any(data),
            "Error" => Message::Error(match data {
                Value::String(s) => s,
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
            let Value::Object(mut obj) = value else { unreachable!("looks_tagged checked it") };
            let data = obj.remove("data").unwrap_or(Value::Null);
            match obj.get("type") {
                Some(Value::String(ty)) => Message::from_parts(ty, data),
                _ => unreachable!("looks_tagged checked it"),
            }
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
        map.serialize_entry("data", &DataRef(self))?;
        map.end()
    }
}

/// A message's `data`, written straight from the message (what [`Message::data`] returns,
/// without building it).
struct DataRef<'a>(&'a Message);

impl Serialize for DataRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Message::Flow | Message::Optional(None) => serializer.serialize_unit(),
            Message::Event(v) | Message::Object(v) | Message::Any(v) => v.serialize(serializer),
            Message::Optional(Some(v)) => v.serialize(serializer),
            Message::Boolean(b) => serializer.serialize_bool(*b),
            Message::Integer(i) => serializer.serialize_i64(*i),
            // As `Value::from(f64)`: JSON has no NaN or infinity, they become null.
            Message::Float(f) if !f.is_finite() => serializer.serialize_unit(),
            Message::Float(f) => serializer.serialize_f64(*f),
            Message::String(s) | Message::Error(s) => serializer.serialize_str(s),
            Message::Array(items) => items.serialize(serializer),
            Message::Stream(bytes) => serializer.collect_seq(bytes),
        }
    }
}

/// Reads a message straight from the JSON text, without first building a `Value` for it:
/// the plugin-side `ActorContext` and the host-side `ActorResult` are decoded this way. With
/// `lenient`, either reading of [`Message::from_json`]; without, the tagged form only, as
/// [`Message::from_tagged`]. Either way the result equals what those functions give for the
/// same text (tests/decode.rs checks it on arbitrary JSON).
pub(crate) struct MessageSeed<'a> {
    pub lenient: bool,
    /// The port the message arrived on, to name it in errors.
    pub port: Option<&'a str>,
}

impl MessageSeed<'_> {
    fn error<E: serde::de::Error>(&self, message: impl fmt::Display) -> E {
        match self.port {
            Some(port) => E::custom(format!("port {port:?}: {message}")),
            None => E::custom(message),
        }
    }

    /// A non-object where the strict reading wants a message.
    fn not_an_object<E: serde::de::Error>(&self, plain: Message) -> Result<Message, E> {
        if self.lenient {
            return Ok(plain);
        }
        let kind = match plain {
            Message::Optional(None) => "null",
            Message::Boolean(_) => "a boolean",
            Message::Integer(_) | Message::Float(_) => "a number",
            Message::String(_) => "a string",
            _ => "an array",
        };
        Err(self.error(format!("a message must be a JSON object, got {kind}")))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Message, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for MessageSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.lenient { "a message or a plain JSON value" } else { "a tagged message {\"type\": .., \"data\": ..}" })
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Message, E> {
        self.not_an_object(Message::Boolean(b))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Message, E> {
        self.not_an_object(Message::Integer(i))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Message, E> {
        // As `Message::from_plain`: an integer past i64 is read as a float.
        self.not_an_object(i64::try_from(u).map_or(Message::Float(u as f64), Message::Integer))
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Message, E> {
        self.not_an_object(Message::Float(f))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Message, E> {
        self.not_an_object(Message::String(s.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Message, E> {
        self.not_an_object(Message::String(s))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Message, E> {
        self.not_an_object(Message::Optional(None))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Message, E> {
        self.visit_unit()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Message, A::Error> {
        let items = Vec::<Value>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        self.not_an_object(Message::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        // `type` and `data` are kept apart while they are the only keys; a third key makes the
        // object a plain one (lenient), with its keys in document order.
        let mut ty: Option<Value> = None;
        let mut data: Option<Value> = None;
        let mut type_first = true;
        let mut others: Option<Map<String, Value>> = None;
        while let Some(key) = map.next_key::<Key>()? {
            let value: Value = map.next_value()?;
            if let Some(others) = others.as_mut() {
                others.insert(key.into_string(), value);
                continue;
            }
            match key {
                Key::Type => {
                    if ty.is_none() && data.is_some() {
                        type_first = false;
                    }
                    ty = Some(value);
                }
                Key::Data => data = Some(value),
                Key::Other(key) => {
                    let mut object = Map::new();
                    let mut put = |name: &str, v: Option<Value>| {
                        if let Some(v) = v {
                            object.insert(name.to_string(), v);
                        }
                    };
                    if type_first {
                        put("type", ty.take());
                        put("data", data.take());
                    } else {
                        put("data", data.take());
                        put("type", ty.take());
                    }
                    object.insert(key, value);
                    others = Some(object);
                }
            }
        }
        let known = matches!(&ty, Some(Value::String(t)) if MESSAGE_TYPES.contains(&t.as_str()));
        if self.lenient && (others.is_some() || !known) {
            let object = match others {
                Some(object) => object,
                None => {
                    let mut object = Map::new();
                    let order = if type_first { [("type", ty), ("data", data)] } else { [("data", data), ("type", ty)] };
                    for (name, v) in order {
                        if let Some(v) = v {
                            object.insert(name.to_string(), v);
                        }
                    }
                    object
                }
            };
            return Ok(Message::Object(Value::Object(object)));
        }
        // Tagged (the strict reading ignores other keys, as `from_tagged` does).
        let ty = match (ty, others.as_mut()) {
            (Some(ty), _) => ty,
            (None, Some(others)) => others.remove("type").unwrap_or(Value::Null),
            (None, None) => Value::Null,
        };
        let data = data.or_else(|| others.as_mut().and_then(|o| o.remove("data"))).unwrap_or(Value::Null);
        match ty {
            Value::String(ty) => Message::from_parts(&ty, data).map_err(|e| self.error(e)),
            _ => Err(self.error("a message needs a string \"type\" field")),
        }
    }
}

/// An object key, without allocating for the two a message has.
enum Key {
    Type,
    Data,
    Other(String),
}

impl Key {
    fn into_string(self) -> String {
        match self {
            Key::Type => "type".into(),
            Key::Data => "data".into(),
            Key::Other(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "type" => Key::Type,
                    "data" => Key::Data,
                    other => Key::Other(other.to_string()),
                })
            }
            fn visit_string<E: serde::de::Error>(self, key: String) -> Result<Key, E> {
                Ok(match key.as_str() {
                    "type" => Key::Type,
                    "data" => Key::Data,
                    _ => Key::Other(key),
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A JSON object `{port: message-or-plain-value}` read in document order, each value as
/// [`Message::from_json`] reads it, straight from the text. What `ActorContext.payload`,
/// `ActorResult.outputs` and `__send_output`'s argument are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortMessages(pub Vec<(String, Message)>);

impl<'de> Deserialize<'de> for PortMessages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortsVisitor;
        impl<'de> serde::de::Visitor<'de> for PortsVisitor {
            type Value = PortMessages;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object {port: message}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PortMessages, A::Error> {
                let mut ports = Vec::with_capacity(map.size_hint().unwrap_or(1));
                while let Some(port) = map.next_key::<String>()? {
                    let message = map.next_value_seed(MessageSeed { lenient: true, port: Some(&port) })?;
                    ports.push((port, message));
                }
                Ok(PortMessages(ports))
            }
        }
        deserializer.deserialize_map(PortsVisitor)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::DeserializeSeed;
        MessageSeed { lenient: false, port: None }.deserialize(deserializer)
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
