//! Datasets in files: CF conventions ([`cf`]), NetCDF files ([`netcdf`]), the generated
//! tutorial datasets ([`tutorial`]); Zarr stores live with the rest of Zarr
//! ([`crate::zarr::dataset`]).

pub mod cf;
pub mod netcdf;
pub mod tutorial;

pub use self::netcdf::{open_dataset, open_mfdataset};
pub use crate::zarr::open_zarr;
