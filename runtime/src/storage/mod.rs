//! Where data lies ([`Location`], [`Storage`]: the API's own, re-exported here because this
//! module takes their name in this crate) and the storage the executor reads and writes for
//! the API: Zarr stores through zarrs (`zarr`), on the local file system or in object
//! storage (`object`: S3, GCS, HTTP) or in a reference set (`references`: kerchunk's virtual
//! stores over NetCDF/HDF5 files), and NetCDF files through libnetcdf (`netcdf`).

pub use strata_api::storage::{Location, Storage};

pub(crate) mod hdf5_chunks;
pub(crate) mod netcdf;
pub(crate) mod object;
pub(crate) mod references;
pub(crate) mod zarr;
