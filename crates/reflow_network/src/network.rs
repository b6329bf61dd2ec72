//! From a graph file to running actors: load, validate against every component's ports,
//! instantiate, wire, run.

use crate::builtins;
use crate::component::Component;
use crate::durable::{DurableComponent, StateBinding};
use crate::record::{CallRecorder, RecordingObserver};
use crate::reload::{Registry, Reloader};
use crate::graph::{Graph, Process};
use crate::sandbox::{self, ProcessSettings, SandboxPolicy};
use crate::scheduler::{self, ActorSpec, Export, Observer, Route, RunOptions, RunReport};
use crate::validate::{validate, ComponentCatalog};
use crate::wasm::WasmComponent;
use crate::error::NetworkError;
use crate::load_graph;
use reflow_abi::{ActorConfig, Message, PluginMetadata};
use reflow_script::{Backend, Grants, Limits, PluginModule, ScriptActor, ScriptConfig};
use reflow_trace::TraceWriter;
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
    /// Where runs are recorded ([`Network::record_to`]).
    recording: Option<Arc<TraceWriter>>,
    /// The plugin actors a [`Reloader`] can reach ([`Network::hot_reload`]).
    reload: Option<Arc<Registry>>,
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
        Ok(Network { file: file.to_path_buf(), base_dir: base_dir.to_path_buf(), graph, catalog, settings, state: None, recording: None, reload: None })
    }

    /// Keeps every plugin actor's state in `binding`'s store: restored when an instance
    /// starts, committed after each call before its messages are released (`docs/state.md`).
    pub fn with_state(mut self, binding: StateBinding) -> Network {
        self.state = Some(binding);
        self
    }

    /// Records the runs of this network into a new recording at `path` (`reflow run
    /// --record`): every message on every connection and every plugin call (`crate::record`).
    /// The returned writer's [`TraceWriter::finish`] flushes it and says how it went.
    pub fn record_to(&mut self, path: &Path) -> Result<Arc<TraceWriter>, NetworkError> {
        let writer = TraceWriter::create(path, &self.recording_start())
            .map_err(|e| NetworkError::Record { file: path.to_path_buf(), source: Arc::new(e) })?;
        let writer = Arc::new(writer);
        self.recording = Some(writer.clone());
        Ok(writer)
    }

    /// What a recording starts with: the graph, each process as it is started, each edge.
    fn recording_start(&self) -> reflow_trace::Start {
        let processes = self
            .graph
            .processes()
            .map(|process| {
                let plugin = process.plugin_path(&self.base_dir).map(|path| path.canonicalize().unwrap_or(path).display().to_string());
                reflow_trace::ProcessInfo {
                    name: process.name().to_string(),
                    component: process.component.clone(),
                    plugin,
                    grants: self.settings.get(process.name()).map(|s| s.grants.to_strings()).unwrap_or_default(),
                    config: process.config.clone(),
                }
            })
            .collect();
        let edges = self
            .graph
            .edges()
            .map(|edge| reflow_trace::EdgeInfo {
                from: edge.src.process.clone(),
                outport: edge.src.port.clone(),
                from_index: edge.src.index,
                to: edge.tgt.process.clone(),
                inport: edge.tgt.port.clone(),
                to_index: edge.tgt.index,
            })
            .collect();
        let started_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        reflow_trace::Start {
            graph_file: self.file.display().to_string(),
            graph: serde_json::from_str(&self.graph.to_fbp_json()).unwrap_or(serde_json::Value::Null),
            started_ms,
            processes,
            edges,
        }
    }

    /// Makes the plugins of this network's runs swappable while they run, and returns the
    /// handle that swaps them: [`Reloader::reload`] (a plugin file changed on disk, as
    /// `reflow run --watch` does) or [`Reloader::replace`] (new bytes for a plugin file, as an
    /// editor's `component:setsource` would). Call it before [`Network::run`]; the handle
    /// reaches the actors of the run in progress from any thread (move the network into the
    /// run's thread, keep the handle). A swap happens between two calls of each actor that
    /// runs the plugin, keeps its state, and loses or repeats no message; a module that does
    /// not load, fails `get_metadata` or drops a port the graph connects is refused with a
    /// one-line [`ReloadError`](crate::ReloadError) and the old one keeps running (`crate::reload`).
    pub fn hot_reload(&mut self) -> Reloader {
        let files: Vec<PathBuf> = self.graph.processes().filter_map(|p| p.plugin_path(&self.base_dir)).collect();
        let registry = self.reload.get_or_insert_with(|| Arc::new(Registry::new(files))).clone();
        Reloader::new(registry)
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
        let plan = self.instantiate()?;
        let Some(writer) = &self.recording else {
            return Ok(plan.run(options, observer));
        };
        // The scheduler's edge hook feeds the recording (crate::record).
        let observer = Arc::new(RecordingObserver { inner: observer, writer: writer.clone(), forward_edges: options.observe_edges });
        let options = RunOptions {
            observe_edges: true,
            stop: options.stop.clone(),
            halt: options.halt.clone(),
            inlet: options.inlet.clone(),
            probe: options.probe.clone(),
            ..*options
        };
        Ok(plan.run(&options, observer))
    }

    /// One actor per process, in the graph's order, plus the wiring between them.
    pub fn instantiate(&self) -> Result<Plan, NetworkError> {
        let base_dir = &self.base_dir;
        let mut actors = Vec::new();
        let mut index = HashMap::new();
        if let Some(registry) = &self.reload {
            registry.clear();
        }
        for (number, process) in self.graph.processes().enumerate() {
            let settings = &self.settings[process.name()];
            let component =
                self.start(number, process, settings, base_dir).map_err(|reason| reason.in_process(&self.file, process.name()))?;
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
        if let Some(registry) = &self.reload {
            for route in &routes {
                registry.connected(&actors[route.from].name, &route.outport, false);
                registry.connected(&actors[route.to].name, &route.inport, true);
            }
        }
        for initial in self.graph.initials() {
            let to = index[&initial.tgt.process];
            let port = port_name(to, &initial.tgt.port, true);
            if let Some(registry) = &self.reload {
                registry.connected(&actors[to].name, &port, true);
            }
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
                let port = port_name(actor, &port.port, false);
                if let Some(registry) = &self.reload {
                    registry.connected(&actors[actor].name, &port, false);
                }
                Export { name: name.to_string(), actor, port }
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

    /// The actor of `process`, the `number`-th of the graph.
    fn start(&self, number: usize, process: &Process, settings: &ProcessSettings, base_dir: &Path) -> Result<Box<dyn Component>, NetworkError> {
        if process.is_plugin() {
            let module = self.catalog.module_with(&process.component, &settings.grants, settings.limits)?;
            let config = ActorConfig {
                node_id: process.name().to_string(),
                component: module.metadata().component.clone(),
                config: process.config.clone(),
                ..ActorConfig::default()
            };
            let actor = ScriptActor::new(&module, config.clone())?;
            let mut component = WasmComponent::new(actor);
            if let Some(writer) = &self.recording {
                component = component.with_recorder(CallRecorder { writer: writer.clone(), process: number as u32 });
            }
            if let (Some(registry), Some(path)) = (&self.reload, process.plugin_path(base_dir)) {
                let swap = registry.register(process.name(), path, &settings.grants.to_strings(), settings.limits, module.metadata(), config);
                component = component.with_swap(swap);
            }
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
