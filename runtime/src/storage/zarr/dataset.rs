//! Datasets in Zarr stores, as xarray reads and writes them: a group of arrays, dimension
//! names in `_ARRAY_DIMENSIONS` (v2) or `dimension_names` (v3), CF attributes, and
//! consolidated metadata (`.zmetadata` in v2, inline in the v3 group) that xarray opens in
//! one read.

use serde_json::{json, Map, Value};

use crate::io::cf::{self, StoredText, StoredVariable};
use crate::array::DType;
use crate::error::Error;
use crate::labeled::{Attrs, Dataset};
use super::dir::Dir;
use super::read::{array_metadata, open_array_described};
use crate::storage::object::ObjectStores;
use crate::storage::Location;
use crate::zarr::{ToZarr, ZarrFormat};

fn not_zarr(dir: &Dir, cause: impl Into<String>) -> Error {
    Error::NotZarr { path: dir.shown(), cause: cause.into() }
}

/// What a directory holds, by its metadata files.
enum Node {
    /// A group, with its arrays' metadata when the store consolidated it.
    Group { attrs: Attrs, consolidated: Option<Vec<(String, Value)>> },
    Array,
    Nothing,
}

/// Each metadata document is read once, and consolidated metadata first, so that opening a
/// consolidated store in an object store costs one request (v3: `zarr.json` holds it) or two
/// (v2: `zarr.json` is missing, `.zmetadata` holds the rest, `.zgroup` and `.zattrs` too).
fn node_at(dir: &Dir) -> Result<Node, Error> {
    if let Some(meta) = dir.read_json("zarr.json")? {
        return Ok(match meta.get("node_type").and_then(|t| t.as_str()) {
            Some("group") => Node::Group {
                attrs: meta.get("attributes").and_then(|a| a.as_object()).cloned().unwrap_or_default(),
                consolidated: consolidated_v3(&meta),
            },
            Some("array") => Node::Array,
            _ => Node::Nothing,
        });
    }
    if let Some(zmetadata) = dir.read_json(".zmetadata")? {
        let inline = zmetadata.get("metadata");
        let attrs = match inline.and_then(|m| m.get(".zattrs")) {
            Some(attrs) => attrs.as_object().cloned().unwrap_or_default(),
            None => dir.read_json(".zattrs")?.and_then(|a| a.as_object().cloned()).unwrap_or_default(),
        };
        return Ok(Node::Group { attrs, consolidated: consolidated_v2(&zmetadata) });
    }
    if dir.read(".zarray")?.is_some() {
        return Ok(Node::Array);
    }
    if dir.read(".zgroup")?.is_some() {
        let attrs = dir.read_json(".zattrs")?.and_then(|a| a.as_object().cloned()).unwrap_or_default();
        return Ok(Node::Group { attrs, consolidated: None });
    }
    Ok(Node::Nothing)
}

/// The group's arrays (its direct children) from a v3 group's inline consolidated metadata.
fn consolidated_v3(group: &Value) -> Option<Vec<(String, Value)>> {
    let inline = group.get("consolidated_metadata")?.get("metadata")?.as_object()?;
    let arrays = inline.iter().filter(|(name, doc)| !name.contains('/') && doc.get("node_type").and_then(Value::as_str) == Some("array"));
    Some(sorted(arrays.map(|(name, doc)| (name.clone(), doc.clone())).collect()))
}

/// The group's arrays from a v2 `.zmetadata`: each array's `.zarray`, with its `.zattrs` as
/// `"attributes"` (the form zarrs reads).
fn consolidated_v2(doc: &Value) -> Option<Vec<(String, Value)>> {
    let meta = doc.get("metadata")?.as_object()?;
    let mut arrays = Vec::new();
    for (key, zarray) in meta {
        let Some(name) = key.strip_suffix("/.zarray").filter(|n| !n.contains('/')) else { continue };
        let mut zarray = zarray.clone();
        let attrs = meta.get(&format!("{name}/.zattrs")).cloned().unwrap_or_else(|| json!({}));
        zarray.as_object_mut()?.insert("attributes".into(), attrs);
        arrays.push((name.to_owned(), zarray));
    }
    Some(sorted(arrays))
}

fn sorted(mut arrays: Vec<(String, Value)>) -> Vec<(String, Value)> {
    arrays.sort_by(|a, b| a.0.cmp(&b.0));
    arrays
}

/// The dimension names an array declares, `dim_<i>` for those it leaves unnamed (as xarray
/// names them).
fn dim_names(names: Option<&[Option<String>]>, ndim: usize) -> Vec<String> {
    (0..ndim).map(|i| names.and_then(|n| n.get(i).cloned().flatten()).unwrap_or_else(|| format!("dim_{i}"))).collect()
}

/// The base64 `_FillValue` xarray writes for floats in Zarr v3, as a number.
fn v3_fill(value: &Value, dtype: DType) -> Option<f64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(value.as_str()?).ok()?;
    match (dtype, bytes.len()) {
        (_, 8) => Some(f64::from_le_bytes(bytes.try_into().ok()?)),
        (_, 4) => Some(f32::from_le_bytes(bytes.try_into().ok()?) as f64),
        _ => None,
    }
}

/// Opens the Zarr group at `path` as a lazy [`Dataset`]: metadata and coordinates are read,
/// data variables are not. Stores written by xarray (v2 or v3, consolidated or not) open
/// with their dimension names, coordinates, CF-decoded values, times and attributes.
pub(crate) fn open_zarr(stores: &ObjectStores, at: &Location) -> Result<Dataset, Error> {
    let dir = &match at.local_path() {
        Some(path) => Dir::local(super::write::readable_location(&path)),
        None => Dir::open(at, stores)?,
    };
    let (attrs, consolidated) = match node_at(dir)? {
        Node::Group { attrs, consolidated } => (attrs, consolidated),
        Node::Array => return Err(not_zarr(dir, "this is a Zarr array, not a group of them; open it with open_array")),
        Node::Nothing => match &dir.kind {
            super::dir::DirKind::Local(path) if !path.is_dir() => return Err(not_zarr(dir, "no such directory")),
            super::dir::DirKind::Local(_) => return Err(not_zarr(dir, "no Zarr group metadata (.zgroup or zarr.json) here")),
            _ => return Err(not_zarr(dir, "no Zarr group metadata (zarr.json, .zmetadata or .zgroup) at this URL")),
        },
    };
    let mut arrays = Vec::new();
    let mut texts = Vec::new();
    // An array of text is read whole, as labels; any other array that does not open is an
    // error naming it.
    let mut text_or = |name: &str, metadata: Option<Value>, error: Error| -> Result<(), Error> {
        let Some((values, mut attrs, names)) = super::read::read_text_array(&dir.join(name), metadata)? else { return Err(error) };
        let dims = dim_names(names.as_deref(), values.ndim());
        attrs.remove("_ARRAY_DIMENSIONS");
        texts.push(StoredText { name: name.to_string(), dims, values, attrs });
        Ok(())
    };
    match consolidated {
        // One read for the whole store, as xarray does (and what it shows, if an array was
        // added without consolidating again).
        Some(described) => {
            for (name, metadata) in described {
                match open_array_described(&dir.join(&name), metadata.clone()) {
                    Ok(array) => arrays.push((name.clone(), array)),
                    Err(e) => text_or(&name, Some(metadata), e)?,
                }
            }
        }
        None => {
            if matches!(dir.at.scheme(), Some("http" | "https")) {
                return Err(not_zarr(dir, "an HTTP server cannot list the arrays of a store without consolidated metadata: consolidate it (zarr.consolidate_metadata), or open each array with open_array"));
            }
            for name in dir.child_dirs()? {
                let child = dir.join(&name);
                // Subgroups and directories that hold no array are not variables.
                let Some(metadata) = array_metadata(&child)? else { continue };
                match open_array_described(&child, metadata.clone()) {
                    Ok(array) => arrays.push((name.clone(), array)),
                    Err(e) => text_or(&name, Some(metadata), e)?,
                }
            }
        }
    }
    // Dimension coordinates are read as the dataset opens (as xarray loads them): in an object
    // store their requests go out together rather than one after another.
    for (name, array) in &arrays {
        if array.dimension_names().is_some_and(|d| d.len() == 1 && d[0].as_deref() == Some(name.as_str())) {
            if let crate::plan::Op::Zarr { source } = &array.plan().op {
                (0..array.chunks()[0].len()).for_each(|chunk| super::read::prefetch(stores, source, chunk, true));
            }
        }
    }
    let mut stored = Vec::new();
    for (name, array) in arrays {
        let dims = dim_names(array.dimension_names(), array.shape().len());
        let mut attrs = array.attributes().clone();
        let dtype = array.dtype();
        let fill_value = if array.zarr_format() == 2 {
            cf::number(array.fill_value())
        } else {
            // v3: xarray's `_FillValue` attribute, base64 bytes for floats.
            if let Some(fill) = attrs.get("_FillValue").and_then(|f| v3_fill(f, dtype)) {
                attrs.insert("_FillValue".into(), json!(if fill.is_nan() { Value::String("NaN".into()) } else { json!(fill) }));
            }
            None
        };
        let data = array.plan();
        stored.push(StoredVariable { name, dims, data, attrs, fill_value, attr_dtypes: Default::default() });
    }
    cf::decode(stored, texts, attrs)
}

/// Writes `dataset` as a Zarr store xarray opens (each variable in its own chunks,
/// consolidated metadata) with `options`, all or nothing: the store appears only when
/// complete, and a failed or interrupted write leaves what was at `at` untouched. Returns
/// the store, reopened.
pub(crate) fn write_dataset(stores: &ObjectStores, dataset: &Dataset, at: &Location, options: &ToZarr) -> Result<Dataset, Error> {
    let stored = cf::encode(dataset)?;
    if let Some(text) = cf::encode_text(dataset).first() {
        return Err(Error::Mismatch {
            what: format!("to_zarr: variable {:?}", text.name),
            reason: "it holds text, which Strata does not write to Zarr yet: write NetCDF (to_netcdf), or leave it out with drop_vars".into(),
        });
    }
    super::write::write_staged(stores, at, options.overwrite, |dir| {
        for v in &stored {
            let mut opts = ToZarr { format: options.format, compressor: options.compressor.clone(), compute: options.compute.clone(), ..ToZarr::default() };
            opts.attributes = v.attrs.clone();
            opts.dimension_names = Some(v.dims.clone());
            opts.no_fill_value = !v.data.dtype.is_float();
            if !v.data.dtype.is_float() && options.format == ZarrFormat::V2 {
                // xarray keeps an integer variable's _FillValue in the v2 array metadata
                // (and reads it from there), not among the attributes.
                if let Some(fill) = opts.attributes.remove("_FillValue").as_ref().and_then(cf::number) {
                    opts.fill_value = Some(fill);
                    opts.no_fill_value = false;
                }
            }
            if v.data.dtype.is_float() && options.format == ZarrFormat::V3 {
                // What xarray writes (a float64 NaN's bytes, for float32 variables too), so
                // that it masks the same values.
                use base64::Engine;
                opts.attributes.insert("_FillValue".into(), base64::engine::general_purpose::STANDARD.encode(f64::NAN.to_le_bytes()).into());
            }
            super::write::write_array_into(&v.data, &dir.join(&v.name), &opts)?;
        }
        let mut names: Vec<&str> = stored.iter().map(|v| v.name.as_str()).collect();
        names.sort();
        finish_group(dir, options.format, dataset.attrs(), &names)
    })?;
    open_zarr(stores, at)
}

/// Writes the group's metadata once its arrays are written, consolidated as zarr-python's
/// `consolidate_metadata` does, and in the order that makes the group visible last (v2:
/// `.zgroup` after `.zmetadata`; v3: one `zarr.json`).
fn finish_group(dir: &Dir, format: ZarrFormat, attrs: &Attrs, names: &[&str]) -> Result<(), Error> {
    let bytes = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    let attrs = Value::Object(attrs.clone());
    match format {
        ZarrFormat::V2 => {
            let group = json!({ "zarr_format": 2 });
            let mut meta = Map::new();
            meta.insert(".zgroup".into(), group.clone());
            meta.insert(".zattrs".into(), attrs.clone());
            for name in names {
                for key in [".zarray", ".zattrs"] {
                    if let Some(v) = dir.join(name).read_json(key)? {
                        meta.insert(format!("{name}/{key}"), v);
                    }
                }
            }
            let doc = json!({ "zarr_consolidated_format": 1, "metadata": meta });
            dir.write(".zattrs", bytes(&attrs))?;
            dir.write(".zmetadata", bytes(&doc))?;
            dir.write(".zgroup", bytes(&group))
        }
        ZarrFormat::V3 => {
            let mut meta = Map::new();
            for name in names {
                if let Some(v) = dir.join(name).read_json("zarr.json")? {
                    meta.insert((*name).to_owned(), v);
                }
            }
            let group = json!({
                "zarr_format": 3, "node_type": "group", "attributes": attrs,
                "consolidated_metadata": { "kind": "inline", "must_understand": false, "metadata": meta },
            });
            dir.write("zarr.json", bytes(&group))
        }
    }
}
