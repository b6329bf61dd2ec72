//! A graph as `.fbp` text that reads back to the same graph (with the same
//! [`FbpOptions`](super::FbpOptions) `case_sensitive` as the graph's).
//!
//! The language expresses less than FBP JSON: no metadata on edges, IIPs or exported
//! ports, no groups, process metadata only as `key=value` words, names from small character
//! sets. Writing a graph that uses more fails with the first thing that cannot be said,
//! rather than writing a file that means something else.

use super::super::unresolve_component;
use crate::graph::{Connection, Graph, PortDirection, PortRef};
use serde_json::Value;
use std::fmt::Write as _;

/// Why a graph cannot be written as `.fbp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot be written as .fbp: {0}")]
pub struct FbpWriteError(String);

fn refuse<T>(reason: impl Into<String>) -> Result<T, FbpWriteError> {
    Err(FbpWriteError(reason.into()))
}

fn is_process_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_port_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn is_component_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
}

fn is_meta_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_'))
}

fn is_annotation_key(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn is_annotation_value(s: &str) -> bool {
    // The reader's `__` takes every space before the value, and the value ends at the line.
    !s.is_empty() && !s.starts_with(' ') && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'))
}

/// The `.fbp` text for `graph`. Plugin components (`name.wasm`) are written as `name`,
/// which [`resolve_component`](super::super::resolve_component) reads back to the same file;
/// other names are written as they are.
pub fn to_fbp(graph: &Graph) -> Result<String, FbpWriteError> {
    let mut out = String::new();
    annotations(graph, &mut out)?;
    if !graph.groups().is_empty() {
        return refuse("groups (the language has none)");
    }
    if !graph.legacy_exports().is_empty() {
        return refuse("the legacy `exports` list (write inports and outports)");
    }
    for (keyword, direction) in [("INPORT", PortDirection::In), ("OUTPORT", PortDirection::Out)] {
        for (public, port) in graph.exports(direction) {
            if !port.metadata.is_empty() {
                return refuse(format!("the metadata of exported port {public:?}"));
            }
            name(&port.process, is_process_name, "process name")?;
            name(&port.port, is_port_name, "port name")?;
            name(public, is_port_name, "exported port name")?;
            writeln!(out, "{keyword}={}.{}:{public}", port.process, port.port).expect("writing to a String");
        }
    }
    for process in graph.processes() {
        name(process.name(), is_process_name, "process name")?;
        let component = unresolve_component(&process.component);
        if !is_component_name(&component) {
            return refuse(format!("process {:?}: component {:?}", process.name(), process.component));
        }
        if !process.config.is_empty() {
            return refuse(format!(
                "process {:?}: its config (send configuration as IIPs, or keep the graph as JSON)",
                process.name()
            ));
        }
        write!(out, "{}({component}", process.name()).expect("writing to a String");
        let mut words = Vec::new();
        for (key, value) in &process.metadata {
            words.push(meta_word(process.name(), key, value)?);
        }
        if !words.is_empty() {
            write!(out, ":{}", words.join(",")).expect("writing to a String");
        }
        out.push_str(")\n");
    }
    for connection in graph.connections() {
        if !connection.metadata().is_empty() {
            return refuse(format!("the metadata of the connection to {}", connection.tgt()));
        }
        let tgt = port(connection.tgt())?;
        match connection {
            Connection::Edge(edge) => {
                writeln!(out, "{} {} -> {tgt} {}", edge.src.process, port(&edge.src)?, connection.tgt().process)
            }
            Connection::Initial(iip) => writeln!(out, "{} -> {tgt} {}", iip_text(&iip.data)?, connection.tgt().process),
        }
        .expect("writing to a String");
    }
    Ok(out)
}

fn name(s: &str, valid: fn(&str) -> bool, what: &str) -> Result<(), FbpWriteError> {
    if valid(s) {
        Ok(())
    } else {
        refuse(format!("the {what} {s:?}"))
    }
}

fn annotations(graph: &Graph, out: &mut String) -> Result<(), FbpWriteError> {
    let mut line = |key: &str, value: &str| {
        if !is_annotation_value(value) {
            return refuse(format!("property {key:?} = {value:?}"));
        }
        writeln!(out, "# @{key} {value}").expect("writing to a String");
        Ok(())
    };
    if !graph.name.is_empty() {
        line("name", &graph.name)?;
    }
    for (key, value) in &graph.properties {
        match (key.as_str(), value) {
            ("environment", Value::Object(environment)) if environment.len() == 1 => match environment.get("type") {
                Some(Value::String(runtime)) => line("runtime", runtime)?,
                _ => return refuse("property \"environment\" (only {\"type\": NAME} is `# @runtime NAME`)"),
            },
            ("runtime" | "name", _) => return refuse(format!("property {key:?} (it reads back as another)")),
            (key, Value::String(value)) if is_annotation_key(key) => line(key, value)?,
            _ => return refuse(format!("property {key:?}")),
        }
    }
    Ok(())
}

/// One `key=value` word of a process's metadata. `x` and `y` read back as numbers, the rest
/// as strings.
fn meta_word(process: &str, key: &str, value: &Value) -> Result<String, FbpWriteError> {
    let text = match (key, value) {
        ("x" | "y", Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
        ("x" | "y", _) => None,
        (_, Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    match text {
        Some(text) if is_meta_word(key) && is_meta_word(&text) => Ok(format!("{key}={text}")),
        _ => refuse(format!("process {process:?}: metadata {key:?} = {value}")),
    }
}

fn port(port: &PortRef) -> Result<String, FbpWriteError> {
    name(&port.port, is_port_name, "port name")?;
    Ok(match port.index {
        Some(index) => format!("{}[{index}]", port.port),
        None => port.port.clone(),
    })
}

/// An IIP: a string in quotes where that reads back exactly, anything else as JSON.
fn iip_text(data: &Value) -> Result<String, FbpWriteError> {
    match data {
        Value::String(s) if !s.contains('\'') && !s.ends_with('\\') => Ok(format!("'{s}'")),
        // `true -> IN A` reads as an edge from a process named `true`.
        Value::Bool(_) | Value::Null => {
            refuse(format!("the IIP {data} (the language reads `{data} ->` as a process named {data})"))
        }
        other => Ok(other.to_string()),
    }
}
