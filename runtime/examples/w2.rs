//! Benchmark workload W2: the Pangeo workshop's Niño 3.4 pipeline on a monthly SST store
//! written by xarray (climatology by month, anomalies, the box mean, a 3-month rolling mean),
//! timed on this runtime. Prints one JSON line; run by bench/array_bench.py beside xarray +
//! dask on the same store.
//!
//!     w2 STORE [REPEATS] [--unoptimized]

use std::time::Instant;
use strata::prelude::*;

mod common;

fn nino34(store: &str, options: &ComputeOptions) -> Result<Vec<f64>, StrataError> {
    let ds = open_zarr(store)?;
    let sst = ds.var("sst")?;
    let gb = sst.groupby("time.month")?;
    let clim = gb.mean("time")?;
    let anom = gb.sub(&clim)?;
    let index = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?.rolling("time", 3).mean()?;
    Ok(index.data().compute_with(options)?.iter().copied().collect())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(store) = args.first() else {
        eprintln!("usage: w2 STORE [REPEATS] [--unoptimized]");
        std::process::exit(2);
    };
    let repeats = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let options = ComputeOptions { unoptimized: args.iter().any(|a| a == "--unoptimized"), ..Default::default() };
    let mut times = Vec::new();
    let mut values = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        values = nino34(store, &options).unwrap_or_else(|e| {
            eprintln!("w2: {e}");
            std::process::exit(1)
        });
        times.push(started.elapsed().as_secs_f64());
    }
    let peak_mib = common::peak_rss_mib();
    let json_values: Vec<String> = values.iter().map(|v| if v.is_nan() { "null".into() } else { format!("{v}") }).collect();
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{{\"workload\": \"W2\", \"seconds\": {:.4}, \"all\": {times:?}, \"peak_rss_mib\": {peak_mib}, \"values\": [{}]}}",
        sorted[0],
        json_values.join(", ")
    );
}
