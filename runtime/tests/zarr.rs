//! Zarr round trips through the runtime alone (zarr-python's side is in tests/test_zarr_interop.py),
//! and what happens to the disk when a write or a read goes wrong.

use std::fs;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use strata::prelude::*;
use strata::zarr::{BloscCompressor, BloscShuffle};

/// A test's own directory, removed when the test ends, failed tests included.
struct Scratch(tempfile::TempDir);

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

fn scratch(name: &str) -> Scratch {
    Scratch(tempfile::Builder::new().prefix(&format!("strata-zarr-test-{name}-")).tempdir().unwrap())
}

/// Values that differ at every position (a transposed or shifted read cannot pass), with NaNs.
fn sample(shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let values: Vec<f64> = (0..n).map(|i| if i % 7 == 3 { f64::NAN } else { i as f64 * 0.5 - 3.0 }).collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

fn same(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn every_format_and_codec_round_trips_with_edge_chunks() {
    let dir = scratch("roundtrip");
    let data = sample(&[23, 17, 5]);
    let x = from_array(data.clone(), &[10, 6, 5]);
    let blosc = Compressor::Blosc { cname: BloscCompressor::Zstd, clevel: 3, shuffle: BloscShuffle::Bit };
    let cases = [
        ("v3-default", ToZarr::v3()),
        ("v3-blosc", ToZarr::v3().compressor(blosc)),
        ("v3-gzip", ToZarr::v3().compressor(Compressor::Gzip { level: 4 })),
        ("v3-raw", ToZarr::v3().compressor(Compressor::None)),
        ("v3-sharded", ToZarr::v3().chunks(&[5, 3, 5]).shards(&[10, 6, 5])),
        ("v2-default", ToZarr::v2()),
        ("v2-zstd", ToZarr::v2().compressor(Compressor::Zstd { level: 5 })),
        ("v2-gzip", ToZarr::v2().compressor(Compressor::Gzip { level: 1 })),
    ];
    for (name, options) in cases {
        let path = dir.join(name);
        let written = x.to_zarr_with(&path, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(written.shape(), vec![23, 17, 5], "{name}");
        assert_eq!(written.zarr_format(), if name.starts_with("v2") { 2 } else { 3 }, "{name}");
        let back: ChunkedArray<f64> = from_zarr(&path).unwrap();
        assert!(same(&back.compute().unwrap(), &data), "{name}: values differ after the round trip");
        // A strided selection reads the right elements too.
        let part = back.isel(&[Sel::from(3..20).step(4), Sel::Index(9), Sel::from(1..)]).compute().unwrap();
        let want = data.slice(ndarray::s![3..20;4, 9, 1..]).to_owned().into_dyn();
        assert!(same(&part, &want), "{name}: selection differs");
    }
}

#[test]
fn integer_and_bool_types_keep_their_type_and_values() {
    let dir = scratch("types");
    let ints = from_array(ArrayD::from_shape_fn(IxDyn(&[9, 4]), |i| (i[0] * 4 + i[1]) as i16 - 20), &[4, 4]);
    let z = ints.to_zarr_with(dir.join("i16"), &ToZarr::v2()).unwrap();
    assert_eq!(z.dtype(), DType::I16);
    assert_eq!(z.fill_value(), &serde_json::json!(0));
    assert_eq!(from_zarr::<i16>(dir.join("i16")).unwrap().compute().unwrap(), ints.compute().unwrap());
    // Read as another type, the values are converted.
    let as_f64 = from_zarr::<f64>(dir.join("i16")).unwrap().compute().unwrap();
    assert_eq!(as_f64[[0, 0]], -20.0);

    let mask = ints.gt_scalar(0);
    mask.to_zarr(dir.join("mask")).unwrap();
    assert_eq!(open_array(dir.join("mask")).unwrap().dtype(), DType::Bool);
    assert_eq!(from_zarr::<bool>(dir.join("mask")).unwrap().compute().unwrap(), mask.compute().unwrap());
}

#[test]
fn attributes_and_dimension_names_are_stored_for_both_versions() {
    let dir = scratch("attrs");
    let x = from_array(sample(&[4, 3]), &[2, 3]);
    for (name, options) in [("v2", ToZarr::v2()), ("v3", ToZarr::v3())] {
        let options = options.dimension_names(&["lat", "lon"]).attribute("units", "K");
        let z = x.to_zarr_with(dir.join(name), &options).unwrap();
        assert_eq!(z.dimension_names().unwrap(), &[Some("lat".to_string()), Some("lon".to_string())], "{name}");
        assert_eq!(z.attributes()["units"], "K", "{name}");
    }
}

#[test]
fn an_existing_array_is_kept_unless_overwrite_is_asked() {
    let dir = scratch("exists");
    let path = dir.join("a");
    from_array(sample(&[6]), 3).to_zarr(&path).unwrap();
    match full(&[6], 1.0, 3).to_zarr(&path) {
        Err(StrataError::AlreadyExists { path: p }) => assert!(p.ends_with("a")),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(same(&from_zarr::<f64>(&path).unwrap().compute().unwrap(), &sample(&[6])));
    full(&[6], 1.0, 3).to_zarr_with(&path, &ToZarr::v3().overwrite(true)).unwrap();
    assert_eq!(from_zarr::<f64>(&path).unwrap().sum(..).scalar().unwrap(), 6.0);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn a_write_that_fails_midway_leaves_the_old_array_whole_and_no_debris() {
    let dir = scratch("failed");
    let path = dir.join("a");
    let old = from_array(sample(&[40, 10]), &[10, 10]);
    old.to_zarr(&path).unwrap();
    // The third chunk's function returns a block of the wrong shape: the computation fails
    // after some chunks were already written to the staging directory.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let failing = full(&[40, 10], 2.0, &[10, 10]).map_blocks(|b| {
        if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
            return ArrayD::zeros(IxDyn(&[1]));
        }
        b
    });
    let error = failing.to_zarr_with(&path, &ToZarr::v3().overwrite(true)).unwrap_err();
    assert!(matches!(error, StrataError::MapBlocksShape { .. }), "{error:?}");
    assert!(same(&from_zarr::<f64>(&path).unwrap().compute().unwrap(), &old.compute().unwrap()));
    assert!(leftovers(&dir).is_empty(), "staging left behind: {:?}", leftovers(&dir));
}

#[test]
fn an_old_array_left_aside_by_a_killed_writer_is_read_without_changes_and_put_back_by_the_next_write() {
    let dir = scratch("aside");
    let path = dir.join("a");
    from_array(sample(&[6]), 3).to_zarr(&path).unwrap();
    // What a writer killed between its two renames leaves: the old array moved aside under
    // the name of a process that no longer exists, nothing at the path.
    fs::rename(&path, dir.join(".a.strata-old-4194303")).unwrap();
    let back = open_array(&path).unwrap();
    assert!(same(&back.to_array::<f64>().compute().unwrap(), &sample(&[6])));
    // Reading changed nothing on disk.
    assert!(!path.exists());
    assert_eq!(leftovers(&dir), [".a.strata-old-4194303"]);
    // The next write puts the old array back first, so it is kept unless overwrite is asked.
    let refused = from_array(sample(&[4]), 2).to_zarr(&path).unwrap_err();
    assert!(matches!(refused, StrataError::AlreadyExists { .. }), "{refused:?}");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert!(same(&from_zarr::<f64>(&path).unwrap().compute().unwrap(), &sample(&[6])));
}

#[test]
fn a_corrupt_chunk_is_named_in_the_error_and_other_chunks_still_read() {
    let dir = scratch("corrupt");
    let path = dir.join("a");
    from_array(sample(&[20, 20]), &[10, 10]).to_zarr_with(&path, &ToZarr::v2()).unwrap();
    fs::write(path.join("1.0"), b"this is not a blosc frame").unwrap();
    let x: ChunkedArray<f64> = from_zarr(&path).unwrap();
    match x.sum(..).compute() {
        Err(StrataError::ChunkRead { path: p, chunk, cause }) => {
            assert!(p.ends_with("a"), "{p}");
            assert_eq!(chunk, vec![1, 0]);
            assert!(!cause.is_empty());
        }
        other => panic!("expected ChunkRead, got {other:?}"),
    }
    // Selections that avoid the bad chunk never read it.
    let top = x.isel(&[Sel::from(0..10), Sel::from(..)]).compute().unwrap();
    assert!(same(&top, &sample(&[20, 20]).slice(ndarray::s![0..10, ..]).to_owned().into_dyn()));
}

#[test]
fn a_missing_chunk_reads_as_the_fill_value_as_zarr_specifies() {
    let dir = scratch("missing");
    let path = dir.join("a");
    full(&[4, 4], 5i32, &[2, 2]).to_zarr_with(&path, &ToZarr::v3().fill_value(-1.0)).unwrap();
    fs::remove_file(path.join("c/1/1")).unwrap();
    let values = from_zarr::<i32>(&path).unwrap().compute().unwrap();
    assert_eq!(values[[3, 3]], -1);
    assert_eq!(values[[0, 0]], 5);
}

#[test]
fn paths_that_are_not_zarr_arrays_give_errors_that_say_so() {
    let dir = scratch("notzarr");
    match open_array(dir.join("nothing-here")) {
        Err(StrataError::NotZarr { cause, .. }) => assert!(cause.contains("no such directory"), "{cause}"),
        other => panic!("{other:?}"),
    }
    fs::create_dir_all(dir.join("plain")).unwrap();
    fs::write(dir.join("plain/readme.txt"), "hello").unwrap();
    assert!(matches!(open_array(dir.join("plain")), Err(StrataError::NotZarr { .. })));
    fs::create_dir_all(dir.join("broken")).unwrap();
    fs::write(dir.join("broken/zarr.json"), "{ not json").unwrap();
    assert!(matches!(open_array(dir.join("broken")), Err(StrataError::NotZarr { .. })));
    fs::create_dir_all(dir.join("strings")).unwrap();
    fs::write(
        dir.join("strings/.zarray"),
        r#"{"zarr_format":2,"shape":[3],"chunks":[3],"dtype":"<c16","compressor":null,"fill_value":null,"order":"C","filters":null}"#,
    )
    .unwrap();
    match open_array(dir.join("strings")) {
        Err(StrataError::UnsupportedZarrType { dtype, .. }) => assert!(dtype.contains("complex") || dtype.contains("c16"), "{dtype}"),
        Err(other) => assert!(matches!(other, StrataError::NotZarr { .. }), "{other:?}"),
        Ok(_) => panic!("a complex array opened"),
    }
}

#[test]
fn bad_write_options_are_refused_before_anything_is_written() {
    let dir = scratch("badopts");
    let x = from_array(sample(&[8, 8]), &[4, 4]);
    for options in [ToZarr::v2().shards(&[8, 8]), ToZarr::v3().chunks(&[3, 4]).shards(&[8, 8]), ToZarr::v3().chunks(&[4])] {
        let error = x.to_zarr_with(dir.join("a"), &options).unwrap_err();
        assert!(matches!(error, StrataError::ZarrWrite { .. }), "{error:?}");
    }
    assert!(fs::read_dir(&dir).unwrap().next().is_none(), "something was written");
}

/// Faulty stores: each fault gives an error naming the chunk, never wrong numbers.
#[test]
fn truncated_resized_and_lying_chunks_are_errors_naming_the_chunk() {
    let dir = scratch("faults");
    let data = sample(&[8, 8]);
    let x = from_array(data.clone(), &[4, 4]);
    let expect_chunk_error = |path: &Path, chunk: Vec<u64>, what: &str| {
        let read = from_zarr::<f64>(path).and_then(|a| a.compute());
        match read {
            Err(StrataError::ChunkRead { chunk: c, cause, .. }) => assert_eq!(c, chunk, "{what}: {cause}"),
            other => panic!("{what}: expected ChunkRead for {chunk:?}, got {other:?}"),
        }
    };

    // A zstd chunk cut in half.
    let p = dir.join("truncated");
    x.to_zarr(&p).unwrap();
    let file = p.join("c/1/0");
    let bytes = fs::read(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    expect_chunk_error(&p, vec![1, 0], "truncated zstd chunk");

    // An uncompressed chunk one element short, and one element long.
    for (name, delta) in [("short", -8i64), ("long", 8)] {
        let p = dir.join(format!("raw-{name}"));
        x.to_zarr_with(&p, &ToZarr::v3().compressor(Compressor::None)).unwrap();
        let file = p.join("c/0/1");
        let mut bytes = fs::read(&file).unwrap();
        bytes.resize((bytes.len() as i64 + delta) as usize, 0);
        fs::write(&file, bytes).unwrap();
        expect_chunk_error(&p, vec![0, 1], name);
    }

    // A blosc chunk whose header claims another compressed size.
    let p = dir.join("blosc-size");
    x.to_zarr_with(&p, &ToZarr::v2()).unwrap();
    let file = p.join("1.1");
    let mut bytes = fs::read(&file).unwrap();
    let claimed = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    bytes[12..16].copy_from_slice(&(claimed + 100).to_le_bytes());
    fs::write(&file, bytes).unwrap();
    expect_chunk_error(&p, vec![1, 1], "blosc chunk with a wrong compressed size");

    // Metadata that lies about the chunk shape: it says 8x8, the stored chunks hold 4x4.
    let p = dir.join("lying");
    x.to_zarr_with(&p, &ToZarr::v3().compressor(Compressor::None)).unwrap();
    let meta = fs::read_to_string(p.join("zarr.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&meta).unwrap();
    json["chunk_grid"]["configuration"]["chunk_shape"] = serde_json::json!([8, 8]);
    fs::write(p.join("zarr.json"), json.to_string()).unwrap();
    expect_chunk_error(&p, vec![0, 0], "metadata with a chunk shape the chunks do not have");
}

/// A small dataset: a float32 variable with a NaN, an integer one, a coordinate.
fn small_dataset() -> Dataset {
    let t = ArrayD::from_shape_fn(IxDyn(&[4, 6]), |i| if i[0] == 1 && i[1] == 2 { f32::NAN } else { (i[0] * 6 + i[1]) as f32 * 0.25 });
    let n = ArrayD::from_shape_fn(IxDyn(&[4, 6]), |i| (i[0] * 10 + i[1]) as i32);
    let t = DataArray::new(from_array(t, [2, 3]), &["y", "x"]).unwrap().with_attr("units", "K");
    let n = DataArray::new(from_array(n, [4, 6]), &["y", "x"]).unwrap();
    Dataset::new().with_var("t", &t).unwrap().with_var("n", &n).unwrap().with_coord("x", Coordinate::new(&["x"], Values::from_f64((0..6).map(|i| i as f64 * 1.5).collect()))).unwrap()
}

fn same_labeled(a: &DataArray<f64>, b: &DataArray<f64>) -> bool {
    a.dims() == b.dims() && same(&a.values().unwrap(), &b.values().unwrap())
}

#[test]
fn a_consolidated_store_opens_from_its_consolidated_metadata_alone() {
    let dir = scratch("consolidated");
    for (format, per_array) in [(ToZarr::v2(), &[".zarray", ".zattrs"][..]), (ToZarr::v3(), &["zarr.json"][..])] {
        let path = dir.join("store.zarr");
        let _ = fs::remove_dir_all(&path);
        let ds = small_dataset();
        ds.to_zarr_with(&path, &format).unwrap();
        // Each array's own metadata files gone: only the consolidated copy is left to read.
        for name in ["t", "n", "x"] {
            for file in per_array {
                let _ = fs::remove_file(path.join(name).join(file));
            }
        }
        let opened = open_zarr(&path).unwrap();
        assert_eq!(opened.data_vars(), ["n", "t"]);
        assert!(same_labeled(&opened.var("t").unwrap(), &ds.var("t").unwrap()));
        assert!(same_labeled(&opened.var("n").unwrap(), &ds.var("n").unwrap()));
        assert_eq!(opened.var("t").unwrap().attrs().get("units"), Some(&serde_json::json!("K")));
        assert_eq!(opened.var("t").unwrap().dims(), ["y", "x"]);
    }
    // Without consolidated metadata, the store's directories are listed and read one by one.
    let path = dir.join("plain.zarr");
    small_dataset().to_zarr_with(&path, &ToZarr::v2()).unwrap();
    fs::remove_file(path.join(".zmetadata")).unwrap();
    let opened = open_zarr(&path).unwrap();
    assert!(same_labeled(&opened.var("t").unwrap(), &small_dataset().var("t").unwrap()));
}
