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
        // Through an object first: serde would also read a struct from a JSON array of its
        // fields in order, which no Jupyter client sends.
        let header: Header = serde_json::from_value(parse_object(&header, "header")?)
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

    /// Any JSON value: scalars of every type, nested arrays and objects (keys drawn from the
    /// header's own field names half the time).
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            let key = prop_oneof![
                prop::sample::select(vec!["msg_id", "msg_type", "session", "username", "date", "version"]).prop_map(str::to_owned),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(key, inner, 0..6).prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn a_header_sent_as_an_array_of_its_fields_is_refused() {
        // What the fuzz campaign below once found: serde reads a struct from a JSON array.
        let signer = Signer::new("secret");
        let parts: Vec<Vec<u8>> = [r#"["a", "b", "c", "d", "e", "f"]"#, "{}", "{}", "{}"].iter().map(|p| p.as_bytes().to_vec()).collect();
        let signature = signer.sign([&parts[0], &parts[1], &parts[2], &parts[3]]);
        let mut frames = vec![Bytes::from_static(DELIMITER), Bytes::from(signature)];
        frames.extend(parts.into_iter().map(Bytes::from));
        let refused = WireMessage::decode(frames, &signer, &mut ReplayGuard::new(8));
        assert!(matches!(refused, Err(WireError::NotAnObject { part: "header" })), "{refused:?}");
    }

    proptest! {
        // The bounded fuzz campaign of the wire decoder: 20,000 correctly signed messages
        // whose four JSON parts are arbitrary (wrong types, missing or extra fields, huge
        // strings, deep nesting), with 0 to 2 extra buffers.
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn signed_messages_of_any_shape_decode_or_fail_without_panic(
            header in json_value(), parent in json_value(), metadata in json_value(), content in json_value(),
            buffers in 0usize..3, huge in proptest::option::weighted(0.05, 0usize..4),
        ) {
            // One case in twenty carries a huge field (100 KB to 800 KB of code).
            let content = match huge {
                Some(k) => serde_json::json!({ "code": "x".repeat(100_000 << k), "inner": content }),
                None => content,
            };
            let signer = Signer::new("secret");
            let parts: Vec<Vec<u8>> = [&header, &parent, &metadata, &content].iter().map(|v| serde_json::to_vec(v).unwrap()).collect();
            let signature = signer.sign([&parts[0], &parts[1], &parts[2], &parts[3]]);
            let mut frames = vec![Bytes::from_static(b"client"), Bytes::from_static(DELIMITER), Bytes::from(signature)];
            frames.extend(parts.into_iter().map(Bytes::from));
            frames.extend((0..buffers).map(|_| Bytes::from_static(b"\x00\xff")));
            match WireMessage::decode(frames, &signer, &mut ReplayGuard::new(8)) {
                // Accepted only when every part has the shape the protocol needs.
                Ok(m) => {
                    prop_assert!(parent.is_object() && metadata.is_object() && content.is_object());
                    prop_assert_eq!(m.buffers.len(), buffers);
                    prop_assert!(header.get("msg_type").is_some_and(|t| t.is_string()));
                }
                Err(e) => prop_assert!(!matches!(e, WireError::BadSignature | WireError::Replayed), "{e:?}"),
            }
        }
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
