//! Chunked N-d arrays: element types, chunk grids, in-memory blocks, and [`ChunkedArray`],
//! the lazy array users build plans with.

pub mod block;
pub mod chunked;
pub mod create;
pub mod dtype;
pub mod grid;
pub mod ops;

pub use block::{Block, BlockElement};
pub use chunked::{concatenate, stack, where_, Axes, ChunkedArray, Reducible, Sel};
pub use create::{arange, from_array, full, linspace, ones, random, random_normal, zeros, RandomState};
pub use dtype::{DType, Element};
pub use grid::{ChunkGrid, ChunkSpec};
