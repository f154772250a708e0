//! Property tests: every chunked operation gives what the same operation gives eagerly on an
//! ndarray, over random shapes, chunkings and data.

use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use strata::plan::ReduceOp;
use strata::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.shape(), want.shape());
    for (g, w) in got.iter().zip(want.iter()) {
        prop_assert!(close(*g, *w), "got {} want {}\ngot {:?}\nwant {:?}", g, w, got, want);
    }
    Ok(())
}

/// A random array with a random chunking.
fn array_and_chunks() -> impl Strategy<Value = (ArrayD<f64>, Vec<usize>)> {
    proptest::collection::vec(1usize..9, 1..4)
        .prop_flat_map(|shape| {
            let n: usize = shape.iter().product();
            let chunks = shape.iter().map(|&d| 1..=d).collect::<Vec<_>>();
            (Just(shape), proptest::collection::vec(-100.0f64..100.0, n), chunks)
        })
        .prop_map(|(shape, data, chunks)| (ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap(), chunks))
}

fn eager_reduce(a: &ArrayD<f64>, axes: &[usize], f: impl Fn(&[f64]) -> f64) -> ArrayD<f64> {
    let kept: Vec<usize> = (0..a.ndim()).filter(|k| !axes.contains(k)).collect();
    let mut perm = kept.clone();
    perm.extend(axes);
    let p = a.clone().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned();
    let out_shape: Vec<usize> = kept.iter().map(|&k| a.shape()[k]).collect();
    let cols: usize = axes.iter().map(|&k| a.shape()[k]).product();
    let flat = p.as_slice().unwrap();
    let vals: Vec<f64> = flat.chunks(cols.max(1)).map(&f).collect();
    ArrayD::from_shape_vec(IxDyn(&out_shape), vals).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn elementwise_and_transpose((a, chunks) in array_and_chunks()) {
        let x = from_array(a.clone(), chunks.as_slice());
        let got = (&(&x * 2.0) - &x.t().t()).abs().compute().unwrap();
        assert_close(&got, &a.mapv(|v| (2.0 * v - v).abs()))?;
        let perm: Vec<usize> = (0..a.ndim()).rev().collect();
        assert_close(&x.t().compute().unwrap(), &a.clone().permuted_axes(IxDyn(&perm)))?;
        let mask = x.gt_scalar(0.0).compute().unwrap();
        prop_assert_eq!(mask, a.mapv(|v| v > 0.0));
    }

    #[test]
    fn reductions_over_any_axes((a, chunks) in array_and_chunks(), seed in any::<u64>()) {
        let axes = {
            let ndim = a.ndim();
            let mut picked: Vec<usize> = (0..ndim).filter(|k| (seed >> k) & 1 == 1).collect();
            if picked.is_empty() { picked.push((seed as usize) % ndim); }
            picked
        };
        let x = from_array(a.clone(), chunks.as_slice());
        let n = axes.iter().map(|&k| a.shape()[k]).product::<usize>() as f64;
        assert_close(&x.sum(axes.clone()).compute().unwrap(), &eager_reduce(&a, &axes, |r| r.iter().sum()))?;
        assert_close(&x.mean(axes.clone()).compute().unwrap(), &eager_reduce(&a, &axes, |r| r.iter().sum::<f64>() / n))?;
        let var = |r: &[f64], ddof: f64| { let m = r.iter().sum::<f64>() / n; r.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - ddof) };
        assert_close(&x.var(axes.clone(), 0).compute().unwrap(), &eager_reduce(&a, &axes, |r| var(r, 0.0)))?;
        if n > 1.0 {
            assert_close(&x.std(axes.clone(), 1).compute().unwrap(), &eager_reduce(&a, &axes, |r| var(r, 1.0).sqrt()))?;
        }
        assert_close(&x.min(axes.clone()).compute().unwrap(), &eager_reduce(&a, &axes, |r| r.iter().copied().fold(f64::INFINITY, f64::min)))?;
        assert_close(&x.max(axes.clone()).compute().unwrap(), &eager_reduce(&a, &axes, |r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max)))?;
        let axis = axes[0];
        let want = a.map_axis(Axis(axis), |lane| {
            let mut best = 0;
            for (i, &v) in lane.iter().enumerate() { if v > lane[best] { best = i; } }
            best as i64
        });
        prop_assert_eq!(x.argmax(axis).compute().unwrap(), want);
    }

    /// The NaN-skipping sums, means and counts (fast paths read f32 and f64 in place).
    #[test]
    fn nan_skipping_reductions_in_f64_and_f32((a, chunks) in array_and_chunks(), seed in any::<u64>(), every in 2usize..6) {
        let a = ArrayD::from_shape_vec(a.raw_dim(), a.iter().enumerate().map(|(i, &v)| if i % every == 1 { f64::NAN } else { v }).collect()).unwrap();
        let ndim = a.ndim();
        let mut axes: Vec<usize> = (0..ndim).filter(|k| (seed >> k) & 1 == 1).collect();
        if axes.is_empty() { axes.push((seed as usize) % ndim); }
        let kept = |r: &[f64]| r.iter().copied().filter(|v| !v.is_nan()).collect::<Vec<f64>>();
        let nansum = eager_reduce(&a, &axes, |r| kept(r).iter().sum());
        let count = eager_reduce(&a, &axes, |r| kept(r).len() as f64);
        let nanmean = eager_reduce(&a, &axes, |r| { let k = kept(r); if k.is_empty() { f64::NAN } else { k.iter().sum::<f64>() / k.len() as f64 } });
        let x = from_array(a.clone(), chunks.as_slice());
        assert_close(&x.nansum(axes.clone()).compute().unwrap(), &nansum)?;
        assert_close(&x.nanmean(axes.clone()).compute().unwrap(), &nanmean)?;
        assert_close(&x.count(axes.clone()).compute().unwrap().mapv(|c| c as f64), &count)?;
        let plain_sum = eager_reduce(&a, &axes, |r| r.iter().sum());
        assert_close(&x.sum(axes.clone()).compute().unwrap(), &plain_sum)?;

        let x32 = from_array(a.mapv(|v| v as f32), chunks.as_slice());
        let got = x32.nanmean(axes.clone()).compute().unwrap();
        for (g, w) in got.iter().zip(nanmean.iter()) {
            prop_assert!((g.is_nan() && w.is_nan()) || ((*g as f64) - w).abs() <= 1e-4 * (1.0 + w.abs()), "f32 nanmean {} vs {}", g, w);
        }
        prop_assert_eq!(x32.count(axes.clone()).compute().unwrap().mapv(|c| c as f64), count);
    }

    /// Cumulative sums, read back in the array's chunks and in other chunks (regions that
    /// start inside a chunk of the scan).
    #[test]
    fn cumulative_sums_along_any_axis((a, chunks) in array_and_chunks(), axis_seed in 0usize..3, re in 1usize..9, nan in any::<bool>()) {
        let a = if nan { a.mapv(|v| if v > 60.0 { f64::NAN } else { v }) } else { a };
        let axis = axis_seed % a.ndim();
        let mut want = a.clone();
        want.accumulate_axis_inplace(Axis(axis), |p, c| *c += *p);
        let mut want_nan = a.mapv(|v| if v.is_nan() { 0.0 } else { v });
        want_nan.accumulate_axis_inplace(Axis(axis), |p, c| *c += *p);
        let x = from_array(a.clone(), chunks.as_slice());
        assert_close(&x.cumsum(axis).compute().unwrap(), &want)?;
        assert_close(&x.nancumsum(axis).compute().unwrap(), &want_nan)?;
        assert_close(&x.nancumsum(axis).rechunk(re).compute().unwrap(), &want_nan)?;
        let last = a.shape()[axis] - 1;
        let mut sel: Vec<Sel> = vec![Sel::from(..); a.ndim()];
        sel[axis] = Sel::Index(last);
        assert_close(&x.nancumsum(axis).isel(&sel).compute().unwrap(), &want_nan.index_axis(Axis(axis), last).to_owned())?;
    }

    /// Reshapes that merge and split axes, computed whole, re-chunked, and selected from.
    #[test]
    fn reshapes_keep_row_major_order((a, chunks) in array_and_chunks(), split_seed in any::<u64>(), re in 1usize..7) {
        let n = a.len();
        // A random factorisation of the element count into up to three axes, keeping a random
        // number of the leading axes as they are.
        let keep = (split_seed as usize) % a.ndim();
        let lead: Vec<usize> = a.shape()[..keep].to_vec();
        let rest: usize = a.shape()[keep..].iter().product();
        let divisors: Vec<usize> = (1..=rest).filter(|d| rest % d == 0).collect();
        let d = divisors[(split_seed >> 8) as usize % divisors.len()];
        let mut shape = lead.clone();
        shape.push(d);
        if rest / d > 1 || (split_seed >> 16) & 1 == 1 { shape.push(rest / d); }
        prop_assume!(shape.iter().product::<usize>() == n);
        let x = from_array(a.clone(), chunks.as_slice());
        let want = a.as_standard_layout().into_owned().into_shape_with_order(IxDyn(&shape)).unwrap();
        let y = x.reshape(&shape);
        assert_close(&y.compute().unwrap(), &want)?;
        assert_close(&y.rechunk(re).compute().unwrap(), &want)?;
        // And back, through a transpose (regions that are not whole rows).
        assert_close(&y.reshape(a.shape()).t().compute().unwrap(), &a.t().to_owned())?;
        let flat: ArrayD<f64> = ArrayD::from_shape_vec(IxDyn(&[n]), a.iter().copied().collect()).unwrap();
        assert_close(&x.reshape(&[n]).compute().unwrap(), &flat)?;
    }

    #[test]
    fn broadcasting_against_a_row((a, chunks) in array_and_chunks(), row_chunk in 1usize..9) {
        let last = *a.shape().last().unwrap();
        let row: ArrayD<f64> = ArrayD::from_shape_fn(IxDyn(&[last]), |i| i[0] as f64 - 3.0);
        let x = from_array(a.clone(), chunks.as_slice());
        let r = from_array(row.clone(), &[row_chunk.min(last)]);
        let got = (&x - &r).compute().unwrap();
        assert_close(&got, &(&a - &row))?;
        // And the mean-removed form of the workshop example, on any rank.
        let centred = (&x - &x.mean(&[0])).compute().unwrap();
        let mean0 = a.mean_axis(Axis(0)).unwrap();
        assert_close(&centred, &(&a - &mean0))?;
    }

    #[test]
    fn selections_match_ndarray_slicing((a, chunks) in array_and_chunks(), start in 0usize..4, step in 1usize..4) {
        let len = a.shape()[0];
        let start = start.min(len - 1);
        let x = from_array(a.clone(), chunks.as_slice());
        let got = x.isel(&[Sel::from(start..len).step(step)]).compute().unwrap();
        let want = a.slice_axis(Axis(0), ndarray::Slice::new(start as isize, None, step as isize)).to_owned();
        assert_close(&got, &want)?;
        let got = x.isel(&[Sel::Index(len - 1)]).compute().unwrap();
        assert_close(&got, &a.index_axis(Axis(0), len - 1).to_owned())?;
        let picks: Vec<usize> = (0..len).rev().step_by(2).collect();
        assert_close(&x.take(0, &picks).compute().unwrap(), &a.select(Axis(0), &picks))?;
    }

    #[test]
    fn rechunk_concatenate_and_persist_keep_values((a, chunks) in array_and_chunks(), new_chunk in 1usize..6) {
        let x = from_array(a.clone(), chunks.as_slice());
        assert_close(&x.rechunk(new_chunk).compute().unwrap(), &a)?;
        let both = concatenate(&[x.clone(), x.clone()], 0).compute().unwrap();
        assert_close(&both, &ndarray::concatenate(Axis(0), &[a.view(), a.view()]).unwrap())?;
        let stacked = stack(&[x.clone(), x.clone()], 0).compute().unwrap();
        assert_close(&stacked, &ndarray::stack(Axis(0), &[a.view(), a.view()]).unwrap())?;
        let kept = x.persist().unwrap();
        assert_close(&(&kept + 1.0).compute().unwrap(), &a.mapv(|v| v + 1.0))?;
    }

    #[test]
    fn group_reductions_match_reducing_each_group(
        (a, chunks) in array_and_chunks(), seed in any::<u64>(), ngroups in 1usize..5, nan in any::<bool>(), op in 0usize..5,
    ) {
        let axis = (seed as usize) % a.ndim();
        let len = a.shape()[axis];
        // Labels in any order; some positions in no group.
        let labels: Vec<usize> = (0..len).map(|i| { let h = (seed >> (i % 48)) as usize + i * 7; if h % 5 == 4 { usize::MAX } else { h % ngroups } }).collect();
        let mut a = a;
        if nan {
            a.iter_mut().enumerate().filter(|(i, _)| i % 3 == 1).for_each(|(_, v)| *v = f64::NAN);
        }
        let (rop, f): (ReduceOp, fn(&[f64]) -> f64) = match op {
            0 => (ReduceOp::Mean, |v| if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }),
            1 => (ReduceOp::Sum, |v| v.iter().sum()),
            2 => (ReduceOp::Max, |v| v.iter().copied().fold(f64::NAN, f64::max)),
            3 => (ReduceOp::Count, |v| v.len() as f64),
            _ => (ReduceOp::Var, |v| { if v.is_empty() { return f64::NAN; } let m = v.iter().sum::<f64>() / v.len() as f64; v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64 }),
        };
        let x = from_array(a.clone(), chunks.as_slice());
        let got = x.group_reduce(rop, axis, labels.clone(), ngroups, 0, true).compute().unwrap();
        let mut want_shape = a.shape().to_vec();
        want_shape[axis] = ngroups;
        let mut want = ArrayD::<f64>::zeros(IxDyn(&want_shape));
        for g in 0..ngroups {
            let members: Vec<usize> = (0..len).filter(|&i| labels[i] == g).collect();
            if members.is_empty() {
                want.index_axis_mut(Axis(axis), g).fill(f(&[]));
                continue;
            }
            let sub = a.select(Axis(axis), &members);
            let reduced = eager_reduce(&sub, &[axis], |v| { let kept: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect(); f(&kept) });
            want.index_axis_mut(Axis(axis), g).assign(&reduced);
        }
        assert_close(&got, &want)?;
    }

    #[test]
    fn random_values_do_not_depend_on_chunks(rows in 1usize..40, cols in 1usize..40, c1 in 1usize..40, c2 in 1usize..40) {
        let a = RandomState::new(7).random(&[rows, cols], &[c1, c2]).compute().unwrap();
        let b = RandomState::new(7).random(&[rows, cols], &[c2, c1]).compute().unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert!(a.iter().all(|&v| (0.0..1.0).contains(&v)));
    }
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let x = zeros::<f64>(&[4, 5], &[2, 2]);
    let y = zeros::<f64>(&[3, 5], &[2, 2]);
    assert!(matches!((&x + &y).compute(), Err(StrataError::ShapeMismatch { .. })));
    assert!(matches!(x.sum(&[2]).compute(), Err(StrataError::AxisOutOfRange { axis: 2, .. })));
    assert!(matches!(x.cumsum(5).compute(), Err(StrataError::AxisOutOfRange { axis: 5, .. })));
    assert!(matches!(x.reshape(&[3, 7]).compute(), Err(StrataError::ShapeMismatch { op: "reshape", .. })));
    assert!(matches!(x.isel(&[Sel::Index(9)]).compute(), Err(StrataError::IndexOutOfRange { index: 9, .. })));
    assert!(matches!(zeros::<f64>(&[4], &[0]).compute(), Err(StrataError::InvalidChunks { .. })));
    let over = x.compute_with(&ComputeOptions { budget: Some(16), observer: None, ..Default::default() });
    match over {
        Err(StrataError::OverBudget { needed, .. }) => assert_eq!(needed, 160),
        other => panic!("expected OverBudget, got {other:?}"),
    }
    let m = x.map_blocks(|b| b.slice_move(ndarray::s![.., 0..1]).into_dyn());
    assert!(matches!(m.compute(), Err(StrataError::MapBlocksShape { .. })));
}

#[test]
fn workshop_example_matches_eager() {
    let x = RandomState::new(1).random(&[300, 300], &[70, 70]);
    let y = &x + &x.t() - x.mean(&[0]);
    let got = y.sum(..).scalar().unwrap();
    let a = x.compute().unwrap();
    let a2 = a.view().into_dimensionality::<ndarray::Ix2>().unwrap();
    let want = (&a2 + &a2.t() - &a2.mean_axis(Axis(0)).unwrap()).sum();
    assert!(close(got, want), "{got} vs {want}");
    let ints = from_array(ndarray::array![[1i32, 2], [3, 4]].into_dyn(), &[1, 1]);
    assert_eq!(ints.sum(..).scalar().unwrap(), 10i64);
    assert_eq!(ints.mean(&[0]).compute().unwrap(), ndarray::array![2.0, 3.0].into_dyn());
}

/// The generators' statistics: moments of uniform and normal draws, neighbours (in a row and
/// across rows, where a counter-based generator could correlate) uncorrelated, seeds distinct.
#[test]
fn random_numbers_have_the_right_moments_and_no_neighbour_correlation() {
    let n = 1_000_000.0;
    let u = RandomState::new(5).random(&[1_000, 1_000], &[250, 500]);
    let mean = u.mean(..).scalar().unwrap();
    let var = u.var(.., 0).scalar().unwrap();
    assert!((mean - 0.5).abs() < 0.002, "uniform mean {mean}");
    assert!((var - 1.0 / 12.0).abs() < 0.001, "uniform variance {var}");
    let values = u.compute().unwrap();
    let corr = |a: ndarray::ArrayViewD<f64>, b: ndarray::ArrayViewD<f64>| {
        let cov: f64 = a.iter().zip(b.iter()).map(|(x, y)| (x - 0.5) * (y - 0.5)).sum::<f64>() / a.len() as f64;
        cov * 12.0
    };
    let in_row = corr(values.slice(ndarray::s![.., ..999]).into_dyn(), values.slice(ndarray::s![.., 1..]).into_dyn());
    let across = corr(values.slice(ndarray::s![..999, ..]).into_dyn(), values.slice(ndarray::s![1.., ..]).into_dyn());
    assert!(in_row.abs() < 0.005 && across.abs() < 0.005, "neighbour correlation {in_row} {across}");
    let other = RandomState::new(6).random(&[1_000, 1_000], &[250, 500]).compute().unwrap();
    assert!(corr(values.view(), other.view()).abs() < 0.005, "seeds 5 and 6 correlate");

    let z = RandomState::new(9).normal(3.0, 2.0, &[1_000, 1_000], &[500, 500]);
    let (m, s) = (z.mean(..).scalar().unwrap(), z.std(.., 0).scalar().unwrap());
    assert!((m - 3.0).abs() < 0.01 && (s - 2.0).abs() < 0.01, "normal mean {m} std {s} over {n} draws");
}
