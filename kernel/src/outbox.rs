//! Outgoing message queues that know when everything queued has been written.
//!
//! Each socket has one task that writes what its queue holds. A kernel that is asked to shut
//! down must not exit while its `shutdown_reply` and final `idle` are still queued; sleeping
//! "long enough" before exiting loses them on a loaded machine. An [`Outbox`] counts the
//! messages queued but not yet written, so shutdown can wait for exactly that.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::protocol::WireMessage;

/// The sending side of one socket's queue (cheap to clone).
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::UnboundedSender<WireMessage>,
    unsent: Arc<AtomicUsize>,
}

/// The writing task's side: take a message, write it, then mark it [`Drain::written`].
pub struct Drain {
    queue: mpsc::UnboundedReceiver<WireMessage>,
    unsent: Arc<AtomicUsize>,
}

/// A new queue.
pub fn outbox() -> (Outbox, Drain) {
    let (tx, rx) = mpsc::unbounded_channel();
    let unsent = Arc::new(AtomicUsize::new(0));
    (Outbox { queue: tx, unsent: unsent.clone() }, Drain { queue: rx, unsent })
}

impl Outbox {
    /// Queues `message`; false if the writing task has ended.
    pub fn send(&self, message: WireMessage) -> bool {
        self.unsent.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(message).is_err() {
            self.unsent.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// True once every message queued so far has been written (or failed to be).
    pub fn is_drained(&self) -> bool {
        self.unsent.load(Ordering::SeqCst) == 0
    }
}

impl Drain {
    /// The next message to write; `None` when every [`Outbox`] is gone.
    pub async fn next(&mut self) -> Option<WireMessage> {
        self.queue.recv().await
    }

    /// Marks one message taken with [`Drain::next`] as written (or given up on).
    pub fn written(&self) {
        self.unsent.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits until every outbox is drained, or `limit` has passed (a peer that never reads must
/// not keep the process alive). True if all were drained.
pub async fn drained(outboxes: &[&Outbox], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if outboxes.iter().all(|o| o.is_drained()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MessageFactory;

    #[tokio::test]
    async fn counts_what_is_queued_until_written() {
        let (out, mut drain) = outbox();
        let factory = MessageFactory::new();
        assert!(out.is_drained());
        assert!(out.send(factory.iopub(None, "status", serde_json::json!({"execution_state": "idle"}))));
        assert!(out.send(factory.iopub(None, "status", serde_json::json!({"execution_state": "busy"}))));
        assert!(!out.is_drained());
        assert!(!drained(&[&out], Duration::from_millis(20)).await, "nothing was written yet");
        drain.next().await.expect("first");
        drain.written();
        assert!(!out.is_drained(), "one message is still queued");
        drain.next().await.expect("second");
        drain.written();
        assert!(drained(&[&out], Duration::from_secs(1)).await);
        drop(drain);
        assert!(!out.send(factory.iopub(None, "status", serde_json::json!({}))), "no writer any more");
        assert!(out.is_drained());
    }
}
