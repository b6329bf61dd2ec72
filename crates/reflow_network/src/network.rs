//! From a graph file to running actors: load, validate against every component's ports,
//! instantiate, wire, run.

use crate::builtins;
use crate::component::Component;
use crate::durable::{self, StateBinding, StoreCheckpointer, Unfinished};
use crate::record::{CallRecorder, RecordingObserver};
use crate::reload::{Registry, Reloader};
use crate::graph::{Graph, Process};
use crate::sandbox::{self, ProcessSettings, SandboxPolicy};
use crate::scheduler::{self, ActorSpec, Checkpointing, Export, Observer, Route, RunOptions, RunReport, DEFAULT_CHECKPOINT_INTERVAL};
use crate::validate::{validate, ComponentCatalog};
use crate::wasm::WasmComponent;
use crate::error::NetworkError;
use crate::load_graph;
use crate::part::{Bridge, CrossingEdge};
use reflow_abi::{ActorConfig, Message, PluginMetadata};
use reflow_script::{Backend, Grants, Limits, PluginModule, ScriptActor, ScriptConfig};
use reflow_trace::TraceWriter;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
    /// How often a run with a state store is checkpointed.
    checkpoint_interval: Duration,
}

/// A network instantiated for one run: its actors (restored from the state store, and, if
/// the store held an unfinished run, from that run's last checkpoint).
pub struct Prepared {
    pub plan: Plan,
    /// The unfinished run this one resumes, if any.
    pub resumed: Option<Unfinished>,
    checkpoint: Option<Checkpointing>,
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
        Ok(Network {
            file: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            graph,
            catalog,
            settings,
            state: None,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            recording: None,
            reload: None,
        })
    }

    /// Keeps the graph's state in `binding`'s store: every plugin actor's state, and a
    /// checkpoint of the whole run every [`Network::with_checkpoint_interval`] and at its
    /// end; a run started on a store whose last run did not end resumes that run
    /// (`docs/state.md`).
    pub fn with_state(mut self, binding: StateBinding) -> Network {
        self.state = Some(binding);
        self
    }

    /// How often a run with a state store is checkpointed (default
    /// [`DEFAULT_CHECKPOINT_INTERVAL`]).
    pub fn with_checkpoint_interval(mut self, interval: Duration) -> Network {
        self.checkpoint_interval = interval;
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
                    limits: process.is_plugin().then(|| self.settings.get(process.name()).map(|s| s.limits.into())).flatten(),
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

    /// Starts a fresh instance of every process (resumed from an unfinished run, if the
    /// store holds one) and runs the network to its end.
    pub fn run(&self, options: &RunOptions, observer: Arc<dyn Observer>) -> Result<RunReport, NetworkError> {
        Ok(self.run_prepared(self.prepare()?, options, observer))
    }

    /// Instantiates the network for one run; with a state store, restores what an unfinished
    /// run's last checkpoint held (or refuses, naming what changed in the graph since).
    pub fn prepare(&self) -> Result<Prepared, NetworkError> {
        let plan = self.instantiate()?;
        self.prepared(plan)
    }

    /// Instantiates one part of the network for a run of its own, for running a graph across
    /// several processes or machines (`reflow_cluster`, `crate::part`): only the processes
    /// `keep` selects, the edges between them, and, for every edge with one end outside the
    /// part, the [`Bridge`] that `bridge` makes to stand for the other end. Checkpoints and
    /// resuming work as for [`Network::prepare`], bridges included (a bridge's
    /// [`Component::checkpoint`] is its position on the edge), under the network's state
    /// binding: give each part a graph id of its own. The graph was validated whole, so a part
    /// is wired only as the whole graph is.
    pub fn prepare_part(&self, keep: &dyn Fn(&str) -> bool, bridge: &mut dyn FnMut(&CrossingEdge) -> Bridge) -> Result<Prepared, NetworkError> {
        let plan = self.instantiate_part(keep, bridge)?;
        self.prepared(plan)
    }

    fn prepared(&self, mut plan: Plan) -> Result<Prepared, NetworkError> {
        let Some(binding) = &self.state else { return Ok(Prepared { plan, resumed: None, checkpoint: None }) };
        let resumed = durable::unfinished(binding).map_err(NetworkError::Resume)?;
        if let Some(unfinished) = &resumed {
            durable::resume(&mut plan, unfinished, &self.file).map_err(NetworkError::Resume)?;
        }
        // A bridge is no process of the graph, so never a plugin.
        let plugin: Vec<bool> = plan.actors.iter().map(|a| self.graph.process(&a.name).is_some_and(Process::is_plugin)).collect();
        let writer = StoreCheckpointer::new(binding.clone(), &plan, |i| plugin[i]);
        let checkpoint = Some(Checkpointing { interval: self.checkpoint_interval, writer: Arc::new(writer) });
        Ok(Prepared { plan, resumed, checkpoint })
    }

    /// Runs a prepared network to its end (checkpointed, if it has a state store; recorded,
    /// if [`Network::record_to`] was called).
    pub fn run_prepared(&self, prepared: Prepared, options: &RunOptions, observer: Arc<dyn Observer>) -> RunReport {
        let Prepared { plan, checkpoint, .. } = prepared;
        let checkpoint = checkpoint.or_else(|| options.checkpoint.clone());
        let Some(writer) = &self.recording else {
            return plan.run(&RunOptions { checkpoint, ..options.clone() }, observer);
        };
        // The scheduler's edge hook feeds the recording (crate::record).
        let observer = Arc::new(RecordingObserver { inner: observer, writer: writer.clone(), forward_edges: options.observe_edges });
        plan.run(&RunOptions { observe_edges: true, checkpoint, ..options.clone() }, observer)
    }

    /// One actor per process, in the graph's order, plus the wiring between them.
    pub fn instantiate(&self) -> Result<Plan, NetworkError> {
        self.instantiate_part(&|_| true, &mut |edge| unreachable!("a whole graph has no crossing edge, got {edge:?}"))
    }

    /// The actors of the processes `keep` selects, in the graph's order, then one per
    /// crossing edge (in the graph's edge order), and the wiring between them.
    fn instantiate_part(&self, keep: &dyn Fn(&str) -> bool, bridge: &mut dyn FnMut(&CrossingEdge) -> Bridge) -> Result<Plan, NetworkError> {
        let base_dir = &self.base_dir;
        let mut actors = Vec::new();
        let mut index = HashMap::new();
        if let Some(registry) = &self.reload {
            registry.clear();
        }
        for (number, process) in self.graph.processes().enumerate() {
            if !keep(process.name()) {
                continue;
            }
            let settings = &self.settings[process.name()];
            let component =
                self.start(number, process, settings, base_dir).map_err(|reason| reason.in_process(&self.file, process.name()))?;
            index.insert(process.name().to_string(), actors.len());
            let policy = settings.policy.clone();
            actors.push(ActorSpec { policy, ..ActorSpec::new(process.name(), component) });
        }
        let ports = |i: usize| actors[i].component.metadata().clone();
        let metadata: Vec<PluginMetadata> = (0..actors.len()).map(ports).collect();
        let port_name = |i: usize, name: &str, inport: bool| -> String {
            let list = if inport { &metadata[i].inports } else { &metadata[i].outports };
            resolve_port(list.iter().map(|p| p.name.as_str()), name, self.graph.case_sensitive)
        };

        let mut routes = Vec::new();
        let mut bridges = Vec::new();
        for (connection, edge) in self.graph.edges().enumerate() {
            match (index.get(&edge.src.process).copied(), index.get(&edge.tgt.process).copied()) {
                (Some(from), Some(to)) => routes.push(Route {
                    from,
                    outport: port_name(from, &edge.src.port, false),
                    to,
                    inport: port_name(to, &edge.tgt.port, true),
                }),
                (None, None) => {}
                (from, to) => {
                    let crossing = CrossingEdge {
                        connection,
                        from: (edge.src.process.clone(), from.map_or_else(|| edge.src.port.clone(), |i| port_name(i, &edge.src.port, false))),
                        to: (edge.tgt.process.clone(), to.map_or_else(|| edge.tgt.port.clone(), |i| port_name(i, &edge.tgt.port, true))),
                        leaves: from.is_some(),
                    };
                    let made = bridge(&crossing);
                    bridges.push((crossing, made));
                }
            }
        }
        let first = actors.len();
        for (at, (crossing, made)) in bridges.into_iter().enumerate() {
            let at = first + at;
            let ports = made.component.metadata();
            let (own, list) = if crossing.leaves { ("inport", &ports.inports) } else { ("outport", &ports.outports) };
            let port = list.first().map(|p| p.name.clone()).ok_or_else(|| NetworkError::Bridge {
                name: made.name.clone(),
                reason: format!("it stands for one end of connection {} but declares no {own}", crossing.describe()),
            })?;
            if actors.iter().any(|a: &ActorSpec| a.name == made.name) {
                return Err(NetworkError::Bridge { name: made.name, reason: "an actor of the part already has this name".into() });
            }
            routes.push(if crossing.leaves {
                Route { from: index[&crossing.from.0], outport: crossing.from.1.clone(), to: at, inport: port }
            } else {
                Route { from: at, outport: port, to: index[&crossing.to.0], inport: crossing.to.1.clone() }
            });
            actors.push(ActorSpec::new(made.name, made.component));
        }
        if let Some(registry) = &self.reload {
            for route in &routes {
                registry.connected(&actors[route.from].name, &route.outport, false);
                registry.connected(&actors[route.to].name, &route.inport, true);
            }
        }
        for initial in self.graph.initials() {
            let Some(&to) = index.get(&initial.tgt.process) else { continue };
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
            .filter(|(_, port)| index.contains_key(&port.process))
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
            .filter(|(_, port)| index.contains_key(&port.process))
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
            if let Some(binding) = &self.state {
                let key = reflow_state::ActorKey::new(binding.graph_id.as_str(), process.name());
                if let Some(record) = binding.store.load(&key)? {
                    component.restore(serde_json::Value::Object(record.state)).map_err(|e| NetworkError::Resume(e.0))?;
                }
            }
            Ok(Box::new(component))
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
    pub(crate) actors: Vec<ActorSpec>,
    /// One per edge: `routes[i]` is the graph's `i`-th edge in [`Graph::edges`] order (what
    /// [`Observer::edge_data`] numbers by). A part's ([`Network::prepare_part`]): its inner
    /// edges in that order, then one per crossing edge.
    pub(crate) routes: Vec<Route>,
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
