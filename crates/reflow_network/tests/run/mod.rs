//! Networks that run: graphs of real plugins (built by `cargo xtask build-plugins`) and of
//! test components driven through the scheduler directly.

// Shared with the executor tests: the graph loader for built plugins, the collecting observer.
pub(crate) mod support;

// Multi-stage WASM pipelines, fan-out and fan-in, Go and Rust plugins in one graph.
mod pipelines;
// Order per connection, IIPs first, required inports.
mod scheduling;
// A failing actor is reported by name and the others finish their work.
mod failures;
