//! Integration tests of the host engine, run against real plugins built by
//! `cargo xtask build-plugins` (the README's test command builds them first).

mod support;

/// The specification's Rust samples (doubler, counter), also built for wasm32-wasip1.
mod examples;
/// The Rust SDK crate itself (macros, wire format) through a plugin depending on it alone.
mod sdk;
/// `__get_state`, `__set_state`, `__send_output` and logging, through the state_probe plugin.
mod host_functions;
/// A plugin written for the original Reflow SDK (`host::`, `helpers`, `#[plugin_fn]`).
mod original_sdk;
/// Broken modules and misbehaving plugins give clear errors, never panics.
mod errors;
/// The Go SDK's plugins (examples/go) through the host.
mod go_plugins;
/// Hostile plugins against the sandbox: limits, grants, bad host calls, isolation.
mod sandbox;
/// Hand-written hostile modules (wasm text) against both backends, one per attack.
mod hostile;
/// Generated hostile modules (proptest) on both backends: no panic, no crash, no hang.
mod fuzz;
/// Every SDK's conformance plugin against the cases of tests/conformance, on both backends.
mod conformance;
/// The wasmtime backend against the `extism` crate on every plugin, and byte-exact echoes.
mod differential;
/// 10,000 live instances of one plugin, and restarts that reuse instance slots.
mod scale;
