//! The connection file a frontend writes before starting the kernel.

use serde::Deserialize;
use std::path::Path;

use crate::error::KernelError;

/// Ports, transport, and signing key, exactly as the frontend wrote them.
///
/// The kernel binds only to `ip` (loopback unless the frontend asked otherwise): it must
/// never widen where it listens.
#[derive(Clone, Deserialize)]
pub struct ConnectionInfo {
    #[serde(default = "default_transport")]
    pub transport: String,
    #[serde(default = "default_ip")]
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    #[serde(default)]
    pub key: String,
    #[serde(default = "default_scheme")]
    pub signature_scheme: String,
}

// The key is a secret: keep it out of any Debug output that could reach a log.
impl std::fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("transport", &self.transport)
            .field("ip", &self.ip)
            .field("shell_port", &self.shell_port)
            .field("iopub_port", &self.iopub_port)
            .field("stdin_port", &self.stdin_port)
            .field("control_port", &self.control_port)
            .field("hb_port", &self.hb_port)
            .field("key", &"<redacted>")
            .field("signature_scheme", &self.signature_scheme)
            .finish()
    }
}

fn default_transport() -> String {
    "tcp".into()
}
fn default_ip() -> String {
    "127.0.0.1".into()
}
fn default_scheme() -> String {
    "hmac-sha256".into()
}

impl ConnectionInfo {
    pub fn from_file(path: &Path) -> Result<Self, KernelError> {
        let text = std::fs::read_to_string(path).map_err(|source| KernelError::ConnectionFile {
            path: path.to_owned(),
            reason: source.to_string(),
        })?;
        Self::from_json(&text).map_err(|reason| KernelError::ConnectionFile {
            path: path.to_owned(),
            reason,
        })
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let info: ConnectionInfo = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if info.transport != "tcp" && info.transport != "ipc" {
            return Err(format!("unsupported transport {:?}", info.transport));
        }
        if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
            return Err(format!(
                "unsupported signature_scheme {:?} (only hmac-sha256)",
                info.signature_scheme
            ));
        }
        Ok(info)
    }

    /// The ZeroMQ endpoint for one of the ports, in the form the `zeromq` crate binds.
    pub fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}-{}", self.ip, port),
            _ => format!("tcp://{}:{}", self.ip, port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_jupyter_client_connection_file() {
        let info = ConnectionInfo::from_json(
            r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
                "hb_port": 5, "ip": "127.0.0.1", "key": "abc", "transport": "tcp",
                "signature_scheme": "hmac-sha256", "kernel_name": "strata"}"#,
        )
        .unwrap();
        assert_eq!(info.endpoint(info.hb_port), "tcp://127.0.0.1:5");
        assert!(!format!("{info:?}").contains("abc"), "key leaked into Debug output");
    }

    #[test]
    fn rejects_unknown_schemes_and_transports() {
        let base = r#""shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5"#;
        assert!(ConnectionInfo::from_json(&format!(
            r#"{{{base}, "key": "k", "signature_scheme": "hmac-md5"}}"#
        ))
        .is_err());
        assert!(ConnectionInfo::from_json(&format!(r#"{{{base}, "transport": "udp"}}"#)).is_err());
        assert!(ConnectionInfo::from_json("{").is_err());
    }
}
