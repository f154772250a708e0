//! Writing an array to Zarr (v2 or v3; blosc, zstd, gzip or no compression; v3 sharding), in
//! the layout zarr-python and xarray read.
//!
//! Nothing a reader can see is ever half-written. Chunks are computed and written in streaming
//! waves into a hidden staging directory next to the target, each chunk file atomically
//! ([`super::store`]); only when every chunk is written does the staging directory replace
//! the target by rename. An error or an interrupt leaves the target as it was (absent, or the
//! old array) and removes the staging directory; a process killed outright leaves only a
//! hidden `.NAME.strata-partial-PID` directory, which the next write to the same path removes.

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};

use crate::array::block::slice_info;
use serde_json::{json, Map, Value};
use zarrs::array::{Array, ArrayMetadata, ArrayMetadataV2, ArrayMetadataV3};

use super::dir::{Dir, DirKind};
use super::read::open_array;
use super::store::PARTIAL_MARKER;
use crate::storage::object::{ObjectStores, Remote};
use crate::storage::Location;
use crate::zarr::{BloscShuffle, Compressor, ToZarr, ZarrArray, ZarrFormat};
use crate::array::{Block, BlockElement, ChunkGrid, DType};
use crate::error::Error;
use crate::exec::for_each_region;
use crate::plan::NodeRef;

/// The v2 `compressor` entry for `compressor`.
fn codec_v2(compressor: Compressor) -> Value {
    match compressor {
        Compressor::None => Value::Null,
        Compressor::Blosc { cname, clevel, shuffle } => json!({
            "id": "blosc", "cname": cname.name(), "clevel": clevel,
            "shuffle": match shuffle { BloscShuffle::None => 0, BloscShuffle::Byte => 1, BloscShuffle::Bit => 2 },
            // No typesize: numcodecs' Blosc (zarr-python 2) takes none and infers it.
            "blocksize": 0,
        }),
        Compressor::Zstd { level } => json!({ "id": "zstd", "level": level }),
        Compressor::Gzip { level } => json!({ "id": "gzip", "level": level }),
    }
}

/// The v3 codec entry for `compressor` (none for no compression).
fn codec_v3(compressor: Compressor, dtype: DType) -> Option<Value> {
    Some(match compressor {
        Compressor::None => return None,
        Compressor::Blosc { cname, clevel, shuffle } => json!({ "name": "blosc", "configuration": {
            "cname": cname.name(), "clevel": clevel,
            "shuffle": match shuffle { BloscShuffle::None => "noshuffle", BloscShuffle::Byte => "shuffle", BloscShuffle::Bit => "bitshuffle" },
            "typesize": dtype.size_of(), "blocksize": 0,
        }}),
        Compressor::Zstd { level } => json!({ "name": "zstd", "configuration": { "level": level, "checksum": false } }),
        Compressor::Gzip { level } => json!({ "name": "gzip", "configuration": { "level": level } }),
    })
}

/// Computes `node` and writes it as a Zarr array at `at`, all or nothing (see
/// [`write_staged`]); returns the written array, opened.
pub(crate) fn write_array(stores: &ObjectStores, node: &NodeRef, at: &Location, options: &ToZarr) -> Result<ZarrArray, Error> {
    write_staged(stores, at, options.overwrite, |dir| write_array_into(node, dir, options))?;
    open_array(stores, at)
}

/// Computes `node` and writes it as a Zarr array into `dir`: its chunks first, its metadata
/// last, so that where `dir` is the final place (a new store in a bucket) no reader sees an
/// array before its chunks are all there.
pub(crate) fn write_array_into(node: &NodeRef, dir: &Dir, options: &ToZarr) -> Result<(), Error> {
    let shown = dir.shown();
    let fail = |cause: String| Error::ZarrWrite { path: shown.clone(), cause };
    if let Some(error) = node.first_error() {
        return Err(error);
    }
    let shape = node.shape();
    let chunks = options.chunks.clone().unwrap_or_else(|| node.grid.chunk_shape());
    let layout = Layout::new(&shape, chunks, options.shards.clone(), options.format).map_err(&fail)?;
    let fill = options.fill_value.unwrap_or(if node.dtype.is_float() { f64::NAN } else { 0.0 });
    let metadata = metadata(node.dtype, &shape, &layout, fill, options).map_err(&fail)?;
    let array = Array::new_with_metadata(dir.writable()?, "/", metadata).map_err(|e| fail(e.to_string()))?;
    let grid = ChunkGrid::regular(&shape, &layout.file_shape)?;
    let grid_shape = grid.grid_shape();
    for_each_region(node, &grid, &options.compute, |index, _region, block| {
        let indices = super::unravel(index, &grid_shape);
        let block = pad(block, &layout.file_shape, fill);
        crate::with_block!(&block, values, _T => array.store_chunk(&indices, values)).map_err(|e| fail(format!("chunk {indices:?}: {e}")))
    })?;
    array
        .store_metadata_opt(&zarrs::array::ArrayMetadataOptions::default().with_include_zarrs_metadata(false))
        .map_err(|e| fail(e.to_string()))
}

/// Writes a Zarr node at `at` all or nothing: `write` fills a directory that becomes `at`
/// only once complete. An error (or an interrupt) leaves `at` as it was.
///
/// On a local file system, `write` fills a hidden staging directory that replaces `at` by
/// rename; debris of writers that were killed is cleaned up first. In an object store,
/// where nothing renames a directory, see [`write_staged_remote`].
pub(crate) fn write_staged(stores: &ObjectStores, at: &Location, overwrite: bool, write: impl FnOnce(&Dir) -> Result<(), Error>) -> Result<(), Error> {
    if at.scheme() == Some("reference") {
        return Err(Error::ZarrWrite { path: at.to_string(), cause: "a reference set is read-only: write the dataset to a Zarr store or a NetCDF file".into() });
    }
    match at.local_path() {
        Some(path) => write_staged_local(&path, overwrite, |staging| write(&Dir::local(staging))),
        None => {
            let target = stores.remote(at)?;
            write_staged_remote(&target, overwrite, |remote| write(&Dir { at: Location::new(remote.url(), at.storage()), kind: DirKind::Remote(remote.clone()) }))
        }
    }
}

/// Marks a directory in an object store as being written: written first and deleted last, so
/// that what a killed writer left is recognised as debris and removed by the next write.
const WRITING_MARKER: &str = ".strata-writing";

/// Whether `key` is Zarr metadata (what makes a node visible to readers).
fn is_metadata(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    matches!(name, "zarr.json" | ".zarray" | ".zattrs" | ".zgroup" | ".zmetadata")
}

/// [`write_staged`] in an object store, which has no rename: what makes a store visible is its
/// root metadata, so that is written last.
///
/// - Nothing at `target` (or only a killed writer's debris): `write` fills `target` itself,
///   chunks before metadata; on error everything it wrote is deleted.
/// - A store at `target`, with `overwrite`: `write` fills a hidden sibling prefix, so a
///   failed write leaves the old store whole. Then the old store's root metadata is deleted
///   (it disappears, rather than mixing old and new), the new keys are copied in by the
///   server (chunks, then metadata, the root's last), keys of the old store that the new one
///   lacks are deleted, and so is the staging prefix.
fn write_staged_remote(target: &Remote, overwrite: bool, write: impl FnOnce(&Remote) -> Result<(), Error>) -> Result<(), Error> {
    let existing = target.list()?;
    let debris = existing.iter().any(|k| k == WRITING_MARKER);
    let is_store = existing.iter().any(|k| !k.contains('/') && is_metadata(k));
    if !existing.is_empty() && !debris && !overwrite {
        return Err(Error::AlreadyExists { path: target.url().to_owned() });
    }
    if existing.is_empty() || debris || !is_store {
        target.delete(&existing)?;
        target.put(WRITING_MARKER, bytes::Bytes::from(format!("pid {}", std::process::id())))?;
        if let Err(error) = write(target) {
            let _ = target.delete_all();
            return Err(error);
        }
        return target.delete(&[WRITING_MARKER.to_owned()]);
    }
    let name = target.url().rsplit('/').next().unwrap_or_default().to_owned();
    let staging = target.sibling(&format!(".{name}{PARTIAL_MARKER}-{}", std::process::id()));
    staging.delete_all()?;
    if let Err(error) = write(&staging) {
        let _ = staging.delete_all();
        return Err(error);
    }
    let new = staging.list()?;
    let root_metadata: Vec<String> = existing.iter().filter(|k| !k.contains('/') && is_metadata(k)).cloned().collect();
    target.delete(&root_metadata)?;
    let (metadata, chunks): (Vec<String>, Vec<String>) = new.iter().cloned().partition(|k| is_metadata(k));
    let (root, inner): (Vec<String>, Vec<String>) = metadata.into_iter().partition(|k| !k.contains('/'));
    staging.copy_to(target, &chunks)?;
    staging.copy_to(target, &inner)?;
    let stale: Vec<String> = existing.iter().filter(|k| !new.contains(k) && !root_metadata.contains(k)).cloned().collect();
    target.delete(&stale)?;
    staging.copy_to(target, &root)?;
    staging.delete_all()
}

fn write_staged_local(path: &Path, overwrite: bool, write: impl FnOnce(&Path) -> Result<(), Error>) -> Result<(), Error> {
    let shown = path.display().to_string();
    let fail = |cause: String| Error::ZarrWrite { path: shown.clone(), cause };
    recover(path);
    if path.exists() && !overwrite {
        return Err(Error::AlreadyExists { path: shown });
    }
    let staging = sibling(path, &format!("{PARTIAL_MARKER}-{}", std::process::id())).map_err(&fail)?;
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| fail(format!("cannot create {}: {e}", staging.display())))?;
    if let Err(error) = write(&staging) {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    replace(&staging, path).map_err(|e| {
        let _ = fs::remove_dir_all(&staging);
        fail(e.to_string())
    })
}

/// The stored chunk shape and, when sharded, the shard shape (what one file holds).
struct Layout {
    chunks: Vec<usize>,
    /// The shape of one file: the shard when sharded, else the chunk.
    file_shape: Vec<usize>,
    sharded: bool,
}

impl Layout {
    fn new(shape: &[usize], chunks: Vec<usize>, shards: Option<Vec<usize>>, format: ZarrFormat) -> Result<Layout, String> {
        let check = |what: &str, s: &[usize]| {
            if s.len() != shape.len() {
                return Err(format!("{what} {s:?} has {} axes, the array has {}", s.len(), shape.len()));
            }
            if s.contains(&0) {
                return Err(format!("{what} {s:?} has a zero length"));
            }
            Ok(())
        };
        // A chunk longer than its axis is legal in Zarr, but a 0-length axis still needs a
        // chunk length of at least 1.
        let chunks: Vec<usize> = chunks.iter().map(|&c| c.max(1)).collect();
        check("chunk shape", &chunks)?;
        match shards {
            None => Ok(Layout { file_shape: chunks.clone(), chunks, sharded: false }),
            Some(_) if format == ZarrFormat::V2 => Err("sharding needs Zarr v3".into()),
            Some(shards) => {
                check("shard shape", &shards)?;
                if shards.iter().zip(&chunks).any(|(s, c)| s % c != 0) {
                    return Err(format!("shard shape {shards:?} is not a multiple of the chunk shape {chunks:?}"));
                }
                Ok(Layout { chunks, file_shape: shards, sharded: true })
            }
        }
    }
}

fn v2_dtype(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "|b1",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The fill value as both Zarr versions spell it in JSON.
fn fill_json(dtype: DType, fill: f64) -> Value {
    match dtype {
        DType::Bool => json!(fill != 0.0),
        d if d.is_float() && fill.is_nan() => json!("NaN"),
        d if d.is_float() && fill.is_infinite() => json!(if fill > 0.0 { "Infinity" } else { "-Infinity" }),
        d if d.is_float() => json!(fill),
        d if d.is_unsigned_int() => json!(fill as u64),
        _ => json!(fill as i64),
    }
}

fn metadata(dtype: DType, shape: &[usize], layout: &Layout, fill: f64, options: &ToZarr) -> Result<ArrayMetadata, String> {
    let mut attributes = options.attributes.clone();
    let invalid = |e: serde_json::Error| format!("invalid metadata: {e}");
    match options.format {
        ZarrFormat::V2 => {
            if let Some(names) = &options.dimension_names {
                attributes.insert("_ARRAY_DIMENSIONS".into(), json!(names));
            }
            let compressor = options.compressor.unwrap_or_else(Compressor::blosc_lz4);
            let value = json!({
                "node_type": "array", "zarr_format": 2, "shape": shape, "chunks": layout.chunks,
                "dtype": v2_dtype(dtype), "compressor": codec_v2(compressor), "fill_value": if options.no_fill_value { Value::Null } else { fill_json(dtype, fill) },
                "order": "C", "filters": null, "dimension_separator": ".", "attributes": attributes,
            });
            serde_json::from_value::<ArrayMetadataV2>(value).map(ArrayMetadata::V2).map_err(invalid)
        }
        ZarrFormat::V3 => {
            let compressor = options.compressor.unwrap_or(Compressor::Zstd { level: 0 });
            let bytes = json!({ "name": "bytes", "configuration": { "endian": "little" } });
            let mut codecs = vec![bytes.clone()];
            codecs.extend(codec_v3(compressor, dtype));
            if layout.sharded {
                codecs = vec![json!({ "name": "sharding_indexed", "configuration": {
                    "chunk_shape": layout.chunks, "codecs": codecs,
                    "index_codecs": [bytes, { "name": "crc32c" }], "index_location": "end",
                }})];
            }
            let mut value = json!({
                "node_type": "array", "zarr_format": 3, "shape": shape, "data_type": dtype.name(),
                "chunk_grid": { "name": "regular", "configuration": { "chunk_shape": layout.file_shape } },
                "chunk_key_encoding": { "name": "default", "configuration": { "separator": "/" } },
                "fill_value": fill_json(dtype, fill), "codecs": codecs, "attributes": attributes,
            });
            if let Some(names) = &options.dimension_names {
                value["dimension_names"] = json!(names);
            }
            serde_json::from_value::<ArrayMetadataV3>(value).map(ArrayMetadata::V3).map_err(invalid)
        }
    }
}

/// An edge chunk, padded with the fill value to the full chunk shape Zarr stores.
fn pad(block: Block, shape: &[usize], fill: f64) -> Block {
    if block.shape() == shape {
        return block;
    }
    let info = slice_info(&block.shape().iter().map(|&n| 0..n).collect::<Vec<_>>());
    crate::with_block!(&block, values, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(shape), <T as crate::array::Element>::from_f64(fill));
        out.slice_mut(info.as_slice()).assign(values);
        <T as BlockElement>::wrap(out)
    })
}

/// `path` with its file name turned into the hidden `.NAME{suffix}`.
fn sibling(path: &Path, suffix: &str) -> Result<PathBuf, String> {
    let name = path.file_name().ok_or_else(|| "the path has no final component".to_string())?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}{suffix}", name.to_string_lossy())))
}

/// What a killed writer to `path` left beside it: its staging directory, or the old array it
/// had moved aside.
struct Leftover {
    entry: PathBuf,
    moved_aside: bool,
}

/// The leftovers of writers to `path` whose process is gone (this process's own are in use).
fn leftovers_of_dead_writers(path: &Path) -> Vec<Leftover> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { return Vec::new() };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let name = name.to_string_lossy();
    let (staging, moved) = (format!(".{name}{PARTIAL_MARKER}-"), format!(".{name}{OLD_MARKER}-"));
    let Ok(entries) = fs::read_dir(parent) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let (moved_aside, pid) = match (file.strip_prefix(&staging), file.strip_prefix(&moved)) {
                (Some(pid), _) => (false, pid.parse::<u32>().ok()?),
                (_, Some(pid)) => (true, pid.parse::<u32>().ok()?),
                _ => return None,
            };
            let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
            (!alive).then(|| Leftover { entry: entry.path(), moved_aside })
        })
        .collect()
}

/// Cleans up after writers to `path` that were killed: their staging directories are
/// removed, and an old array one of them had moved aside (killed between its two renames) is
/// put back if nothing replaced it.
pub(crate) fn recover(path: &Path) {
    for leftover in leftovers_of_dead_writers(path) {
        if leftover.moved_aside && !path.exists() {
            let _ = fs::rename(&leftover.entry, path);
        } else {
            let _ = fs::remove_dir_all(&leftover.entry);
        }
    }
}

/// Where the array or group at `path` can be read without changing anything on disk: `path`
/// itself, or, when a writer was killed between moving the old array aside and renaming the
/// new one in, the complete old array it left (the next write puts it back, see [`recover`]).
pub(crate) fn readable_location(path: &Path) -> PathBuf {
    if path.exists() {
        return path.to_owned();
    }
    leftovers_of_dead_writers(path).into_iter().find(|l| l.moved_aside).map_or_else(|| path.to_owned(), |l| l.entry)
}

/// Marks an old array moved aside while its replacement is renamed into place.
const OLD_MARKER: &str = ".strata-old";

/// Puts the complete `staging` directory at `path`, replacing what was there.
fn replace(staging: &Path, path: &Path) -> std::io::Result<()> {
    if path.exists() {
        let old = sibling(path, &format!("{OLD_MARKER}-{}", std::process::id())).map_err(std::io::Error::other)?;
        let _ = fs::remove_dir_all(&old);
        fs::rename(path, &old)?;
        if let Err(e) = fs::rename(staging, path) {
            let _ = fs::rename(&old, path);
            return Err(e);
        }
        let _ = fs::remove_dir_all(&old);
    } else {
        fs::rename(staging, path)?;
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Creates a Zarr group at `path` (metadata only), so that arrays written inside it form one
/// store zarr-python and xarray open as a whole.
pub(crate) fn create_group(dir: &Dir, format: ZarrFormat, attributes: &Map<String, Value>) -> Result<(), Error> {
    if let DirKind::Local(path) = &dir.kind {
        fs::create_dir_all(path).map_err(|e| Error::ZarrWrite { path: dir.shown(), cause: e.to_string() })?;
    }
    let json = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    match format {
        // The attributes first: `.zgroup` is what makes the group visible.
        ZarrFormat::V2 => {
            dir.write(".zattrs", json(&Value::Object(attributes.clone())))?;
            dir.write(".zgroup", json(&json!({ "zarr_format": 2 })))
        }
        ZarrFormat::V3 => {
            let meta = json!({ "zarr_format": 3, "node_type": "group", "attributes": attributes });
            dir.write("zarr.json", json(&meta))
        }
    }
}
