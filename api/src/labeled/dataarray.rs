//! [`DataArray`]: a lazy chunked array with named dimensions, coordinates, a name and
//! attributes (xarray's DataArray). Operations work by dimension name and label; the data
//! stays a plan until `values`/`compute`.

use std::marker::PhantomData;

use indexmap::IndexMap;
use ndarray::ArrayD;

use super::coord::{Coordinate, Values};
use super::select::{resolve, Positions, Selector};
use super::{Attrs, Variable};
use crate::array::{BlockElement, ChunkedArray, Sel};
use crate::error::Error;
use crate::plan::{BinaryOp, Node, Op};

/// A labeled, lazy N-d array. `T` is the element type of its data; data variables read from
/// files are `f64` after CF decoding (missing values become NaN), as xarray gives floats.
///
/// As in xarray, the array is a [`Variable`] (dimension names, data, attributes, encoding)
/// with a name and coordinates; its data's element type is `T`.
pub struct DataArray<T: BlockElement = f64> {
    pub(crate) name: Option<String>,
    pub(crate) variable: Variable,
    pub(crate) coords: IndexMap<String, Coordinate>,
    _type: PhantomData<fn() -> T>,
}

impl<T: BlockElement> Clone for DataArray<T> {
    fn clone(&self) -> Self {
        DataArray { name: self.name.clone(), variable: self.variable.clone(), coords: self.coords.clone(), _type: PhantomData }
    }
}

impl<T: BlockElement> DataArray<T> {
    /// A variable as it is held (any stored element type), its values delivered as `T`.
    pub(crate) fn stored(variable: Variable) -> DataArray<T> {
        DataArray { name: None, variable, coords: IndexMap::new(), _type: PhantomData }
    }

    /// The array of `data` (its plan made of type `T`) with these dimension names,
    /// coordinates and attributes, and no encoding.
    pub(crate) fn from_parts(name: Option<String>, dims: Vec<String>, data: ChunkedArray<T>, coords: IndexMap<String, Coordinate>, attrs: Attrs) -> DataArray<T> {
        let variable = Variable { dims, data: data.plan().clone(), attrs, encoding: Attrs::new() };
        DataArray { name, variable, coords, _type: PhantomData }
    }
}

/// Which dimensions an operation works over: a name, several, or `..` for all of them.
pub trait Dims {
    /// The dimension names meant, given all of the array's (`all`). Names are not checked
    /// here; the operation reports unknown ones.
    fn names(&self, all: &[String]) -> Vec<String>;
}
impl Dims for &str {
    fn names(&self, _: &[String]) -> Vec<String> {
        vec![self.to_string()]
    }
}
impl Dims for String {
    fn names(&self, _: &[String]) -> Vec<String> {
        vec![self.clone()]
    }
}
impl Dims for &[&str] {
    fn names(&self, _: &[String]) -> Vec<String> {
        self.iter().map(|d| d.to_string()).collect()
    }
}
impl<const N: usize> Dims for [&str; N] {
    fn names(&self, _: &[String]) -> Vec<String> {
        self.iter().map(|d| d.to_string()).collect()
    }
}
impl<const N: usize> Dims for &[&str; N] {
    fn names(&self, _: &[String]) -> Vec<String> {
        self.iter().map(|d| d.to_string()).collect()
    }
}
impl Dims for Vec<String> {
    fn names(&self, _: &[String]) -> Vec<String> {
        self.clone()
    }
}
impl Dims for std::ops::RangeFull {
    fn names(&self, all: &[String]) -> Vec<String> {
        all.to_vec()
    }
}

impl<T: BlockElement> DataArray<T> {
    /// Wraps `data` with a name for each of its dimensions.
    pub fn new<S: AsRef<str>>(data: ChunkedArray<T>, dims: &[S]) -> Result<DataArray<T>, Error> {
        if dims.len() != data.ndim() {
            return Err(Error::Mismatch { what: "DataArray".into(), reason: format!("{} dimension names for an array of {} dimensions", dims.len(), data.ndim()) });
        }
        let dims: Vec<String> = dims.iter().map(|d| d.as_ref().to_string()).collect();
        if let Some(d) = dims.iter().enumerate().find(|(i, d)| dims[..*i].contains(d)) {
            return Err(Error::Mismatch { what: "DataArray".into(), reason: format!("dimension {:?} appears twice", d.1) });
        }
        Ok(DataArray::from_parts(None, dims, data, IndexMap::new(), Attrs::new()))
    }

    /// Adds (or replaces) a coordinate; its dimensions must be this array's, with their sizes.
    pub fn with_coord(mut self, name: &str, coord: Coordinate) -> Result<DataArray<T>, Error> {
        check_coord(name, &coord, &self.sizes())?;
        self.coords.insert(name.to_string(), coord);
        Ok(self)
    }

    /// An index coordinate for `dim` from plain numbers.
    pub fn with_index(self, dim: &str, values: Vec<f64>) -> Result<DataArray<T>, Error> {
        self.with_coord(dim, Coordinate::new(&[dim], Values::from_f64(values)))
    }

    /// The array with this name.
    pub fn with_name(mut self, name: &str) -> DataArray<T> {
        self.name = Some(name.to_string());
        self
    }

    /// The array with `attrs` replacing its attributes.
    pub fn with_attrs(mut self, attrs: Attrs) -> DataArray<T> {
        self.variable.attrs = attrs;
        self
    }

    /// The array with the attribute `key` set to `value`.
    pub fn with_attr(mut self, key: &str, value: impl Into<serde_json::Value>) -> DataArray<T> {
        self.variable.attrs.insert(key.to_string(), value.into());
        self
    }

    /// The array's name, if it has one (xarray's `name`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The dimension names, in axis order (xarray's `dims`).
    pub fn dims(&self) -> &[String] {
        &self.variable.dims
    }

    /// The length of each dimension, in axis order.
    pub fn shape(&self) -> Vec<usize> {
        self.variable.shape()
    }

    /// Each dimension with its length, in order.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        self.variable.dims.iter().cloned().zip(self.shape()).collect()
    }

    /// The attributes (xarray's `attrs`).
    pub fn attrs(&self) -> &Attrs {
        &self.variable.attrs
    }

    /// The coordinates by name, in the order they were added (xarray's `coords`).
    pub fn coords(&self) -> &IndexMap<String, Coordinate> {
        &self.coords
    }

    /// The coordinate `name`; an error listing the coordinates when there is none.
    pub fn coord(&self, name: &str) -> Result<&Coordinate, Error> {
        self.coords.get(name).ok_or_else(|| Error::UnknownVariable {
            name: name.to_string(),
            available: format!("coordinates {:?}", self.coords.keys().collect::<Vec<_>>()),
        })
    }

    /// The index coordinate of `dim`, if it has one.
    pub fn index(&self, dim: &str) -> Option<&Coordinate> {
        index_of(&self.coords, dim)
    }

    /// The plan of the data as text (see [`ChunkedArray::explain`]).
    pub fn explain(&self) -> crate::plan::Explain {
        self.data().explain()
    }

    /// The lazy data, the chunked array under the labels (sharing its plan).
    pub fn data(&self) -> ChunkedArray<T> {
        ChunkedArray::typed(self.variable.data.clone())
    }

    /// The plan of the data.
    pub fn plan(&self) -> &crate::plan::NodeRef {
        &self.variable.data
    }

    /// How the variable was (or is to be) encoded on disk (`_FillValue`, `scale_factor`,
    /// `dtype`, time `units`), as xarray's `DataArray.encoding`.
    pub fn encoding(&self) -> &Attrs {
        &self.variable.encoding
    }

    /// The element type of the data as it is held (xarray's `dtype`): a float32 variable read
    /// from a file says float32 here, and selections and transposes keep it; `T` is the type
    /// its values are delivered as (`values`, `item`, arithmetic).
    pub fn dtype(&self) -> crate::array::DType {
        self.variable.dtype()
    }

    /// The axis number of the dimension `dim` (xarray's `get_axis_num`).
    pub fn axis(&self, dim: &str) -> Result<usize, Error> {
        axis_of(&self.variable, dim)
    }

    /// Runs the plan and returns the values.
    pub fn values(&self) -> Result<ArrayD<T>, Error> {
        self.data().compute()
    }

    /// The array with its data computed and held in memory (xarray's `compute`/`load`).
    /// The values are held in the stored element type (a float32 variable takes half the
    /// memory of float64), as xarray holds them.
    pub fn compute(&self) -> Result<DataArray<T>, Error> {
        let mut out = self.clone();
        out.variable.data = persisted(&self.variable.data)?;
        out.variable.encoding = Attrs::new();
        Ok(out)
    }

    /// The one value of a 0-d array (after a full reduction).
    pub fn item(&self) -> Result<T, Error> {
        self.data().scalar()
    }

    /// Re-cuts the data along named dimensions (xarray's `chunk`): `[("time", 12)]` gives
    /// chunks of 12 along time, `usize::MAX` one chunk over the whole dimension; dimensions
    /// not named keep their chunk length.
    pub fn chunk<S: AsRef<str>>(&self, sizes: &[(S, usize)]) -> Result<DataArray<T>, Error> {
        for (dim, _) in sizes {
            self.axis(dim.as_ref())?;
        }
        // Re-cut in the stored element type; as before, a re-cut array has no encoding.
        let mut out = self.clone();
        out.variable.data = rechunk_node(self.plan(), &self.variable.dims, sizes)?;
        out.variable.encoding = Attrs::new();
        Ok(out)
    }

    /// Chunk lengths along each dimension, by name (xarray's `chunksizes`).
    pub fn chunksizes(&self) -> Vec<(String, Vec<usize>)> {
        self.variable.dims.iter().cloned().zip(self.data().chunks().iter().cloned()).collect()
    }

    /// The same labels over other data of the same shape.
    pub(crate) fn with_data<U: BlockElement>(&self, data: ChunkedArray<U>) -> DataArray<U> {
        DataArray::from_parts(self.name.clone(), self.variable.dims.clone(), data, self.coords.clone(), self.variable.attrs.clone())
    }

    /// The data converted to `U`, labels kept (xarray's `astype`).
    pub fn astype<U: BlockElement>(&self) -> DataArray<U> {
        self.with_data(self.data().astype::<U>())
    }

    /// Selection by position along named dimensions: `da.isel([("time", 0.into()), ("lat", (10..20).into())])`.
    /// An index drops the dimension; a range keeps it.
    pub fn isel<S: AsRef<str>>(&self, selection: impl IntoIterator<Item = (S, Sel)>) -> Result<DataArray<T>, Error> {
        let selection: Vec<(String, Sel)> = selection.into_iter().map(|(d, s)| (d.as_ref().to_string(), s)).collect();
        let (variable, coords) = isel_parts(&self.variable, &self.coords, selection)?;
        Ok(self.with_parts(variable, coords))
    }

    /// Selection by label: `da.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])`,
    /// `da.sel([("time", "1997-12")])`, or [`super::nearest`]. A single label drops the
    /// dimension; slices (inclusive at both ends), lists and date periods keep it.
    pub fn sel<S: AsRef<str>, L: Into<Selector>>(&self, selection: impl IntoIterator<Item = (S, L)>) -> Result<DataArray<T>, Error> {
        let selection: Vec<(String, Selector)> = selection.into_iter().map(|(d, l)| (d.as_ref().to_string(), l.into())).collect();
        let (variable, coords) = sel_parts(&self.variable, &self.coords, selection)?;
        Ok(self.with_parts(variable, coords))
    }

    /// Keeps `positions` of `dim` (the dimension must exist).
    pub(crate) fn select_positions(&self, dim: &str, positions: &Positions) -> DataArray<T> {
        let (variable, coords) = select_parts(&self.variable, &self.coords, dim, positions);
        self.with_parts(variable, coords)
    }

    /// This array's name over another variable and coordinates.
    fn with_parts(&self, variable: Variable, coords: IndexMap<String, Coordinate>) -> DataArray<T> {
        DataArray { name: self.name.clone(), variable, coords, _type: PhantomData }
    }

    /// The dimensions in a new order (all of them, named).
    pub fn transpose(&self, order: &[&str]) -> Result<DataArray<T>, Error> {
        if order.len() != self.variable.dims.len() {
            return Err(Error::Mismatch { what: "transpose".into(), reason: format!("{order:?} does not name each of {:?} once", self.variable.dims) });
        }
        let perm: Vec<usize> = order.iter().map(|d| self.axis(d)).collect::<Result<_, _>>()?;
        // Transposed in the stored element type.
        let mut out = self.clone();
        out.variable.data = crate::plan::build::transpose_node(&self.variable.data, &perm);
        out.variable.encoding = Attrs::new();
        out.variable.dims = order.iter().map(|d| d.to_string()).collect();
        Ok(out)
    }

    /// Renames a dimension, a coordinate or both (when they share the name), as xarray's `rename`.
    pub fn rename(&self, old: &str, new: &str) -> Result<DataArray<T>, Error> {
        let mut out = self.clone();
        let mut found = false;
        for d in out.variable.dims.iter_mut().filter(|d| *d == old) {
            *d = new.to_string();
            found = true;
        }
        out.coords = out
            .coords
            .into_iter()
            .map(|(n, mut c)| {
                for d in c.dims.iter_mut().filter(|d| *d == old) {
                    *d = new.to_string();
                }
                if n == old {
                    found = true;
                    (new.to_string(), c)
                } else {
                    (n, c)
                }
            })
            .collect();
        if !found {
            return Err(Error::UnknownDim { dim: old.to_string(), dims: self.variable.dims.clone() });
        }
        Ok(out)
    }

    /// Makes the 1-D coordinate `coord` (along `dim`) the index of a dimension named after it.
    pub fn swap_dims(&self, dim: &str, coord: &str) -> Result<DataArray<T>, Error> {
        self.axis(dim)?;
        let c = self.coord(coord)?;
        if c.dims != [dim.to_string()] {
            return Err(Error::Mismatch { what: "swap_dims".into(), reason: format!("coordinate {coord:?} is not along {dim:?} alone") });
        }
        let mut out = self.clone();
        for d in out.variable.dims.iter_mut().filter(|d| *d == dim) {
            *d = coord.to_string();
        }
        for c in out.coords.values_mut() {
            for d in c.dims.iter_mut().filter(|d| *d == dim) {
                *d = coord.to_string();
            }
        }
        Ok(out)
    }

    /// Where `cond` holds, the data; elsewhere `other` (xarray's `where`). `cond` is aligned
    /// and broadcast against this array by dimension name.
    pub fn where_(&self, cond: &DataArray<bool>, other: T) -> Result<DataArray<T>, Error> {
        let (a, c) = align(self, cond)?;
        let dims = union_dims(&a.variable.dims, &c.variable.dims);
        let other = crate::array::full(&[], other, crate::array::ChunkSpec::Uniform(usize::MAX));
        let data = crate::array::where_(&broadcast_to(&c, &dims), &broadcast_to(&a, &dims), &other);
        let mut out = a.with_data(data);
        out.variable.dims = dims;
        merge_coords(&mut out.coords, &c.coords);
        Ok(out)
    }
}

/// Whether `indices` are consecutive, ascending.
fn is_run(indices: &[usize]) -> bool {
    !indices.is_empty() && indices.windows(2).all(|w| w[1] == w[0] + 1)
}

pub(crate) fn check_coord(name: &str, coord: &Coordinate, sizes: &[(String, usize)]) -> Result<(), Error> {
    if coord.values.shape().len() != coord.dims.len() {
        return Err(Error::Mismatch { what: format!("coordinate {name:?}"), reason: format!("{} dimension names for values of shape {:?}", coord.dims.len(), coord.values.shape()) });
    }
    for (d, &n) in coord.dims.iter().zip(coord.values.shape()) {
        match sizes.iter().find(|(dim, _)| dim == d) {
            Some((_, len)) if *len == n => {}
            Some((_, len)) => return Err(Error::Mismatch { what: format!("coordinate {name:?}"), reason: format!("{n} values along {d:?}, which has length {len}") }),
            None => return Err(Error::UnknownDim { dim: d.clone(), dims: sizes.iter().map(|(d, _)| d.clone()).collect() }),
        }
    }
    Ok(())
}

/// `a`'s dimensions, then those of `b` that `a` lacks.
pub(crate) fn union_dims(a: &[String], b: &[String]) -> Vec<String> {
    let mut dims = a.to_vec();
    dims.extend(b.iter().filter(|d| !a.contains(d)).cloned());
    dims
}

// Selection works on the parts of a DataArray that do not depend on its element type, in
// functions that are not generic: notebook cells are compiled optimised, and an optimised
// crate does not reuse the API's instances of generic code, so whatever the generic methods
// above call directly would be compiled again in every cell that selects.

/// `node` computed and held in memory, in its own element type.
fn persisted(node: &crate::plan::NodeRef) -> Result<crate::plan::NodeRef, Error> {
    Ok(crate::with_dtype!(node.dtype, S => ChunkedArray::<S>::typed(node.clone()).persist()?.plan().clone()))
}

/// The index coordinate of `dim` (1-D, named after it), if there is one.
fn index_of<'a>(coords: &'a IndexMap<String, Coordinate>, dim: &str) -> Option<&'a Coordinate> {
    coords.get(dim).filter(|c| c.dims.len() == 1 && c.dims[0] == dim)
}

fn axis_of(variable: &Variable, dim: &str) -> Result<usize, Error> {
    variable.dims.iter().position(|d| d == dim).ok_or_else(|| Error::UnknownDim { dim: dim.to_string(), dims: variable.dims.clone() })
}

type Parts = (Variable, IndexMap<String, Coordinate>);

fn isel_parts(variable: &Variable, coords: &IndexMap<String, Coordinate>, selection: Vec<(String, Sel)>) -> Result<Parts, Error> {
    let mut out = (variable.clone(), coords.clone());
    for (dim, sel) in selection {
        let axis = axis_of(&out.0, &dim)?;
        let len = out.0.shape()[axis];
        let positions = match sel {
            Sel::All => continue,
            Sel::Index(i) if i < len => Positions::One(i),
            Sel::Index(index) => return Err(Error::IndexOutOfRange { axis, index, len }),
            Sel::Range { start, end, step } => {
                let (start, end) = (start.unwrap_or(0), end.unwrap_or(len).min(len));
                Positions::Many((start..end.max(start)).step_by(step.max(1)).collect())
            }
        };
        out = select_parts(&out.0, &out.1, &dim, &positions);
    }
    Ok(out)
}

fn sel_parts(variable: &Variable, coords: &IndexMap<String, Coordinate>, selection: Vec<(String, Selector)>) -> Result<Parts, Error> {
    let mut out = (variable.clone(), coords.clone());
    for (dim, selector) in selection {
        axis_of(&out.0, &dim)?;
        let positions = match index_of(&out.1, &dim) {
            Some(index) => resolve(&dim, index, &selector)?,
            None => return Err(Error::LabelNotFound { label: format!("{selector:?}"), dim, reason: "the dimension has no index coordinate; use isel".into() }),
        };
        out = select_parts(&out.0, &out.1, &dim, &positions);
    }
    Ok(out)
}

/// Keeps `positions` of `dim`, in the variable's stored element type (a float32 variable
/// stays float32, as in xarray); unchanged when it has no such dimension.
fn select_parts(variable: &Variable, coords: &IndexMap<String, Coordinate>, dim: &str, positions: &Positions) -> Parts {
    let Ok(axis) = axis_of(variable, dim) else { return (variable.clone(), coords.clone()) };
    let (indices, drop) = match positions {
        Positions::One(i) => (vec![*i], true),
        Positions::Many(v) => (v.clone(), false),
    };
    let mut sel = vec![Sel::All; variable.dims.len()];
    let run = is_run(&indices);
    if drop {
        sel[axis] = Sel::Index(indices[0]);
    } else if run {
        let start = indices.first().copied().unwrap_or(0);
        sel[axis] = Sel::from(start..start + indices.len());
    }
    let data = crate::with_dtype!(variable.dtype(), S => {
        let stored = ChunkedArray::<S>::typed(variable.data.clone());
        if drop || run { stored.isel(&sel).plan().clone() } else { stored.take(axis, &indices).plan().clone() }
    });
    let mut dims = variable.dims.clone();
    if drop {
        dims.remove(axis);
    }
    let coords = coords.iter().map(|(n, c)| (n.clone(), c.select(dim, &indices, drop))).collect();
    // A selection is the same variable, fewer elements: it is stored as the whole was
    // (xarray's `Variable.isel` keeps the encoding too).
    (Variable { dims, data, attrs: variable.attrs.clone(), encoding: variable.encoding.clone() }, coords)
}

/// `x`'s data laid out along `dims` (a superset of its own): its axes put in that order, and
/// length-1 axes where it has none, ready for NumPy broadcasting.
pub(crate) fn broadcast_to<T: BlockElement>(x: &DataArray<T>, dims: &[String]) -> ChunkedArray<T> {
    let order: Vec<usize> = dims.iter().filter_map(|d| x.variable.dims.iter().position(|e| e == d)).collect();
    let mut data = if order.iter().enumerate().all(|(i, &p)| i == p) { x.data() } else { x.data().transpose(&order) };
    for (k, d) in dims.iter().enumerate() {
        if !x.variable.dims.contains(d) {
            data = data.expand_dims(k);
        }
    }
    data
}

/// Adds `other`'s coordinates that `coords` does not have.
pub(crate) fn merge_coords(coords: &mut IndexMap<String, Coordinate>, other: &IndexMap<String, Coordinate>) {
    for (n, c) in other {
        if !coords.contains_key(n) {
            coords.insert(n.clone(), c.clone());
        }
    }
}

/// Aligns two arrays on the dimensions they share: where both have an index and the labels
/// differ, both keep only the labels they have in common (an inner join, in `a`'s order).
/// Without indexes the lengths must agree.
pub fn align<A: BlockElement, B: BlockElement>(a: &DataArray<A>, b: &DataArray<B>) -> Result<(DataArray<A>, DataArray<B>), Error> {
    let (mut a, mut b) = (a.clone(), b.clone());
    let shared: Vec<String> = a.variable.dims.iter().filter(|d| b.variable.dims.contains(d)).cloned().collect();
    for dim in shared {
        let (la, lb) = (a.shape()[a.axis(&dim)?], b.shape()[b.axis(&dim)?]);
        match (a.index(&dim), b.index(&dim)) {
            (Some(ia), Some(ib)) if !ia.values.same_labels(&ib.values) => {
                let (ka, kb) = (label_keys(&ia.values), label_keys(&ib.values));
                let mut in_b: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
                for (j, k) in kb.iter().enumerate() {
                    in_b.entry(k.as_str()).or_insert(j);
                }
                let (mut pa, mut pb) = (Vec::new(), Vec::new());
                for (i, k) in ka.iter().enumerate() {
                    if let Some(&j) = in_b.get(k.as_str()) {
                        pa.push(i);
                        pb.push(j);
                    }
                }
                a = a.select_positions(&dim, &Positions::Many(pa));
                b = b.select_positions(&dim, &Positions::Many(pb));
            }
            _ if la != lb => {
                return Err(Error::Mismatch { what: format!("dimension {dim:?}"), reason: format!("lengths {la} and {lb} differ and there are no index labels to align them by") });
            }
            _ => {}
        }
    }
    Ok((a, b))
}

/// Labels as exact keys for joins (bit patterns for floats, so 0.1 matches only 0.1).
fn label_keys(values: &Values) -> Vec<String> {
    match values {
        Values::Str(a) => a.iter().cloned().collect(),
        Values::F64(a) => a.iter().map(|v| format!("{:x}", (v + 0.0).to_bits())).collect(),
        other => other.to_f64().iter().map(|v| format!("{v}")).collect(),
    }
}

/// The reductions a DataArray offers by dimension name.
#[derive(Clone, Copy)]
enum Reduction {
    Mean,
    Sum,
    Std,
    Var,
    Min,
    Max,
    Count,
}

impl DataArray<f64> {
    /// Reduces over the named dimensions. Not generic (the names are taken first): cells are
    /// compiled optimised and would otherwise compile the reduction again, every time.
    fn reduce_named(&self, names: Vec<String>, kind: Reduction) -> Result<DataArray<f64>, Error> {
        let axes: Vec<usize> = names.iter().map(|d| self.axis(d)).collect::<Result<_, _>>()?;
        let d = self.data();
        let data = match kind {
            Reduction::Mean => d.nanmean(axes.as_slice()).plan().clone(),
            Reduction::Sum => d.nansum(axes.as_slice()).plan().clone(),
            Reduction::Std => d.nanstd(axes.as_slice(), 0).plan().clone(),
            Reduction::Var => d.nanvar(axes.as_slice(), 0).plan().clone(),
            Reduction::Min => d.nanmin(axes.as_slice()).plan().clone(),
            Reduction::Max => d.nanmax(axes.as_slice()).plan().clone(),
            // Held as int64, as xarray's count is; its values are delivered as f64.
            Reduction::Count => d.count(axes.as_slice()).plan().clone(),
        };
        let dims: Vec<String> = self.variable.dims.iter().filter(|d| !names.contains(d)).cloned().collect();
        let coords = self.coords.iter().filter(|(_, c)| !c.dims.iter().any(|d| names.contains(d))).map(|(n, c)| (n.clone(), c.clone())).collect();
        let variable = Variable { dims, data, attrs: Attrs::new(), encoding: Attrs::new() };
        Ok(DataArray { name: self.name.clone(), variable, coords, _type: PhantomData })
    }

    /// Mean over `dims`, skipping NaN (xarray's default for floats).
    pub fn mean(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Mean)
    }
    /// Sum over `dims`, skipping NaN.
    pub fn sum(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Sum)
    }
    /// Standard deviation (ddof 0, as xarray) skipping NaN.
    pub fn std(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Std)
    }
    /// Variance (ddof 0, as xarray) skipping NaN.
    pub fn var(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Var)
    }
    /// Minimum over `dims`, skipping NaN.
    pub fn min(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Min)
    }
    /// Maximum over `dims`, skipping NaN.
    pub fn max(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Max)
    }
    /// How many values are not NaN.
    pub fn count(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        self.reduce_named(dims.names(&self.variable.dims), Reduction::Count)
    }

    /// Element-wise operation with another array, aligned (inner join on index labels) and
    /// broadcast by dimension name.
    pub fn binary(&self, op: BinaryOp, other: &DataArray<f64>) -> Result<DataArray<f64>, Error> {
        let (a, b) = align(self, other)?;
        let dims = union_dims(&a.variable.dims, &b.variable.dims);
        let data = ChunkedArray::from_node(crate::plan::build::binary_node(op, broadcast_to(&a, &dims).plan(), broadcast_to(&b, &dims).plan()));
        let mut coords = a.coords.clone();
        merge_coords(&mut coords, &b.coords);
        let name = if a.name == b.name { a.name.clone() } else { None };
        Ok(DataArray::from_parts(name, dims, data, coords, Attrs::new()))
    }

    fn compare(&self, op: BinaryOp, value: f64) -> DataArray<bool> {
        let scalar = Node::new(Op::Full { value }, crate::array::ChunkGrid::regular(&[], &[]).expect("0-d grid"), crate::array::DType::F64);
        self.with_data(ChunkedArray::from_node(crate::plan::build::binary_node(op, self.plan(), &scalar)))
    }
    /// Whether each value is greater than `value` (NaN: false).
    pub fn gt(&self, value: f64) -> DataArray<bool> {
        self.compare(BinaryOp::Gt, value)
    }
    /// Whether each value is at least `value` (NaN: false).
    pub fn ge(&self, value: f64) -> DataArray<bool> {
        self.compare(BinaryOp::Ge, value)
    }
    /// Whether each value is less than `value` (NaN: false).
    pub fn lt(&self, value: f64) -> DataArray<bool> {
        self.compare(BinaryOp::Lt, value)
    }
    /// Whether each value is at most `value` (NaN: false).
    pub fn le(&self, value: f64) -> DataArray<bool> {
        self.compare(BinaryOp::Le, value)
    }

    /// A coordinate of this array as a DataArray of its own (`da.lat` in xarray), for
    /// weights such as `cos(lat)`; times are given in seconds.
    pub fn coord_array(&self, name: &str) -> Result<DataArray<f64>, Error> {
        let c = self.coord(name)?;
        let data = crate::array::from_array(c.values.to_f64(), crate::array::ChunkSpec::Uniform(usize::MAX));
        let mut out = DataArray::new(data, &c.dims)?.with_name(name).with_attrs(c.attrs.clone());
        for (n, other) in &self.coords {
            if other.dims.iter().all(|d| c.dims.contains(d)) {
                out.coords.insert(n.clone(), other.clone());
            }
        }
        Ok(out)
    }

    /// Applies an element-wise function of the data (`|x| x.cos()`); labels are kept.
    pub fn map_data(&self, f: impl FnOnce(&ChunkedArray<f64>) -> ChunkedArray<f64>) -> DataArray<f64> {
        let data = f(&self.data());
        if data.shape() != self.shape() {
            let error = Error::ShapeMismatch { op: "map_data", left: self.shape(), right: data.shape() };
            return self.with_data(ChunkedArray::from_node(Node::invalid(error, self.plan().grid.clone(), crate::array::DType::F64)));
        }
        self.with_data(data)
    }

    /// Degrees to radians, for trigonometry on latitudes.
    pub fn radians(&self) -> DataArray<f64> {
        self * (std::f64::consts::PI / 180.0)
    }
    /// Cosine of each value (radians).
    pub fn cos(&self) -> DataArray<f64> {
        self.map_data(|x| x.cos())
    }
    /// Sine of each value (radians).
    pub fn sin(&self) -> DataArray<f64> {
        self.map_data(|x| x.sin())
    }

    /// Whether each value is NaN, i.e. missing (xarray's `isnull`).
    pub fn isnull(&self) -> DataArray<bool> {
        self.with_data(self.data().isnan())
    }
    /// Whether each value is present, not NaN (xarray's `notnull`).
    pub fn notnull(&self) -> DataArray<bool> {
        self.with_data(self.data().notnull())
    }

    /// Absolute value of each value.
    pub fn abs(&self) -> DataArray<f64> {
        self.with_data(self.data().abs())
    }
    /// Square root of each value.
    pub fn sqrt(&self) -> DataArray<f64> {
        self.with_data(self.data().sqrt())
    }
    /// Each value to the power `exponent`.
    pub fn powf(&self, exponent: f64) -> DataArray<f64> {
        self.with_data(self.data().powf(exponent))
    }

    /// Weighted reductions (xarray's `weighted`): weights are aligned and broadcast by name,
    /// and a weight counts only where the data is not NaN.
    pub fn weighted(&self, weights: &DataArray<f64>) -> Weighted {
        Weighted { values: self.clone(), weights: weights.clone() }
    }

    /// The coordinate values along `dim`, as numbers (times in seconds).
    pub(crate) fn index_keys(&self, dim: &str) -> Result<Vec<f64>, Error> {
        match self.index(dim) {
            Some(c) => Ok(c.values.to_f64().iter().copied().collect()),
            None => Err(Error::LabelNotFound { dim: dim.into(), label: "(any)".into(), reason: "the dimension has no index coordinate".into() }),
        }
    }

    /// Linear interpolation along `dim` at `targets` (labels of its index; NaN outside it),
    /// as xarray's `interp(method="linear")`.
    pub fn interp(&self, dim: &str, targets: Vec<f64>) -> Result<DataArray<f64>, Error> {
        let axis = self.axis(dim)?;
        let keys = self.index_keys(dim)?;
        if keys.is_empty() {
            // Nothing to interpolate between (and no position to take values from).
            return Err(Error::EmptyIndex { op: "interp", dim: dim.to_string() });
        }
        let increasing = super::coord::monotonic(&keys);
        let (order, sorted): (Vec<usize>, Vec<f64>) = match increasing {
            super::coord::Monotonic::Increasing => ((0..keys.len()).collect(), keys.clone()),
            super::coord::Monotonic::Decreasing => ((0..keys.len()).rev().collect(), keys.iter().rev().copied().collect()),
            super::coord::Monotonic::No => return Err(Error::NotMonotonic { dim: dim.into() }),
        };
        let (mut lo, mut hi, mut w, mut outside) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &t in &targets {
            let j = sorted.partition_point(|&k| k < t);
            let ok = !sorted.is_empty() && t >= sorted[0] && t <= sorted[sorted.len() - 1] && !t.is_nan();
            let (i0, i1) = if !ok { (0, 0) } else if j == 0 || sorted[j.min(sorted.len() - 1)] == t { (j.min(sorted.len() - 1), j.min(sorted.len() - 1)) } else { (j - 1, j) };
            let weight = if i0 == i1 { 0.0 } else { (t - sorted[i0]) / (sorted[i1] - sorted[i0]) };
            lo.push(order[i0]);
            hi.push(order[i1]);
            w.push(weight);
            outside.push(!ok);
        }
        let n = targets.len();
        let a = self.data().take(axis, &lo);
        let b = self.data().take(axis, &hi);
        let mut wshape = vec![1; self.variable.dims.len()];
        wshape[axis] = n;
        let weights: Vec<f64> = w.iter().zip(&outside).map(|(&w, &o)| if o { f64::NAN } else { w }).collect();
        let wa = crate::array::from_array(ArrayD::from_shape_vec(ndarray::IxDyn(&wshape), weights).map_err(|e| Error::InvalidChunks { reason: e.to_string() })?, crate::array::ChunkSpec::Uniform(usize::MAX));
        // a + (b - a) w, with NaN weights outside the index.
        let data = &a + &(&(&b - &a) * &wa);
        let mut out = self.with_data(data);
        out.coords = self.coords.iter().filter(|(_, c)| !c.dims.iter().any(|d| d == dim)).map(|(k, c)| (k.clone(), c.clone())).collect();
        let index = match self.index(dim).map(|c| &c.values) {
            Some(Values::Time(_, cal)) => Values::from_times(targets.iter().map(|&t| (t * crate::labeled::time::MICROS as f64).round() as i64).collect(), *cal),
            _ => Values::from_f64(targets),
        };
        out.coords.insert(dim.to_string(), Coordinate::new(&[dim], index).with_attrs(self.index(dim).map(|c| c.attrs.clone()).unwrap_or_default()));
        Ok(out)
    }
}

/// Weighted mean and sum, from [`DataArray::weighted`].
pub struct Weighted {
    values: DataArray<f64>,
    weights: DataArray<f64>,
}

impl Weighted {
    /// The sum of value times weight over `dims`, NaN products skipped (xarray's
    /// `weighted(w).sum`).
    pub fn sum(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        let (x, w) = align(&self.values, &self.weights)?;
        let product = x.binary(BinaryOp::Mul, &w)?;
        product.sum(dims)
    }

    /// The weighted mean over `dims`: the sum of value times weight, divided by the sum of
    /// the weights where the value is not NaN (xarray's `weighted(w).mean`).
    pub fn mean(&self, dims: impl Dims) -> Result<DataArray<f64>, Error> {
        let (x, w) = align(&self.values, &self.weights)?;
        let names = dims.names(&union_dims(&x.variable.dims, &w.variable.dims));
        let total = x.binary(BinaryOp::Mul, &w)?.sum(names.clone())?;
        // The weights where the data is present: w * (x == x) as 0/1.
        let present = x.with_data(x.data().notnull().astype::<f64>());
        let weight = present.binary(BinaryOp::Mul, &w)?.sum(names)?;
        let mut out = total.binary(BinaryOp::Div, &weight)?;
        out.name = self.values.name.clone();
        Ok(out)
    }
}

/// Operators between arrays and with scalars. Errors in alignment are kept in the plan (as
/// `ChunkedArray` keeps shape errors) and returned by `values`/`compute`.
macro_rules! labeled_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl std::ops::$trait<&DataArray<f64>> for &DataArray<f64> {
            type Output = DataArray<f64>;
            fn $method(self, rhs: &DataArray<f64>) -> DataArray<f64> {
                self.binary(BinaryOp::$op, rhs).unwrap_or_else(|e| self.with_data(ChunkedArray::from_node(Node::invalid(e, self.plan().grid.clone(), crate::array::DType::F64))))
            }
        }
        impl std::ops::$trait<DataArray<f64>> for DataArray<f64> {
            type Output = DataArray<f64>;
            fn $method(self, rhs: DataArray<f64>) -> DataArray<f64> { std::ops::$trait::$method(&self, &rhs) }
        }
        impl std::ops::$trait<&DataArray<f64>> for DataArray<f64> {
            type Output = DataArray<f64>;
            fn $method(self, rhs: &DataArray<f64>) -> DataArray<f64> { std::ops::$trait::$method(&self, rhs) }
        }
        impl std::ops::$trait<f64> for &DataArray<f64> {
            type Output = DataArray<f64>;
            fn $method(self, rhs: f64) -> DataArray<f64> {
                let mut out = self.with_data(std::ops::$trait::$method(&self.data(), rhs));
                out.variable.attrs = Attrs::new();
                out
            }
        }
        impl std::ops::$trait<f64> for DataArray<f64> {
            type Output = DataArray<f64>;
            fn $method(self, rhs: f64) -> DataArray<f64> { std::ops::$trait::$method(&self, rhs) }
        }
    )*};
}
labeled_ops!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl std::ops::Neg for &DataArray<f64> {
    type Output = DataArray<f64>;
    fn neg(self) -> DataArray<f64> {
        self.with_data(-&self.data())
    }
}

impl std::ops::Sub<&DataArray<f64>> for f64 {
    type Output = DataArray<f64>;
    fn sub(self, rhs: &DataArray<f64>) -> DataArray<f64> {
        &(-rhs) + self
    }
}

impl std::ops::Mul<&DataArray<f64>> for f64 {
    type Output = DataArray<f64>;
    fn mul(self, rhs: &DataArray<f64>) -> DataArray<f64> {
        rhs * self
    }
}

/// Joins arrays along `dim`: an existing dimension, or a new one (first) when no array has
/// it. Other dimensions must agree; index coordinates along `dim` are joined too.
pub fn concat(arrays: &[DataArray<f64>], dim: &str) -> Result<DataArray<f64>, Error> {
    let Some(first) = arrays.first() else { return Err(Error::Empty { op: "concat" }) };
    let existing = first.variable.dims.iter().any(|d| d == dim);
    let mut parts = Vec::new();
    for a in arrays {
        if a.variable.dims.iter().filter(|d| *d != dim).ne(first.variable.dims.iter().filter(|d| *d != dim)) {
            return Err(Error::Mismatch { what: "concat".into(), reason: format!("dimensions {:?} and {:?} differ", first.variable.dims, a.variable.dims) });
        }
        parts.push(if existing { a.data() } else { a.data().expand_dims(0) });
    }
    let axis = if existing { first.axis(dim)? } else { 0 };
    let data = crate::array::concatenate(&parts, axis);
    let mut out = first.with_data(data);
    if !existing {
        out.variable.dims.insert(0, dim.to_string());
    }
    out.coords = first.coords.iter().filter(|(_, c)| !c.dims.iter().any(|d| d == dim)).map(|(n, c)| (n.clone(), c.clone())).collect();
    let indexes: Vec<&Values> = arrays.iter().filter_map(|a| a.index(dim).map(|c| &c.values)).collect();
    if existing && indexes.len() == arrays.len() {
        let attrs = first.index(dim).map(|c| c.attrs.clone()).unwrap_or_default();
        out.coords.insert(dim.to_string(), Coordinate::new(&[dim], Values::concat(&indexes)?).with_attrs(attrs));
    }
    Ok(out)
}

/// `node` re-cut to the chunk lengths `sizes` names by dimension (others kept); the node
/// itself when nothing changes.
pub(crate) fn rechunk_node<S: AsRef<str>>(node: &crate::plan::NodeRef, dims: &[String], sizes: &[(S, usize)]) -> Result<crate::plan::NodeRef, Error> {
    let shape = node.shape();
    let mut chunk = node.grid.chunk_shape();
    for (dim, size) in sizes {
        if let Some(axis) = dims.iter().position(|d| d == dim.as_ref()) {
            chunk[axis] = (*size).clamp(1, shape[axis].max(1));
        }
    }
    let grid = crate::array::ChunkGrid::regular(&shape, &chunk)?;
    if grid == node.grid {
        return Ok(node.clone());
    }
    Ok(Node::new(Op::Rechunk { input: node.clone() }, grid, node.dtype))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{from_array, ChunkSpec};

    fn da(values: Vec<f64>, dims: &[&str], shape: &[usize]) -> DataArray<f64> {
        DataArray::new(from_array(ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).unwrap(), ChunkSpec::Uniform(2)), dims).unwrap()
    }

    #[test]
    fn arithmetic_aligns_and_broadcasts_by_name() {
        let a = da(vec![1.0, 2.0, 3.0], &["x"], &[3]).with_index("x", vec![0.0, 1.0, 2.0]).unwrap();
        let b = da(vec![10.0, 20.0], &["x"], &[2]).with_index("x", vec![1.0, 2.0]).unwrap();
        let s = &a + &b;
        assert_eq!(s.values().unwrap().into_raw_vec_and_offset().0, vec![12.0, 23.0]);
        assert_eq!(s.index_keys("x").unwrap(), vec![1.0, 2.0]);
        let y = da(vec![1.0, -1.0], &["y"], &[2]);
        let outer = &a * &y;
        assert_eq!(outer.dims(), &["x".to_string(), "y".to_string()]);
        assert_eq!(outer.values().unwrap().into_raw_vec_and_offset().0, vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0]);
        let bad = &a + &da(vec![1.0, 2.0], &["x"], &[2]).with_index("x", vec![0.0, 1.0]).unwrap().isel([("x", Sel::from(0..2))]).unwrap().rename("x", "x").unwrap();
        assert!(bad.values().is_ok());
        let unlabeled = &da(vec![1.0, 2.0, 3.0], &["z"], &[3]) + &da(vec![1.0, 2.0], &["z"], &[2]);
        assert!(matches!(unlabeled.values(), Err(Error::Mismatch { .. })));
    }

    #[test]
    fn a_float32_variable_keeps_its_dtype_through_selection_and_transpose() {
        let values: Vec<f32> = (0..12).map(|v| v as f32 + 0.25).collect();
        let stored = DataArray::new(from_array(ArrayD::from_shape_vec(ndarray::IxDyn(&[3, 4]), values).unwrap(), ChunkSpec::Uniform(2)), &["lat", "lon"])
            .unwrap()
            .with_index("lat", vec![-1.0, 0.0, 1.0])
            .unwrap();
        let ds = crate::labeled::Dataset::new().with_var("sst", &stored).unwrap();
        // As xarray: `ds.sst.dtype` is float32; the values come as the f64 asked for.
        let sst = ds.var("sst").unwrap();
        assert_eq!(sst.dtype(), crate::array::DType::F32);
        let row = sst.sel([("lat", 0.0)]).unwrap();
        assert_eq!(row.dtype(), crate::array::DType::F32);
        assert_eq!(row.values().unwrap().into_raw_vec_and_offset().0, vec![4.25, 5.25, 6.25, 7.25]);
        let picked = sst.isel([("lon", Sel::from(1..3))]).unwrap().transpose(&["lon", "lat"]).unwrap();
        assert_eq!(picked.dtype(), crate::array::DType::F32);
        assert_eq!(picked.shape(), vec![2, 3]);
        assert_eq!(picked.values().unwrap().into_raw_vec_and_offset().0, vec![1.25, 5.25, 9.25, 2.25, 6.25, 10.25]);
        // A reduction accumulates in f64 and gives f64.
        assert_eq!(row.mean("lon").unwrap().dtype(), crate::array::DType::F64);
        // A count is int64, as xarray's.
        let counted = row.count("lon").unwrap();
        assert_eq!((counted.dtype(), counted.item().unwrap()), (crate::array::DType::I64, 4.0));
        // Computed values are held as stored.
        let held = picked.compute().unwrap();
        assert_eq!(held.dtype(), crate::array::DType::F32);
        assert!(matches!(held.plan().op, Op::Persisted { .. }));
        assert_eq!(held.values().unwrap().into_raw_vec_and_offset().0, vec![1.25, 5.25, 9.25, 2.25, 6.25, 10.25]);
    }

    #[test]
    fn chunk_recuts_the_named_dimensions_only_and_keeps_the_values() {
        let values: Vec<f64> = (0..30).map(f64::from).collect();
        let a = da(values.clone(), &["time", "x"], &[6, 5]);
        let b = a.chunk(&[("time", 4)]).unwrap();
        assert_eq!(b.chunksizes(), vec![("time".to_string(), vec![4, 2]), ("x".to_string(), vec![2, 2, 1])]);
        let whole = a.chunk(&[("x", usize::MAX)]).unwrap();
        assert_eq!(whole.chunksizes()[1], ("x".to_string(), vec![5]));
        assert_eq!(b.values().unwrap().into_raw_vec_and_offset().0, values);
        assert!(matches!(a.chunk(&[("lat", 2)]), Err(Error::UnknownDim { .. })));
        let ds = crate::labeled::Dataset::new().with_var("v", &a).unwrap();
        let recut = ds.chunk(&[("time", 3)]).unwrap();
        assert_eq!(recut.var("v").unwrap().chunksizes()[0], ("time".to_string(), vec![3, 3]));
    }

    #[test]
    fn reductions_skip_nan_by_name_and_weighted_mean() {
        let a = da(vec![1.0, f64::NAN, 3.0, 5.0], &["y", "x"], &[2, 2]);
        assert_eq!(a.mean("x").unwrap().values().unwrap().into_raw_vec_and_offset().0, vec![1.0, 4.0]);
        assert_eq!(a.sum(..).unwrap().item().unwrap(), 9.0);
        assert!(matches!(a.mean("t"), Err(Error::UnknownDim { .. })));
        let w = da(vec![1.0, 3.0], &["y"], &[2]);
        // (1*1 + 3*3 + 3*5) / (1 + 3 + 3): the NaN's weight does not count.
        let m = a.weighted(&w).mean(..).unwrap().item().unwrap();
        assert!((m - 25.0 / 7.0).abs() < 1e-12, "{m}");
    }

    #[test]
    fn interp_is_linear_and_nan_outside() {
        let a = da(vec![0.0, 10.0, 20.0], &["x"], &[3]).with_index("x", vec![0.0, 1.0, 2.0]).unwrap();
        let v = a.interp("x", vec![0.25, 1.5, 2.0, 3.0]).unwrap().values().unwrap().into_raw_vec_and_offset().0;
        assert_eq!(&v[..3], &[2.5, 15.0, 20.0]);
        assert!(v[3].is_nan());
        let empty = a.isel([("x", Sel::from(0..0))]).unwrap();
        assert_eq!(empty.interp("x", vec![0.5]).unwrap_err(), Error::EmptyIndex { op: "interp", dim: "x".into() });
    }
}
