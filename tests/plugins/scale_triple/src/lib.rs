//! Multiplies by three (see ../scale/scale.rs): the version hot-swapped for scale_double.

const FACTOR: i64 = 3;
include!("../../scale/scale.rs");
