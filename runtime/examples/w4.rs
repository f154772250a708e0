//! Benchmark workload W4: the mean of a NetCDF-4 ocean-colour L3 grid (2160 x 4320 float32,
//! deflated with shuffle in 64 x 64 chunks, a fill value over land), opened as xarray opens
//! it (`open_dataset(FILE)?.var(VAR)?.mean(..)`). Prints one JSON line; run by
//! bench/array_bench.py beside xarray with its netCDF4 and h5netcdf engines.
//!
//!     w4 FILE VAR [REPEATS]

use std::time::Instant;
use strata::prelude::*;

mod common;

fn mean(path: &str, var: &str) -> Result<(Vec<usize>, f64), StrataError> {
    let v = strata::io::open_dataset(path)?.var(var)?;
    Ok((v.shape(), v.mean(..)?.item()?))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(var)) = (args.first(), args.get(1)) else {
        eprintln!("usage: w4 FILE VAR [REPEATS]");
        std::process::exit(2);
    };
    let repeats = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let (mut times, mut value, mut shape) = (Vec::new(), 0.0, Vec::new());
    for _ in 0..repeats {
        let started = Instant::now();
        match mean(path, var) {
            Ok((s, v)) => (shape, value) = (s, v),
            Err(e) => {
                eprintln!("w4: {e}");
                std::process::exit(1);
            }
        }
        times.push(started.elapsed().as_secs_f64());
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!("{}", serde_json::json!({ "seconds": best, "all": times, "value": value, "shape": shape, "peak_rss_mib": common::peak_rss_mib() }));
}
