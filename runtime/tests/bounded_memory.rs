//! A computation over an array several times larger than the memory budget completes, with
//! the process's peak memory under the budget (plus what the process held before). Its own
//! test binary, so no other test's allocations blur the peak.

use strata::prelude::*;

mod common;
use common::peak_rss_bytes;

#[test]
fn streams_an_array_eight_times_the_budget() {
    const BUDGET: u64 = 64 << 20;
    let before = peak_rss_bytes();
    // 8000 x 8000 f64 = 512 MiB, never held at once.
    let x = RandomState::new(3).random(&[8_000, 8_000], &[1_000, 1_000]);
    let y = &(&x * 2.0) - 1.0;
    let options = ComputeOptions { budget: Some(BUDGET), observer: None, ..Default::default() };
    let mean = y.mean(..).compute_with(&options).unwrap();
    let mean = *mean.iter().next().unwrap();
    assert!(mean.abs() < 0.01, "mean of uniform(-1, 1) should be near 0, got {mean}");
    let peak = peak_rss_bytes();
    let grown = peak.saturating_sub(before);
    println!("peak RSS grew by {} MiB for a 512 MiB array with a 64 MiB budget", grown >> 20);
    assert!(grown < BUDGET, "peak memory grew by {grown} bytes, over the {BUDGET}-byte budget");

    // Holding the whole result is refused up front, with the size it would need.
    match y.compute_with(&options) {
        Err(StrataError::OverBudget { needed, budget, .. }) => {
            assert_eq!(needed, 8_000 * 8_000 * 8);
            assert_eq!(budget, BUDGET);
        }
        other => panic!("expected OverBudget, got {other:?}"),
    }
}
