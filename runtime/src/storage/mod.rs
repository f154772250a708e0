//! Storage the executor reads and writes for the API: Zarr stores through zarrs ([`zarr`]),
//! NetCDF files through libnetcdf ([`netcdf`]). Local files only.

pub(crate) mod hdf5_chunks;
pub(crate) mod netcdf;
pub(crate) mod zarr;
