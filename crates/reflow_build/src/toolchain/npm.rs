//! npm packages a folder pins in its package.json and package-lock.json (the AssemblyScript
//! compiler and Extism's PDK for it), installed into that folder with `npm ci` (the lock
//! file's exact tree) unless the pinned version is there already.

use crate::BuildError;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `npm ci` in `dir` unless `node_modules/PACKAGE` already has the version package.json pins.
pub fn ci_unless_installed(dir: &Path, package: &str) -> Result<(), BuildError> {
    let wanted = pinned_version(dir, package)?;
    let installed = read_json(&dir.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|p| p["version"].as_str().map(str::to_string));
    if installed.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    eprintln!("reflow: installing {package} {wanted} (npm ci in {})", dir.display());
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
    crate::run(&mut cmd, "npm").map_err(|e| match e {
        BuildError::MissingTool { tool, why, .. } => {
            BuildError::MissingTool { tool, why, install: "Install Node.js and npm (Debian: apt-get install nodejs npm)".into() }
        }
        other => other,
    })
}

/// The exact version of `package` that `dir/package.json` depends on.
pub fn pinned_version(dir: &Path, package: &str) -> Result<String, BuildError> {
    let manifest = read_json(&dir.join("package.json"))?;
    ["dependencies", "devDependencies"]
        .iter()
        .find_map(|section| manifest[section][package].as_str())
        .map(str::to_string)
        .ok_or_else(|| BuildError::NoPin { file: dir.join("package.json"), package: package.to_string() })
}

fn read_json(path: &Path) -> Result<Value, BuildError> {
    let text = std::fs::read_to_string(path).map_err(BuildError::io(path))?;
    serde_json::from_str(&text).map_err(|e| BuildError::BadFile { path: path.to_path_buf(), why: e.to_string() })
}
