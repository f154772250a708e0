//! Reference sets: kerchunk's JSON format (version 0 and 1), which VirtualiZarr writes too. A
//! reference set is a Zarr v2 store whose every key is given either inline (metadata, small
//! chunks) or as a byte range of another file (a chunk inside a NetCDF-4/HDF5, GRIB or TIFF
//! file, local or in an object store). Reading one needs no copy of the archive: Strata reads
//! the ranges where they lie, as fsspec's `ReferenceFileSystem` does.
//!
//! Format: `{"version": 1, "templates": {"u": "s3://bucket/long/prefix"}, "refs": {KEY: VALUE}}`
//! (version 0 is the bare `refs` object), where VALUE is a string (a JSON document, or
//! `base64:` and the bytes), `[URL]` (the whole file), or `[URL, OFFSET, LENGTH]`; URLs may
//! name templates as `{{u}}`. Generated keys (`gen`) are expanded too.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use base64::Engine;
use bytes::Bytes;
use object_store::GetRange;
use serde_json::Value;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{MaybeBytes, MaybeBytesIterator, ReadableStorageTraits, StorageError, StoreKey};

use super::object::{ObjectStores, Remote};
use crate::error::Error;
use crate::storage::Location;

/// Where one key's bytes are.
#[derive(Debug)]
enum Reference {
    Inline(Bytes),
    /// `length` bytes from `offset` of the target numbered `target` (`None`: to the end).
    Range { target: usize, offset: u64, length: Option<u64> },
}

/// A file references point into.
#[derive(Debug)]
enum Target {
    Local(PathBuf),
    Remote { dir: Remote, name: String },
}

/// A parsed reference set.
#[derive(Debug)]
pub(crate) struct ReferenceSet {
    /// The reference file's URL, for messages.
    url: String,
    refs: HashMap<String, Reference>,
    targets: Vec<(String, Target)>,
}

fn invalid(url: &str, cause: impl Into<String>) -> Error {
    Error::NotZarr { path: format!("reference://{url}"), cause: format!("not a reference set: {}", cause.into()) }
}

/// `{{name}}` in `text` replaced by the templates' values.
fn expand(text: &str, templates: &HashMap<String, String>) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    templates.iter().fold(text.to_owned(), |t, (name, value)| t.replace(&format!("{{{{{name}}}}}"), value).replace(&format!("{{{{ {name} }}}}"), value))
}

impl ReferenceSet {
    /// Reads the reference set at `at` (a path or URL), its targets reached with `at`'s
    /// storage options.
    pub(crate) fn open(at: &Location, stores: &ObjectStores) -> Result<ReferenceSet, Error> {
        let url = at.url();
        let bytes = match at.local_path() {
            Some(path) => std::fs::read(&path).map_err(|e| invalid(url, format!("{}: {e}", path.display())))?,
            None => {
                let (parent, name) = url.rsplit_once('/').ok_or_else(|| invalid(url, "the URL names no file"))?;
                let dir = stores.remote(&Location::new(parent, at.storage()))?;
                dir.get(name)?.ok_or_else(|| invalid(url, "no such object"))?.to_vec()
            }
        };
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(url, format!("JSON: {e}")))?;
        ReferenceSet::parse(url, &doc, at, stores)
    }

    fn parse(url: &str, doc: &Value, at: &Location, stores: &ObjectStores) -> Result<ReferenceSet, Error> {
        let object = doc.as_object().ok_or_else(|| invalid(url, "the document is not a JSON object"))?;
        let (refs, templates, generated) = match object.get("version").and_then(Value::as_u64) {
            Some(1) => (
                object.get("refs").and_then(Value::as_object).ok_or_else(|| invalid(url, "version 1 without \"refs\""))?,
                object.get("templates").and_then(Value::as_object),
                object.get("gen").and_then(Value::as_array),
            ),
            Some(other) => return Err(invalid(url, format!("version {other} (Strata reads versions 0 and 1)"))),
            None => (object, None, None),
        };
        let templates: HashMap<String, String> = templates.into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect();
        // Relative target paths are relative to the reference file.
        let base = match url.rsplit_once('/') {
            Some((parent, _)) => parent.to_owned(),
            None => ".".to_owned(),
        };
        let mut set = ReferenceSet { url: url.to_owned(), refs: HashMap::with_capacity(refs.len()), targets: Vec::new() };
        let mut target_index: HashMap<String, usize> = HashMap::new();
        let mut add = |set: &mut ReferenceSet, key: String, value: &Value| -> Result<(), Error> {
            let reference = match value {
                Value::String(text) => match text.strip_prefix("base64:") {
                    Some(encoded) => Reference::Inline(Bytes::from(
                        base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| invalid(url, format!("{key}: base64: {e}")))?,
                    )),
                    None => Reference::Inline(Bytes::from(text.clone().into_bytes())),
                },
                Value::Object(_) => Reference::Inline(Bytes::from(serde_json::to_vec(value).unwrap_or_default())),
                Value::Array(items) => {
                    let target = items.first().and_then(Value::as_str).ok_or_else(|| invalid(url, format!("{key}: a reference names no file")))?;
                    let target = expand(target, &templates);
                    let (offset, length) = match (items.get(1).and_then(Value::as_u64), items.get(2).and_then(Value::as_u64)) {
                        (Some(offset), Some(length)) => (offset, Some(length)),
                        (None, None) if items.len() == 1 => (0, None),
                        _ => return Err(invalid(url, format!("{key}: a reference is [url] or [url, offset, length]"))),
                    };
                    let index = match target_index.get(&target) {
                        Some(&i) => i,
                        None => {
                            let resolved = resolve(&target, &base, at, stores)?;
                            set.targets.push((target.clone(), resolved));
                            target_index.insert(target, set.targets.len() - 1);
                            set.targets.len() - 1
                        }
                    };
                    Reference::Range { target: index, offset, length }
                }
                other => return Err(invalid(url, format!("{key}: unexpected {other}"))),
            };
            set.refs.insert(key, reference);
            Ok(())
        };
        for (key, value) in refs {
            add(&mut set, key.clone(), value)?;
        }
        for generator in generated.into_iter().flatten() {
            for (key, value) in generate(url, generator)? {
                add(&mut set, key, &value)?;
            }
        }
        Ok(set)
    }

    /// The bytes of `key`; `None` when the set has no such key (a chunk never written).
    pub(crate) fn get(&self, key: &str) -> Result<Option<Bytes>, Error> {
        let Some(reference) = self.refs.get(key) else { return Ok(None) };
        match reference {
            Reference::Inline(bytes) => Ok(Some(bytes.clone())),
            Reference::Range { target, offset, length } => {
                let (name, target) = &self.targets[*target];
                let failed = |cause: String| Error::Storage { url: name.clone(), cause: format!("{cause} (the bytes of {key} in reference://{})", self.url) };
                match target {
                    Target::Local(path) => {
                        let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
                        let length = match length {
                            Some(n) => *n,
                            None => file.metadata().map_err(|e| failed(e.to_string()))?.len().saturating_sub(*offset),
                        };
                        let mut buffer = vec![0u8; length as usize];
                        file.read_exact_at(&mut buffer, *offset).map_err(|e| failed(format!("bytes {offset}..{}: {e}", offset + length)))?;
                        Ok(Some(Bytes::from(buffer)))
                    }
                    Target::Remote { dir, name: object } => dir.get_range(object, range(*offset, *length))?.map(Some).ok_or_else(|| failed("no such object".into())),
                }
            }
        }
    }

    /// Starts fetching the bytes of `key` where they lie in an object store (local files
    /// and inline values are read when asked).
    pub(crate) fn prefetch(&self, key: &str) {
        if let Some(Reference::Range { target, offset, length }) = self.refs.get(key) {
            if let (_, Target::Remote { dir, name }) = &self.targets[*target] {
                dir.prefetch(name, range(*offset, *length));
            }
        }
    }

    /// The names of the nodes directly under `prefix` (`""` for the root) that hold keys of
    /// their own.
    pub(crate) fn children(&self, prefix: &str) -> Vec<String> {
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let names: BTreeSet<String> = self.refs.keys().filter_map(|k| k.strip_prefix(&prefix)?.split_once('/').map(|(n, _)| n.to_owned())).collect();
        names.into_iter().collect()
    }
}

/// The part of an object a reference names (`None`: all of it).
fn range(offset: u64, length: Option<u64>) -> Option<GetRange> {
    match length {
        Some(n) => Some(GetRange::Bounded(offset..offset + n)),
        None if offset == 0 => None,
        None => Some(GetRange::Offset(offset)),
    }
}

/// A node of a reference set (its root, or the group or array under `prefix`) as a zarrs store.
pub(crate) struct ReferenceStore {
    pub(crate) set: std::sync::Arc<ReferenceSet>,
    pub(crate) prefix: String,
}

impl ReferenceStore {
    pub(crate) fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.prefix) }
    }
}

impl ReadableStorageTraits for ReferenceStore {
    fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        self.set.get(&self.key(key.as_str())).map_err(|e| StorageError::Other(e.to_string()))
    }

    fn get_partial_many<'a>(&'a self, key: &StoreKey, byte_ranges: ByteRangeIterator<'a>) -> Result<MaybeBytesIterator<'a>, StorageError> {
        // References are chunk-sized: read the whole value once and cut the ranges from it.
        Ok(self.get(key)?.map(|bytes| super::object::zarr_store::cut(key, &bytes, byte_ranges)))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        // Known from the reference itself, without reading the bytes.
        match self.set.refs.get(&self.key(key.as_str())) {
            None => Ok(None),
            Some(Reference::Inline(bytes)) => Ok(Some(bytes.len() as u64)),
            Some(Reference::Range { length: Some(n), .. }) => Ok(Some(*n)),
            Some(Reference::Range { length: None, .. }) => Ok(self.get(key)?.map(|b| b.len() as u64)),
        }
    }

    fn supports_get_partial(&self) -> bool {
        false
    }
}

/// Where a reference's target file is: a local path, or an object in a store reached with the
/// reference set's own options.
fn resolve(target: &str, base: &str, at: &Location, stores: &ObjectStores) -> Result<Target, Error> {
    let absolute = if target.contains("://") || target.starts_with('/') { target.to_owned() } else { format!("{base}/{target}") };
    let location = Location::new(&absolute, at.storage());
    match location.local_path() {
        Some(path) => Ok(Target::Local(path)),
        None => {
            let (parent, name) = absolute.rsplit_once('/').ok_or_else(|| Error::Storage { url: absolute.clone(), cause: "the URL names no object".into() })?;
            Ok(Target::Remote { dir: stores.remote(&Location::new(parent, at.storage()))?, name: name.to_owned() })
        }
    }
}

/// The keys a `gen` entry generates: `{"key": "t/{{i}}", "url": "...{{i}}", "offset": ...,
/// "length": ..., "dimensions": {"i": {"start": 0, "stop": 3, "step": 1} or [values]}}`, every
/// combination of the dimensions' values.
fn generate(url: &str, generator: &Value) -> Result<Vec<(String, Value)>, Error> {
    let field = |name: &str| generator.get(name).ok_or_else(|| invalid(url, format!("a \"gen\" entry has no {name:?}")));
    let (key, target) = (field("key")?.as_str().unwrap_or_default(), field("url")?.as_str().unwrap_or_default());
    let dims = generator.get("dimensions").and_then(Value::as_object).ok_or_else(|| invalid(url, "a \"gen\" entry has no dimensions"))?;
    let mut combos: Vec<HashMap<String, String>> = vec![HashMap::new()];
    for (name, spec) in dims {
        let values: Vec<String> = match spec {
            Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).collect(),
            Value::Object(range) => {
                let number = |k: &str, default: i64| range.get(k).and_then(Value::as_i64).unwrap_or(default);
                let (start, stop, step) = (number("start", 0), number("stop", 0), number("step", 1).max(1));
                (start..stop).step_by(step as usize).map(|i| i.to_string()).collect()
            }
            _ => return Err(invalid(url, format!("a \"gen\" dimension {name:?} is neither a list nor a range"))),
        };
        combos = combos.iter().flat_map(|c| values.iter().map(move |v| { let mut c = c.clone(); c.insert(name.clone(), v.clone()); c })).collect();
    }
    let expand_number = |name: &str, values: &HashMap<String, String>| -> Option<u64> {
        match generator.get(name)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => expand(s, values).trim().parse().ok(),
            _ => None,
        }
    };
    Ok(combos
        .iter()
        .map(|values| {
            let mut reference = vec![Value::String(expand(target, values))];
            if let (Some(offset), Some(length)) = (expand_number("offset", values), expand_number("length", values)) {
                reference.extend([Value::from(offset), Value::from(length)]);
            }
            (expand(key, values), Value::Array(reference))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(doc: Value) -> ReferenceSet {
        ReferenceSet::parse("refs.json", &doc, &Location::local("/data/refs.json"), &ObjectStores::default()).unwrap()
    }

    #[test]
    fn inline_base64_and_ranges_of_local_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.bin");
        std::fs::write(&file, b"0123456789abcdef").unwrap();
        let refs = set(json!({
            "version": 1,
            "templates": { "f": file.to_string_lossy() },
            "refs": {
                ".zgroup": "{\"zarr_format\": 2}",
                "x/.zarray": { "zarr_format": 2 },
                "x/0": ["{{f}}", 4, 3],
                "x/1": "base64:AAEC",
                "y/0": [file.to_string_lossy()],
            }
        }));
        assert_eq!(refs.get(".zgroup").unwrap().unwrap(), Bytes::from_static(b"{\"zarr_format\": 2}"));
        assert_eq!(refs.get("x/0").unwrap().unwrap(), Bytes::from_static(b"456"));
        assert_eq!(refs.get("x/1").unwrap().unwrap(), Bytes::from_static(&[0, 1, 2]));
        assert_eq!(refs.get("y/0").unwrap().unwrap().len(), 16);
        assert!(refs.get("x/2").unwrap().is_none());
        assert_eq!(refs.children(""), vec!["x".to_string(), "y".to_string()]);
        // A range past the end of its file is an error naming the file and the key.
        let bad = set(json!({ "a/0": [file.to_string_lossy(), 10, 100] }));
        let text = bad.get("a/0").unwrap_err().to_string();
        assert!(text.contains("data.bin") && text.contains("a/0"), "{text}");
    }

    #[test]
    fn generated_keys_are_expanded() {
        let refs = set(json!({ "version": 1, "refs": {}, "gen": [{
            "key": "t/{{i}}", "url": "/data/f{{i}}.nc", "offset": "{{i}}0", "length": 5,
            "dimensions": { "i": { "stop": 3 } },
        }]}));
        assert_eq!(refs.refs.len(), 3);
        assert!(matches!(refs.refs["t/2"], Reference::Range { offset: 20, length: Some(5), .. }));
        assert_eq!(refs.targets.len(), 3);
    }

    #[test]
    fn malformed_sets_are_refused_with_the_reason() {
        let err = ReferenceSet::parse("r.json", &json!({ "version": 2, "refs": {} }), &Location::local("r.json"), &ObjectStores::default()).unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = ReferenceSet::parse("r.json", &json!({ "a/0": ["x.nc", 1] }), &Location::local("r.json"), &ObjectStores::default()).unwrap_err();
        assert!(err.to_string().contains("a/0"), "{err}");
    }
}
