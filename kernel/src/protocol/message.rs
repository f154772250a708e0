//! Headers, the factory that stamps the kernel's own messages, and the typed contents of the
//! requests the kernel reads.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::wire::WireMessage;
use super::PROTOCOL_VERSION;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub msg_id: String,
    pub session: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub date: String,
    pub msg_type: String,
    #[serde(default)]
    pub version: String,
}

/// Stamps outgoing messages with the kernel's session id, a fresh msg_id and the date.
#[derive(Clone)]
pub struct MessageFactory {
    session: String,
}

impl Default for MessageFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageFactory {
    pub fn new() -> Self {
        MessageFactory { session: uuid::Uuid::new_v4().to_string() }
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    pub fn header(&self, msg_type: &str) -> Header {
        Header {
            msg_id: uuid::Uuid::new_v4().to_string(),
            session: self.session.clone(),
            username: "kernel".into(),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            msg_type: msg_type.into(),
            version: PROTOCOL_VERSION.into(),
        }
    }

    /// A reply on the socket the request came from, routed back to its sender.
    pub fn reply(&self, request: &WireMessage, msg_type: &str, content: Value) -> WireMessage {
        WireMessage {
            identities: request.identities.clone(),
            header: self.header(msg_type),
            parent_header: header_value(&request.header),
            metadata: Value::Object(Map::new()),
            content,
            buffers: Vec::new(),
        }
    }

    /// A broadcast on iopub; the topic frame names the message type.
    pub fn iopub(&self, parent: Option<&Header>, msg_type: &str, content: Value) -> WireMessage {
        WireMessage {
            identities: vec![Bytes::from(format!("kernel.{}.{}", self.session, msg_type))],
            header: self.header(msg_type),
            parent_header: parent.map(header_value).unwrap_or_else(|| Value::Object(Map::new())),
            metadata: Value::Object(Map::new()),
            content,
            buffers: Vec::new(),
        }
    }
}

fn header_value(header: &Header) -> Value {
    serde_json::to_value(header).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Reads a request's content, falling back to defaults for fields a client left out, and
/// naming the message type when the content has the wrong shape.
pub fn parse_content<T: serde::de::DeserializeOwned>(msg: &WireMessage) -> Result<T, String> {
    serde_json::from_value(msg.content.clone())
        .map_err(|e| format!("bad {} content: {e}", msg.header.msg_type))
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct ExecuteRequest {
    pub code: String,
    #[serde(default)]
    pub silent: bool,
    #[serde(default = "yes")]
    pub store_history: bool,
    #[serde(default)]
    pub user_expressions: Map<String, Value>,
    #[serde(default)]
    pub allow_stdin: bool,
    #[serde(default = "yes")]
    pub stop_on_error: bool,
}

#[derive(Debug, Deserialize)]
pub struct CodeAtCursor {
    pub code: String,
    #[serde(default)]
    pub cursor_pos: Option<usize>,
    #[serde(default)]
    pub detail_level: u8,
}

#[derive(Debug, Deserialize)]
pub struct IsCompleteRequest {
    pub code: String,
}

#[derive(Debug, Deserialize)]
pub struct HistoryRequest {
    #[serde(default)]
    pub output: bool,
    #[serde(default)]
    pub hist_access_type: String,
    #[serde(default)]
    pub session: i64,
    #[serde(default)]
    pub start: i64,
    #[serde(default)]
    pub stop: Option<i64>,
    #[serde(default)]
    pub n: Option<usize>,
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Deserialize)]
pub struct ShutdownRequest {
    #[serde(default)]
    pub restart: bool,
}

#[derive(Debug, Deserialize)]
pub struct CommOpen {
    pub comm_id: String,
    #[serde(default)]
    pub target_name: String,
}

#[derive(Debug, Deserialize)]
pub struct InputReply {
    #[serde(default)]
    pub value: String,
}
