//! Graph files in, validated model out.

// The FBP JSON loader on our own graphs in `tests/data/graphs`: details, errors, round trips.
mod json;
// The .fbp reader against npm fbp 1.8.0 on `tests/data/fbp` and the shared fixtures; writing .fbp.
mod fbp;
// Validation: each `tests/data/validate/*.json` beside the `.expected` lines it must produce.
mod validate;
// The real-world graphs of `../shared/fixtures/fbp-graphs` and their facts (skipped if absent).
mod fixtures;
// Arbitrary bytes and JSON never panic the loader; whatever loads round-trips.
mod fuzz;
