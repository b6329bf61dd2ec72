//! Timing helpers: medians over rounds, so one descheduled round does not skew a figure.

use std::time::{Duration, Instant};

/// Median nanoseconds per call of `f`, over `rounds` rounds of enough calls to last ~`round`.
pub fn ns_per_call(mut f: impl FnMut(), round: Duration, rounds: usize) -> f64 {
    // Warm up, and size a round.
    let start = Instant::now();
    let mut calibrate = 0u64;
    while start.elapsed() < round / 4 || calibrate < 3 {
        f();
        calibrate += 1;
    }
    let per_round = ((calibrate as f64) * 4.0).max(3.0) as u64;
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            t.elapsed().as_nanos() as f64 / per_round as f64
        })
        .collect();
    median(&mut samples)
}

pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[samples.len() / 2]
}

/// Median of `rounds` runs of `f`, which returns a measured value.
pub fn median_of(rounds: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut samples: Vec<f64> = (0..rounds).map(|_| f()).collect();
    median(&mut samples)
}
