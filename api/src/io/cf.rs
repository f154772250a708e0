//! CF conventions, both ways, for every file format: stored variables (raw numbers, their
//! attributes and fill value) become a [`Dataset`] of decoded values, and a Dataset becomes
//! stored variables again.
//!
//! Decoding, as xarray's `decode_cf`: `_FillValue` and `missing_value` become NaN,
//! `scale_factor` and `add_offset` unpack integers into floats, and coordinates with units
//! "<unit> since <date>" become times in their `calendar`. What was used is kept in the
//! variable's `encoding`, and removed from its attributes.
//!
//! As in xarray (and unlike netCDF4-python's defaults), `valid_range`, `valid_min` and
//! `valid_max` are kept as attributes and not applied ([`Dataset::mask_valid_range`] applies
//! them, as netCDF4-python does), and a format's default fill value
//! (netCDF's 9.96921e36 for floats) masks nothing unless a `_FillValue` names it; Zarr v2's
//! `fill_value` metadata does mask, as xarray's Zarr backend makes it the `_FillValue`.

use ndarray::ArrayD;

use indexmap::IndexMap;

use crate::array::{from_array, where_, ChunkSpec, ChunkedArray, DType};
use crate::error::Error;
use crate::labeled::coord::{Coordinate, Values, NAT};
use crate::labeled::time::{Calendar, TimeUnits};
use crate::labeled::{Attrs, Dataset, Variable};
use crate::plan::{build, BinaryOp, NodeRef};

/// A variable as a file stores it.
#[derive(Clone, Debug)]
pub struct StoredVariable {
    /// The variable's name in the file.
    pub name: String,
    /// Its dimension names, one per axis.
    pub dims: Vec<String>,
    /// Its raw stored values, as a plan (nothing read yet).
    pub data: NodeRef,
    /// Its attributes as stored, CF encoding attributes included.
    pub attrs: Attrs,
    /// The format's own fill value (Zarr v2 metadata, NetCDF's default), if it has one.
    pub fill_value: Option<f64>,
    /// The element type of numeric attributes, where the format stores one (NetCDF does;
    /// JSON attributes, as Zarr's, have none and count as float64). xarray picks a packed
    /// variable's decoded type from its `scale_factor` and `add_offset` types.
    pub attr_dtypes: IndexMap<String, DType>,
}

impl StoredVariable {
    /// A variable with no format fill value and untyped (JSON) attributes.
    pub fn new(name: impl Into<String>, dims: Vec<String>, data: NodeRef, attrs: Attrs) -> StoredVariable {
        StoredVariable { name: name.into(), dims, data, attrs, fill_value: None, attr_dtypes: IndexMap::new() }
    }

    /// The element type xarray decodes this variable to (its `CFMaskCoder` then
    /// `CFScaleOffsetCoder`, checked case by case against xarray 2026.9): masking promotes
    /// integers to float32 (up to 16 bits) or float64, packing picks the type of
    /// `scale_factor`/`add_offset`, and a variable with nothing to decode keeps its stored
    /// type. `_Unsigned` without a fill reads as the unsigned type.
    pub fn decoded_dtype(&self) -> DType {
        let stored = self.data.dtype;
        let packed = ["scale_factor", "add_offset"].iter().any(|k| self.attrs.contains_key(*k));
        let masked = !fill_values(self).is_empty();
        let after_sign = match signedness(stored, &self.attrs) {
            Some(Signedness::Unsigned(_)) => stored.with_signedness(false),
            Some(Signedness::Signed(_)) => stored.with_signedness(true),
            None => stored,
        };
        let after_mask = match (masked, packed) {
            (false, _) => after_sign,
            (true, true) => self.packed_dtype(after_sign),
            (true, false) => promoted(after_sign),
        };
        // Unpacking picks its type again only where masking did not already (xarray's
        // `CFScaleOffsetCoder` skips the choice when a fill value is in the encoding).
        let has_fill = masked || ["_FillValue", "missing_value"].iter().any(|k| self.attrs.contains_key(*k));
        if packed && !has_fill { self.packed_dtype(after_mask) } else { after_mask }
    }

    /// xarray's `_choose_float_dtype` for `dtype` under this variable's packing attributes.
    fn packed_dtype(&self, dtype: DType) -> DType {
        let type_of = |key: &str| self.attrs.contains_key(key).then(|| self.attr_dtypes.get(key).copied().filter(|d| d.is_float()).unwrap_or(DType::F64));
        match (type_of("scale_factor"), type_of("add_offset")) {
            (Some(scale), Some(offset)) if scale == offset => {
                if dtype.size_of() == 4 && !dtype.is_float() { DType::F64 } else { scale }
            }
            (_, Some(_)) => DType::F64,
            (Some(scale), None) => scale,
            (None, None) => promoted(dtype),
        }
    }
}

/// The float type that holds `dtype`'s values and NaN (xarray's `maybe_promote`): floats stay,
/// integers of up to 16 bits become float32 (exact), wider ones float64.
fn promoted(dtype: DType) -> DType {
    match dtype {
        DType::F64 => DType::F64,
        DType::F32 => DType::F32,
        _ if dtype.size_of() <= 2 => DType::F32,
        _ => DType::F64,
    }
}

/// A variable of text as a file stores it, read whole: NetCDF char arrays (their last axis,
/// the characters, already joined into strings, as xarray's `CharacterArrayCoder` does) and
/// NC_STRING variables.
#[derive(Clone, Debug)]
pub struct StoredText {
    /// The variable's name in the file.
    pub name: String,
    /// Its dimension names, the character axis left out.
    pub dims: Vec<String>,
    /// Its strings.
    pub values: ArrayD<String>,
    /// Its attributes as stored.
    pub attrs: Attrs,
}

const ENCODING_KEYS: [&str; 6] = ["_FillValue", "missing_value", "scale_factor", "add_offset", "coordinates", "_Unsigned"];

/// A number as JSON attributes hold it (`"NaN"` and friends included).
pub fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        serde_json::Value::Array(a) => a.first().and_then(number),
        _ => None,
    }
}

/// How the `_Unsigned` attribute asks to read integers stored with the other signedness
/// (netCDF-3 has no unsigned types, so unsigned bytes are stored signed with
/// `_Unsigned = "true"`; xarray's `UnsignedIntegerCoder`): `Some(2^bits)` when stored values
/// must be shifted by that much, with the sign they should have had.
#[derive(Clone, Copy)]
enum Signedness {
    /// Signed storage of unsigned values: negative values wrap up by `2^bits`.
    Unsigned(f64),
    /// Unsigned storage of signed values: values above the signed maximum wrap down.
    Signed(f64),
}

fn signedness(dtype: DType, attrs: &Attrs) -> Option<Signedness> {
    let flag = attrs.get("_Unsigned").and_then(|u| u.as_str())?.trim().to_ascii_lowercase();
    let wrap = 2f64.powi(8 * dtype.size_of() as i32);
    match (flag.as_str(), dtype) {
        ("true", DType::I8 | DType::I16 | DType::I32 | DType::I64) => Some(Signedness::Unsigned(wrap)),
        ("false", DType::U8 | DType::U16 | DType::U32 | DType::U64) => Some(Signedness::Signed(wrap)),
        _ => None,
    }
}

impl Signedness {
    /// A stored number as the value it stands for.
    fn read(self, x: f64) -> f64 {
        match self {
            Signedness::Unsigned(wrap) if x < 0.0 => x + wrap,
            Signedness::Signed(wrap) if x >= wrap / 2.0 => x - wrap,
            _ => x,
        }
    }

    /// The inverse of [`Signedness::read_array`], for writing back: the opposite shift.
    fn write_array(self, x: ChunkedArray<f64>) -> ChunkedArray<f64> {
        match self {
            Signedness::Unsigned(wrap) => Signedness::Signed(wrap).read_array(x),
            Signedness::Signed(wrap) => Signedness::Unsigned(wrap).read_array(x),
        }
    }

    fn read_array(self, x: ChunkedArray<f64>) -> ChunkedArray<f64> {
        match self {
            Signedness::Unsigned(wrap) => where_(&x.lt_scalar(0.0), &(&x + wrap), &x),
            Signedness::Signed(wrap) => where_(&x.ge_scalar(wrap / 2.0), &(&x - wrap), &x),
        }
    }
}

/// The values that mean "missing" for a variable (as the values they stand for, after
/// `_Unsigned`).
fn fill_values(v: &StoredVariable) -> Vec<f64> {
    let mut fills: Vec<f64> = ["_FillValue", "missing_value"]
        .iter()
        .filter_map(|k| v.attrs.get(*k))
        .flat_map(|value| match value {
            serde_json::Value::Array(a) => a.iter().filter_map(number).collect::<Vec<_>>(),
            other => number(other).into_iter().collect(),
        })
        .collect();
    if !v.attrs.contains_key("_FillValue") {
        fills.extend(v.fill_value);
    }
    if let Some(sign) = signedness(v.data.dtype, &v.attrs) {
        fills = fills.into_iter().map(|f| sign.read(f)).collect();
    }
    fills.retain(|f| !f.is_nan());
    fills.dedup();
    fills
}

/// The decoded values, lazily: masked, scaled and offset, in the type xarray gives them
/// ([`StoredVariable::decoded_dtype`]). A variable with nothing to decode is its stored plan.
///
/// float32 data is masked in float32, as xarray keeps it: the float64 the labeled API hands
/// out is a cast on top, which reductions fold away (`plan::optimize::fold_casts`), so a mean
/// of a float32 variable reads float32 chunks instead of float64 copies of them.
fn decode_data(v: &StoredVariable) -> NodeRef {
    let target = v.decoded_dtype();
    let fills = fill_values(v);
    let packed = ["scale_factor", "add_offset"].iter().any(|k| v.attrs.contains_key(*k));
    if target == v.data.dtype && fills.is_empty() && !packed {
        return v.data.clone();
    }
    let x: ChunkedArray<f64> = if v.data.dtype == DType::F32 {
        let mut data = v.data.clone();
        let nan = build::scalar(f32::NAN);
        // A fill a float32 cannot hold equals no stored value (xarray compares in float64).
        for fill in fills.iter().filter(|&&f| (f as f32) as f64 == f) {
            let is_fill = build::binary_node(BinaryOp::Eq, &data, &build::scalar(*fill as f32));
            data = build::where_node(&is_fill, &nan, &data);
        }
        if !packed {
            return data;
        }
        ChunkedArray::typed(data)
    } else {
        let mut x: ChunkedArray<f64> = ChunkedArray::typed(v.data.clone());
        if let Some(sign) = signedness(v.data.dtype, &v.attrs) {
            x = sign.read_array(x);
        }
        let nan = crate::array::full(&[], f64::NAN, ChunkSpec::Uniform(usize::MAX));
        for fill in fills {
            x = where_(&x.eq_scalar(fill), &nan, &x);
        }
        x
    };
    let x = scale_and_offset(v, x);
    crate::with_dtype!(target, T => x.astype::<T>().plan().clone())
}

fn scale_and_offset(v: &StoredVariable, mut x: ChunkedArray<f64>) -> ChunkedArray<f64> {
    if let Some(scale) = v.attrs.get("scale_factor").and_then(number) {
        x = &x * scale;
    }
    if let Some(offset) = v.attrs.get("add_offset").and_then(number) {
        x = &x + offset;
    }
    x
}

/// A number as a JSON attribute: an integer when it is one (fill values of integer variables).
fn json_number(x: f64) -> serde_json::Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        serde_json::Value::from(x as i64)
    } else {
        serde_json::Value::from(x)
    }
}

fn split_attrs(v: &StoredVariable, also: &[&str]) -> (Attrs, Attrs) {
    let (mut attrs, mut encoding) = (Attrs::new(), Attrs::new());
    for (k, value) in &v.attrs {
        if ENCODING_KEYS.contains(&k.as_str()) || also.contains(&k.as_str()) {
            encoding.insert(k.clone(), value.clone());
        } else if k != "_ARRAY_DIMENSIONS" {
            attrs.insert(k.clone(), value.clone());
        }
    }
    // Zarr v2 keeps an integer variable's fill value in the array metadata, not in its
    // attributes: it belongs in the encoding all the same, so that the variable is written
    // back as the same integers with the same fill.
    if !v.data.dtype.is_float() && !encoding.contains_key("_FillValue") {
        if let Some(fill) = v.fill_value.filter(|f| f.is_finite()) {
            encoding.insert("_FillValue".into(), json_number(fill));
        }
    }
    encoding.insert("dtype".into(), v.data.dtype.name().into());
    (attrs, encoding)
}

/// A coordinate, read whole and decoded (times included).
fn decode_coordinate(v: &StoredVariable) -> Result<Coordinate, Error> {
    let decoded = decode_data(v);
    // Read once, in the type it decodes to: integers stay exact (int64 time counts, ids).
    let integers = !decoded.dtype.is_float();
    let Some(units) = time_units(v) else {
        let values = if integers { Values::I64(ChunkedArray::<i64>::typed(decoded).compute()?) } else { Values::F64(ChunkedArray::<f64>::typed(decoded).compute()?) };
        return Ok(Coordinate { dims: v.dims.clone(), values, attrs: split_attrs(v, &[]).0 });
    };
    let calendar = match v.attrs.get("calendar").and_then(|c| c.as_str()) {
        Some(c) => Calendar::parse(c)?,
        None => Calendar::Standard,
    };
    let parsed = TimeUnits::parse(units)?;
    // Integer counts (what xarray writes) decode in integers, exactly; floats in float64.
    let (shape, instants) = if integers {
        let counts = ChunkedArray::<i64>::typed(decoded).compute()?;
        (counts.raw_dim(), parsed.decode_counts(&v.name, &counts.iter().copied().collect::<Vec<i64>>(), calendar)?)
    } else {
        let numbers = ChunkedArray::<f64>::typed(decoded).compute()?;
        (numbers.raw_dim(), parsed.decode(&v.name, &numbers.iter().copied().collect::<Vec<f64>>(), calendar)?)
    };
    let instants: Vec<i64> = instants.into_iter().map(|t| t.unwrap_or(NAT)).collect();
    let values = Values::Time(ArrayD::from_shape_vec(shape, instants).map_err(|e| Error::InvalidChunks { reason: e.to_string() })?, calendar);
    Ok(Coordinate { dims: v.dims.clone(), values, attrs: split_attrs(v, &["units", "calendar"]).0 })
}

/// The `units` of a variable that holds times ("<unit> since <date>").
fn time_units(v: &StoredVariable) -> Option<&str> {
    v.attrs.get("units").and_then(|u| u.as_str()).filter(|u| u.contains(" since "))
}

/// Bounds variables take the `units` and `calendar` of the time coordinate that names them
/// when they have none of their own (CF 7.1, xarray's `_update_bounds_attributes`), so that
/// `time_bnds` decodes to the same instants as `time`.
fn inherit_bounds_units(variables: &mut [StoredVariable]) {
    let inherited: Vec<(String, Attrs)> = variables
        .iter()
        .filter(|v| time_units(v).is_some())
        .filter_map(|v| {
            let bounds = v.attrs.get("bounds")?.as_str()?.to_string();
            let own: Attrs = ["units", "calendar"].iter().filter_map(|k| Some((k.to_string(), v.attrs.get(*k)?.clone()))).collect();
            Some((bounds, own))
        })
        .collect();
    for (bounds, own) in inherited {
        if let Some(b) = variables.iter_mut().find(|v| v.name == bounds) {
            for (k, value) in own {
                b.attrs.entry(k).or_insert(value);
            }
        }
    }
}

/// Decodes stored variables into a dataset: index coordinates (a 1-D variable named as its
/// dimension) and those a variable's `coordinates` attribute lists are read into memory;
/// numeric data variables stay lazy; data variables of times (`time_bnds`) and of text are
/// read into memory as labels ([`Dataset::labels`]).
pub fn decode(mut variables: Vec<StoredVariable>, texts: Vec<StoredText>, attrs: Attrs) -> Result<Dataset, Error> {
    inherit_bounds_units(&mut variables);
    let mut coord_names: Vec<String> = variables.iter().filter(|v| v.dims.len() == 1 && v.dims[0] == v.name).map(|v| v.name.clone()).collect();
    coord_names.extend(texts.iter().filter(|t| t.dims.len() == 1 && t.dims[0] == t.name).map(|t| t.name.clone()));
    for listed in variables.iter().map(|v| &v.attrs).chain(texts.iter().map(|t| &t.attrs)).filter_map(|a| a.get("coordinates")?.as_str()) {
        coord_names.extend(listed.split_whitespace().map(str::to_string));
    }
    let mut ds = Dataset::new().with_attrs(attrs);
    for v in variables.iter().filter(|v| coord_names.contains(&v.name)) {
        ds.coords.insert(v.name.clone(), decode_coordinate(v)?);
    }
    for t in texts {
        let attrs = t.attrs.into_iter().filter(|(k, _)| !ENCODING_KEYS.contains(&k.as_str()) && k != "_Encoding").collect();
        let text = Coordinate { dims: t.dims, values: Values::Str(t.values), attrs };
        if coord_names.contains(&t.name) {
            ds.coords.insert(t.name, text);
        } else {
            ds.labels.insert(t.name, text);
        }
    }
    for v in variables.iter().filter(|v| !coord_names.contains(&v.name)) {
        // Times in data variables (cell bounds, a radar's base time) are decoded as in
        // coordinates, and held as labels; a failure names the variable, as xarray's does.
        if time_units(v).is_some() {
            ds.labels.insert(v.name.clone(), decode_coordinate(v)?);
            continue;
        }
        let (attrs, encoding) = split_attrs(v, &[]);
        // Integers (and booleans) with nothing to mask, scale or re-sign stay as stored, as
        // xarray keeps them: an int32 count is int32, and is written back as one.
        let data = decode_data(v);
        ds.vars.insert(v.name.clone(), Variable { dims: v.dims.clone(), data, attrs, encoding });
    }
    Ok(ds)
}

/// The text coordinates and data variables of `ds`, as a format that stores strings writes
/// them (NetCDF-4's NC_STRING).
pub fn encode_text(ds: &Dataset) -> Vec<StoredText> {
    ds.coords()
        .iter()
        .chain(ds.label_vars())
        .filter_map(|(name, c)| match &c.values {
            Values::Str(values) => Some(StoredText { name: name.clone(), dims: c.dims.clone(), values: values.clone(), attrs: c.attrs.clone() }),
            _ => None,
        })
        .collect()
}

/// The stored range of valid values a variable declares (`valid_range`, else `valid_min`
/// and `valid_max`), in decoded units: the bounds are stored numbers, so they are unpacked
/// with the variable's `scale_factor` and `add_offset` (and swap when the scale is negative).
fn valid_bounds(v: &Variable) -> Option<(f64, f64)> {
    let range = v.attrs.get("valid_range").and_then(|r| r.as_array()).and_then(|r| Some((number(r.first()?)?, number(r.get(1)?)?)));
    let (lo, hi) = match range {
        Some(bounds) => bounds,
        None => {
            let (lo, hi) = (v.attrs.get("valid_min").and_then(number), v.attrs.get("valid_max").and_then(number));
            if lo.is_none() && hi.is_none() {
                return None;
            }
            (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY))
        }
    };
    let scale = v.encoding.get("scale_factor").and_then(number).unwrap_or(1.0);
    let offset = v.encoding.get("add_offset").and_then(number).unwrap_or(0.0);
    let (a, b) = (lo * scale + offset, hi * scale + offset);
    Some(if a <= b { (a, b) } else { (b, a) })
}

/// `ds` with values outside each variable's `valid_range` (or `valid_min`/`valid_max`) made
/// missing, as netCDF4-python masks them and xarray does not (see the module's docs). The
/// bounds are inclusive; variables without them are unchanged; masked integers become
/// float64, float32 stays float32. netCDF4-python's further rule, a range implied by the
/// sign of `_FillValue` when no valid range is given, is not applied.
pub fn mask_valid_range(ds: &Dataset) -> Dataset {
    let mut out = ds.clone();
    for v in out.vars.values_mut() {
        let Some((lo, hi)) = valid_bounds(v) else { continue };
        let x: ChunkedArray<f64> = v.array::<f64>();
        let nan = crate::array::full(&[], f64::NAN, ChunkSpec::Uniform(usize::MAX));
        let inside = where_(&x.ge_scalar(lo), &x, &nan);
        let inside = where_(&inside.le_scalar(hi), &inside, &nan);
        v.data = if v.dtype() == DType::F32 { inside.astype::<f32>().plan().clone() } else { inside.plan().clone() };
    }
    out
}

/// A coordinate as stored numbers: times as whole counts of the coarsest exact unit since
/// the first day, with `units` and `calendar` attributes.
pub fn encode_coordinate(name: &str, c: &Coordinate) -> Result<StoredVariable, Error> {
    let mut attrs = c.attrs.clone();
    let data = match &c.values {
        Values::F64(a) => from_array(a.clone(), ChunkSpec::Uniform(usize::MAX)).plan().clone(),
        Values::I64(a) => from_array(a.clone(), ChunkSpec::Uniform(usize::MAX)).plan().clone(),
        Values::Time(a, calendar) => {
            let valid: Vec<i64> = a.iter().copied().filter(|&t| t != NAT).collect();
            let units = TimeUnits::for_instants(&valid, *calendar);
            // Whole counts, computed in integers (exact where float64 would round).
            let counts = a.mapv(|t| if t == NAT { i64::MIN } else { units.encode_count(t, *calendar).unwrap_or_else(|| units.encode(t, *calendar).round() as i64) });
            attrs.insert("units".into(), units.name().into());
            attrs.insert("calendar".into(), calendar.name().into());
            from_array(counts, ChunkSpec::Uniform(usize::MAX)).plan().clone()
        }
        Values::Str(_) => {
            return Err(Error::UnsupportedZarrType { path: name.to_string(), dtype: "string coordinate".into() });
        }
    };
    Ok(StoredVariable::new(name, c.dims.clone(), data, attrs))
}

/// Every coordinate and variable of `ds` as stored variables, coordinates first. Data
/// variables are written decoded (floats with NaN for missing values); their non-index
/// coordinates are listed in a `coordinates` attribute, as xarray writes them.
///
/// Data variables of times are written as time coordinates are; text (coordinates and data
/// variables) is left to [`encode_text`], as formats store it apart from numbers.
pub fn encode(ds: &Dataset) -> Result<Vec<StoredVariable>, Error> {
    let mut out = Vec::new();
    for (name, c) in ds.coords().iter().chain(ds.label_vars()) {
        if !matches!(c.values, Values::Str(_)) {
            out.push(encode_coordinate(name, c)?);
        }
    }
    for (name, v) in ds.variables() {
        let mut attrs = v.attrs.clone();
        let extra: Vec<&str> = ds
            .coords()
            .iter()
            .filter(|(n, c)| !(c.dims.len() == 1 && &c.dims[0] == *n) && c.dims.iter().all(|d| v.dims.contains(d)))
            .map(|(n, _)| n.as_str())
            .collect();
        if !extra.is_empty() {
            attrs.insert("coordinates".into(), extra.join(" ").into());
        }
        let stored_as = v.encoding.get("dtype").and_then(|d| d.as_str()).and_then(DType::from_name);
        let scale = v.encoding.get("scale_factor").and_then(number);
        let fill = v.encoding.get("_FillValue").and_then(number).filter(|f| !f.is_nan());
        let missing = v.encoding.get("missing_value").and_then(number).filter(|f| !f.is_nan());
        let data = match (v.dtype(), stored_as) {
            // Integers (packed or merely masked) go back as the integers they came as:
            // round((x - offset) / scale), with the fill value where x is NaN, as xarray
            // encodes them. An integer variable with a fill value but no scale_factor keeps
            // its dtype and its fill this way, instead of becoming float64.
            (decoded, Some(int)) if !int.is_float() && decoded != int && (scale.is_some() || fill.is_some() || missing.is_some() || signedness(int, &v.encoding).is_some()) => {
                let offset = v.encoding.get("add_offset").and_then(number).unwrap_or(0.0);
                let fill = fill.or(missing).unwrap_or(-2_147_483_647.0);
                let x: ChunkedArray<f64> = v.array::<f64>();
                let counts = (&(&x - offset) / scale.unwrap_or(1.0)).round();
                let mut filled = where_(&x.isnan(), &crate::array::full(&[], fill, ChunkSpec::Uniform(usize::MAX)), &counts);
                // Back to the signedness it is stored with (the fill value is already stored
                // as the file had it, so it passes through unchanged).
                if let Some(sign) = signedness(int, &v.encoding) {
                    filled = sign.write_array(filled);
                }
                for key in ["scale_factor", "add_offset", "_FillValue", "missing_value", "_Unsigned"] {
                    if let Some(value) = v.encoding.get(key) {
                        attrs.insert(key.into(), value.clone());
                    }
                }
                crate::with_dtype!(int, T => filled.astype::<T>().plan().clone())
            }
            // Floats decoded from a narrower store go back as float32 when that is what they were.
            (DType::F64, Some(DType::F32)) => v.array::<f32>().plan().clone(),
            _ => v.data.clone(),
        };
        out.push(StoredVariable::new(name.clone(), v.dims.clone(), data, attrs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_with_nothing_to_decode_stay_integers_both_ways() {
        let raw = from_array(ndarray::arr1(&[3i32, -7, 12]).into_dyn(), ChunkSpec::Uniform(2));
        let v = StoredVariable { name: "n".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs: Attrs::new(), fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        assert_eq!(ds.var("n").unwrap().dtype(), DType::I32);
        assert_eq!(ds.var("n").unwrap().values().unwrap().into_raw_vec_and_offset().0, vec![3.0, -7.0, 12.0]);
        let back = encode(&ds).unwrap().into_iter().find(|s| s.name == "n").unwrap();
        assert_eq!(back.data.dtype, DType::I32);
        // With the format's own fill value (Zarr v2 metadata), xarray masks: floats then.
        let raw = from_array(ndarray::arr1(&[0i32, 5]).into_dyn(), ChunkSpec::Uniform(2));
        let v = StoredVariable { name: "m".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs: Attrs::new(), fill_value: Some(0.0), attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        assert_eq!(ds.var("m").unwrap().dtype(), DType::F64);
    }

    #[test]
    fn unsigned_bytes_stored_signed_decode_and_encode_as_xarray() {
        // netCDF-3 unsigned bytes: stored as int8 with _Unsigned = "true" and a fill of -1
        // (255 unsigned). xarray reads 0, 127, 128, 200, NaN; 2 * 0.5 packed.
        let raw = from_array(ndarray::arr1(&[0i8, 127, -128, -56, -1]).into_dyn(), ChunkSpec::Uniform(2));
        let attrs: Attrs = [("_Unsigned".to_string(), json!("true")), ("_FillValue".to_string(), json!(-1)), ("scale_factor".to_string(), json!(0.5))].into_iter().collect();
        let v = StoredVariable { name: "b".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        let got = ds.var("b").unwrap().values().unwrap().into_raw_vec_and_offset().0;
        assert_eq!(&got[..4], &[0.0, 63.5, 64.0, 100.0]);
        assert!(got[4].is_nan());
        // Written back: the same signed bytes, fill and attributes.
        let back = encode(&ds).unwrap().into_iter().find(|s| s.name == "b").unwrap();
        assert_eq!(back.data.dtype, DType::I8);
        let stored = crate::array::ChunkedArray::<i8>::typed(back.data.clone()).compute().unwrap().into_raw_vec_and_offset().0;
        assert_eq!(stored, vec![0, 127, -128, -56, -1]);
        assert_eq!(back.attrs.get("_Unsigned"), Some(&json!("true")));
        assert_eq!(back.attrs.get("_FillValue"), Some(&json!(-1)));
        // Without a scale factor or fill, the values are still the unsigned ones.
        let plain = from_array(ndarray::arr1(&[-1i16, 5]).into_dyn(), ChunkSpec::Uniform(2));
        let attrs: Attrs = [("_Unsigned".to_string(), json!("true"))].into_iter().collect();
        let v = StoredVariable { name: "u".into(), dims: vec!["x".into()], data: plain.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        assert_eq!(ds.var("u").unwrap().values().unwrap().into_raw_vec_and_offset().0, vec![65535.0, 5.0]);
    }

    /// (stored type, attributes with their stored types, the dtype xarray 2026.9 decodes to),
    /// each written with netCDF4-python and opened with `xr.open_dataset`.
    #[test]
    fn decoded_types_follow_xarrays_mask_and_scale_rules() {
        use DType::*;
        let (f32_, f64_) = (Some(F32), Some(F64));
        let cases: [(DType, &[(&str, serde_json::Value, Option<DType>)], DType); 16] = [
            (I16, &[("_FillValue", json!(-1), Some(I16))], F32),
            (I32, &[("_FillValue", json!(-1), Some(I32))], F64),
            (U8, &[("_FillValue", json!(255), Some(U8))], F32),
            (I16, &[("scale_factor", json!(0.1), f32_), ("add_offset", json!(1.0), f32_)], F32),
            (I16, &[("scale_factor", json!(0.1), f64_), ("add_offset", json!(1.0), f64_)], F64),
            (I16, &[("scale_factor", json!(0.1), f32_), ("add_offset", json!(1.0), f64_)], F64),
            (I16, &[("scale_factor", json!(0.1), f32_)], F32),
            (I16, &[("add_offset", json!(1.0), f32_)], F64),
            (I32, &[("scale_factor", json!(0.1), f32_), ("add_offset", json!(1.0), f32_)], F64),
            (I32, &[("_FillValue", json!(-1), Some(I32)), ("scale_factor", json!(0.1), f32_), ("add_offset", json!(1.0), f32_)], F64),
            (I16, &[("_FillValue", json!(-1), Some(I16)), ("scale_factor", json!(0.1), f32_)], F32),
            (I8, &[("_Unsigned", json!("true"), None)], U8),
            (I8, &[("_Unsigned", json!("true"), None), ("_FillValue", json!(-1), Some(I8))], F32),
            (F32, &[("_FillValue", json!(-1.0), f32_), ("scale_factor", json!(2.0), f64_)], F64),
            (F64, &[("_FillValue", json!(-1.0), f64_)], F64),
            (I64, &[("missing_value", json!(-1), Some(I64))], F64),
        ];
        for (stored, attrs, expected) in cases {
            let raw = crate::array::zeros::<f64>(&[3], ChunkSpec::Uniform(3));
            let data = crate::with_dtype!(stored, T => raw.astype::<T>().plan().clone());
            let mut v = StoredVariable::new("v", vec!["x".into()], data, Attrs::new());
            for (k, value, t) in attrs {
                v.attrs.insert(k.to_string(), value.clone());
                if let Some(t) = t {
                    v.attr_dtypes.insert(k.to_string(), *t);
                }
            }
            assert_eq!(v.decoded_dtype(), expected, "{stored:?} {attrs:?}");
            assert_eq!(decode(vec![v], Vec::new(), Attrs::new()).unwrap().variables()["v"].dtype(), expected, "{stored:?} {attrs:?}");
        }
    }

    #[test]
    fn time_bounds_and_text_are_data_variables_of_labels() {
        let numbers = |v: &[f64], shape: &[usize]| from_array(ndarray::ArrayD::from_shape_vec(shape.to_vec(), v.to_vec()).unwrap(), ChunkSpec::Uniform(2)).plan().clone();
        let mut time = StoredVariable::new("time", vec!["time".into()], numbers(&[0.0, 1.0], &[2]), Attrs::new());
        time.attrs.insert("units".into(), json!("days since 2000-01-01"));
        time.attrs.insert("calendar".into(), json!("360_day"));
        time.attrs.insert("bounds".into(), json!("time_bnds"));
        let bounds = StoredVariable::new("time_bnds", vec!["time".into(), "nv".into()], numbers(&[0.0, 1.0, 1.0, 30.0], &[2, 2]), Attrs::new());
        let temp = StoredVariable::new("temp", vec!["time".into()], numbers(&[280.0, 281.0], &[2]), Attrs::new());
        let mode = StoredText { name: "mode".into(), dims: vec!["time".into()], values: ndarray::arr1(&["ppi".to_string(), "rhi".to_string()]).into_dyn(), attrs: Attrs::new() };
        let ds = decode(vec![time, bounds, temp], vec![mode], Attrs::new()).unwrap();
        assert_eq!(ds.data_vars(), ["temp", "mode", "time_bnds"]);
        // The bounds took the coordinate's units and calendar: day 30 is 1 February in a
        // 360-day year (31 January in the standard calendar).
        let b = ds.labels("time_bnds").unwrap();
        assert_eq!((b.values.format(3), b.values.kind()), ("2000-02-01".to_string(), "datetime"));
        assert!(matches!(&b.values, Values::Time(_, Calendar::Day360)));
        // Selections take the labels along; a label variable is not a number array.
        let one = ds.isel([("time", crate::array::Sel::Index(1))]).unwrap();
        assert_eq!(one.labels("mode").unwrap().values.format(0), "rhi");
        assert_eq!(one.labels("time_bnds").unwrap().dims, ["nv"]);
        let err = ds.var("mode").unwrap_err().to_string();
        assert!(err.contains("Dataset::labels(\"mode\")"), "{err}");
        // Written back: times as numbers with units, text apart.
        let stored = encode(&ds).unwrap();
        let written = stored.iter().find(|v| v.name == "time_bnds").unwrap();
        assert!(written.attrs["units"].as_str().unwrap().contains(" since "), "{:?}", written.attrs);
        assert_eq!(encode_text(&ds).iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["mode"]);
        assert!(ds.drop_vars(["mode", "time_bnds"]).unwrap().label_vars().is_empty());
    }

    #[test]
    fn packed_integers_with_fill_decode_to_floats() {
        let raw = from_array(ndarray::arr1(&[0i16, 4, -1, 10]).into_dyn(), ChunkSpec::Uniform(2));
        let mut attrs = Attrs::new();
        attrs.insert("_FillValue".into(), json!(-1));
        attrs.insert("scale_factor".into(), json!(0.5));
        attrs.insert("add_offset".into(), json!(1.0));
        attrs.insert("units".into(), json!("K"));
        let v = StoredVariable { name: "t".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        let t = ds.var("t").unwrap();
        let got = t.values().unwrap();
        assert_eq!((got[0], got[1], got[3]), (1.0, 3.0, 6.0));
        assert!(got[2].is_nan());
        assert_eq!(t.attrs().get("units"), Some(&json!("K")));
        assert!(!t.attrs().contains_key("scale_factor"));
        assert_eq!(ds.variables()["t"].encoding.get("scale_factor"), Some(&json!(0.5)));
    }

    #[test]
    fn float32_is_masked_in_float32_and_its_mean_reads_no_float64_copy() {
        let raw = from_array(ndarray::arr1(&[1.5f32, -999.0, 2.5, 1e20, 4.0]).into_dyn(), ChunkSpec::Uniform(2));
        // -999 is a float32 value; 1e20 as a float64 fill is not, so it masks nothing (as
        // xarray's float64 comparison), while the stored float32 1e20 stays a value.
        let attrs: Attrs = [("_FillValue".to_string(), json!(-999.0)), ("missing_value".to_string(), json!(1e20))].into_iter().collect();
        let v = StoredVariable { name: "t".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        let t = ds.var("t").unwrap();
        let got = t.values().unwrap();
        assert!(got[1].is_nan());
        assert_eq!((got[0], got[2], got[3], got[4]), (1.5, 2.5, 1e20f32 as f64, 4.0));
        let mean = t.mean("x").unwrap();
        let plan = crate::plan::optimize::optimize(mean.plan());
        let tree = crate::plan::explain::tree(&plan);
        assert!(!plan.post_order().iter().any(|n| n.dtype == DType::F64 && n.grid.ndim() == 1), "a float64 copy of the data:\n{tree}");
        assert_eq!(mean.item().unwrap(), (1.5 + 2.5 + 1e20f32 as f64 + 4.0) / 4.0);
    }

    #[test]
    fn masked_integers_without_scale_are_encoded_back_as_the_same_integers() {
        // As Zarr v2 stores them: the fill in the array metadata, not the attributes.
        let raw = from_array(ndarray::arr1(&[3i16, -999, 7]).into_dyn(), ChunkSpec::Uniform(2));
        let v = StoredVariable { name: "q".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs: Attrs::new(), fill_value: Some(-999.0), attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        assert!(ds.var("q").unwrap().values().unwrap()[1].is_nan());
        assert_eq!(ds.variables()["q"].encoding.get("_FillValue"), Some(&json!(-999)));
        let back = encode(&ds).unwrap().into_iter().find(|s| s.name == "q").unwrap();
        assert_eq!(back.data.dtype, DType::I16);
        assert_eq!(back.attrs.get("_FillValue"), Some(&json!(-999)));
        let ints: ChunkedArray<i16> = ChunkedArray::typed(back.data.clone());
        assert_eq!(ints.compute().unwrap().iter().copied().collect::<Vec<_>>(), vec![3, -999, 7]);
        // missing_value alone (as netCDF4 writes it) masks and is written back the same way.
        let raw = from_array(ndarray::arr1(&[1i32, -1]).into_dyn(), ChunkSpec::Uniform(2));
        let attrs: Attrs = [("missing_value".to_string(), json!(-1))].into_iter().collect();
        let v = StoredVariable { name: "m".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        assert!(ds.var("m").unwrap().values().unwrap()[1].is_nan());
        assert!(!ds.var("m").unwrap().attrs().contains_key("missing_value"));
        let back = encode(&ds).unwrap().into_iter().find(|s| s.name == "m").unwrap();
        assert_eq!((back.data.dtype, back.attrs.get("missing_value")), (DType::I32, Some(&json!(-1))));
    }

    #[test]
    fn a_selected_variable_put_back_into_a_dataset_is_encoded_as_it_was_stored() {
        let raw = from_array(ndarray::arr1(&[3i16, -999, 7, 9]).into_dyn(), ChunkSpec::Uniform(2));
        let v = StoredVariable { name: "q".into(), dims: vec!["x".into()], data: raw.plan().clone(), attrs: Attrs::new(), fill_value: Some(-999.0), attr_dtypes: IndexMap::new() };
        let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
        let stored = ds.variables()["q"].encoding.clone();
        let part = ds.var("q").unwrap().isel([("x", crate::array::Sel::from(1..3))]).unwrap();
        assert_eq!(part.encoding(), &stored, "a selection keeps the encoding, as xarray's");
        let q = ds.var("q").unwrap();
        let ds = ds.with_var("copy", &q).unwrap();
        assert_eq!(ds.variables()["copy"].encoding, stored);
        let back = encode(&ds).unwrap().into_iter().find(|s| s.name == "copy").unwrap();
        assert_eq!((back.data.dtype, back.attrs.get("_FillValue")), (DType::I16, Some(&json!(-999))));
    }

    #[test]
    fn time_coordinates_round_trip_in_model_calendars() {
        for calendar in ["noleap", "360_day", "standard"] {
            let raw = from_array(ndarray::arr1(&[0.0, 30.0, 59.0]).into_dyn(), ChunkSpec::Uniform(3));
            let mut attrs = Attrs::new();
            attrs.insert("units".into(), json!("days since 2001-02-01"));
            attrs.insert("calendar".into(), json!(calendar));
            let v = StoredVariable { name: "time".into(), dims: vec!["time".into()], data: raw.plan().clone(), attrs, fill_value: None, attr_dtypes: IndexMap::new() };
            let ds = decode(vec![v], Vec::new(), Attrs::new()).unwrap();
            let c = &ds.coords()["time"];
            assert!(matches!(c.values, Values::Time(..)));
            let back = encode_coordinate("time", c).unwrap();
            let counts: ChunkedArray<i64> = ChunkedArray::typed(back.data.clone());
            assert_eq!(counts.compute().unwrap().iter().copied().collect::<Vec<_>>(), vec![0, 30, 59], "{calendar}");
            assert_eq!(back.attrs["calendar"], json!(Calendar::parse(calendar).unwrap().name()));
        }
        let bad = StoredVariable {
            name: "time".into(),
            dims: vec!["time".into()],
            data: from_array(ndarray::arr1(&[0.0]).into_dyn(), ChunkSpec::Uniform(1)).plan().clone(),
            attrs: [("units".to_string(), json!("moons since 2000-01-01"))].into_iter().collect(),
            fill_value: None,
            attr_dtypes: IndexMap::new(),
        };
        assert!(matches!(decode(vec![bad], Vec::new(), Attrs::new()), Err(Error::TimeUnits { .. })));
    }
}
