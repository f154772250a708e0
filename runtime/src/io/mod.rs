//! Datasets in files: CF conventions ([`cf`]), Zarr stores ([`zarr`]), NetCDF files
//! ([`netcdf`]) and the generated tutorial datasets ([`tutorial`]).

pub mod cf;
pub mod netcdf;
pub mod tutorial;
pub mod zarr;

pub use self::netcdf::{open_dataset, open_mfdataset};
pub use self::zarr::open_zarr;
