//! Zarr storage (v2 and v3) through zarrs: arrays read lazily chunk by chunk, and arrays
//! written chunk by chunk without a reader ever seeing a half-written chunk or array
//! ([`read`], [`write`]); groups of arrays as labeled datasets, as xarray reads and writes
//! them ([`dataset`]). Stores are directories on the local filesystem or prefixes in an object
//! store ([`dir`]).

pub(crate) mod dataset;
pub(crate) mod dir;
pub(crate) mod read;
pub(crate) mod store;
pub(crate) mod write;

/// A chunk's indices from its row-major number in a grid of `grid_shape` chunks.
fn unravel(mut index: usize, grid_shape: &[usize]) -> Vec<u64> {
    let mut indices = vec![0u64; grid_shape.len()];
    for axis in (0..grid_shape.len()).rev() {
        indices[axis] = (index % grid_shape[axis]) as u64;
        index /= grid_shape[axis];
    }
    indices
}
