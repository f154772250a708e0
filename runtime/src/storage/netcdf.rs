//! NetCDF-3 and NetCDF-4 files, through the system's libnetcdf (the `netcdf` crate).
//! Opening reads metadata and coordinates; data variables are read region by region by the
//! tasks that need them, in the file's own chunks where it has them (NetCDF-4).

use std::ops::Range;
use std::path::Path;

use ndarray::{ArrayD, Dimension, IxDyn};
use netcdf::types::{FloatType, IntType, NcVariableType};
use netcdf::AttributeValue;
use serde_json::{json, Value};

use super::hdf5_chunks::ChunkedVariable;
use crate::io::cf::{self, StoredText, StoredVariable};
use crate::array::{Block, BlockElement, ChunkGrid, ChunkSpec, DType};
use crate::error::Error;
use crate::labeled::{Attrs, Dataset};
use crate::plan::{NetcdfRef, Node, Op};

/// Stops libhdf5 printing its error stack ("HDF5-DIAG: Error detected ...") on this thread.
///
/// netCDF-C probes attributes that may be absent and turns HDF5's printing off, but only on
/// the thread that first opened a file: HDF5's error settings are per thread, and our reads
/// run on the pool's threads, where every probe would print a page of noise into the
/// notebook. The symbol is looked up at run time (libnetcdf brought libhdf5 into the
/// process), so nothing links against HDF5 directly.
pub(crate) fn quiet_hdf5() {
    thread_local! {
        static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if QUIET.with(|q| q.replace(true)) {
        return;
    }
    // herr_t H5Eset_auto2(hid_t estack_id, H5E_auto2_t func, void *client_data), with
    // hid_t an int64_t and H5E_DEFAULT = 0 (HDF5 1.10 and later).
    type SetAuto = unsafe extern "C" fn(i64, *const std::ffi::c_void, *mut std::ffi::c_void) -> i32;
    // SAFETY: dlsym with a NUL-terminated name; the pointer, when found, is HDF5's function of
    // the signature above, called with H5E_DEFAULT and null handler and data, as documented.
    unsafe {
        let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"H5Eset_auto2".as_ptr());
        if !symbol.is_null() {
            let set_auto: SetAuto = std::mem::transmute::<*mut std::ffi::c_void, SetAuto>(symbol);
            set_auto(0, std::ptr::null(), std::ptr::null_mut());
        }
    }
}

fn nc_error(path: &Path, cause: impl std::fmt::Display) -> Error {
    Error::NetCdf { path: path.display().to_string(), cause: cause.to_string() }
}

fn dtype_of(t: &NcVariableType) -> Option<DType> {
    Some(match t {
        NcVariableType::Int(IntType::U8) => DType::U8,
        NcVariableType::Int(IntType::I8) => DType::I8,
        NcVariableType::Int(IntType::U16) => DType::U16,
        NcVariableType::Int(IntType::I16) => DType::I16,
        NcVariableType::Int(IntType::U32) => DType::U32,
        NcVariableType::Int(IntType::I32) => DType::I32,
        NcVariableType::Int(IntType::U64) => DType::U64,
        NcVariableType::Int(IntType::I64) => DType::I64,
        NcVariableType::Float(FloatType::F32) => DType::F32,
        NcVariableType::Float(FloatType::F64) => DType::F64,
        _ => return None,
    })
}

fn attr_json(value: AttributeValue) -> Value {
    use AttributeValue as A;
    let list = |v: Vec<Value>| if v.len() == 1 { v.into_iter().next().unwrap_or(Value::Null) } else { Value::Array(v) };
    match value {
        A::Uchar(x) => json!(x),
        A::Uchars(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Schar(x) => json!(x),
        A::Schars(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Ushort(x) => json!(x),
        A::Ushorts(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Short(x) => json!(x),
        A::Shorts(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Uint(x) => json!(x),
        A::Uints(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Int(x) => json!(x),
        A::Ints(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Ulonglong(x) => json!(x),
        A::Ulonglongs(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Longlong(x) => json!(x),
        A::Longlongs(x) => list(x.into_iter().map(|v| json!(v)).collect()),
        A::Float(x) => float_json(x as f64),
        A::Floats(x) => list(x.into_iter().map(|v| float_json(v as f64)).collect()),
        A::Double(x) => float_json(x),
        A::Doubles(x) => list(x.into_iter().map(float_json).collect()),
        A::Str(s) => json!(s),
        // NC_STRING attributes (netCDF-4) arrive as lists even when they hold one string,
        // which is how most producers write `units` and `title`: one string is a string, as
        // xarray shows it, or CF would not find "days since ..." in it.
        A::Strs(s) => list(s.into_iter().map(Value::from).collect()),
    }
}

/// A variable's attributes as JSON, and the element types of its numeric ones.
fn read_attrs(var: &netcdf::Variable) -> (Attrs, indexmap::IndexMap<String, DType>) {
    let (mut attrs, mut types) = (Attrs::new(), indexmap::IndexMap::new());
    for a in var.attributes() {
        if let Ok(v) = a.value() {
            if let Some(t) = attr_dtype(&v) {
                types.insert(a.name().to_string(), t);
            }
            attrs.insert(a.name().to_string(), attr_json(v));
        }
    }
    (attrs, types)
}

/// The element type of a numeric attribute (what xarray's packing rules look at).
fn attr_dtype(value: &AttributeValue) -> Option<DType> {
    use AttributeValue as A;
    Some(match value {
        A::Uchar(_) | A::Uchars(_) => DType::U8,
        A::Schar(_) | A::Schars(_) => DType::I8,
        A::Ushort(_) | A::Ushorts(_) => DType::U16,
        A::Short(_) | A::Shorts(_) => DType::I16,
        A::Uint(_) | A::Uints(_) => DType::U32,
        A::Int(_) | A::Ints(_) => DType::I32,
        A::Ulonglong(_) | A::Ulonglongs(_) => DType::U64,
        A::Longlong(_) | A::Longlongs(_) => DType::I64,
        A::Float(_) | A::Floats(_) => DType::F32,
        A::Double(_) | A::Doubles(_) => DType::F64,
        A::Str(_) | A::Strs(_) => return None,
    })
}

/// JSON has no NaN: it is kept as the string "NaN", as Zarr metadata writes it.
fn float_json(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { json!(format!("{v}").replace("inf", "Infinity")) }
}

/// The values of `region` (one range per axis) of the variable `source` names, as `dtype`
/// (its stored type). The file is opened per read: libnetcdf keeps no state between tasks.
///
/// Chunked NetCDF-4 variables are read directly (opened once per process, then their chunks
/// decoded in parallel, see [`ChunkedVariable`]); the rest through libnetcdf.
pub(crate) fn read_region(source: &NetcdfRef, dtype: DType, region: &[Range<usize>]) -> Result<Block, Error> {
    let direct = source.handle.get_or_open(|| {
        quiet_hdf5();
        Ok(ChunkedVariable::open(&source.path, &source.variable, dtype))
    })?;
    if let Some(index) = direct.as_ref() {
        return index.read(dtype, region);
    }
    crate::with_dtype!(dtype, T => match dtype {
        DType::Bool => Err(nc_error(&source.path, "bool variables are not part of NetCDF")),
        _ => read_as::<NcOf<T>>(source, region).map(|b| b.into_dtype(dtype)),
    })
}

fn read_as<T: BlockElement + netcdf::NcTypeDescriptor + Copy>(source: &NetcdfRef, region: &[Range<usize>]) -> Result<Block, Error> {
    quiet_hdf5();
    let path = &source.path;
    let file = netcdf::open(path).map_err(|e| nc_error(path, e))?;
    let var = file.variable(&source.variable).ok_or_else(|| nc_error(path, format!("variable {:?} is gone", source.variable)))?;
    let extents: Vec<Range<usize>> = region.to_vec();
    let values: Vec<T> = if region.is_empty() { var.get_values::<T, _>(..) } else { var.get_values::<T, _>(extents) }
        .map_err(|e| nc_error(path, format!("variable {:?}, region {region:?}: {e}", source.variable)))?;
    let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).map(T::wrap).map_err(|e| nc_error(path, e))
}

/// The NetCDF element type that holds a runtime type (bool has none; it never gets here).
type NcOf<T> = <T as NcElement>::Nc;
trait NcElement {
    type Nc: BlockElement + netcdf::NcTypeDescriptor + Copy;
}
macro_rules! nc_element {
    ($($t:ty => $n:ty),*) => {$( impl NcElement for $t { type Nc = $n; } )*};
}
nc_element!(bool => u8, i8 => i8, i16 => i16, i32 => i32, i64 => i64, u8 => u8, u16 => u16, u32 => u32, u64 => u64, f32 => f32, f64 => f64);

/// Chunks for a variable: the file's own (NetCDF-4), or slabs along the first axis of
/// about 32 MiB (classic files store whole records).
fn chunking(shape: &[usize], file_chunks: Option<Vec<usize>>, item: usize) -> ChunkSpec {
    match file_chunks {
        Some(c) if c.len() == shape.len() && !c.contains(&0) => ChunkSpec::Explicit(shape.iter().zip(&c).map(|(&n, &k)| regular(n, k)).collect()),
        _ => {
            let row: usize = shape.iter().skip(1).product::<usize>().max(1) * item;
            let first = ((32 << 20) / row).max(1);
            let mut chunks: Vec<Vec<usize>> = shape.iter().map(|&n| vec![n]).collect();
            if let Some(n) = shape.first() {
                chunks[0] = regular(*n, first);
            }
            ChunkSpec::Explicit(chunks)
        }
    }
}

fn regular(n: usize, k: usize) -> Vec<usize> {
    let k = k.max(1);
    let mut v = vec![k; n / k];
    if n % k != 0 {
        v.push(n % k);
    }
    if v.is_empty() {
        v.push(0);
    }
    v
}

/// Opens a NetCDF-3 or NetCDF-4 file as a lazy [`Dataset`] (xarray's `open_dataset`), with CF
/// decoding. Variables of types the runtime has no equivalent for (strings, chars,
/// compounds) are left out.
pub(crate) fn open(path: &Path) -> Result<Dataset, Error> {
    if !path.is_file() {
        return Err(nc_error(path, "no such file"));
    }
    quiet_hdf5();
    let file = netcdf::open(path).map_err(|e| nc_error(path, format!("not a NetCDF file ({e})")))?;
    let mut stored = Vec::new();
    let mut texts = Vec::new();
    for var in file.variables() {
        let name = var.name();
        let Some(dtype) = dtype_of(&var.vartype()) else {
            if let Some(t) = read_text(path, &var)? {
                texts.push(t);
            }
            continue;
        };
        let dims: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
        let shape: Vec<usize> = var.dimensions().iter().map(|d| d.len()).collect();
        let (attrs, attr_dtypes) = read_attrs(&var);
        let spec = chunking(&shape, var.chunking().ok().flatten(), dtype.size_of());
        let grid = ChunkGrid::from_spec(&shape, &spec, dtype.size_of())?;
        let source = NetcdfRef::new(path.to_path_buf(), name.clone());
        let data = Node::new(Op::Netcdf { source }, grid, dtype);
        stored.push(StoredVariable { name, dims, data, attrs, fill_value: None, attr_dtypes });
    }
    let mut global = Attrs::new();
    for a in file.attributes() {
        if let Ok(v) = a.value() {
            global.insert(a.name().to_string(), attr_json(v));
        }
    }
    cf::decode(stored, texts, global)
}

/// A char or string variable, read whole, as xarray decodes it: char arrays lose their last
/// axis (the characters of each string; trailing NULs dropped) and a scalar char is a
/// one-character string. Types with no reading (compound, enum, opaque, vlen) are left out
/// (`None`), as before.
fn read_text(path: &Path, var: &netcdf::Variable) -> Result<Option<StoredText>, Error> {
    let dims: Vec<String> = var.dimensions().iter().map(|d| d.name()).collect();
    let shape: Vec<usize> = var.dimensions().iter().map(|d| d.len()).collect();
    let err = |e: netcdf::Error| nc_error(path, format!("variable {:?}: {e}", var.name()));
    let chars = || if shape.iter().product::<usize>() == 0 { Ok(Vec::new()) } else { var.get_raw_values(..).map_err(err) };
    let (dims, shape, values) = match var.vartype() {
        // A char variable with a fill value is masked character by character and keeps its
        // last axis, as xarray's mask coder runs before its character coder (the fill
        // character becomes an empty string, xarray's NaN).
        NcVariableType::Char if var.attribute("_FillValue").is_some() => {
            let bytes = chars()?;
            let fill = match var.attribute("_FillValue").and_then(|a| a.value().ok()) {
                Some(AttributeValue::Str(f)) => f.bytes().next(),
                Some(AttributeValue::Schar(f)) => Some(f as u8),
                Some(AttributeValue::Uchar(f)) => Some(f),
                _ => None,
            };
            let strings = bytes.iter().map(|&b| if Some(b) == fill { String::new() } else { String::from_utf8_lossy(&[b]).into_owned() }).collect();
            (dims, shape, strings)
        }
        NcVariableType::Char => {
            let bytes = chars()?;
            let width = shape.last().copied().unwrap_or(1).max(1);
            let strings: Vec<String> = bytes.chunks(width).map(|c| String::from_utf8_lossy(c).trim_end_matches('\0').to_string()).collect();
            let (dims, shape) = if dims.is_empty() { (dims, shape) } else { (dims[..dims.len() - 1].to_vec(), shape[..shape.len() - 1].to_vec()) };
            let n: usize = shape.iter().product();
            (dims, shape, if strings.len() == n { strings } else { vec![String::new(); n] })
        }
        NcVariableType::String => {
            let strings = ndarray::indices(IxDyn(&shape)).into_iter().map(|index| var.get_string(index.slice()).map_err(err)).collect::<Result<_, _>>()?;
            (dims, shape, strings)
        }
        _ => return Ok(None),
    };
    let values = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| nc_error(path, e))?;
    Ok(Some(StoredText { name: var.name(), dims, values, attrs: read_attrs(var).0 }))
}

/// Writes `dataset` as a NetCDF-4 file (computing its variables), CF-encoded. The file
/// appears only when complete (written beside it, then renamed).
pub(crate) fn write(dataset: &Dataset, path: &Path) -> Result<(), Error> {
    let stored = cf::encode(dataset)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.strata-partial-{}", std::process::id()));
    let written = (|| {
        quiet_hdf5();
        let mut file = netcdf::create(&partial).map_err(|e| nc_error(path, e))?;
        for (d, n) in dataset.sizes() {
            file.add_dimension(&d, n).map_err(|e| nc_error(path, e))?;
        }
        for (k, v) in dataset.attrs() {
            put_attr(path, |n, a| file.add_attribute(n, a).map(|_| ()), k, v)?;
        }
        for v in &stored {
            let dims: Vec<&str> = v.dims.iter().map(String::as_str).collect();
            let dtype = if v.data.dtype == DType::Bool { DType::U8 } else { v.data.dtype };
            crate::with_dtype!(dtype, T => write_variable::<NcOf<T>>(&mut file, path, v, &dims))?;
        }
        for t in cf::encode_text(dataset) {
            write_text(&mut file, path, &t)?;
        }
        file.close().map_err(|e| nc_error(path, e))
    })();
    match written {
        Ok(()) => std::fs::rename(&partial, path).map_err(|e| nc_error(path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// A text variable as NC_STRING (netCDF-4's strings, which xarray reads back as `str`).
fn write_text(file: &mut netcdf::FileMut, path: &Path, t: &StoredText) -> Result<(), Error> {
    let dims: Vec<&str> = t.dims.iter().map(String::as_str).collect();
    let mut var = file.add_string_variable(&t.name, &dims).map_err(|e| nc_error(path, format!("variable {:?}: {e}", t.name)))?;
    for (index, s) in t.values.indexed_iter() {
        var.put_string(s, index.slice()).map_err(|e| nc_error(path, format!("variable {:?}: {e}", t.name)))?;
    }
    for (k, a) in &t.attrs {
        put_attr(path, |n, val| var.put_attribute(n, val).map(|_| ()), k, a)?;
    }
    Ok(())
}

fn write_variable<T: BlockElement + netcdf::NcTypeDescriptor + Copy>(file: &mut netcdf::FileMut, path: &Path, v: &StoredVariable, dims: &[&str]) -> Result<(), Error> {
    let values = crate::array::ChunkedArray::<T>::typed(v.data.clone()).compute()?;
    let mut var = file.add_variable::<T>(&v.name, dims).map_err(|e| nc_error(path, e))?;
    // `_FillValue` must have the variable's own type, so it is set through libnetcdf's fill
    // value rather than written as an attribute.
    let fill = v.attrs.get("_FillValue").and_then(cf::number).or(T::DTYPE.is_float().then_some(f64::NAN));
    if let Some(fill) = fill {
        var.set_fill_value(<T as crate::array::Element>::from_f64(fill)).map_err(|e| nc_error(path, e))?;
    }
    for (k, a) in v.attrs.iter().filter(|(k, _)| *k != "_FillValue") {
        put_attr(path, |n, val| var.put_attribute(n, val).map(|_| ()), k, a)?;
    }
    let flat: Vec<T> = values.iter().copied().collect();
    var.put_values(&flat, ..).map_err(|e| nc_error(path, format!("variable {:?}: {e}", v.name)))
}

fn put_attr(path: &Path, mut put: impl FnMut(&str, AttributeValue) -> netcdf::Result<()>, key: &str, value: &Value) -> Result<(), Error> {
    let attr = match value {
        Value::String(s) => AttributeValue::Str(s.clone()),
        Value::Bool(b) => AttributeValue::Schar(*b as i8),
        Value::Number(n) if n.is_i64() => AttributeValue::Longlong(n.as_i64().unwrap_or(0)),
        Value::Number(n) => AttributeValue::Double(n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(a) if a.iter().all(|v| v.is_number()) => AttributeValue::Doubles(a.iter().filter_map(|v| v.as_f64()).collect()),
        other => AttributeValue::Str(other.to_string()),
    };
    put(key, attr).map_err(|e| nc_error(path, format!("attribute {key:?}: {e}")))
}
