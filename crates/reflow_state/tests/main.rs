//! Integration tests of reflow_state: one binary, one module per topic.
//!
//! Topic modules are folders (`tests/store/mod.rs`), not `tests/*.rs` files, which cargo
//! would also build as test binaries of their own.

// The StateStore contract: one suite, run against every backend.
mod store;
// What only the database backend does: survive reopening, refuse damaged or foreign files.
mod db;
// What only the JetStream KV backend does: connect errors, restarts, foreign buckets.
mod nats;
// The export format: parse errors and round trips.
mod snapshot;
