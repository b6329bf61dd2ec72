//! A plugin checked and compiled once, shared by every actor that runs it.

use crate::call_state::CallState;
use crate::extism_backend::{ExtismInstance, ExtismModule};
use crate::wasmtime_backend::{WasmtimeInstance, WasmtimeModule};
use crate::{Backend, Entropy, Grants, Limit, Limits, ScriptConfig, ScriptError};
use reflow_abi::PluginMetadata;
use std::sync::Arc;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// The name of the export every plugin has besides its entry point.
pub const METADATA_EXPORT: &str = "get_metadata";

#[derive(Clone)]
enum Compiled {
    Wasmtime(Arc<WasmtimeModule>),
    Extism(Arc<ExtismModule>),
}

/// Why a call failed, in one line, and the limit it hit if that was the reason.
#[derive(Debug)]
pub(crate) struct CallFailure {
    pub limit: Option<Limit>,
    pub reason: String,
}

impl From<String> for CallFailure {
    fn from(reason: String) -> Self {
        CallFailure { limit: None, reason }
    }
}

/// A compiled plugin with its metadata. Cheap to clone; instances are made from it.
#[derive(Clone)]
pub struct PluginModule {
    pub(crate) name: Arc<str>,
    compiled: Compiled,
    pub(crate) entry_point: Arc<str>,
    pub(crate) metadata: Arc<PluginMetadata>,
    /// The sandbox every instance of this module gets (`ScriptConfig.packages`, parsed).
    pub(crate) grants: Arc<Grants>,
    pub(crate) limits: Limits,
}

/// What the binary says about itself, read before any engine sees it so that errors are ours.
struct ModuleShape {
    function_exports: Vec<String>,
    imports_wasi: bool,
    /// The elements its tables start with, all together.
    table_elements: u64,
    /// The most elements its tables can ever hold, all together: a table that `table.grow`
    /// targets counts with its declared maximum (`None`: it has none, so no bound), the
    /// others as declared.
    table_elements_at_most: Option<u64>,
}

fn inspect(name: &str, bytes: &[u8]) -> Result<ModuleShape, ScriptError> {
    let invalid = |reason: String| ScriptError::InvalidModule { plugin: name.to_string(), reason };
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator.validate_all(bytes).map_err(|e| invalid(e.to_string()))?;
    let mut shape = ModuleShape { function_exports: Vec::new(), imports_wasi: false, table_elements: 0, table_elements_at_most: None };
    // Every table of the index space (imported ones first): (initial, maximum) elements.
    let mut tables: Vec<(u64, Option<u64>)> = Vec::new();
    let mut grown = std::collections::BTreeSet::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| invalid(e.to_string()))? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| invalid(e.to_string()))?;
                    match import.ty {
                        TypeRef::Func(_) if import.module.starts_with("wasi_snapshot_preview1") => shape.imports_wasi = true,
                        TypeRef::Table(table) => tables.push((table.initial, table.maximum)),
                        _ => {}
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(|e| invalid(e.to_string()))?;
                    shape.table_elements = shape.table_elements.saturating_add(table.ty.initial);
                    tables.push((table.ty.initial, table.ty.maximum));
                }
            }
            Payload::CodeSectionEntry(body) => {
                for op in body.get_operators_reader().map_err(|e| invalid(e.to_string()))? {
                    if let wasmparser::Operator::TableGrow { table } = op.map_err(|e| invalid(e.to_string()))? {
                        grown.insert(table as usize);
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| invalid(e.to_string()))?;
                    if export.kind == ExternalKind::Func {
                        shape.function_exports.push(export.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    shape.table_elements_at_most = tables.iter().enumerate().try_fold(0u64, |total, (i, &(initial, maximum))| {
        Some(total.saturating_add(if grown.contains(&i) { maximum? } else { initial }))
    });
    Ok(shape)
}

impl PluginModule {
    /// Checks and compiles `config.source` on the default backend, then reads the metadata
    /// once. `name` is how errors refer to the plugin (its file path, usually).
    pub fn load(name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        PluginModule::load_on(Backend::default(), name, config, limits)
    }

    /// As [`PluginModule::load`], on a chosen backend. Every instance gets `limits` and the
    /// grants of `config.packages` (none when `None`). Both backends have every sandbox
    /// feature, so the module runs on the one asked for ([`PluginModule::backend`]).
    pub fn load_on(backend: Backend, name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        let grants = Grants::from_packages(config.packages.as_ref())
            .map_err(|source| ScriptError::Grant { plugin: name.to_string(), source })?;
        PluginModule::load_granted(backend, name, config, grants, limits)
    }

    /// As [`PluginModule::load_on`], with grants already parsed (a graph's process settings
    /// parse them once, where a bad one can be reported with the process); `config.packages`
    /// is not read.
    pub fn load_granted(backend: Backend, name: &str, config: &ScriptConfig, grants: Grants, limits: Limits) -> Result<PluginModule, ScriptError> {
        check_grants(name, &grants)?;
        let shape = inspect(name, &config.source)?;
        for export in [METADATA_EXPORT, config.entry_point.as_str()] {
            if !shape.function_exports.iter().any(|e| e == export) {
                return Err(ScriptError::MissingExport { plugin: name.to_string(), export: export.to_string() });
            }
        }
        let load_error = |reason: String| ScriptError::Load { plugin: name.to_string(), reason };
        // Table elements take host memory (a pointer each) and count against the memory limit:
        // our engine's limiter counts them as tables grow; Extism's does not, so the tables a
        // module declares are checked here for both (docs/security.md).
        if shape.table_elements.saturating_mul(crate::config::TABLE_ELEMENT_BYTES) > limits.memory_bytes() {
            return Err(load_error(format!(
                "its tables hold {} elements, over {}",
                shape.table_elements,
                limits.describe(Limit::Memory)
            )));
        }
        let compiled = match backend {
            Backend::Wasmtime => Compiled::Wasmtime(Arc::new(WasmtimeModule::compile(&config.source, limits).map_err(load_error)?)),
            Backend::Extism => {
                if let Some(path) = grants.paths.iter().find(|p| !p.writable) {
                    // Extism's read-only preopen checks the rights a `path_open` asks for, not
                    // its flags: create and truncate pass. Refused rather than half enforced.
                    return Err(load_error(format!(
                        "{}: the Extism backend cannot keep a directory read-only (a plugin could truncate and create \
                         files in it); run this plugin on the wasmtime engine",
                        path.host.display()
                    )));
                }
                // Extism's limiter lets a table grow to its declared maximum, or without bound
                // when it has none, and counts none of it: a module that can grow its tables
                // past the memory limit is refused rather than half limited (docs/security.md).
                let at_most = shape.table_elements_at_most.map(|n| n.saturating_mul(crate::config::TABLE_ELEMENT_BYTES));
                if at_most.is_none_or(|bytes| bytes > limits.memory_bytes()) {
                    return Err(load_error(format!(
                        "its tables can grow (table.grow) {}, past {}, which the Extism backend cannot count; run this \
                         plugin on the wasmtime engine",
                        match shape.table_elements_at_most {
                            None => "without a declared maximum".to_string(),
                            Some(n) => format!("to {n} elements"),
                        },
                        limits.describe(Limit::Memory)
                    )));
                }
                starts_within_limits(name, &config.source, limits, &grants)?;
                Compiled::Extism(Arc::new(ExtismModule::compile(&config.source, shape.imports_wasi, limits, &grants).map_err(load_error)?))
            }
        };
        let mut module = PluginModule {
            name: name.into(),
            compiled,
            entry_point: config.entry_point.as_str().into(),
            metadata: Arc::default(),
            grants: Arc::new(grants),
            limits,
        };
        module.metadata = Arc::new(module.read_metadata()?);
        Ok(module)
    }

    fn read_metadata(&self) -> Result<PluginMetadata, ScriptError> {
        let fail = |reason: String| ScriptError::Metadata { plugin: self.name.to_string(), reason };
        let load_error = |reason: String| ScriptError::Load { plugin: self.name.to_string(), reason };
        let mut instance = match &self.compiled {
            Compiled::Extism(module) => PluginInstance::Extism(ExtismInstance::for_metadata(module).map_err(load_error)?),
            Compiled::Wasmtime(_) => self.instantiate(self.name.clone())?,
        };
        let call = CallState::new(self.name.clone(), Default::default(), None).with_budget(self.limits.max_output_bytes);
        let (bytes, _) = instance.call(METADATA_EXPORT, &[], call).map_err(|failure| match failure.limit {
            Some(limit) => fail(format!("exceeded {}", self.limits.describe(limit))),
            None => fail(failure.reason),
        })?;
        if bytes.len() as u64 > self.limits.max_output_bytes {
            return Err(fail(format!("exceeded {}", self.limits.describe(Limit::Output))));
        }
        serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
    }

    /// The plugin's self-description, read once at load.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// What every instance may touch.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// How errors name this plugin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend this module runs on: the one asked for.
    pub fn backend(&self) -> Backend {
        match self.compiled {
            Compiled::Wasmtime(_) => Backend::Wasmtime,
            Compiled::Extism(_) => Backend::Extism,
        }
    }

    /// A fresh live instance for the actor named `actor`.
    pub(crate) fn instantiate(&self, actor: Arc<str>) -> Result<PluginInstance, ScriptError> {
        let load_error = |reason: String| ScriptError::Load { plugin: self.name.to_string(), reason };
        Ok(match &self.compiled {
            Compiled::Wasmtime(module) => {
                PluginInstance::Wasmtime(WasmtimeInstance::new(module, actor, self.limits, &self.grants).map_err(|e| load_error(e.reason))?)
            }
            Compiled::Extism(module) => PluginInstance::Extism(ExtismInstance::new(module).map_err(load_error)?),
        })
    }
}

/// Extism runs a module's start function and `_initialize` before it starts the call's timer,
/// so a plugin looping there would hang its first call forever. Our engine runs both under
/// the time limit: instantiating the module there once at load fails a plugin that loops
/// in them (only a limit counts here; any other failure is Extism's to report).
fn starts_within_limits(name: &str, bytes: &[u8], limits: Limits, grants: &Grants) -> Result<(), ScriptError> {
    let Ok(module) = WasmtimeModule::compile(bytes, limits) else { return Ok(()) };
    match WasmtimeInstance::new(&module, name.into(), limits, grants) {
        Err(CallFailure { limit: Some(_), reason }) => Err(ScriptError::Load { plugin: name.to_string(), reason }),
        _ => Ok(()),
    }
}

/// A granted directory must exist: say so now, naming the grant, rather than fail every call.
fn check_grants(name: &str, grants: &Grants) -> Result<(), ScriptError> {
    for path in &grants.paths {
        if !path.host.is_dir() {
            let mode = if path.writable { "rw" } else { "ro" };
            return Err(ScriptError::Grant {
                plugin: name.to_string(),
                source: crate::GrantError {
                    grant: format!("fs:{mode}:{}={}", path.host.display(), path.guest),
                    reason: format!("{} is not a directory", path.host.display()),
                },
            });
        }
    }
    Ok(())
}

/// One live instance on either backend.
// One per actor, made at start and on restarts only: boxing the larger variant would add an
// indirection to every call for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum PluginInstance {
    Wasmtime(WasmtimeInstance),
    Extism(ExtismInstance),
}

impl PluginInstance {
    /// Calls `function` with `input`: its output bytes and the call state as the plugin left
    /// it, or the reason it failed, in one line.
    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), CallFailure> {
        match self {
            PluginInstance::Wasmtime(instance) => instance.call(function, input, call),
            PluginInstance::Extism(instance) => instance.call(function, input, call),
        }
    }

    /// Whether [`PluginInstance::call_batch`] can pass several payloads in one call (our engine,
    /// and a plugin with `__reflow_batch_v1`; docs/abi.md, "Batches"). The Extism backend
    /// calls one message at a time.
    pub fn batches(&self) -> bool {
        match self {
            PluginInstance::Wasmtime(instance) => instance.batches(),
            PluginInstance::Extism(_) => false,
        }
    }

    /// One call for `count` payloads encoded in `input` (an `ActorBatch`): the `ActorResult` of
    /// each payload done, and why the next one failed if one did. Only when [`Self::batches`].
    pub fn call_batch(&mut self, input: &[u8], count: usize, call: CallState) -> (Vec<Vec<u8>>, Option<CallFailure>) {
        match self {
            PluginInstance::Wasmtime(instance) => instance.call_batch(input, count, call),
            PluginInstance::Extism(_) => (Vec::new(), Some("the Extism backend takes one message per call".to_string().into())),
        }
    }

    /// Serves the next calls' WASI clock and random reads as `entropy` says, and returns what
    /// was there (what the previous calls recorded or left unreplayed). The Extism backend has
    /// no such hook: it hands `entropy` back and its reads stay live.
    pub fn swap_entropy(&mut self, entropy: Entropy) -> Entropy {
        match self {
            PluginInstance::Wasmtime(instance) => std::mem::replace(&mut *instance.tape().lock().unwrap_or_else(|p| p.into_inner()), entropy),
            PluginInstance::Extism(_) => entropy,
        }
    }

    /// After a failed call the instance may be in any state (a trap mid-allocation, a
    /// half-run Go scheduler): a fresh one, on the same engine.
    pub fn restart(&mut self, module: &PluginModule, actor: Arc<str>) -> Result<(), ScriptError> {
        match self {
            PluginInstance::Wasmtime(_) => *self = module.instantiate(actor)?,
            // A call given up on its thread may still be running in the old compilation.
            PluginInstance::Extism(instance) if instance.abandoned() => *self = module.instantiate(actor)?,
            PluginInstance::Extism(instance) => {
                instance.restart().map_err(|reason| ScriptError::Load { plugin: module.name.to_string(), reason })?
            }
        }
        Ok(())
    }
}
