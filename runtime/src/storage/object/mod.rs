//! Object storage (S3 and S3-compatible servers, Google Cloud Storage, HTTP servers that
//! answer range requests) through the `object_store` crate: its clients sign requests, read
//! credentials from the environment and retry 5xx answers and timeouts with backoff.
//!
//! The executor's tasks are synchronous (rayon threads), object_store is async: one small
//! tokio runtime, started on the first remote read, drives every request, and a task blocks on
//! its own. One semaphore bounds the requests in flight across every store and task, so a
//! wave of prefetches cannot open hundreds of connections.
//!
//! [`Remote`] is a directory in a store (a bucket and prefix); [`zarr_store`] makes one a
//! zarrs store.

pub(crate) mod zarr_store;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use tokio::sync::Semaphore;

use crate::error::Error;
use crate::storage::references::ReferenceSet;
use crate::storage::{Location, Storage};

/// Requests in flight at once, across all stores: S3 serves dozens per connection pool
/// happily; more only queue in the client.
const MAX_IN_FLIGHT: usize = 64;

/// The clients of this process, one per bucket (or server) and options, and the runtime
/// their requests run on. Kept by the executor for the process's life: clients hold
/// connection pools and credentials worth reusing.
#[derive(Default)]
pub(crate) struct ObjectStores {
    io: OnceLock<Result<Io, String>>,
    clients: Mutex<HashMap<(String, Storage), Arc<dyn ObjectStore>>>,
    /// Reference sets read so far, by URL and options: read and parsed once per process.
    references: Mutex<HashMap<Location, Arc<ReferenceSet>>>,
}

/// The runtime requests run on and the limit they share.
#[derive(Clone)]
pub(crate) struct Io {
    handle: tokio::runtime::Handle,
    limit: Arc<Semaphore>,
}

impl Io {
    /// Runs `future` to completion from a synchronous caller (never a runtime thread).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Runs `future` holding one of the shared request permits.
    pub(crate) async fn limited<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        let _permit = self.limit.acquire().await;
        future.await
    }
}

impl ObjectStores {
    fn io(&self) -> Result<Io, Error> {
        let io = self.io.get_or_init(|| {
            // Two threads: they only wait on sockets and copy bytes; decoding happens on the
            // computation's own threads. Leaked on purpose: it lives as long as the process.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("strata-io")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
            let handle = runtime.handle().clone();
            std::mem::forget(runtime);
            Ok(Io { handle, limit: Arc::new(Semaphore::new(MAX_IN_FLIGHT)) })
        });
        io.clone().map_err(|cause| Error::Storage { url: String::new(), cause })
    }

    /// The reference set at `at` (its file's path or URL), read once per process.
    pub(crate) fn references(&self, at: &Location) -> Result<Arc<ReferenceSet>, Error> {
        if let Some(set) = self.references.lock().unwrap_or_else(|p| p.into_inner()).get(at) {
            return Ok(set.clone());
        }
        let set = Arc::new(ReferenceSet::open(at, self)?);
        self.references.lock().unwrap_or_else(|p| p.into_inner()).insert(at.clone(), set.clone());
        Ok(set)
    }

    /// The directory `at` names in its object store (an error for a local path).
    pub(crate) fn remote(&self, at: &Location) -> Result<Remote, Error> {
        let fail = |cause: String| Error::Storage { url: at.url().to_owned(), cause };
        let scheme = at.scheme().ok_or_else(|| fail("not an object store URL".into()))?;
        let rest = &at.url()[scheme.len() + 3..];
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(fail("the URL names no bucket or host".into()));
        }
        let client_key = (format!("{scheme}://{authority}"), at.storage().clone());
        let store = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            match clients.get(&client_key) {
                Some(store) => store.clone(),
                None => {
                    let store = client(scheme, authority, at.storage()).map_err(fail)?;
                    clients.insert(client_key, store.clone());
                    store
                }
            }
        };
        Ok(Remote {
            store,
            prefix: ObjectPath::from(path),
            url: at.url().to_owned(),
            io: self.io()?,
            missing: Arc::default(),
            prefetched: Arc::default(),
        })
    }
}

/// Options every client gets: timeouts so that a server that stops answering is an error
/// after a while, never a hang, and retries with backoff.
fn client_options(storage: &Storage, allow_http: bool) -> (ClientOptions, RetryConfig) {
    let timeout = storage.request_timeout();
    let options = ClientOptions::new()
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(5)))
        .with_allow_http(allow_http);
    let retries = storage.retries.unwrap_or(3);
    let retry = RetryConfig {
        max_retries: retries,
        // Bounds the whole retried request, not each try.
        retry_timeout: timeout * (retries as u32 + 1) + Duration::from_secs(1),
        ..RetryConfig::default()
    };
    (options, retry)
}

/// A client for `scheme://authority` with `storage`'s options over the environment's.
fn client(scheme: &str, authority: &str, storage: &Storage) -> Result<Arc<dyn ObjectStore>, String> {
    // TLS through rustls with ring (see Cargo.toml): installed once per process, before the
    // first client; a provider the program installed itself is kept. rustls deprecates ring's
    // provider only because it lacks post-quantum key exchange, which aws-lc-rs (a C build
    // several times larger) would bring.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let endpoint_http = storage.endpoint_url.as_deref().is_some_and(|e| e.starts_with("http://"))
        || std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| e.starts_with("http://"));
    match scheme {
        "s3" | "s3a" => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let (options, retry) = client_options(storage, endpoint_http || storage.options.get("aws_allow_http").is_some_and(|v| v == "true"));
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(authority).with_client_options(options).with_retry(retry);
            if let Some(endpoint) = &storage.endpoint_url {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(region) = &storage.region_name {
                builder = builder.with_region(region);
            }
            if let (Some(key), Some(secret)) = (&storage.key, &storage.secret) {
                builder = builder.with_access_key_id(key).with_secret_access_key(secret);
            }
            if let Some(token) = &storage.token {
                builder = builder.with_token(token);
            }
            if storage.anon {
                builder = builder.with_skip_signature(true);
            }
            for (key, value) in &storage.options {
                let key: AmazonS3ConfigKey = key.parse().map_err(|e| format!("option {key:?}: {e}"))?;
                builder = builder.with_config(key, value);
            }
            Ok(Arc::new(builder.build().map_err(|e| e.to_string())?))
        }
        "gs" | "gcs" => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let (options, retry) = client_options(storage, endpoint_http);
            let mut builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(authority).with_client_options(options).with_retry(retry);
            if storage.anon {
                builder = builder.with_skip_signature(true);
            }
            for (key, value) in &storage.options {
                let key: GoogleConfigKey = key.parse().map_err(|e| format!("option {key:?}: {e}"))?;
                builder = builder.with_config(key, value);
            }
            Ok(Arc::new(builder.build().map_err(|e| e.to_string())?))
        }
        "http" | "https" => {
            use object_store::http::HttpBuilder;
            let (options, retry) = client_options(storage, scheme == "http");
            let builder = HttpBuilder::new().with_url(format!("{scheme}://{authority}")).with_client_options(options).with_retry(retry);
            Ok(Arc::new(builder.build().map_err(|e| e.to_string())?))
        }
        other => Err(format!("no object store for the scheme {other:?}")),
    }
}

/// A directory in an object store: a bucket (or server) and a prefix.
#[derive(Clone)]
pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    io: Io,
    /// Keys found missing (404), not asked for again: a store's absent metadata documents and
    /// never-written chunks.
    missing: Arc<Mutex<HashSet<String>>>,
    /// Values being fetched ahead of the tasks that will read them, by full path.
    prefetched: Arc<Mutex<HashMap<String, Prefetched>>>,
}

/// What names a value fetched ahead: its full path and the part of it.
fn prefetch_id(path: &ObjectPath, range: Option<&GetRange>) -> String {
    match range {
        None => path.to_string(),
        Some(range) => format!("{path}#{range}"),
    }
}

/// A value fetched ahead: the request, running on the I/O runtime.
struct Prefetched {
    started: Instant,
    request: tokio::task::JoinHandle<Result<Option<Bytes>, Error>>,
}

/// A value fetched ahead and not read by then is dropped: its computation failed or was
/// interrupted before reaching it.
const PREFETCH_KEPT: Duration = Duration::from_secs(120);

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a request failed, for an error message: object_store's own text names the status and
/// the server's answer; the errors beneath it say what happened on the wire ("connection
/// closed before message completed", "operation timed out"), so they are appended.
fn cause(error: &object_store::Error) -> String {
    let mut text = error.to_string().lines().next().unwrap_or_default().to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let line = inner.to_string();
        let line = line.lines().next().unwrap_or_default();
        if !line.is_empty() && !text.contains(line) {
            text = format!("{text}: {line}");
        }
        source = inner.source();
    }
    match error {
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            format!("access denied (check the credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or Storage::credentials, or Storage::anonymous for public data): {text}")
        }
        _ => text,
    }
}

impl Remote {
    /// The URL of this directory.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The directory `name` inside this one (sharing the client and the missing keys).
    pub(crate) fn join(&self, name: &str) -> Remote {
        let mut child = self.clone();
        child.prefix = self.path(name);
        child.url = format!("{}/{}", self.url, name.trim_matches('/'));
        child
    }

    /// The directory `name` beside this one (in the same parent).
    pub(crate) fn sibling(&self, name: &str) -> Remote {
        let mut other = self.clone();
        let parent = self.prefix.as_ref().rsplit_once('/').map(|(p, _)| p.to_owned()).unwrap_or_default();
        other.prefix = if parent.is_empty() { ObjectPath::from(name) } else { ObjectPath::from(format!("{parent}/{name}")) };
        other.url = match self.url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => name.to_owned(),
        };
        other
    }

    fn path(&self, key: &str) -> ObjectPath {
        let key = key.trim_matches('/');
        if self.prefix.as_ref().is_empty() {
            ObjectPath::from(key)
        } else if key.is_empty() {
            self.prefix.clone()
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// The error for `key` failing with `cause`.
    pub(crate) fn error(&self, key: &str, cause: impl Into<String>) -> Error {
        let url = if key.is_empty() { self.url.clone() } else { format!("{}/{key}", self.url) };
        Error::Storage { url, cause: cause.into() }
    }

    /// Whether `key` was found missing before (keys are remembered by their full path, as
    /// relatives share the set).
    fn known_missing(&self, key: &str) -> bool {
        self.missing.lock().unwrap_or_else(|p| p.into_inner()).contains(self.path(key).as_ref())
    }

    fn remember_missing(&self, key: &str, missing: bool) {
        let path = self.path(key).to_string();
        let mut set = self.missing.lock().unwrap_or_else(|p| p.into_inner());
        if missing {
            set.insert(path);
        } else {
            set.remove(&path);
        }
    }

    /// The value at `key` (or the part `range` says), `None` when there is none.
    pub(crate) async fn get_async(&self, key: &str, range: Option<GetRange>) -> Result<Option<Bytes>, Error> {
        if self.known_missing(key) {
            return Ok(None);
        }
        let path = self.path(key);
        let options = GetOptions { range, ..GetOptions::default() };
        let result = self
            .io
            .limited(async {
                let got = self.store.get_opts(&path, options).await?;
                got.bytes().await
            })
            .await;
        match result {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => {
                self.remember_missing(key, true);
                Ok(None)
            }
            Err(e) => Err(self.error(key, cause(&e))),
        }
    }

    /// Starts fetching the value at `key` (or its part `range`) for a task that will soon
    /// read it ([`get`](Self::get), [`take_prefetched`](Self::take_prefetched)).
    pub(crate) fn prefetch(&self, key: &str, range: Option<GetRange>) {
        let id = prefetch_id(&self.path(key), range.as_ref());
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|p| p.into_inner());
        if prefetched.contains_key(&id) || self.known_missing(key) {
            return;
        }
        prefetched.retain(|_, p| {
            let keep = p.started.elapsed() < PREFETCH_KEPT;
            if !keep {
                p.request.abort();
            }
            keep
        });
        let remote = self.clone();
        let key = key.to_owned();
        let request = self.io.handle.spawn(async move { remote.get_async(&key, range).await });
        prefetched.insert(id, Prefetched { started: Instant::now(), request });
    }

    /// The value at `key` (or its part `range`) if it was fetched ahead (waiting for the
    /// request to finish), taken out of the prefetched values; `None` when it was not, or its
    /// request was lost.
    pub(crate) fn take_prefetched(&self, key: &str, range: Option<&GetRange>) -> Option<Result<Option<Bytes>, Error>> {
        let ahead = self.prefetched.lock().unwrap_or_else(|p| p.into_inner()).remove(&prefetch_id(&self.path(key), range))?;
        // A request that panicked or was aborted is made again by the caller.
        self.io.block_on(ahead.request).ok()
    }

    /// The value at `key`, `None` when there is none: fetched ahead, or now.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Bytes>, Error> {
        match self.take_prefetched(key, None) {
            Some(result) => result,
            None => self.io.block_on(self.get_async(key, None)),
        }
    }

    /// The part `range` of the value at `key` (all of it for `None`), `None` when there is
    /// no such key.
    pub(crate) fn get_range(&self, key: &str, range: Option<GetRange>) -> Result<Option<Bytes>, Error> {
        match self.take_prefetched(key, range.as_ref()) {
            Some(result) => result,
            None => self.io.block_on(self.get_async(key, range)),
        }
    }

    /// The parts `ranges` of the value at `key` (adjacent and nearby ranges fetched as one
    /// request, distant ones concurrently), `None` when there is none.
    pub(crate) fn get_ranges(&self, key: &str, ranges: &[std::ops::Range<u64>]) -> Result<Option<Vec<Bytes>>, Error> {
        if self.known_missing(key) {
            return Ok(None);
        }
        let path = self.path(key);
        let result = self.io.block_on(self.io.limited(self.store.get_ranges(&path, ranges)));
        match result {
            Ok(parts) => Ok(Some(parts)),
            Err(object_store::Error::NotFound { .. }) => {
                self.remember_missing(key, true);
                Ok(None)
            }
            Err(e) => Err(self.error(key, cause(&e))),
        }
    }

    /// The size of the value at `key`, `None` when there is none.
    pub(crate) fn size(&self, key: &str) -> Result<Option<u64>, Error> {
        if self.known_missing(key) {
            return Ok(None);
        }
        let path = self.path(key);
        match self.io.block_on(self.io.limited(self.store.head(&path))) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, cause(&e))),
        }
    }

    /// Stores `bytes` at `key` (one PUT: atomic, a reader sees the old value or the new).
    pub(crate) fn put(&self, key: &str, bytes: Bytes) -> Result<(), Error> {
        let path = self.path(key);
        let result = self.io.block_on(self.io.limited(self.store.put(&path, PutPayload::from(bytes))));
        self.remember_missing(key, false);
        result.map(|_| ()).map_err(|e| self.error(key, cause(&e)))
    }

    /// Every key under this directory, relative to it.
    pub(crate) fn list(&self) -> Result<Vec<String>, Error> {
        let prefix = self.prefix.clone();
        let listed: Result<Vec<_>, _> = self.io.block_on(self.io.limited(self.store.list(Some(&prefix)).try_collect::<Vec<_>>()));
        let listed = listed.map_err(|e| self.error("", cause(&e)))?;
        let strip = |p: &ObjectPath| -> String {
            let full = p.as_ref();
            full.strip_prefix(prefix.as_ref()).unwrap_or(full).trim_start_matches('/').to_owned()
        };
        Ok(listed.iter().map(|m| strip(&m.location)).collect())
    }

    /// The names of the directories directly inside this one.
    pub(crate) fn child_dirs(&self) -> Result<Vec<String>, Error> {
        let prefix = self.prefix.clone();
        let listed = self.io.block_on(self.io.limited(self.store.list_with_delimiter(Some(&prefix))));
        let listed = listed.map_err(|e| self.error("", cause(&e)))?;
        Ok(listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned)).collect())
    }

    /// Deletes `keys` (relative to this directory), concurrently.
    pub(crate) fn delete(&self, keys: &[String]) -> Result<(), Error> {
        let paths: Vec<ObjectPath> = keys.iter().map(|k| self.path(k)).collect();
        let result: Result<Vec<()>, _> = self.io.block_on(
            futures::stream::iter(paths)
                .map(|p| async move { self.io.limited(self.store.delete(&p)).await })
                .buffer_unordered(16)
                .try_collect(),
        );
        result.map(|_| ()).map_err(|e| self.error("", cause(&e)))?;
        for key in keys {
            self.remember_missing(key, true);
        }
        Ok(())
    }

    /// Deletes everything under this directory.
    pub(crate) fn delete_all(&self) -> Result<(), Error> {
        let keys = self.list()?;
        self.delete(&keys)
    }

    /// Copies `keys` from this directory to the same keys under `to` (in the same store: the
    /// server copies, nothing is downloaded), concurrently.
    pub(crate) fn copy_to(&self, to: &Remote, keys: &[String]) -> Result<(), Error> {
        let pairs: Vec<(ObjectPath, ObjectPath)> = keys.iter().map(|k| (self.path(k), to.path(k))).collect();
        let result: Result<Vec<()>, _> = self.io.block_on(
            futures::stream::iter(pairs)
                .map(|(from, dest)| async move { self.io.limited(self.store.copy(&from, &dest)).await })
                .buffer_unordered(16)
                .try_collect(),
        );
        for key in keys {
            to.remember_missing(key, false);
        }
        result.map(|_| ()).map_err(|e| to.error("", cause(&e)))
    }
}
