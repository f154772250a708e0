//! The map benchmark's Strata side (bench/map_bench.py runs it beside cartopy + matplotlib):
//! a 0.5-degree global field (720 x 360) drawn as filled contours on non-uniform levels with
//! a centred norm, coastlines, a colorbar and the Robinson projection, encoded as PNG.
//! Prints the best of `--repeat` runs as JSON; `--out FILE` keeps the image.

use std::time::Instant;

use ndarray::Array2;
use strata::prelude::*;
use strata_display::plot::{Norm, Plot, Projection};

/// The field both sides draw (bench/map_bench.py computes the same formula).
fn field(lat: f64, lon: f64) -> f64 {
    let (phi, lam) = (lat.to_radians(), lon.to_radians());
    180.0 + 150.0 * (2.0 * phi).sin() * lam.cos() + 20.0 * (3.0 * lam).cos()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let repeat: usize = arg("--repeat").and_then(|r| r.parse().ok()).unwrap_or(3);
    let lats: Vec<f64> = (0..360).map(|i| -89.75 + 0.5 * i as f64).collect();
    let lons: Vec<f64> = (0..720).map(|j| 0.25 + 0.5 * j as f64).collect();
    let values = Array2::from_shape_fn((360, 720), |(i, j)| field(lats[i], lons[j])).into_dyn();
    let da = DataArray::new(from_array(values, ChunkSpec::Uniform(usize::MAX)), &["lat", "lon"])?
        .with_index("lat", lats)?
        .with_index("lon", lons)?
        .with_name("o2")
        .with_attr("long_name", "Dissolved oxygen")
        .with_attr("units", "mmol m-3");
    let levels = [0.0, 20.0, 40.0, 60.0, 80.0, 120.0, 160.0, 200.0, 250.0, 300.0, 350.0];
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let figure = da.contourf(&levels).cmap("RdBu").norm(Norm::centered(60.0)).projection(Projection::robinson(-160.0)).figure()?;
        best = best.min(started.elapsed().as_secs_f64());
        last = Some(figure);
    }
    if let (Some(out), Some(figure)) = (arg("--out"), &last) {
        figure.save(out)?;
    }
    let (w, h) = last.as_ref().map(|f| (f.width(), f.height())).unwrap_or((0, 0));
    println!("{{\"seconds\": {best:.4}, \"width\": {w}, \"height\": {h}}}");
    Ok(())
}
