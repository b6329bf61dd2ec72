//! The FBP text language (`.fbp`), read as the reference parser (npm `fbp` 1.8.0) reads it,
//! and written back.
//!
//! ```text
//! # @runtime noflo-nodejs
//! INPORT=Read.IN:FILE
//! 'utf-8' -> ENCODING Read(filesystem/ReadFile)
//! Read OUT -> IN Split(strings/SplitStr:x=10,y=20) OUT -> IN[0] Show(core/Output)
//! ```
//!
//! [`grammar`] holds the grammar; this module turns what it read into the graph model after
//! the checks the reference parser makes (every process has a component, every edge and
//! exported port names a declared process), so a file the reference parser rejects is an
//! error here too. A syntax error names the file, the line and the column the reference
//! parser names. Reading does not resolve component names to plugins; [`super::load_graph`]
//! does, with [`super::resolve_component`].
//!
//! Writing ([`to_fbp`]) is ours (the reference serializer drops metadata and relabels
//! processes): its output reads back to the same graph, or writing fails naming what the
//! language cannot express (a process name with a space, an edge's metadata, a group...).

mod grammar;
mod write;

pub use write::to_fbp;

use super::GraphError;
use crate::graph::{ExportedPort, Graph, PortDirection, PortRef};
use grammar::{Flat, Raw, RawPort};
use serde_json::Value;
use std::path::Path;

/// How to read a `.fbp` file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FbpOptions {
    /// The reference parser's `caseSensitive` option: when false (its default, and
    /// [`super::load_graph`]'s), port names and exported names are lowercased as they are
    /// read, and the graph is marked case-insensitive.
    pub case_sensitive: bool,
}

/// Reads a `.fbp` file, component names as written.
pub fn load_fbp(path: &Path, options: FbpOptions) -> Result<Graph, GraphError> {
    let bytes =
        std::fs::read(path).map_err(|e| GraphError::Read { file: path.to_path_buf(), reason: e.to_string() })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| GraphError::Read {
        file: path.to_path_buf(),
        reason: format!("not UTF-8 text (byte {})", e.valid_up_to()),
    })?;
    parse_fbp(text, path, options)
}

/// Reads FBP text; `file` is only used to name the source in errors.
pub fn parse_fbp(text: &str, file: &Path, options: FbpOptions) -> Result<Graph, GraphError> {
    let (raw, syntax) = grammar::Parser::new(text, options.case_sensitive).parse();
    let connections = pair(raw.flats.clone());
    // The reference parser checks what it read before it reports a syntax error after it.
    check(&raw, &connections, file)?;
    if let Some(e) = syntax {
        let found = e.found.map_or_else(|| "the end of the file".to_string(), |c| format!("{c:?}"));
        let reason = format!("expected {}, found {found}", e.expected.join(" or "));
        return Err(GraphError::Syntax { file: file.to_path_buf(), line: e.line, column: e.column, reason });
    }
    Ok(build(raw, connections, options))
}

/// An edge or an IIP once its two ends are paired.
enum Paired {
    Edge(RawPort, RawPort),
    Initial(Value, RawPort),
}

/// The reference parser's `processEdges`: statements produce a flat list of ends, and each
/// source (or IIP) directly followed by a target makes a connection, across statements.
fn pair(flats: Vec<Flat>) -> Vec<Paired> {
    let mut paired = Vec::new();
    let mut i = 1;
    while i < flats.len() {
        if let Flat::Tgt(tgt) = &flats[i] {
            match &flats[i - 1] {
                Flat::Src(src) => {
                    paired.push(Paired::Edge(src.clone(), tgt.clone()));
                    i += 1;
                }
                Flat::Data(data) => {
                    paired.push(Paired::Initial(data.clone(), tgt.clone()));
                    i += 1;
                }
                Flat::Tgt(_) => {}
            }
        }
        i += 1;
    }
    paired
}

/// The reference parser's `validateContents`, in its order.
fn check(raw: &Raw, connections: &[Paired], file: &Path) -> Result<(), GraphError> {
    let malformed = |at: String, reason: String| GraphError::Malformed { file: file.to_path_buf(), at, reason };
    for (name, node) in &raw.nodes {
        if node.component.is_none() {
            return Err(malformed(format!("process {name:?}"), "no component is given (write `Name(Component)`)".into()));
        }
    }
    for (direction, exports) in [(PortDirection::In, &raw.inports), (PortDirection::Out, &raw.outports)] {
        for (public, (process, _)) in exports {
            if !raw.nodes.contains_key(process) {
                let keyword = if direction == PortDirection::In { "INPORT" } else { "OUTPORT" };
                return Err(GraphError::UnknownProcess {
                    file: file.to_path_buf(),
                    connection: format!("{keyword}={process}...:{public}"),
                    process: process.clone(),
                });
            }
        }
    }
    let unknown = |connection: String, process: &str| GraphError::UnknownProcess {
        file: file.to_path_buf(),
        connection,
        process: process.to_string(),
    };
    for connection in connections {
        match connection {
            Paired::Initial(data, tgt) if !raw.nodes.contains_key(&tgt.process) => {
                return Err(unknown(format!("IIP {data} -> {}", describe(tgt)), &tgt.process));
            }
            Paired::Edge(src, tgt) if !raw.nodes.contains_key(&tgt.process) => {
                return Err(unknown(format!("edge {} -> {}", describe(src), describe(tgt)), &tgt.process));
            }
            Paired::Edge(src, tgt) if !raw.nodes.contains_key(&src.process) => {
                return Err(unknown(format!("edge {} -> {}", describe(src), describe(tgt)), &src.process));
            }
            _ => {}
        }
    }
    Ok(())
}

fn describe(port: &RawPort) -> String {
    match port.index {
        Some(index) => format!("{}.{}[{index}]", port.process, port.port),
        None => format!("{}.{}", port.process, port.port),
    }
}

fn port_ref(port: RawPort) -> PortRef {
    PortRef { process: port.process, port: port.port, index: port.index }
}

/// The checked result as a [`Graph`]; every edit below succeeds because [`check`] passed.
fn build(raw: Raw, connections: Vec<Paired>, options: FbpOptions) -> Graph {
    let mut graph = Graph::default();
    graph.case_sensitive = options.case_sensitive;
    if let Some(mut properties) = raw.properties {
        if let Some(Value::String(name)) = properties.remove("name") {
            graph.name = name;
        }
        graph.properties = properties;
    }
    for (name, node) in raw.nodes {
        let process = graph
            .add_process(name, node.component.expect("checked: every process has a component"))
            .expect("names are unique in the parser's map");
        process.metadata = node.metadata.unwrap_or_default();
    }
    for connection in connections {
        match connection {
            Paired::Edge(src, tgt) => {
                // A repeated edge is kept once, as the model does for every format.
                graph.add_edge(port_ref(src), port_ref(tgt), Default::default()).expect("checked: both processes exist");
            }
            Paired::Initial(data, tgt) => {
                graph.add_initial(data, port_ref(tgt), Default::default()).expect("checked: the process exists");
            }
        }
    }
    for (direction, exports) in [(PortDirection::In, raw.inports), (PortDirection::Out, raw.outports)] {
        for (public, (process, port)) in exports {
            let port = ExportedPort { process, port, metadata: Default::default() };
            graph.add_export(direction, public, port).expect("the parser's map has each public name once");
        }
    }
    graph
}
