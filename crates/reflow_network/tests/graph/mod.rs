//! Graph files in, validated model out.

// The FBP JSON loader on our own graphs in `tests/data/graphs`: details, errors, round trips.
mod json;
// Validation: each `tests/data/validate/*.json` beside the `.expected` lines it must produce.
mod validate;
// The real-world graphs of `../shared/fixtures/fbp-graphs` and their facts (skipped if absent).
mod fixtures;
// Arbitrary bytes and JSON never panic the loader; whatever loads round-trips.
mod fuzz;
