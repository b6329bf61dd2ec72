//! Hot reload: a plugin whose code changed is swapped into its running actors between two of
//! their calls (`reflow run --watch`, and an editor through the protocol).
//!
//! # How a swap keeps every message
//!
//! [`Reloader::replace`] checks the new module first, off the actors' threads: it must load,
//! answer `get_metadata`, still declare every port the graph connects to each process that
//! runs it (inports, outports, IIP targets, exported outports), and require the same inports
//! (the running actor's queues were built for those). A module that fails any of this is
//! refused with one line ([`ReloadError`]) and nothing changes. One that passes is left in
//! each actor's [`SwapSlot`]; the actor takes it at the start of its next call, on its own
//! worker, where no call is running: a fresh instance of the new module gets the old
//! instance's state and runs that call and every later one. Every message is so processed
//! exactly once, by the old version or the new one, in the order it arrived; a message the
//! old version was already running is finished by it.
//!
//! A slot costs a running actor one atomic load per call, and only when hot reload was asked
//! for ([`crate::Network::hot_reload`]); otherwise an actor has no slot.

use reflow_abi::{ActorConfig, PluginMetadata};
use reflow_script::{Limits, PluginModule, ScriptActor, ScriptConfig};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Why a new module was refused: one line naming the plugin file and what is wrong with it.
/// The version running before goes on running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    #[error("{plugin}: no running process uses this plugin")]
    NotRunning { plugin: PathBuf },

    #[error("{plugin}: refused, the running version stays: cannot read it: {reason}")]
    Read { plugin: PathBuf, reason: String },

    #[error("{plugin}: refused, the running version stays: {reason}")]
    Load { plugin: PathBuf, reason: String },

    #[error("{plugin}: refused, the running version stays: it no longer declares {direction} {port:?}, which the graph connects to process {process:?}")]
    MissingPort { plugin: PathBuf, process: String, direction: &'static str, port: String },

    #[error("{plugin}: refused, the running version stays: it changes which inports of process {process:?} are required ({before} before, {after} now)")]
    Required { plugin: PathBuf, process: String, before: String, after: String },
}

/// A swap that happened: `process` took a new version of its plugin at the start of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Swap {
    pub process: String,
    /// The plugin's name, as its module was loaded (its file).
    pub plugin: String,
    /// Which version of its plugin the process runs now: 1 is the one it started with, each
    /// swap adds one.
    pub version: u64,
    pub at: SystemTime,
}

/// Every swap of a run, in the order they happened (a swap is rare: a file saved by hand).
#[derive(Default)]
pub(crate) struct SwapLog {
    count: AtomicU64,
    swaps: Mutex<Vec<Swap>>,
}

impl SwapLog {
    fn push(&self, process: &str, plugin: &str) {
        let mut swaps = self.swaps.lock().unwrap_or_else(|p| p.into_inner());
        let version = 2 + swaps.iter().filter(|s| s.process == process).count() as u64;
        swaps.push(Swap { process: process.to_string(), plugin: plugin.to_string(), version, at: SystemTime::now() });
        self.count.store(swaps.len() as u64, Ordering::Release);
    }
}

/// Where a new module waits for its actor's next call.
#[derive(Default)]
pub(crate) struct SwapSlot {
    waiting: AtomicBool,
    module: Mutex<Option<PluginModule>>,
}

impl SwapSlot {
    fn offer(&self, module: PluginModule) {
        *self.module.lock().unwrap_or_else(|p| p.into_inner()) = Some(module);
        self.waiting.store(true, Ordering::Release);
    }

    /// The module waiting, if any (one atomic load when none is).
    pub fn take(&self) -> Option<PluginModule> {
        if !self.waiting.load(Ordering::Acquire) {
            return None;
        }
        self.waiting.store(false, Ordering::Release);
        self.module.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A plugin actor that can take a new module: its slot, and what a new instance needs.
#[derive(Clone)]
pub(crate) struct Swappable {
    pub slot: Arc<SwapSlot>,
    pub config: ActorConfig,
    log: Arc<SwapLog>,
}

impl Swappable {
    /// `actor` with the waiting module swapped in, its state carried over; `None` when no
    /// module waits or the new instance cannot start (then the old one goes on, logged).
    pub fn swapped(&self, actor: &ScriptActor) -> Option<ScriptActor> {
        let module = self.slot.take()?;
        match ScriptActor::new(&module, self.config.clone()) {
            Ok(mut new) => {
                new.engine_mut().set_state(actor.engine().state().clone());
                tracing::info!("process {}: now runs {}", self.config.node_id, module.name());
                self.log.push(&self.config.node_id, module.name());
                Some(new)
            }
            Err(e) => {
                tracing::error!("process {}: {} refused, the running version stays: {e}", self.config.node_id, module.name());
                None
            }
        }
    }
}

/// One process that runs a plugin, as a reload checks and reaches it.
struct Target {
    process: String,
    plugin: PathBuf,
    grants: Vec<String>,
    limits: Limits,
    /// The ports the graph connects (resolved to the plugin's spelling).
    inports: BTreeSet<String>,
    outports: BTreeSet<String>,
    required: BTreeSet<String>,
    swap: Swappable,
}

#[derive(Default)]
pub(crate) struct Registry {
    /// Every plugin file the graph names, running or not yet.
    files: BTreeSet<PathBuf>,
    targets: Mutex<Vec<Target>>,
    log: Arc<SwapLog>,
}

impl Registry {
    pub fn new(files: impl IntoIterator<Item = PathBuf>) -> Registry {
        Registry { files: files.into_iter().collect(), targets: Mutex::default(), log: Arc::default() }
    }

    /// Forgets the actors of the last run, and its swaps (a new run starts).
    pub fn clear(&self) {
        self.targets.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let mut swaps = self.log.swaps.lock().unwrap_or_else(|p| p.into_inner());
        swaps.clear();
        self.log.count.store(0, Ordering::Release);
    }

    /// Registers a plugin actor about to run; returns what it swaps through.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &self,
        process: &str,
        plugin: PathBuf,
        grants: &[String],
        limits: Limits,
        metadata: &PluginMetadata,
        config: ActorConfig,
    ) -> Swappable {
        let swap = Swappable { slot: Arc::default(), config, log: self.log.clone() };
        let required = metadata.inports.iter().filter(|p| p.required).map(|p| p.name.clone()).collect();
        self.targets.lock().unwrap_or_else(|p| p.into_inner()).push(Target {
            process: process.to_string(),
            plugin,
            grants: grants.to_vec(),
            limits,
            inports: BTreeSet::new(),
            outports: BTreeSet::new(),
            required,
            swap: swap.clone(),
        });
        swap
    }

    /// Notes that the graph connects `port` of `process`.
    pub fn connected(&self, process: &str, port: &str, inport: bool) {
        for target in self.targets.lock().unwrap_or_else(|p| p.into_inner()).iter_mut().filter(|t| t.process == process) {
            let ports = if inport { &mut target.inports } else { &mut target.outports };
            ports.insert(port.to_string());
        }
    }
}

/// Swaps new versions of plugins into a running network; cheap to clone, and usable from
/// any thread while [`crate::Network::run`] runs on another. Made by
/// [`crate::Network::hot_reload`]; see the module docs for what a swap guarantees.
#[derive(Clone)]
pub struct Reloader {
    registry: Arc<Registry>,
}

impl Reloader {
    pub(crate) fn new(registry: Arc<Registry>) -> Reloader {
        Reloader { registry }
    }

    /// The plugin files the graph's processes run (what `--watch` watches).
    pub fn plugins(&self) -> Vec<PathBuf> {
        self.registry.files.iter().cloned().collect()
    }

    /// How many swaps have happened in the current run (one atomic load: a reader polls it).
    pub fn swap_count(&self) -> u64 {
        self.registry.log.count.load(Ordering::Acquire)
    }

    /// Every swap of the current run, in the order they happened.
    pub fn swaps(&self) -> Vec<Swap> {
        self.registry.log.swaps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads `plugin` again from disk and swaps it into every process that runs it (see
    /// [`Reloader::replace`]).
    pub fn reload(&self, plugin: &Path) -> Result<Vec<String>, ReloadError> {
        let source = std::fs::read(plugin).map_err(|e| ReloadError::Read { plugin: plugin.to_path_buf(), reason: e.to_string() })?;
        self.replace(plugin, source)
    }

    /// Swaps `source`, a new version of the plugin file `plugin`, into every process started
    /// from that file, each at the start of its next call: checked first, refused as a whole
    /// (nothing swapped) if any process would lose a connected port. Returns the processes that
    /// will run it.
    pub fn replace(&self, plugin: &Path, source: Vec<u8>) -> Result<Vec<String>, ReloadError> {
        let targets = self.registry.targets.lock().unwrap_or_else(|p| p.into_inner());
        let chosen: Vec<&Target> = targets.iter().filter(|t| same_file(&t.plugin, plugin)).collect();
        if chosen.is_empty() {
            return Err(ReloadError::NotRunning { plugin: plugin.to_path_buf() });
        }
        let mut modules = Vec::with_capacity(chosen.len());
        for target in &chosen {
            modules.push(check(target, plugin, &source)?);
        }
        for (target, module) in chosen.iter().zip(modules) {
            target.swap.slot.offer(module);
        }
        Ok(chosen.iter().map(|t| t.process.clone()).collect())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `reason` on one line, without the plugin's name in front (the error names it).
fn one_line(reason: &str, plugin: &Path) -> String {
    let name = format!("{}: ", plugin.display());
    let reason = reason.strip_prefix(&name).unwrap_or(reason);
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The new module for `target`, or why it is refused.
fn check(target: &Target, plugin: &Path, source: &[u8]) -> Result<PluginModule, ReloadError> {
    let packages = (!target.grants.is_empty()).then(|| target.grants.clone());
    let config = ScriptConfig { packages, ..ScriptConfig::new(source.to_vec()) };
    let module = PluginModule::load(&plugin.display().to_string(), &config, target.limits)
        .map_err(|e| ReloadError::Load { plugin: plugin.to_path_buf(), reason: one_line(&e.to_string(), plugin) })?;
    let metadata = module.metadata();
    for (ports, declared, direction) in [(&target.inports, &metadata.inports, "inport"), (&target.outports, &metadata.outports, "outport")] {
        if let Some(port) = ports.iter().find(|port| !declared.iter().any(|d| &d.name == *port)) {
            return Err(ReloadError::MissingPort { plugin: plugin.to_path_buf(), process: target.process.clone(), direction, port: port.clone() });
        }
    }
    let required: BTreeSet<String> = metadata.inports.iter().filter(|p| p.required).map(|p| p.name.clone()).collect();
    if required != target.required {
        let list = |set: &BTreeSet<String>| if set.is_empty() { "none".to_string() } else { set.iter().cloned().collect::<Vec<_>>().join(", ") };
        return Err(ReloadError::Required { plugin: plugin.to_path_buf(), process: target.process.clone(), before: list(&target.required), after: list(&required) });
    }
    Ok(module)
}
