//! Multiplies by two (see ../scale/scale.rs).

const FACTOR: i64 = 2;
include!("../../scale/scale.rs");
