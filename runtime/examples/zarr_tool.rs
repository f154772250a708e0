//! The runtime's Zarr reader and writer from the command line, for the interop tests in which
//! zarr-python writes what the runtime reads and reads what it writes
//! (tests/test_zarr_interop.py).
//!
//! ```text
//! zarr_tool dump SRC [SELECTION]      JSON: metadata and the (selected) values as f64
//! zarr_tool copy SRC DST FORMAT COMPRESSOR [CHUNKS [SHARDS]] [--overwrite]
//!           [--threads=N] [--chunk-delay-ms=D]
//! ```
//! SELECTION is one item per axis, comma-separated: `i` or `start:stop[:step]` (either bound
//! may be empty). FORMAT is v2 or v3; COMPRESSOR is none, blosc-lz4, blosc-zstd, zstd or gzip;
//! CHUNKS and SHARDS are shapes such as `4x5x6`. `--chunk-delay-ms` makes each chunk wait D ms
//! before it is written and `--threads` limits how many are written at once, so that a test can
//! interrupt a write that lasts seconds on any machine, however fast.
//!
//! SRC and DST may be URLs (`s3://bucket/store.zarr/sst`), reached as the environment says
//! (`AWS_*`), or with `--anon`, `--endpoint=URL`, `--timeout-ms=T` and `--retries=N` (the
//! object-storage tests use these to reach a server that hangs or dies).

use std::process::ExitCode;

use serde_json::{json, Value};
use strata::array::BlockElement;
use strata::prelude::*;
use strata::zarr::{BloscCompressor, BloscShuffle};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let overwrite = args.iter().any(|a| a == "--overwrite");
    let flag = |name: &str| args.iter().find_map(|a| a.strip_prefix(name)).map(str::to_string);
    let pace = Pace { threads: flag("--threads="), delay_ms: flag("--chunk-delay-ms=") };
    let storage = match storage(&flag, args.iter().any(|a| a == "--anon")) {
        Ok(storage) => storage,
        Err(message) => {
            eprintln!("zarr_tool: {message}");
            return ExitCode::FAILURE;
        }
    };
    args.retain(|a| !a.starts_with("--"));
    let result = match args.first().map(String::as_str) {
        Some("dump") if args.len() >= 2 => dump(&args[1], args.get(2).map(String::as_str), &storage),
        Some("copy") if args.len() >= 5 => copy(&args[1..], overwrite, &pace, &storage),
        _ => Err("usage: zarr_tool dump SRC [SELECTION] | copy SRC DST FORMAT COMPRESSOR [CHUNKS [SHARDS]]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zarr_tool: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The object-store options the flags give.
fn storage(flag: &dyn Fn(&str) -> Option<String>, anon: bool) -> Result<Storage, String> {
    let mut storage = Storage::new();
    if anon {
        storage = storage.anonymous();
    }
    if let Some(endpoint) = flag("--endpoint=") {
        storage = storage.endpoint(endpoint);
    }
    if let Some(ms) = flag("--timeout-ms=") {
        storage = storage.timeout(std::time::Duration::from_millis(ms.parse().map_err(|_| format!("bad --timeout-ms={ms}"))?));
    }
    if let Some(n) = flag("--retries=") {
        storage = storage.retries(n.parse().map_err(|_| format!("bad --retries={n}"))?);
    }
    Ok(storage)
}

fn parse_selection(spec: &str) -> Result<Vec<Sel>, String> {
    spec.split(',')
        .map(|item| {
            let number = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("bad selection item {item:?}"));
            let parts: Vec<&str> = item.split(':').collect();
            match parts.as_slice() {
                [i] => Ok(Sel::Index(number(i)?)),
                [a, b] | [a, b, _] => {
                    let start = if a.is_empty() { 0 } else { number(a)? };
                    let stop = if b.is_empty() { None } else { Some(number(b)?) };
                    let step = if let [_, _, c] = parts.as_slice() { number(c)? } else { 1 };
                    let sel = match stop {
                        Some(stop) => Sel::from(start..stop),
                        None => Sel::from(start..),
                    };
                    Ok(sel.step(step))
                }
                _ => Err(format!("bad selection item {item:?}")),
            }
        })
        .collect()
}

fn dump(src: &str, selection: Option<&str>, storage: &Storage) -> Result<(), String> {
    let z = open_array_with(src, storage).map_err(|e| e.to_string())?;
    let mut x: ChunkedArray<f64> = z.to_array();
    if let Some(spec) = selection {
        x = x.isel(&parse_selection(spec)?);
    }
    let values = x.compute().map_err(|e| e.to_string())?;
    let out = json!({
        "shape": z.shape(),
        "selected_shape": values.shape(),
        "dtype": z.dtype().to_string(),
        "zarr_format": z.zarr_format(),
        "chunks": z.chunks(),
        "dimension_names": z.dimension_names(),
        "attributes": z.attributes(),
        "fill_value": z.fill_value(),
        // Row-major; NaN becomes null (JSON has no NaN).
        "values": values.iter().map(|&v| if v.is_nan() { Value::Null } else { json!(v) }).collect::<Vec<_>>(),
    });
    println!("{out}");
    Ok(())
}

fn shape(spec: &str) -> Result<Vec<usize>, String> {
    spec.split('x').map(|n| n.parse::<usize>().map_err(|_| format!("bad shape {spec:?}"))).collect()
}

/// How fast `copy` writes: `--threads=N` and `--chunk-delay-ms=D`, as given.
struct Pace {
    threads: Option<String>,
    delay_ms: Option<String>,
}

fn copy(args: &[String], overwrite: bool, pace: &Pace, storage: &Storage) -> Result<(), String> {
    let (src, dst, format, compressor) = (&args[0], &args[1], &args[2], &args[3]);
    let z = open_array_with(src, storage).map_err(|e| e.to_string())?;
    let mut options = match format.as_str() {
        "v2" => ToZarr::v2(),
        "v3" => ToZarr::v3(),
        other => return Err(format!("unknown format {other:?}")),
    };
    let blosc = |cname| Compressor::Blosc { cname, clevel: 5, shuffle: BloscShuffle::Byte };
    options = options.compressor(match compressor.as_str() {
        "none" => Compressor::None,
        "blosc-lz4" => blosc(BloscCompressor::Lz4),
        "blosc-zstd" => blosc(BloscCompressor::Zstd),
        "zstd" => Compressor::Zstd { level: 3 },
        "gzip" => Compressor::Gzip { level: 5 },
        other => return Err(format!("unknown compressor {other:?}")),
    });
    if let Some(chunks) = args.get(4) {
        options = options.chunks(&shape(chunks)?);
    }
    if let Some(shards) = args.get(5) {
        options = options.shards(&shape(shards)?);
    }
    options = options.overwrite(overwrite).storage(storage);
    if let Some(fill) = z.fill_value().as_f64() {
        options = options.fill_value(fill);
    }
    options.attributes = z.attributes().clone();
    options.attributes.remove("_ARRAY_DIMENSIONS");
    if let Some(names) = z.dimension_names() {
        let names: Vec<String> = names.iter().map(|n| n.clone().unwrap_or_default()).collect();
        options = options.dimension_names(&names);
    }
    if let Some(threads) = &pace.threads {
        options.compute = options.compute.clone().threads(threads.parse().map_err(|_| format!("bad --threads={threads}"))?);
    }
    let delay = match &pace.delay_ms {
        Some(ms) => std::time::Duration::from_millis(ms.parse().map_err(|_| format!("bad --chunk-delay-ms={ms}"))?),
        None => std::time::Duration::ZERO,
    };
    fn write<T: BlockElement>(z: &ZarrArray, dst: &str, options: &ToZarr, delay: std::time::Duration) -> Result<(), String> {
        let mut array = z.to_array::<T>();
        if !delay.is_zero() {
            array = array.map_blocks(move |chunk| {
                std::thread::sleep(delay);
                chunk
            });
        }
        array.to_zarr_with(dst, options).map(|_| ()).map_err(|e| e.to_string())
    }
    strata::with_dtype!(z.dtype(), T => write::<T>(&z, dst, &options, delay))
}
