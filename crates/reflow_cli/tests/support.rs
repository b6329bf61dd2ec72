//! Running the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn plugin(name: &str) -> String {
    let path = root().join("target/plugins").join(name);
    assert!(path.exists(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path.display().to_string()
}

pub fn reflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reflow"))
        .args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .output()
        .expect("the reflow binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json_stdout(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}
