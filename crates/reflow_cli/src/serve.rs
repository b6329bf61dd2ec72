//! `reflow serve`: the FBP network-protocol server. Prints one line on stdout once it
//! listens (tools that start it, such as `fbp-test`, wait for that line), and the generated
//! secret when none was given, and the inspector's address with `--inspect`, then serves
//! until killed.

use crate::args::ServeArgs;
use anyhow::{bail, Context, Result};
use reflow_network::sandbox::{limits_from, resolve_fs_grant};
use reflow_protocol::{generate_secret, serve as serve_protocol, Allowlist, BuildConfig, RuntimeConfig, ServeConfig, Watcher};
use std::sync::Arc;
use reflow_script::Grants;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub fn serve(args: &ServeArgs) -> Result<()> {
    let (secret, generated) = match (&args.secret, &args.secret_file) {
        (Some(secret), _) => (secret.clone(), false),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading the secret from {}", file.display()))?;
            (text.lines().next().unwrap_or_default().trim().to_string(), false)
        }
        (None, None) => (generate_secret().context("generating a secret")?, true),
    };
    if secret.is_empty() {
        bail!("the secret is empty");
    }
    let limits = args.limits.to_limits();
    let cwd = std::env::current_dir().context("the current directory")?;
    let absolute = |path: &Path| cwd.join(path);
    let grants: Vec<String> = args.allow_grant.iter().map(|g| resolve_fs_grant(g, &cwd)).collect();
    let allowed_grants = Grants::parse(&grants).context("--allow-grant")?;
    let mut ceiling = serde_json::Map::new();
    for setting in &args.allow_limit {
        let (key, value) = setting.split_once('=').with_context(|| format!("--allow-limit {setting:?}: expected KEY=VALUE"))?;
        let value: serde_json::Value = serde_json::from_str(value).with_context(|| format!("--allow-limit {setting:?}: the value must be a number"))?;
        ceiling.insert(key.to_string(), value);
    }
    if args.allow_persist && args.components.is_none() {
        bail!("--allow-persist writes graphs into the --components folder: give one");
    }
    if args.allow_build && args.components.is_none() {
        bail!("--allow-build builds plugins into the --components folder: give one");
    }
    let build = args.allow_build.then(|| BuildConfig {
        sdk_path: args.sdk_path.as_deref().map(absolute),
        // Shared with the operator's other builds when set, as cargo itself would.
        target_dir: std::env::var_os("CARGO_TARGET_DIR").map(|dir| absolute(Path::new(&dir))),
        timeout: Duration::from_secs(args.build_timeout_secs),
    });
    let limit_ceiling = limits_from(limits, &ceiling).context("--allow-limit")?;
    let allow = Allowlist { origins: args.allow_origin.clone(), hosts: args.allow_host.clone() };
    let inspector = args.inspect.as_deref().map(|addr| reflow_inspect::Server::start(addr, allow.clone(), true)).transpose()?;
    let inspector_url = inspector.as_ref().map(reflow_inspect::Server::url);
    let config = ServeConfig {
        host: args.host.clone(),
        port: args.port,
        runtime: RuntimeConfig {
            secret: Some(secret.clone()),
            components: args.components.as_deref().map(absolute),
            limits,
            allowed_grants,
            limit_ceiling: Some(limit_ceiling),
            files: args.allow_files.as_deref().map(absolute),
            persist: args.allow_persist,
            build,
            watcher: inspector.map(|server| Watcher(Arc::new(server))),
        },
        allow,
        max_message_bytes: args.max_message_bytes,
    };
    serve_protocol(config, |addr| {
        let mut out = std::io::stdout().lock();
        // Whoever reads stdout may stop reading later; a lost line must not stop the server.
        let _ = writeln!(out, "reflow serve: listening on ws://{addr} (subprotocol noflo)");
        if let Some(url) = &inspector_url {
            let _ = writeln!(out, "reflow serve: inspector at {url}");
        }
        if generated {
            let _ = writeln!(out, "reflow serve: secret {secret} (every client must send it; set your own with REFLOW_SERVE_SECRET or --secret-file)");
        }
        let _ = out.flush();
    })?;
    Ok(())
}

