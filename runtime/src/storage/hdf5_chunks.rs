//! Direct reads of chunked NetCDF-4 variables (HDF5 datasets), as h5py's `read_direct_chunk`
//! and kerchunk-style readers do: each chunk's stored bytes are fetched from libhdf5 as they
//! are (still compressed), and decoded (inflate, unshuffle, byte order) on the thread that
//! asked for them, outside libhdf5's lock.
//!
//! Why: libhdf5 serialises every call behind one global lock, and libnetcdf opens the file
//! for each read, so a variable of thousands of small deflated chunks read through libnetcdf
//! decodes one chunk at a time and pays an open per chunk. Here the lock covers only the
//! copy of a chunk's compressed bytes; decoding, most of the work, runs on all cores.
//!
//! Chunks are found by position (`H5Dread_chunk`, `H5Dget_chunk_storage_size`: one descent
//! of the chunk index each). HDF5 1.10's calls that list the index (`H5Dget_chunk_info`,
//! also `_by_coord`) walk it from its start each time, which costs minutes for a variable of
//! 60 000 chunks, so the index is never listed.
//!
//! Only what is read exactly is read this way: chunked layout, integer or float elements, and
//! the filters NetCDF-4 writes (deflate, shuffle, fletcher32). Anything else (szip, zstd or
//! other plugins, contiguous or compact layout, variables in groups) returns `None` from
//! [`ChunkedVariable::open`] and is read through libnetcdf as before.

use std::ffi::CString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5_metno_sys::h5::{herr_t, hsize_t};
use hdf5_metno_sys::h5i::hid_t;
use hdf5_metno_sys::h5d::{H5D_CHUNKED, H5D_FILL_VALUE_UNDEFINED, H5D_fill_value_t};
use hdf5_metno_sys::h5p::H5P_DEFAULT;
use hdf5_metno_sys::h5t::{H5T_class_t, H5T_order_t};
use hdf5_metno_sys::h5z::{H5Z_FILTER_DEFLATE, H5Z_FILTER_FLETCHER32, H5Z_FILTER_SHUFFLE};
use hdf5_metno_sys::{h5d, h5f, h5p, h5s, h5t};

use crate::array::{Block, BlockElement, DType};
use crate::error::Error;

/// A filter of a chunk's pipeline, in the order it was applied when writing.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Filter {
    Deflate,
    Shuffle,
    /// A 4-byte checksum appended to the chunk.
    Fletcher32,
}

// HDF5 1.10.2 and later; not bound by hdf5-metno-sys.
unsafe extern "C" {
    fn H5Dget_chunk_storage_size(dset_id: hid_t, offset: *const hsize_t, chunk_bytes: *mut hsize_t) -> herr_t;
}

/// A chunk's bytes as stored, and which filters were skipped for it (bit i set: filter i
/// was not applied, as HDF5 does when an optional filter would not shrink a chunk).
struct StoredChunk {
    bytes: Vec<u8>,
    skipped: u32,
}

/// One chunked variable, its file and dataset kept open in libhdf5 (closed when dropped).
pub(crate) struct ChunkedVariable {
    path: PathBuf,
    variable: String,
    shape: Vec<usize>,
    chunk: Vec<usize>,
    item: usize,
    big_endian: bool,
    filters: Vec<Filter>,
    /// One element of the fill value, as the file stores it (what unwritten chunks hold).
    fill: Vec<u8>,
    dataset: hid_t,
    file: hid_t,
}

impl Drop for ChunkedVariable {
    fn drop(&mut self) {
        let _lock = hdf5_metno_sys::LOCK.lock();
        // SAFETY: both identifiers were opened by `open` and are closed once, here.
        unsafe {
            h5d::H5Dclose(self.dataset);
            h5f::H5Fclose(self.file);
        }
    }
}

/// Closes an HDF5 identifier when dropped, so that every early return closes what was opened.
struct Id(hid_t, unsafe extern "C" fn(hid_t) -> herr_t);

impl Drop for Id {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: the identifier was returned open by the matching HDF5 call and is
            // closed once, here.
            unsafe { (self.1)(self.0) };
        }
    }
}

impl ChunkedVariable {
    /// `variable` (at the file's root) if it can be read directly, `None` if it must go
    /// through libnetcdf. Holds libhdf5's global lock (the one libnetcdf takes) while it asks
    /// HDF5.
    pub(crate) fn open(path: &Path, variable: &str, dtype: DType) -> Option<ChunkedVariable> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
        let c_name = CString::new(format!("/{variable}")).ok()?;
        let _lock = hdf5_metno_sys::LOCK.lock();
        // SAFETY: plain HDF5 C calls on identifiers this function opened and checked (>= 0),
        // with buffers sized as each call documents (rank-long arrays for dims and offsets,
        // one element of the dataset's own type for the fill value). Every identifier is
        // closed by its `Id` guard.
        unsafe {
            let f = Id(h5f::H5Fopen(c_path.as_ptr(), h5f::H5F_ACC_RDONLY, H5P_DEFAULT), h5f::H5Fclose);
            if f.0 < 0 {
                return None;
            }
            let d = Id(h5d::H5Dopen2(f.0, c_name.as_ptr(), H5P_DEFAULT), h5d::H5Dclose);
            if d.0 < 0 {
                return None;
            }
            let dcpl = Id(h5d::H5Dget_create_plist(d.0), h5p::H5Pclose);
            if dcpl.0 < 0 || h5p::H5Pget_layout(dcpl.0) != H5D_CHUNKED {
                return None;
            }
            let space = Id(h5d::H5Dget_space(d.0), h5s::H5Sclose);
            let rank = usize::try_from(h5s::H5Sget_simple_extent_ndims(space.0)).ok().filter(|&r| r > 0)?;
            let mut dims = vec![0 as hsize_t; rank];
            h5s::H5Sget_simple_extent_dims(space.0, dims.as_mut_ptr(), std::ptr::null_mut());
            let mut chunk = vec![0 as hsize_t; rank];
            if h5p::H5Pget_chunk(dcpl.0, rank as i32, chunk.as_mut_ptr()) != rank as i32 || chunk.contains(&0) {
                return None;
            }
            let t = Id(h5d::H5Dget_type(d.0), h5t::H5Tclose);
            let class = h5t::H5Tget_class(t.0);
            if !matches!(class, H5T_class_t::H5T_INTEGER | H5T_class_t::H5T_FLOAT) {
                return None;
            }
            let item = h5t::H5Tget_size(t.0);
            // NetCDF has no bool type, so a variable never arrives as one.
            if dtype == DType::Bool || item != dtype.size_of() {
                return None;
            }
            let big_endian = match h5t::H5Tget_order(t.0) {
                H5T_order_t::H5T_ORDER_LE | H5T_order_t::H5T_ORDER_NONE => false,
                H5T_order_t::H5T_ORDER_BE => true,
                _ => return None,
            };
            let mut filters = Vec::new();
            for i in 0..h5p::H5Pget_nfilters(dcpl.0).max(0) as u32 {
                let (mut flags, mut nelmts, mut config) = (0u32, 0usize, 0u32);
                let id = h5p::H5Pget_filter2(dcpl.0, i, &mut flags, &mut nelmts, std::ptr::null_mut(), 0, std::ptr::null_mut(), &mut config);
                filters.push(match id {
                    H5Z_FILTER_DEFLATE => Filter::Deflate,
                    H5Z_FILTER_SHUFFLE => Filter::Shuffle,
                    H5Z_FILTER_FLETCHER32 => Filter::Fletcher32,
                    _ => return None,
                });
            }
            let mut fill = vec![0u8; item];
            let mut defined: H5D_fill_value_t = H5D_FILL_VALUE_UNDEFINED;
            h5p::H5Pfill_value_defined(dcpl.0, &mut defined);
            if defined != H5D_FILL_VALUE_UNDEFINED && h5p::H5Pget_fill_value(dcpl.0, t.0, fill.as_mut_ptr().cast()) < 0 {
                return None;
            }
            // Kept open for the reads: the guards must not close them.
            let (file, dataset) = (f.0, d.0);
            std::mem::forget(f);
            std::mem::forget(d);
            Some(ChunkedVariable {
                path: path.to_path_buf(),
                variable: variable.to_string(),
                shape: dims.iter().map(|&d| d as usize).collect(),
                chunk: chunk.iter().map(|&c| c as usize).collect(),
                item,
                big_endian,
                filters,
                fill,
                dataset,
                file,
            })
        }
    }

    fn chunk_error(&self, at: &[usize], cause: impl std::fmt::Display) -> Error {
        Error::ChunkRead { path: format!("{}:{}", self.path.display(), self.variable), chunk: at.iter().map(|&c| c as u64).collect(), cause: cause.to_string() }
    }

    /// The stored bytes of the chunk at grid position `at`, `None` if it was never written.
    /// The only part of a read that holds libhdf5's lock.
    fn stored(&self, at: &[usize]) -> Result<Option<StoredChunk>, Error> {
        let offset: Vec<hsize_t> = at.iter().zip(&self.chunk).map(|(&a, &c)| (a * c) as hsize_t).collect();
        super::netcdf::quiet_hdf5();
        let _lock = hdf5_metno_sys::LOCK.lock();
        let mut size: hsize_t = 0;
        // SAFETY: `dataset` is open (closed only on drop); `offset` holds one coordinate per
        // axis, as the calls read; the buffer holds the `size` bytes HDF5 said it would write.
        unsafe {
            if H5Dget_chunk_storage_size(self.dataset, offset.as_ptr(), &mut size) < 0 || size == 0 {
                // HDF5 1.10 fails to size a chunk never written; the index (slower to ask)
                // tells that apart from a chunk it cannot read, which must not become fill.
                let (mut skipped, mut addr, mut stored_size) = (0u32, 0u64, 0 as hsize_t);
                let listed = h5d::H5Dget_chunk_info_by_coord(self.dataset, offset.as_ptr(), &mut skipped, &mut addr, &mut stored_size);
                if listed >= 0 && addr == hdf5_metno_sys::h5::HADDR_UNDEF {
                    return Ok(None);
                }
                return Err(self.chunk_error(at, "libhdf5 could not find its size"));
            }
            let mut bytes = vec![0u8; size as usize];
            let mut skipped = 0u32;
            if h5d::H5Dread_chunk(self.dataset, H5P_DEFAULT, offset.as_ptr(), &mut skipped, bytes.as_mut_ptr().cast()) < 0 {
                return Err(self.chunk_error(at, format!("libhdf5 could not read its {size} bytes")));
            }
            Ok(Some(StoredChunk { bytes, skipped }))
        }
    }

    /// One chunk's elements (the whole chunk, edge chunks padded as HDF5 stores them), as
    /// the file's bytes: its filters undone in reverse order.
    fn decode(&self, at: &[usize], stored: StoredChunk) -> Result<Vec<u8>, Error> {
        let expected = self.chunk.iter().product::<usize>() * self.item;
        let mut bytes = stored.bytes;
        for (i, filter) in self.filters.iter().enumerate().rev() {
            if stored.skipped & (1 << i) != 0 {
                continue;
            }
            bytes = match filter {
                Filter::Fletcher32 => {
                    let keep = bytes.len().checked_sub(4).ok_or_else(|| self.chunk_error(at, "shorter than its checksum"))?;
                    bytes.truncate(keep);
                    bytes
                }
                Filter::Deflate => {
                    // Straight into a buffer of the chunk's size (a reader would copy twice).
                    let mut out = Vec::with_capacity(expected + 1);
                    let status = flate2::Decompress::new(true).decompress_vec(&bytes, &mut out, flate2::FlushDecompress::Finish).map_err(|e| self.chunk_error(at, format!("inflate: {e}")))?;
                    if status != flate2::Status::StreamEnd {
                        return Err(self.chunk_error(at, format!("inflate: the stream does not end within {expected} bytes")));
                    }
                    out
                }
                Filter::Shuffle => unshuffle(&bytes, self.item),
            };
        }
        if bytes.len() != expected {
            return Err(self.chunk_error(at, format!("decoded to {} bytes, expected {expected}", bytes.len())));
        }
        Ok(bytes)
    }

    /// The values of `region` (one range per axis) as `dtype`, every chunk it touches
    /// decoded on this thread.
    pub(crate) fn read(&self, dtype: DType, region: &[Range<usize>]) -> Result<Block, Error> {
        let rank = self.shape.len();
        if region.len() != rank || region.iter().zip(&self.shape).any(|(r, &n)| r.end > n || r.start > r.end) {
            return Err(self.chunk_error(&[], format!("region {region:?} is outside the variable's shape {:?}", self.shape)));
        }
        let out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let total: usize = out_shape.iter().product();
        // A region that is exactly one whole chunk (the plan's chunks are the file's, so most
        // are) is that chunk's bytes, with no copy.
        let first: Vec<usize> = region.iter().zip(&self.chunk).map(|(r, &c)| r.start / c).collect();
        if region.iter().zip(&self.chunk).zip(&first).all(|((r, &c), &f)| r.start == f * c && r.len() == c) {
            let bytes = match self.stored(&first)? {
                Some(stored) => self.decode(&first, stored)?,
                None => self.fill.repeat(total),
            };
            return self.to_block(dtype, bytes, &out_shape);
        }
        let mut out: Vec<u8> = self.fill.repeat(total);
        if total > 0 {
            let last: Vec<usize> = region.iter().zip(&self.chunk).map(|(r, &c)| (r.end - 1) / c).collect();
            let mut at = first.clone();
            loop {
                if let Some(stored) = self.stored(&at)? {
                    let bytes = self.decode(&at, stored)?;
                    self.copy_overlap(&at, &bytes, region, &out_shape, &mut out);
                }
                // The next chunk position, last axis fastest.
                let mut axis = rank;
                loop {
                    if axis == 0 {
                        return self.to_block(dtype, out, &out_shape);
                    }
                    axis -= 1;
                    if at[axis] < last[axis] {
                        at[axis] += 1;
                        break;
                    }
                    at[axis] = first[axis];
                }
            }
        }
        self.to_block(dtype, out, &out_shape)
    }

    /// Copies the part of the chunk at `at` that lies in `region` into `out`, row by row
    /// along the last axis.
    fn copy_overlap(&self, at: &[usize], chunk: &[u8], region: &[Range<usize>], out_shape: &[usize], out: &mut [u8]) {
        let rank = self.shape.len();
        // The overlap in global coordinates.
        let lo: Vec<usize> = (0..rank).map(|a| region[a].start.max(at[a] * self.chunk[a])).collect();
        let hi: Vec<usize> = (0..rank).map(|a| region[a].end.min((at[a] + 1) * self.chunk[a])).collect();
        let row = (hi[rank - 1] - lo[rank - 1]) * self.item;
        let mut index = lo.clone();
        loop {
            let (mut src, mut dst) = (0usize, 0usize);
            for a in 0..rank {
                src = src * self.chunk[a] + (index[a] - at[a] * self.chunk[a]);
                dst = dst * out_shape[a] + (index[a] - region[a].start);
            }
            out[dst * self.item..dst * self.item + row].copy_from_slice(&chunk[src * self.item..src * self.item + row]);
            // The next row: every axis but the last, last of those fastest.
            let mut axis = rank - 1;
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                index[axis] += 1;
                if index[axis] < hi[axis] {
                    break;
                }
                index[axis] = lo[axis];
            }
        }
    }

    fn to_block(&self, dtype: DType, mut bytes: Vec<u8>, shape: &[usize]) -> Result<Block, Error> {
        if self.big_endian {
            bytes.chunks_exact_mut(self.item).for_each(|e| e.reverse());
        }
        Ok(crate::with_dtype!(dtype, T => {
            let values: Vec<T> = <T as FromLeBytes>::vec_from_le(&bytes);
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).map(T::wrap).map_err(|e| self.chunk_error(&[], e))?
        }))
    }
}

/// Undoes HDF5's shuffle filter: byte k of every element was stored together, element after
/// element, then byte k + 1; bytes past the last whole element are left as they are.
fn unshuffle(bytes: &[u8], item: usize) -> Vec<u8> {
    if item <= 1 {
        return bytes.to_vec();
    }
    let n = bytes.len() / item;
    let mut out = vec![0u8; bytes.len()];
    for k in 0..item {
        let plane = &bytes[k * n..(k + 1) * n];
        for (i, &b) in plane.iter().enumerate() {
            out[i * item + k] = b;
        }
    }
    out[n * item..].copy_from_slice(&bytes[n * item..]);
    out
}

/// Elements from their little-endian bytes (whole elements; a trailing part is ignored).
trait FromLeBytes: Sized {
    fn vec_from_le(bytes: &[u8]) -> Vec<Self>;
}

macro_rules! from_le_bytes {
    ($($t:ty),*) => {$(
        impl FromLeBytes for $t {
            fn vec_from_le(bytes: &[u8]) -> Vec<$t> {
                const SIZE: usize = std::mem::size_of::<$t>();
                let n = bytes.len() / SIZE;
                if cfg!(target_endian = "little") {
                    let mut values: Vec<$t> = vec![0 as $t; n];
                    // SAFETY: `values` holds n elements of a plain number type, for which
                    // every bit pattern is a value; exactly n * SIZE bytes are copied into
                    // it from `bytes`, which holds at least that many, and the two do not
                    // overlap. On a little-endian machine the bytes are the values.
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), values.as_mut_ptr().cast::<u8>(), n * SIZE) };
                    values
                } else {
                    bytes.chunks_exact(SIZE).map(|e| <$t>::from_le_bytes(e.try_into().unwrap_or([0; SIZE]))).collect()
                }
            }
        }
    )*};
}
from_le_bytes!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl FromLeBytes for bool {
    fn vec_from_le(bytes: &[u8]) -> Vec<bool> {
        bytes.iter().map(|&b| b != 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Element;
    use netcdf::Endianness;
    use proptest::prelude::*;

    /// A NetCDF-4 file written by libnetcdf with the layouts producers use: deflate with and
    /// without shuffle, big-endian storage, edge chunks, chunks never written (fill value), a
    /// contiguous variable.
    fn sample(dir: &Path) -> PathBuf {
        crate::storage::netcdf::quiet_hdf5();
        let path = dir.join("layouts.nc");
        let mut f = netcdf::create(&path).unwrap();
        for (name, n) in [("y", 37), ("x", 50), ("a", 5), ("b", 7), ("c", 9), ("t", 100)] {
            f.add_dimension(name, n).unwrap();
        }
        let mut v = f.add_variable::<f32>("deflated", &["y", "x"]).unwrap();
        v.set_chunking(&[8, 16]).unwrap();
        v.set_compression(4, true).unwrap();
        v.set_fill_value(-999f32).unwrap();
        // Only the first 20 rows: the chunks below are never written and read as the fill.
        let rows: Vec<f32> = (0..20 * 50).map(|i| (i as f32 * 0.37).sin() * 100.0).collect();
        v.put_values(&rows, (0..20, 0..50)).unwrap();
        let mut v = f.add_variable::<i16>("big_endian", &["a", "b", "c"]).unwrap();
        v.set_chunking(&[2, 3, 4]).unwrap();
        v.set_endianness(Endianness::Big).unwrap();
        v.set_compression(1, false).unwrap();
        v.put_values(&(0..315).map(|i| (i * 97 % 2000 - 1000) as i16).collect::<Vec<_>>(), ..).unwrap();
        let mut v = f.add_variable::<f64>("shuffled", &["t"]).unwrap();
        v.set_chunking(&[7]).unwrap();
        v.set_endianness(Endianness::Big).unwrap();
        v.set_compression(9, true).unwrap();
        v.put_values(&(0..100).map(|i| i as f64 / 3.0).collect::<Vec<_>>(), ..).unwrap();
        // Fixed-size, unfiltered: libnetcdf stores it contiguous.
        let mut v = f.add_variable::<u8>("contiguous", &["a", "b"]).unwrap();
        v.put_values(&(0..35).map(|i| i as u8).collect::<Vec<_>>(), ..).unwrap();
        drop(f);
        path
    }

    /// libnetcdf's own reading of a region, the oracle.
    fn oracle<T: netcdf::NcTypeDescriptor + Copy + Element>(path: &Path, name: &str, region: &[Range<usize>]) -> Vec<f64> {
        let f = netcdf::open(path).unwrap();
        let v = f.variable(name).unwrap();
        v.get_values::<T, _>(region.to_vec()).unwrap().into_iter().map(|x| x.to_f64()).collect()
    }

    fn regions(shape: &'static [usize]) -> impl Strategy<Value = Vec<Range<usize>>> {
        shape.iter().map(|&n| (0..n).prop_flat_map(move |a| (Just(a), a..=n)).prop_map(|(a, b)| a..b)).collect::<Vec<_>>()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]
        #[test]
        fn direct_reads_equal_libnetcdfs_for_any_region(r2 in regions(&[37, 50]), r3 in regions(&[5, 7, 9]), r1 in regions(&[100])) {
            let dir = tempfile::tempdir().unwrap();
            let path = sample(dir.path());
            for (name, dtype, region) in [("deflated", DType::F32, &r2), ("big_endian", DType::I16, &r3), ("shuffled", DType::F64, &r1)] {
                let index = ChunkedVariable::open(&path, name, dtype).expect("a chunked, deflated variable is read directly");
                let got: Vec<f64> = index.read(dtype, region).unwrap().as_f64().iter().copied().collect();
                let expected = match dtype {
                    DType::F32 => oracle::<f32>(&path, name, region),
                    DType::I16 => oracle::<i16>(&path, name, region),
                    _ => oracle::<f64>(&path, name, region),
                };
                prop_assert_eq!(got, expected, "{} {:?}", name, region);
            }
        }
    }

    #[test]
    fn unwritten_chunks_read_as_the_fill_value_and_other_layouts_go_through_libnetcdf() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let index = ChunkedVariable::open(&path, "deflated", DType::F32).unwrap();
        assert!(index.stored(&[4, 0]).unwrap().is_none(), "rows 20.. were never written, so neither were their chunks");
        assert!(index.stored(&[0, 0]).unwrap().is_some());
        let tail = index.read(DType::F32, &[30..37, 0..50]).unwrap();
        assert!(tail.as_f64().iter().all(|&v| v == -999.0));
        assert!(ChunkedVariable::open(&path, "contiguous", DType::U8).is_none());
        // While it is open here, libnetcdf opens the same file and reads it as before, and a
        // second direct reader shares the file.
        assert_eq!(oracle::<u8>(&path, "contiguous", &[0..1, 0..3]), vec![0.0, 1.0, 2.0]);
        let again = ChunkedVariable::open(&path, "shuffled", DType::F64).unwrap();
        assert_eq!(again.read(DType::F64, &[3..4]).unwrap().as_f64().iter().copied().collect::<Vec<_>>(), vec![1.0]);
        assert_eq!(index.read(DType::F32, &[0..1, 0..1]).unwrap().as_f64().iter().copied().collect::<Vec<_>>(), oracle::<f32>(&path, "deflated", &[0..1, 0..1]));
        assert!(ChunkedVariable::open(&path, "no_such_variable", DType::U8).is_none());
    }

    #[test]
    fn a_corrupt_chunk_is_an_error_naming_the_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let index = ChunkedVariable::open(&path, "deflated", DType::F32).unwrap();
        // The chunk's compressed bytes, found in the file and overwritten.
        let stored = index.stored(&[1, 2]).unwrap().unwrap().bytes;
        drop(index);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(stored.len()).position(|w| w == stored.as_slice()).unwrap();
        bytes[at..at + stored.len()].fill(0xA5);
        std::fs::write(&path, bytes).unwrap();
        let index = ChunkedVariable::open(&path, "deflated", DType::F32).unwrap();
        let err = index.read(DType::F32, &[8..16, 32..48]).unwrap_err().to_string();
        assert!(err.contains("deflated") && err.contains("[1, 2]") && err.contains("inflate"), "{err}");
        // The chunks around it still read.
        assert!(index.read(DType::F32, &[0..8, 0..16]).is_ok());
    }

    #[test]
    fn unshuffle_regroups_the_bytes_of_each_element() {
        // Two 4-byte elements 0x04030201 and 0x08070605, shuffled: all first bytes, then
        // all second bytes, ...; a trailing odd byte stays where it is.
        let shuffled = [1, 5, 2, 6, 3, 7, 4, 8, 9];
        assert_eq!(unshuffle(&shuffled, 4), vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(unshuffle(&[1, 2, 3], 1), vec![1, 2, 3]);
    }
}
