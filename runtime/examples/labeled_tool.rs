//! Labeled-data operations on a Zarr or NetCDF dataset from the command line, with results
//! printed as JSON: what the xarray interop tests (tests/test_labeled_interop.py) compare
//! against xarray's own answers on the same files.
//!
//!   labeled_tool workshop STORE VAR          every workshop operation on VAR(time, lat, lon)
//!   labeled_tool daily STORE VAR             day-based operations on VAR(time, site)
//!   labeled_tool copy SRC DST v2|v3          open a dataset and write it back as Zarr
//!   labeled_tool describe SRC [--mask-valid-range]  variables, dims, coords, attrs
//!   labeled_tool open SRC                    the same, without computing the variables
//!   labeled_tool mfdataset DIR-OR-GLOB VAR   open_mfdataset along time, then a time series
//!   labeled_tool summary SRC                 per variable and coordinate: dims, shape, dtype,
//!                                            valid count, mean, first and last value

use serde_json::{json, Value};
use strata::labeled::{Boundary, Values};
use strata::prelude::*;

fn values(da: &DataArray<f64>) -> Result<Value, StrataError> {
    let v = da.values()?;
    Ok(json!({
        "dims": da.dims(),
        "shape": v.shape(),
        "data": v.iter().map(|x| if x.is_nan() { Value::Null } else { json!(x) }).collect::<Vec<_>>(),
        "coords": da.coords().iter().filter(|(n, c)| c.dims.len() == 1 && &c.dims[0] == *n).map(|(n, c)| (n.clone(), coord(&c.values))).collect::<serde_json::Map<_, _>>(),
    }))
}

fn coord(values: &Values) -> Value {
    (0..values.len())
        .map(|i| match values {
            Values::F64(a) => json!(a.iter().nth(i)),
            Values::I64(a) => json!(a.iter().nth(i)),
            _ => json!(values.format(i)),
        })
        .collect()
}

fn open(path: &str) -> Result<Dataset, StrataError> {
    if std::path::Path::new(path).is_dir() || path.contains("://") {
        open_zarr(path)
    } else {
        strata::io::open_dataset(path)
    }
}

fn workshop(store: &str, var: &str) -> Result<Value, StrataError> {
    let ds = open(store)?;
    let sst = ds.var(var)?;
    let gb = sst.groupby("time.month")?;
    let clim = gb.mean("time")?;
    let anom = gb.sub(&clim)?;
    let nino34 = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?;
    let nino34_rolling = nino34.rolling("time", 3).mean()?;
    let weights = sst.coord_array("lat")?.radians().cos();
    let series = sst.mean(["lat", "lon"])?;
    let (first, second) = (sst.isel([("time", Sel::Index(0))])?, sst.isel([("time", Sel::Index(1))])?);
    Ok(json!({
        "clim": values(&clim)?,
        "anom_first_year": values(&anom.isel([("time", Sel::from(0..12))])?)?,
        "nino34": values(&nino34)?,
        "nino34_rolling": values(&nino34_rolling)?,
        "season": values(&sst.groupby("time.season")?.mean("time")?)?,
        "yearly_max": values(&sst.groupby("time.year")?.max(["time", "lat", "lon"])?)?,
        "resample_qs_dec": values(&sst.resample("time", "QS-DEC")?.mean("time")?)?,
        "resample_ys": values(&sst.mean(["lat", "lon"])?.resample("time", "YS")?.mean("time")?)?,
        "rolling_center": values(&sst.mean(["lat", "lon"])?.rolling("time", 5).center(true).min_periods(2).std()?)?,
        "rolling_max": values(&sst.isel([("lat", Sel::Index(3))])?.rolling("time", 4).max()?)?,
        "coarsen_trim": values(&sst.isel([("time", Sel::from(0..6))])?.coarsen([("lat", 2), ("lon", 3)]).boundary(Boundary::Trim).mean()?)?,
        "coarsen_pad": values(&sst.isel([("time", Sel::from(0..6))])?.coarsen([("lat", 4)]).boundary(Boundary::Pad).max()?)?,
        "weighted": values(&sst.weighted(&weights).mean(["lat", "lon"])?)?,
        "interp": values(&sst.isel([("time", Sel::Index(5))])?.interp("lat", vec![-7.5, 0.25, 3.0, 19.0])?)?,
        "sel_month": values(&sst.sel([("time", "1983-07")])?)?,
        "sel_nearest": values(&sst.sel([("lat", nearest(2.9))])?.sel([("lon", nearest_within(201.0, 3.0))])?)?,
        "where_warm": values(&sst.isel([("time", Sel::Index(0))])?.where_(&sst.isel([("time", Sel::Index(0))])?.gt(27.0), f64::NAN)?)?,
        "isnull_count": values(&sst.isel([("time", Sel::Index(0))])?.isnull().astype::<f64>().sum(..)?)?,
        "weighted_sum": values(&sst.weighted(&weights).sum(["lat", "lon"])?)?,
        "rolling_sum": values(&sst.isel([("lat", Sel::Index(3))])?.rolling("time", 4).sum()?)?,
        "rolling_min": values(&sst.isel([("lat", Sel::Index(3))])?.rolling("time", 3).center(true).min_periods(1).min()?)?,
        "sel_year": values(&sst.sel([("time", "1983")])?)?,
        "map_standardized": values(&series.groupby("time.month")?.map(|g| Ok(&(g - &g.mean("time")?) / &g.std("time")?))?)?,
        "map_reduced": values(&series.groupby("time.month")?.map(|g| g.max("time"))?)?,
        "align_inner": values(&(&first.isel([("lon", Sel::from(0..30))])? - &second.isel([("lon", Sel::from(10..45).step(2)), ("lat", Sel::from(3..21))])?))?,
        "concat_time": values(&concat(&[series.sel([("time", "1985")])?, series.sel([("time", "1983")])?], "time")?)?,
        "rename": values(&first.rename("lat", "latitude")?)?,
    }))
}

/// What the workshop does not cover, on a daily series VAR(time, site) with non-index
/// coordinates `basin` (integers) and `code` (numbers) along `site`: day-based resampling,
/// day-of-year groups, groups over a plain coordinate, swap_dims, rename, concat.
fn daily(store: &str, var: &str) -> Result<Value, StrataError> {
    let ds = open(store)?;
    let obs = ds.var(var)?;
    let head = obs.isel([("time", Sel::from(0..3))])?;
    Ok(json!({
        "resample_5d": values(&obs.resample("time", "5D")?.mean("time")?)?,
        "resample_ms": values(&obs.resample("time", "MS")?.max("time")?)?,
        "dayofyear": values(&obs.groupby("time.dayofyear")?.mean("time")?)?,
        "by_basin": values(&obs.groupby("basin")?.mean("site")?)?,
        "by_site": values(&obs.groupby("site")?.sum(["time", "site"])?)?,
        "sel_year": values(&obs.sel([("time", "1997")])?.mean("site")?)?,
        "swap_dims": values(&head.swap_dims("site", "code")?)?,
        "rename": values(&head.rename("site", "station")?)?,
        "concat_time": values(&concat(&[obs.sel([("time", "1998-02")])?, obs.sel([("time", "1996-02")])?], "time")?)?,
    }))
}

fn describe(path: &str, mask_valid_range: bool) -> Result<Value, StrataError> {
    let ds = if mask_valid_range { open(path)?.mask_valid_range() } else { open(path)? };
    let mut vars = serde_json::Map::new();
    for (name, v) in ds.variables() {
        vars.insert(name.to_string(), json!({ "dims": v.dims, "attrs": v.attrs, "values": values(&ds.var(name)?)? }));
    }
    for (name, l) in ds.label_vars() {
        vars.insert(name.to_string(), json!({ "dims": l.dims, "attrs": l.attrs, "kind": l.values.kind(), "labels": coord(&l.values) }));
    }
    let coords: serde_json::Map<String, Value> = ds.coords().iter().map(|(n, c)| (n.clone(), json!({ "dims": c.dims, "values": coord(&c.values), "attrs": c.attrs, "kind": c.values.kind() }))).collect();
    Ok(json!({ "vars": vars, "coords": coords, "attrs": ds.attrs() }))
}

/// What opening a dataset gives without computing anything: variables (dims, shape, dtype,
/// attributes), coordinates (their labels, read as the dataset opens) and attributes.
fn opened(path: &str) -> Result<Value, StrataError> {
    let ds = open(path)?;
    let vars: serde_json::Map<String, Value> = ds.variables().iter().map(|(n, v)| (n.to_string(), json!({ "dims": v.dims, "dtype": v.dtype().to_string(), "attrs": v.attrs }))).collect();
    let coords: serde_json::Map<String, Value> = ds.coords().iter().map(|(n, c)| (n.clone(), json!({ "dims": c.dims, "values": coord(&c.values), "attrs": c.attrs }))).collect();
    Ok(json!({ "vars": vars, "coords": coords, "attrs": ds.attrs() }))
}

/// What the real-file comparison checks of each variable, whatever it holds: numbers are
/// summarised by their valid count and mean, times and text by their first and last value.
fn summary(path: &str) -> Result<Value, StrataError> {
    let ds = open(path)?;
    let mut vars = serde_json::Map::new();
    for (name, v) in ds.variables() {
        let data = ds.var(name)?.values()?;
        let valid: Vec<f64> = data.iter().copied().filter(|x| !x.is_nan()).collect();
        let mean = if valid.is_empty() { Value::Null } else { json!(valid.iter().sum::<f64>() / valid.len() as f64) };
        vars.insert(name.to_string(), json!({ "dims": v.dims, "shape": data.shape(), "dtype": v.dtype().to_string(), "valid": valid.len(), "mean": mean }));
    }
    for (name, l) in ds.label_vars() {
        vars.insert(name.clone(), labels_summary(l));
    }
    let coords: serde_json::Map<String, Value> = ds.coords().iter().map(|(n, c)| (n.clone(), labels_summary(c))).collect();
    Ok(json!({ "vars": vars, "coords": coords }))
}

/// A coordinate (or a data variable of times or text): its numbers' valid count and mean,
/// its times' count of valid instants, and its first and last value as text.
fn labels_summary(c: &strata::labeled::Coordinate) -> Value {
    let values = &c.values;
    let n = values.len();
    let (valid, mean) = match values {
        Values::F64(a) => {
            let valid: Vec<f64> = a.iter().copied().filter(|x| !x.is_nan()).collect();
            let mean = if valid.is_empty() { Value::Null } else { json!(valid.iter().sum::<f64>() / valid.len() as f64) };
            (valid.len(), mean)
        }
        Values::I64(a) => (n, if n == 0 { Value::Null } else { json!(a.iter().map(|&x| x as f64).sum::<f64>() / n as f64) }),
        Values::Time(a, _) => (a.iter().filter(|&&x| x != strata::labeled::NAT).count(), Value::Null),
        Values::Str(_) => (n, Value::Null),
    };
    let ends = if n == 0 { json!([]) } else { json!([values.format(0), values.format(n - 1)]) };
    json!({ "dims": c.dims, "shape": values.shape(), "kind": values.kind(), "dtype": values.kind(), "valid": valid, "mean": mean, "ends": ends })
}

fn run(args: &[String]) -> Result<Value, StrataError> {
    let usage = || StrataError::Mismatch { what: "usage".into(), reason: "labeled_tool workshop STORE VAR | daily STORE VAR | copy SRC DST v2|v3|nc | describe SRC [--mask-valid-range] | summary SRC | mfdataset PATTERN VAR".into() };
    match args.first().map(String::as_str) {
        Some("workshop") if args.len() == 3 => workshop(&args[1], &args[2]),
        Some("daily") if args.len() == 3 => daily(&args[1], &args[2]),
        Some("describe") if args.len() == 2 => describe(&args[1], false),
        Some("describe") if args.len() == 3 && args[2] == "--mask-valid-range" => describe(&args[1], true),
        Some("summary") if args.len() == 2 => summary(&args[1]),
        Some("open") if args.len() == 2 => opened(&args[1]),
        Some("copy") if args.len() == 4 && args[3] == "nc" => {
            open(&args[1])?.to_netcdf(&args[2])?;
            Ok(json!({ "written": args[2] }))
        }
        Some("copy") if args.len() == 4 => {
            let format = if args[3] == "v2" { ToZarr::v2() } else { ToZarr::v3() };
            open(&args[1])?.to_zarr_with(&args[2], &format.overwrite(true))?;
            Ok(json!({ "written": args[2] }))
        }
        Some("mfdataset") if args.len() == 3 => {
            let ds = strata::io::open_mfdataset(&args[1], "time")?;
            values(&ds.var(&args[2])?.mean(["lat", "lon"])?)
        }
        _ => Err(usage()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
