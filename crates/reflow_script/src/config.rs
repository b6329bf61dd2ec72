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
#[non_exhaustive]
pub enum Backend {
    /// Our implementation of the Extism ABI directly on wasmtime: the per-message fast path.
    #[default]
    Wasmtime,
    /// The `extism` crate's `Plugin`: the reference implementation.
    Extism,
}

impl Backend {
    /// The name `--engine` takes for it (what [`str::parse`] reads back).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Wasmtime => "wasmtime",
            Backend::Extism => "extism",
        }
    }
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
    /// Capability grants for the plugin, one string each (`fs:ro:/dir=/guest`, `http:HOST`,
    /// `env:NAME=value`; see [`Grants`](crate::Grants)); `None` grants nothing.
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
///
/// Engine-neutral: every engine enforces all of them, and a call over one fails with
/// [`ScriptError::LimitExceeded`](crate::ScriptError::LimitExceeded) naming the actor and the
/// limit (see [`Limits::describe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Linear memory, in 64 KiB pages (all of the plugin's memories together).
    pub max_memory_pages: u32,
    /// Wall-clock time one call may take.
    pub call_timeout: Duration,
    /// Bytes one call may hand the host: its returned output, and separately the total of its
    /// `__send_output` messages, of its `__set_state` values and of its log lines. The actor's
    /// whole state stays within it too; it also caps an HTTP response.
    pub max_output_bytes: u64,
    /// CPU fuel (about one unit per wasm instruction) one call may burn; `None`: unmetered.
    /// Metering slows wasm down, so it is off unless asked for.
    pub fuel: Option<u64>,
}

/// What the memory limit counts for one table element: wasmtime keeps a pointer per element,
/// so tables take host memory as linear memory does (100 tables of a million elements are
/// 800 MB) and count against the same limit.
pub(crate) const TABLE_ELEMENT_BYTES: u64 = 8;

/// Which limit a call exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    Memory,
    Time,
    Output,
    Fuel,
}

impl Limits {
    /// The memory limit in bytes (linear memories and tables together).
    pub(crate) fn memory_bytes(&self) -> u64 {
        u64::from(self.max_memory_pages) * 65536
    }

    /// How an error names `limit`: "the 10 s call time limit", "the 4096-page (256 MiB)
    /// memory limit", ...
    pub fn describe(&self, limit: Limit) -> String {
        match limit {
            Limit::Memory => format!(
                "the {}-page ({} MiB) memory limit",
                self.max_memory_pages,
                u64::from(self.max_memory_pages) * 64 / 1024
            ),
            Limit::Time => format!("the {} call time limit", human_duration(self.call_timeout)),
            Limit::Output => format!("the {}-byte output limit", self.max_output_bytes),
            Limit::Fuel => match self.fuel {
                Some(fuel) => format!("the fuel limit of {fuel} units"),
                None => "the fuel limit".to_string(),
            },
        }
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_pages: 4096, // 256 MiB
            call_timeout: Duration::from_secs(10),
            max_output_bytes: 16 << 20,
            fuel: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_named_with_their_values() {
        let limits = Limits { fuel: Some(1000), ..Limits::default() };
        assert_eq!(limits.describe(Limit::Time), "the 10 s call time limit");
        assert_eq!(limits.describe(Limit::Memory), "the 4096-page (256 MiB) memory limit");
        assert_eq!(limits.describe(Limit::Output), "the 16777216-byte output limit");
        assert_eq!(limits.describe(Limit::Fuel), "the fuel limit of 1000 units");
        let short = Limits { call_timeout: Duration::from_millis(250), ..limits };
        assert_eq!(short.describe(Limit::Time), "the 250 ms call time limit");
    }
}
