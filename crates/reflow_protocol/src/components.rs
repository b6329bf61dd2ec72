//! What `component:list` offers: the built-ins, then every `.wasm` file under the components
//! directory. A plugin's component name is its path relative to that directory (`/`
//! separators, e.g. `doubler.wasm` or `math/add.wasm`), which is exactly how a graph names
//! it: graphs edited over the protocol resolve plugin paths against the same directory, so
//! the name an editor picks runs as it is.

use crate::messages::{fbp_port_type, Reply};
use reflow_abi::{PluginMetadata, PortDefinition};
use reflow_network::{builtins, PluginCatalog};
use reflow_script::Limits;
use serde_json::{json, Value};
use crate::runtime::lock;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Catalog {
    dir: Option<PathBuf>,
    limits: Limits,
    /// Plugins compiled to learn their port types for `runtime:ports` (kept: that message
    /// follows every exported-port edit).
    port_types: Mutex<PluginCatalog>,
}

impl Catalog {
    pub fn new(dir: Option<PathBuf>, limits: Limits) -> Catalog {
        let port_types = Mutex::new(PluginCatalog::new(&dir.clone().unwrap_or_default(), limits));
        Catalog { dir, limits, port_types }
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

    /// True if `component` is a built-in or names a plugin (a `.wasm` path): what a node may
    /// be made of. A plugin file is only read when the network starts or the list is asked.
    pub fn knows(&self, component: &str) -> bool {
        component.ends_with(".wasm") || builtins::metadata(component).is_some()
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

/// Relative paths of the `.wasm` files under `dir`, skipping hidden folders.
fn find_wasm(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden {
            find_wasm(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "wasm") {
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
