//! The shell's subscribed mode: after SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE the prompt
//! reads `HOST:PORT(subscribed mode)> ` and stays usable: messages are printed above it
//! as they arrive, typed commands (more subscriptions, UNSUBSCRIBE, PING, RESET) go to
//! the subscribed connection, and once no subscription is left (or after RESET) the
//! shell is back to normal. The session enters the mode only once the server confirmed
//! a channel (`session::subscriptions`, pure): a SUBSCRIBE refused outright leaves the normal
//! prompt. A thread owns the connection and polls it and the typed commands in short
//! spells; Ctrl-C at the prompt ends the mode (the connection is closed, which ends
//! every subscription).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::client::pool::Exchange;
use crate::protocol::encode;
use crate::protocol::render::Format;
use crate::protocol::resp::Frame;
use crate::session::subscriptions::{Count, count_of};
use crate::shell::above_prompt::Shared;

/// How long the thread waits for a message before looking at typed commands again.
const SPELL: Duration = Duration::from_millis(50);

/// A subscribed connection, served by its own thread.
pub struct Subscription {
    commands: Sender<Vec<Vec<u8>>>,
    active: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    output: Shared,
}

impl Subscription {
    /// Serves `exchange` (SUBSCRIBE already sent on it) on a thread printing to `output`
    /// in `format`.
    pub fn start(mut exchange: Exchange, format: Format, output: Shared) -> Subscription {
        let (commands, typed) = mpsc::channel::<Vec<Vec<u8>>>();
        let active = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let (still, stopping, printer) = (active.clone(), stop.clone(), output.clone());
        let thread = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                while let Ok(argv) = typed.try_recv() {
                    out.clear();
                    encode::encode_command(&argv, &mut out);
                    if let Err(e) = exchange.send(&out, 0) {
                        printer.print(&e.to_string());
                        still.store(false, Ordering::SeqCst);
                        return;
                    }
                }
                match exchange.poll(SPELL) {
                    Ok(None) => {}
                    Ok(Some(frame)) => {
                        let frame = match frame {
                            Frame::Push(items) => Frame::Array(items),
                            other => other,
                        };
                        let mut text = Vec::new();
                        format.reply(&frame, false, &mut text);
                        printer.print_formatted(String::from_utf8_lossy(&text).into_owned());
                        if matches!(count_of(&frame), Count::Left(0) | Count::Reset) {
                            break;
                        }
                    }
                    Err(e) => {
                        printer.print(&e.to_string());
                        break;
                    }
                }
            }
            still.store(false, Ordering::SeqCst);
        });
        Subscription { commands, active, stop, thread: Some(thread), output }
    }

    /// True while subscriptions are left.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// Sends a typed command on the subscribed connection.
    pub fn send(&self, argv: Vec<Vec<u8>>) {
        let _ = self.commands.send(argv);
    }
}

impl Drop for Subscription {
    /// Ends the mode: the thread stops within a spell and the connection closes; what
    /// it printed comes before the next prompt (waited for a moment at most).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.output.flush(Duration::from_millis(500));
    }
}
