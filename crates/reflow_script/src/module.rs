//! A plugin checked and compiled once, shared by every actor that runs it.

use crate::call_state::CallState;
use crate::extism_backend::{ExtismInstance, ExtismModule};
use crate::wasmtime_backend::{WasmtimeInstance, WasmtimeModule};
use crate::{Backend, Grants, Limit, Limits, ScriptConfig, ScriptError};
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
}

fn inspect(name: &str, bytes: &[u8]) -> Result<ModuleShape, ScriptError> {
    let invalid = |reason: String| ScriptError::InvalidModule { plugin: name.to_string(), reason };
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator.validate_all(bytes).map_err(|e| invalid(e.to_string()))?;
    let mut shape = ModuleShape { function_exports: Vec::new(), imports_wasi: false };
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| invalid(e.to_string()))? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| invalid(e.to_string()))?;
                    if matches!(import.ty, TypeRef::Func(_)) && import.module.starts_with("wasi_snapshot_preview1") {
                        shape.imports_wasi = true;
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
    Ok(shape)
}

impl PluginModule {
    /// Checks and compiles `config.source` on the default backend, then reads the metadata
    /// once. `name` is how errors refer to the plugin (its file path, usually).
    pub fn load(name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        PluginModule::load_on(Backend::default(), name, config, limits)
    }

    /// As [`PluginModule::load`], on a chosen backend. Every instance gets `limits` and the
    /// grants of `config.packages` (none when `None`).
    ///
    /// Some sandbox features exist on the Extism backend only: a module granted HTTP hosts or
    /// a read-only directory, or limited in fuel, is loaded there even when `backend` is
    /// [`Backend::Wasmtime`] (see [`PluginModule::backend`]; docs/security.md).
    pub fn load_on(backend: Backend, name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        let grants = Grants::from_packages(config.packages.as_ref())
            .map_err(|source| ScriptError::Grant { plugin: name.to_string(), source })?;
        check_grants(name, &grants)?;
        let backend = match (backend, extism_only(&grants, limits)) {
            (Backend::Wasmtime, Some(why)) => {
                tracing::debug!(plugin = name, "loaded on the Extism backend: {why}");
                Backend::Extism
            }
            (backend, _) => backend,
        };
        let shape = inspect(name, &config.source)?;
        for export in [METADATA_EXPORT, config.entry_point.as_str()] {
            if !shape.function_exports.iter().any(|e| e == export) {
                return Err(ScriptError::MissingExport { plugin: name.to_string(), export: export.to_string() });
            }
        }
        let load_error = |reason: String| ScriptError::Load { plugin: name.to_string(), reason };
        let compiled = match backend {
            Backend::Wasmtime => Compiled::Wasmtime(Arc::new(WasmtimeModule::compile(&config.source).map_err(load_error)?)),
            Backend::Extism => Compiled::Extism(Arc::new(
                ExtismModule::compile(&config.source, shape.imports_wasi, limits, &grants).map_err(load_error)?,
            )),
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

    /// The backend this module runs on (the one asked for, unless its grants or limits need
    /// the Extism backend).
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
                PluginInstance::Wasmtime(WasmtimeInstance::new(module, actor, self.limits, &self.grants).map_err(load_error)?)
            }
            Compiled::Extism(module) => PluginInstance::Extism(ExtismInstance::new(module).map_err(load_error)?),
        })
    }
}

/// Why a module must run on the Extism backend, if it must: our wasmtime backend has no HTTP
/// client, no read-only preopened directory (wasi-common 43 has no read-only mode) and runs
/// on an engine without fuel metering.
fn extism_only(grants: &Grants, limits: Limits) -> Option<&'static str> {
    if !grants.http_hosts.is_empty() {
        Some("it is granted HTTP hosts")
    } else if grants.paths.iter().any(|p| !p.writable) {
        Some("it is granted a read-only directory")
    } else if limits.fuel.is_some() {
        Some("its limits meter fuel")
    } else {
        None
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

    /// After a failed call the instance may be in any state (a trap mid-allocation, a
    /// half-run Go scheduler): a fresh one, on the same engine.
    pub fn restart(&mut self, module: &PluginModule, actor: Arc<str>) -> Result<(), ScriptError> {
        match self {
            PluginInstance::Wasmtime(_) => *self = module.instantiate(actor)?,
            PluginInstance::Extism(instance) => {
                instance.restart().map_err(|reason| ScriptError::Load { plugin: module.name.to_string(), reason })?
            }
        }
        Ok(())
    }
}
