//! `component:source` (setsource): an editor's code built into a plugin of the components
//! folder. Building runs a compiler, and for Rust the build scripts of every crate the code
//! depends on, with the server's authority, so it happens only when the operator started
//! `reflow serve --allow-build`; otherwise the message is refused with the reason.
//!
//! The code of component `lib/name` goes into a project of its own, `reflow new`'s template
//! for the language with the editor's file in place of the template's, in the runtime's work
//! folder `DIR/.reflow/build/lib/name/` (hidden, so never listed as components). It is built
//! by [`reflow_build`], as `reflow build` would, with the compiler's output captured and a
//! time limit. A module that builds and loads replaces `DIR/lib/name.wasm` in one rename (a
//! network starting meanwhile reads the old file or the new one, never half of one); a
//! failure changes nothing in the folder and comes back with the compiler's own message
//! (file, line and column).
//!
//! Builds are one at a time: two setsources of one component end as the later one, each
//! answered with its own result; cargo would serialise builds sharing a target folder anyway,
//! and the machine's cores are better spent on one build than split between two.

use crate::runtime::lock;
use reflow_abi::PluginMetadata;
use reflow_build::{BuildError, BuildOptions, Language, NewOptions};
use reflow_network::{builtins, Limits, PluginCatalog};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The languages setsource builds (those whose route through it is tested).
pub const LANGUAGES: &[&str] = &["rust", "go"];

/// The file beside a project's source holding its fbp-spec tests (`component:source`'s
/// `tests`, given back by `getsource`).
pub const TESTS_FILE: &str = "fbp-spec.yaml";

/// The most of a compiler's output an error message carries.
const MAX_DIAGNOSTICS: usize = 32 * 1024;

/// What the operator allowed builds to use (`reflow serve --allow-build`).
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// Where a project takes its SDK from (`reflow_wasm`, the Go SDK): a checkout of this
    /// repository; `None`: crates.io and the Go module proxy, as `reflow new` does.
    pub sdk_path: Option<PathBuf>,
    /// Rust's target folder, shared by every build; `None`: `DIR/.reflow/build/target`.
    pub target_dir: Option<PathBuf>,
    /// The longest one build may run; the compiler is then stopped.
    pub timeout: Duration,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig { sdk_path: None, target_dir: None, timeout: Duration::from_secs(600) }
    }
}

/// The runtime's work folder for builds, inside the components folder.
pub fn work_dir(components: &Path) -> PathBuf {
    components.join(".reflow").join("build")
}

/// A plugin setsource built and put in place.
pub struct Built {
    /// Its FBP name (`lib/name`).
    pub name: String,
    /// The plugin file in the components folder.
    pub path: PathBuf,
    /// Its bytes, for the running actors that swap to it.
    pub module: Vec<u8>,
    pub metadata: PluginMetadata,
}

pub struct Builder {
    components: PathBuf,
    config: BuildConfig,
    limits: Limits,
    /// Held for a whole build (see the module docs).
    building: Mutex<()>,
}

impl Builder {
    pub fn new(components: PathBuf, config: BuildConfig, limits: Limits) -> Builder {
        Builder { components, config, limits, building: Mutex::default() }
    }

    /// Builds the `code` of a `component:source` payload and installs it; the reason, for the
    /// editor to show, when it cannot.
    pub fn set_source(&self, payload: &Value) -> Result<Built, String> {
        let name = component_name(payload)?;
        let language = crate::messages::string(payload, "language")?;
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(format!("Component {name}: language {language:?} cannot be built here (setsource builds {})", LANGUAGES.join(", ")));
        }
        let language = reflow_build::find_language(&language).map_err(|e| format!("Component {name}: {e}"))?;
        let code = crate::messages::string(payload, "code")?;
        let tests = payload.get("tests").and_then(Value::as_str);

        let _one_at_a_time = lock(&self.building);
        let work = work_dir(&self.components);
        let project = work.join(&name);
        let before = self.prepare(&project, &name, language, &code, tests)?;
        let built = self.build(&project, &name, &work);
        if built.is_err() {
            // The project keeps the code it was last built from (what getsource shows).
            before.restore(&project);
        }
        built
    }

    fn build(&self, project: &Path, name: &str, work: &Path) -> Result<Built, String> {
        let name = name.to_string();
        let options = BuildOptions {
            release: true,
            wasm_opt: false,
            capture: true,
            timeout: Some(self.config.timeout),
            target_dir: Some(self.config.target_dir.clone().unwrap_or_else(|| work.join("target"))),
        };
        let built = reflow_build::build(project, &options).map_err(|e| build_error(&name, &e))?;
        let module = std::fs::read(&built).map_err(|e| format!("Component {name}: cannot read the built {}: {e}", built.display()))?;
        // Loaded before it is put in place: what cannot run as a plugin never replaces one.
        let file = built.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let metadata = PluginCatalog::new(project, self.limits)
            .module(&file)
            .map_err(|e| format!("Component {name}: it builds, but is not a usable plugin: {e}"))?
            .metadata()
            .clone();
        let path = self.components.join(format!("{name}.wasm"));
        install(&path, &module).map_err(|e| format!("Component {name}: cannot write {}: {e}", path.display()))?;
        Ok(Built { name, path, module, metadata })
    }

    /// The project for `name` in `language` at `project`, holding `code` (and `tests`); what
    /// it held before, to put back if the build fails.
    fn prepare(&self, project: &Path, name: &str, language: &'static Language, code: &str, tests: Option<&str>) -> Result<Before, String> {
        let io = |what: &Path, e: std::io::Error| format!("Component {name}: {}: {e}", what.display());
        let same_language = reflow_build::language_of(project).is_ok_and(|l| l.name == language.name);
        if project.exists() && !same_language {
            std::fs::remove_dir_all(project).map_err(|e| io(project, e))?;
        }
        let source = project.join(language.source);
        let tests_file = project.join(TESTS_FILE);
        let before = if project.exists() {
            Before::Files(vec![(source.clone(), std::fs::read(&source).ok()), (tests_file.clone(), std::fs::read(&tests_file).ok())])
        } else {
            // The package is named after the last part (`lib/name` is `name`); builds are one
            // at a time, so two libraries' `name`s never meet in the shared target folder.
            let short = name.rsplit('/').next().unwrap_or(name);
            let options = NewOptions { name: short.to_string(), sdk_path: self.config.sdk_path.clone() };
            reflow_build::create(project, language, &options).map_err(|e| format!("Component {name}: {e}"))?;
            add_dependencies(project, language).map_err(|e| io(project, e))?;
            Before::Nothing
        };
        std::fs::write(&source, code).map_err(|e| io(&source, e))?;
        match tests {
            Some(tests) => std::fs::write(&tests_file, tests).map_err(|e| io(&tests_file, e))?,
            None => match std::fs::remove_file(&tests_file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tests_file, e)),
                _ => {}
            },
        }
        Ok(before)
    }
}

/// A project's files before a build.
enum Before {
    /// It did not exist.
    Nothing,
    /// These files held this (`None`: they did not exist).
    Files(Vec<(PathBuf, Option<Vec<u8>>)>),
}

impl Before {
    /// Puts it back (best effort: a failure is logged; the plugin in use is untouched anyway).
    fn restore(self, project: &Path) {
        let result = match self {
            Before::Nothing => std::fs::remove_dir_all(project),
            Before::Files(files) => files.into_iter().try_for_each(|(path, bytes)| match bytes {
                Some(bytes) => std::fs::write(&path, bytes),
                None => std::fs::remove_file(&path).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }),
            }),
        };
        if let Err(e) = result {
            tracing::warn!("{}: cannot restore the project after a failed build: {e}", project.display());
        }
    }
}

/// The crates an editor's Rust code may use besides `reflow_wasm`: it sends one file, so it
/// cannot add any. `serde_json` is what a plugin's state is (`ActorResult.state`); the SDK
/// depends on it already, so it costs the build nothing.
const RUST_DEPENDENCIES: &str = "serde_json = \"1\"\n";

fn add_dependencies(project: &Path, language: &Language) -> std::io::Result<()> {
    if language.name != "rust" {
        return Ok(());
    }
    let manifest = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)?;
    std::fs::write(&manifest, text.replacen("[dependencies]\n", &format!("[dependencies]\n{RUST_DEPENDENCIES}"), 1))
}

/// The FBP name a payload gives (`library/name`, or `name`), if every part of it is a plain
/// name: it becomes a path in the components folder, so `../x` and the like are refused, as
/// is a built-in's name (the built-in would win).
fn component_name(payload: &Value) -> Result<String, String> {
    let short = crate::messages::string(payload, "name")?;
    let name = match payload.get("library").and_then(Value::as_str) {
        Some(library) if !library.is_empty() => format!("{library}/{short}"),
        _ => short,
    };
    if name.split('/').count() > 2 {
        return Err(format!("Component name {name:?} refused: setsource names are `name` or `library/name`"));
    }
    for part in name.split('/') {
        reflow_build::lang::check_name(part).map_err(|e| format!("Component name {name:?} refused: {e}; setsource names are `name` or `library/name`"))?;
    }
    if builtins::metadata(&name).is_some() {
        return Err(format!("Component {name} is a built-in of this runtime; give the plugin another name"));
    }
    Ok(name)
}

/// `bytes` at `path` in one rename, from a hidden file beside it (never listed).
fn install(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let part = dir.join(format!(".{file}.part"));
    std::fs::write(&part, bytes)?;
    std::fs::rename(&part, path)
}

/// A build failure as an editor shows it: the compiler's diagnostics, which name the file,
/// line and column (`--> src/lib.rs:7:5`).
fn build_error(name: &str, error: &BuildError) -> String {
    match error {
        BuildError::Failed { output, .. } if !output.trim().is_empty() => {
            format!("Component {name}: the build failed:\n{}", diagnostics(output))
        }
        BuildError::TimedOut { limit, .. } => {
            format!("Component {name}: the build took longer than {limit:?} and was stopped (reflow serve --build-timeout-secs sets the limit)")
        }
        other => format!("Component {name}: {other}"),
    }
}

/// The compiler's messages without cargo's progress lines (`Compiling serde ...`), cut to
/// [`MAX_DIAGNOSTICS`].
fn diagnostics(output: &str) -> String {
    const PROGRESS: &[&str] = &["Compiling ", "Finished ", "Blocking ", "Updating ", "Locking ", "Adding ", "Downloading ", "Downloaded ", "Fresh "];
    let mut text: String = output
        .lines()
        .filter(|line| !PROGRESS.iter().any(|p| line.trim_start().starts_with(p)))
        .collect::<Vec<_>>()
        .join("\n");
    if text.len() > MAX_DIAGNOSTICS {
        let mut cut = MAX_DIAGNOSTICS;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n(cut)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_leave_the_folder_or_take_a_builtin_are_refused() {
        for payload in [
            json!({"name": "../x"}),
            json!({"name": "x", "library": ".."}),
            json!({"name": "a/../../x"}),
            json!({"name": "a/b/c"}),
            json!({"name": "/etc/x"}),
            json!({"name": ".hidden"}),
            json!({"name": "x.wasm"}),
            json!({"name": ""}),
            json!({"name": "Repeat", "library": "core"}),
        ] {
            assert!(component_name(&payload).is_err(), "{payload} was accepted");
        }
        assert_eq!(component_name(&json!({"name": "add", "library": "math"})).unwrap(), "math/add");
        assert_eq!(component_name(&json!({"name": "tripler"})).unwrap(), "tripler");
    }

    #[test]
    fn diagnostics_keep_the_compiler_and_drop_cargo_progress() {
        let output = "   Compiling serde v1.0.0\nerror[E0425]: cannot find value `x`\n --> src/lib.rs:3:5\n    Finished release";
        assert_eq!(diagnostics(output), "error[E0425]: cannot find value `x`\n --> src/lib.rs:3:5");
    }
}
