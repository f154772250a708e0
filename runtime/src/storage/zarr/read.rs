//! Opening a Zarr array (v2 or v3, any codec zarrs decodes) as a lazy source. Opening reads
//! only the metadata; chunks are read by the tasks that need them, and only the part of a
//! chunk a selection keeps (zarrs decodes sharded chunks partially).

use std::ops::Range;

use serde_json::{Map, Value};
use zarrs::array::{Array, ArrayMetadata};
use zarrs::plugin::{ExtensionName, ZarrVersion};
use zarrs::storage::ReadableStorageTraits;

use super::dir::{Dir, DirKind};
use crate::storage::object::{ObjectStores, Remote};
use crate::storage::references::ReferenceStore;
use crate::storage::Location;

use crate::array::{Block, BlockElement, ChunkGrid, ChunkSpec, DType};
use crate::error::Error;
use crate::plan::ZarrRef;
use crate::zarr::ZarrArray;

/// What a task reads chunks through: the zarrs array of a [`ZarrRef`], opened once per
/// process from the reference's metadata (no metadata read from disk) and kept in its handle.
struct OpenedZarr {
    array: Array<dyn ReadableStorageTraits>,
    /// Chunks per axis, for turning a chunk's row-major number into its indices.
    grid_shape: Vec<usize>,
    /// The full (unbounded) chunk shape; edge chunks are stored padded to it.
    chunk_shape: Vec<usize>,
    /// Where chunks are fetched ahead from; `None` for a local array.
    remote: Option<Fetched>,
}

/// What an array's chunks can be fetched ahead from.
enum Fetched {
    Remote(Remote),
    /// A reference set whose chunks lie in objects.
    References(ReferenceStore),
}

impl OpenedZarr {
    fn new(array: Array<dyn ReadableStorageTraits>, dir: &Dir) -> Result<OpenedZarr, String> {
        let ndim = array.shape().len();
        let grid_shape = array.chunk_grid_shape().iter().map(|&n| n as usize).collect();
        let chunk_shape = array.chunk_shape(&vec![0; ndim]).map_err(|e| e.to_string())?.iter().map(|n| n.get() as usize).collect();
        let remote = match &dir.kind {
            DirKind::Remote(remote) => Some(Fetched::Remote(remote.clone())),
            DirKind::Reference { set, prefix } => Some(Fetched::References(ReferenceStore { set: set.clone(), prefix: prefix.clone() })),
            DirKind::Local(_) => None,
        };
        Ok(OpenedZarr { array, grid_shape, chunk_shape, remote })
    }

    /// The array `source` describes, from its metadata.
    fn from_ref(stores: &ObjectStores, source: &ZarrRef) -> Result<OpenedZarr, Error> {
        let dir = Dir::open(&source.location, stores)?;
        let array = array_from_metadata(&dir, source.metadata.clone())?;
        OpenedZarr::new(array, &dir).map_err(|cause| Error::NotZarr { path: source.location.to_string(), cause })
    }
}

/// The zarrs array in `dir` whose metadata is `metadata` (a `zarr.json` document, or a
/// `.zarray` one with its `.zattrs` under `"attributes"`): nothing is read until a chunk is.
fn array_from_metadata(dir: &Dir, metadata: Value) -> Result<Array<dyn ReadableStorageTraits>, Error> {
    let not_zarr = |cause: String| Error::NotZarr { path: dir.shown(), cause };
    let metadata: ArrayMetadata = serde_json::from_value(metadata).map_err(|e| not_zarr(format!("metadata: {e}")))?;
    Array::new_with_metadata(dir.readable()?, "/", metadata).map_err(|e| not_zarr(e.to_string()))
}

/// The metadata of the array in `dir`, in the form zarrs reads (`zarr.json`, or `.zarray`
/// with `.zattrs` as `"attributes"`); `None` when `dir` holds no array.
pub(crate) fn array_metadata(dir: &Dir) -> Result<Option<Value>, Error> {
    if let Some(doc) = dir.read_json("zarr.json")? {
        return Ok((doc.get("node_type").and_then(Value::as_str) == Some("array")).then_some(doc));
    }
    let Some(mut zarray) = dir.read_json(".zarray")? else { return Ok(None) };
    let attrs = dir.read_json(".zattrs")?.unwrap_or_else(|| Value::Object(Map::new()));
    if let Some(object) = zarray.as_object_mut() {
        object.insert("attributes".into(), attrs);
    }
    Ok(Some(zarray))
}

/// A Zarr array of text read whole, as xarray writes strings (fixed-width `<U` and `|S`,
/// zarr-python 3's `fixed_length_utf32`, and variable-length `string` / `|O` with the
/// `vlen-utf8` codec): `None` when the array at `location` holds something else. `metadata`
/// is its document as a group's consolidated metadata gives it, or read from the directory.
///
/// xarray writes a v2 text array's fill value as `null`, which zarrs refuses for these types:
/// it reads as the empty string, which is what unwritten text chunks hold.
pub(crate) fn read_text_array(dir: &Dir, metadata: Option<Value>) -> Result<Option<(ndarray::ArrayD<String>, Map<String, Value>, Option<Vec<Option<String>>>)>, Error> {
    let not_zarr = |cause: String| Error::NotZarr { path: dir.shown(), cause };
    let metadata = match metadata {
        Some(metadata) => Some(metadata),
        None => array_metadata(dir)?,
    };
    let Some(mut metadata) = metadata else {
        return Ok(None);
    };
    let v2_text = metadata.get("dtype").and_then(Value::as_str).is_some_and(|d| d.len() > 1 && (d[1..].starts_with('U') || d[1..].starts_with('S') || d == "|O"));
    if v2_text && metadata.get("fill_value").is_some_and(Value::is_null) {
        metadata["fill_value"] = Value::String(String::new());
    }
    let Ok(array) = array_from_metadata(dir, metadata.clone()) else { return Ok(None) };
    let subset = zarrs::array::ArraySubset::new_with_shape(array.shape().to_vec());
    let failed = |e: zarrs::array::ArrayError| not_zarr(e.to_string());
    let name = array.data_type().name(ZarrVersion::V3).map(|n| n.into_owned()).unwrap_or_default();
    let strings: Vec<String> = match name.as_str() {
        "string" => array.retrieve_array_subset::<Vec<String>>(&subset).map_err(failed)?,
        "fixed_length_utf32" => array.retrieve_array_subset::<Vec<Vec<char>>>(&subset).map_err(failed)?.into_iter().map(|c| c.into_iter().collect()).collect(),
        _ => return Ok(None),
    };
    let shape: Vec<usize> = array.shape().iter().map(|&n| n as usize).collect();
    let values = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), strings).map_err(|e| not_zarr(e.to_string()))?;
    let attributes = array.attributes().clone();
    let names = dimension_names(&metadata, &attributes);
    Ok(Some((values, attributes, names)))
}

/// Opens the Zarr array whose directory is `path` (an array at a store's root, or inside a
/// group: `store.zarr/temperature`). Only reads: where a writer was killed while swapping in
/// a new array, the complete old one it had moved aside is read (and put back by the next
/// write).
pub(crate) fn open_array(stores: &ObjectStores, at: &Location) -> Result<ZarrArray, Error> {
    let not_zarr = |cause: String| Error::NotZarr { path: at.to_string(), cause };
    let dir = match at.local_path() {
        Some(path) => {
            let location = super::write::readable_location(&path);
            if !location.is_dir() {
                return Err(not_zarr("no such directory".into()));
            }
            Dir::local(location)
        }
        None => Dir::open(at, stores)?,
    };
    let metadata = array_metadata(&dir)?.ok_or_else(|| not_zarr("no Zarr array metadata (zarr.json or .zarray) here".into()))?;
    describe(&dir, array_from_metadata(&dir, metadata)?)
}

/// The array in `dir` as a group's consolidated metadata describes it (see
/// [`array_from_metadata`]).
pub(crate) fn open_array_described(dir: &Dir, metadata: Value) -> Result<ZarrArray, Error> {
    describe(dir, array_from_metadata(dir, metadata)?)
}

/// A [`ZarrArray`] for an opened zarrs array read from `dir`.
fn describe(dir: &Dir, array: Array<dyn ReadableStorageTraits>) -> Result<ZarrArray, Error> {
    let path = dir.shown();
    let not_zarr = |cause: String| Error::NotZarr { path: path.clone(), cause };
    let name = array.data_type().name(ZarrVersion::V3).map(|n| n.into_owned()).unwrap_or_default();
    // zarrs names v2 types by their v3 names too.
    let dtype = DType::from_name(&name)
        .ok_or_else(|| Error::UnsupportedZarrType { path: path.clone(), dtype: array.data_type().to_string() })?;
    let metadata = serde_json::to_value(array.metadata()).map_err(|e| not_zarr(e.to_string()))?;
    let zarr_format = metadata.get("zarr_format").and_then(Value::as_u64).unwrap_or(3) as u8;
    let attributes = array.attributes().clone();
    let dimension_names = dimension_names(&metadata, &attributes);
    let fill_value = metadata.get("fill_value").cloned().unwrap_or(Value::Null);

    let shape: Vec<usize> = array.shape().iter().map(|&n| n as usize).collect();
    let grid_shape: Vec<usize> = array.chunk_grid_shape().iter().map(|&n| n as usize).collect();
    let ndim = shape.len();
    let mut chunks = Vec::with_capacity(ndim);
    for axis in 0..ndim {
        let mut lengths = Vec::with_capacity(grid_shape[axis]);
        for i in 0..grid_shape[axis] {
            let mut index = vec![0u64; ndim];
            index[axis] = i as u64;
            let subset = array.chunk_subset_bounded(&index).map_err(|e| not_zarr(e.to_string()))?;
            lengths.push(subset.shape()[axis] as usize);
        }
        chunks.push(lengths);
    }
    let grid = ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), dtype.size_of())?;
    let source = ZarrRef::new(dir.at.clone(), metadata);
    // The array is open already: tasks read through it rather than open it again.
    let opened = OpenedZarr::new(array, dir).map_err(not_zarr)?;
    source.handle.get_or_open(|| Ok(opened))?;
    Ok(ZarrArray::new(source, dtype, grid, zarr_format, attributes, dimension_names, fill_value))
}

/// v3 keeps dimension names in the metadata; v2 arrays written by xarray keep them in the
/// `_ARRAY_DIMENSIONS` attribute.
fn dimension_names(metadata: &Value, attributes: &Map<String, Value>) -> Option<Vec<Option<String>>> {
    let list = metadata.get("dimension_names").filter(|v| v.is_array()).or_else(|| attributes.get("_ARRAY_DIMENSIONS"))?;
    Some(list.as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect())
}

/// Starts fetching the chunk numbered `index` (row-major) of the array `source` describes, for
/// a task that will read it (`whole`, or only part of it). Only arrays in object stores are
/// fetched ahead; a local array, or one that does not open, is left to the task (which
/// reports the error). Part of a sharded chunk is left to zarrs too, which reads the shard's
/// index and then only the inner chunks it needs; any other chunk is one object, read whole
/// whatever part of it a task keeps.
pub(crate) fn prefetch(stores: &ObjectStores, source: &ZarrRef, index: usize, whole: bool) {
    if source.location.scheme().is_none() || (!whole && is_sharded(&source.metadata)) {
        return;
    }
    let Ok(opened) = source.handle.get_or_open(|| OpenedZarr::from_ref(stores, source)) else { return };
    let key = opened.array.chunk_key(&super::unravel(index, &opened.grid_shape));
    match &opened.remote {
        Some(Fetched::Remote(remote)) => remote.prefetch(key.as_str(), None),
        Some(Fetched::References(store)) => store.set.prefetch(&store.key(key.as_str())),
        None => {}
    }
}

/// Whether an array's metadata stores its chunks in shards.
fn is_sharded(metadata: &Value) -> bool {
    metadata.get("codecs").and_then(Value::as_array).is_some_and(|codecs| codecs.iter().any(|c| c.get("name").and_then(Value::as_str) == Some("sharding_indexed")))
}

/// Reads `part` (array coordinates) of the chunk numbered `index` (row-major), whose
/// bounded region is `chunk`, of the array `source` describes, as `dtype` (its stored type).
pub(crate) fn read_chunk(stores: &ObjectStores, source: &ZarrRef, dtype: DType, index: usize, chunk: &[Range<usize>], part: &[Range<usize>]) -> Result<Block, Error> {
    let opened = source.handle.get_or_open(|| OpenedZarr::from_ref(stores, source))?;
    let indices = super::unravel(index, &opened.grid_shape);
    // A plan read from a file says how the array is chunked; reading another chunk than the
    // one it means would give wrong values, not an error.
    let stored = opened.array.chunk_subset_bounded(&indices).map_err(|e| Error::NotZarr { path: source.location.to_string(), cause: e.to_string() })?;
    if !stored.start().iter().zip(stored.shape()).map(|(&s, &n)| s as usize..(s + n) as usize).eq(chunk.iter().cloned()) {
        return Err(Error::Plan { reason: format!("{}: the plan's chunk {index} is {chunk:?}, which is not one of the store's chunks", source.location) });
    }
    let local: Vec<Range<u64>> = chunk.iter().zip(part).map(|(c, p)| (p.start - c.start) as u64..(p.end - c.start) as u64).collect();
    let whole = local.iter().zip(&opened.chunk_shape).all(|(r, &n)| r.start == 0 && r.end as usize == n);
    let failed = |e: zarrs::array::ArrayError| Error::ChunkRead { path: source.location.to_string(), chunk: indices.clone(), cause: e.to_string() };
    crate::with_dtype!(dtype, T => {
        let values = if whole {
            opened.array.retrieve_chunk::<ndarray::ArrayD<T>>(&indices)
        } else {
            opened.array.retrieve_chunk_subset::<ndarray::ArrayD<T>>(&indices, &local)
        }
        .map_err(failed)?;
        Ok(<T as BlockElement>::wrap(values))
    })
}
