//! Tree reductions: each chunk is reduced to a partial result, partials are merged in any
//! order (they are associative), and the merged state is finished into the result. Variance
//! uses Chan et al.'s pairwise update, so merging stays exact in floating point terms.

use ndarray::IxDyn;
use std::ops::Range;

use crate::array::{Block, DType};
use crate::plan::ReduceOp;

/// What a reduction does, as the scheduler needs it.
#[derive(Debug, Clone)]
pub struct ReduceSpec {
    /// The reduction.
    pub op: ReduceOp,
    /// Reduced axes of the input, ascending.
    pub axes: Vec<usize>,
    /// Delta degrees of freedom for variance and standard deviation.
    pub ddof: usize,
    /// Whether NaN elements are left out.
    pub skipna: bool,
    /// The input's shape (for a group-by reduction, with the group axis inserted after the
    /// reduced one).
    pub in_shape: Vec<usize>,
    /// float32 input whose result is float64 (a widening cast folded into the reduction,
    /// see `plan::optimize::fold_casts`): sums are accumulated in f64 from the first addition,
    /// exactly as if the chunk had been cast, without the f64 copy of the chunk.
    pub wide: bool,
}

impl ReduceSpec {
    fn kept(&self) -> Vec<usize> {
        (0..self.in_shape.len()).filter(|a| !self.axes.contains(a)).collect()
    }

    /// The result's shape: the input's without the reduced axes.
    pub fn out_shape(&self) -> Vec<usize> {
        self.kept().iter().map(|&a| self.in_shape[a]).collect()
    }
}

/// Where a chunk's rows land in the output: row `r` (row-major over the chunk's kept axes)
/// is output position `of_row(r)` (row-major over the whole output).
struct OutPositions {
    starts: Vec<usize>,
    lens: Vec<usize>,
    strides: Vec<usize>,
}

impl OutPositions {
    fn new(spec: &ReduceSpec, region: &[Range<usize>]) -> OutPositions {
        let kept = spec.kept();
        let out_shape = spec.out_shape();
        let mut strides = vec![1usize; out_shape.len()];
        for k in (0..out_shape.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * out_shape[k + 1];
        }
        OutPositions {
            starts: kept.iter().map(|&a| region[a].start).collect(),
            lens: kept.iter().map(|&a| region[a].len()).collect(),
            strides,
        }
    }

    fn of_row(&self, mut r: usize) -> usize {
        let mut g = 0;
        for k in (0..self.lens.len()).rev() {
            g += (self.starts[k] + r % self.lens[k]) * self.strides[k];
            r /= self.lens[k];
        }
        g
    }
}

/// Partial results over output positions (flat, row-major).
#[derive(Debug, Clone)]
pub struct Accumulator {
    count: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

/// The sum of a row and how many of its values were added (NaN left out when `skip`).
/// Dispatches to a copy compiled for AVX2 where the CPU has it: the portable build targets
/// SSE2, which has half the vector width.
fn row_sum(row: Row<'_>, skip: bool) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { row_sum_avx2(row, skip) };
    }
    row_sum_portable(row, skip)
}

/// A row of floats, in its own element type.
#[derive(Clone, Copy)]
enum Row<'a> {
    F32(&'a [f32]),
    /// float32 values summed as float64 (each converted before it is added).
    F32Wide(&'a [f32]),
    F64(&'a [f64]),
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_sum_avx2(row: Row<'_>, skip: bool) -> (f64, f64) {
    row_sum_portable(row, skip)
}

#[inline(always)]
// `v == v` is the branch-free NaN test these loops vectorise with.
#[allow(clippy::eq_op)]
fn row_sum_portable(row: Row<'_>, skip: bool) -> (f64, f64) {
    match row {
        Row::F32(values) => {
            // f32 partial sums over short runs (as NumPy's pairwise sum keeps errors small),
            // each run folded into f64; sixteen lanes so that the loop vectorises.
            let (mut total, mut count) = (0.0f64, 0.0f64);
            for run in values.chunks(1024) {
                let (mut s, mut n) = ([0.0f32; 16], [0u32; 16]);
                let lanes = run.chunks_exact(16);
                let tail = lanes.remainder();
                for c in lanes {
                    let c: &[f32; 16] = c.try_into().expect("chunks of 16");
                    for l in 0..16 {
                        // v == v is false only for NaN; written so, the loop has no branch.
                        let keep = !skip || c[l] == c[l];
                        s[l] += if keep { c[l] } else { 0.0 };
                        n[l] += keep as u32;
                    }
                }
                for &v in tail {
                    let keep = !skip || v == v;
                    s[0] += if keep { v } else { 0.0 };
                    n[0] += keep as u32;
                }
                total += s.iter().map(|&x| x as f64).sum::<f64>();
                count += n.iter().sum::<u32>() as f64;
            }
            (total, count)
        }
        Row::F64(values) => sum_f64_lanes(values, skip, |v| v),
        // The same lanes and order as for f64, so the result is bit for bit the sum of the
        // cast values.
        Row::F32Wide(values) => sum_f64_lanes(values, skip, |v| v as f64),
    }
}

/// Sums in eight f64 lanes (the loop vectorises), NaN left out when `skip`.
// `v == v` is the branch-free NaN test these loops vectorise with.
#[allow(clippy::eq_op)]
#[inline(always)]
fn sum_f64_lanes<T: Copy>(values: &[T], skip: bool, wide: impl Fn(T) -> f64) -> (f64, f64) {
    let (mut s, mut n) = ([0.0f64; 8], [0u64; 8]);
    let lanes = values.chunks_exact(8);
    let tail = lanes.remainder();
    for c in lanes {
        let c: &[T; 8] = c.try_into().expect("chunks of 8");
        for l in 0..8 {
            let v = wide(c[l]);
            let keep = !skip || v == v;
            s[l] += if keep { v } else { 0.0 };
            n[l] += keep as u64;
        }
    }
    for &v in tail {
        let v = wide(v);
        let keep = !skip || v == v;
        s[0] += if keep { v } else { 0.0 };
        n[0] += keep as u64;
    }
    (s.iter().sum(), n.iter().sum::<u64>() as f64)
}

/// `row_sum` for integers and bool, which hold no NaN.
fn row_sum_exact<T: crate::array::Element>(row: &[T]) -> (f64, f64) {
    (row.iter().map(|v| v.to_f64()).sum(), row.len() as f64)
}

/// Adds a slab element-wise into `sums` (and what was added into `counts`).
fn add_slab<T: crate::array::Element>(sums: &mut [f64], counts: &mut [f64], slab: &[T], skip: bool) {
    for ((s, n), v) in sums.iter_mut().zip(counts.iter_mut()).zip(slab) {
        let v = v.to_f64();
        let keep = !(skip && v.is_nan());
        *s += if keep { v } else { 0.0 };
        *n += keep as u8 as f64;
    }
}

impl Accumulator {
    /// Bytes an accumulator for `spec` holds: three f64 per output element.
    pub fn bytes(spec: &ReduceSpec) -> u64 {
        spec.out_shape().iter().map(|&n| n as u64).product::<u64>() * 24
    }

    /// An accumulator with nothing folded in, for `spec`'s output shape.
    pub fn new(spec: &ReduceSpec) -> Self {
        let n: usize = spec.out_shape().iter().product();
        let a0 = match spec.op {
            ReduceOp::Min | ReduceOp::ArgMin => f64::INFINITY,
            ReduceOp::Max | ReduceOp::ArgMax => f64::NEG_INFINITY,
            ReduceOp::All => 1.0,
            _ => 0.0,
        };
        let b0 = if matches!(spec.op, ReduceOp::ArgMin | ReduceOp::ArgMax) { -1.0 } else { 0.0 };
        Accumulator { count: vec![0.0; n], a: vec![a0; n], b: vec![b0; n] }
    }

    /// Folds one chunk of the input (at `region`) into the accumulator.
    pub fn add_chunk(&mut self, spec: &ReduceSpec, block: &Block, region: &[Range<usize>]) {
        if self.add_sums_in_place(spec, block, region) {
            return;
        }
        if matches!(spec.op, ReduceOp::Sum | ReduceOp::Mean) && !spec.skipna {
            return self.add_sums(spec, block, region);
        }
        let kept = spec.kept();
        let mut perm = kept.clone();
        perm.extend(&spec.axes);
        let values = block.as_f64();
        let data = values.view().permuted_axes(IxDyn(&perm));
        let data = data.as_standard_layout();
        let Some(flat) = data.as_slice() else { return };
        let kept_lens: Vec<usize> = kept.iter().map(|&a| region[a].len()).collect();
        let cols: usize = spec.axes.iter().map(|&a| region[a].len()).product();
        let rows: usize = kept_lens.iter().product();
        if cols == 0 {
            return;
        }
        let positions = OutPositions::new(spec, region);
        let arg_offset = spec.axes.first().map_or(0, |&a| region[a].start);
        for r in 0..rows {
            self.add_row(spec, positions.of_row(r), &flat[r * cols..(r + 1) * cols], arg_offset);
        }
    }

    /// Folds one chunk into a group-by reduction. `spec` describes a virtual input with the
    /// group axis inserted right after the reduced one: each group's members in this chunk
    /// form a sub-block at that group's position, reduced as an ordinary chunk.
    pub fn add_grouped(&mut self, spec: &ReduceSpec, groups: &crate::plan::Groups, block: &Block, region: &[Range<usize>]) {
        let axis = spec.axes[0];
        let start = region[axis].start;
        for (g, members) in groups.members(region[axis].clone()) {
            let local: Vec<usize> = members.iter().map(|&i| i - start).collect();
            let sub = block.take(axis, &local).insert_axis(axis + 1);
            let mut at = region.to_vec();
            at[axis] = 0..members.len();
            at.insert(axis + 1, g..g + 1);
            self.add_chunk(spec, &sub, &at);
        }
    }

    /// Sums, means and counts read straight from the chunk's own element type, without the
    /// f64 copy the general path makes, in loops the compiler vectorises. Covers reductions
    /// over trailing axes (rows) and over leading axes (slabs), which include the all-axes
    /// reduction and the mean over time of a (time, lat, lon) cube. Returns false when the
    /// chunk is not laid out for it.
    fn add_sums_in_place(&mut self, spec: &ReduceSpec, block: &Block, region: &[Range<usize>]) -> bool {
        if !matches!(spec.op, ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Count) {
            return false;
        }
        let ndim = region.len();
        let k = spec.axes.len();
        let trailing = spec.axes.iter().enumerate().all(|(i, &a)| a == ndim - k + i);
        let leading = spec.axes.iter().enumerate().all(|(i, &a)| a == i);
        if !trailing && !leading {
            return false;
        }
        let skip = spec.skipna || spec.op == ReduceOp::Count;
        let kept = spec.kept();
        let kept_len: usize = kept.iter().map(|&a| region[a].len()).product();
        let reduced_len: usize = spec.axes.iter().map(|&a| region[a].len()).product();
        let mut sums = vec![0.0; kept_len];
        let mut counts = vec![0.0; kept_len];
        let done = if trailing {
            let rows = reduced_len.max(1);
            let mut fill = |row_sums: &mut dyn FnMut(usize) -> (f64, f64)| {
                for r in 0..kept_len {
                    (sums[r], counts[r]) = row_sums(r);
                }
            };
            match block {
                Block::F32(a) if spec.wide => a.as_slice().map(|f| fill(&mut |r| row_sum(Row::F32Wide(&f[r * rows..(r + 1) * rows]), skip))),
                Block::F32(a) => a.as_slice().map(|f| fill(&mut |r| row_sum(Row::F32(&f[r * rows..(r + 1) * rows]), skip))),
                Block::F64(a) => a.as_slice().map(|f| fill(&mut |r| row_sum(Row::F64(&f[r * rows..(r + 1) * rows]), skip))),
                other => crate::with_block!(other, a, _T => a.as_slice().map(|f| fill(&mut |r| row_sum_exact(&f[r * rows..(r + 1) * rows])))),
            }
            .is_some()
        } else {
            crate::with_block!(block, values, _T => values.as_slice().map(|flat| {
                for slab in flat.chunks_exact(kept_len.max(1)).take(reduced_len) {
                    add_slab(&mut sums, &mut counts, slab, skip);
                }
            }))
            .is_some()
        };
        if !done {
            return false;
        }
        // Fold the chunk's partial sums into the output positions it covers: runs along the
        // last kept axis are contiguous in the output too, so each run is located once.
        let positions = OutPositions::new(spec, region);
        let run = positions.lens.last().copied().unwrap_or(1).max(1);
        for start in (0..sums.len()).step_by(run) {
            let g = positions.of_row(start);
            let end = (start + run).min(sums.len());
            for ((a, c), (&s, &n)) in self.a[g..g + end - start].iter_mut().zip(&mut self.count[g..g + end - start]).zip(sums[start..end].iter().zip(&counts[start..end])) {
                *a += s;
                *c += n;
            }
        }
        true
    }

    /// Sums and means without NaN skipping: ndarray's axis sums, which add whole rows at a
    /// time in memory order, then one pass over the (small) partial result.
    fn add_sums(&mut self, spec: &ReduceSpec, block: &Block, region: &[Range<usize>]) {
        let values = block.as_f64();
        let Some((&last, rest)) = spec.axes.split_last() else { return };
        let mut sums = values.view().sum_axis(ndarray::Axis(last));
        let mut n = region[last].len() as f64;
        for &axis in rest.iter().rev() {
            n *= region[axis].len() as f64;
            sums = sums.sum_axis(ndarray::Axis(axis));
        }
        let positions = OutPositions::new(spec, region);
        // `sums` has the kept axes in order, so its row-major order is the chunk's rows'.
        for (r, &s) in sums.iter().enumerate() {
            let g = positions.of_row(r);
            self.a[g] += s;
            self.count[g] += n;
        }
    }

    fn add_row(&mut self, spec: &ReduceSpec, g: usize, row: &[f64], arg_offset: usize) {
        let skip = spec.skipna;
        match spec.op {
            ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Count => {
                let (mut s, mut n) = (0.0, 0.0);
                for &v in row {
                    if skip && v.is_nan() {
                        continue;
                    }
                    if spec.op == ReduceOp::Count && v.is_nan() {
                        continue;
                    }
                    s += v;
                    n += 1.0;
                }
                self.a[g] += s;
                self.count[g] += n;
            }
            ReduceOp::Var | ReduceOp::Std => {
                let vals = row.iter().copied().filter(|v| !(skip && v.is_nan()));
                let (mut n, mut sum) = (0.0, 0.0);
                for v in vals.clone() {
                    n += 1.0;
                    sum += v;
                }
                if n == 0.0 {
                    return;
                }
                let mean = sum / n;
                let m2: f64 = vals.map(|v| (v - mean) * (v - mean)).sum();
                self.merge_moments(g, n, mean, m2);
            }
            ReduceOp::Min | ReduceOp::Max => {
                let min = spec.op == ReduceOp::Min;
                for &v in row {
                    if v.is_nan() {
                        if skip {
                            continue;
                        }
                        self.a[g] = f64::NAN;
                        self.count[g] += 1.0;
                        continue;
                    }
                    let cur = self.a[g];
                    if !cur.is_nan() && ((min && v < cur) || (!min && v > cur)) {
                        self.a[g] = v;
                    }
                    self.count[g] += 1.0;
                }
            }
            ReduceOp::ArgMin | ReduceOp::ArgMax => {
                let min = spec.op == ReduceOp::ArgMin;
                for (i, &v) in row.iter().enumerate() {
                    let index = (arg_offset + i) as f64;
                    self.offer_arg(g, v, index, min, skip);
                }
            }
            ReduceOp::Any => {
                if row.iter().any(|&v| v != 0.0) {
                    self.a[g] = 1.0;
                }
            }
            ReduceOp::All => {
                if row.iter().any(|&v| v == 0.0) {
                    self.a[g] = 0.0;
                }
            }
        }
    }

    /// Keeps the extreme value and its index; ties go to the lower index, NaN (unless
    /// skipped) wins as in NumPy.
    fn offer_arg(&mut self, g: usize, v: f64, index: f64, min: bool, skip: bool) {
        if v.is_nan() && skip {
            return;
        }
        let (cur, cur_i) = (self.a[g], self.b[g]);
        let better = if cur_i < 0.0 {
            true
        } else if cur.is_nan() {
            v.is_nan() && index < cur_i
        } else if v.is_nan() {
            true
        } else if v == cur {
            index < cur_i
        } else if min {
            v < cur
        } else {
            v > cur
        };
        if better {
            self.a[g] = v;
            self.b[g] = index;
        }
        self.count[g] += 1.0;
    }

    fn merge_moments(&mut self, g: usize, n_b: f64, mean_b: f64, m2_b: f64) {
        let n_a = self.count[g];
        if n_a == 0.0 {
            self.count[g] = n_b;
            self.a[g] = mean_b;
            self.b[g] = m2_b;
            return;
        }
        let n = n_a + n_b;
        let delta = mean_b - self.a[g];
        self.a[g] += delta * n_b / n;
        self.b[g] += m2_b + delta * delta * n_a * n_b / n;
        self.count[g] = n;
    }

    /// Merges another partial over the same output.
    pub fn merge(&mut self, spec: &ReduceSpec, other: &Accumulator) {
        if matches!(spec.op, ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Count) {
            // Plain additions, in loops the compiler vectorises (group-by outputs are large).
            self.a.iter_mut().zip(&other.a).for_each(|(a, b)| *a += b);
            self.count.iter_mut().zip(&other.count).for_each(|(a, b)| *a += b);
            return;
        }
        for g in 0..self.a.len() {
            match spec.op {
                ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Count => {
                    self.a[g] += other.a[g];
                    self.count[g] += other.count[g];
                }
                ReduceOp::Var | ReduceOp::Std => {
                    if other.count[g] > 0.0 {
                        self.merge_moments(g, other.count[g], other.a[g], other.b[g]);
                    }
                }
                ReduceOp::Min | ReduceOp::Max => {
                    let (x, y) = (self.a[g], other.a[g]);
                    self.a[g] = if x.is_nan() || y.is_nan() {
                        f64::NAN
                    } else if spec.op == ReduceOp::Min {
                        x.min(y)
                    } else {
                        x.max(y)
                    };
                    self.count[g] += other.count[g];
                }
                ReduceOp::ArgMin | ReduceOp::ArgMax => {
                    if other.b[g] >= 0.0 {
                        self.offer_arg(g, other.a[g], other.b[g], spec.op == ReduceOp::ArgMin, false);
                    }
                }
                ReduceOp::Any => self.a[g] = self.a[g].max(other.a[g]),
                ReduceOp::All => self.a[g] = self.a[g].min(other.a[g]),
            }
        }
    }

    /// The reduction's result, as a block of `dtype`.
    pub fn finish(self, spec: &ReduceSpec, dtype: DType) -> Block {
        let values: Vec<f64> = (0..self.a.len())
            .map(|g| {
                let (n, a, b) = (self.count[g], self.a[g], self.b[g]);
                match spec.op {
                    ReduceOp::Sum => a,
                    ReduceOp::Count => n,
                    ReduceOp::Mean => if n > 0.0 { a / n } else { f64::NAN },
                    ReduceOp::Var | ReduceOp::Std => {
                        let dof = n - spec.ddof as f64;
                        let var = if dof > 0.0 { b / dof } else { f64::NAN };
                        if spec.op == ReduceOp::Std { var.sqrt() } else { var }
                    }
                    ReduceOp::Min | ReduceOp::Max => if n > 0.0 { a } else { f64::NAN },
                    ReduceOp::ArgMin | ReduceOp::ArgMax => b.max(0.0),
                    ReduceOp::Any | ReduceOp::All => a,
                }
            })
            .collect();
        let shape = spec.out_shape();
        let array = ndarray::ArrayD::from_shape_vec(IxDyn(&shape), values)
            .unwrap_or_else(|_| ndarray::ArrayD::zeros(IxDyn(&shape)));
        Block::F64(array).into_dtype(dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn spec(op: ReduceOp, axes: &[usize], shape: &[usize]) -> ReduceSpec {
        ReduceSpec { op, axes: axes.to_vec(), ddof: 0, skipna: false, in_shape: shape.to_vec(), wide: false }
    }

    #[test]
    fn chunked_variance_matches_one_pass() {
        let data = array![[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]].into_dyn();
        let s = spec(ReduceOp::Var, &[1], &[2, 4]);
        let mut left = Accumulator::new(&s);
        left.add_chunk(&s, &Block::F64(data.slice(ndarray::s![.., 0..1]).to_owned().into_dyn()), &[0..2, 0..1]);
        let mut right = Accumulator::new(&s);
        right.add_chunk(&s, &Block::F64(data.slice(ndarray::s![.., 1..4]).to_owned().into_dyn()), &[0..2, 1..4]);
        left.merge(&s, &right);
        let out = left.finish(&s, DType::F64).to_f64();
        assert!((out[[0]] - 1.25).abs() < 1e-12 && (out[[1]] - 125.0).abs() < 1e-9, "{out}");
    }

    #[test]
    fn argmax_reports_global_indices() {
        let s = spec(ReduceOp::ArgMax, &[0], &[4]);
        let mut acc = Accumulator::new(&s);
        acc.add_chunk(&s, &Block::F64(array![1.0, 5.0].into_dyn()), &[0..2]);
        let mut other = Accumulator::new(&s);
        other.add_chunk(&s, &Block::F64(array![7.0, 7.0].into_dyn()), &[2..4]);
        acc.merge(&s, &other);
        assert_eq!(acc.finish(&s, DType::I64), Block::I64(ndarray::ArrayD::from_elem(IxDyn(&[]), 2)));
    }
}
