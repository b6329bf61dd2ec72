//! The FBP protocol's own runtime test suite, `fbp-test` from the npm package `fbp-protocol`
//! (pinned in `tests/fbp-protocol/package.json` and its lock file), run against a freshly
//! started `reflow serve` on a free loopback port. All of its tests must pass.
//!
//! `fbp-test` reads `fbp-config.json` from `$PROJECT_HOME` (the runtime's address and the
//! command that starts it; it waits for the command's first line on stdout) and must run in
//! the folder whose `node_modules` holds it. Its own schema check is broken in 0.9.8 (it
//! passes everything), so reflow_protocol's Rust tests check every message against the
//! package's schemas instead; `install` puts them where those tests read them.
//!
//! `reflow serve` requires a secret on every message: the suite gets one of its own through
//! the environment (`REFLOW_SERVE_SECRET` for the server fbp-test starts, which inherits it,
//! and `FBP_PROTOCOL_SECRET`, which fbp-test sends), never on a command line. fbp-test's
//! client (npm `websocket`) sends no `Origin` and `Host: 127.0.0.1:PORT`, which the server's
//! defaults accept.

use crate::{cargo, run};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How many tests fbp-test 0.9.8 has.
const EXPECTED_TESTS: usize = 22;

fn package_dir(root: &Path) -> PathBuf {
    root.join("tests").join("fbp-protocol")
}

/// Fails with a clear message when Node.js or npm is missing.
pub fn check_node() -> Result<()> {
    for tool in ["node", "npm"] {
        let found = Command::new(tool).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
        if !found {
            bail!(
                "`{tool}` not found: the FBP protocol acceptance suite (fbp-test) and the protocol schemas \
                 come from npm, so `cargo xtask test` needs Node.js 18 or later with npm on PATH \
                 (CI has them). Install Node.js, or run `cargo test --workspace --exclude reflow_protocol` \
                 for the other Rust tests alone."
            );
        }
    }
    Ok(())
}

/// The npm packages the tests need, each pinned by the `package.json` and lock file of its
/// folder: the protocol suite and schemas, the graph-test runner fbp-spec (`fbp_spec.rs`),
/// and the reference `.fbp` parser that reflow_network's differential test runs
/// (`tests/fbp-parser`).
const NPM_PACKAGES: [(&str, &str); 3] = [("tests/fbp-protocol", "fbp-protocol"), ("tests/fbp-spec", "fbp-spec"), ("tests/fbp-parser", "fbp")];

/// `npm ci` in each folder of [`NPM_PACKAGES`] unless its pinned version is already installed.
pub fn install(root: &Path) -> Result<()> {
    for (folder, package) in NPM_PACKAGES {
        reflow_build::toolchain::npm::ci_unless_installed(&root.join(folder), package)?;
    }
    Ok(())
}

/// Starts nothing itself: fbp-test starts `reflow serve` with the configured command, runs
/// its suite, then kills it.
pub fn run_suite(root: &Path) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--quiet", "-p", "reflow_cli"]).current_dir(root);
    run(&mut build)?;
    let reflow = root.join("target").join("debug").join(if cfg!(windows) { "reflow.exe" } else { "reflow" });

    let port = free_port()?;
    let home = root.join("target").join("fbp-test");
    std::fs::create_dir_all(&home)?;
    // fbp-test runs the command through a shell and kills that shell when it is done: `exec`
    // makes the shell become `reflow serve`, so the server is what gets killed (without it,
    // every run left a `reflow serve` behind).
    let command = format!("exec '{}' serve --host 127.0.0.1 --port {port}", reflow.display().to_string().replace('\'', r"'\''"));
    let config = format!(
        "{{\n  \"name\": \"reflow\",\n  \"command\": {command:?},\n  \"host\": \"127.0.0.1\",\n  \"port\": {port},\n  \
         \"collection\": \"core\",\n  \"version\": \"0.7\"\n}}\n"
    );
    std::fs::write(home.join("fbp-config.json"), config)?;

    eprintln!("xtask: fbp-test against `reflow serve` on 127.0.0.1:{port}");
    let dir = package_dir(root);
    let secret = suite_secret();
    let output = Command::new("node")
        .arg(dir.join("node_modules/fbp-protocol/bin/fbp-test"))
        .current_dir(&dir)
        .env("PROJECT_HOME", &home)
        .env("FBP_PROTOCOL_SECRET", &secret)
        .env("REFLOW_SERVE_SECRET", &secret)
        .output()
        .context("cannot start fbp-test")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let passing = count(&stdout, "passing");
    let failing = count(&stdout, "failing");
    if !output.status.success() || failing > 0 || passing != EXPECTED_TESTS {
        bail!("fbp-test: {passing}/{EXPECTED_TESTS} passed ({failing} failing, exit {})", output.status);
    }
    eprintln!("xtask: fbp-test passed {passing}/{EXPECTED_TESTS}");
    Ok(())
}

/// A secret for one run of a suite: it only has to differ from run to run, not be secret
/// from the user running it.
pub fn suite_secret() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("xtask-{}-{nanos:x}", std::process::id())
}

/// A port nothing listens on now (the OS picks it; the runtime binds it a moment later).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The number in mocha's summary line `N passing` / `N failing` (0 when absent).
fn count(stdout: &str, word: &str) -> usize {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_suffix(word).or_else(|| line.trim().split_once(&format!(" {word} ")).map(|(n, _)| n)))
        .filter_map(|n| n.trim().parse().ok())
        .next()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mocha_summaries_are_counted() {
        let out = "  22 passing (287ms)\n  1 failing\n";
        assert_eq!(count(out, "passing"), 22);
        assert_eq!(count(out, "failing"), 1);
        assert_eq!(count("nothing here", "passing"), 0);
    }

    #[test]
    fn versions_are_read_from_package_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(reflow_build::toolchain::npm::pinned_version(&package_dir(root), "fbp-protocol").unwrap(), "0.9.8");
        assert_eq!(reflow_build::toolchain::npm::pinned_version(&root.join("tests/fbp-parser"), "fbp").unwrap(), "1.8.0");
        assert_eq!(reflow_build::toolchain::npm::pinned_version(&root.join("tests/fbp-spec"), "fbp-spec").unwrap(), "0.8.0");
        assert_eq!(reflow_build::toolchain::npm::pinned_version(&root.join("sdk/assemblyscript"), "assemblyscript").unwrap(), "0.28.20");
    }
}
