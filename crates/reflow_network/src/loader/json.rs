//! FBP JSON, read leniently and written back.
//!
//! Reading accepts what real NoFlo/Flowhub files contain, as the reference loader
//! (fbp-graph's `loadJSON`) does: every section may be missing or `null`; `inports` and
//! `outports` may be `[]`; the legacy `exports` list is read; unknown keys (`id`, `project`,
//! extra properties) are ignored; `metadata.route` and the like are kept as any JSON. What it
//! cannot interpret (a process without a string `component`, an edge without `tgt`, an index
//! that is not a whole number) is an error naming the file and the place, never a guess.
//!
//! `processes`, `inports` and `outports` are read entry by entry, not through a map type,
//! so their order is kept and a process defined twice is seen (JSON parsers keep the last
//! silently); the graph records it for validation.

use super::GraphError;
use crate::graph::{
    Connection, Edge, ExportedPort, Graph, Group, Initial, LegacyExport, Metadata, PortDirection, PortRef,
};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;
use reflow_abi::json_kind;

/// Reads an FBP JSON graph file.
pub fn load_json(path: &Path) -> Result<Graph, GraphError> {
    let bytes =
        std::fs::read(path).map_err(|e| GraphError::Read { file: path.to_path_buf(), reason: e.to_string() })?;
    parse_json(&bytes, path)
}

/// Reads FBP JSON from memory; `file` is only used to name the source in errors.
pub fn parse_json(bytes: &[u8], file: &Path) -> Result<Graph, GraphError> {
    // Some Windows editors start UTF-8 files with a byte-order mark, which JSON does not allow.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let document: Document = serde_json::from_slice(bytes).map_err(|e| json_error(file, &e))?;
    Reader { file }.build(document)
}

fn json_error(file: &Path, error: &serde_json::Error) -> GraphError {
    let mut reason = error.to_string();
    // serde_json appends the position, which the error carries in its own fields.
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    if let Some(stripped) = reason.strip_suffix(&suffix) {
        reason = stripped.to_string();
    }
    if error.is_syntax() || error.is_eof() {
        reason = format!("invalid JSON: {reason}");
    }
    GraphError::Json { file: file.to_path_buf(), line: error.line(), column: error.column(), reason }
}

// ----- the document as read: sections kept raw, in order -----

/// The top-level object. Sections whose order or duplicates matter are `Section`s.
#[derive(Default)]
struct Document {
    case_sensitive: Option<Value>,
    properties: Option<Value>,
    processes: Option<Section>,
    connections: Option<Value>,
    inports: Option<Section>,
    outports: Option<Section>,
    exports: Option<Value>,
    groups: Option<Value>,
}

/// A JSON value whose object form is kept as ordered entries, duplicates included.
enum Section {
    Entries(Vec<(String, Value)>),
    Other(Value),
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an FBP graph (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        fn once<T, E: de::Error>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), E> {
            if slot.is_some() {
                return Err(E::custom(format_args!("the key {key:?} appears twice")));
            }
            *slot = Some(value);
            Ok(())
        }
        let mut doc = Document::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "caseSensitive" => once(&mut doc.case_sensitive, &key, map.next_value()?)?,
                "properties" => once(&mut doc.properties, &key, map.next_value()?)?,
                "processes" => once(&mut doc.processes, &key, map.next_value()?)?,
                "connections" => once(&mut doc.connections, &key, map.next_value()?)?,
                "inports" => once(&mut doc.inports, &key, map.next_value()?)?,
                "outports" => once(&mut doc.outports, &key, map.next_value()?)?,
                "exports" => once(&mut doc.exports, &key, map.next_value()?)?,
                "groups" => once(&mut doc.groups, &key, map.next_value()?)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SectionVisitor)
    }
}

struct SectionVisitor;

impl<'de> Visitor<'de> for SectionVisitor {
    type Value = Section;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Section, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            entries.push((key, value));
        }
        Ok(Section::Entries(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Section, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Section::Other(Value::Array(items)))
    }

    fn visit_unit<E>(self) -> Result<Section, E> {
        Ok(Section::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Section, E> {
        Ok(Section::Other(Value::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Section, E> {
        Ok(Section::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Section, E> {
        Ok(Section::Other(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Section, E> {
        Ok(Section::Other(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Section, E> {
        Ok(Section::Other(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Section, E> {
        Ok(Section::Other(Value::String(v.to_string())))
    }
}

// ----- from the document to the model -----

struct Reader<'a> {
    file: &'a Path,
}

/// Where a value sits in the document, for error messages.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

impl Reader<'_> {
    fn malformed(&self, at: &str, reason: impl Into<String>) -> GraphError {
        GraphError::Malformed { file: self.file.to_path_buf(), at: at.to_string(), reason: reason.into() }
    }

    fn expected(&self, at: &str, what: &str, got: &Value) -> GraphError {
        self.malformed(at, format!("expected {what}, got {}", json_kind(got)))
    }

    fn build(&self, doc: Document) -> Result<Graph, GraphError> {
        let mut graph = Graph::default();
        graph.case_sensitive = match doc.case_sensitive {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(other) => return Err(self.expected("caseSensitive", "true or false", &other)),
        };
        self.read_properties(&mut graph, doc.properties)?;
        self.read_processes(&mut graph, doc.processes)?;
        self.read_connections(&mut graph, doc.connections)?;
        self.read_exports(&mut graph, PortDirection::In, doc.inports)?;
        self.read_exports(&mut graph, PortDirection::Out, doc.outports)?;
        self.read_legacy_exports(&mut graph, doc.exports)?;
        self.read_groups(&mut graph, doc.groups)?;
        Ok(graph)
    }

    /// An optional object: missing and `null` are empty.
    fn object(&self, at: &str, value: Option<Value>) -> Result<Map<String, Value>, GraphError> {
        match value {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(self.expected(at, "an object", &other)),
        }
    }

    /// An optional array: missing and `null` are empty.
    fn array(&self, at: &str, value: Option<Value>) -> Result<Vec<Value>, GraphError> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.expected(at, "an array", &other)),
        }
    }

    fn string(&self, parent: &str, object: &mut Map<String, Value>, key: &str) -> Result<String, GraphError> {
        let at = key_path(parent, key);
        match object.remove(key) {
            Some(Value::String(s)) => Ok(s),
            None => Err(self.malformed(&at, "missing")),
            Some(other) => Err(self.expected(&at, "a string", &other)),
        }
    }

    fn metadata(&self, parent: &str, object: &mut Map<String, Value>) -> Result<Metadata, GraphError> {
        self.object(&key_path(parent, "metadata"), object.remove("metadata"))
    }

    fn read_properties(&self, graph: &mut Graph, properties: Option<Value>) -> Result<(), GraphError> {
        let mut properties = self.object("properties", properties)?;
        if let Some(Value::String(name)) = properties.get("name") {
            graph.name = name.clone();
            properties.remove("name");
        }
        graph.properties = properties;
        Ok(())
    }

    fn read_processes(&self, graph: &mut Graph, section: Option<Section>) -> Result<(), GraphError> {
        let entries = match section {
            None | Some(Section::Other(Value::Null)) => return Ok(()),
            Some(Section::Entries(entries)) => entries,
            Some(Section::Other(other)) => {
                return Err(self.expected("processes", "an object of processes by name", &other))
            }
        };
        for (name, value) in entries {
            let at = key_path("processes", &name);
            let mut object = match value {
                Value::Object(object) => object,
                other => return Err(self.expected(&at, "an object with a \"component\"", &other)),
            };
            let component = self.string(&at, &mut object, "component")?;
            let mut metadata = self.metadata(&at, &mut object)?;
            let config_at = key_path(&key_path(&at, "metadata"), "config");
            let config = self.object(&config_at, metadata.remove("config"))?;
            let process = match graph.add_process(name.clone(), component.clone()) {
                Ok(process) => process,
                Err(_) => {
                    // Defined twice: like a JSON parser, the later definition wins (in the
                    // first one's place); validation reports the duplicate.
                    graph.note_duplicate_process(&name);
                    let process = graph.process_mut(&name).expect("the duplicate exists");
                    process.component = component;
                    process
                }
            };
            process.metadata = metadata;
            process.config = config;
        }
        Ok(())
    }

    fn port_ref(&self, at: &str, value: Option<Value>) -> Result<PortRef, GraphError> {
        let mut object = match value {
            Some(Value::Object(object)) => object,
            None => return Err(self.malformed(at, "missing")),
            Some(other) => return Err(self.expected(at, "an object with \"process\" and \"port\"", &other)),
        };
        let process = self.string(at, &mut object, "process")?;
        let port = self.string(at, &mut object, "port")?;
        let index = match object.remove("index") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64().and_then(|i| usize::try_from(i).ok()) {
                Some(i) => Some(i),
                // JavaScript writes whole numbers as `2.0` at times.
                None => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u32::MAX as f64)
                    .map(|f| f as usize)
                    .ok_or_else(|| {
                        self.malformed(&key_path(at, "index"), format!("expected a whole number >= 0, got {n}"))
                    })
                    .map(Some)?,
            },
            Some(other) => return Err(self.expected(&key_path(at, "index"), "a whole number >= 0", &other)),
        };
        Ok(PortRef { process, port, index })
    }

    fn read_connections(&self, graph: &mut Graph, connections: Option<Value>) -> Result<(), GraphError> {
        for (i, value) in self.array("connections", connections)?.into_iter().enumerate() {
            let at = format!("connections[{i}]");
            let mut object = match value {
                Value::Object(object) => object,
                other => return Err(self.expected(&at, "an object", &other)),
            };
            let metadata = self.metadata(&at, &mut object)?;
            let tgt = self.port_ref(&key_path(&at, "tgt"), object.remove("tgt"))?;
            // As in the reference loader, a `data` key (even `null`) makes an IIP.
            let connection = match (object.remove("data"), object.remove("src")) {
                (Some(_), Some(_)) => {
                    return Err(self.malformed(&at, "has both \"data\" (an initial packet) and \"src\" (an edge)"))
                }
                (Some(data), None) => Connection::Initial(Initial { data, tgt, metadata }),
                (None, src) => {
                    let src = self.port_ref(&key_path(&at, "src"), src)?;
                    Connection::Edge(Edge { src, tgt, metadata })
                }
            };
            let ends = connection.src().into_iter().chain([connection.tgt()]);
            if let Some(missing) = ends.map(|end| &end.process).find(|p| graph.process(p).is_none()) {
                return Err(GraphError::UnknownProcess {
                    file: self.file.to_path_buf(),
                    connection: format!("{at} ({connection})"),
                    process: missing.clone(),
                });
            }
            match connection {
                Connection::Edge(edge) => graph.add_edge(edge.src, edge.tgt, edge.metadata).map(drop),
                Connection::Initial(iip) => graph.add_initial(iip.data, iip.tgt, iip.metadata),
            }
            .map_err(|e| self.malformed(&at, e.to_string()))?;
        }
        Ok(())
    }

    fn exported_port(&self, at: &str, value: Value) -> Result<ExportedPort, GraphError> {
        let mut object = match value {
            Value::Object(object) => object,
            other => return Err(self.expected(at, "an object with \"process\" and \"port\"", &other)),
        };
        Ok(ExportedPort {
            process: self.string(at, &mut object, "process")?,
            port: self.string(at, &mut object, "port")?,
            metadata: self.metadata(at, &mut object)?,
        })
    }

    fn read_exports(
        &self,
        graph: &mut Graph,
        direction: PortDirection,
        section: Option<Section>,
    ) -> Result<(), GraphError> {
        let key = direction.plural();
        let entries = match section {
            None | Some(Section::Other(Value::Null)) => return Ok(()),
            // Some editors write an empty array for "no exported ports".
            Some(Section::Other(Value::Array(items))) if items.is_empty() => return Ok(()),
            Some(Section::Entries(entries)) => entries,
            Some(Section::Other(other)) => {
                return Err(self.expected(key, "an object of exported ports by public name", &other))
            }
        };
        for (public, value) in entries {
            let at = key_path(key, &public);
            let port = self.exported_port(&at, value)?;
            graph.add_export(direction, public, port).map_err(|e| self.malformed(&at, e.to_string()))?;
        }
        Ok(())
    }

    /// The legacy `exports` list: `{"public", "private": "process.port"}` or
    /// `{"public", "process", "port"}`.
    fn read_legacy_exports(&self, graph: &mut Graph, exports: Option<Value>) -> Result<(), GraphError> {
        for (i, value) in self.array("exports", exports)?.into_iter().enumerate() {
            let at = format!("exports[{i}]");
            let mut object = match value {
                Value::Object(object) => object,
                other => return Err(self.expected(&at, "an object", &other)),
            };
            let public = self.string(&at, &mut object, "public")?;
            let metadata = self.metadata(&at, &mut object)?;
            let (process, port) = if object.contains_key("private") {
                let private = self.string(&at, &mut object, "private")?;
                let Some((process, port)) = private.rsplit_once('.') else {
                    return Err(self.malformed(&key_path(&at, "private"), "expected \"process.port\""));
                };
                // Old NoFlo lowercased these names: find the process as the graph spells it.
                let process = match graph.process(process) {
                    Some(_) => process.to_string(),
                    None => graph
                        .processes()
                        .find(|p| p.name().to_lowercase() == process.to_lowercase())
                        .map_or_else(|| process.to_string(), |p| p.name().to_string()),
                };
                (process, port.to_string())
            } else {
                (self.string(&at, &mut object, "process")?, self.string(&at, &mut object, "port")?)
            };
            graph.add_legacy_export(LegacyExport { public, process, port, metadata });
        }
        Ok(())
    }

    fn read_groups(&self, graph: &mut Graph, groups: Option<Value>) -> Result<(), GraphError> {
        for (i, value) in self.array("groups", groups)?.into_iter().enumerate() {
            let at = format!("groups[{i}]");
            let mut object = match value {
                Value::Object(object) => object,
                other => return Err(self.expected(&at, "an object", &other)),
            };
            let name = self.string(&at, &mut object, "name")?;
            let nodes_at = key_path(&at, "nodes");
            let nodes = self
                .array(&nodes_at, object.remove("nodes"))?
                .into_iter()
                .enumerate()
                .map(|(j, node)| match node {
                    Value::String(node) => Ok(node),
                    other => Err(self.expected(&format!("{nodes_at}[{j}]"), "a process name", &other)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let metadata = self.metadata(&at, &mut object)?;
            graph.add_group(Group { name, nodes, metadata }).map_err(|e| self.malformed(&at, e.to_string()))?;
        }
        Ok(())
    }
}

// ----- from the model to FBP JSON -----

/// FBP JSON text for `graph`; [`Graph::to_fbp_json`] calls this.
pub(crate) fn to_fbp_json(graph: &Graph) -> String {
    serde_json::to_string_pretty(&GraphOut(graph)).expect("a graph serializes: every key is a string")
}

struct GraphOut<'a>(&'a Graph);
struct PropertiesOut<'a>(&'a Graph);
struct ProcessesOut<'a>(&'a Graph);
struct ConnectionsOut<'a>(&'a Graph);
struct ExportsOut<'a>(&'a Graph, PortDirection);
struct PortRefOut<'a>(&'a PortRef);

/// Serializes `entries` as a JSON object, in order.
fn ordered_map<S, K, V, I>(serializer: S, len: usize, entries: I) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    K: Serialize,
    V: Serialize,
    I: IntoIterator<Item = (K, V)>,
{
    let mut map = serializer.serialize_map(Some(len))?;
    for (key, value) in entries {
        map.serialize_entry(&key, &value)?;
    }
    map.end()
}

impl Serialize for GraphOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("caseSensitive", &g.case_sensitive)?;
        map.serialize_entry("properties", &PropertiesOut(g))?;
        map.serialize_entry("inports", &ExportsOut(g, PortDirection::In))?;
        map.serialize_entry("outports", &ExportsOut(g, PortDirection::Out))?;
        if !g.legacy_exports().is_empty() {
            let exports: Vec<Value> = g
                .legacy_exports()
                .iter()
                .map(|e| {
                    let mut object = Map::new();
                    object.insert("public".into(), Value::String(e.public.clone()));
                    object.insert("process".into(), Value::String(e.process.clone()));
                    object.insert("port".into(), Value::String(e.port.clone()));
                    if !e.metadata.is_empty() {
                        object.insert("metadata".into(), Value::Object(e.metadata.clone()));
                    }
                    Value::Object(object)
                })
                .collect();
            map.serialize_entry("exports", &exports)?;
        }
        let groups: Vec<Value> = g
            .groups()
            .iter()
            .map(|group| {
                let mut object = Map::new();
                object.insert("name".into(), Value::String(group.name.clone()));
                object.insert("nodes".into(), group.nodes.iter().cloned().map(Value::String).collect());
                if !group.metadata.is_empty() {
                    object.insert("metadata".into(), Value::Object(group.metadata.clone()));
                }
                Value::Object(object)
            })
            .collect();
        map.serialize_entry("groups", &groups)?;
        map.serialize_entry("processes", &ProcessesOut(g))?;
        map.serialize_entry("connections", &ConnectionsOut(g))?;
        map.end()
    }
}

impl Serialize for PropertiesOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        // A non-string `name` read from a file stays in `properties`; do not shadow it.
        let write_name = !g.name.is_empty() || !g.properties.contains_key("name");
        let name = write_name.then(|| ("name", Value::String(g.name.clone())));
        let rest = g.properties.iter().filter(|(k, _)| !write_name || k.as_str() != "name");
        let entries: Vec<(&str, Value)> = name.into_iter().chain(rest.map(|(k, v)| (k.as_str(), v.clone()))).collect();
        ordered_map(serializer, entries.len(), entries)
    }
}

impl Serialize for ProcessesOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let processes = self.0.processes();
        let len = processes.len();
        ordered_map(
            serializer,
            len,
            processes.map(|p| {
                let mut object = Map::new();
                object.insert("component".into(), Value::String(p.component.clone()));
                let mut metadata = p.metadata.clone();
                if !p.config.is_empty() {
                    metadata.insert("config".into(), Value::Object(p.config.clone()));
                }
                if !metadata.is_empty() {
                    object.insert("metadata".into(), Value::Object(metadata));
                }
                (p.name(), object)
            }),
        )
    }
}

impl Serialize for ExportsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let exports = self.0.exports(self.1);
        let len = exports.len();
        ordered_map(
            serializer,
            len,
            exports.map(|(public, port)| {
                let mut object = Map::new();
                object.insert("process".into(), Value::String(port.process.clone()));
                object.insert("port".into(), Value::String(port.port.clone()));
                if !port.metadata.is_empty() {
                    object.insert("metadata".into(), Value::Object(port.metadata.clone()));
                }
                (public, object)
            }),
        )
    }
}

impl Serialize for PortRefOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let port = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("process", &port.process)?;
        map.serialize_entry("port", &port.port)?;
        if let Some(index) = port.index {
            map.serialize_entry("index", &index)?;
        }
        map.end()
    }
}

struct ConnectionOut<'a>(&'a Connection);

impl Serialize for ConnectionOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self.0 {
            Connection::Edge(edge) => map.serialize_entry("src", &PortRefOut(&edge.src))?,
            Connection::Initial(iip) => map.serialize_entry("data", &iip.data)?,
        }
        map.serialize_entry("tgt", &PortRefOut(self.0.tgt()))?;
        if !self.0.metadata().is_empty() {
            map.serialize_entry("metadata", self.0.metadata())?;
        }
        map.end()
    }
}

impl Serialize for ConnectionsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.connections().iter().map(ConnectionOut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Graph, GraphError> {
        parse_json(text.as_bytes(), Path::new("t.json"))
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(key_path("processes", "Web Server"), "processes[\"Web Server\"]");
        assert_eq!(key_path("connections[0]", "tgt"), "connections[0].tgt");
        assert_eq!(key_path("", "caseSensitive"), "caseSensitive");
    }

    #[test]
    fn an_empty_object_is_an_empty_graph() {
        let g = parse("{}").unwrap();
        assert_eq!(g, Graph::default());
    }

    #[test]
    fn a_duplicate_section_key_is_an_error_with_a_position() {
        let err = parse("{\"processes\": {},\n \"processes\": {}}").unwrap_err();
        assert!(matches!(err, GraphError::Json { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn shapes_it_cannot_read_name_the_place() {
        let cases = [
            (r#"{"processes": {"a": {}}}"#, "t.json: processes.a.component: missing"),
            (
                r#"{"processes": {"a b": {"component": 3}}}"#,
                "t.json: processes[\"a b\"].component: expected a string, got a number",
            ),
            (
                r#"{"processes": {"a": {"component": "X", "metadata": {"config": 1}}}}"#,
                "t.json: processes.a.metadata.config: expected an object, got a number",
            ),
            (r#"{"connections": [{"src": {"process": "a", "port": "out"}}]}"#, "t.json: connections[0].tgt: missing"),
            (
                r#"{"processes": {"a": {"component": "X"}}, "connections": [{"data": 1, "tgt": {"process": "a", "port": "in", "index": -1}}]}"#,
                "t.json: connections[0].tgt.index: expected a whole number >= 0, got -1",
            ),
            (
                r#"{"inports": [1]}"#,
                "t.json: inports: expected an object of exported ports by public name, got an array",
            ),
            (r#"{"caseSensitive": "yes"}"#, "t.json: caseSensitive: expected true or false, got a string"),
            (
                r#"{"groups": [{"name": "g", "nodes": [1]}]}"#,
                "t.json: groups[0].nodes[0]: expected a process name, got a number",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_an_empty_file_is_an_error() {
        let g = parse_json(b"\xEF\xBB\xBF{\"properties\": {\"name\": \"bom\"}}", Path::new("t.json")).unwrap();
        assert_eq!(g.name, "bom");
        assert_eq!(parse("").unwrap_err().to_string(), "t.json:1:0: invalid JSON: EOF while parsing a value");
    }

    #[test]
    fn a_whole_float_index_is_read() {
        let g = parse(r#"{"processes": {"a": {"component": "X"}}, "connections": [{"data": 1, "tgt": {"process": "a", "port": "in", "index": 2.0}}]}"#).unwrap();
        assert_eq!(g.connections()[0].tgt().index, Some(2));
    }
}
