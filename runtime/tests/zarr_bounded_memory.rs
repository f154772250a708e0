//! Writing a Zarr store eight times the memory budget, then computing over it, both stream:
//! the process's peak memory grows by less than the budget. Its own test binary, so no other
//! test's allocations blur the peak.

use strata::prelude::*;

const BUDGET: u64 = 64 << 20;

mod common;
use common::peak_rss_bytes;

#[test]
fn a_store_eight_times_the_budget_is_written_and_reduced_within_it() {
    // Removed when the test ends, failed or not: the store is 512 MiB.
    let dir = tempfile::Builder::new().prefix("strata-zarr-bounded-").tempdir().unwrap();
    let path = dir.path().join("big.zarr");
    // One thread, so that the peak measures what the scheduler keeps alive. On two, each pool
    // thread's allocator arena keeps the chunks it freed, and the peak depends on which thread
    // happened to run which task: 65-78 MiB in a debug build, 46 MiB in release.
    let budget = ComputeOptions { budget: Some(BUDGET), observer: None, ..Default::default() }.threads(1);
    // 8000 x 8000 f64 = 512 MiB, uncompressible (uniform random), written chunk by chunk.
    let x = RandomState::new(11).uniform(-1.0, 1.0, &[8_000, 8_000], &[1_000, 1_000]);
    let expected = x.mean(..).compute_with(&budget).unwrap();
    let expected = *expected.iter().next().unwrap();
    let before = peak_rss_bytes();

    let options = ToZarr { compute: budget.clone(), ..ToZarr::v2() };
    x.to_zarr_with(&path, &options).unwrap();
    let after_write = peak_rss_bytes().saturating_sub(before);
    println!("writing 512 MiB grew the peak RSS by {} MiB (budget 64 MiB)", after_write >> 20);
    assert!(after_write < BUDGET, "writing grew peak memory by {after_write} bytes");

    let stored: ChunkedArray<f64> = from_zarr(&path).unwrap();
    let mean = stored.mean(..).compute_with(&budget).unwrap();
    let mean = *mean.iter().next().unwrap();
    assert!((mean - expected).abs() < 1e-12, "mean read back {mean}, computed {expected}");
    let grown = peak_rss_bytes().saturating_sub(before);
    println!("reading it back grew the peak RSS by {} MiB in all", grown >> 20);
    assert!(grown < BUDGET, "peak memory grew by {grown} bytes, over the {BUDGET}-byte budget");
}
