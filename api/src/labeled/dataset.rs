//! [`Dataset`]: data variables sharing dimensions and coordinates, plus attributes (xarray's
//! Dataset). Variables keep the element type they were stored with; `var` gives them as
//! `f64` DataArrays (the cast is part of the lazy plan and costs nothing until computed).

use indexmap::IndexMap;

use super::coord::Coordinate;
use super::dataarray::{check_coord, DataArray, Dims};
use super::select::{resolve, Positions, Selector};
use super::Attrs;
use crate::array::{BlockElement, ChunkedArray, DType, Sel};
use crate::error::Error;
use crate::plan::NodeRef;

/// One variable: dimension names, lazy data of any element type, attributes, and how it was
/// (or is to be) encoded on disk (`_FillValue`, `scale_factor`, `dtype`, time `units`, ...).
#[derive(Clone, Debug)]
pub struct Variable {
    /// The dimension names, one per axis of the data.
    pub dims: Vec<String>,
    /// The data's plan, in the element type it is held in.
    pub data: NodeRef,
    /// Attributes (`units`, `long_name`, ...).
    pub attrs: Attrs,
    /// How it is stored on disk (xarray's `encoding`).
    pub encoding: Attrs,
}

impl Variable {
    /// The length of each dimension.
    pub fn shape(&self) -> Vec<usize> {
        self.data.shape()
    }

    /// The element type the data is held in.
    pub fn dtype(&self) -> DType {
        self.data.dtype
    }

    /// The data as an array of `T` (converted lazily when stored as another type).
    pub fn array<T: BlockElement>(&self) -> ChunkedArray<T> {
        ChunkedArray::typed(self.data.clone())
    }
}

/// Variables that share dimensions and coordinates.
#[derive(Clone, Default)]
pub struct Dataset {
    pub(crate) vars: IndexMap<String, Variable>,
    pub(crate) coords: IndexMap<String, Coordinate>,
    /// Data variables whose values are labels rather than numbers: times (`time_bnds`,
    /// a radar's `time_coverage_start`) and text (`sweep_mode`, a station's name). The array
    /// engine computes numbers, so these are held in memory, as coordinates are; they are
    /// small in the files that have them.
    pub(crate) labels: IndexMap<String, Coordinate>,
    pub(crate) attrs: Attrs,
}

impl Dataset {
    /// An empty dataset.
    pub fn new() -> Dataset {
        Dataset::default()
    }

    /// Adds a data variable (named `name`), with its coordinates; dimensions it shares with
    /// the dataset must have the same lengths, and shared index coordinates the same labels.
    pub fn with_var<T: BlockElement>(mut self, name: &str, array: &DataArray<T>) -> Result<Dataset, Error> {
        let sizes = self.sizes();
        for (d, n) in array.sizes() {
            if let Some((_, m)) = sizes.iter().find(|(e, _)| *e == d) {
                if *m != n {
                    return Err(Error::Mismatch { what: format!("variable {name:?}"), reason: format!("dimension {d:?} has length {n}, the dataset's has {m}") });
                }
            }
        }
        for (cname, c) in array.coords() {
            match self.coords.get(cname) {
                Some(existing) if !existing.values.same_labels(&c.values) => {
                    return Err(Error::Mismatch { what: format!("variable {name:?}"), reason: format!("coordinate {cname:?} differs from the dataset's (align the arrays first)") });
                }
                Some(_) => {}
                None => {
                    self.coords.insert(cname.clone(), c.clone());
                }
            }
        }
        // The array's variable as it is, encoding included (as `ds[name] = da` in xarray), so
        // a variable taken out and put back is written as it was stored.
        self.vars.insert(name.to_string(), array.variable.clone());
        Ok(self)
    }

    /// Adds a coordinate (its dimensions need not be used by a variable yet).
    pub fn with_coord(mut self, name: &str, coord: Coordinate) -> Result<Dataset, Error> {
        let mut sizes = self.sizes();
        for (d, &n) in coord.dims.iter().zip(coord.values.shape()) {
            if !sizes.iter().any(|(e, _)| e == d) {
                sizes.push((d.clone(), n));
            }
        }
        check_coord(name, &coord, &sizes)?;
        self.coords.insert(name.to_string(), coord);
        Ok(self)
    }

    /// The dataset with `attrs` as its (global) attributes.
    pub fn with_attrs(mut self, attrs: Attrs) -> Dataset {
        self.attrs = attrs;
        self
    }

    /// The dataset's global attributes.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// The coordinates by name, in order.
    pub fn coords(&self) -> &IndexMap<String, Coordinate> {
        &self.coords
    }

    /// The data variables by name, in order, as they are held.
    pub fn variables(&self) -> &IndexMap<String, Variable> {
        &self.vars
    }

    /// The names of the data variables, in order: the numeric ones (see [`Dataset::var`]), then
    /// those holding times or text (see [`Dataset::labels`]), as xarray lists them all.
    pub fn data_vars(&self) -> Vec<&str> {
        self.vars.keys().chain(self.labels.keys()).map(|k| k.as_str()).collect()
    }

    /// The data variables that hold times or text instead of numbers, in memory (xarray's
    /// datetime64 and string variables), by name.
    pub fn label_vars(&self) -> &IndexMap<String, Coordinate> {
        &self.labels
    }

    /// A data variable holding times or text (`ds.time_bnds`, `ds.sweep_mode` in xarray).
    pub fn labels(&self, name: &str) -> Result<&Coordinate, Error> {
        self.labels.get(name).ok_or_else(|| self.unknown(name))
    }

    /// Values outside each variable's `valid_range` (or `valid_min`/`valid_max`) made missing,
    /// as netCDF4-python masks them by default; xarray keeps them, and so does `open_dataset`.
    /// See [`crate::io::cf::mask_valid_range`].
    pub fn mask_valid_range(&self) -> Dataset {
        crate::io::cf::mask_valid_range(self)
    }

    /// The dataset without the named variables or coordinates (xarray's `drop_vars`); a name
    /// it does not have is an error.
    pub fn drop_vars<S: AsRef<str>>(&self, names: impl IntoIterator<Item = S>) -> Result<Dataset, Error> {
        let mut out = self.clone();
        for name in names {
            let name = name.as_ref();
            let found = out.vars.shift_remove(name).is_some() | out.labels.shift_remove(name).is_some() | out.coords.shift_remove(name).is_some();
            if !found {
                return Err(self.unknown(name));
            }
        }
        Ok(out)
    }

    /// Adds (or replaces) a data variable of times or text.
    pub fn with_labels(mut self, name: &str, labels: Coordinate) -> Dataset {
        self.vars.shift_remove(name);
        self.labels.insert(name.to_string(), labels);
        self
    }

    /// Every dimension with its length: those of the data variables in their order, then any
    /// that only coordinates have.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        let mut sizes: Vec<(String, usize)> = Vec::new();
        let mut add = |dims: &[String], shape: &[usize]| {
            for (d, &n) in dims.iter().zip(shape) {
                if !sizes.iter().any(|(e, _)| e == d) {
                    sizes.push((d.clone(), n));
                }
            }
        };
        for v in self.vars.values() {
            add(&v.dims, &v.shape());
        }
        for c in self.labels.values().chain(self.coords.values()) {
            add(&c.dims, c.values.shape());
        }
        sizes
    }

    fn unknown(&self, name: &str) -> Error {
        Error::UnknownVariable { name: name.to_string(), available: format!("data variables {:?} and coordinates {:?}", self.data_vars(), self.coords.keys().collect::<Vec<_>>()) }
    }

    /// A data variable as a float DataArray, with the coordinates along its dimensions.
    pub fn var(&self, name: &str) -> Result<DataArray<f64>, Error> {
        self.var_as::<f64>(name)
    }

    /// A data variable with elements of type `T`.
    pub fn var_as<T: BlockElement>(&self, name: &str) -> Result<DataArray<T>, Error> {
        let Some(v) = self.vars.get(name) else {
            return Err(match self.labels.get(name) {
                Some(l) => Error::Mismatch { what: format!("variable {name:?}"), reason: format!("it holds {} values, not numbers: read them with Dataset::labels({name:?})", l.values.kind()) },
                None => self.unknown(name),
            });
        };
        // The variable itself, in its stored type (xarray's `ds[name].dtype`); its values are
        // delivered as `T`, converted lazily where they are used.
        let mut out = DataArray::<T>::stored(v.clone()).with_name(name);
        for (cname, c) in &self.coords {
            if c.dims.iter().all(|d| v.dims.contains(d)) {
                out.coords.insert(cname.clone(), c.clone());
            }
        }
        Ok(out)
    }

    /// Re-cuts every variable along the named dimensions (xarray's `Dataset.chunk`); see
    /// [`DataArray::chunk`](super::DataArray::chunk).
    pub fn chunk<S: AsRef<str>>(&self, sizes: &[(S, usize)]) -> Result<Dataset, Error> {
        for (dim, _) in sizes {
            self.len_of(dim.as_ref())?;
        }
        let mut out = self.clone();
        for var in out.vars.values_mut() {
            var.data = super::dataarray::rechunk_node(&var.data, &var.dims, sizes)?;
        }
        Ok(out)
    }

    /// Selection by position along named dimensions, applied to every variable and coordinate.
    pub fn isel<S: AsRef<str>>(&self, selection: impl IntoIterator<Item = (S, Sel)>) -> Result<Dataset, Error> {
        let mut out = self.clone();
        for (dim, sel) in selection {
            let dim = dim.as_ref();
            let len = out.len_of(dim)?;
            let positions = match sel {
                Sel::All => continue,
                Sel::Index(i) if i < len => Positions::One(i),
                Sel::Index(index) => return Err(Error::IndexOutOfRange { axis: 0, index, len }),
                Sel::Range { start, end, step } => {
                    let (start, end) = (start.unwrap_or(0), end.unwrap_or(len).min(len));
                    Positions::Many((start..end.max(start)).step_by(step.max(1)).collect())
                }
            };
            out = out.select_positions(dim, &positions)?;
        }
        Ok(out)
    }

    /// Selection by label (see [`DataArray::sel`]), applied to every variable and coordinate.
    pub fn sel<S: AsRef<str>, L: Into<Selector>>(&self, selection: impl IntoIterator<Item = (S, L)>) -> Result<Dataset, Error> {
        let mut out = self.clone();
        for (dim, selector) in selection {
            let dim = dim.as_ref();
            out.len_of(dim)?;
            let index = out.coords.get(dim).filter(|c| c.dims == [dim.to_string()]);
            let Some(index) = index else {
                return Err(Error::LabelNotFound { dim: dim.into(), label: format!("{:?}", selector.into()), reason: "the dimension has no index coordinate; use isel".into() });
            };
            let positions = resolve(dim, index, &selector.into())?;
            out = out.select_positions(dim, &positions)?;
        }
        Ok(out)
    }

    fn len_of(&self, dim: &str) -> Result<usize, Error> {
        let sizes = self.sizes();
        sizes.iter().find(|(d, _)| d == dim).map(|(_, n)| *n).ok_or_else(|| Error::UnknownDim { dim: dim.to_string(), dims: sizes.into_iter().map(|(d, _)| d).collect() })
    }

    fn select_positions(&self, dim: &str, positions: &Positions) -> Result<Dataset, Error> {
        let mut out = Dataset { vars: IndexMap::new(), coords: IndexMap::new(), labels: IndexMap::new(), attrs: self.attrs.clone() };
        let (indices, drop) = match positions {
            Positions::One(i) => (vec![*i], true),
            Positions::Many(v) => (v.clone(), false),
        };
        for (name, v) in &self.vars {
            if !v.dims.iter().any(|d| d == dim) {
                out.vars.insert(name.clone(), v.clone());
                continue;
            }
            // Selected as a DataArray does it, in the variable's own element type.
            let selected = DataArray::<f64>::stored(v.clone()).select_positions(dim, positions);
            out.vars.insert(name.clone(), selected.variable);
        }
        for (name, c) in &self.coords {
            out.coords.insert(name.clone(), c.select(dim, &indices, drop));
        }
        for (name, l) in &self.labels {
            out.labels.insert(name.clone(), l.select(dim, &indices, drop));
        }
        Ok(out)
    }

    /// Every data variable reduced by its mean over `dims` (those it has).
    pub fn mean(&self, dims: impl Dims) -> Result<Dataset, Error> {
        let all: Vec<String> = self.sizes().into_iter().map(|(d, _)| d).collect();
        let names = dims.names(&all);
        // Times and text are not averaged (xarray drops text from reductions).
        let mut out = Dataset { vars: IndexMap::new(), coords: IndexMap::new(), labels: IndexMap::new(), attrs: self.attrs.clone() };
        for name in self.vars.keys() {
            let da = self.var(name)?;
            let own: Vec<String> = names.iter().filter(|d| da.dims().contains(d)).cloned().collect();
            out = out.with_var(name, &da.mean(own)?)?;
        }
        Ok(out)
    }

    /// The dataset with `name` renamed (a variable, coordinate or dimension; all that match).
    pub fn rename(&self, old: &str, new: &str) -> Result<Dataset, Error> {
        let mut found = false;
        let mut out = self.clone();
        let swap = |d: &mut String, found: &mut bool| {
            if d == old {
                *d = new.to_string();
                *found = true;
            }
        };
        out.vars = out
            .vars
            .into_iter()
            .map(|(mut n, mut v)| {
                v.dims.iter_mut().for_each(|d| swap(d, &mut found));
                swap(&mut n, &mut found);
                (n, v)
            })
            .collect();
        let rename_all = |held: IndexMap<String, Coordinate>, found: &mut bool| {
            held.into_iter()
                .map(|(mut n, mut c)| {
                    c.dims.iter_mut().for_each(|d| swap(d, found));
                    swap(&mut n, found);
                    (n, c)
                })
                .collect()
        };
        out.coords = rename_all(out.coords, &mut found);
        out.labels = rename_all(out.labels, &mut found);
        if found { Ok(out) } else { Err(self.unknown(old)) }
    }
}

impl<T: BlockElement> DataArray<T> {
    /// A dataset holding this array as its one variable (named as the array, or `name`).
    pub fn to_dataset(&self, name: Option<&str>) -> Result<Dataset, Error> {
        let name = name.or(self.name()).unwrap_or("data").to_string();
        Dataset::new().with_var(&name, self)
    }
}
