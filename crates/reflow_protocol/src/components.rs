//! What `component:list` offers: the built-ins, then every `.wasm` file under the components
//! directory. A plugin's component name is its path relative to that directory (`/`
//! separators, e.g. `doubler.wasm` or `math/add.wasm`), which is exactly how a graph names
//! it: graphs edited over the protocol resolve plugin paths against the same directory, so
//! the name an editor picks runs as it is.

use crate::messages::{fbp_port_type, Reply};
use reflow_abi::{PluginMetadata, PortDefinition};
use reflow_network::{builtins, PluginCatalog};
use reflow_network::Limits;
use serde_json::{json, Value};
use crate::runtime::lock;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Catalog {
    dir: Option<PathBuf>,
    limits: Limits,
    /// Whether the file built-ins may be used (`--allow-files`).
    files: bool,
    /// Plugins compiled to learn their port types for `runtime:ports` (kept: that message
    /// follows every exported-port edit).
    port_types: Mutex<PluginCatalog>,
}

impl Catalog {
    pub fn new(dir: Option<PathBuf>, limits: Limits, files: bool) -> Catalog {
        let port_types = Mutex::new(PluginCatalog::new(&dir.clone().unwrap_or_default(), limits));
        Catalog { dir, limits, files, port_types }
    }

    /// The FBP type of `component`'s port (`all` when the component or port is unknown).
    pub fn port_type(&self, component: &str, port: &str, inport: bool) -> String {
        let metadata = if component.ends_with(".wasm") {
            lock(&self.port_types).module(component).ok().map(|m| m.metadata().clone())
        } else {
            builtins::metadata(component)
        };
        metadata
            .and_then(|m| {
                let ports = if inport { &m.inports } else { &m.outports };
                ports.iter().find(|p| p.name.eq_ignore_ascii_case(port)).map(|p| fbp_port_type(&p.port_type))
            })
            .unwrap_or_else(|| "all".into())
    }

    /// Why a node may not be made of `component`, if it may not. It may be a built-in (the
    /// file ones only with `--allow-files`) or a plugin inside the components folder, named
    /// by its relative path: never a path that leaves the folder. A plugin file is only read
    /// when the network starts or the list is asked.
    pub fn check(&self, component: &str) -> Result<(), String> {
        if component.ends_with(".wasm") {
            if self.dir.is_none() {
                return Err(format!("Component {component}: this runtime serves no plugins (start reflow serve with --components DIR)"));
            }
            if !inside(component) {
                return Err(format!(
                    "Component {component}: a plugin is named by its path inside the components folder (no absolute path, no `..`)"
                ));
            }
            return Ok(());
        }
        if builtins::metadata(component).is_none() {
            return Err(format!("Component {component} is not available (a plugin is a path ending in .wasm)"));
        }
        if FILE_BUILTINS.contains(&component) && !self.files {
            return Err(format!("Component {component} reads or writes files: not available unless reflow serve is started with --allow-files DIR"));
        }
        Ok(())
    }

    /// One `component` message per component, then `componentsready` with their number. A
    /// plugin that cannot be loaded is reported as a `component:error` and left out.
    pub fn list(&self) -> Vec<Reply> {
        let mut replies: Vec<Reply> = builtins::all().iter().map(|m| component_message(&m.component, m)).collect();
        if let Some(dir) = &self.dir {
            // Compiled afresh each time, so an edited plugin is seen on the next list.
            let plugins = PluginCatalog::new(dir, self.limits);
            let mut files = Vec::new();
            find_wasm(dir, dir, &mut files);
            files.sort();
            for name in files {
                match plugins.module(&name) {
                    Ok(module) => replies.push(component_message(&name, module.metadata())),
                    Err(reason) => replies.push(Reply::error("component", format!("Component {name}: {reason}"))),
                }
            }
        }
        let count = replies.iter().filter(|r| r.command == "component").count();
        replies.push(Reply::new("component", "componentsready", json!(count)));
        replies
    }
}

/// The built-ins that open a file named in their config.
pub const FILE_BUILTINS: &[&str] = &["reflow/ReadJsonLines", "reflow/WriteJsonLines"];

/// True if `path` is relative and stays inside the folder it is relative to (every part a
/// name: no root, no `..`, no `.`).
pub fn inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Relative paths of the `.wasm` files under `dir`, skipping hidden folders. Links to
/// directories are not followed (a link loop would list a plugin again at every turn); a link
/// to a file is listed like the file.
fn find_wasm(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // `file_type` describes the entry itself, not what a link points to.
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !hidden {
                find_wasm(root, &path, found);
            }
        } else if path.extension().is_some_and(|e| e == "wasm") && !(kind.is_symlink() && path.is_dir()) {
            if let Ok(relative) = path.strip_prefix(root) {
                let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                found.push(parts.join("/"));
            }
        }
    }
}

fn component_message(name: &str, metadata: &PluginMetadata) -> Reply {
    // The schema allows no `description` on the component itself, only on its ports.
    Reply::new(
        "component",
        "component",
        json!({
            "name": name,
            "subgraph": false,
            "inPorts": ports(&metadata.inports),
            "outPorts": ports(&metadata.outports),
        }),
    )
}

fn ports(ports: &[PortDefinition]) -> Vec<Value> {
    ports
        .iter()
        .map(|p| {
            json!({
                "id": p.name,
                "type": fbp_port_type(&p.port_type),
                "description": p.description,
                "required": p.required,
                "addressable": false,
            })
        })
        .collect()
}
