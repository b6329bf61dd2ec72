//! Networks that run: graphs of real plugins (built by `cargo xtask build-plugins`).

// The graph loader for built plugins, the collecting observer.
pub(crate) mod support;

// Multi-stage WASM pipelines, fan-out and fan-in, Go and Rust plugins in one graph.
mod pipelines;
// A looping plugin does not hold up a healthy pipeline, even on one worker.
mod long_calls;
// A failing actor is reported by name and the others finish their work.
mod failures;
// Waiting messages cross into a plugin together, with the results of one call per message.
mod batches;
// 10,000 live WASM actors in one graph.
mod wasm_scale;
