//! Datasets in Zarr stores, as xarray reads and writes them: a group of arrays, dimension
//! names in `_ARRAY_DIMENSIONS` (v2) or `dimension_names` (v3), CF attributes, and
//! consolidated metadata (`.zmetadata` in v2, inline in the v3 group) that xarray opens in
//! one read.

use std::fs;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::io::cf::{self, StoredText, StoredVariable};
use crate::array::DType;
use crate::error::Error;
use crate::labeled::{Attrs, Dataset};
use super::read::{open_array, open_array_described};
use super::write::create_group;
use crate::zarr::{ToZarr, ZarrFormat};

fn not_zarr(path: &Path, cause: impl Into<String>) -> Error {
    Error::NotZarr { path: path.display().to_string(), cause: cause.into() }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// What a directory holds, by its metadata files.
enum Node {
    /// A group, with its arrays' metadata when the store consolidated it.
    Group { attrs: Attrs, consolidated: Option<Vec<(String, Value)>> },
    Array,
    Nothing,
}

/// Each metadata file is read once: a v3 group's `zarr.json` holds its consolidated metadata,
/// a v2 group's sits in `.zmetadata` beside it.
fn node_at(path: &Path) -> Node {
    if let Some(meta) = read_json(&path.join("zarr.json")) {
        return match meta.get("node_type").and_then(|t| t.as_str()) {
            Some("group") => Node::Group {
                attrs: meta.get("attributes").and_then(|a| a.as_object()).cloned().unwrap_or_default(),
                consolidated: consolidated_v3(&meta),
            },
            Some("array") => Node::Array,
            _ => Node::Nothing,
        };
    }
    if path.join(".zarray").is_file() {
        return Node::Array;
    }
    let zmetadata = read_json(&path.join(".zmetadata"));
    if zmetadata.is_some() || path.join(".zgroup").is_file() {
        let attrs = read_json(&path.join(".zattrs")).and_then(|a| a.as_object().cloned()).unwrap_or_default();
        return Node::Group { attrs, consolidated: zmetadata.as_ref().and_then(consolidated_v2) };
    }
    Node::Nothing
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
pub(crate) fn open_zarr(path: &Path) -> Result<Dataset, Error> {
    let path = &super::write::readable_location(path);
    let (attrs, consolidated) = match node_at(path) {
        Node::Group { attrs, consolidated } => (attrs, consolidated),
        Node::Array => return Err(not_zarr(path, "this is a Zarr array, not a group of them; open it with open_array")),
        Node::Nothing if path.is_dir() => return Err(not_zarr(path, "no Zarr group metadata (.zgroup or zarr.json) here")),
        Node::Nothing => return Err(not_zarr(path, "no such directory")),
    };
    let mut arrays = Vec::new();
    let mut texts = Vec::new();
    // An array of text is read whole, as labels; any other array that does not open is an
    // error naming it.
    let mut text_or = |name: &str, metadata: Option<Value>, error: Error| -> Result<(), Error> {
        let location = path.join(name);
        let Some((values, mut attrs, names)) = super::read::read_text_array(&location, metadata)? else { return Err(error) };
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
                match open_array_described(&path.join(&name), metadata.clone()) {
                    Ok(array) => arrays.push((name.clone(), array)),
                    Err(e) => text_or(&name, Some(metadata), e)?,
                }
            }
        }
        None => {
            let mut names: Vec<String> = fs::read_dir(path)
                .map_err(|e| not_zarr(path, e.to_string()))?
                .flatten()
                .filter(|e| e.path().is_dir() && matches!(node_at(&e.path()), Node::Array))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
            names.sort();
            for name in names {
                match open_array(&path.join(&name)) {
                    Ok(array) => arrays.push((name.clone(), array)),
                    Err(e) => text_or(&name, None, e)?,
                }
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
/// complete, and a failed or interrupted write leaves what was at `path` untouched. Returns
/// the store, reopened.
pub(crate) fn write_dataset(dataset: &Dataset, path: &Path, options: &ToZarr) -> Result<Dataset, Error> {
    let stored = cf::encode(dataset)?;
    if let Some(text) = cf::encode_text(dataset).first() {
        return Err(Error::Mismatch {
            what: format!("to_zarr: variable {:?}", text.name),
            reason: "it holds text, which Strata does not write to Zarr yet: write NetCDF (to_netcdf), or leave it out with drop_vars".into(),
        });
    }
    super::write::write_staged(path, options.overwrite, |staging| {
        create_group(staging, options.format, dataset.attrs())?;
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
            super::write::write_array(&v.data, &staging.join(&v.name), &opts)?;
        }
        consolidate(staging, options.format)
    })?;
    open_zarr(path)
}

/// Writes the store's consolidated metadata, as zarr-python's `consolidate_metadata`.
fn consolidate(root: &Path, format: ZarrFormat) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::ZarrWrite { path: root.display().to_string(), cause: e.to_string() };
    let mut names: Vec<String> = fs::read_dir(root).map_err(fail)?.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !n.starts_with('.')).collect();
    names.sort();
    let bytes = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    match format {
        ZarrFormat::V2 => {
            let mut meta = Map::new();
            for key in [".zgroup", ".zattrs"] {
                meta.insert(key.into(), read_json(&root.join(key)).unwrap_or(json!({})));
            }
            for name in &names {
                for key in [".zarray", ".zattrs"] {
                    if let Some(v) = read_json(&root.join(name).join(key)) {
                        meta.insert(format!("{name}/{key}"), v);
                    }
                }
            }
            let doc = json!({ "zarr_consolidated_format": 1, "metadata": meta });
            super::store::write_atomically(&root.join(".zmetadata"), &bytes(&doc)).map_err(fail)
        }
        ZarrFormat::V3 => {
            let mut group = read_json(&root.join("zarr.json")).unwrap_or(json!({}));
            let mut meta = Map::new();
            for name in &names {
                if let Some(v) = read_json(&root.join(name).join("zarr.json")) {
                    meta.insert(name.clone(), v);
                }
            }
            group["consolidated_metadata"] = json!({ "kind": "inline", "must_understand": false, "metadata": meta });
            super::store::write_atomically(&root.join("zarr.json"), &bytes(&group)).map_err(fail)
        }
    }
}
