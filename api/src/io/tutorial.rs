//! Tutorial datasets, as `xarray.tutorial` offers, but generated here (deterministically,
//! from a seed) and cached on disk, because workshop machines have no internet:
//!
//! - `"sst"`: monthly global sea surface temperature, 1982–2021 on a 2° grid, with a
//!   seasonal cycle, a warming trend, land masked out (Natural Earth), and an ENSO signal in
//!   the eastern tropical Pacific; the signal itself is the variable `nino34_signal`, so a
//!   notebook can check the Niño 3.4 index it computes. A Zarr v2 store, as xarray writes.
//! - `"sla"`: daily sea level anomaly over the Gulf Stream for 2019, 0.25°, one NetCDF file
//!   per day packed as DUACS L4 files are (int32 with `scale_factor`); opened with
//!   `open_mfdataset`.
//! - `"oxygen"`: an annual dissolved-oxygen climatology (World Ocean Atlas-like) on a 1° grid
//!   at six depths, with the oxygen minimum zones of the eastern tropical Pacific and the
//!   Arabian Sea. A NetCDF-4 file.
//!
//! Files go to `$STRATA_DATA` if set, else `$XDG_CACHE_HOME/strata/tutorial` (or
//! `~/.cache/strata/tutorial`). Each is written whole or not at all.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3, ArrayD};
use serde_json::json;

use crate::array::{from_array, ChunkSpec};
use crate::error::Error;
use crate::labeled::coord::{Coordinate, Values};
use crate::labeled::time::{Calendar, DateTime};
use crate::labeled::{Attrs, DataArray, Dataset};
use crate::zarr::{Compressor, ToZarr};

/// The names [`open_dataset`] knows.
pub const DATASETS: [&str; 3] = ["sst", "sla", "oxygen"];

/// Where tutorial files are cached.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STRATA_DATA") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("strata").join("tutorial")
}

/// The path of a tutorial dataset, generated first if it is not cached yet.
pub fn path(name: &str) -> Result<PathBuf, Error> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::Read { path: dir.display().to_string(), cause: e.to_string() })?;
    // The version in the name regenerates files when the generator changes.
    let (file, generate): (&str, fn(&Path) -> Result<(), Error>) = match name {
        "sst" => ("sst_monthly_2deg_v2.zarr", write_sst),
        "sla" => ("sla_gulfstream_daily_2019_v2", write_sla),
        "oxygen" => ("woa_oxygen_1deg_v2.nc", write_oxygen),
        other => return Err(Error::UnknownVariable { name: other.to_string(), available: format!("tutorial datasets {DATASETS:?}") }),
    };
    let target = dir.join(file);
    if !target.exists() {
        generate(&target)?;
    }
    Ok(target)
}

/// Opens a tutorial dataset by name (see the module's list), generating it on first use.
pub fn open_dataset(name: &str) -> Result<Dataset, Error> {
    let path = path(name)?;
    match name {
        "sst" => crate::zarr::open_zarr(&path),
        "sla" => super::open_mfdataset(&path.display().to_string(), "time"),
        _ => super::open_dataset(&path),
    }
}

/// Deterministic noise: a uniform number in [-1, 1) for each (stream, index).
fn noise(stream: u64, index: u64) -> f64 {
    let mut x = stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_add(0xD1B5_4A32_D192_ED03);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
}

fn grid(start: f64, step: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| start + step * i as f64).collect()
}

fn lat_lon_coords(lats: &[f64], lons: &[f64]) -> (Coordinate, Coordinate) {
    (
        Coordinate::new(&["lat"], Values::from_f64(lats.to_vec())).with_attrs(attrs(&[("units", "degrees_north"), ("standard_name", "latitude"), ("long_name", "latitude")])),
        Coordinate::new(&["lon"], Values::from_f64(lons.to_vec())).with_attrs(attrs(&[("units", "degrees_east"), ("standard_name", "longitude"), ("long_name", "longitude")])),
    )
}

/// The ENSO signal of the SST dataset at month `m` since 1982-01 (°C in the Niño 3.4 box):
/// two oscillations of 3.6 and 5.3 years, red noise, and the large events of 1997–98 and
/// 2015–16, as the observed record has them.
pub fn enso_signal(m: usize) -> f64 {
    let t = m as f64 / 12.0;
    let mut red = 0.0;
    for k in 0..=m {
        red = 0.85 * red + 0.25 * noise(17, k as u64);
    }
    let event = |peak: f64, size: f64| size * (-((t - peak) / 0.45).powi(2)).exp();
    0.7 * (2.0 * std::f64::consts::PI * t / 3.6).sin() + 0.4 * (2.0 * std::f64::consts::PI * t / 5.3 + 1.0).sin() + red + event(15.9, 2.0) + event(33.9, 1.8)
}

/// The spatial pattern of the ENSO anomaly: 1 in the Niño 3.4 box's centre, fading away.
fn enso_pattern(lat: f64, lon: f64) -> f64 {
    let lon = lon.rem_euclid(360.0);
    (-(lat / 9.0).powi(2)).exp() * (-((lon - 235.0) / 45.0).powi(2)).exp()
}

fn sst_dataset() -> Result<Dataset, Error> {
    let (nt, lats, lons) = (480usize, grid(-89.0, 2.0, 90), grid(1.0, 2.0, 180));
    let land = crate::geo::land_mask(&lats, &lons);
    // The pattern's mean over the ocean cells of the Niño 3.4 box (5°S–5°N, 170°W–120°W):
    // what the box mean of the anomaly gives, per unit of signal.
    let in_box: Vec<(usize, usize)> = (0..lats.len())
        .flat_map(|i| (0..lons.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| lats[i].abs() <= 5.0 && (190.0..=240.0).contains(&lons[j]) && !land[[i, j]])
        .collect();
    let box_gain = in_box.iter().map(|&(i, j)| enso_pattern(lats[i], lons[j])).sum::<f64>() / in_box.len().max(1) as f64;
    let signal: Vec<f64> = (0..nt).map(enso_signal).collect();
    let mut sst = Array3::<f32>::zeros((nt, lats.len(), lons.len()));
    for ((m, i, j), v) in sst.indexed_iter_mut() {
        if land[[i, j]] {
            *v = f32::NAN;
            continue;
        }
        let (lat, lon) = (lats[i], lons[j]);
        let phi = lat.to_radians();
        let mean = (29.0 * phi.cos().powi(2) - 1.5).max(-1.8) + 0.8 * (lon.to_radians()).sin() * phi.cos();
        // Warmest in late summer of each hemisphere; little cycle at the equator.
        let month = (m % 12) as f64;
        let seasonal = -3.5 * (phi.sin() * 1.3).clamp(-1.0, 1.0) * (2.0 * std::f64::consts::PI * (month - 1.5) / 12.0).cos() * (1.0 - (-(lat / 15.0).powi(2)).exp());
        let trend = 0.015 * (m as f64 / 12.0 - 20.0);
        let anomaly = signal[m] * enso_pattern(lat, lon);
        let weather = 0.25 * noise(1, (m * lats.len() * lons.len() + i * lons.len() + j) as u64);
        *v = (mean + seasonal + trend + anomaly + weather).max(-1.8) as f32;
    }
    let times: Vec<i64> = (0..nt).map(|m| DateTime::new(1982 + (m / 12) as i64, (m % 12) as u32 + 1, 1).to_instant(Calendar::Standard)).collect();
    let (lat, lon) = lat_lon_coords(&lats, &lons);
    let time = Coordinate::new(&["time"], Values::from_times(times, Calendar::Standard)).with_attrs(attrs(&[("standard_name", "time"), ("long_name", "time")]));
    let sst = DataArray::new(from_array(sst.into_dyn(), ChunkSpec::Explicit(vec![vec![12; 40], vec![90], vec![180]])), &["time", "lat", "lon"])?
        .with_coord("time", time.clone())?
        .with_coord("lat", lat)?
        .with_coord("lon", lon)?
        .with_attrs(attrs(&[("units", "degC"), ("long_name", "Sea surface temperature"), ("standard_name", "sea_surface_temperature")]));
    let nino = DataArray::new(from_array(Array1::from(signal.iter().map(|s| s * box_gain).collect::<Vec<_>>()).into_dyn(), ChunkSpec::Uniform(usize::MAX)), &["time"])?
        .with_coord("time", time)?
        .with_attrs(attrs(&[("units", "degC"), ("long_name", "ENSO signal the dataset carries (its mean over the Nino 3.4 box)")]));
    let global = attrs(&[
        ("title", "Strata tutorial: synthetic monthly SST, 2 degree, 1982-2021"),
        ("source", "generated by strata::io::tutorial (deterministic); land from Natural Earth 1:110m"),
        ("Conventions", "CF-1.8"),
    ]);
    Ok(Dataset::new().with_var("sst", &sst)?.with_var("nino34_signal", &nino)?.with_attrs(global))
}

fn write_sst(target: &Path) -> Result<(), Error> {
    sst_dataset()?.to_zarr_with(target, &ToZarr::v2().compressor(Compressor::blosc_lz4()).overwrite(true))?;
    Ok(())
}

/// Sea level anomaly (m) over the Gulf Stream on day `d` of 2019 at (lat, lon): the jet's
/// meandering front, westward-drifting eddies and a seasonal steric swell.
fn sla(d: usize, lat: f64, lon: f64) -> f64 {
    let t = d as f64;
    let front = 37.0 + 1.5 * ((lon + 0.06 * t) / 6.0).sin() + 0.4 * (lon / 2.5 + t / 20.0).sin();
    let jet = 0.45 * ((front - lat) / 1.2).tanh();
    let mut eddies = 0.0;
    for k in 0..14u64 {
        let lon0 = -78.0 + 38.0 * (noise(3, k) * 0.5 + 0.5) - 0.08 * t;
        let lon0 = (lon0 + 80.0).rem_euclid(40.0) - 80.0;
        let lat0 = 30.0 + 12.0 * (noise(4, k) * 0.5 + 0.5);
        let amp = 0.35 * noise(5, k).signum() * (0.5 + 0.5 * noise(6, k).abs());
        eddies += amp * (-(((lon - lon0) / 1.4).powi(2) + ((lat - lat0) / 1.1).powi(2))).exp();
    }
    let steric = 0.06 * (2.0 * std::f64::consts::PI * (t - 260.0) / 365.0).cos();
    jet + eddies + steric + 0.01 * noise(7, (d as u64) << 20 ^ ((lat * 100.0) as u64) << 10 ^ (lon * -100.0) as u64)
}

fn write_sla(target: &Path) -> Result<(), Error> {
    let (lats, lons) = (grid(25.125, 0.25, 80), grid(-79.875, 0.25, 160));
    let land = crate::geo::land_mask(&lats, &lons);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = target.with_file_name(format!(".{name}.strata-partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| Error::Read { path: staging.display().to_string(), cause: e.to_string() })?;
    let written = (|| {
        for d in 0..365 {
            let day = DateTime::new(2019, 1, 1).to_instant(Calendar::Standard) + d as i64 * crate::labeled::time::DAY;
            let date = DateTime::from_instant(day, Calendar::Standard);
            let mut values = ArrayD::<f64>::zeros(ndarray::IxDyn(&[1, lats.len(), lons.len()]));
            for ((_, i, j), v) in values.view_mut().into_dimensionality::<ndarray::Ix3>().map_err(|e| Error::InvalidChunks { reason: e.to_string() })?.indexed_iter_mut() {
                *v = if land[[i, j]] { f64::NAN } else { (sla(d, lats[i], lons[j]) * 1e4).round() / 1e4 };
            }
            let (lat, lon) = lat_lon_coords(&lats, &lons);
            let time = Coordinate::new(&["time"], Values::from_times(vec![day], Calendar::Standard)).with_attrs(attrs(&[("standard_name", "time")]));
            let da = DataArray::new(from_array(values, ChunkSpec::Uniform(usize::MAX)), &["time", "lat", "lon"])?
                .with_coord("time", time)?
                .with_coord("lat", lat)?
                .with_coord("lon", lon)?
                .with_attrs(attrs(&[("units", "m"), ("long_name", "Sea level anomaly"), ("standard_name", "sea_surface_height_above_sea_level")]));
            let ds = Dataset::new().with_var("sla", &da)?.with_attrs(attrs(&[("title", "Strata tutorial: synthetic DUACS-like L4 sea level anomaly, Gulf Stream"), ("Conventions", "CF-1.8")]));
            let file = staging.join(format!("dt_gulfstream_allsat_phy_l4_{:04}{:02}{:02}.nc", date.year, date.month, date.day));
            ds.to_netcdf_packed(&file, "sla", 1e-4)?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if std::fs::rename(&staging, target).is_err() && !target.exists() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(Error::Read { path: target.display().to_string(), cause: "could not move the generated files into place".into() });
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(())
}

/// Dissolved oxygen (mmol m-3) at (depth m, lat, lon): near saturation at the surface (more
/// in cold water), a minimum at 400–800 m, and the oxygen minimum zones.
fn oxygen(depth: f64, lat: f64, lon: f64) -> f64 {
    let phi = lat.to_radians();
    let temperature = (28.0 * phi.cos().powi(2) - 1.0) * (-depth / 900.0).exp() + 2.0;
    let saturation = 420.0 - 7.5 * temperature;
    let consumption = 130.0 * (-((depth - 600.0) / 450.0).powi(2)).exp() * (0.6 + 0.4 * phi.cos());
    let lon = lon.rem_euclid(360.0);
    let blob = |lat0: f64, lon0: f64, dlat: f64, dlon: f64| (-((lat - lat0) / dlat).powi(2) - ((lon - lon0) / dlon).powi(2)).exp();
    let depth_shape = (-((depth - 400.0) / 350.0).powi(2)).exp();
    let omz = depth_shape * (240.0 * blob(5.0, 255.0, 14.0, 30.0) + 220.0 * blob(-12.0, 280.0, 9.0, 10.0) + 250.0 * blob(16.0, 63.0, 8.0, 10.0) + 150.0 * blob(15.0, 88.0, 6.0, 6.0));
    (saturation - consumption - omz).clamp(2.0, 450.0)
}

fn write_oxygen(target: &Path) -> Result<(), Error> {
    let (lats, lons) = (grid(-89.5, 1.0, 180), grid(0.5, 1.0, 360));
    let depths = [0.0, 100.0, 200.0, 400.0, 700.0, 1000.0];
    let land = crate::geo::land_mask(&lats, &lons);
    let mut o2 = Array3::<f64>::zeros((depths.len(), lats.len(), lons.len()));
    for ((k, i, j), v) in o2.indexed_iter_mut() {
        *v = if land[[i, j]] { f64::NAN } else { (oxygen(depths[k], lats[i], lons[j]) * 100.0).round() / 100.0 };
    }
    let (lat, lon) = lat_lon_coords(&lats, &lons);
    let depth = Coordinate::new(&["depth"], Values::from_f64(depths.to_vec())).with_attrs(attrs(&[("units", "m"), ("positive", "down"), ("long_name", "depth")]));
    let da = DataArray::new(from_array(o2.into_dyn(), ChunkSpec::Uniform(usize::MAX)), &["depth", "lat", "lon"])?
        .with_coord("depth", depth)?
        .with_coord("lat", lat)?
        .with_coord("lon", lon)?
        .with_attrs(attrs(&[("units", "mmol m-3"), ("long_name", "Dissolved oxygen"), ("standard_name", "mole_concentration_of_dissolved_molecular_oxygen_in_sea_water")]));
    let ds = Dataset::new().with_var("o2", &da)?.with_attrs(attrs(&[("title", "Strata tutorial: synthetic annual dissolved oxygen climatology, 1 degree"), ("Conventions", "CF-1.8")]));
    ds.to_netcdf(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_physical() {
        assert_eq!(enso_signal(190), enso_signal(190));
        assert_eq!(noise(1, 5), noise(1, 5));
        assert_ne!(noise(1, 5), noise(1, 6));
        // The 1997-98 event stands out.
        assert!(enso_signal(191) > 1.5, "{}", enso_signal(191));
        // Oxygen minimum zones are low; the cold surface ocean is rich.
        assert!(oxygen(400.0, 5.0, 255.0) < 60.0, "{}", oxygen(400.0, 5.0, 255.0));
        assert!(oxygen(0.0, -60.0, 0.0) > 300.0);
        assert!(sla(0, 30.0, -60.0).abs() < 1.5);
    }
}
