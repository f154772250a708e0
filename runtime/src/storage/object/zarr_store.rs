//! A [`Remote`] directory as a zarrs store. zarrs' own object_store adapter asks for an
//! object's size (a HEAD) before each partial read and runs one request per call; this one
//! sends partial reads as they are (suffix ranges as suffix requests, the shard index at an
//! end) with nearby ranges of one object fetched together, and remembers missing keys.

use std::sync::Arc;

use object_store::GetRange;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator};
use zarrs::storage::{
    Bytes, MaybeBytes, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StorePrefix, WritableStorageTraits,
};

use super::Remote;

fn failed(error: crate::error::Error) -> StorageError {
    StorageError::Other(error.to_string())
}

/// `ranges` of a whole value `bytes` (of `key`), as zarrs' partial reads want them.
pub(crate) fn cut<'a>(key: &StoreKey, bytes: &Bytes, ranges: impl Iterator<Item = ByteRange>) -> Box<dyn Iterator<Item = Result<Bytes, StorageError>> + 'a> {
    let size = bytes.len() as u64;
    let parts: Vec<Result<Bytes, StorageError>> = ranges
        .map(|r| {
            let (start, end) = (r.start(size), r.end(size));
            if start > end || end > size {
                return Err(StorageError::Other(format!("{}: bytes {start}..{end} of a {size}-byte value", key.as_str())));
            }
            Ok(bytes.slice(start as usize..end as usize))
        })
        .collect();
    Box::new(parts.into_iter())
}

/// A zarrs store over a directory in an object store.
pub(crate) struct RemoteStore(pub(crate) Remote);

impl RemoteStore {
    pub(crate) fn new(remote: Remote) -> Arc<RemoteStore> {
        Arc::new(RemoteStore(remote))
    }
}

impl ReadableStorageTraits for RemoteStore {
    fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        self.0.get(key.as_str()).map_err(failed)
    }

    fn get_partial_many<'a>(&'a self, key: &StoreKey, byte_ranges: ByteRangeIterator<'a>) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        // A value fetched ahead serves any ranges of it (zarrs reads a compressed chunk "in
        // part" as one range over all of it).
        if let Some(fetched) = self.0.take_prefetched(key.as_str(), None) {
            return Ok(fetched.map_err(failed)?.map(|bytes| cut(key, &bytes, ranges.into_iter())));
        }
        let bounded: Option<Vec<std::ops::Range<u64>>> = ranges
            .iter()
            .map(|r| match r {
                ByteRange::FromStart(start, Some(len)) => Some(*start..start + len),
                _ => None,
            })
            .collect();
        let parts: Vec<Bytes> = match bounded {
            // All bounded: one call, which merges nearby ranges into one request.
            Some(bounded) => match self.0.get_ranges(key.as_str(), &bounded).map_err(failed)? {
                Some(parts) => parts,
                None => return Ok(None),
            },
            // Suffixes (a shard's index) and open ends: one request each, concurrently.
            None => {
                let remote = &self.0;
                let requests = ranges.iter().map(|r| {
                    let range = match *r {
                        ByteRange::FromStart(0, None) => None,
                        ByteRange::FromStart(start, None) => Some(GetRange::Offset(start)),
                        ByteRange::FromStart(start, Some(len)) => Some(GetRange::Bounded(start..start + len)),
                        ByteRange::Suffix(len) => Some(GetRange::Suffix(len)),
                    };
                    remote.get_async(key.as_str(), range)
                });
                let got = remote.io.block_on(futures::future::try_join_all(requests)).map_err(failed)?;
                match got.into_iter().collect::<Option<Vec<Bytes>>>() {
                    Some(parts) => parts,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(Box::new(parts.into_iter().map(Ok))))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.0.size(key.as_str()).map_err(failed)
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

impl WritableStorageTraits for RemoteStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.0.put(key.as_str(), value).map_err(failed)
    }

    fn set_partial_many(&self, key: &StoreKey, _offset_values: OffsetBytesIterator) -> Result<(), StorageError> {
        Err(StorageError::Other(format!("{}: objects cannot be written in part", key.as_str())))
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.0.delete(&[key.as_str().to_owned()]).map_err(failed)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.0.join(prefix.as_str()).delete_all().map_err(failed)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
