//! Times the parts of W2 one by one (a profiling aid for bench/array_bench.py's W2).
//!
//!     w2_parts STORE

use std::time::Instant;
use strata::prelude::*;

fn main() -> Result<(), StrataError> {
    let store = std::env::args().nth(1).unwrap_or_else(|| "build/bench/sst_w3.zarr".into());
    let sst = open_zarr(&store)?.var("sst")?;
    let t = Instant::now();
    sst.mean(..)?.item()?;
    println!("global mean            {:.3} s", t.elapsed().as_secs_f64());
    let gb = sst.groupby("time.month")?;
    let t = Instant::now();
    let clim = gb.mean("time")?.compute()?;
    println!("climatology            {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let anom = gb.sub(&clim)?;
    anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?.values()?;
    println!("box mean of anomalies  {:.3} s", t.elapsed().as_secs_f64());
    Ok(())
}
