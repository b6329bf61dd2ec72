//! End-to-end tests of the `reflow` binary: what a user types, what they see, the exit code.
//! Plugins come from `cargo xtask build-plugins`.

mod support;

// `reflow inspect` and `reflow call` on the example plugins, and their errors.
mod call;
// `reflow run` and `reflow validate` on graph files.
mod run;
