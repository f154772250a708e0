//! The messages between a launcher and a spare, over the spare's Unix socket.
//!
//! 1. launcher -> spare: one byte, carrying the launcher's standard input, output and error
//!    (`SCM_RIGHTS`), so the engine's log goes where Jupyter reads the kernel's;
//! 2. launcher -> spare: a [`Request`], as a little-endian `u32` length and JSON;
//! 3. spare -> launcher: a [`Reply`], framed the same way;
//! 4. nothing more: the launcher holds its end for as long as it lives, and the engine ends
//!    when it closes.
//!
//! Paths and environment values are carried as bytes: they need not be UTF-8.

use std::ffi::OsString;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use serde::{Deserialize, Serialize};

use super::{io_error, PoolError};

/// Bumped when the messages change; a spare refuses other versions.
pub const VERSION: u32 = 1;

/// Longest message accepted: an environment is a few kilobytes.
const MAX_MESSAGE: u32 = 16 << 20;

/// What a launcher asks of a spare: serve this kernel, here, in this environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub version: u32,
    /// The launcher's build (see [`super::build_key`]).
    pub build_key: String,
    connection_file: Vec<u8>,
    cwd: Vec<u8>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Request {
    pub fn new(build_key: &str, connection_file: &Path, cwd: &Path, env: Vec<(OsString, OsString)>) -> Request {
        Request {
            version: VERSION,
            build_key: build_key.to_owned(),
            connection_file: connection_file.as_os_str().as_bytes().to_vec(),
            cwd: cwd.as_os_str().as_bytes().to_vec(),
            env: env.into_iter().map(|(k, v)| (k.into_vec(), v.into_vec())).collect(),
        }
    }

    pub fn connection_file(&self) -> PathBuf {
        PathBuf::from(OsString::from_vec(self.connection_file.clone()))
    }

    pub fn cwd(&self) -> PathBuf {
        PathBuf::from(OsString::from_vec(self.cwd.clone()))
    }

    pub fn env(&self) -> Vec<(OsString, OsString)> {
        self.env.iter().map(|(k, v)| (OsString::from_vec(k.clone()), OsString::from_vec(v.clone()))).collect()
    }
}

/// The spare's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The engine (this process) serves the kernel from now on.
    Accepted { engine_pid: u32 },
    /// The launcher must start cold; the reason goes to its log.
    Refused { reason: String },
}

fn write_message<T: Serialize>(stream: &mut UnixStream, message: &T) -> Result<(), PoolError> {
    let body = serde_json::to_vec(message).map_err(|e| PoolError::Protocol(e.to_string()))?;
    let len = u32::try_from(body.len()).ok().filter(|n| *n <= MAX_MESSAGE).ok_or_else(|| PoolError::Protocol(format!("a message of {} bytes", body.len())))?;
    stream.write_all(&len.to_le_bytes()).and_then(|()| stream.write_all(&body)).map_err(io_error("writing to the spare's socket"))
}

fn read_message<T: for<'de> Deserialize<'de>>(stream: &mut UnixStream) -> Result<T, PoolError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).map_err(io_error("reading from the spare's socket"))?;
    let len = u32::from_le_bytes(len);
    if len > MAX_MESSAGE {
        return Err(PoolError::Protocol(format!("a message of {len} bytes")));
    }
    let mut body = vec![0u8; len as usize];
    stream.read_exact(&mut body).map_err(io_error("reading from the spare's socket"))?;
    serde_json::from_slice(&body).map_err(|e| PoolError::Protocol(e.to_string()))
}

/// Sends the request, with `streams` (standard input, output, error) attached.
pub fn send_request(stream: &mut UnixStream, request: &Request, streams: [BorrowedFd<'_>; 3]) -> Result<(), PoolError> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&streams)) {
        return Err(PoolError::Protocol("no room for three descriptors".into()));
    }
    rustix::net::sendmsg(stream.as_fd(), &[IoSlice::new(b"H")], &mut control, SendFlags::empty())
        .map_err(|e| PoolError::Io { context: "passing the standard streams to the spare".into(), source: e.into() })?;
    write_message(stream, request)
}

/// Receives a request and the descriptors that came with it (none when the sender sent
/// none: the engine then keeps its own streams).
pub fn recv_request(stream: &mut UnixStream) -> Result<(Request, Vec<OwnedFd>), PoolError> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let received = rustix::net::recvmsg(stream.as_fd(), &mut [IoSliceMut::new(&mut byte)], &mut control, RecvFlags::CMSG_CLOEXEC)
        .map_err(|e| PoolError::Io { context: "reading the launcher's standard streams".into(), source: e.into() })?;
    if received.bytes != 1 || byte[0] != b'H' {
        return Err(PoolError::Protocol("the first byte is not a handoff".into()));
    }
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(passed) = message {
            fds.extend(passed);
        }
    }
    let request = read_message(stream)?;
    Ok((request, fds))
}

pub fn send_reply(stream: &mut UnixStream, reply: &Reply) -> Result<(), PoolError> {
    write_message(stream, reply)
}

pub fn recv_reply(stream: &mut UnixStream) -> Result<Reply, PoolError> {
    read_message(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_travels_with_its_streams_and_bytes_that_are_not_utf8() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let env = vec![(OsString::from("K"), OsString::from_vec(vec![0xff, b'v']))];
        let request = Request::new("key", Path::new("/run/kernel-1.json"), Path::new("/work/nb"), env.clone());
        let file = tempfile::tempfile().unwrap();
        send_request(&mut a, &request, [file.as_fd(), file.as_fd(), file.as_fd()]).unwrap();
        let (got, fds) = recv_request(&mut b).unwrap();
        assert_eq!(got, request);
        assert_eq!(got.env(), env);
        assert_eq!(got.cwd(), PathBuf::from("/work/nb"));
        assert_eq!(fds.len(), 3);
        send_reply(&mut b, &Reply::Refused { reason: "no".into() }).unwrap();
        assert_eq!(recv_reply(&mut a).unwrap(), Reply::Refused { reason: "no".into() });
    }

    #[test]
    fn junk_is_an_error_not_a_hang_or_a_huge_allocation() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        assert!(matches!(recv_request(&mut b), Err(PoolError::Protocol(_))));
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&u32::MAX.to_le_bytes()).unwrap();
        assert!(matches!(recv_reply(&mut b), Err(PoolError::Protocol(_))));
        drop(a);
    }
}
