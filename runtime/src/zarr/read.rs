//! Opening a Zarr array (v2 or v3, any codec zarrs decodes) as a lazy source. Opening reads
//! only the metadata; chunks are read by the tasks that need them, and only the part of a
//! chunk a selection keeps (zarrs decodes sharded chunks partially).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use zarrs::array::Array;
use zarrs::filesystem::FilesystemStore;
use zarrs::plugin::{ExtensionName, ZarrVersion};
use zarrs::storage::ReadableStorageTraits;

use crate::array::{Block, BlockElement, ChunkGrid, ChunkSpec, ChunkedArray, DType};
use crate::error::Error;
use crate::plan::{Node, Op};

/// An opened Zarr array: its metadata, and the handle its chunks are read through.
pub struct ZarrSource {
    path: PathBuf,
    dtype: DType,
    grid: ChunkGrid,
    zarr_format: u8,
    attributes: Map<String, Value>,
    dimension_names: Option<Vec<Option<String>>>,
    fill_value: Value,
    /// Chunks per axis, for turning a chunk's row-major number into its indices.
    grid_shape: Vec<usize>,
    /// The full (unbounded) chunk shape; edge chunks are stored padded to it.
    chunk_shape: Vec<usize>,
    array: Array<dyn ReadableStorageTraits>,
}

impl std::fmt::Debug for ZarrSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "zarr v{} {} {:?} at {}", self.zarr_format, self.dtype, self.grid.shape(), self.path.display())
    }
}

/// A Zarr array on disk, opened: read its metadata, then turn it into a lazy
/// [`ChunkedArray`] with [`ZarrArray::to_array`] (chunked as stored).
#[derive(Clone, Debug)]
pub struct ZarrArray {
    source: Arc<ZarrSource>,
}

/// Opens the Zarr array whose directory is `path` (an array at a store's root, or inside a
/// group: `store.zarr/temperature`).
pub fn open_array(path: impl AsRef<Path>) -> Result<ZarrArray, Error> {
    let path = path.as_ref();
    let not_zarr = |cause: String| Error::NotZarr { path: path.display().to_string(), cause };
    if !path.is_dir() {
        // A writer killed while swapping in a new array may have left the old one aside.
        super::write::recover(path);
    }
    if !path.is_dir() {
        return Err(not_zarr("no such directory".into()));
    }
    let store = FilesystemStore::new(path).map_err(|e| not_zarr(e.to_string()))?;
    let store: Arc<dyn ReadableStorageTraits> = Arc::new(store);
    let array = Array::open(store, "/").map_err(|e| not_zarr(e.to_string()))?;
    let name = array.data_type().name(ZarrVersion::V3).map(|n| n.into_owned()).unwrap_or_default();
    // zarrs names v2 types by their v3 names too.
    let dtype = DType::from_name(&name)
        .ok_or_else(|| Error::UnsupportedZarrType { path: path.display().to_string(), dtype: array.data_type().to_string() })?;
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
    let chunk_shape = match array.chunk_shape(&vec![0; ndim]) {
        Ok(s) => s.iter().map(|n| n.get() as usize).collect(),
        Err(e) => return Err(not_zarr(e.to_string())),
    };
    let grid = ChunkGrid::from_spec(&shape, &ChunkSpec::Explicit(chunks), dtype.size_of())?;
    let source =
        ZarrSource { path: path.to_owned(), dtype, grid, zarr_format, attributes, dimension_names, fill_value, grid_shape, chunk_shape, array };
    Ok(ZarrArray { source: Arc::new(source) })
}

/// Opens the Zarr array at `path` as a lazy array of `T` (converted if stored otherwise).
pub fn from_zarr<T: BlockElement>(path: impl AsRef<Path>) -> Result<ChunkedArray<T>, Error> {
    Ok(open_array(path)?.to_array())
}

/// v3 keeps dimension names in the metadata; v2 arrays written by xarray keep them in the
/// `_ARRAY_DIMENSIONS` attribute.
fn dimension_names(metadata: &Value, attributes: &Map<String, Value>) -> Option<Vec<Option<String>>> {
    let list = metadata.get("dimension_names").filter(|v| v.is_array()).or_else(|| attributes.get("_ARRAY_DIMENSIONS"))?;
    Some(list.as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect())
}

impl ZarrArray {
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    pub fn shape(&self) -> Vec<usize> {
        self.source.grid.shape()
    }

    /// Chunk lengths along each axis, as stored (shards, for a sharded array).
    pub fn chunks(&self) -> &[Vec<usize>] {
        self.source.grid.chunks()
    }

    pub fn dtype(&self) -> DType {
        self.source.dtype
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.source.zarr_format
    }

    /// The user attributes (`.zattrs` in v2, `attributes` in v3).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.source.attributes
    }

    /// Names of the axes, where the store records them.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.source.dimension_names.as_deref()
    }

    /// The fill value as written in the metadata (a number, `"NaN"`, a bool, or null).
    pub fn fill_value(&self) -> &Value {
        &self.source.fill_value
    }

    /// The stored array as a lazy array of `T`, chunked as stored. Nothing is read yet.
    pub fn to_array<T: BlockElement>(&self) -> ChunkedArray<T> {
        ChunkedArray::typed(self.plan())
    }

    /// The stored array as a plan node in its stored element type.
    pub fn plan(&self) -> crate::plan::NodeRef {
        Node::new(Op::Zarr { source: self.source.clone() }, self.source.grid.clone(), self.source.dtype)
    }
}

impl ZarrSource {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `part` (array coordinates) of the chunk numbered `index` (row-major), whose
    /// bounded region is `chunk`.
    pub(crate) fn read(&self, index: usize, chunk: &[Range<usize>], part: &[Range<usize>]) -> Result<Block, Error> {
        let indices = super::unravel(index, &self.grid_shape);
        let local: Vec<Range<u64>> =
            chunk.iter().zip(part).map(|(c, p)| (p.start - c.start) as u64..(p.end - c.start) as u64).collect();
        let whole = local.iter().zip(&self.chunk_shape).all(|(r, &n)| r.start == 0 && r.end as usize == n);
        let failed = |e: zarrs::array::ArrayError| Error::ChunkRead {
            path: self.path.display().to_string(),
            chunk: indices.clone(),
            cause: e.to_string(),
        };
        crate::with_dtype!(self.dtype, T => {
            let values = if whole {
                self.array.retrieve_chunk::<ndarray::ArrayD<T>>(&indices)
            } else {
                self.array.retrieve_chunk_subset::<ndarray::ArrayD<T>>(&indices, &local)
            }
            .map_err(failed)?;
            Ok(<T as BlockElement>::wrap(values))
        })
    }
}
