//! A plan built here is evaluated in another process (`strata-eval`) to the same bytes: plans
//! are data, sources are described (a Zarr array by path and metadata, a NetCDF variable by
//! path and name), and in-memory values travel by content.

use std::io::Write;
use std::process::{Command, Stdio};

use strata::exec::{compute, ComputeOptions};
use strata::plan::{serial, Embedded, NodeRef};
use strata::prelude::*;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-plan-travel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The result of `plan` computed by `strata-eval` from the plan's JSON on its stdin.
fn evaluate_elsewhere(plan: &NodeRef) -> Result<Embedded, String> {
    let json = serial::to_json(plan).map_err(|e| e.to_string())?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata-eval"))
        .args(["--threads", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn assert_same_bytes(plan: &NodeRef) {
    let here = Embedded::one(compute(plan, &ComputeOptions::default()).unwrap());
    let there = evaluate_elsewhere(plan).unwrap();
    // Equal tokens: equal dtype, shape and bytes (NaNs included, bit for bit).
    assert_eq!(there.token(), here.token(), "{}", plan.explain());
}

#[test]
fn array_plans_evaluate_to_the_same_bytes_in_another_process() {
    let x = RandomState::new(11).normal(1.0, 3.0, &[40, 50], &[16, 20]);
    let clim = x.group_reduce(strata::plan::ReduceOp::Mean, 0, (0..40).map(|i| i % 12).collect(), 12, 0, true);
    let anomaly = &x - &clim.take(0, &(0..40).map(|i| i % 12).collect::<Vec<_>>());
    let values = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[50]), |i| if i[0] % 9 == 0 { f64::NAN } else { i[0] as f64 });
    for plan in [
        anomaly.isel(&[Sel::from(3..30), Sel::from(5..45).step(4)]).nanmean(&[0]).plan().clone(),
        (&x * &from_array(values, 25)).nansum(&[1]).plan().clone(),
        x.persist().unwrap().astype::<f32>().cumsum(1).plan().clone(),
        x.argmax(1).plan().clone(),
    ] {
        assert_same_bytes(&plan);
    }
}

#[test]
fn stored_sources_travel_by_description() {
    let dir = scratch("sources");
    let zarr_path = dir.join("t.zarr");
    let values = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[30, 20]), |i| (i[0] * 20 + i[1]) as f32 * 0.5 - 7.0);
    from_array(values, [7, 6]).to_zarr(&zarr_path).unwrap();
    let stored = from_zarr::<f32>(&zarr_path).unwrap();
    assert_same_bytes(stored.isel(&[Sel::from(4..27), Sel::Index(3)]).plan());
    assert_same_bytes((&stored * 2.0).mean(&[0]).plan());
    // Zarr v2 (blosc), and v3 sharded: the metadata in the plan says how to decode.
    let v2_path = dir.join("v2.zarr");
    stored.to_zarr_with(&v2_path, &ToZarr::v2()).unwrap();
    assert_same_bytes(from_zarr::<f64>(&v2_path).unwrap().sum(&[1]).plan());
    let sharded_path = dir.join("sharded.zarr");
    stored.to_zarr_with(&sharded_path, &ToZarr::v3().chunks(&[5, 5]).shards(&[10, 10])).unwrap();
    assert_same_bytes(from_zarr::<f32>(&sharded_path).unwrap().isel(&[Sel::from(2..23), Sel::from(1..19).step(3)]).plan());

    let nc_path = dir.join("t.nc");
    let ds = small_dataset();
    ds.to_netcdf(&nc_path).unwrap();
    let opened = open_dataset(&nc_path).unwrap();
    let t = opened.var("t").unwrap();
    assert_same_bytes(t.mean("y").unwrap().data().plan());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small labeled dataset to write as NetCDF.
fn small_dataset() -> Dataset {
    let values = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[6, 8]), |i| (i[0] as f64 - 2.5) * (i[1] as f64 + 0.25));
    let t = DataArray::new(from_array(values, [3, 4]), &["y", "x"]).unwrap();
    Dataset::new().with_var("t", &t).unwrap()
}

#[test]
fn a_plan_with_a_closure_is_refused_before_it_leaves() {
    let x = ones::<f64>(&[10], 5).map_blocks(|b| b * 3.0);
    let err = evaluate_elsewhere(x.sum(..).plan()).unwrap_err();
    assert!(err.contains("map_blocks") && err.contains("closure"), "{err}");
}

#[test]
fn a_damaged_plan_is_refused_by_the_evaluator_with_the_reason() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata-eval")).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(br#"{"format":"strata-plan/1","root":0,"nodes":[]}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid plan: root 0 is not one of the 0 nodes"), "{err}");
}

#[test]
fn a_zarr_node_chunked_otherwise_than_its_store_is_an_error_not_wrong_values() {
    let dir = scratch("rechunked");
    let path = dir.join("a.zarr");
    from_array(ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[10]), |i| i[0] as f64), 4).to_zarr(&path).unwrap();
    let stored = open_array(&path).unwrap().plan();
    let strata::plan::Op::Zarr { source } = &stored.op else { panic!("not a Zarr node") };
    // Stored in chunks of 4, 4, 2; a (hand-edited) plan that says 4, 2, 4.
    let grid = strata::array::ChunkGrid::from_spec(&[10], &ChunkSpec::Explicit(vec![vec![4, 2, 4]]), 8).unwrap();
    let edited = strata::plan::Node::new(strata::plan::Op::Zarr { source: source.clone() }, grid, stored.dtype);
    let back = serial::from_json(&serial::to_json(&edited).unwrap()).unwrap();
    match compute(&back, &ComputeOptions::default()) {
        Err(StrataError::Plan { reason }) => assert!(reason.contains("not one of the store's chunks"), "{reason}"),
        other => panic!("expected a plan error, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
