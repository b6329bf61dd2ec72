//! A plugin compiled and checked once, shared by every actor that runs it.

use crate::engine::new_plugin_builder;
use crate::host_functions::CallContext;
use crate::{Grants, Limits, ScriptConfig, ScriptError};
use reflow_abi::PluginMetadata;
use std::sync::{Arc, Mutex};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// The name of the export every plugin has besides its entry point.
pub const METADATA_EXPORT: &str = "get_metadata";

/// A compiled plugin with its metadata. Cheap to clone; instances are made from it.
#[derive(Clone)]
pub struct PluginModule {
    pub(crate) name: Arc<str>,
    /// The compilation made at load (it read the metadata), handed to the first actor; each
    /// later actor compiles its own (see [`PluginModule::compile_for_actor`]).
    unclaimed: Arc<Mutex<Option<Arc<extism::CompiledPlugin>>>>,
    pub(crate) entry_point: Arc<str>,
    pub(crate) metadata: Arc<PluginMetadata>,
    /// The sandbox every instance of this module gets (`ScriptConfig.packages`, parsed).
    pub(crate) grants: Arc<Grants>,
    pub(crate) limits: Limits,
    /// The bytes and whether they import WASI, to compile again for each actor (see
    /// [`PluginModule::compile_for_actor`]).
    source: Arc<[u8]>,
    imports_wasi: bool,
}

/// What the binary says about itself, read before Extism sees it so that errors are ours.
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
    /// Checks and compiles `config.source`, then reads the metadata once. `name` is how errors
    /// refer to the plugin (its file path, usually). Every instance gets `limits` and the
    /// grants of `config.packages` (none when `None`).
    pub fn load(name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        let grants = Grants::from_packages(config.packages.as_ref())
            .map_err(|source| ScriptError::Grant { plugin: name.to_string(), source })?;
        check_grants(name, &grants)?;
        let shape = inspect(name, &config.source)?;
        for export in [METADATA_EXPORT, config.entry_point.as_str()] {
            if !shape.function_exports.iter().any(|e| e == export) {
                return Err(ScriptError::MissingExport { plugin: name.to_string(), export: export.to_string() });
            }
        }
        let builder = new_plugin_builder(&config.source, shape.imports_wasi, limits, &grants);
        let compiled = extism::CompiledPlugin::new(builder)
            .map_err(|e| ScriptError::Load { plugin: name.to_string(), reason: format!("{e:#}") })?;
        let compiled = Arc::new(compiled);

        let metadata = read_metadata(name, &compiled, limits)?;
        Ok(PluginModule {
            name: name.into(),
            unclaimed: Arc::new(Mutex::new(Some(compiled))),
            entry_point: config.entry_point.as_str().into(),
            metadata: Arc::new(metadata),
            grants: Arc::new(grants),
            limits,
            source: config.source.as_slice().into(),
            imports_wasi: shape.imports_wasi,
        })
    }

    /// The module compiled again, into an Extism engine of the actor's own. Extism stops a
    /// call that runs past its time limit by bumping its *engine's* epoch, which interrupts
    /// every call running on that engine: actors sharing one would kill each other's calls.
    /// Wasmtime's module cache makes this a lookup after the first compilation.
    pub(crate) fn compile_for_actor(&self) -> Result<Arc<extism::CompiledPlugin>, ScriptError> {
        if let Some(compiled) = self.unclaimed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Ok(compiled);
        }
        let builder = new_plugin_builder(&self.source, self.imports_wasi, self.limits, &self.grants);
        extism::CompiledPlugin::new(builder)
            .map(Arc::new)
            .map_err(|e| ScriptError::Load { plugin: self.name.to_string(), reason: format!("{e:#}") })
    }

    /// What every instance may touch.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The plugin's self-description, read once at load.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// How errors name this plugin.
    pub fn name(&self) -> &str {
        &self.name
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

fn read_metadata(name: &str, compiled: &extism::CompiledPlugin, limits: Limits) -> Result<PluginMetadata, ScriptError> {
    let fail = |reason: String| ScriptError::Metadata { plugin: name.to_string(), reason };
    let mut plugin = extism::Plugin::new_from_compiled(compiled)
        .map_err(|e| ScriptError::Load { plugin: name.to_string(), reason: format!("{e:#}") })?;
    let context = CallContext::for_metadata(name);
    let bytes: Vec<u8> = plugin
        .call_with_host_context::<&[u8], Vec<u8>, _>(METADATA_EXPORT, &[], context)
        .map_err(|e| match crate::engine::exceeded_limit(&e) {
            Some(limit) => fail(format!("exceeded {}", limits.describe(limit))),
            None => fail(format!("{e:#}")),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
}
