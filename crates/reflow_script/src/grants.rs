//! What a plugin may touch beyond its own memory and our host functions. Default deny: a
//! plugin gets no directory, no HTTP host and no environment value unless its process is
//! granted one.
//!
//! Grants are strings so that the specification's `ScriptConfig.packages` (a list of strings
//! that exists to carry them) and a graph's `metadata.sandbox.grants` can both hold them:
//!
//! | grant | meaning |
//! |---|---|
//! | `fs:ro:/host/dir=/guest` | WASI plugins see `/host/dir` at `/guest`, read-only |
//! | `fs:rw:/host/dir=/guest` | the same, read-write |
//! | `fs:ro:/host/dir` | mapped at the same path inside the sandbox |
//! | `http:example.com` | Extism `http_request` may reach this host (a glob: `*.example.com`; any port) |
//! | `env:NAME=value` | `NAME` is `value` in `ActorContext.config.resolved_env` and in Extism config |
//!
//! This type is engine-neutral: each engine turns it into its own setup (the Extism engine into
//! `Manifest::allowed_paths`, `allowed_hosts` and `config`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A directory made visible to a WASI plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it.
    pub guest: String,
    /// `false`: the plugin may only read.
    pub writable: bool,
}

/// Every capability granted to one actor. `Grants::default()` grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Grants {
    pub paths: Vec<PathGrant>,
    /// Host names (globs) HTTP requests may reach.
    pub http_hosts: Vec<String>,
    /// Environment values: `ActorContext.config.resolved_env` and Extism config.
    pub env: BTreeMap<String, String>,
}

/// A grant string that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid grant {grant:?}: {reason} (grants are fs:ro:/dir[=/guest], fs:rw:/dir[=/guest], http:HOST, env:NAME=value)")]
pub struct GrantError {
    pub grant: String,
    pub reason: String,
}

impl Grants {
    /// Reads grant strings (the syntax is in this module's documentation).
    pub fn parse<S: AsRef<str>>(grants: &[S]) -> Result<Grants, GrantError> {
        let mut parsed = Grants::default();
        for grant in grants {
            parsed.add(grant.as_ref())?;
        }
        Ok(parsed)
    }

    /// The grants of `ScriptConfig.packages` (`None` grants nothing).
    pub fn from_packages(packages: Option<&Vec<String>>) -> Result<Grants, GrantError> {
        Grants::parse(packages.map(Vec::as_slice).unwrap_or_default())
    }

    /// True when nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.http_hosts.is_empty() && self.env.is_empty()
    }

    /// Adds one grant string.
    pub fn add(&mut self, grant: &str) -> Result<(), GrantError> {
        let fail = |reason: &str| GrantError { grant: grant.to_string(), reason: reason.to_string() };
        let (kind, rest) = grant.split_once(':').ok_or_else(|| fail("no kind before `:`"))?;
        match kind {
            "fs" => {
                let (mode, mapping) = rest.split_once(':').ok_or_else(|| fail("expected fs:ro:DIR or fs:rw:DIR"))?;
                let writable = match mode {
                    "ro" => false,
                    "rw" => true,
                    _ => return Err(fail("the mode must be `ro` or `rw`")),
                };
                let (host, guest) = match mapping.split_once('=') {
                    Some((host, guest)) => (host, guest),
                    None => (mapping, mapping),
                };
                if host.is_empty() || guest.is_empty() {
                    return Err(fail("empty directory"));
                }
                if !guest.starts_with('/') {
                    return Err(fail("the path inside the sandbox must be absolute"));
                }
                self.paths.push(PathGrant { host: PathBuf::from(host), guest: guest.to_string(), writable });
            }
            "http" => {
                if rest.is_empty() || rest.contains('/') || rest.contains(':') {
                    return Err(fail("expected a host name (no scheme, port or path)"));
                }
                self.http_hosts.push(rest.to_string());
            }
            "env" => {
                let (name, value) = rest.split_once('=').ok_or_else(|| fail("expected env:NAME=value"))?;
                if name.is_empty() {
                    return Err(fail("empty variable name"));
                }
                self.env.insert(name.to_string(), value.to_string());
            }
            _ => return Err(fail("unknown kind")),
        }
        Ok(())
    }

    /// The grants as strings again (`Grants::parse` of them gives an equal value).
    pub fn to_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.paths {
            let mode = if p.writable { "rw" } else { "ro" };
            out.push(format!("fs:{mode}:{}={}", p.host.display(), p.guest));
        }
        out.extend(self.http_hosts.iter().map(|h| format!("http:{h}")));
        out.extend(self.env.iter().map(|(k, v)| format!("env:{k}={v}")));
        out
    }
}

impl Grants {
    /// Checks that everything `asked` grants is also granted by `self` (an operator's
    /// allowance, e.g. `reflow serve --allow-grant`): a directory inside an allowed one, with
    /// no more than its access (`ro` within `ro` or `rw`, `rw` only within `rw`), at any guest
    /// path; an HTTP host an allowed pattern matches (`*.example.com` covers `api.example.com`
    /// and `*.api.example.com`); an environment value given exactly. Paths are compared as
    /// written, component by component, and a `..` is never covered: the allowance is about
    /// names, so a symbolic link inside an allowed directory leads where the operator put it.
    /// The error names the first grant that is not covered.
    pub fn covers(&self, asked: &Grants) -> Result<(), String> {
        for path in &asked.paths {
            let escapes = path.host.components().any(|c| matches!(c, std::path::Component::ParentDir));
            let covered = !escapes
                && self.paths.iter().any(|allowed| path.host.starts_with(&allowed.host) && (allowed.writable || !path.writable));
            if !covered {
                let mode = if path.writable { "rw" } else { "ro" };
                return Err(format!("fs:{mode}:{} is not within what the operator allows", path.host.display()));
            }
        }
        for host in &asked.http_hosts {
            if !self.http_hosts.iter().any(|allowed| host_pattern_covers(allowed, host)) {
                return Err(format!("http:{host} is not within what the operator allows"));
            }
        }
        for (name, value) in &asked.env {
            if self.env.get(name) != Some(value) {
                return Err(format!("env:{name} is not within what the operator allows"));
            }
        }
        Ok(())
    }
}

/// True if every host `asked` matches also matches `allowed` (both host globs).
fn host_pattern_covers(allowed: &str, asked: &str) -> bool {
    if allowed == "*" || allowed.eq_ignore_ascii_case(asked) {
        return true;
    }
    match allowed.strip_prefix('*') {
        // `*.example.com`: `asked` must end in `.example.com`, whatever its own wildcards.
        Some(suffix) if suffix.starts_with('.') => {
            asked.len() > suffix.len() && asked.to_ascii_lowercase().ends_with(&suffix.to_ascii_lowercase())
        }
        _ => false,
    }
}

impl fmt::Display for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing granted");
        }
        f.write_str(&self.to_strings().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_parses_and_round_trips() {
        let g = Grants::parse(&["fs:ro:/srv/data=/data", "fs:rw:/tmp/x", "http:*.example.com", "env:MODE=fast=yes"]).unwrap();
        assert_eq!(g.paths[0], PathGrant { host: "/srv/data".into(), guest: "/data".into(), writable: false });
        assert_eq!(g.paths[1], PathGrant { host: "/tmp/x".into(), guest: "/tmp/x".into(), writable: true });
        assert_eq!(g.http_hosts, ["*.example.com"]);
        assert_eq!(g.env["MODE"], "fast=yes");
        assert_eq!(Grants::parse(&g.to_strings()).unwrap(), g);
    }

    #[test]
    fn nothing_is_granted_by_default() {
        assert!(Grants::from_packages(None).unwrap().is_empty());
        assert_eq!(Grants::default().to_string(), "nothing granted");
    }

    #[test]
    fn an_allowance_covers_what_is_inside_it_and_nothing_else() {
        let allowed = Grants::parse(&["fs:ro:/srv/data", "fs:rw:/tmp/out", "http:*.example.com", "env:MODE=fast"]).unwrap();
        for inside in ["fs:ro:/srv/data", "fs:ro:/srv/data/sub=/d", "fs:rw:/tmp/out/x", "fs:ro:/tmp/out", "http:api.example.com",
            "http:*.api.example.com", "env:MODE=fast"] {
            assert_eq!(allowed.covers(&Grants::parse(&[inside]).unwrap()), Ok(()), "{inside}");
        }
        for outside in ["fs:rw:/srv/data", "fs:ro:/srv/database", "fs:ro:/srv/data/../secret", "fs:ro:/", "http:example.com",
            "http:*", "http:evil.com", "env:MODE=slow", "env:HOME=/root"] {
            let err = allowed.covers(&Grants::parse(&[outside]).unwrap()).unwrap_err();
            assert!(err.contains("not within what the operator allows"), "{outside}: {err}");
        }
        assert!(Grants::default().covers(&Grants::default()).is_ok(), "asking nothing is always covered");
        assert!(Grants::default().covers(&Grants::parse(&["http:a.b"]).unwrap()).is_err(), "an empty allowance covers nothing");
    }

    #[test]
    fn bad_grants_are_named() {
        for bad in ["fs:/x", "fs:rx:/x", "fs:ro:", "fs:ro:/x=rel", "http:", "http:http://a", "env:=1", "env:X", "net:x", "x"] {
            let err = Grants::parse(&[bad]).unwrap_err();
            assert_eq!(err.grant, bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
