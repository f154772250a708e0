//! Property tests over random plans: a plan round-trips through JSON to the same ids and the
//! same bytes; the optimizer's passes never change a value; building the same expression twice
//! gives the same node ids.

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use strata::exec::{compute, ComputeOptions};
use strata::plan::{optimize, serial, NodeRef};
use strata::prelude::*;

/// One step applied to the array built so far; `k` picks an axis, a position or a length.
#[derive(Debug, Clone)]
enum Step {
    AddScalar(f64),
    MulSelf,
    Reverse,
    Select { k: usize },
    Index { k: usize },
    Sum { k: usize },
    NanMean { k: usize },
    Max { k: usize },
    CumSum { k: usize },
    Take { k: usize },
    Rechunk { k: usize },
    WherePositive,
    ThroughF32,
    SubMean { k: usize },
    /// A slice of a slice of the same axis (`x[2:][1::2]`), after an element-wise step.
    SliceOfSlice { k: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-3.0f64..3.0).prop_map(Step::AddScalar),
        Just(Step::MulSelf),
        Just(Step::Reverse),
        any::<usize>().prop_map(|k| Step::Select { k }),
        any::<usize>().prop_map(|k| Step::Index { k }),
        any::<usize>().prop_map(|k| Step::Sum { k }),
        any::<usize>().prop_map(|k| Step::NanMean { k }),
        any::<usize>().prop_map(|k| Step::Max { k }),
        any::<usize>().prop_map(|k| Step::CumSum { k }),
        any::<usize>().prop_map(|k| Step::Take { k }),
        any::<usize>().prop_map(|k| Step::Rechunk { k }),
        Just(Step::WherePositive),
        Just(Step::ThroughF32),
        any::<usize>().prop_map(|k| Step::SubMean { k }),
        any::<usize>().prop_map(|k| Step::SliceOfSlice { k }),
    ]
}

/// The array after `step` (steps that do not fit, such as reducing a 0-d array, are skipped).
fn apply(x: &ChunkedArray<f64>, step: &Step) -> ChunkedArray<f64> {
    let shape = x.shape();
    let ndim = shape.len();
    let axis = |k: usize| k % ndim.max(1);
    match *step {
        Step::AddScalar(v) => x + v,
        Step::MulSelf => x * x,
        Step::Reverse if ndim > 1 => x.t(),
        Step::Select { k } if ndim > 0 => {
            let a = axis(k);
            let n = shape[a];
            let start = (k / 7) % n;
            let sels: Vec<Sel> = (0..ndim).map(|i| if i == a { Sel::from(start..n).step(1 + (k / 3) % 2) } else { Sel::All }).collect();
            x.isel(&sels)
        }
        Step::Index { k } if ndim > 1 => {
            let a = axis(k);
            let sels: Vec<Sel> = (0..ndim).map(|i| if i == a { Sel::Index((k / 5) % shape[a]) } else { Sel::All }).collect();
            x.isel(&sels)
        }
        Step::Sum { k } if ndim > 1 => x.sum(&[axis(k)]),
        Step::NanMean { k } if ndim > 1 => x.nanmean(&[axis(k)]),
        Step::Max { k } if ndim > 1 => x.max(&[axis(k)]),
        Step::CumSum { k } if ndim > 0 => x.cumsum(axis(k)),
        Step::Take { k } if ndim > 0 => {
            let a = axis(k);
            let n = shape[a];
            let indices: Vec<usize> = (0..n + 1).map(|i| (i * 7 + k) % n).collect();
            x.take(a, &indices)
        }
        Step::Rechunk { k } if ndim > 0 => x.rechunk(shape.iter().map(|&n| 1 + k % n.max(1)).collect::<Vec<_>>()),
        Step::WherePositive => where_(&x.gt_scalar(0.0), x, &(x * -0.5)),
        Step::ThroughF32 => x.astype::<f32>().astype::<f64>(),
        Step::SubMean { k } if ndim > 1 => {
            let a = axis(k);
            let mean = x.mean(&[a]).expand_dims(a);
            x - &mean
        }
        Step::SliceOfSlice { k } if ndim > 0 => {
            let a = axis(k);
            let first = apply(x, &Step::Select { k }) + 1.0;
            let n = first.shape()[a];
            let sels: Vec<Sel> = (0..ndim).map(|i| if i == a { Sel::from((k / 11) % n..n).step(1 + (k / 13) % 2) } else { Sel::All }).collect();
            first.isel(&sels)
        }
        _ => x.clone(),
    }
}

fn build(values: &ArrayD<f64>, chunks: &[usize], steps: &[Step]) -> ChunkedArray<f64> {
    steps.iter().fold(from_array(values.clone(), chunks), |x, s| apply(&x, s))
}

fn start() -> impl Strategy<Value = (ArrayD<f64>, Vec<usize>)> {
    proptest::collection::vec(1usize..7, 1..4)
        .prop_flat_map(|shape| {
            let n: usize = shape.iter().product();
            let chunks = shape.iter().map(|&d| 1..=d).collect::<Vec<_>>();
            (Just(shape), proptest::collection::vec(prop_oneof![9 => -50.0f64..50.0, 1 => Just(f64::NAN)], n), chunks)
        })
        .prop_map(|(shape, data, chunks)| (ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap(), chunks))
}

fn same_values(a: &ArrayD<f64>, b: &ArrayD<f64>, tolerance: f64) -> bool {
    a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= tolerance * (1.0 + x.abs().max(y.abs())))
}

fn values(plan: &NodeRef, unoptimized: bool) -> ArrayD<f64> {
    let options = ComputeOptions { unoptimized, ..Default::default() };
    compute(plan, &options).unwrap().to_f64()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_plans_round_trip_optimise_and_hash_consistently((values_in, chunks) in start(), steps in proptest::collection::vec(step(), 1..9)) {
        let x = build(&values_in, &chunks, &steps);
        let plan = x.plan();
        prop_assert_eq!(build(&values_in, &chunks, &steps).plan().id, plan.id, "the same expression, the same id");

        let back = serial::from_json(&serial::to_json(plan).unwrap()).unwrap();
        prop_assert_eq!(back.id, plan.id);
        let here = values(plan, true);
        let there = values(&back, true);
        prop_assert!(here.iter().zip(there.iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "{}", plan.explain());

        // Each pass alone, and all of them, keep every value (up to the order of additions).
        for (name, pass) in optimize::PASSES {
            let rewritten = pass(plan);
            prop_assert!(same_values(&values(&rewritten, true), &here, 1e-9), "{} changed values of\n{}", name, plan.explain());
        }
        prop_assert!(same_values(&values(plan, false), &here, 1e-9), "{}", plan.explain());
    }
}
