//! Datasets in files: CF conventions ([`cf`]), NetCDF files (opened and written by the
//! executor), the generated tutorial datasets ([`tutorial`]); Zarr stores are in
//! [`crate::zarr`].

pub mod cf;
pub mod tutorial;

use std::path::Path;

use serde_json::json;

use crate::error::Error;
use crate::executor::executor;
use crate::labeled::{Dataset, Variable};
use crate::storage::{Location, Storage};

pub use crate::zarr::{open_zarr, open_zarr_with};

/// Opens a NetCDF-3 or NetCDF-4 file as a lazy [`Dataset`] (xarray's `open_dataset`), with CF
/// decoding. Variables of types the runtime has no equivalent for (strings, chars,
/// compounds) are left out.
///
/// `reference://refs.json` (or `reference://s3://bucket/refs.json`) opens a reference set
/// instead: kerchunk's JSON, which VirtualiZarr writes too, describing a Zarr store whose
/// chunks are byte ranges of other files (a year of daily NetCDF-4 files as one dataset,
/// read where they lie). The files it points into are reached as [`open_dataset_with`]'s
/// storage options say.
pub fn open_dataset(path: impl AsRef<Path>) -> Result<Dataset, Error> {
    open_dataset_with(path, &Storage::default())
}

/// [`open_dataset`] with the options that reach an object store (see [`Storage`]).
pub fn open_dataset_with(path: impl AsRef<Path>, storage: &Storage) -> Result<Dataset, Error> {
    let at = Location::parse(path.as_ref(), storage);
    if at.scheme() == Some("reference") {
        return executor().open_zarr(&at);
    }
    executor().open_netcdf(path.as_ref())
}

/// Opens many NetCDF files (a glob pattern, or a directory's `*.nc`) as one dataset joined
/// along `dim` in file-name order, as xarray's `open_mfdataset(combine="nested")` does for
/// products that come one file per day. Other coordinates must agree between files.
pub fn open_mfdataset(pattern: &str, dim: &str) -> Result<Dataset, Error> {
    let pattern = if Path::new(pattern).is_dir() { format!("{}/*.nc", pattern.trim_end_matches('/')) } else { pattern.to_owned() };
    let files = executor().list_files(&pattern)?;
    let parts: Vec<Dataset> = files.iter().map(open_dataset).collect::<Result<_, _>>()?;
    concat_datasets(&parts, dim)
}

/// Datasets joined along `dim`: variables with `dim` are concatenated, those without it and
/// the other coordinates are taken from the first (and must agree).
pub fn concat_datasets(parts: &[Dataset], dim: &str) -> Result<Dataset, Error> {
    let Some(first) = parts.first() else { return Err(Error::Empty { op: "open_mfdataset" }) };
    let mut out = first.clone();
    for (name, c) in first.coords() {
        if c.dims.iter().any(|d| d == dim) {
            let all: Vec<&crate::labeled::Values> = parts.iter().map(|p| p.coords().get(name).map(|c| &c.values)).collect::<Option<_>>().ok_or_else(|| Error::Mismatch { what: "open_mfdataset".into(), reason: format!("coordinate {name:?} is missing from some files") })?;
            out.coords[name].values = crate::labeled::Values::concat(&all)?;
        } else if parts.iter().any(|p| p.coords().get(name).is_none_or(|o| !o.values.same_labels(&c.values))) {
            return Err(Error::Mismatch { what: "open_mfdataset".into(), reason: format!("coordinate {name:?} differs between files") });
        }
    }
    for (name, v) in first.variables() {
        let Some(axis) = v.dims.iter().position(|d| d == dim) else { continue };
        let nodes: Vec<&Variable> = parts.iter().map(|p| p.variables().get(name)).collect::<Option<_>>().ok_or_else(|| Error::Mismatch { what: "open_mfdataset".into(), reason: format!("variable {name:?} is missing from some files") })?;
        let joined = crate::with_dtype!(v.dtype(), T => {
            let arrays: Vec<crate::array::ChunkedArray<T>> = nodes.iter().map(|n| n.array::<T>()).collect();
            crate::array::concatenate(&arrays, axis).plan().clone()
        });
        out.vars[name].data = joined;
    }
    Ok(out)
}

impl Dataset {
    /// Writes the dataset as a NetCDF-4 file (computing its variables), CF-encoded. The file
    /// appears only when complete (written beside it, then renamed).
    pub fn to_netcdf(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        executor().write_netcdf(self, path.as_ref())
    }

    /// Writes the dataset as NetCDF-4 with `var` packed into int32 counts of `scale` (with a
    /// `_FillValue` for NaN), as DUACS and many other products are distributed.
    pub fn to_netcdf_packed(&self, path: impl AsRef<Path>, var: &str, scale: f64) -> Result<(), Error> {
        let mut ds = self.clone();
        let v = ds.vars.get_mut(var).ok_or_else(|| Error::UnknownVariable { name: var.to_string(), available: format!("{:?}", self.data_vars()) })?;
        v.encoding.insert("dtype".into(), json!("int32"));
        v.encoding.insert("scale_factor".into(), json!(scale));
        v.encoding.insert("_FillValue".into(), json!(i32::MIN + 1));
        ds.to_netcdf(path)
    }
}
