//! Zarr as the API sees it: what to write ([`ToZarr`], [`Compressor`]), an opened array's
//! description ([`ZarrArray`]), and the entry points (`open_zarr`, `open_array`,
//! `from_zarr`, `to_zarr`), which hand the storage work to the executor.

use std::path::Path;

use serde_json::{Map, Value};

use crate::array::{BlockElement, ChunkGrid, ChunkedArray, DType};
use crate::error::Error;
use crate::exec::ComputeOptions;
use crate::executor::executor;
use crate::labeled::Dataset;
use crate::plan::{Node, NodeRef, Op, ZarrRef};
use crate::storage::{Location, Storage};

/// Which version of the Zarr format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZarrFormat {
    /// Zarr v2 (`.zarray`, `.zattrs`; dimension names in `_ARRAY_DIMENSIONS`).
    V2,
    /// Zarr v3 (`zarr.json`), the default.
    V3,
}

/// The codec blosc runs inside (numcodecs' `cname`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BloscCompressor {
    /// LZ4: fast.
    Lz4,
    /// LZ4 high compression.
    Lz4hc,
    /// Zstandard.
    Zstd,
    /// zlib (deflate).
    Zlib,
    /// Blosc's own LZ-based codec.
    Blosclz,
}

impl BloscCompressor {
    /// The codec name zarr-python and numcodecs use.
    pub fn name(self) -> &'static str {
        match self {
            BloscCompressor::Lz4 => "lz4",
            BloscCompressor::Lz4hc => "lz4hc",
            BloscCompressor::Zstd => "zstd",
            BloscCompressor::Zlib => "zlib",
            BloscCompressor::Blosclz => "blosclz",
        }
    }
}

/// The shuffle filter blosc applies before compressing (numcodecs' `shuffle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BloscShuffle {
    /// No shuffle.
    None,
    /// Bytes of each element grouped by position (numcodecs' `SHUFFLE`).
    Byte,
    /// Bits grouped by position (`BITSHUFFLE`).
    Bit,
}

/// How chunks are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compressor {
    /// Chunks stored uncompressed.
    None,
    /// Blosc, as numcodecs' `Blosc`.
    Blosc {
        /// The codec blosc uses.
        cname: BloscCompressor,
        /// The compression level, 0 to 9.
        clevel: u8,
        /// The shuffle filter.
        shuffle: BloscShuffle,
    },
    /// Zstandard.
    Zstd {
        /// The compression level (0: zstd's default).
        level: i32,
    },
    /// Gzip.
    Gzip {
        /// The compression level, 0 to 9.
        level: u32,
    },
}

impl Compressor {
    /// zarr-python's default for Zarr v2: blosc lz4, level 5, byte shuffle.
    pub fn blosc_lz4() -> Compressor {
        Compressor::Blosc { cname: BloscCompressor::Lz4, clevel: 5, shuffle: BloscShuffle::Byte }
    }
}

/// Options for [`ChunkedArray::to_zarr_with`](crate::array::ChunkedArray::to_zarr_with).
/// The defaults are zarr-python's: Zarr v3 with zstd, chunks as the array's.
#[derive(Clone, Debug)]
pub struct ToZarr {
    /// Zarr v2 or v3 (default v3).
    pub format: ZarrFormat,
    /// `None`: the format's default (v3: zstd level 0; v2: blosc lz4).
    pub compressor: Option<Compressor>,
    /// The stored chunk shape; `None`: the array's (largest) chunk shape.
    pub chunks: Option<Vec<usize>>,
    /// Shard shape (v3 only): each shard file holds several chunks.
    pub shards: Option<Vec<usize>>,
    /// User attributes to store with the array.
    pub attributes: Map<String, Value>,
    /// Names of the axes to record (v3 `dimension_names`, v2 `_ARRAY_DIMENSIONS`).
    pub dimension_names: Option<Vec<String>>,
    /// `None`: NaN for floats, 0 for integers, false for bool.
    pub fill_value: Option<f64>,
    /// Zarr v2 only: record no fill value (`"fill_value": null`), as xarray writes integer
    /// coordinates, so that readers mask nothing; missing chunks still read as 0.
    pub no_fill_value: bool,
    /// Replace an existing array at the path (atomically, once the new one is complete).
    pub overwrite: bool,
    /// How the array is computed while it is written (threads, budget, observer).
    pub compute: ComputeOptions,
    /// How to reach the object store written to (for `s3://`, `gs://` URLs; unused for
    /// local paths).
    pub storage: Storage,
}

impl Default for ToZarr {
    fn default() -> Self {
        ToZarr {
            format: ZarrFormat::V3,
            compressor: None,
            chunks: None,
            shards: None,
            attributes: Map::new(),
            dimension_names: None,
            fill_value: None,
            no_fill_value: false,
            overwrite: false,
            compute: ComputeOptions::default(),
            storage: Storage::default(),
        }
    }
}

impl ToZarr {
    /// The defaults, but Zarr v2 (blosc lz4 unless a compressor is set).
    pub fn v2() -> ToZarr {
        ToZarr { format: ZarrFormat::V2, ..ToZarr::default() }
    }

    /// The defaults: Zarr v3 with zstd.
    pub fn v3() -> ToZarr {
        ToZarr::default()
    }

    /// Compresses chunks with `compressor`.
    pub fn compressor(mut self, compressor: Compressor) -> ToZarr {
        self.compressor = Some(compressor);
        self
    }

    /// Reaches the object store written to with `storage` (credentials, endpoint, ...).
    pub fn storage(mut self, storage: &Storage) -> ToZarr {
        self.storage = storage.clone();
        self
    }

    /// Stores chunks of this shape.
    pub fn chunks(mut self, chunks: &[usize]) -> ToZarr {
        self.chunks = Some(chunks.to_vec());
        self
    }

    /// Groups chunks into shards of this shape (v3 only).
    pub fn shards(mut self, shards: &[usize]) -> ToZarr {
        self.shards = Some(shards.to_vec());
        self
    }

    /// Adds the user attribute `key` (replacing one of the same name).
    pub fn attribute(mut self, key: &str, value: impl Into<Value>) -> ToZarr {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// Records these names for the axes.
    pub fn dimension_names<S: AsRef<str>>(mut self, names: &[S]) -> ToZarr {
        self.dimension_names = Some(names.iter().map(|n| n.as_ref().to_owned()).collect());
        self
    }

    /// Records `value` (converted to the element type) as the fill value.
    pub fn fill_value(mut self, value: f64) -> ToZarr {
        self.fill_value = Some(value);
        self
    }

    /// Whether to replace an array already at the path (else that is an error).
    pub fn overwrite(mut self, overwrite: bool) -> ToZarr {
        self.overwrite = overwrite;
        self
    }
}

/// A Zarr array on disk, opened: read its metadata, then turn it into a lazy
/// [`ChunkedArray`] with [`ZarrArray::to_array`] (chunked as stored).
#[derive(Clone, Debug)]
pub struct ZarrArray {
    source: ZarrRef,
    dtype: DType,
    grid: ChunkGrid,
    zarr_format: u8,
    attributes: Map<String, Value>,
    dimension_names: Option<Vec<Option<String>>>,
    fill_value: Value,
}

impl ZarrArray {
    /// The array an executor opened: its source, stored type and chunk grid, and what its
    /// metadata says (format 2 or 3, attributes, dimension names, fill value).
    pub fn new(
        source: ZarrRef,
        dtype: DType,
        grid: ChunkGrid,
        zarr_format: u8,
        attributes: Map<String, Value>,
        dimension_names: Option<Vec<Option<String>>>,
        fill_value: Value,
    ) -> ZarrArray {
        ZarrArray { source, dtype, grid, zarr_format, attributes, dimension_names, fill_value }
    }

    /// Where the array is: its directory, or its prefix in an object store.
    pub fn location(&self) -> &Location {
        &self.source.location
    }

    /// The stored array's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.grid.shape()
    }

    /// Chunk lengths along each axis, as stored (shards, for a sharded array).
    pub fn chunks(&self) -> &[Vec<usize>] {
        self.grid.chunks()
    }

    /// The stored element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.zarr_format
    }

    /// The user attributes (`.zattrs` in v2, `attributes` in v3).
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// Names of the axes, where the store records them.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.dimension_names.as_deref()
    }

    /// The fill value as written in the metadata (a number, `"NaN"`, a bool, or null).
    pub fn fill_value(&self) -> &Value {
        &self.fill_value
    }

    /// The stored array as a lazy array of `T`, chunked as stored. Nothing is read yet.
    pub fn to_array<T: BlockElement>(&self) -> ChunkedArray<T> {
        ChunkedArray::typed(self.plan())
    }

    /// The stored array as a plan node in its stored element type.
    pub fn plan(&self) -> NodeRef {
        Node::new(Op::Zarr { source: self.source.clone() }, self.grid.clone(), self.dtype)
    }
}

/// Opens the Zarr array whose directory is `path` (an array at a store's root, or inside a
/// group: `store.zarr/temperature`), or whose URL it is (`s3://`, `gs://`, `https://`,
/// reached as the environment says: see [`open_array_with`]). Only reads: where a writer
/// was killed while swapping in a new array, the complete old one it had moved aside is read
/// (and put back by the next write).
pub fn open_array(path: impl AsRef<Path>) -> Result<ZarrArray, Error> {
    open_array_with(path, &Storage::default())
}

/// [`open_array`] in an object store reached with `storage` (credentials, endpoint, ...).
pub fn open_array_with(path: impl AsRef<Path>, storage: &Storage) -> Result<ZarrArray, Error> {
    executor().open_zarr_array(&Location::parse(path, storage))
}

/// Opens the Zarr array at `path` as a lazy array of `T` (converted if stored otherwise).
pub fn from_zarr<T: BlockElement>(path: impl AsRef<Path>) -> Result<ChunkedArray<T>, Error> {
    Ok(open_array(path)?.to_array())
}

/// Opens the Zarr group at `path` as a lazy [`Dataset`]: metadata and coordinates are read,
/// data variables are not. Stores written by xarray (v2 or v3, consolidated or not) open
/// with their dimension names, coordinates, CF-decoded values, times and attributes.
///
/// `path` may be a URL: `s3://bucket/store.zarr`, `gs://...`, `https://...` (a server
/// answering range requests), `file://...`. Credentials, region and endpoint come from the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL`, `GOOGLE_APPLICATION_CREDENTIALS`); to give them in
/// code, or to read a public bucket anonymously, use [`open_zarr_with`].
pub fn open_zarr(path: impl AsRef<Path>) -> Result<Dataset, Error> {
    open_zarr_with(path, &Storage::default())
}

/// [`open_zarr`] in an object store reached with `storage`:
///
/// ```no_run
/// use strata_api::{storage::Storage, zarr::open_zarr_with};
/// let ds = open_zarr_with("s3://bucket/sst.zarr", &Storage::new().anonymous().endpoint("http://127.0.0.1:9000"))?;
/// # Ok::<(), strata_api::Error>(())
/// ```
pub fn open_zarr_with(path: impl AsRef<Path>, storage: &Storage) -> Result<Dataset, Error> {
    executor().open_zarr(&Location::parse(path, storage))
}

/// Creates a Zarr group at `path` (metadata only), so that arrays written inside it form one
/// store zarr-python and xarray open as a whole.
pub fn create_group(path: impl AsRef<Path>, format: ZarrFormat, attributes: &Map<String, Value>) -> Result<(), Error> {
    executor().create_zarr_group(&Location::from(path.as_ref()), format, attributes)
}

impl Dataset {
    /// Writes the dataset as a Zarr v3 store xarray opens (zstd, each variable in its own
    /// chunks, consolidated metadata), all or nothing: see [`Dataset::to_zarr_with`].
    pub fn to_zarr(&self, path: impl AsRef<Path>) -> Result<Dataset, Error> {
        self.to_zarr_with(path, &ToZarr::default())
    }

    /// Writes the dataset with `options` (format, compressor, overwrite, compute options;
    /// chunk shapes are each variable's own). The store appears only when complete: a failed
    /// or interrupted write leaves what was at `path` untouched. Returns the store, reopened.
    pub fn to_zarr_with(&self, path: impl AsRef<Path>, options: &ToZarr) -> Result<Dataset, Error> {
        executor().write_zarr_dataset(self, &Location::parse(path, &options.storage), options)
    }
}
