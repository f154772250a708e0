//! Where stored data lies: a [`Location`] is a local path or the URL of a directory in an object
//! store (`s3://`, `gs://`, `http(s)://`), with the [`Storage`] options that say how to reach
//! it. Both are plain data, so a plan that reads a bucket names it the same way in every
//! process; the executor turns them into a client.
//!
//! The options are named as fsspec (s3fs, gcsfs) names them, because that is what Pangeo
//! users already write in `storage_options`: `anon`, `endpoint_url`, `region_name`, `key`,
//! `secret`, `token`. What is not set here comes from the environment, as the ecosystem
//! expects (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`; `GOOGLE_APPLICATION_CREDENTIALS`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How to reach an object store: credentials, endpoint, region, timeouts. The default takes
/// everything from the environment.
///
/// ```
/// use strata_api::storage::Storage;
/// let local_s3 = Storage::new().anonymous().endpoint("http://127.0.0.1:9000");
/// assert!(local_s3.anon);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Storage {
    /// Unsigned requests, for public buckets (fsspec's `anon`).
    pub anon: bool,
    /// The server to talk to instead of the provider's own (fsspec's `endpoint_url`; a MinIO,
    /// Ceph or other S3-compatible server). `http://` endpoints are allowed.
    pub endpoint_url: Option<String>,
    /// The bucket's region (fsspec's `region_name`).
    pub region_name: Option<String>,
    /// An access key id (fsspec's `key`).
    pub key: Option<String>,
    /// Its secret (fsspec's `secret`).
    pub secret: Option<String>,
    /// A session token (fsspec's `token`).
    pub token: Option<String>,
    /// How long one request may take before it is retried, in milliseconds (30 s unless set).
    pub timeout_ms: Option<u64>,
    /// How many times a failed request (a 5xx, a timeout, a dropped connection) is retried
    /// with backoff before the read fails (3 unless set).
    pub retries: Option<usize>,
    /// Any other option of the object_store client, by its configuration key
    /// (`aws_virtual_hosted_style_request`, `google_service_account`, ...).
    pub options: BTreeMap<String, String>,
}

impl Storage {
    /// Everything from the environment (the default).
    pub fn new() -> Storage {
        Storage::default()
    }

    /// Unsigned requests, for public data (fsspec's `anon=True`).
    pub fn anonymous(mut self) -> Storage {
        self.anon = true;
        self
    }

    /// Talks to `url` instead of the provider's servers (fsspec's `endpoint_url`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Storage {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The bucket's region (fsspec's `region_name`).
    pub fn region(mut self, region: impl Into<String>) -> Storage {
        self.region_name = Some(region.into());
        self
    }

    /// An access key and its secret (fsspec's `key` and `secret`).
    pub fn credentials(mut self, key: impl Into<String>, secret: impl Into<String>) -> Storage {
        self.key = Some(key.into());
        self.secret = Some(secret.into());
        self
    }

    /// A session token, with temporary credentials (fsspec's `token`).
    pub fn session_token(mut self, token: impl Into<String>) -> Storage {
        self.token = Some(token.into());
        self
    }

    /// How long one request may take before it is retried.
    pub fn timeout(mut self, timeout: Duration) -> Storage {
        self.timeout_ms = Some(timeout.as_millis().min(u64::MAX as u128) as u64);
        self
    }

    /// How many times a failed request is retried before the read fails.
    pub fn retries(mut self, retries: usize) -> Storage {
        self.retries = Some(retries);
        self
    }

    /// Any other client option, by its object_store configuration key.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Storage {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The request timeout, 30 s unless set.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.unwrap_or(30_000))
    }
}

/// Secrets are never printed (a plan's explanation, an error, a log line).
impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("Storage")
            .field("anon", &self.anon)
            .field("endpoint_url", &self.endpoint_url)
            .field("region_name", &self.region_name)
            .field("key", &self.key)
            .field("secret", &hidden(&self.secret))
            .field("token", &hidden(&self.token))
            .field("timeout_ms", &self.timeout_ms)
            .field("retries", &self.retries)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A directory of stored data: a local path, or a URL in an object store with the options
/// that reach it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The path or URL as given (`file://` URLs are kept as their path); no trailing `/`.
    url: String,
    /// How to reach it (unused for local paths).
    storage: Storage,
}

/// The schemes an object store serves, and `reference`: a reference set (kerchunk's JSON)
/// whose URL follows (`reference://refs.json`, `reference://s3://bucket/refs.json`), read as
/// a Zarr store; a node inside it follows a `#` (`reference://refs.json#sst`).
const REMOTE_SCHEMES: [&str; 7] = ["s3", "s3a", "gs", "gcs", "http", "https", "reference"];

impl Location {
    /// `url` (a path, `file://`, `s3://`, `gs://`, `http(s)://`) reached with `storage`.
    pub fn new(url: &str, storage: &Storage) -> Location {
        let url = url.strip_prefix("file://").unwrap_or(url);
        let trimmed = url.trim_end_matches('/');
        let url = if trimmed.is_empty() || trimmed.ends_with(':') { url } else { trimmed };
        Location { url: url.to_owned(), storage: storage.clone() }
    }

    /// A local path.
    pub fn local(path: impl AsRef<Path>) -> Location {
        Location { url: path.as_ref().to_string_lossy().into_owned(), storage: Storage::default() }
    }

    /// A path or URL as the user wrote it: anything naming an object store's scheme is a URL,
    /// everything else a local path.
    pub fn parse(path: impl AsRef<Path>, storage: &Storage) -> Location {
        Location::new(&path.as_ref().to_string_lossy(), storage)
    }

    /// The path or URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options that reach it.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The scheme of an object store's URL (`s3`, `gs`, `https`, ...); `None` for a local path.
    pub fn scheme(&self) -> Option<&str> {
        let (scheme, _) = self.url.split_once("://")?;
        REMOTE_SCHEMES.contains(&scheme).then_some(scheme)
    }

    /// The local path, when it is one.
    pub fn local_path(&self) -> Option<PathBuf> {
        self.scheme().is_none().then(|| PathBuf::from(&self.url))
    }

    /// The entry `name` inside this directory.
    pub fn join(&self, name: &str) -> Location {
        let name = name.trim_matches('/');
        let url = match self.local_path() {
            Some(path) => path.join(name).to_string_lossy().into_owned(),
            None if self.scheme() == Some("reference") && !self.url.contains('#') => format!("{}#{name}", self.url),
            None => format!("{}/{name}", self.url),
        };
        Location { url, storage: self.storage.clone() }
    }

    /// The last component of the path or URL.
    pub fn name(&self) -> &str {
        self.url.rsplit(['/', '#']).next().unwrap_or(&self.url)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.url)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::parse(path, &Storage::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart() {
        let s = Storage::new();
        assert_eq!(Location::new("s3://bucket/x.zarr/", &s).scheme(), Some("s3"));
        assert_eq!(Location::new("s3://bucket/x.zarr/", &s).url(), "s3://bucket/x.zarr");
        assert_eq!(Location::new("https://host/data/x.zarr", &s).scheme(), Some("https"));
        assert_eq!(Location::new("file:///tmp/x.zarr", &s).local_path(), Some(PathBuf::from("/tmp/x.zarr")));
        assert_eq!(Location::new("data/x.zarr", &s).local_path(), Some(PathBuf::from("data/x.zarr")));
        // Not a scheme Strata serves: a local name with a colon in it.
        assert_eq!(Location::new("weird://x", &s).scheme(), None);
        assert_eq!(Location::new("/", &s).url(), "/");
    }

    #[test]
    fn joining_keeps_the_storage() {
        let s = Storage::new().anonymous();
        let root = Location::new("gs://b/store.zarr", &s);
        let sst = root.join("sst");
        assert_eq!(sst.url(), "gs://b/store.zarr/sst");
        assert_eq!(sst.name(), "sst");
        assert!(sst.storage().anon);
        assert_eq!(Location::local("/tmp/a").join("b").url(), "/tmp/a/b");
        let refs = Location::new("reference://s3://b/refs.json", &s).join("sst");
        assert_eq!((refs.url(), refs.scheme(), refs.name()), ("reference://s3://b/refs.json#sst", Some("reference"), "sst"));
        assert_eq!(refs.join("x").url(), "reference://s3://b/refs.json#sst/x");
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = Storage::new().credentials("AKIA", "hunter2").session_token("tok");
        let shown = format!("{s:?}");
        assert!(shown.contains("AKIA") && !shown.contains("hunter2") && !shown.contains("tok\""), "{shown}");
    }

    #[test]
    fn a_location_travels_as_data() {
        let loc = Location::new("s3://b/k", &Storage::new().endpoint("http://127.0.0.1:9000").timeout(Duration::from_secs(2)));
        let back: Location = serde_json::from_str(&serde_json::to_string(&loc).unwrap()).unwrap();
        assert_eq!(back, loc);
        assert_eq!(back.storage().request_timeout(), Duration::from_secs(2));
    }
}
