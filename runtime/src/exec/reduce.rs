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
    pub op: ReduceOp,
    /// Reduced axes of the input, ascending.
    pub axes: Vec<usize>,
    pub ddof: usize,
    pub skipna: bool,
    pub in_shape: Vec<usize>,
}

impl ReduceSpec {
    fn kept(&self) -> Vec<usize> {
        (0..self.in_shape.len()).filter(|a| !self.axes.contains(a)).collect()
    }

    pub fn out_shape(&self) -> Vec<usize> {
        self.kept().iter().map(|&a| self.in_shape[a]).collect()
    }

    /// The element type of the result, as NumPy gives it.
    pub fn out_dtype(op: ReduceOp, input: DType) -> DType {
        match op {
            ReduceOp::Sum => input.accumulator(),
            ReduceOp::Mean | ReduceOp::Var | ReduceOp::Std => if input == DType::F32 { DType::F32 } else { DType::F64 },
            ReduceOp::Min | ReduceOp::Max => input,
            ReduceOp::ArgMin | ReduceOp::ArgMax | ReduceOp::Count => DType::I64,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }
}

/// Partial results over output positions (flat, row-major).
#[derive(Debug, Clone)]
pub struct Accumulator {
    count: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Accumulator {
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
        let out_shape = spec.out_shape();
        let mut out_strides = vec![1usize; out_shape.len()];
        for k in (0..out_shape.len().saturating_sub(1)).rev() {
            out_strides[k] = out_strides[k + 1] * out_shape[k + 1];
        }
        let arg_offset = spec.axes.first().map_or(0, |&a| region[a].start);
        for r in 0..rows {
            let mut rem = r;
            let mut g = 0;
            for k in (0..kept_lens.len()).rev() {
                let i = rem % kept_lens[k];
                rem /= kept_lens[k];
                g += (region[kept[k]].start + i) * out_strides[k];
            }
            self.add_row(spec, g, &flat[r * cols..(r + 1) * cols], arg_offset);
        }
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
        let kept = spec.kept();
        let out_shape = spec.out_shape();
        let mut out_strides = vec![1usize; out_shape.len()];
        for k in (0..out_shape.len().saturating_sub(1)).rev() {
            out_strides[k] = out_strides[k + 1] * out_shape[k + 1];
        }
        for (index, &s) in sums.indexed_iter() {
            let g: usize = (0..kept.len()).map(|k| (region[kept[k]].start + index[k]) * out_strides[k]).sum();
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
        ReduceSpec { op, axes: axes.to_vec(), ddof: 0, skipna: false, in_shape: shape.to_vec() }
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
