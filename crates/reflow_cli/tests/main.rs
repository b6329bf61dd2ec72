//! End-to-end tests of the `reflow` binary, run as a child process as a user would run it.
//!
//! Topic modules are folders (`tests/state/mod.rs`), not `tests/*.rs` files, which cargo
//! would also build as test binaries of their own.

// Helpers: the binary, graph files over the built plugins, parsing what `reflow run` prints.
mod support;
// `reflow run --state-dir`, the default state directory, `reflow state show|export|import|clear`.
mod state;
// SIGKILL in the middle of a run, restart, and the guarantee of docs/state.md.
mod crash;
