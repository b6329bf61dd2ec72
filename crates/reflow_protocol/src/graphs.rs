//! The `graph` sub-protocol: each command is one edit of a [`Graph`], answered with the
//! protocol's message for it. Replies carry exactly the keys the protocol's schema defines;
//! an optional key (`metadata`) is echoed when the request had it, and `change*` replies
//! carry the whole metadata after the merge. Removing a node first announces every edge,
//! IIP and exported port that went with it.

use crate::components::Catalog;
use crate::messages::{self, object, string, wire_port, Refusal, Reply, Request};
use crate::network::NetworkState;
use reflow_network::graph::{Connection, EditError, ExportedPort, Group, Metadata, PortDirection};
use reflow_network::Graph;
use serde_json::{json, Map, Value};
use crate::trace::Tracer;
use std::collections::HashMap;
use std::sync::Arc;

/// A graph being edited, and its network when started.
pub struct GraphEntry {
    pub graph: Graph,
    pub network: NetworkState,
    pub tracer: Arc<Tracer>,
}

pub const NO_GRAPH: &str = "No graph specified";
pub const GRAPH_NOT_FOUND: &str = "Requested graph not found";

/// The graph a request names in `payload.graph`, with the protocol's error texts.
pub fn target<'a>(graphs: &'a mut HashMap<String, GraphEntry>, request: &Request) -> Result<(String, &'a mut GraphEntry), Refusal> {
    let id = match request.payload.get("graph") {
        None | Some(Value::Null) => return Err(NO_GRAPH.into()),
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err("`graph` must be a string".into()),
    };
    match graphs.get_mut(&id) {
        Some(entry) => Ok((id, entry)),
        None => Err(GRAPH_NOT_FOUND.into()),
    }
}

/// One edit: its replies, and the graph's exported ports when they changed (typed outside
/// the lock every graph shares: see [`PortsQuery`]).
pub fn handle(graphs: &mut HashMap<String, GraphEntry>, catalog: &Catalog, request: &Request) -> Result<(Vec<Reply>, Option<PortsQuery>), Refusal> {
    let payload = &request.payload;
    if request.command == "clear" {
        return Ok((clear(graphs, payload)?, None));
    }
    let (id, entry) = target(graphs, request)?;
    let graph = &mut entry.graph;
    let reply = |command: &str, mut body: Value| {
        body["graph"] = json!(id);
        Reply::new("graph", command, body)
    };
    // `metadata` echoed only if the request had it.
    let with_metadata = |mut body: Value, metadata: &Metadata| {
        if payload.get("metadata").is_some() {
            body["metadata"] = Value::Object(metadata.clone());
        }
        body
    };
    let replies = match request.command.as_str() {
        "addnode" => {
            let node = string(payload, "id")?;
            let component = string(payload, "component")?;
            catalog.check(&component)?;
            let mut metadata = object(payload, "metadata")?;
            let process = graph.add_process(node.clone(), component.clone()).map_err(edit_error)?;
            if let Some(Value::Object(config)) = metadata.remove("config") {
                process.config = config;
            }
            process.metadata = metadata;
            let metadata = node_metadata(graph, &node);
            vec![reply("addnode", with_metadata(json!({"id": node, "component": component}), &metadata))]
        }
        "removenode" => {
            let node = string(payload, "id")?;
            let mut replies = Vec::new();
            for connection in graph.connections() {
                match connection {
                    Connection::Edge(edge) if edge.src.process == node || edge.tgt.process == node => {
                        replies.push(reply("removeedge", json!({"src": wire_port(&edge.src), "tgt": wire_port(&edge.tgt)})));
                    }
                    Connection::Initial(iip) if iip.tgt.process == node => {
                        replies.push(reply("removeinitial", json!({"src": {"data": iip.data}, "tgt": wire_port(&iip.tgt)})));
                    }
                    _ => {}
                }
            }
            for direction in [PortDirection::In, PortDirection::Out] {
                for (public, port) in graph.exports(direction) {
                    if port.process == node {
                        replies.push(reply(&format!("remove{}", direction.noun()), json!({"public": public})));
                    }
                }
            }
            graph.remove_process(&node).map_err(edit_error)?;
            replies.push(reply("removenode", json!({"id": node})));
            replies
        }
        "renamenode" => {
            let (from, to) = (string(payload, "from")?, string(payload, "to")?);
            graph.rename_process(&from, to.clone()).map_err(edit_error)?;
            vec![reply("renamenode", json!({"from": from, "to": to}))]
        }
        "changenode" => {
            let node = string(payload, "id")?;
            let changes = object(payload, "metadata")?;
            let process = graph.process_mut(&node).ok_or_else(|| edit_error(EditError::UnknownProcess { process: node.clone() }))?;
            for (key, value) in changes {
                match (key.as_str(), value) {
                    ("config", Value::Object(config)) => process.config = config,
                    ("config", Value::Null) => process.config = Map::new(),
                    (_, Value::Null) => {
                        process.metadata.remove(&key);
                    }
                    (_, value) => {
                        process.metadata.insert(key, value);
                    }
                }
            }
            vec![reply("changenode", json!({"id": node, "metadata": node_metadata(graph, &node)}))]
        }
        "addedge" => {
            let (src, tgt) = (messages::port(payload, "src")?, messages::port(payload, "tgt")?);
            let metadata = object(payload, "metadata")?;
            graph.add_edge(src.clone(), tgt.clone(), metadata.clone()).map_err(edit_error)?;
            vec![reply("addedge", with_metadata(json!({"src": wire_port(&src), "tgt": wire_port(&tgt)}), &metadata))]
        }
        "removeedge" => {
            let (src, tgt) = (messages::port(payload, "src")?, messages::port(payload, "tgt")?);
            graph.remove_edge(&src, &tgt).map_err(edit_error)?;
            vec![reply("removeedge", json!({"src": wire_port(&src), "tgt": wire_port(&tgt)}))]
        }
        "changeedge" => {
            let (src, tgt) = (messages::port(payload, "src")?, messages::port(payload, "tgt")?);
            let changes = object(payload, "metadata")?;
            let metadata = graph
                .edge_metadata_mut(&src, &tgt)
                .ok_or_else(|| edit_error(EditError::UnknownEdge { edge: format!("{src} -> {tgt}") }))?;
            merge(metadata, changes);
            let metadata = metadata.clone();
            vec![reply("changeedge", json!({"src": wire_port(&src), "tgt": wire_port(&tgt), "metadata": metadata}))]
        }
        "addinitial" => {
            let data = payload
                .get("src")
                .and_then(|src| src.get("data"))
                .cloned()
                .ok_or_else(|| "Missing `src.data` in payload".to_string())?;
            let tgt = messages::port(payload, "tgt")?;
            let metadata = object(payload, "metadata")?;
            graph.add_initial(data.clone(), tgt.clone(), metadata.clone()).map_err(edit_error)?;
            vec![reply("addinitial", with_metadata(json!({"src": {"data": data}, "tgt": wire_port(&tgt)}), &metadata))]
        }
        "removeinitial" => {
            let tgt = messages::port(payload, "tgt")?;
            let removed = graph.remove_initial(&tgt).map_err(edit_error)?;
            removed
                .into_iter()
                .map(|iip| reply("removeinitial", json!({"src": {"data": iip.data}, "tgt": wire_port(&tgt)})))
                .collect()
        }
        "addinport" | "addoutport" => {
            let direction = if request.command == "addinport" { PortDirection::In } else { PortDirection::Out };
            let public = string(payload, "public")?;
            let (node, port) = (string(payload, "node")?, string(payload, "port")?);
            if graph.process(&node).is_none() {
                return Err(edit_error(EditError::UnknownProcess { process: node }));
            }
            let metadata = object(payload, "metadata")?;
            let exported = ExportedPort { process: node.clone(), port: port.clone(), metadata: metadata.clone() };
            graph.add_export(direction, public.clone(), exported).map_err(edit_error)?;
            vec![reply(&request.command, with_metadata(json!({"public": public, "node": node, "port": port}), &metadata))]
        }
        "removeinport" | "removeoutport" => {
            let direction = if request.command == "removeinport" { PortDirection::In } else { PortDirection::Out };
            let public = string(payload, "public")?;
            graph.remove_export(direction, &public).map_err(edit_error)?;
            vec![reply(&request.command, json!({"public": public}))]
        }
        "renameinport" | "renameoutport" => {
            let direction = if request.command == "renameinport" { PortDirection::In } else { PortDirection::Out };
            let (from, to) = (string(payload, "from")?, string(payload, "to")?);
            graph.rename_export(direction, &from, to.clone()).map_err(edit_error)?;
            vec![reply(&request.command, json!({"from": from, "to": to}))]
        }
        "addgroup" => {
            let name = string(payload, "name")?;
            let nodes: Vec<String> = match payload.get("nodes") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|n| n.as_str().map(String::from).ok_or_else(|| "`nodes` must hold node names".to_string()))
                    .collect::<Result<_, _>>()?,
                _ => return Err("Missing `nodes` (an array of node names) in payload".into()),
            };
            let metadata = object(payload, "metadata")?;
            graph.add_group(Group { name: name.clone(), nodes: nodes.clone(), metadata: metadata.clone() }).map_err(edit_error)?;
            vec![reply("addgroup", with_metadata(json!({"name": name, "nodes": nodes}), &metadata))]
        }
        "removegroup" => {
            let name = string(payload, "name")?;
            graph.remove_group(&name).map_err(edit_error)?;
            vec![reply("removegroup", json!({"name": name}))]
        }
        "renamegroup" => {
            let (from, to) = (string(payload, "from")?, string(payload, "to")?);
            graph.rename_group(&from, to.clone()).map_err(edit_error)?;
            vec![reply("renamegroup", json!({"from": from, "to": to}))]
        }
        "changegroup" => {
            let name = string(payload, "name")?;
            let changes = object(payload, "metadata")?;
            let mut group = graph.group_mut(&name).ok_or_else(|| edit_error(EditError::UnknownGroup { group: name.clone() }))?;
            merge(group.metadata(), changes);
            let metadata = group.metadata().clone();
            vec![reply("changegroup", json!({"name": name, "metadata": metadata}))]
        }
        other => return Err(format!("Unknown graph command {other:?}")),
    };
    // The protocol wants the graph's ports re-sent whenever they change.
    let ports_changed = replies.iter().any(|r| {
        matches!(r.command.as_str(), "addinport" | "removeinport" | "renameinport" | "addoutport" | "removeoutport" | "renameoutport")
    });
    Ok((replies, ports_changed.then(|| PortsQuery::new(&id, graph))))
}

/// A graph's exported ports with the components behind them, copied out of the graph so that
/// `runtime:ports` can be typed without the lock every graph shares: typing compiles a
/// plugin the first time, and a plugin's `get_metadata` may take a call's whole time limit
/// (docs/security.md: one client cannot hold up the others).
pub struct PortsQuery {
    graph: String,
    /// (inport?, public name, component, inner port)
    ports: Vec<(bool, String, String, String)>,
}

impl PortsQuery {
    fn new(id: &str, graph: &Graph) -> PortsQuery {
        let mut ports = Vec::new();
        for direction in [PortDirection::In, PortDirection::Out] {
            for (public, port) in graph.exports(direction) {
                let component = graph.process(&port.process).map(|p| p.component.clone()).unwrap_or_default();
                ports.push((direction == PortDirection::In, public.to_string(), component, port.port.clone()));
            }
        }
        PortsQuery { graph: id.to_string(), ports }
    }

    /// `runtime:ports`: the graph's exported ports, typed by the inner ports' components.
    pub fn reply(&self, catalog: &Catalog) -> Reply {
        let list = |inport: bool| -> Vec<Value> {
            self.ports
                .iter()
                .filter(|p| p.0 == inport)
                .map(|(_, public, component, port)| {
                    let port_type = catalog.port_type(component, port, inport);
                    json!({"id": public, "type": port_type, "required": false, "addressable": false})
                })
                .collect()
        };
        Reply::new("runtime", "ports", json!({"graph": self.graph, "inPorts": list(true), "outPorts": list(false)}))
    }
}

/// `graph:clear`: a new empty graph under `id` (replacing one of that id, whose network is
/// stopped). `baseDir` is ignored: plugins resolve against the components directory.
fn clear(graphs: &mut HashMap<String, GraphEntry>, payload: &Value) -> Result<Vec<Reply>, Refusal> {
    let id = string(payload, "id")?;
    let name = match payload.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => id.clone(),
    };
    let mut graph = Graph::new(name);
    let mut body = json!({ "id": id });
    for key in ["name", "library", "main", "icon"] {
        if let Some(value) = payload.get(key) {
            body[key] = value.clone();
        }
    }
    for key in ["library", "icon"] {
        if let Some(value) = payload.get(key) {
            graph.properties.insert(key.to_string(), value.clone());
        }
    }
    let network = match graphs.get_mut(&id) {
        Some(old) => NetworkState::replacing(&mut old.network),
        None => NetworkState::default(),
    };
    graphs.insert(id, GraphEntry { graph, network, tracer: Arc::default() });
    Ok(vec![Reply::new("graph", "clear", body)])
}

/// A node's metadata as the protocol sees it: ours plus `config` when it has one.
fn node_metadata(graph: &Graph, node: &str) -> Metadata {
    let Some(process) = graph.process(node) else { return Metadata::new() };
    let mut metadata = process.metadata.clone();
    if !process.config.is_empty() {
        metadata.insert("config".into(), Value::Object(process.config.clone()));
    }
    metadata
}

/// The protocol's metadata merge: each key replaces ours, `null` deletes it.
fn merge(metadata: &mut Metadata, changes: Map<String, Value>) {
    for (key, value) in changes {
        if value.is_null() {
            metadata.remove(&key);
        } else {
            metadata.insert(key, value);
        }
    }
}

/// Our edit errors in the protocol's words where it has some.
fn edit_error(error: EditError) -> Refusal {
    match &error {
        EditError::UnknownProcess { process } => format!("Requested node not found: {process}"),
        EditError::UnknownEdge { edge } => format!("Requested edge not found: {edge}"),
        EditError::UnknownExport { name, .. } => format!("Requested port not found: {name}"),
        EditError::UnknownGroup { group } => format!("Requested group not found: {group}"),
        _ => error.to_string(),
    }
}
