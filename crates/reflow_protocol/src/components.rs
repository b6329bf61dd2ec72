//! What `component:list` offers: the built-ins, then every `.wasm` file under the components
//! directory. A plugin's component name is its FBP name: its path relative to that directory
//! without the extension (`/` separators: `doubler.wasm` is `doubler`, `math/add.wasm` is
//! `math/add`), because the FBP language allows no `.` in a component name. Graphs edited over
//! the protocol may also name a plugin by that path (`doubler.wasm`), as a JSON graph file
//! does; both resolve against the same directory ([`resolve_component`], the rule `.fbp`
//! files follow), so the name an editor picks runs as it is.

use crate::messages::{fbp_port_type, Reply};
use reflow_abi::{PluginMetadata, PortDefinition};
use reflow_network::loader::{resolve_component, unresolve_component};
use reflow_network::{builtins, PluginCatalog};
use reflow_network::Limits;
use serde_json::{json, Value};
use crate::runtime::lock;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

pub struct Catalog {
    dir: Option<PathBuf>,
    limits: Limits,
    /// Whether the file built-ins may be used (`--allow-files`).
    files: bool,
    /// Plugins' metadata learnt for `runtime:ports` (kept: that message follows every
    /// exported-port edit), by file and its modification time, so an edited plugin is read
    /// again. Compiling happens outside this lock.
    port_types: Mutex<HashMap<PathBuf, (Option<SystemTime>, Option<PluginMetadata>)>>,
}

impl Catalog {
    pub fn new(dir: Option<PathBuf>, limits: Limits, files: bool) -> Catalog {
        Catalog { dir, limits, files, port_types: Mutex::default() }
    }

    /// The metadata of `component` (an FBP name or a plugin path), compiling a plugin the
    /// first time (and after its file changed). Takes no lock while compiling: a plugin that
    /// loops in `get_metadata` holds up only the client that asked.
    fn metadata(&self, component: &str) -> Option<PluginMetadata> {
        let component = resolve_component(component);
        if !component.ends_with(".wasm") {
            return builtins::metadata(&component);
        }
        let dir = self.dir.as_ref()?;
        let path = dir.join(&component);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if let Some((seen, metadata)) = lock(&self.port_types).get(&path) {
            if *seen == modified {
                return metadata.clone();
            }
        }
        let metadata = PluginCatalog::new(dir, self.limits).module(&component).ok().map(|m| m.metadata().clone());
        lock(&self.port_types).insert(path, (modified, metadata.clone()));
        metadata
    }

    /// The FBP type of `component`'s port (`all` when the component or port is unknown).
    pub fn port_type(&self, component: &str, port: &str, inport: bool) -> String {
        self.metadata(component)
            .and_then(|m| {
                let ports = if inport { &m.inports } else { &m.outports };
                ports.iter().find(|p| p.name.eq_ignore_ascii_case(port)).map(|p| fbp_port_type(&p.port_type))
            })
            .unwrap_or_else(|| "all".into())
    }

    /// Why a node may not be made of `component`, if it may not. It may be a built-in (the
    /// file ones only with `--allow-files`) or a plugin inside the components folder, named
    /// by its FBP name or its relative path: never a path that leaves the folder. A plugin
    /// file is only read when the network starts or the list is asked.
    pub fn check(&self, component: &str) -> Result<(), String> {
        let resolved = resolve_component(component);
        if resolved.ends_with(".wasm") {
            let Some(dir) = &self.dir else {
                return Err(format!("Component {component} is not available: this runtime serves built-ins only (start reflow serve with --components DIR for plugins)"));
            };
            if !inside(&resolved) {
                return Err(format!(
                    "Component {component}: a plugin is named by its path inside the components folder (no absolute path, no `..`)"
                ));
            }
            // The path form is checked when the network starts (as in a graph file); an FBP
            // name that names no plugin is most likely a typo, so it is refused now.
            if !component.ends_with(".wasm") && !dir.join(&resolved).is_file() {
                return Err(format!("Component {component} is not available (no built-in, and no plugin {resolved} in the components folder)"));
            }
            return Ok(());
        }
        if FILE_BUILTINS.contains(&component) && !self.files {
            return Err(format!("Component {component} reads or writes files: not available unless reflow serve is started with --allow-files DIR"));
        }
        Ok(())
    }

    /// The FBP names of the plugins under the components folder, with their relative paths.
    fn plugins(&self) -> Vec<(String, String)> {
        let Some(dir) = &self.dir else { return Vec::new() };
        let mut files = Vec::new();
        find_wasm(dir, dir, &mut files);
        files.sort();
        files.into_iter().map(|path| (unresolve_component(&path), path)).collect()
    }

    /// Plugins that cannot be used by their FBP name, one sentence each: a plugin named like
    /// a built-in (the built-in wins; the plugin is listed and usable by its path).
    pub fn conflicts(&self) -> Vec<String> {
        self.plugins()
            .into_iter()
            .filter(|(name, path)| name == path)
            .map(|(_, path)| {
                format!("plugin {path}: its FBP name {} is a built-in's; it is listed as {path} (rename the file to use it by name)", path.trim_end_matches(".wasm"))
            })
            .collect()
    }

    /// `component:source` for `name` (an FBP name, as `component:list` gives it):
    ///
    /// - a plugin built by `component:source`: the code it was built from, and the `tests`
    ///   sent with it (fbp-spec suites; `fbp-spec --component-tests` runs them);
    /// - a plugin whose project folder sits beside it (`DIR/doubler/` for `DIR/doubler.wasm`,
    ///   a project `reflow new` wrote and `reflow build` builds): that project's source file,
    ///   with its language (`rust`, `go`), and its `fbp-spec.yaml` as `tests` if it has one;
    /// - any other plugin: its metadata, as JSON (the `.wasm` is all there is);
    /// - a built-in: what it does and its ports, as text (it is native code of the runtime).
    pub fn source(&self, name: &str) -> Result<Reply, String> {
        let resolved = resolve_component(name);
        let mut tests = None;
        let (code, language) = if !resolved.ends_with(".wasm") {
            let metadata = builtins::metadata(&resolved).ok_or_else(|| format!("Component {name} not found"))?;
            (builtin_description(&metadata), "text".to_string())
        } else {
            self.check(name)?;
            let dir = self.dir.as_ref().ok_or_else(|| format!("Component {name} not found"))?;
            let wasm = dir.join(&resolved);
            if !wasm.is_file() {
                return Err(format!("Component {name} not found"));
            }
            // The project `component:source` last built it from, else one beside it.
            let built = crate::setsource::work_dir(dir).join(resolved.trim_end_matches(".wasm"));
            let project = if reflow_build::language_of(&built).is_ok() { built } else { wasm.with_extension("") };
            match reflow_build::language_of(&project) {
                Ok(language) => {
                    let file = project.join(language.source);
                    let code = std::fs::read_to_string(&file).map_err(|e| format!("Component {name}: cannot read {}: {e}", language.source))?;
                    tests = std::fs::read_to_string(project.join(crate::setsource::TESTS_FILE)).ok();
                    (code, language.name.to_string())
                }
                Err(_) => {
                    let module = PluginCatalog::new(dir, self.limits).module(&resolved).map_err(|e| format!("Component {name}: {e}"))?;
                    let code = serde_json::to_string_pretty(module.metadata()).unwrap_or_default();
                    (code, "json".to_string())
                }
            }
        };
        // The protocol splits `library/name`; `doubler` has no library.
        let mut payload = match name.rsplit_once('/') {
            Some((library, short)) => json!({"name": short, "library": library}),
            None => json!({"name": name}),
        };
        payload["language"] = json!(language);
        payload["code"] = json!(code);
        if let Some(tests) = tests {
            payload["tests"] = json!(tests);
        }
        Ok(Reply::new("component", "source", payload))
    }

    /// One `component` message per component, then `componentsready` with their number. A
    /// plugin that cannot be loaded is reported as a `component:error` and left out.
    pub fn list(&self) -> Vec<Reply> {
        let mut replies: Vec<Reply> = builtins::all().iter().map(|m| component_message(&m.component, m)).collect();
        if let Some(dir) = &self.dir {
            // Compiled afresh each time, so an edited plugin is seen on the next list.
            let catalog = PluginCatalog::new(dir, self.limits);
            for (name, path) in self.plugins() {
                match catalog.module(&path) {
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

/// What an editor shows as a built-in's source: it is native code, so its description.
fn builtin_description(metadata: &PluginMetadata) -> String {
    let mut text = format!("{}: {} (a built-in component of the Reflow runtime, native code)\n", metadata.component, metadata.description);
    for (title, ports) in [("inports", &metadata.inports), ("outports", &metadata.outports)] {
        text.push_str(&format!("\n{title}:\n"));
        if ports.is_empty() {
            text.push_str("  (none)\n");
        }
        for port in ports {
            text.push_str(&format!("  {} ({}): {}\n", port.name, fbp_port_type(&port.port_type), port.description));
        }
    }
    text
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

pub fn component_message(name: &str, metadata: &PluginMetadata) -> Reply {
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
