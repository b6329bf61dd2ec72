//! The graph model: processes, the connections between their ports, exported ports and
//! groups, as one in-memory value that loaders build and the network protocol edits.
//!
//! # Brief overview
//!
//! - [`Graph`] owns everything; its collections change only through its methods, which keep
//!   the graph consistent: an edge or IIP always names processes that exist, and renaming or
//!   removing a process carries the change to its edges, IIPs, exported ports and groups.
//! - [`Process`] is a named instance of a component; its `config` is `metadata.config` in
//!   FBP JSON. A component ending in `.wasm` is a plugin file ([`plugin_path`]).
//! - [`Connection`] is an [`Edge`] (outport to inport) or an [`Initial`] packet (IIP); both
//!   end at a [`PortRef`], whose optional `index` addresses a slot of an array port.
//!
//! What the model does not check (unknown components, undeclared ports, exported ports naming
//! missing processes, cycles) is the job of [`validate`](crate::validate::validate), which needs the components'
//! metadata. File formats are not the model: [`crate::loader`] reads them and calls the
//! constructors here; [`Graph::to_fbp_json`] writes FBP JSON back.

mod error;
mod types;

pub use error::EditError;
pub use types::{
    plugin_path, Connection, Edge, ExportedPort, Group, Initial, LegacyExport, Metadata, PortDirection, PortRef,
    Process,
};

use indexmap::IndexMap;
use std::collections::HashSet;
use serde_json::{Map, Value};

/// A flow graph. Processes and exported ports keep the order they were added (or written in
/// the file), and equality compares that order too.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// The graph's name (`properties.name` in FBP JSON).
    pub name: String,
    /// The other graph properties (`environment`, `description`, `icon`, ...).
    pub properties: Map<String, Value>,
    /// `caseSensitive` in FBP JSON: when false (the FBP default), port names are matched
    /// without regard to case where no exact match exists (see `docs/graph-format.md`).
    pub case_sensitive: bool,
    processes: IndexMap<String, Process>,
    connections: Vec<Connection>,
    inports: IndexMap<String, ExportedPort>,
    outports: IndexMap<String, ExportedPort>,
    legacy_exports: Vec<LegacyExport>,
    groups: Vec<Group>,
    duplicate_processes: Vec<String>,
    /// The ends of every edge in `connections`, so that [`Graph::add_edge`]'s "at most once"
    /// rule costs a hash lookup, not a scan: a scan made loading a 100,000-edge graph
    /// quadratic (about a minute). Derived from `connections`, so equality ignores it.
    edge_ends: HashSet<(PortRef, PortRef)>,
}

impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        // IndexMap's own equality ignores order; the model's does not.
        self.name == other.name
            && self.properties == other.properties
            && self.case_sensitive == other.case_sensitive
            && self.processes.iter().eq(other.processes.iter())
            && self.connections == other.connections
            && self.inports.iter().eq(other.inports.iter())
            && self.outports.iter().eq(other.outports.iter())
            && self.legacy_exports == other.legacy_exports
            && self.groups == other.groups
            && self.duplicate_processes == other.duplicate_processes
    }
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Self {
        Graph { name: name.into(), ..Graph::default() }
    }

    /// FBP JSON text for this graph (pretty-printed; processes and exported ports in order).
    pub fn to_fbp_json(&self) -> String {
        crate::loader::json::to_fbp_json(self)
    }

    // ----- processes -----

    /// The processes, in order.
    pub fn processes(&self) -> impl ExactSizeIterator<Item = &Process> + '_ {
        self.processes.values()
    }

    pub fn process(&self, name: &str) -> Option<&Process> {
        self.processes.get(name)
    }

    /// A process to change its component, metadata or config (its name changes only through
    /// [`Graph::rename_process`]).
    pub fn process_mut(&mut self, name: &str) -> Option<&mut Process> {
        self.processes.get_mut(name)
    }

    /// Adds a process at the end; its metadata and config start empty.
    pub fn add_process(
        &mut self,
        name: impl Into<String>,
        component: impl Into<String>,
    ) -> Result<&mut Process, EditError> {
        let name = name.into();
        if self.processes.contains_key(&name) {
            return Err(EditError::DuplicateProcess { process: name });
        }
        let process = Process::new(name.clone(), component.into());
        Ok(self.processes.entry(name).or_insert(process))
    }

    /// Removes a process with its edges and IIPs, the exported ports that point at it, and
    /// its entries in groups (the groups stay, possibly empty).
    pub fn remove_process(&mut self, name: &str) -> Result<Process, EditError> {
        let process =
            self.processes.shift_remove(name).ok_or_else(|| EditError::UnknownProcess { process: name.to_string() })?;
        self.connections.retain(|c| c.tgt().process != name && c.src().is_none_or(|src| src.process != name));
        self.index_edge_ends();
        self.inports.retain(|_, port| port.process != name);
        self.outports.retain(|_, port| port.process != name);
        self.legacy_exports.retain(|export| export.process != name);
        for group in &mut self.groups {
            group.nodes.retain(|node| node != name);
        }
        self.duplicate_processes.retain(|dup| dup != name);
        Ok(process)
    }

    /// Renames a process in place (it keeps its position), and with it every edge, IIP,
    /// exported port and group entry that names it.
    pub fn rename_process(&mut self, old: &str, new: impl Into<String>) -> Result<(), EditError> {
        let new = new.into();
        let index =
            self.processes.get_index_of(old).ok_or_else(|| EditError::UnknownProcess { process: old.to_string() })?;
        if old == new {
            return Ok(());
        }
        if self.processes.contains_key(&new) {
            return Err(EditError::DuplicateProcess { process: new });
        }
        let (_, mut process) = self.processes.shift_remove_index(index).expect("index was just looked up");
        process.set_name(new.clone());
        let (last, _) = self.processes.insert_full(new.clone(), process);
        self.processes.move_index(last, index);

        let rename = |process: &mut String| {
            if process == old {
                *process = new.clone();
            }
        };
        for connection in &mut self.connections {
            let (src, tgt) = connection.ports_mut();
            if let Some(src) = src {
                rename(&mut src.process);
            }
            rename(&mut tgt.process);
        }
        self.index_edge_ends();
        for port in self.inports.values_mut().chain(self.outports.values_mut()) {
            rename(&mut port.process);
        }
        for export in &mut self.legacy_exports {
            rename(&mut export.process);
        }
        for group in &mut self.groups {
            group.nodes.iter_mut().for_each(rename);
        }
        self.duplicate_processes.retain(|dup| dup != old);
        Ok(())
    }

    /// Names the file defined more than once in `processes` (the later definition replaced
    /// the earlier). The model cannot hold two processes of one name, so a loader records
    /// the fact here and [`validate`](crate::validate::validate) reports it with the other problems.
    pub fn duplicate_processes(&self) -> &[String] {
        &self.duplicate_processes
    }

    pub(crate) fn note_duplicate_process(&mut self, name: &str) {
        if !self.duplicate_processes.iter().any(|dup| dup == name) {
            self.duplicate_processes.push(name.to_string());
        }
    }

    // ----- connections -----

    /// Edges and IIPs, in order.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    pub fn edges(&self) -> impl Iterator<Item = &Edge> + '_ {
        self.connections.iter().filter_map(|c| match c {
            Connection::Edge(edge) => Some(edge),
            Connection::Initial(_) => None,
        })
    }

    pub fn initials(&self) -> impl Iterator<Item = &Initial> + '_ {
        self.connections.iter().filter_map(|c| match c {
            Connection::Initial(iip) => Some(iip),
            Connection::Edge(_) => None,
        })
    }

    /// Rebuilds `edge_ends` after an edit that changed edges' ends in place.
    fn index_edge_ends(&mut self) {
        self.edge_ends = self.edges().map(|edge| (edge.src.clone(), edge.tgt.clone())).collect();
    }

    fn check_process(&self, process: &str) -> Result<(), EditError> {
        if self.processes.contains_key(process) {
            Ok(())
        } else {
            Err(EditError::UnknownProcess { process: process.to_string() })
        }
    }

    /// Connects `src` (an outport) to `tgt` (an inport). Both processes must exist. An edge
    /// between the same two ports (and indexes) exists at most once: adding it again changes
    /// nothing and returns `Ok(false)`.
    pub fn add_edge(&mut self, src: PortRef, tgt: PortRef, metadata: Metadata) -> Result<bool, EditError> {
        self.check_process(&src.process)?;
        self.check_process(&tgt.process)?;
        if !self.edge_ends.insert((src.clone(), tgt.clone())) {
            return Ok(false);
        }
        self.connections.push(Connection::Edge(Edge { src, tgt, metadata }));
        Ok(true)
    }

    /// Removes the edge between exactly these ports (process, port and index).
    pub fn remove_edge(&mut self, src: &PortRef, tgt: &PortRef) -> Result<Edge, EditError> {
        let at = self
            .connections
            .iter()
            .position(|c| matches!(c, Connection::Edge(edge) if &edge.src == src && &edge.tgt == tgt))
            .ok_or_else(|| EditError::UnknownEdge { edge: format!("{src} -> {tgt}") })?;
        match self.connections.remove(at) {
            Connection::Edge(edge) => {
                self.edge_ends.remove(&(edge.src.clone(), edge.tgt.clone()));
                Ok(edge)
            }
            Connection::Initial(_) => unreachable!("position matched an edge"),
        }
    }

    /// The metadata of the edge between exactly these ports (its ends change only by
    /// removing it and adding another).
    pub fn edge_metadata_mut(&mut self, src: &PortRef, tgt: &PortRef) -> Option<&mut Metadata> {
        self.connections.iter_mut().find_map(|c| match c {
            Connection::Edge(edge) if &edge.src == src && &edge.tgt == tgt => Some(&mut edge.metadata),
            _ => None,
        })
    }

    /// Adds an IIP: `data` is sent once to `tgt` when the network starts. Several IIPs may
    /// target one port; they are sent in order.
    pub fn add_initial(&mut self, data: Value, tgt: PortRef, metadata: Metadata) -> Result<(), EditError> {
        self.check_process(&tgt.process)?;
        self.connections.push(Connection::Initial(Initial { data, tgt, metadata }));
        Ok(())
    }

    /// Removes every IIP to exactly `tgt` (process, port and index), returning them in order.
    pub fn remove_initial(&mut self, tgt: &PortRef) -> Result<Vec<Initial>, EditError> {
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.connections.len());
        for connection in self.connections.drain(..) {
            match connection {
                Connection::Initial(iip) if &iip.tgt == tgt => removed.push(iip),
                other => kept.push(other),
            }
        }
        self.connections = kept;
        if removed.is_empty() {
            return Err(EditError::UnknownInitial { tgt: tgt.clone() });
        }
        Ok(removed)
    }

    // ----- exported ports -----

    fn exports_map(&self, direction: PortDirection) -> &IndexMap<String, ExportedPort> {
        match direction {
            PortDirection::In => &self.inports,
            PortDirection::Out => &self.outports,
        }
    }

    fn exports_map_mut(&mut self, direction: PortDirection) -> &mut IndexMap<String, ExportedPort> {
        match direction {
            PortDirection::In => &mut self.inports,
            PortDirection::Out => &mut self.outports,
        }
    }

    /// The graph's public inports: public name and the inner port, in order.
    pub fn inports(&self) -> impl ExactSizeIterator<Item = (&str, &ExportedPort)> + '_ {
        self.exports(PortDirection::In)
    }

    /// The graph's public outports: public name and the inner port, in order.
    pub fn outports(&self) -> impl ExactSizeIterator<Item = (&str, &ExportedPort)> + '_ {
        self.exports(PortDirection::Out)
    }

    pub fn exports(&self, direction: PortDirection) -> impl ExactSizeIterator<Item = (&str, &ExportedPort)> + '_ {
        self.exports_map(direction).iter().map(|(name, port)| (name.as_str(), port))
    }

    pub fn export(&self, direction: PortDirection, name: &str) -> Option<&ExportedPort> {
        self.exports_map(direction).get(name)
    }

    pub fn export_mut(&mut self, direction: PortDirection, name: &str) -> Option<&mut ExportedPort> {
        self.exports_map_mut(direction).get_mut(name)
    }

    /// Exports an inner port under a public name. The process is not required to exist yet
    /// (validation reports one that does not).
    pub fn add_export(
        &mut self,
        direction: PortDirection,
        name: impl Into<String>,
        port: ExportedPort,
    ) -> Result<(), EditError> {
        let name = name.into();
        let map = self.exports_map_mut(direction);
        if map.contains_key(&name) {
            return Err(EditError::DuplicateExport { direction, name });
        }
        map.insert(name, port);
        Ok(())
    }

    pub fn remove_export(&mut self, direction: PortDirection, name: &str) -> Result<ExportedPort, EditError> {
        self.exports_map_mut(direction)
            .shift_remove(name)
            .ok_or_else(|| EditError::UnknownExport { direction, name: name.to_string() })
    }

    /// Renames a public port in place (it keeps its position).
    pub fn rename_export(
        &mut self,
        direction: PortDirection,
        old: &str,
        new: impl Into<String>,
    ) -> Result<(), EditError> {
        let new = new.into();
        let map = self.exports_map_mut(direction);
        let index =
            map.get_index_of(old).ok_or_else(|| EditError::UnknownExport { direction, name: old.to_string() })?;
        if old == new {
            return Ok(());
        }
        if map.contains_key(&new) {
            return Err(EditError::DuplicateExport { direction, name: new });
        }
        let (_, port) = map.shift_remove_index(index).expect("index was just looked up");
        let (last, _) = map.insert_full(new, port);
        map.move_index(last, index);
        Ok(())
    }

    /// Entries of a legacy `exports` list (old NoFlo graphs), which do not say their direction.
    pub fn legacy_exports(&self) -> &[LegacyExport] {
        &self.legacy_exports
    }

    pub fn add_legacy_export(&mut self, export: LegacyExport) {
        self.legacy_exports.push(export);
    }

    // ----- groups -----

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|group| group.name == name)
    }

    /// A group to change its nodes or metadata (its name changes through [`Graph::rename_group`]).
    pub fn group_mut(&mut self, name: &str) -> Option<GroupMut<'_>> {
        self.groups.iter_mut().find(|group| group.name == name).map(GroupMut)
    }

    /// Adds a group at the end. Its nodes need not exist (validation reports those that do not).
    pub fn add_group(&mut self, group: Group) -> Result<(), EditError> {
        if self.group(&group.name).is_some() {
            return Err(EditError::DuplicateGroup { group: group.name });
        }
        self.groups.push(group);
        Ok(())
    }

    pub fn remove_group(&mut self, name: &str) -> Result<Group, EditError> {
        let at = self
            .groups
            .iter()
            .position(|group| group.name == name)
            .ok_or_else(|| EditError::UnknownGroup { group: name.to_string() })?;
        Ok(self.groups.remove(at))
    }

    pub fn rename_group(&mut self, old: &str, new: impl Into<String>) -> Result<(), EditError> {
        let new = new.into();
        if self.group(old).is_none() {
            return Err(EditError::UnknownGroup { group: old.to_string() });
        }
        if old != new && self.group(&new).is_some() {
            return Err(EditError::DuplicateGroup { group: new });
        }
        if let Some(group) = self.groups.iter_mut().find(|group| group.name == old) {
            group.name = new;
        }
        Ok(())
    }
}

/// Mutable access to a group's nodes and metadata, but not its name (which must stay unique).
pub struct GroupMut<'a>(&'a mut Group);

impl GroupMut<'_> {
    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn nodes(&mut self) -> &mut Vec<String> {
        &mut self.0.nodes
    }

    pub fn metadata(&mut self) -> &mut Metadata {
        &mut self.0.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Graph {
        let mut g = Graph::new("sample");
        g.add_process("a", "Gen").unwrap();
        g.add_process("b", "double.wasm").unwrap();
        g.add_process("c", "Print").unwrap();
        g.add_edge(PortRef::new("a", "out"), PortRef::new("b", "in"), Map::new()).unwrap();
        g.add_edge(PortRef::new("b", "out"), PortRef::with_index("c", "in", 1), Map::new()).unwrap();
        g.add_initial(json!(3), PortRef::new("a", "count"), Map::new()).unwrap();
        g.add_export(PortDirection::In, "start", ExportedPort::new("a", "count")).unwrap();
        g.add_export(PortDirection::Out, "result", ExportedPort::new("b", "out")).unwrap();
        g.add_group(Group::new("all", vec!["a".into(), "b".into(), "c".into()])).unwrap();
        g
    }

    #[test]
    fn renaming_a_process_renames_every_reference_and_keeps_its_place() {
        let mut g = sample();
        g.rename_process("b", "doubler").unwrap();
        let names: Vec<_> = g.processes().map(Process::name).collect();
        assert_eq!(names, ["a", "doubler", "c"]);
        assert_eq!(g.process("doubler").unwrap().name(), "doubler");
        let edges: Vec<_> = g.edges().map(|e| format!("{} -> {}", e.src, e.tgt)).collect();
        assert_eq!(edges, ["a.out -> doubler.in", "doubler.out -> c.in[1]"]);
        assert_eq!(g.export(PortDirection::Out, "result").unwrap().process, "doubler");
        assert_eq!(g.groups()[0].nodes, ["a", "doubler", "c"]);
        assert_eq!(g.rename_process("a", "c"), Err(EditError::DuplicateProcess { process: "c".into() }));
        assert_eq!(g.rename_process("zz", "y"), Err(EditError::UnknownProcess { process: "zz".into() }));
    }

    #[test]
    fn removing_a_process_removes_its_connections_exports_and_group_entries() {
        let mut g = sample();
        g.remove_process("a").unwrap();
        assert_eq!(g.connections().len(), 1);
        assert_eq!(g.inports().len(), 0);
        assert_eq!(g.outports().len(), 1);
        assert_eq!(g.groups()[0].nodes, ["b", "c"]);
        assert!(g.remove_process("a").is_err());
    }

    #[test]
    fn edges_need_existing_processes_and_exist_once() {
        let mut g = sample();
        let err = g.add_edge(PortRef::new("a", "out"), PortRef::new("nope", "in"), Map::new());
        assert_eq!(err, Err(EditError::UnknownProcess { process: "nope".into() }));
        assert_eq!(g.add_edge(PortRef::new("a", "out"), PortRef::new("b", "in"), Map::new()), Ok(false));
        g.edge_metadata_mut(&PortRef::new("a", "out"), &PortRef::new("b", "in")).unwrap().insert("route".into(), json!(5));
        assert_eq!(g.edges().next().unwrap().metadata.get("route"), Some(&json!(5)));
        assert!(g.edge_metadata_mut(&PortRef::new("a", "out"), &PortRef::new("c", "in")).is_none());
        let removed = g.remove_edge(&PortRef::new("a", "out"), &PortRef::new("b", "in")).unwrap();
        assert_eq!(removed.tgt.process, "b");
        assert!(g.remove_edge(&PortRef::new("a", "out"), &PortRef::new("b", "in")).is_err());
        // The index is part of the port: c.in is not c.in[1].
        assert!(g.remove_edge(&PortRef::new("b", "out"), &PortRef::new("c", "in")).is_err());
    }

    #[test]
    fn initials_are_removed_by_target() {
        let mut g = sample();
        g.add_initial(json!("x"), PortRef::new("a", "count"), Map::new()).unwrap();
        let removed = g.remove_initial(&PortRef::new("a", "count")).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(g.initials().count(), 0);
        assert!(g.remove_initial(&PortRef::new("a", "count")).is_err());
        assert!(g.add_initial(json!(1), PortRef::new("zz", "in"), Map::new()).is_err());
    }

    #[test]
    fn exports_and_groups_rename_in_place() {
        let mut g = sample();
        g.add_export(PortDirection::In, "second", ExportedPort::new("c", "in")).unwrap();
        g.rename_export(PortDirection::In, "start", "go").unwrap();
        let names: Vec<_> = g.inports().map(|(name, _)| name).collect();
        assert_eq!(names, ["go", "second"]);
        assert!(g.rename_export(PortDirection::In, "go", "second").is_err());
        assert!(g.add_export(PortDirection::In, "go", ExportedPort::new("c", "in")).is_err());
        g.remove_export(PortDirection::In, "go").unwrap();
        assert!(g.remove_export(PortDirection::In, "go").is_err());

        g.add_group(Group::new("two", vec![])).unwrap();
        assert!(g.add_group(Group::new("two", vec![])).is_err());
        assert!(g.rename_group("two", "all").is_err());
        g.rename_group("two", "pair").unwrap();
        g.group_mut("pair").unwrap().nodes().push("a".into());
        assert_eq!(g.remove_group("pair").unwrap().nodes, ["a"]);
    }

    #[test]
    fn equality_sees_order() {
        let mut one = Graph::new("g");
        one.add_process("a", "X").unwrap();
        one.add_process("b", "X").unwrap();
        let mut two = Graph::new("g");
        two.add_process("b", "X").unwrap();
        two.add_process("a", "X").unwrap();
        assert_ne!(one, two);
    }

    #[test]
    fn plugin_paths_are_relative_to_the_graph_directory() {
        use std::path::Path;
        let dir = Path::new("/graphs");
        assert_eq!(plugin_path(dir, "plugins/double.wasm"), Some(Path::new("/graphs/plugins/double.wasm").into()));
        assert_eq!(plugin_path(dir, "/opt/p.wasm"), Some(Path::new("/opt/p.wasm").into()));
        assert_eq!(plugin_path(dir, "core/Output"), None);
        assert_eq!(plugin_path(Path::new(""), "d.wasm"), Some(Path::new("d.wasm").into()));
    }
}
