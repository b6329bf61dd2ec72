//! A plugin checked and compiled once, shared by every actor that runs it.

use crate::call_state::CallState;
use crate::extism_backend::{self, ExtismInstance};
use crate::wasmtime_backend::{WasmtimeInstance, WasmtimeModule};
use crate::{Backend, Limits, ScriptConfig, ScriptError};
use reflow_abi::PluginMetadata;
use std::sync::Arc;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// The name of the export every plugin has besides its entry point.
pub const METADATA_EXPORT: &str = "get_metadata";

#[derive(Clone)]
enum Compiled {
    Wasmtime(Arc<WasmtimeModule>),
    Extism(Arc<extism::CompiledPlugin>),
}

/// A compiled plugin with its metadata. Cheap to clone; instances are made from it.
#[derive(Clone)]
pub struct PluginModule {
    pub(crate) name: Arc<str>,
    compiled: Compiled,
    pub(crate) entry_point: Arc<str>,
    pub(crate) metadata: Arc<PluginMetadata>,
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

    /// As [`PluginModule::load`], on a chosen backend.
    pub fn load_on(backend: Backend, name: &str, config: &ScriptConfig, limits: Limits) -> Result<PluginModule, ScriptError> {
        let shape = inspect(name, &config.source)?;
        for export in [METADATA_EXPORT, config.entry_point.as_str()] {
            if !shape.function_exports.iter().any(|e| e == export) {
                return Err(ScriptError::MissingExport { plugin: name.to_string(), export: export.to_string() });
            }
        }
        let load_error = |reason: String| ScriptError::Load { plugin: name.to_string(), reason };
        let compiled = match backend {
            Backend::Wasmtime => Compiled::Wasmtime(Arc::new(WasmtimeModule::compile(&config.source).map_err(load_error)?)),
            Backend::Extism => {
                Compiled::Extism(Arc::new(extism_backend::compile(&config.source, shape.imports_wasi, limits).map_err(load_error)?))
            }
        };
        let mut module = PluginModule {
            name: name.into(),
            compiled,
            entry_point: config.entry_point.as_str().into(),
            metadata: Arc::default(),
            limits,
        };
        module.metadata = Arc::new(module.read_metadata()?);
        Ok(module)
    }

    fn read_metadata(&self) -> Result<PluginMetadata, ScriptError> {
        let fail = |reason: String| ScriptError::Metadata { plugin: self.name.to_string(), reason };
        let mut instance = self.instantiate(self.name.clone())?;
        let call = CallState { actor: self.name.clone(), state: Default::default(), sink: None };
        let (bytes, _) = instance.call(METADATA_EXPORT, &[], call).map_err(fail)?;
        serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
    }

    /// The plugin's self-description, read once at load.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// How errors name this plugin.
    pub fn name(&self) -> &str {
        &self.name
    }

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
            Compiled::Wasmtime(module) => PluginInstance::Wasmtime(WasmtimeInstance::new(module, actor, self.limits).map_err(load_error)?),
            Compiled::Extism(compiled) => PluginInstance::Extism(ExtismInstance::new(compiled).map_err(load_error)?),
        })
    }
}

/// One live instance on either backend.
pub(crate) enum PluginInstance {
    Wasmtime(WasmtimeInstance),
    Extism(ExtismInstance),
}

impl PluginInstance {
    /// Calls `function` with `input`: its output bytes and the call state as the plugin left
    /// it, or the reason it failed, in one line.
    pub fn call(&mut self, function: &str, input: &[u8], call: CallState) -> Result<(Vec<u8>, CallState), String> {
        match self {
            PluginInstance::Wasmtime(instance) => instance.call(function, input, call),
            PluginInstance::Extism(instance) => instance.call(function, input, call),
        }
    }
}
