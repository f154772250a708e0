//! Benchmark workload W1, the Pangeo workshop's dask example, timed on this runtime:
//! `x = random((n, n), chunks c); (x + x.T - x.mean(axis=0)).sum()`, plus the physical limit
//! (a single-pass in-memory sum of the same number of bytes). Prints one JSON line; run by
//! bench/array_bench.py beside dask.

use std::time::Instant;
use strata::prelude::*;

mod common;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(10_000);
    let c = args.get(1).copied().unwrap_or(1_000);
    let repeats = args.get(2).copied().unwrap_or(3);
    let mut times = Vec::new();
    let mut value = 0.0;
    for _ in 0..repeats {
        let started = Instant::now();
        let x = RandomState::new(42).random(&[n, n], &[c, c]);
        let y = &x + &x.t() - x.mean(&[0]);
        value = y.sum(..).scalar().expect("W1 failed");
        times.push(started.elapsed().as_secs_f64());
    }
    let peak_mib = common::peak_rss_mib();
    // The limit: one pass over n*n f64 already in memory (after the peak above was read).
    let data = vec![0.5f64; n * n];
    let started = Instant::now();
    let total: f64 = std::hint::black_box(&data).iter().sum();
    let limit = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"workload\": \"W1\", \"n\": {n}, \"chunk\": {c}, \"seconds\": {:.4}, \"all\": {:?}, \"value\": {value}, \"inmem_sum_seconds\": {limit:.4}, \"inmem_sum_gbps\": {:.2}, \"check\": {total}, \"peak_rss_mib\": {peak_mib}}}",
        times[0],
        times,
        (n * n * 8) as f64 / limit / 1e9
    );
}
