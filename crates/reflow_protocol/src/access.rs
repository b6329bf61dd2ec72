//! Who may talk to the runtime. A client of `reflow serve` can run code, so three checks
//! stand before any message is read (docs/security.md):
//!
//! - **`Origin`** (the WebSocket handshake): a browser sends the page's origin with every
//!   WebSocket it opens, and any page the user visits may open one to `127.0.0.1`
//!   (cross-site WebSocket hijacking). Only pages served from a loopback name, and origins the
//!   operator added (`--allow-origin https://app.flowhub.io`), are let in. Programs that are
//!   not browsers send no `Origin` and are let in, to meet the secret.
//! - **`Host`**: DNS rebinding points a name the attacker owns at `127.0.0.1`, so the page's
//!   own origin looks fine; its requests still carry that name as `Host`. Only IP addresses,
//!   `localhost`, and names the operator added (`--allow-host`) are accepted.
//! - **The secret**: every message carries it; until one did, a connection gets nothing but
//!   the errors answering its own messages (no network events). Compared in constant time.

use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The origins and host names let in beyond the loopback ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// Exact origins, `scheme://host[:port]` (`https://app.flowhub.io`).
    pub origins: Vec<String>,
    /// Host names a client may use in `Host` besides IP addresses and `localhost`.
    pub hosts: Vec<String>,
}

impl Allowlist {
    /// Why a handshake with these `Origin` and `Host` headers is refused, if it is.
    pub fn check(&self, origin: Option<&str>, host: Option<&str>) -> Result<(), String> {
        let host = host.ok_or("no Host header")?;
        let name = host_name(host).ok_or_else(|| format!("malformed Host header {host:?}"))?;
        if !self.host_allowed(name) {
            return Err(format!("Host {host:?} is not a loopback name, an IP address or a host allowed with --allow-host"));
        }
        if let Some(origin) = origin {
            if !self.origin_allowed(origin) {
                return Err(format!("Origin {origin:?} is not allowed (a loopback page, or one added with --allow-origin)"));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("localhost")
            || name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
            || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        if self.origins.iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
            return true;
        }
        let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else { return false };
        match host_name(rest) {
            Some(name) => is_loopback_name(name),
            None => false,
        }
    }
}

/// The host of `host[:port]` or `[v6]:port`; `None` for anything with a path or user part.
fn host_name(authority: &str) -> Option<&str> {
    if authority.is_empty() || authority.contains(['/', '@', ' ', '?', '#']) {
        return None;
    }
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let after = &authority[end + 1..];
        return (after.is_empty() || after.strip_prefix(':').is_some_and(is_port)).then(|| &authority[..=end]);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if is_port(port) && !name.contains(':') => Some(name),
        Some(_) => None,
        None => Some(authority),
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True if `given` is `secret`, in time that does not depend on where they differ.
pub fn secret_matches(secret: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    bool::from(secret.as_bytes().ct_eq(given.as_bytes()))
}

/// A fresh secret: 128 bits from the operating system's generator, as 32 hex digits.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_allowed_origins_pass_others_do_not() {
        let allow = Allowlist { origins: vec!["https://app.flowhub.io".into()], hosts: vec!["devbox.lan".into()] };
        for (origin, host) in [
            (None, "127.0.0.1:3569"),
            (Some("http://localhost:8080"), "localhost:3569"),
            (Some("http://127.0.0.1"), "127.0.0.1:3569"),
            (Some("https://[::1]:443"), "[::1]:3569"),
            (Some("https://app.flowhub.io"), "127.0.0.1:3569"),
            (Some("https://APP.flowhub.io/"), "devbox.lan:3569"),
            (None, "192.168.1.9:3569"),
        ] {
            assert_eq!(allow.check(origin, Some(host)), Ok(()), "{origin:?} {host}");
        }
        for (origin, host) in [
            (Some("http://evil.example"), "127.0.0.1:3569"),
            (Some("null"), "127.0.0.1:3569"),
            (Some("http://localhost.evil.example"), "127.0.0.1:3569"),
            (Some("http://127.0.0.1@evil.example"), "127.0.0.1:3569"),
            (Some("file://"), "127.0.0.1:3569"),
            (None, "evil.example:3569"),
            (Some("http://localhost"), "rebind.evil.example:3569"),
            (None, "127.0.0.1:3569/x"),
        ] {
            assert!(allow.check(origin, Some(host)).is_err(), "{origin:?} {host}");
        }
        assert!(allow.check(None, None).is_err(), "no Host");
    }

    #[test]
    fn secrets_match_exactly() {
        assert!(secret_matches("s3cret", Some("s3cret")));
        for other in [None, Some(""), Some("s3cre"), Some("s3cret!"), Some("S3cret")] {
            assert!(!secret_matches("s3cret", other), "{other:?}");
        }
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
