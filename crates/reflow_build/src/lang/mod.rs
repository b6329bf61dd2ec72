//! The languages a plugin project can be written in: what `reflow new` writes for each, how
//! `reflow build` recognizes and builds it. One [`Language`] value per language in
//! [`LANGUAGES`]; adding a language is adding a module and a row.

pub mod assemblyscript;
mod c;
pub mod go;
mod rust;
mod zig;

use crate::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};

/// One language's row of the table.
pub struct Language {
    /// As `reflow new --lang` spells it.
    pub name: &'static str,
    /// A file whose presence in a folder makes it a project of this language.
    pub marker: &'static str,
    /// The file holding the component's code in a project `reflow new` wrote (what an FBP
    /// editor is shown by `component:getsource`).
    pub source: &'static str,
    /// The files of a new project, relative to its folder.
    pub files: fn(&NewOptions) -> Vec<(PathBuf, String)>,
    /// Builds the project in the folder and returns the `.wasm` path.
    pub build: fn(&Path, &BuildOptions) -> Result<PathBuf, BuildError>,
}

/// Every language, in the order `reflow build` tries their markers.
pub const LANGUAGES: &[Language] = &[rust::LANGUAGE, go::LANGUAGE, assemblyscript::LANGUAGE, c::LANGUAGE, zig::LANGUAGE];

/// What `reflow new` was asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The project's name: its folder, package and plugin file name.
    pub name: String,
    /// A local checkout of this repository to take the SDK from, instead of its registry
    /// (crates.io for Rust, the Go module proxy for Go). AssemblyScript, C and Zig projects
    /// carry a copy of their SDK, the one this `reflow` was built with, and do not use it.
    pub sdk_path: Option<PathBuf>,
}

impl NewOptions {
    /// The component name plugins report: `word-count` is `WordCount`.
    pub fn component(&self) -> String {
        self.name
            .split(['-', '_'])
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
            })
            .collect()
    }

    /// The plugin file `reflow build` writes at the project's top: `word_count.wasm`.
    pub fn wasm_file(&self) -> String {
        format!("{}.wasm", self.name.replace('-', "_"))
    }
}

pub fn find_language(name: &str) -> Result<&'static Language, BuildError> {
    LANGUAGES.iter().find(|l| l.name == name).ok_or_else(|| BuildError::UnknownLanguage {
        name: name.to_string(),
        known: LANGUAGES.iter().map(|l| l.name).collect::<Vec<_>>().join(", "),
    })
}

/// The language of the project in `dir`, by its marker file.
pub fn language_of(dir: &Path) -> Result<&'static Language, BuildError> {
    LANGUAGES.iter().find(|l| dir.join(l.marker).is_file()).ok_or_else(|| BuildError::NotAProject {
        dir: dir.to_path_buf(),
        markers: LANGUAGES.iter().map(|l| l.marker).collect::<Vec<_>>().join(" or "),
    })
}

/// A name usable as a folder, a Cargo package, a Go module path element and a `.fbp`
/// component name: ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn check_name(name: &str) -> Result<(), BuildError> {
    let bad = |reason: &str| Err(BuildError::BadName { name: name.to_string(), reason: reason.to_string() });
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("it must start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return bad("use letters, digits, - and _");
    }
    Ok(())
}

/// Writes a new project of `language` into `dir` (which must not exist yet).
pub fn create(dir: &Path, language: &Language, options: &NewOptions) -> Result<Vec<PathBuf>, BuildError> {
    check_name(&options.name)?;
    if dir.exists() {
        return Err(BuildError::Exists { path: dir.to_path_buf() });
    }
    let mut written = Vec::new();
    for (relative, text) in (language.files)(options) {
        let path = dir.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(BuildError::io(parent))?;
        }
        std::fs::write(&path, text).map_err(BuildError::io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// The graph every new project carries: 21 through the plugin, printed. Written in `.fbp`,
/// where the component `NAME` is the plugin `NAME.wasm` beside the graph.
fn graph(options: &NewOptions) -> String {
    format!(
        "# @name {name}-demo\n\
         # 21 through the plugin, printed: reflow run graph.fbp\n\
         21 -> INPUT Plugin({component}) OUTPUT -> IN Show(core/Output)\n",
        name = options.name,
        component = options.wasm_file().trim_end_matches(".wasm"),
    )
}

/// The README's three commands (and the graph), the same for every language.
fn readme(options: &NewOptions, language: &str, source: &str) -> String {
    let wasm = options.wasm_file();
    format!(
        "# {name}\n\n\
         A Reflow plugin in {language}: it doubles each Integer on `input` and sends it on `output`.\n\
         The code is in `{source}`.\n\n\
         ```sh\n\
         reflow build                                   # compiles it to {wasm}\n\
         reflow inspect {wasm}                  # its ports, as JSON\n\
         reflow call {wasm} --payload '{{\"input\": 21}}'   # one call: output 42\n\
         ```\n\n\
         `graph.fbp` runs it in a graph: `reflow run graph.fbp` prints 42.\n",
        name = options.name,
    )
}

/// Copies the built module to the project's top as [`NewOptions::wasm_file`] would name it,
/// so that graphs beside it find it whatever the toolchain's output folder.
fn place(built: &Path, dir: &Path, file: &str) -> Result<PathBuf, BuildError> {
    let to = dir.join(file);
    std::fs::copy(built, &to).map_err(BuildError::io(&to))?;
    Ok(to)
}

/// Where a language without its own output naming puts the module: `FOLDER.wasm` (with `_`
/// for `-`) in the project's folder, as [`NewOptions::wasm_file`] names it.
fn project_wasm(dir: &Path) -> PathBuf {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().replace('-', "_")))
        .unwrap_or_else(|| "plugin".into());
    dir.join(format!("{name}.wasm"))
}

/// The files of `dir` ending in `.EXTENSION`, sorted (none when `dir` does not exist).
fn files_in(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, BuildError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(BuildError::io(dir))?.path();
        if path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
