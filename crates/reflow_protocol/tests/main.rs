//! Integration tests of reflow_protocol: one binary, one module per topic. Every test talks
//! to a real server over a WebSocket on 127.0.0.1 (or to the [`Runtime`] in-process where the
//! test needs the graph back), and every message the runtime sends is checked against the
//! protocol's own JSON schemas from the pinned `fbp-protocol` npm package
//! (`tests/fbp-protocol`; `cargo xtask test` installs it).
//!
//! [`Runtime`]: reflow_protocol::Runtime

// Server, client and the schema check every received message goes through.
mod support;

// The schema check itself: it must reject what the schemas reject (fbp-test's does not).
mod schema;

// graph:* edits, their replies, and the graph they leave (runs as `reflow run` runs it).
mod graph;

// network:* over WASM actors: start, data events, output, stop (also of endless networks).
mod network;

// Bad input: unknown graph or node, bad secret, malformed frames; the server stays up.
mod errors;

// component:list: built-ins and the plugins of the components folder.
mod components;

// component:source (setsource): code built into a plugin, swapped into a running graph;
// compiler errors, refusals, hostile names, two setsources at once.
mod setsource;

// trace:* : network events recorded and dumped as a flowtrace.
mod trace;

// Who may connect and what a client may ask for: Origin, Host, the secret, frame sizes,
// the operator's sandbox policy, plugin and file paths, one client not blocking another.
mod access;
