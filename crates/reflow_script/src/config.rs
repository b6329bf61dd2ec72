//! What to run and within which limits.

use std::time::Duration;

/// Where a script runs. Only the system (native host) environment exists here.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptEnvironment {
    #[default]
    SYSTEM,
}

/// Which engine runs the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptRuntime {
    /// Extism plugins (any Extism PDK), on wasmtime.
    #[default]
    Extism,
}

/// What executes plugin instances. Both run the same plugins (any Extism PDK) with the same
/// host functions and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Our implementation of the Extism ABI directly on wasmtime: the per-message fast path.
    #[default]
    Wasmtime,
    /// The `extism` crate's `Plugin`: the reference implementation.
    Extism,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wasmtime" => Ok(Backend::Wasmtime),
            "extism" => Ok(Backend::Extism),
            other => Err(format!("unknown engine {other:?} (wasmtime or extism)")),
        }
    }
}

/// A plugin to run, as the specification writes it:
///
/// ```
/// use reflow_script::{ScriptConfig, ScriptEnvironment, ScriptRuntime};
/// # let wasm_bytes = Vec::new();
/// let config = ScriptConfig {
///     environment: ScriptEnvironment::SYSTEM,
///     runtime: ScriptRuntime::Extism,
///     source: wasm_bytes,  // Compiled WASM binary
///     entry_point: "process".to_string(),
///     packages: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptConfig {
    pub environment: ScriptEnvironment,
    pub runtime: ScriptRuntime,
    /// The compiled `.wasm` bytes.
    pub source: Vec<u8>,
    /// The export called for each message (`process` for SDK-built plugins).
    pub entry_point: String,
    /// Extra capability grants for the plugin; `None` grants nothing.
    pub packages: Option<Vec<String>>,
}

impl ScriptConfig {
    /// An Extism plugin from `source`, entry point `process`, nothing granted.
    pub fn new(source: Vec<u8>) -> ScriptConfig {
        ScriptConfig {
            environment: ScriptEnvironment::SYSTEM,
            runtime: ScriptRuntime::Extism,
            source,
            entry_point: "process".to_string(),
            packages: None,
        }
    }
}

/// Resource limits of one actor. The defaults protect a user trying an unknown plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, in 64 KiB pages (all of the plugin's memories together).
    pub max_memory_pages: u32,
    /// Wall-clock time one call may take.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_pages: 4096, // 256 MiB
            call_timeout: Duration::from_secs(10),
        }
    }
}
