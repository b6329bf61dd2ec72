//! From a graph file to running actors: load, validate against every component's ports,
//! instantiate, wire, run.

use crate::builtins;
use crate::component::Component;
use crate::durable::{DurableComponent, StateBinding};
use crate::graph::{Graph, Process};
use crate::sandbox::{self, ProcessSettings, SandboxPolicy};
use crate::scheduler::{self, ActorSpec, Export, Observer, Route, RunOptions, RunReport};
use crate::validate::{validate, ComponentCatalog};
use crate::wasm::WasmComponent;
use crate::error::NetworkError;
use crate::load_graph;
use reflow_abi::{ActorConfig, Message, PluginMetadata};
use reflow_script::{Backend, Grants, Limits, PluginModule, ScriptActor, ScriptConfig};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Loads each distinct plugin once per sandbox (grants and limits), however many processes
/// run it: processes with the same settings share one compiled module.
pub struct PluginCatalog {
    base_dir: PathBuf,
    limits: Limits,
    /// The engine every module is compiled for.
    backend: Backend,
    modules: RefCell<HashMap<ModuleKey, Result<PluginModule, NetworkError>>>,
}

/// A plugin file with the grants and limits it was compiled for.
type ModuleKey = (PathBuf, Grants, Limits);

impl PluginCatalog {
    pub fn new(base_dir: &Path, limits: Limits) -> PluginCatalog {
        PluginCatalog { base_dir: base_dir.to_path_buf(), limits, backend: Backend::default(), modules: RefCell::default() }
    }

    /// The same catalog, compiling its modules for `backend` (`reflow run --engine`).
    pub fn on(self, backend: Backend) -> PluginCatalog {
        PluginCatalog { backend, ..self }
    }

    /// The compiled plugin for a `.wasm` component, with nothing granted and the catalog's limits.
    pub fn module(&self, component: &str) -> Result<PluginModule, NetworkError> {
        self.module_with(component, &Grants::default(), self.limits)
    }

    /// The compiled plugin for a `.wasm` component, sandboxed by `grants` and `limits`.
    pub fn module_with(&self, component: &str, grants: &Grants, limits: Limits) -> Result<PluginModule, NetworkError> {
        let path = crate::graph::plugin_path(&self.base_dir, component).ok_or_else(|| NetworkError::NotAPlugin { component: component.to_string() })?;
        self.modules
            .borrow_mut()
            .entry((path.clone(), grants.clone(), limits))
            .or_insert_with(|| load_module(self.backend, &path, grants, limits))
            .clone()
    }
}

fn load_module(backend: Backend, path: &Path, grants: &Grants, limits: Limits) -> Result<PluginModule, NetworkError> {
    let source = std::fs::read(path).map_err(|e| NetworkError::ReadPlugin { path: path.to_path_buf(), source: Arc::new(e) })?;
    let config = ScriptConfig::new(source);
    Ok(PluginModule::load_granted(backend, &path.display().to_string(), &config, grants.clone(), limits)?)
}

impl ComponentCatalog for PluginCatalog {
    fn ports(&self, process: &Process) -> Result<PluginMetadata, NetworkError> {
        if process.is_plugin() {
            self.module(&process.component).map(|m| m.metadata().clone())
        } else {
            builtins::metadata(&process.component).ok_or_else(|| NetworkError::UnknownBuiltin {
                component: process.component.clone(),
                known: builtins::all().into_iter().map(|m| m.component).collect(),
            })
        }
    }
}

/// A validated graph, ready to instantiate (as many times as needed).
pub struct Network {
    /// What errors name the graph by: its file, or its name for a graph built in memory.
    file: PathBuf,
    /// Where the graph's relative paths start.
    base_dir: PathBuf,
    graph: Graph,
    catalog: PluginCatalog,
    /// Each process's sandbox and failure policy, by process name.
    settings: HashMap<String, ProcessSettings>,
    /// Where plugin actors keep their state; `None`: in the actors only, lost at the end.
    state: Option<StateBinding>,
}

impl Network {
    /// Loads and validates the graph file; plugins are compiled once here.
    pub fn load(file: &Path, limits: Limits) -> Result<Network, NetworkError> {
        Network::load_on(Backend::default(), file, limits)
    }

    /// [`Network::load`], with every plugin on `backend` (`reflow run --engine extism`).
    pub fn load_on(backend: Backend, file: &Path, limits: Limits) -> Result<Network, NetworkError> {
        let graph = load_graph(file)?;
        let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let catalog = PluginCatalog::new(&base_dir, limits).on(backend);
        Network::build(file.to_path_buf(), catalog, graph, limits, &SandboxPolicy::Operator)
    }

    /// Validates `graph`, built in memory (not read from a file), whose relative plugin and
    /// file paths are relative to `base_dir`. Errors name the graph by its name in place of a
    /// file.
    pub fn from_graph(base_dir: &Path, graph: Graph, limits: Limits) -> Result<Network, NetworkError> {
        Network::from_graph_with_policy(base_dir, graph, limits, &SandboxPolicy::Operator)
    }

    /// Like [`Network::from_graph`], for a graph whose metadata may ask only for what `policy`
    /// allows (one built over the FBP protocol).
    pub fn from_graph_with_policy(base_dir: &Path, graph: Graph, limits: Limits, policy: &SandboxPolicy) -> Result<Network, NetworkError> {
        let label = if graph.name.is_empty() { "graph".to_string() } else { graph.name.clone() };
        Network::build(PathBuf::from(label), PluginCatalog::new(base_dir, limits), graph, limits, policy)
    }

    /// `file` is what errors name the graph by (its file, or its name); the catalog's base
    /// directory is where its relative paths start.
    fn build(file: PathBuf, catalog: PluginCatalog, graph: Graph, limits: Limits, policy: &SandboxPolicy) -> Result<Network, NetworkError> {
        let file = file.as_path();
        let base_dir = catalog.base_dir.clone();
        let base_dir = base_dir.as_path();
        validate(&graph, file, &catalog).map_err(NetworkError::Invalid)?;
        for warning in crate::validate::warnings(&graph, file) {
            tracing::warn!("{warning}");
        }
        let mut settings = HashMap::new();
        let mut problems = Vec::new();
        for process in graph.processes() {
            match sandbox::read(process, limits, base_dir, policy) {
                Ok(read) => {
                    settings.insert(process.name().to_string(), read);
                }
                Err(reason) => problems.push(reason.in_process(file, process.name())),
            }
        }
        if !problems.is_empty() {
            return Err(NetworkError::Settings(problems));
        }
        Ok(Network { file: file.to_path_buf(), base_dir: base_dir.to_path_buf(), graph, catalog, settings, state: None })
    }

    /// Keeps every plugin actor's state in `binding`'s store: restored when an instance
    /// starts, committed after each call before its messages are released (`docs/state.md`).
    pub fn with_state(mut self, binding: StateBinding) -> Network {
        self.state = Some(binding);
        self
    }

    pub fn state(&self) -> Option<&StateBinding> {
        self.state.as_ref()
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The sandbox and failure policy `process` runs with.
    pub fn settings(&self, process: &str) -> Option<&ProcessSettings> {
        self.settings.get(process)
    }

    /// Starts a fresh instance of every process and runs the network to its end.
    pub fn run(&self, options: &RunOptions, observer: Arc<dyn Observer>) -> Result<RunReport, NetworkError> {
        Ok(self.instantiate()?.run(options, observer))
    }

    /// One actor per process, in the graph's order, plus the wiring between them.
    pub fn instantiate(&self) -> Result<Plan, NetworkError> {
        let base_dir = &self.base_dir;
        let mut actors = Vec::new();
        let mut index = HashMap::new();
        for process in self.graph.processes() {
            let settings = &self.settings[process.name()];
            let component =
                self.start(process, settings, base_dir).map_err(|reason| reason.in_process(&self.file, process.name()))?;
            index.insert(process.name().to_string(), actors.len());
            let policy = settings.policy.clone();
            actors.push(ActorSpec { name: process.name().to_string(), component, initial: Vec::new(), policy });
        }
        let ports = |i: usize| actors[i].component.metadata().clone();
        let metadata: Vec<PluginMetadata> = (0..actors.len()).map(ports).collect();
        let port_name = |i: usize, name: &str, inport: bool| -> String {
            let list = if inport { &metadata[i].inports } else { &metadata[i].outports };
            resolve_port(list.iter().map(|p| p.name.as_str()), name, self.graph.case_sensitive)
        };

        let mut routes = Vec::new();
        for edge in self.graph.edges() {
            let (from, to) = (index[&edge.src.process], index[&edge.tgt.process]);
            routes.push(Route { from, outport: port_name(from, &edge.src.port, false), to, inport: port_name(to, &edge.tgt.port, true) });
        }
        for initial in self.graph.initials() {
            let to = index[&initial.tgt.process];
            let port = port_name(to, &initial.tgt.port, true);
            // An IIP is whatever JSON the graph holds: a tagged message stays one, a plain value
            // is mapped by its kind (5 -> Integer).
            let message = Message::from_json(initial.data.clone()).unwrap_or_else(|_| Message::Any(initial.data.clone()));
            actors[to].initial.push((port, message));
        }
        let exports = self
            .graph
            .outports()
            .map(|(name, port)| {
                let actor = index[&port.process];
                Export { name: name.to_string(), actor, port: port_name(actor, &port.port, false) }
            })
            .collect();
        let inports = self
            .graph
            .inports()
            .map(|(name, port)| {
                let actor = index[&port.process];
                Export { name: name.to_string(), actor, port: port_name(actor, &port.port, true) }
            })
            .collect();
        Ok(Plan { actors, routes, exports, inports })
    }

    fn start(&self, process: &Process, settings: &ProcessSettings, base_dir: &Path) -> Result<Box<dyn Component>, NetworkError> {
        if process.is_plugin() {
            let module = self.catalog.module_with(&process.component, &settings.grants, settings.limits)?;
            let config = ActorConfig {
                node_id: process.name().to_string(),
                component: module.metadata().component.clone(),
                config: process.config.clone(),
                ..ActorConfig::default()
            };
            let actor = ScriptActor::new(&module, config)?;
            let component = WasmComponent::new(actor);
            match &self.state {
                None => Ok(Box::new(component)),
                Some(binding) => {
                    let key = reflow_state::ActorKey::new(binding.graph_id.as_str(), process.name());
                    Ok(Box::new(DurableComponent::restore(component, binding.store.clone(), key)?))
                }
            }
        } else {
            builtins::create(&process.component, &process.config, base_dir)
                .unwrap_or_else(|| Err(NetworkError::UnknownComponent { component: process.component.clone() }))
        }
    }
}

/// A network's live instances and their wiring, ready to run once: what
/// [`Network::instantiate`] makes, so that starting (compiling nothing, but creating every
/// instance and restoring its state) can be told apart from running.
pub struct Plan {
    /// One per process, in the graph's order.
    actors: Vec<ActorSpec>,
    /// One per edge: `routes[i]` is the graph's `i`-th edge in [`Graph::edges`] order (what
    /// [`Observer::edge_data`] numbers by).
    routes: Vec<Route>,
    exports: Vec<Export>,
    /// The graph's exported inports (what [`RunOptions::inlet`] sends into).
    inports: Vec<Export>,
}

impl Plan {
    /// Runs the instances to the end (see [`crate::scheduler`]).
    pub fn run(self, options: &RunOptions, observer: Arc<dyn Observer>) -> RunReport {
        if let Some(inlet) = &options.inlet {
            inlet.bind(self.inports.iter().map(|e| (e.name.clone(), (e.actor, e.port.clone()))).collect());
        }
        scheduler::run(self.actors, &self.routes, &self.exports, options, observer)
    }

    /// The number of actors (one per process).
    pub fn len(&self) -> usize {
        self.actors.len()
    }

    /// True for a graph without processes.
    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }
}

/// The component's own spelling of a port the graph names (validation already matched it
/// exactly or, for graphs that are not case sensitive, ignoring case).
fn resolve_port<'a>(mut declared: impl Iterator<Item = &'a str> + Clone, name: &str, case_sensitive: bool) -> String {
    if declared.clone().any(|p| p == name) || case_sensitive {
        return name.to_string();
    }
    declared.find(|p| p.eq_ignore_ascii_case(name)).unwrap_or(name).to_string()
}
