//! What a notebook cell or a program brings into scope with `use strata_api::prelude::*`.

pub use crate::array::{
    arange, concatenate, from_array, full, linspace, ones, random, random_normal, stack, where_, zeros, Axes,
    ChunkSpec, ChunkedArray, DType, RandomState, Sel,
};
pub use crate::bag::Bag;
pub use crate::delayed::{delayed, join_all, Delayed, TaskGraph};
pub use crate::error::Error as StrataError;
pub use crate::io::{open_dataset, open_dataset_with, open_mfdataset, open_zarr};
pub use crate::labeled::{
    concat, nearest, nearest_within, Boundary, Calendar, Coordinate, DataArray, Dataset, DateTime, Values,
};
pub use crate::exec::{map_tasks, map_tasks_with, set_memory_budget, set_progress_after, set_threads, with_threads, ComputeOptions};
pub use crate::session::{CancelToken, Session};
pub use crate::storage::Storage;
pub use crate::zarr::{from_zarr, open_array, open_array_with, open_zarr_with, Compressor, ToZarr, ZarrArray, ZarrFormat};
pub use serde_json;
pub use ndarray::{self, ArrayD, Axis};
