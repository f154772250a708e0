//! The multipart wire format: `[identities..., "<IDS|MSG>", signature, header, parent_header,
//! metadata, content, buffers...]`.
//!
//! Decoding verifies the signature before it parses any JSON, so that nothing a forger sends
//! is ever interpreted.

use bytes::Bytes;
use serde_json::Value;

use super::message::Header;
use super::signing::{ReplayGuard, Signer};

pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// One message, decoded. `parent_header` and `metadata` stay as JSON because the kernel echoes
/// them rather than interprets them.
#[derive(Debug, Clone)]
pub struct WireMessage {
    pub identities: Vec<Bytes>,
    pub header: Header,
    pub parent_header: Value,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

/// Why a multipart message was dropped. None of these is ever answered on the wire.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("no <IDS|MSG> delimiter among {frames} frames")]
    MissingDelimiter { frames: usize },
    #[error("expected at least 5 frames after the delimiter, got {got}")]
    TooFewFrames { got: usize },
    #[error("signature does not match (wrong key, or the message was altered)")]
    BadSignature,
    #[error("signature already seen: a replayed message")]
    Replayed,
    #[error("{part} is not valid JSON: {reason}")]
    BadJson { part: &'static str, reason: String },
    #[error("{part} must be a JSON object")]
    NotAnObject { part: &'static str },
}

impl WireMessage {
    /// Decodes and authenticates one multipart message.
    pub fn decode(
        frames: Vec<Bytes>,
        signer: &Signer,
        replay_guard: &mut ReplayGuard,
    ) -> Result<WireMessage, WireError> {
        let total = frames.len();
        let delimiter = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(WireError::MissingDelimiter { frames: total })?;
        let after = total - delimiter - 1;
        if after < 5 {
            return Err(WireError::TooFewFrames { got: after });
        }
        let mut frames = frames;
        let buffers = frames.split_off(delimiter + 6);
        let content = frames.pop().unwrap_or_default();
        let metadata = frames.pop().unwrap_or_default();
        let parent = frames.pop().unwrap_or_default();
        let header = frames.pop().unwrap_or_default();
        let signature = frames.pop().unwrap_or_default();
        frames.pop(); // the delimiter
        let identities = frames;

        if !signer.verify(&signature, [&header, &parent, &metadata, &content]) {
            return Err(WireError::BadSignature);
        }
        if signer.is_enabled() && !replay_guard.first_sighting(&signature) {
            return Err(WireError::Replayed);
        }
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| WireError::BadJson { part: "header", reason: e.to_string() })?;
        let parent_header = parse_object(&parent, "parent_header")?;
        let metadata = parse_object(&metadata, "metadata")?;
        let content = parse_object(&content, "content")?;
        Ok(WireMessage { identities, header, parent_header, metadata, content, buffers })
    }

    /// Encodes and signs the message for sending.
    pub fn encode(&self, signer: &Signer) -> Vec<Bytes> {
        // Serializing a Header or a serde_json::Value cannot fail.
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let parent = serde_json::to_vec(&self.parent_header).unwrap_or_default();
        let metadata = serde_json::to_vec(&self.metadata).unwrap_or_default();
        let content = serde_json::to_vec(&self.content).unwrap_or_default();
        let signature = signer.sign([&header, &parent, &metadata, &content]);
        let mut frames = self.identities.clone();
        frames.push(Bytes::from_static(DELIMITER));
        frames.push(Bytes::from(signature));
        frames.push(Bytes::from(header));
        frames.push(Bytes::from(parent));
        frames.push(Bytes::from(metadata));
        frames.push(Bytes::from(content));
        frames.extend(self.buffers.iter().cloned());
        frames
    }
}

fn parse_object(bytes: &[u8], part: &'static str) -> Result<Value, WireError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| WireError::BadJson { part, reason: e.to_string() })?;
    if !value.is_object() {
        return Err(WireError::NotAnObject { part });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::MessageFactory;
    use proptest::prelude::*;

    fn sample(factory: &MessageFactory) -> WireMessage {
        let mut m = factory.iopub(None, "status", serde_json::json!({"execution_state": "idle"}));
        m.identities = vec![Bytes::from_static(b"client-1")];
        m
    }

    #[test]
    fn round_trips_a_signed_message() {
        let f = MessageFactory::new();
        let signer = Signer::new("secret");
        let msg = sample(&f);
        let frames = msg.encode(&signer);
        let back = WireMessage::decode(frames, &signer, &mut ReplayGuard::new(8)).unwrap();
        assert_eq!(back.identities, msg.identities);
        assert_eq!(back.header.msg_id, msg.header.msg_id);
        assert_eq!(back.content, msg.content);
    }

    #[test]
    fn rejects_forged_missing_and_replayed_signatures() {
        let f = MessageFactory::new();
        let msg = sample(&f);
        let frames = msg.encode(&Signer::new("attacker"));
        let mut guard = ReplayGuard::new(8);
        let signer = Signer::new("secret");
        assert_eq!(WireMessage::decode(frames, &signer, &mut guard).unwrap_err(), WireError::BadSignature);

        let mut unsigned = msg.encode(&Signer::new(""));
        assert_eq!(unsigned[2].len(), 0);
        unsigned[2] = Bytes::new();
        assert_eq!(WireMessage::decode(unsigned, &signer, &mut guard).unwrap_err(), WireError::BadSignature);

        let good = msg.encode(&signer);
        assert!(WireMessage::decode(good.clone(), &signer, &mut guard).is_ok());
        assert_eq!(WireMessage::decode(good, &signer, &mut guard).unwrap_err(), WireError::Replayed);
    }

    #[test]
    fn reports_structural_errors() {
        let signer = Signer::new("");
        let mut g = ReplayGuard::new(8);
        let f = |v: Vec<&'static [u8]>| v.into_iter().map(Bytes::from_static).collect::<Vec<_>>();
        assert!(matches!(
            WireMessage::decode(f(vec![b"a", b"b"]), &signer, &mut g),
            Err(WireError::MissingDelimiter { frames: 2 })
        ));
        assert!(matches!(
            WireMessage::decode(f(vec![DELIMITER, b"", b"{}"]), &signer, &mut g),
            Err(WireError::TooFewFrames { got: 2 })
        ));
        assert!(matches!(
            WireMessage::decode(f(vec![DELIMITER, b"", b"{nope", b"{}", b"{}", b"{}"]), &signer, &mut g),
            Err(WireError::BadJson { part: "header", .. })
        ));
        assert!(matches!(
            WireMessage::decode(
                f(vec![DELIMITER, b"", br#"{"msg_id":"1","msg_type":"x","session":"s"}"#, b"{}", b"{}", b"[1]"]),
                &signer,
                &mut g
            ),
            Err(WireError::NotAnObject { part: "content" })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary frames never panic the decoder, and never pass a keyed signature check.
        #[test]
        fn arbitrary_frames_never_panic_or_authenticate(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..10),
            insert_delimiter in any::<bool>(),
        ) {
            let mut frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            if insert_delimiter && !frames.is_empty() {
                frames.insert(frames.len() / 2, Bytes::from_static(DELIMITER));
            }
            let result = WireMessage::decode(frames, &Signer::new("secret"), &mut ReplayGuard::new(8));
            prop_assert!(result.is_err());
        }

        /// Flipping any byte of a signed message makes it fail authentication or parsing.
        #[test]
        fn mutated_signed_messages_are_rejected(part in 2usize..7, at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let f = MessageFactory::new();
            let signer = Signer::new("secret");
            let mut frames = sample(&f).encode(&signer);
            let frame = frames[part].to_vec();
            prop_assume!(!frame.is_empty());
            let mut frame = frame;
            let i = at.index(frame.len());
            frame[i] ^= 1 << bit;
            frames[part] = Bytes::from(frame);
            prop_assert!(WireMessage::decode(frames, &signer, &mut ReplayGuard::new(8)).is_err());
        }
    }
}
