//! Benchmark workload W3: the global mean of a monthly SST store (float32, NaN over land,
//! chunks of 12 months by the full grid) written by xarray, timed on this runtime. Prints one
//! JSON line; run by bench/array_bench.py beside xarray + dask, which writes the store.
//!
//!     w3 STORE/sst [REPEATS] [--labeled]
//!
//! `--labeled` reads through the labeled API as a notebook does
//! (`open_zarr(STORE)?.var("sst")?.mean(..)?.item()`: CF-decoded, dims by name) instead of
//! `from_zarr::<f32>(STORE/sst)?.nanmean(..)`.

use std::time::Instant;
use strata::prelude::*;

mod common;

/// The global mean through the array API, on the stored float32 values.
fn array_mean(path: &str) -> Result<(Vec<usize>, f64), StrataError> {
    let sst: ChunkedArray<f32> = from_zarr(path)?;
    Ok((sst.shape(), sst.nanmean(..).scalar()? as f64))
}

/// The global mean through the labeled API: the store's group, then the variable by name.
fn labeled_mean(path: &str) -> Result<(Vec<usize>, f64), StrataError> {
    let (store, name) = path.rsplit_once('/').unwrap_or((".", path));
    let sst = open_zarr(store)?.var(name)?;
    Ok((sst.shape(), sst.mean(..)?.item()?))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: w3 STORE/VARIABLE [REPEATS]");
        std::process::exit(2);
    };
    let repeats = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let labeled = args.iter().any(|a| a == "--labeled");
    let mut times = Vec::new();
    let mut value = 0.0f64;
    let mut shape = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        let result = if labeled { labeled_mean(path) } else { array_mean(path) };
        match result {
            Ok((s, v)) => (shape, value) = (s, v),
            Err(e) => {
                eprintln!("w3: {e}");
                std::process::exit(1);
            }
        }
        times.push(started.elapsed().as_secs_f64());
    }
    let peak_mib = common::peak_rss_mib();
    // The limit: one pass over the same number of f32 already in memory.
    let n: usize = shape.iter().product();
    let data = vec![0.5f32; n];
    let started = Instant::now();
    // Sixteen lanes, so the compiler may vectorise (a single running sum may not reorder).
    let lanes = std::hint::black_box(&data).chunks_exact(16).fold([0f32; 16], |mut acc, c| {
        acc.iter_mut().zip(c).for_each(|(a, v)| *a += v);
        acc
    });
    let total: f32 = lanes.iter().sum();
    let limit = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"workload\": \"W3\", \"shape\": {shape:?}, \"seconds\": {:.4}, \"all\": {times:?}, \"value\": {value}, \"inmem_sum_seconds\": {limit:.4}, \"inmem_sum_gbps\": {:.2}, \"check\": {total}, \"peak_rss_mib\": {peak_mib}}}",
        times[0],
        (n * 4) as f64 / limit / 1e9
    );
}
