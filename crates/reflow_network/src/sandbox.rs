//! A process's sandbox and failure policy, read from its graph metadata. The graph is where a
//! user says what one process may touch and how much it may use, so these keys live beside
//! `metadata.config` (docs/graph-format.md, docs/security.md):
//!
//! ```json
//! "fetch": {"component": "http_get.wasm", "metadata": {
//!   "sandbox": {"grants": ["http:127.0.0.1"], "timeout_ms": 2000, "max_memory_pages": 256,
//!               "max_output_bytes": 65536, "fuel": 100000000},
//!   "on_failure": {"max_restarts": 3, "backoff_ms": 100, "then": "stop"}
//! }}
//! ```
//!
//! Every key is optional: limits default to the run's (the CLI flags), grants to none, the
//! failure policy to [`FailurePolicy::default`]. Unknown keys are errors, so a misspelt limit
//! is never silently the default.
//!
//! Who wrote the metadata decides what it may ask for ([`SandboxPolicy`]): a graph file is
//! the operator's own and may grant anything; a graph built over the FBP protocol was written
//! by a client, which gets only what the operator allowed on `reflow serve`'s command line.
//! Both are read by this one function, so a key means the same wherever it comes from.

use crate::error::NetworkError;
use crate::graph::Process;
use crate::scheduler::{Escalation, FailurePolicy};
use reflow_script::{Grants, Limits};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

/// The `metadata` keys read here.
pub const SANDBOX_KEY: &str = "sandbox";
pub const ON_FAILURE_KEY: &str = "on_failure";

/// The longest `on_failure.backoff_ms`: a pause that doubles after each failure, up to 64
/// times this, already holds an actor for over an hour.
pub const MAX_BACKOFF_MS: u64 = 60_000;

/// What one process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// What the process may touch, parsed once here (relative `fs:` paths made relative to
    /// the graph) and handed as is to the plugin's module.
    pub grants: Grants,
    pub limits: Limits,
    pub policy: FailurePolicy,
}

/// What a graph's metadata may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SandboxPolicy {
    /// The operator wrote it (a graph file): any grant, any limit.
    #[default]
    Operator,
    /// Someone else did (a protocol client): grants only within `grants`
    /// ([`Grants::covers`]), limits only up to `ceiling` (a tighter limit is always fine).
    Within { grants: Grants, ceiling: Limits },
}

impl SandboxPolicy {
    /// Nothing granted, no limit above the run's: what `reflow serve` allows by default.
    pub fn nothing_beyond(limits: Limits) -> SandboxPolicy {
        SandboxPolicy::Within { grants: Grants::default(), ceiling: limits }
    }

    /// Refuses `settings` if they ask for more than this policy allows.
    pub fn check(&self, settings: &ProcessSettings) -> Result<(), NetworkError> {
        let SandboxPolicy::Within { grants, ceiling } = self else { return Ok(()) };
        grants.covers(&settings.grants).map_err(|reason| NetworkError::GrantNotAllowed { reason })?;
        let limits = &settings.limits;
        let above = |key: &str, asked: String, most: String| {
            Err(NetworkError::AboveCeiling { key: format!("{SANDBOX_KEY}.{key}"), asked, most })
        };
        if limits.max_memory_pages > ceiling.max_memory_pages {
            return above("max_memory_pages", limits.max_memory_pages.to_string(), ceiling.max_memory_pages.to_string());
        }
        if limits.call_timeout > ceiling.call_timeout {
            return above("timeout_ms", limits.call_timeout.as_millis().to_string(), ceiling.call_timeout.as_millis().to_string());
        }
        if limits.max_output_bytes > ceiling.max_output_bytes {
            return above("max_output_bytes", limits.max_output_bytes.to_string(), ceiling.max_output_bytes.to_string());
        }
        match (limits.fuel, ceiling.fuel) {
            (_, None) => {}
            (None, Some(most)) => return above("fuel", "null (unmetered)".into(), most.to_string()),
            (Some(asked), Some(most)) if asked > most => return above("fuel", asked.to_string(), most.to_string()),
            _ => {}
        }
        Ok(())
    }
}

/// Reads `process`'s settings; `defaults` are the run's limits, `base_dir` the graph's folder.
/// Settings beyond `policy` are an error naming the key.
pub fn read(process: &Process, defaults: Limits, base_dir: &Path, policy: &SandboxPolicy) -> Result<ProcessSettings, NetworkError> {
    let mut settings = ProcessSettings { grants: Grants::default(), limits: defaults, policy: FailurePolicy::default() };
    if let Some(sandbox) = object(&process.metadata, SANDBOX_KEY)? {
        read_sandbox(sandbox, base_dir, &mut settings)?;
    }
    policy.check(&settings)?;
    if let Some(policy) = object(&process.metadata, ON_FAILURE_KEY)? {
        settings.policy = read_policy(policy)?;
    }
    Ok(settings)
}

/// `defaults` with the limits `sandbox` sets, read as a process's `metadata.sandbox` limits
/// are (the same keys and checks; grants are not limits and are refused here). What an
/// operator's `reflow serve --allow-limit KEY=VALUE` goes through.
pub fn limits_from(defaults: Limits, sandbox: &Map<String, Value>) -> Result<Limits, NetworkError> {
    if sandbox.contains_key("grants") {
        return Err(NetworkError::setting("grants", "are not limits"));
    }
    let mut settings = ProcessSettings { grants: Grants::default(), limits: defaults, policy: FailurePolicy::default() };
    read_sandbox(sandbox, Path::new(""), &mut settings)?;
    Ok(settings.limits)
}

fn object<'a>(metadata: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, NetworkError> {
    match metadata.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(NetworkError::setting(format!("metadata.{key}"), format!("must be an object, got {other}"))),
    }
}

fn number(key: &str, value: &Value) -> Result<u64, NetworkError> {
    value.as_u64().ok_or_else(|| NetworkError::setting(key, format!("must be a whole number >= 0, got {value}")))
}

fn too_large(key: &str, value: &Value) -> NetworkError {
    NetworkError::setting(key, format!("is too large: {value}"))
}

fn read_sandbox(sandbox: &Map<String, Value>, base_dir: &Path, settings: &mut ProcessSettings) -> Result<(), NetworkError> {
    let limits = &mut settings.limits;
    for (key, value) in sandbox {
        let name = format!("metadata.sandbox.{key}");
        match key.as_str() {
            "grants" => {
                let not_strings = |got: &Value| NetworkError::setting(&name, format!("must be a list of strings, got {got}"));
                let list = value.as_array().ok_or_else(|| not_strings(value))?;
                for grant in list {
                    let grant = grant.as_str().ok_or_else(|| not_strings(grant))?;
                    let grant = resolve_fs_grant(grant, base_dir);
                    settings.grants.add(&grant).map_err(|source| NetworkError::Grant { key: name.clone(), source })?;
                }
            }
            "max_memory_pages" => {
                limits.max_memory_pages =
                    u32::try_from(number(&name, value)?).map_err(|_| too_large(&name, value))?
            }
            "timeout_ms" => limits.call_timeout = Duration::from_millis(number(&name, value)?),
            "max_output_bytes" => limits.max_output_bytes = number(&name, value)?,
            "fuel" => limits.fuel = if value.is_null() { None } else { Some(number(&name, value)?) },
            _ => {
                return Err(NetworkError::UnknownKey {
                    key: name,
                    known: "grants, max_memory_pages, timeout_ms, max_output_bytes, fuel",
                })
            }
        }
    }
    Ok(())
}

/// `fs:ro:data=/data` in `graphs/g.json` grants `graphs/data`, as relative plugin paths are.
pub fn resolve_fs_grant(grant: &str, base_dir: &Path) -> String {
    let Some(rest) = grant.strip_prefix("fs:") else { return grant.to_string() };
    let Some((mode, mapping)) = rest.split_once(':') else { return grant.to_string() };
    let (host, guest) = mapping.split_once('=').unwrap_or((mapping, mapping));
    if Path::new(host).is_absolute() {
        return grant.to_string();
    }
    format!("fs:{mode}:{}={guest}", base_dir.join(host).display())
}

fn read_policy(policy: &Map<String, Value>) -> Result<FailurePolicy, NetworkError> {
    let mut read = FailurePolicy::default();
    for (key, value) in policy {
        let name = format!("metadata.on_failure.{key}");
        match key.as_str() {
            "max_restarts" => {
                read.max_restarts = if value.is_null() {
                    None
                } else {
                    Some(u32::try_from(number(&name, value)?).map_err(|_| too_large(&name, value))?)
                }
            }
            "backoff_ms" => {
                let ms = number(&name, value)?;
                if ms > MAX_BACKOFF_MS {
                    return Err(NetworkError::setting(name, format!("must be at most {MAX_BACKOFF_MS} (one minute), got {ms}")));
                }
                read.backoff = Duration::from_millis(ms)
            }
            "then" => {
                read.then = match value.as_str() {
                    Some("stop") => Escalation::StopActor,
                    Some("fail") => Escalation::FailGraph,
                    _ => return Err(NetworkError::setting(name, format!("must be \"stop\" or \"fail\", got {value}"))),
                }
            }
            _ => return Err(NetworkError::UnknownKey { key: name, known: "max_restarts, backoff_ms, then" }),
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn process(metadata: Value) -> Process {
        let mut graph = crate::Graph::new("t");
        let mut p = graph.add_process("p", "p.wasm").unwrap().clone();
        p.metadata = metadata.as_object().unwrap().clone();
        p
    }

    #[test]
    fn every_key_is_read() {
        let p = process(json!({"sandbox": {"grants": ["fs:ro:data=/data", "http:127.0.0.1"], "timeout_ms": 250,
            "max_memory_pages": 32, "max_output_bytes": 1000, "fuel": 5},
            "on_failure": {"max_restarts": 2, "backoff_ms": 10, "then": "fail"}}));
        let s = read(&p, Limits::default(), Path::new("/g"), &SandboxPolicy::Operator).unwrap();
        assert_eq!(s.grants, Grants::parse(&["fs:ro:/g/data=/data", "http:127.0.0.1"]).unwrap());
        assert_eq!(s.limits, Limits { max_memory_pages: 32, call_timeout: Duration::from_millis(250), max_output_bytes: 1000, fuel: Some(5) });
        assert_eq!(s.policy, FailurePolicy { max_restarts: Some(2), backoff: Duration::from_millis(10), then: Escalation::FailGraph });
    }

    #[test]
    fn nothing_set_means_the_defaults() {
        let s = read(&process(json!({"x": 1})), Limits::default(), Path::new("/g"), &SandboxPolicy::Operator).unwrap();
        assert_eq!(s, ProcessSettings { grants: Grants::default(), limits: Limits::default(), policy: FailurePolicy::default() });
    }

    #[test]
    fn mistakes_are_named() {
        for (metadata, expected) in [
            (json!({"sandbox": {"timeout": 5}}), "unknown key metadata.sandbox.timeout"),
            (json!({"sandbox": {"grants": ["disk:/"]}}), "invalid grant \"disk:/\""),
            (json!({"sandbox": {"max_memory_pages": -1}}), "metadata.sandbox.max_memory_pages must be a whole number"),
            (json!({"sandbox": []}), "metadata.sandbox must be an object"),
            (json!({"on_failure": {"then": "explode"}}), "must be \"stop\" or \"fail\""),
            (json!({"on_failure": {"backoff_ms": 60_001}}), "metadata.on_failure.backoff_ms must be at most 60000"),
        ] {
            // The same words whoever wrote the metadata.
            for policy in [SandboxPolicy::Operator, SandboxPolicy::nothing_beyond(Limits::default())] {
                let err = read(&process(metadata.clone()), Limits::default(), Path::new("/g"), &policy).unwrap_err();
                let err = crate::error::chain(&err);
                assert!(err.contains(expected), "{policy:?}: {err}");
            }
        }
    }

    /// One table of metadata, read once as a graph file's (the operator's: all of it is
    /// granted) and once as a protocol client's under `reflow serve`'s default policy
    /// (nothing beyond the run's limits) and under an operator's allowance.
    #[test]
    fn what_a_client_may_ask_for_is_what_the_operator_allowed() {
        let defaults = Limits::default();
        let allowance = SandboxPolicy::Within {
            grants: Grants::parse(&["fs:ro:/srv/data", "http:*.example.com"]).unwrap(),
            ceiling: Limits { max_memory_pages: defaults.max_memory_pages * 2, ..defaults },
        };
        // (metadata, allowed under the default policy, allowed under the allowance)
        let cases = [
            (json!({}), true, true),
            (json!({"sandbox": {"timeout_ms": 10, "max_memory_pages": 1, "max_output_bytes": 10}}), true, true),
            (json!({"sandbox": {"grants": ["fs:ro:/=/host"]}}), false, false),
            (json!({"sandbox": {"grants": ["fs:ro:/srv/data/a=/a"]}}), false, true),
            (json!({"sandbox": {"grants": ["fs:rw:/srv/data"]}}), false, false),
            (json!({"sandbox": {"grants": ["fs:ro:/srv/data/../../etc"]}}), false, false),
            (json!({"sandbox": {"grants": ["http:api.example.com"]}}), false, true),
            (json!({"sandbox": {"grants": ["env:TOKEN=x"]}}), false, false),
            (json!({"sandbox": {"timeout_ms": 3_600_000}}), false, false),
            (json!({"sandbox": {"max_memory_pages": defaults.max_memory_pages * 2}}), false, true),
            (json!({"sandbox": {"max_output_bytes": u64::MAX}}), false, false),
            (json!({"sandbox": {"fuel": 500}}), true, true),
        ];
        for (metadata, by_default, within_allowance) in cases {
            let p = process(metadata.clone());
            let as_file = read(&p, defaults, Path::new("/g"), &SandboxPolicy::Operator);
            assert!(as_file.is_ok(), "a graph file may ask for anything: {metadata}: {as_file:?}");
            for (policy, allowed) in [(SandboxPolicy::nothing_beyond(defaults), by_default), (allowance.clone(), within_allowance)] {
                match read(&p, defaults, Path::new("/g"), &policy) {
                    Ok(settings) => {
                        assert!(allowed, "{metadata} under {policy:?} was allowed");
                        assert_eq!(settings, as_file.clone().unwrap(), "allowed settings are read as from a file");
                    }
                    Err(e) => {
                        assert!(!allowed, "{metadata} under {policy:?} was refused: {e}");
                        let e = crate::error::chain(&e);
                        assert!(e.contains("what the operator allows"), "{e}");
                    }
                }
            }
        }
    }
}
