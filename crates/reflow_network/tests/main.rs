//! Integration tests of reflow_network: one binary, one module per topic. Test data lives in
//! `tests/data/` (our own files); the shared real-world FBP graphs are read in place.
//!
//! Topic modules are folders (`tests/graph/mod.rs`), not `tests/*.rs` files, which cargo
//! would also build as test binaries of their own.

// Graph files: the FBP JSON loader and writer, validation, the shared fixtures, fuzzing.
mod graph;
// Hostile plugins in graphs: limits, grants, supervision, error ports and dead letters.
mod sandbox;
// Running networks: WASM pipelines, fan-out/fan-in, ordering, back-pressure, failures.
mod run;
// Durable actor state: restore on start, commit before release, redelivery, limits.
mod state;
// Part of a graph per run, bridges for the edges to the rest (what a cluster worker runs).
mod part;

// The scheduler itself (shapes and sizes, cycles, back-pressure bounds, order, edge
// observation, halting) is tested inside the crate (`src/scheduler/tests/`), where its
// internals are visible.

// Recording a run, replaying an actor on the same or a new plugin, hot reload mid-stream.
mod replay;
