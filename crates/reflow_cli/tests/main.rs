//! End-to-end tests of the `reflow` binary: what a user types, what they see, the exit code.
//! Plugins come from `cargo xtask build-plugins`.

mod support;

// `reflow inspect` and `reflow call` on the example plugins, and their errors.
mod call;
// `reflow run` and `reflow validate` on graph files.
mod run;
// `reflow new` + `reflow build` + `reflow call` in an empty folder, per language.
mod new_build;
// Every graph of examples/graphs with its expected output.
mod examples;
// `.fbp` graphs: running one, `reflow convert` both ways, syntax errors.
mod convert;
// Graph files over the built plugins, and what `reflow run` and `reflow state export` print,
// for the two state topics below.
mod graphs;
// `reflow run --state-dir`, the default state directory, `reflow state show|export|import|clear`.
mod state;
// SIGKILL in the middle of a run, restart, and the guarantee of docs/state.md.
mod crash;
// The same at seeded random moments of a graph with a pipeline, a loop and a file sink.
mod chaos;
// `reflow run --inspect` in headless Chromium (puppeteer-core), screenshots in target/inspector.
mod inspect;
// `reflow run --record`, `reflow trace show|export`, `reflow replay`, damaged recordings.
mod replay;
// `reflow worker`, `reflow run --nats`, `reflow cluster status` on a real nats-server:
// three workers, a SIGKILLed worker's part taken over, bad input.
mod cluster;
// `reflow run --watch`: a plugin file replaced on disk mid-stream, swapped between calls.
mod watch;
