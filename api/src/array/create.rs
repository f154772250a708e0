//! Creating chunked arrays: constants, ranges, seeded random numbers, existing arrays.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ndarray::ArrayD;

use super::{BlockElement, ChunkGrid, ChunkSpec, ChunkedArray, DType};
use crate::plan::{Distribution, Node, NodeRef, Op};

fn grid_or_invalid(shape: &[usize], chunks: &ChunkSpec, dtype: DType) -> Result<ChunkGrid, NodeRef> {
    ChunkGrid::from_spec(shape, chunks, dtype.size_of()).map_err(|e| {
        let grid = ChunkGrid::regular(shape, shape).unwrap_or_else(|_| ChunkGrid::regular(&[], &[]).expect("0-d grid"));
        Node::invalid(e, grid, dtype)
    })
}

fn source<T: BlockElement>(op: Op, shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
    match grid_or_invalid(shape, &chunks.into(), T::DTYPE) {
        Ok(grid) => ChunkedArray::from_node(Node::new(op, grid, T::DTYPE)),
        Err(invalid) => ChunkedArray::from_node(invalid),
    }
}

/// An array of `value`s.
pub fn full<T: BlockElement>(shape: &[usize], value: T, chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
    source(Op::Full { value: value.to_f64() }, shape, chunks)
}

/// An array of zeros (NumPy's `zeros`).
pub fn zeros<T: BlockElement>(shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
    full(shape, T::from_f64(0.0), chunks)
}

/// An array of ones (NumPy's `ones`).
pub fn ones<T: BlockElement>(shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
    full(shape, T::from_f64(1.0), chunks)
}

/// `start, start + step, ...` below `stop` (NumPy's arange).
pub fn arange(start: f64, stop: f64, step: f64, chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
    let len = if step == 0.0 || !((stop - start) / step).is_finite() { 0 } else { ((stop - start) / step).ceil().max(0.0) as usize };
    source(Op::Arange { start, step }, &[len], chunks)
}

/// `num` evenly spaced values from `start` to `stop` inclusive (NumPy's linspace).
pub fn linspace(start: f64, stop: f64, num: usize, chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
    let step = if num > 1 { (stop - start) / (num - 1) as f64 } else { 0.0 };
    source(Op::Arange { start, step }, &[num], chunks)
}

/// An existing array, cut into chunks.
pub fn from_array<T: BlockElement>(array: ArrayD<T>, chunks: impl Into<ChunkSpec>) -> ChunkedArray<T> {
    let shape = array.shape().to_vec();
    source(Op::Literal { data: crate::plan::Embedded::one(T::wrap(array)) }, &shape, chunks)
}

/// A stream of random numbers with a seed: the same seed gives the same values, whatever the
/// chunks and however many threads compute them (like dask's `RandomState`).
#[derive(Debug, Clone)]
pub struct RandomState {
    seed: u64,
    draws: Arc<AtomicU64>,
}

impl RandomState {
    /// A state seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        RandomState { seed, draws: Arc::new(AtomicU64::new(0)) }
    }

    /// Each array drawn from the state gets its own stream.
    fn next_seed(&self) -> u64 {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9))
    }

    /// Uniform in [0, 1).
    pub fn random(&self, shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
        self.uniform(0.0, 1.0, shape, chunks)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&self, low: f64, high: f64, shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
        source(Op::Random { seed: self.next_seed(), dist: Distribution::Uniform { low, high } }, shape, chunks)
    }

    /// Normally distributed with this mean and standard deviation.
    pub fn normal(&self, mean: f64, std: f64, shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
        source(Op::Random { seed: self.next_seed(), dist: Distribution::Normal { mean, std } }, shape, chunks)
    }
}

fn fresh_state() -> RandomState {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    RandomState::new(nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32))
}

/// Uniform random numbers in [0, 1), from a fresh seed (use [`RandomState`] to repeat them).
pub fn random(shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
    fresh_state().random(shape, chunks)
}

/// Normally distributed random numbers, from a fresh seed.
pub fn random_normal(mean: f64, std: f64, shape: &[usize], chunks: impl Into<ChunkSpec>) -> ChunkedArray<f64> {
    fresh_state().normal(mean, std, shape, chunks)
}
