//! The object-storage benchmark's Strata side (bench/cloud_bench.py runs it beside xarray +
//! zarr-python on the same bucket): opens a Zarr store by URL and runs one workload on its
//! variable `sst(time, lat, lon)`. Prints one JSON line.
//!
//!     cloud_bench URL WORKLOAD [REPEATS [VARIABLE]]
//!
//! WORKLOAD is `mean` (the global mean: every chunk once), `point` (the series at one grid
//! point: a sliver of every chunk) or `nino34` (climatology by month, anomalies, the Niño 3.4
//! box mean). The store is reached as the `AWS_*` variables say. The first open is timed on
//! its own; each repeat opens the store again and computes. VARIABLE is `sst` unless given;
//! URL may be a reference set (`reference://s3://bucket/refs.json`).

use std::time::Instant;
use strata::prelude::*;

mod common;

fn workload(url: &str, name: &str, variable: &str) -> Result<Vec<f64>, StrataError> {
    let sst = open_zarr(url)?.var(variable)?;
    let result = match name {
        "mean" => sst.mean(["time", "lat", "lon"])?,
        "point" => {
            let shape = sst.shape();
            let (ny, nx) = (shape[1], shape[2]);
            sst.isel([("lat", Sel::Index(ny / 2)), ("lon", Sel::Index(nx / 2))])?
        }
        "nino34" => {
            let gb = sst.groupby("time.month")?;
            let anom = gb.sub(&gb.mean("time")?)?;
            anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?
        }
        other => return Err(StrataError::Plan { reason: format!("unknown workload {other:?}") }),
    };
    Ok(result.values()?.iter().copied().collect())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cloud_bench URL mean|point|nino34 [REPEATS]");
        std::process::exit(2);
    };
    let repeats = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let variable = args.get(3).map_or("sst", String::as_str);
    let fail = |e: StrataError| -> ! {
        eprintln!("cloud_bench: {e}");
        std::process::exit(1)
    };
    let started = Instant::now();
    open_zarr(url).unwrap_or_else(|e| fail(e));
    let open = started.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut values = Vec::new();
    for _ in 0..repeats {
        let started = Instant::now();
        values = workload(url, name, variable).unwrap_or_else(|e| fail(e));
        times.push(started.elapsed().as_secs_f64());
    }
    let checksum: f64 = values.iter().filter(|v| v.is_finite()).sum();
    println!(
        "{}",
        serde_json::json!({
            "open_seconds": open, "seconds": times.iter().cloned().fold(f64::INFINITY, f64::min), "all": times,
            "n": values.len(), "checksum": checksum, "peak_rss_mib": common::peak_rss_mib(),
        })
    );
}
