//! One node's share of a cluster-wide stream: a thread with a pool of its own that
//! (for keyspace events) asks the node's `notify-keyspace-events`, sends the stream's
//! command, and hands what arrives to the printer through a bounded channel. Messages
//! are dropped and counted when the channel is full (at most [`CAPACITY`] messages and
//! [`BYTES`] bytes wait), so a slow stdout never makes rcli grow and the node's socket
//! is always read; what must not be lost (a confirmation, the end) waits for room. The
//! thread stops within a [`SPELL`] of its stop flag, which is also its pool's interrupt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use crate::client::pool::Pool;
use crate::cluster::watch::Watch;
use crate::endpoint::Endpoint;
use crate::protocol::encode;
use crate::protocol::resp::Frame;
use crate::session::subscriptions::{Confirmations, Confirming, Count, count_of};

/// Messages waiting for the printer, at most.
pub const CAPACITY: usize = 1024;
/// Bytes of messages waiting for the printer, at most.
pub const BYTES: usize = 8 * 1024 * 1024;
/// How long a reader waits for a frame before looking at its stop flag again.
const SPELL: Duration = Duration::from_millis(50);

/// What a reader tells the printer.
#[derive(Debug)]
pub enum Item {
    /// The node's `notify-keyspace-events` (keyspace streams; `None`: not readable).
    Setting(Endpoint, Option<Vec<u8>>),
    /// A reply confirming the stream (MONITOR's OK, a subscription's count).
    Confirmation(Endpoint, Frame),
    /// Every confirmation arrived: the node streams.
    Streaming(Endpoint),
    /// A message, and the bytes it holds in the channel's budget.
    Message(Endpoint, Frame, usize),
    /// An error reply: the node refused the stream.
    Refused(Endpoint, Frame),
    /// The connection failed or ended.
    Ended(Endpoint, String),
}

/// The channel from the readers to the printer, with its byte budget and the count of
/// messages dropped for want of room.
#[derive(Clone)]
pub struct Channel {
    sender: SyncSender<Item>,
    pub bytes: Arc<AtomicUsize>,
    pub dropped: Arc<AtomicU64>,
}

impl Channel {
    pub fn new() -> (Channel, Receiver<Item>) {
        let (sender, receiver) = sync_channel(CAPACITY);
        (Channel { sender, bytes: Arc::default(), dropped: Arc::default() }, receiver)
    }

    /// Sends an item that must arrive, waiting for room while `stop` is unset; false
    /// when the printer is gone or the reader is stopped.
    fn must_send(&self, mut item: Item, stop: &AtomicBool) -> bool {
        loop {
            match self.sender.try_send(item) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if stop.load(Ordering::SeqCst) {
                        return false;
                    }
                    item = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Sends a message if there is room for it, else counts it as dropped; false when
    /// the printer is gone.
    fn offer(&self, node: &Endpoint, frame: Frame) -> bool {
        let size = size_of(&frame);
        let waiting = self.bytes.fetch_add(size, Ordering::SeqCst);
        if waiting.saturating_add(size) > BYTES {
            self.bytes.fetch_sub(size, Ordering::SeqCst);
            self.dropped.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        match self.sender.try_send(Item::Message(node.clone(), frame, size)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.bytes.fetch_sub(size, Ordering::SeqCst);
                self.dropped.fetch_add(1, Ordering::SeqCst);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// The bytes a frame's strings hold, roughly what it costs while it waits.
fn size_of(frame: &Frame) -> usize {
    match frame.as_items() {
        Some(items) => items.iter().map(size_of).fold(16, usize::saturating_add),
        None => frame.as_bytes().map_or(16, |b| b.len().saturating_add(16)),
    }
}

/// A running reader; dropping it does not stop it, [`Reader::stop`] does.
pub struct Reader {
    stop: Arc<AtomicBool>,
}

impl Reader {
    /// Starts streaming `argv` from `node` with `pool` (its own, with the session's
    /// credentials and settings).
    pub fn start(node: Endpoint, argv: Vec<Vec<u8>>, watch: Watch, mut pool: Pool, channel: Channel) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        pool.set_interrupt(stop.clone());
        let flag = stop.clone();
        std::thread::spawn(move || {
            let why = read(&node, &argv, watch, &mut pool, &channel, &flag);
            if let Some(why) = why {
                let _ = channel.must_send(why, &flag);
            }
        });
        Reader { stop }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The reader's life; returns the item that ends it (`None`: stopped).
fn read(
    node: &Endpoint,
    argv: &[Vec<u8>],
    watch: Watch,
    pool: &mut Pool,
    channel: &Channel,
    stop: &AtomicBool,
) -> Option<Item> {
    let ended = |error: crate::error::Error| Some(Item::Ended(node.clone(), error.to_string()));
    if let Watch::Keyspace { .. } = watch {
        let value = pool.internal(node, &["CONFIG", "GET", "notify-keyspace-events"]).ok().and_then(|reply| {
            let pairs = reply.to_pairs()?;
            pairs.first().and_then(|(_, value)| value.as_bytes()).map(<[u8]>::to_vec)
        });
        if !channel.must_send(Item::Setting(node.clone(), value), stop) {
            return None;
        }
    }
    let mut exchange = match pool.borrow(node) {
        Ok(exchange) => exchange,
        Err(error) => return ended(error),
    };
    let mut out = Vec::new();
    encode::encode_command(argv, &mut out);
    if let Err(error) = exchange.send(&out, 0) {
        return ended(error);
    }
    // The connection streams from now on: it never goes back to the pool.
    exchange.abandon();
    let mut confirming = (!watch.is_monitor()).then(|| Confirmations::expecting(argv));
    let mut confirmed = false;
    while !stop.load(Ordering::SeqCst) {
        let frame = match exchange.poll(SPELL) {
            Ok(None) => continue,
            Ok(Some(frame)) => frame,
            Err(error) => return ended(error),
        };
        if frame.as_error().is_some() {
            return Some(Item::Refused(node.clone(), frame));
        }
        if confirmed {
            if !channel.offer(node, frame) {
                return None;
            }
            continue;
        }
        let done = match &mut confirming {
            None => true,
            Some(confirming) => confirming.see(&frame) != Confirming::Waiting,
        };
        let is_confirmation = confirming.is_none() || matches!(count_of(&frame), Count::Left(_));
        let sent = if is_confirmation {
            channel.must_send(Item::Confirmation(node.clone(), frame), stop)
        } else {
            channel.offer(node, frame)
        };
        if !sent {
            return None;
        }
        if done {
            confirmed = true;
            if !channel.must_send(Item::Streaming(node.clone()), stop) {
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: Vec<u8>) -> Frame {
        Frame::Array(vec![Frame::Bulk(b"message".to_vec()), Frame::Bulk(b"ch".to_vec()), Frame::Bulk(payload)])
    }

    #[test]
    fn a_full_channel_drops_and_counts_and_never_blocks() {
        let (channel, receiver) = Channel::new();
        let node = Endpoint::tcp("127.0.0.1", 7000);
        for _ in 0..CAPACITY + 5 {
            assert!(channel.offer(&node, message(b"x".to_vec())));
        }
        assert_eq!(channel.dropped.load(Ordering::SeqCst), 5);
        assert_eq!(receiver.try_iter().count(), CAPACITY);
        // What is taken leaves the byte budget in the printer's hands; here, by hand.
        channel.bytes.store(0, Ordering::SeqCst);
        // One message bigger than the byte budget: dropped, the budget untouched.
        assert!(channel.offer(&node, message(vec![b'x'; BYTES])));
        assert_eq!(channel.dropped.load(Ordering::SeqCst), 6);
        assert_eq!(channel.bytes.load(Ordering::SeqCst), 0);
        assert!(channel.offer(&node, message(b"fits".to_vec())));
        assert!(
            matches!(receiver.try_recv(), Ok(Item::Message(_, _, size)) if size == channel.bytes.load(Ordering::SeqCst))
        );
        // A stopped reader gives up waiting for room for what must arrive.
        for _ in 0..CAPACITY {
            assert!(channel.offer(&node, message(Vec::new())));
        }
        let stop = AtomicBool::new(true);
        assert!(!channel.must_send(Item::Streaming(node.clone()), &stop));
        drop(receiver);
        assert!(!channel.offer(&node, message(Vec::new())), "the printer is gone");
    }
}
