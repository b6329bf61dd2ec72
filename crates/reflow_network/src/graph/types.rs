//! The parts of a graph: processes, connections, port references, exported ports and groups.

use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// Metadata as FBP tools write it: a free-form JSON object (`x`, `y`, `label`, `route`, ...).
pub type Metadata = Map<String, Value>;

/// Which side of a component a port is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortDirection {
    In,
    Out,
}

impl PortDirection {
    /// `"inport"` or `"outport"`, as messages say it.
    pub fn noun(self) -> &'static str {
        match self {
            PortDirection::In => "inport",
            PortDirection::Out => "outport",
        }
    }

    /// The other direction.
    pub fn opposite(self) -> PortDirection {
        match self {
            PortDirection::In => PortDirection::Out,
            PortDirection::Out => PortDirection::In,
        }
    }

    /// `"inports"` or `"outports"`, as the FBP JSON keys are spelled.
    pub fn plural(self) -> &'static str {
        match self {
            PortDirection::In => "inports",
            PortDirection::Out => "outports",
        }
    }
}

impl fmt::Display for PortDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// One node of the graph: a named instance of a component.
///
/// The name is the key the graph stores it under, so it is changed only through
/// [`Graph::rename_process`](super::Graph::rename_process).
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    name: String,
    /// A built-in component name, or a path ending in `.wasm` (see [`plugin_path`]).
    pub component: String,
    /// The process metadata without its `config` key (which is [`Process::config`]).
    pub metadata: Metadata,
    /// The per-process configuration, `metadata.config` in FBP JSON; handed to the actor as
    /// `ActorConfig.config`.
    pub config: Map<String, Value>,
}

impl Process {
    pub(super) fn new(name: String, component: String) -> Self {
        Process { name, component, metadata: Map::new(), config: Map::new() }
    }

    pub(super) fn set_name(&mut self, name: String) {
        self.name = name;
    }

    /// The process name, unique in its graph.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True if the component is a WebAssembly plugin (its name ends in `.wasm`).
    pub fn is_plugin(&self) -> bool {
        is_plugin_component(&self.component)
    }

    /// The plugin file this process runs, resolved against the graph file's directory, or
    /// `None` for a built-in component.
    pub fn plugin_path(&self, graph_file_dir: &Path) -> Option<PathBuf> {
        plugin_path(graph_file_dir, &self.component)
    }
}

fn is_plugin_component(component: &str) -> bool {
    component.ends_with(".wasm")
}

/// Where the plugin named by `component` lives, or `None` if `component` names a built-in.
///
/// A component ending in `.wasm` is a path to a WebAssembly plugin, relative to the directory
/// of the graph file (`graph_file_dir`); an absolute path is used as it is. Any other
/// component names a native built-in. See `docs/graph-format.md`, "Components and plugins".
pub fn plugin_path(graph_file_dir: &Path, component: &str) -> Option<PathBuf> {
    is_plugin_component(component).then(|| graph_file_dir.join(component))
}

/// One end of a connection: a port of a process, with an optional array-port index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortRef {
    pub process: String,
    pub port: String,
    /// The slot of an array port (`IN[2]` in the DSL); `None` for a plain port.
    pub index: Option<usize>,
}

impl PortRef {
    pub fn new(process: impl Into<String>, port: impl Into<String>) -> Self {
        PortRef { process: process.into(), port: port.into(), index: None }
    }

    pub fn with_index(process: impl Into<String>, port: impl Into<String>, index: usize) -> Self {
        PortRef { process: process.into(), port: port.into(), index: Some(index) }
    }
}

/// `process.port` or `process.port[index]`.
impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.process, self.port)?;
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        Ok(())
    }
}

/// A connection from an outport to an inport.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub src: PortRef,
    pub tgt: PortRef,
    pub metadata: Metadata,
}

/// An initial information packet (IIP): data sent once to an inport when the network starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Initial {
    /// Any JSON value, as written in the graph.
    pub data: Value,
    pub tgt: PortRef,
    pub metadata: Metadata,
}

/// An entry of the graph's `connections`, which keep edges and IIPs in one ordered list.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Edge(Edge),
    Initial(Initial),
}

impl Connection {
    /// The port this connection delivers to.
    pub fn tgt(&self) -> &PortRef {
        match self {
            Connection::Edge(edge) => &edge.tgt,
            Connection::Initial(iip) => &iip.tgt,
        }
    }

    /// The sending port, for an edge.
    pub fn src(&self) -> Option<&PortRef> {
        match self {
            Connection::Edge(edge) => Some(&edge.src),
            Connection::Initial(_) => None,
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            Connection::Edge(edge) => &edge.metadata,
            Connection::Initial(iip) => &iip.metadata,
        }
    }

    pub(super) fn ports_mut(&mut self) -> (Option<&mut PortRef>, &mut PortRef) {
        match self {
            Connection::Edge(edge) => (Some(&mut edge.src), &mut edge.tgt),
            Connection::Initial(iip) => (None, &mut iip.tgt),
        }
    }
}

/// `src -> tgt` for an edge, `'data' -> tgt` for an IIP (JSON data, cut after 40 characters).
impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connection::Edge(edge) => write!(f, "{} -> {}", edge.src, edge.tgt),
            Connection::Initial(iip) => {
                let data = iip.data.to_string();
                match data.char_indices().nth(40) {
                    Some((cut, _)) => write!(f, "{}... -> {}", &data[..cut], iip.tgt),
                    None => write!(f, "{data} -> {}", iip.tgt),
                }
            }
        }
    }
}

/// The inner port behind an exported (public) graph port.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedPort {
    pub process: String,
    pub port: String,
    pub metadata: Metadata,
}

impl ExportedPort {
    pub fn new(process: impl Into<String>, port: impl Into<String>) -> Self {
        ExportedPort { process: process.into(), port: port.into(), metadata: Map::new() }
    }
}

/// An entry of the legacy top-level `exports` list of old NoFlo graphs. It does not say
/// whether the port is an inport or an outport (old runtimes looked at the component), so it
/// is kept apart from [`Graph::inports`](super::Graph::inports) and
/// [`Graph::outports`](super::Graph::outports).
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyExport {
    pub public: String,
    pub process: String,
    pub port: String,
    pub metadata: Metadata,
}

/// A named set of processes, as editors draw them; it does not change how the graph runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// Process names, in the order written.
    pub nodes: Vec<String>,
    pub metadata: Metadata,
}

impl Group {
    pub fn new(name: impl Into<String>, nodes: Vec<String>) -> Self {
        Group { name: name.into(), nodes, metadata: Map::new() }
    }
}
