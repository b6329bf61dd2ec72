//! `reflow new`, `reflow build`, `reflow call` and `reflow run graph.fbp` in an empty folder
//! outside the repository, for each language, as the project's README tells a new user.
//! The SDK comes from this checkout (`--sdk-path`); Rust builds share the repository's wasm
//! target folder (CARGO_TARGET_DIR) so that Debian's toolchain route does not rebuild `std`,
//! and Zig builds the pinned Zig that xtask installed (REFLOW_TOOLS: the same venv).

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output};

fn reflow(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reflow"));
    cmd.args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env("CARGO_TARGET_DIR", root().join("target/wasm"))
        .env("REFLOW_TOOLS", root().join("target/tools"))
        .env_remove("RUST_LOG");
    cmd
}

fn reflow_in(dir: &Path, args: &[&str]) -> Output {
    let out = reflow(dir, args).output().unwrap();
    assert!(out.status.success(), "reflow {args:?} in {}:\n{}", dir.display(), stderr(&out));
    out
}

fn new_build_call_run(lang: &str, name: &str, wasm: &str) {
    let empty = tempfile::tempdir().unwrap();
    let sdk = root().canonicalize().unwrap();
    reflow_in(empty.path(), &["new", name, "--lang", lang, "--sdk-path", sdk.to_str().unwrap()]);
    let project = empty.path().join(name);
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    for command in ["reflow build", &format!("reflow inspect {wasm}"), &format!("reflow call {wasm}")] {
        assert!(readme.contains(command), "the README lists `{command}`:\n{readme}");
    }

    let built = reflow_in(&project, &["build"]);
    assert_eq!(stdout(&built).trim(), Path::new(".").join(wasm).display().to_string());
    assert!(project.join(wasm).is_file());

    let inspect = json_stdout(&reflow_in(&project, &["inspect", wasm]));
    assert_eq!(inspect["inports"][0]["name"], "input");
    let call = json_stdout(&reflow_in(&project, &["call", wasm, "--payload", r#"{"input": 21}"#]));
    assert_eq!(call["outputs"]["output"], serde_json::json!({"type": "Integer", "data": 42}));
    let run = reflow_in(&project, &["run", "--ephemeral", "graph.fbp"]);
    assert_eq!(stdout(&run), "42\n");
}

#[test]
fn a_new_rust_plugin_builds_and_runs() {
    new_build_call_run("rust", "my-plugin", "my_plugin.wasm");
}

#[test]
fn a_new_go_plugin_builds_runs_and_passes_its_own_test() {
    new_build_call_run("go", "go-plugin", "go_plugin.wasm");
    // (new_build_call_run's folder is gone; the Go test runs natively in a fresh one.)
    let empty = tempfile::tempdir().unwrap();
    let sdk = root().canonicalize().unwrap();
    reflow_in(empty.path(), &["new", "tested", "--lang", "go", "--sdk-path", sdk.to_str().unwrap()]);
    let go = if Command::new("go").arg("version").output().is_ok() { "go" } else { "/usr/local/go/bin/go" };
    let test = Command::new(go).args(["test", "./..."]).current_dir(empty.path().join("tested")).output().unwrap();
    assert!(test.status.success(), "go test: {}{}", stdout(&test), stderr(&test));
}

#[test]
fn a_new_assemblyscript_plugin_builds_and_runs() {
    new_build_call_run("assemblyscript", "as-plugin", "as_plugin.wasm");
}

#[test]
fn a_new_c_plugin_builds_and_runs() {
    new_build_call_run("c", "c-plugin", "c_plugin.wasm");
}

#[test]
fn a_new_zig_plugin_builds_and_runs() {
    new_build_call_run("zig", "zig-plugin", "zig_plugin.wasm");
}

/// With a PATH that has none of the tools (and an empty tools folder), each language's build
/// fails naming the tool it needs and how to get it, and writes no module. (Rust and Go are
/// also looked for at fixed paths, /usr/bin and /usr/local/go, so an empty PATH does not hide
/// them.)
#[test]
fn a_build_without_its_compiler_names_it() {
    let empty = tempfile::tempdir().unwrap();
    let no_tools = tempfile::tempdir().unwrap();
    for (lang, says) in [
        ("assemblyscript", "npm not found: cannot start it"),
        ("c", "clang for wasm32-wasi not found: clang is not installed. On Debian: apt-get install clang lld"),
        ("zig", "Zig 0.17.0 not found: cannot start python3 to install it"),
    ] {
        let name = format!("{lang}-bare");
        reflow_in(empty.path(), &["new", &name, "--lang", lang]);
        let project = empty.path().join(&name);
        let out = reflow(&project, &["build"])
            .env("PATH", no_tools.path())
            .env("REFLOW_TOOLS", no_tools.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{lang}: built without tools");
        assert!(stderr(&out).contains(says), "{lang}: {}", stderr(&out));
        assert!(!project.join(format!("{lang}_bare.wasm")).exists(), "{lang}");
    }
}

#[test]
fn build_names_what_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reflow")).arg("build").current_dir(empty.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a plugin project (no Cargo.toml or go.mod or assembly/index.ts or src/plugin.c or src/main.zig here)"), "{}", stderr(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(["new", "9lives"])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert!(stderr(&out).contains("\"9lives\" is not a usable project name (it must start with a letter)"), "{}", stderr(&out));
}

/// The build's other refusals: a project folder that exists already, a compiler that fails
/// (named with its command line, and no module left behind), a package.json that pins no
/// compiler, and one that is not JSON.
#[test]
fn new_and_build_refuse_clearly() {
    let empty = tempfile::tempdir().unwrap();
    reflow_in(empty.path(), &["new", "twice", "--lang", "c"]);
    let again = reflow(empty.path(), &["new", "twice", "--lang", "zig"]).output().unwrap();
    assert!(!again.status.success());
    assert!(stderr(&again).contains("twice: already exists"), "{}", stderr(&again));

    let project = empty.path().join("twice");
    std::fs::write(project.join("src/plugin.c"), "int broken(void) { return }\n").unwrap();
    let out = reflow(&project, &["build"]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("the build failed (exit status: 1)") && err.contains("plugin.c"), "{err}");
    assert!(!project.join("twice.wasm").exists());

    reflow_in(empty.path(), &["new", "unpinned", "--lang", "assemblyscript"]);
    let project = empty.path().join("unpinned");
    std::fs::write(project.join("package.json"), r#"{"name": "unpinned", "dependencies": {}}"#).unwrap();
    let out = reflow(&project, &["build"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("package.json: does not pin assemblyscript"), "{}", stderr(&out));
    std::fs::write(project.join("package.json"), "{ not json").unwrap();
    let out = reflow(&project, &["build"]).output().unwrap();
    assert!(stderr(&out).contains("package.json: key must be a string at line 1 column 3"), "{}", stderr(&out));
}
