//! npm packages pinned in a folder's package.json and package-lock.json, installed with
//! `npm ci` (the lock file's exact tree) unless the pinned version is already there.

use crate::run;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// `npm ci` in `dir` unless `node_modules/PACKAGE` already has the version package.json pins.
pub fn ci_unless_installed(dir: &Path, package: &str) -> Result<()> {
    let wanted = pinned_version(dir, package)?;
    let installed = read_json(&dir.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|p| p["version"].as_str().map(str::to_string));
    if installed.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!("xtask: installing {package} {wanted} (npm ci in {})", dir.display());
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))
}

/// The exact version of `package` that `dir/package.json` depends on.
pub fn pinned_version(dir: &Path, package: &str) -> Result<String> {
    let manifest = read_json(&dir.join("package.json"))?;
    ["dependencies", "devDependencies"]
        .iter()
        .find_map(|section| manifest[section][package].as_str())
        .map(str::to_string)
        .with_context(|| format!("{}/package.json does not pin {package}", dir.display()))
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}
