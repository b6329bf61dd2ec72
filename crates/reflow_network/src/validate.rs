//! Checks a graph against its components' metadata before anything runs, and reports every
//! problem at once, each as one line naming the graph file, the process and the port.
//!
//! The rules (also in `docs/graph-format.md`, "Validation"):
//!
//! - every process name is defined once, and its component is known (a plugin file exists
//!   and loads: the [`ComponentCatalog`] decides and says why not);
//! - an edge leaves from a declared outport and arrives at a declared inport; an IIP arrives
//!   at a declared inport (an array-port `index` is not checked);
//! - every `required` inport has an edge, an IIP or an exported inport feeding it;
//! - exported ports (and legacy `exports`) point at existing processes and declared ports;
//!   groups name existing processes;
//!
//! Cycles are legal (a run ends by quiescence, see [`crate::scheduler`]); [`warnings`] names
//! each cycle that nothing feeds (no IIP on it, no connection into it), whose processes can
//! never run.
//!
//! Port names match exactly, or else, unless the graph is `caseSensitive`, ignoring case
//! (FBP tools lowercased port names for years, so `IN` in a graph finds a port `in`).

use crate::error::{chain, NetworkError};
use crate::graph::{Graph, PortDirection, Process};
use reflow_abi::{PluginMetadata, PortDefinition};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the validator learns each process's ports.
pub trait ComponentCatalog {
    /// The metadata of the component `process` runs, or why it cannot be had (unknown
    /// built-in, missing or broken plugin file). The validator calls it once per process; a
    /// catalog that loads plugin files should cache them by component, as many processes
    /// may share one plugin. A plugin's path is `process.plugin_path(graph_file_dir)`.
    fn ports(&self, process: &Process) -> Result<PluginMetadata, NetworkError>;
}

/// One problem of a graph, in a graph file. Displayed as one line:
/// `graphs/demo.json: process "double": inport "inptu" is not declared by component "doubler.wasm" (inports: input)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub file: PathBuf,
    pub problem: Problem,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for ValidationError {}

/// What is wrong, and where in the graph.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// The file defines the process more than once (the last definition was kept).
    DuplicateProcess { process: String },
    /// A built-in component the catalog does not know.
    UnknownComponent { process: String, component: String, reason: String },
    /// A `.wasm` component whose plugin file is missing or cannot be loaded.
    PluginUnavailable { process: String, component: String, reason: String },
    /// An edge or IIP uses a port the component does not declare in that direction.
    UndeclaredPort {
        process: String,
        component: String,
        direction: PortDirection,
        port: String,
        /// The ports the component declares in that direction.
        declared: Vec<String>,
        /// True if the component declares the port in the other direction.
        other_direction: bool,
    },
    /// A required inport that nothing feeds.
    MissingRequiredInport { process: String, component: String, port: String },
    /// An exported port (`direction` is `None` for a legacy `exports` entry) names a process
    /// that does not exist.
    ExportUnknownProcess { direction: Option<PortDirection>, public: String, process: String, port: String },
    /// An exported port names a port its process's component does not declare.
    ExportUndeclaredPort {
        direction: Option<PortDirection>,
        public: String,
        process: String,
        component: String,
        port: String,
        declared: Vec<String>,
    },
    /// A group lists a process that does not exist.
    GroupUnknownProcess { group: String, process: String },
    /// A warning, not an error: edges form a cycle that nothing feeds (no IIP on any of its
    /// processes, no connection into it from outside), so its processes never run.
    /// `processes` runs around it (the first is repeated at the end) and `edges` are the
    /// connections taken, as `process.port -> process.port`.
    UnfedCycle { processes: Vec<String>, edges: Vec<String> },
}

fn port_list(direction: PortDirection, declared: &[String]) -> String {
    if declared.is_empty() {
        format!("it declares no {}", direction.plural())
    } else {
        format!("{}: {}", direction.plural(), declared.join(", "))
    }
}

fn export_noun(direction: Option<PortDirection>) -> String {
    match direction {
        Some(direction) => format!("exported {direction}"),
        None => "legacy export".to_string(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DuplicateProcess { process } => {
                write!(f, "process {process:?} is defined more than once (the last definition is used)")
            }
            Problem::UnknownComponent { process, component, reason } => {
                write!(f, "process {process:?}: unknown component {component:?}: {reason}")
            }
            Problem::PluginUnavailable { process, component, reason } => {
                write!(f, "process {process:?}: plugin {component:?} cannot be used: {reason}")
            }
            Problem::UndeclaredPort { process, component, direction, port, declared, other_direction } => {
                write!(
                    f,
                    "process {process:?}: {direction} {port:?} is not declared by component {component:?} ({}",
                    port_list(*direction, declared)
                )?;
                if *other_direction {
                    write!(f, "; {port:?} is an {}", direction.opposite())?;
                }
                f.write_str(")")
            }
            Problem::MissingRequiredInport { process, component, port } => write!(
                f,
                "process {process:?}: required inport {port:?} of component {component:?} has no edge and no initial packet"
            ),
            Problem::ExportUnknownProcess { direction, public, process, port } => write!(
                f,
                "{} {public:?}: process {process:?} does not exist (port {port:?})",
                export_noun(*direction)
            ),
            Problem::ExportUndeclaredPort { direction, public, process, component, port, declared } => {
                let (noun, list) = match direction {
                    Some(d) => (d.noun(), port_list(*d, declared)),
                    None => ("port", format!("ports: {}", declared.join(", "))),
                };
                write!(
                    f,
                    "{} {public:?}: process {process:?}: {noun} {port:?} is not declared by component {component:?} ({list})",
                    export_noun(*direction)
                )
            }
            Problem::GroupUnknownProcess { group, process } => {
                write!(f, "group {group:?}: process {process:?} does not exist")
            }
            Problem::UnfedCycle { processes, edges } => {
                let path: Vec<String> = processes.iter().map(|p| format!("{p:?}")).collect();
                write!(
                    f,
                    "processes {} form a cycle ({}) that nothing feeds (no IIP, no connection into it): they never run",
                    path.join(" -> "),
                    edges.join(", ")
                )
            }
        }
    }
}

/// Finds the declared port `name`: exactly, or else ignoring case unless `case_sensitive`.
fn find_port<'a>(declared: &'a [PortDefinition], name: &str, case_sensitive: bool) -> Option<&'a PortDefinition> {
    declared.iter().find(|p| p.name == name).or_else(|| {
        if case_sensitive {
            return None;
        }
        let lower = name.to_lowercase();
        declared.iter().find(|p| p.name.to_lowercase() == lower)
    })
}

/// The `error` outport validation adds to every component that does not declare one.
fn virtual_error_port() -> PortDefinition {
    PortDefinition::new(crate::scheduler::ERROR_PORT, "the messages of failed calls, with the error", "Object", false)
}

/// The names of the ports a component declares (not the virtual `error` port), for messages.
fn names(declared: &[PortDefinition]) -> Vec<String> {
    let virtual_port = virtual_error_port();
    declared.iter().filter(|p| **p != virtual_port).map(|p| p.name.clone()).collect()
}

fn ports(metadata: &PluginMetadata, direction: PortDirection) -> &[PortDefinition] {
    match direction {
        PortDirection::In => &metadata.inports,
        PortDirection::Out => &metadata.outports,
    }
}

/// Checks `graph` (loaded from `graph_file`, which only names it in the errors) against the
/// components `components` describes. Returns every problem found, in a stable order:
/// duplicates, components, connections, required inports, exported ports, groups.
pub fn validate(
    graph: &Graph,
    graph_file: &Path,
    components: &dyn ComponentCatalog,
) -> Result<(), Vec<ValidationError>> {
    let mut problems = Vec::new();
    let case_sensitive = graph.case_sensitive;

    for process in graph.duplicate_processes() {
        problems.push(Problem::DuplicateProcess { process: process.clone() });
    }

    // The metadata of every process whose component is available.
    let mut metadata: HashMap<&str, PluginMetadata> = HashMap::new();
    for process in graph.processes() {
        match components.ports(process) {
            Ok(mut meta) => {
                // Every actor has an `error` outport (failed calls), declared or not.
                if !meta.outports.iter().any(|p| p.name == crate::scheduler::ERROR_PORT) {
                    meta.outports.push(virtual_error_port());
                }
                metadata.insert(process.name(), meta);
            }
            Err(error) => {
                // A report line, so the cause chain as text.
                let reason = chain(&error);
                let is_plugin = process.is_plugin();
                let (process, component) = (process.name().to_string(), process.component.clone());
                problems.push(if is_plugin {
                    Problem::PluginUnavailable { process, component, reason }
                } else {
                    Problem::UnknownComponent { process, component, reason }
                });
            }
        }
    }

    // Edges and IIPs: each end must be a declared port. One report per process and port.
    let mut reported: HashSet<(&str, PortDirection, &str)> = HashSet::new();
    // Inports that something feeds: (process, declared port name).
    let mut fed: HashSet<(&str, &str)> = HashSet::new();
    for connection in graph.connections() {
        let ends = connection
            .src()
            .map(|src| (src, PortDirection::Out))
            .into_iter()
            .chain([(connection.tgt(), PortDirection::In)]);
        for (end, direction) in ends {
            let Some(meta) = metadata.get(end.process.as_str()) else { continue };
            match find_port(ports(meta, direction), &end.port, case_sensitive) {
                Some(declared) => {
                    if direction == PortDirection::In {
                        fed.insert((end.process.as_str(), declared.name.as_str()));
                    }
                }
                None => {
                    if reported.insert((end.process.as_str(), direction, end.port.as_str())) {
                        problems.push(Problem::UndeclaredPort {
                            process: end.process.clone(),
                            component: graph.process(&end.process).map(|p| p.component.clone()).unwrap_or_default(),
                            direction,
                            port: end.port.clone(),
                            declared: names(ports(meta, direction)),
                            other_direction: find_port(ports(meta, direction.opposite()), &end.port, case_sensitive)
                                .is_some(),
                        });
                    }
                }
            }
        }
    }
    // An exported inport is fed by whoever uses the graph.
    for (_, exported) in graph.inports() {
        if let Some(meta) = metadata.get(exported.process.as_str()) {
            if let Some(declared) = find_port(&meta.inports, &exported.port, case_sensitive) {
                fed.insert((exported.process.as_str(), declared.name.as_str()));
            }
        }
    }

    for process in graph.processes() {
        let Some(meta) = metadata.get(process.name()) else { continue };
        for port in meta.inports.iter().filter(|p| p.required) {
            if !fed.contains(&(process.name(), port.name.as_str())) {
                problems.push(Problem::MissingRequiredInport {
                    process: process.name().to_string(),
                    component: process.component.clone(),
                    port: port.name.clone(),
                });
            }
        }
    }

    check_exports(graph, &metadata, &mut problems);

    for group in graph.groups() {
        for node in &group.nodes {
            if graph.process(node).is_none() {
                problems.push(Problem::GroupUnknownProcess { group: group.name.clone(), process: node.clone() });
            }
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_iter().map(|problem| ValidationError { file: graph_file.to_path_buf(), problem }).collect())
    }
}

fn check_exports(graph: &Graph, metadata: &HashMap<&str, PluginMetadata>, problems: &mut Vec<Problem>) {
    let case_sensitive = graph.case_sensitive;
    let exports = [PortDirection::In, PortDirection::Out].into_iter().flat_map(|direction| {
        graph.exports(direction).map(move |(public, port)| (Some(direction), public, &port.process, &port.port))
    });
    let legacy = graph.legacy_exports().iter().map(|e| (None, e.public.as_str(), &e.process, &e.port));
    for (direction, public, process, port) in exports.chain(legacy) {
        let Some(found) = graph.process(process) else {
            problems.push(Problem::ExportUnknownProcess {
                direction,
                public: public.to_string(),
                process: process.clone(),
                port: port.clone(),
            });
            continue;
        };
        let Some(meta) = metadata.get(process.as_str()) else { continue };
        let (found_port, declared) = match direction {
            Some(direction) => {
                let declared = ports(meta, direction);
                (find_port(declared, port, case_sensitive).is_some(), names(declared))
            }
            // A legacy export may be either kind of port.
            None => (
                find_port(&meta.inports, port, case_sensitive).is_some()
                    || find_port(&meta.outports, port, case_sensitive).is_some(),
                names(&meta.inports).into_iter().chain(names(&meta.outports)).collect(),
            ),
        };
        if !found_port {
            problems.push(Problem::ExportUndeclaredPort {
                direction,
                public: public.to_string(),
                process: process.clone(),
                component: found.component.clone(),
                port: port.clone(),
                declared,
            });
        }
    }
}

/// What is legal but probably not meant: one [`Problem::UnfedCycle`] per strongly connected set
/// of processes that holds a cycle nothing feeds, showing one shortest cycle through its first
/// process (in graph order).
pub fn warnings(graph: &Graph, graph_file: &Path) -> Vec<ValidationError> {
    unfed_cycles(graph).into_iter().map(|problem| ValidationError { file: graph_file.to_path_buf(), problem }).collect()
}

fn unfed_cycles(graph: &Graph) -> Vec<Problem> {
    let position: HashMap<&str, usize> = graph.processes().enumerate().map(|(i, p)| (p.name(), i)).collect();
    let names: Vec<&str> = graph.processes().map(Process::name).collect();
    let n = names.len();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    // The first edge between two processes, to name its ports.
    let mut first_edge: HashMap<(usize, usize), String> = HashMap::new();
    for edge in graph.edges() {
        let (Some(&from), Some(&to)) =
            (position.get(edge.src.process.as_str()), position.get(edge.tgt.process.as_str()))
        else {
            continue;
        };
        first_edge.entry((from, to)).or_insert_with(|| {
            successors[from].push(to);
            format!("{} -> {}", edge.src, edge.tgt)
        });
    }

    let mut fed = vec![false; n];
    for initial in graph.initials() {
        if let Some(&at) = position.get(initial.tgt.process.as_str()) {
            fed[at] = true;
        }
    }
    let mut components = strongly_connected(&successors);
    let mut member = vec![0; n];
    for (c, component) in components.iter().enumerate() {
        for &v in component {
            member[v] = c;
        }
    }
    for (from, targets) in successors.iter().enumerate() {
        for &to in targets {
            if member[from] != member[to] {
                fed[to] = true;
            }
        }
    }
    components.retain(|c| !c.iter().any(|&v| fed[v]));
    components.iter_mut().for_each(|c| c.sort_unstable());
    components.sort_unstable_by_key(|c| c[0]);
    let mut problems = Vec::new();
    for component in components {
        let start = component[0];
        let cyclic = component.len() > 1 || successors[start].contains(&start);
        if !cyclic {
            continue;
        }
        let inside: HashSet<usize> = component.iter().copied().collect();
        let path = shortest_cycle(start, &successors, &inside);
        let edges = path.windows(2).map(|w| first_edge[&(w[0], w[1])].clone()).collect();
        let processes = path.iter().map(|&i| names[i].to_string()).collect();
        problems.push(Problem::UnfedCycle { processes, edges });
    }
    problems
}

/// Tarjan's algorithm, without recursion (graphs may have 10^5 processes). Components come
/// in the order they complete: a reverse topological order of the condensed graph (the
/// scheduler orders `finish` calls by it).
pub(crate) fn strongly_connected(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    struct State {
        index: Vec<usize>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        /// The depth-first calls in progress: node and its next successor to look at.
        calls: Vec<(usize, usize)>,
        next: usize,
    }
    impl State {
        fn enter(&mut self, v: usize) {
            self.index[v] = self.next;
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            self.calls.push((v, 0));
        }
    }
    let n = successors.len();
    let mut s = State {
        index: vec![UNSEEN; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        calls: Vec::new(),
        next: 0,
    };
    let mut components = Vec::new();
    for root in 0..n {
        if s.index[root] != UNSEEN {
            continue;
        }
        s.enter(root);
        while let Some(&(v, child)) = s.calls.last() {
            if let Some(&w) = successors[v].get(child) {
                if let Some(call) = s.calls.last_mut() {
                    call.1 += 1;
                }
                if s.index[w] == UNSEEN {
                    s.enter(w);
                } else if s.on_stack[w] {
                    s.low[v] = s.low[v].min(s.index[w]);
                }
                continue;
            }
            s.calls.pop();
            if let Some(&(parent, _)) = s.calls.last() {
                s.low[parent] = s.low[parent].min(s.low[v]);
            }
            if s.low[v] == s.index[v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// A shortest path `start -> ... -> start` inside `inside` (breadth first).
fn shortest_cycle(start: usize, successors: &[Vec<usize>], inside: &HashSet<usize>) -> Vec<usize> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &successors[v] {
            if w == start {
                let mut path = vec![start, v];
                let mut at = v;
                while at != start {
                    at = parent[&at];
                    path.push(at);
                }
                path.reverse();
                return path;
            }
            if inside.contains(&w) && !parent.contains_key(&w) && w != start {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sccs(edges: &[(usize, usize)], n: usize) -> Vec<Vec<usize>> {
        let mut succ = vec![Vec::new(); n];
        for &(a, b) in edges {
            succ[a].push(b);
        }
        let mut out = strongly_connected(&succ);
        out.iter_mut().for_each(|c| c.sort_unstable());
        out.sort();
        out
    }

    #[test]
    fn tarjan_finds_components() {
        assert_eq!(sccs(&[(0, 1), (1, 2), (2, 0), (2, 3)], 4), vec![vec![0, 1, 2], vec![3]]);
        assert_eq!(sccs(&[], 2), vec![vec![0], vec![1]]);
    }

    #[test]
    fn shortest_cycles_run_start_to_start() {
        let succ = vec![vec![1], vec![2], vec![0, 1]];
        let inside: HashSet<usize> = [0, 1, 2].into();
        assert_eq!(shortest_cycle(0, &succ, &inside), vec![0, 1, 2, 0]);
        let succ = vec![vec![0]];
        assert_eq!(shortest_cycle(0, &succ, &[0].into()), vec![0, 0]);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000;
        let succ: Vec<Vec<usize>> = (0..n).map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] }).collect();
        let components = strongly_connected(&succ);
        assert_eq!(components.len(), 1);
        assert_eq!(components[0].len(), n);
    }
}
