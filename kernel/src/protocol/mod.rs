//! The Jupyter messaging protocol (version 5.4) as plain data: the connection file, the
//! signed multipart wire format, and the typed request contents the kernel understands.
//!
//! Nothing here knows how cells are evaluated; the server moves these messages between
//! sockets and an [`crate::engine::Engine`].

pub mod connection;
pub mod message;
pub mod signing;
pub mod wire;

pub use connection::ConnectionInfo;
pub use message::{Header, MessageFactory};
pub use signing::Signer;
pub use wire::{WireError, WireMessage};

/// The protocol version this kernel implements, reported in every header and kernel_info.
pub const PROTOCOL_VERSION: &str = "5.4";
