//! HMAC-SHA256 message signatures, and the replay guard.
//!
//! The signature covers header, parent_header, metadata and content (never the buffers), as
//! the protocol specifies. Verification is constant-time so that a client cannot learn the
//! key byte by byte from response timing.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashSet, VecDeque};

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies messages with the connection key. An empty key disables signing.
#[derive(Clone)]
pub struct Signer {
    mac: Option<HmacSha256>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        let mac = if key.is_empty() {
            None
        } else {
            // HMAC accepts keys of any length, so this cannot fail.
            HmacSha256::new_from_slice(key.as_bytes()).ok()
        };
        Signer { mac }
    }

    pub fn is_enabled(&self) -> bool {
        self.mac.is_some()
    }

    /// The hex signature of the four signed parts, or "" when signing is disabled.
    pub fn sign(&self, parts: [&[u8]; 4]) -> String {
        match &self.mac {
            None => String::new(),
            Some(mac) => {
                let mut mac = mac.clone();
                for part in parts {
                    mac.update(part);
                }
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// True when `signature` (hex, as sent on the wire) matches the parts.
    ///
    /// The comparison is on the exact lowercase hex text, as jupyter_client's is: accepting
    /// other spellings of the same digest (upper case) would let a captured message be
    /// replayed past the replay guard, which remembers signatures as sent.
    pub fn verify(&self, signature: &[u8], parts: [&[u8]; 4]) -> bool {
        use subtle::ConstantTimeEq;
        match &self.mac {
            None => true,
            Some(_) => {
                let expected = self.sign(parts);
                expected.len() == signature.len() && bool::from(expected.as_bytes().ct_eq(signature))
            }
        }
    }
}

/// Remembers recent signatures so that a captured message cannot be replayed.
///
/// Every legitimate message has a fresh msg_id and date, so its signature is unique; a second
/// sighting can only be a replay. The memory is bounded: the oldest signatures are forgotten.
pub struct ReplayGuard {
    seen: HashSet<Vec<u8>>,
    order: VecDeque<Vec<u8>>,
    capacity: usize,
}

impl ReplayGuard {
    pub fn new(capacity: usize) -> Self {
        ReplayGuard { seen: HashSet::new(), order: VecDeque::new(), capacity }
    }

    /// Records the signature; false if it was already seen.
    pub fn first_sighting(&mut self, signature: &[u8]) -> bool {
        if signature.is_empty() {
            // Unsigned sessions have nothing to compare.
            return true;
        }
        if !self.seen.insert(signature.to_vec()) {
            return false;
        }
        self.order.push_back(signature.to_vec());
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_jupyter_client() {
        // hmac.new(b"key", b"abcd", hashlib.sha256).hexdigest()
        let s = Signer::new("key");
        let sig = s.sign([b"a", b"b", b"c", b"d"]);
        assert_eq!(sig, "2a31ec0ee8d878c9eece9fb0df79b3b90b2256240163aa5ee50d176d3d1121f8");
        assert!(s.verify(sig.as_bytes(), [b"a", b"b", b"c", b"d"]));
        assert!(!s.verify(sig.as_bytes(), [b"a", b"b", b"c", b"e"]));
        assert!(!s.verify(b"zz", [b"a", b"b", b"c", b"d"]));
        let upper = sig.to_uppercase();
        assert!(!s.verify(upper.as_bytes(), [b"a", b"b", b"c", b"d"]), "another spelling of the digest must not verify");
        assert!(!Signer::new("other").verify(sig.as_bytes(), [b"a", b"b", b"c", b"d"]));
    }

    #[test]
    fn empty_key_disables_signing() {
        let s = Signer::new("");
        assert_eq!(s.sign([b"a", b"b", b"c", b"d"]), "");
        assert!(s.verify(b"", [b"a", b"b", b"c", b"d"]));
    }

    #[test]
    fn replay_guard_rejects_second_sighting_and_forgets_old() {
        let mut g = ReplayGuard::new(2);
        assert!(g.first_sighting(b"s1"));
        assert!(!g.first_sighting(b"s1"));
        assert!(g.first_sighting(b"s2"));
        assert!(g.first_sighting(b"s3"));
        assert!(g.first_sighting(b"s1"), "oldest should have been forgotten");
    }
}
