//! Replies that are printed as they arrive: messages after SUBSCRIBE/PSUBSCRIBE/
//! SSUBSCRIBE/MONITOR (until Ctrl-C, the connection's end or an error reply; in the
//! shell a subscription is confirmed here, then served in subscribed mode), and a SCAN
//! with a multi-node target (`:use all`, `--target primaries`), which walks each node
//! page by page and prints each page at once, so Ctrl-C stops it between pages and
//! memory stays flat.

use std::time::Instant;

use super::hooks::Hooks;
use super::subscriptions::{Confirmations, Confirming};
use super::{Flow, Session, ShownAtOnce};
use crate::client::pool::Exchange;
use crate::cluster::command::Command;
use crate::cluster::reply::Reply;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::protocol::render::OutputMode;
use crate::protocol::resp::Frame;
use crate::protocol::split::repr;

/// A RESP3 push is printed as the array it is in RESP2.
fn unpushed(frame: Frame) -> Frame {
    match frame {
        Frame::Push(items) => Frame::Array(items),
        other => other,
    }
}

fn is_subscribe(argv: &[Vec<u8>]) -> bool {
    argv.first().is_some_and(|name| {
        ["subscribe", "psubscribe", "ssubscribe"].iter().any(|w| name.eq_ignore_ascii_case(w.as_bytes()))
    })
}

impl Session {
    /// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and MONITOR: print messages until Ctrl-C (in the
    /// shell, which then returns to the prompt) or until the connection ends. An error
    /// reply (wrong arguments, no permission) ends the command, as in redis-cli; in the
    /// shell, a subscription goes to subscribed mode once its channels are confirmed.
    pub(super) fn stream(&mut self, command: &Command, hooks: &mut dyn Hooks) -> Flow {
        if let Some(flow) = self.watch_cluster(command) {
            return flow;
        }
        let argv = command.argv.as_slice();
        let mut shown = ShownAtOnce::new(&mut self.printer, self.hops);
        let opened = self.client.open_stream(command, &mut shown);
        if shown.closed {
            return Flow::StdoutClosed;
        }
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(error) => return self.report_error(&error).map_or(Flow::StdoutClosed, |_| Flow::Continue),
        };
        if self.interactive
            && self.printer.is_tty_format()
            && self.printer.line("Reading messages... (press Ctrl-C to quit)").is_err()
        {
            return Flow::StdoutClosed;
        }
        if self.interactive && is_subscribe(argv) {
            return self.confirm_subscription(argv, stream, hooks);
        }
        loop {
            if self.printer.flush().is_err() {
                return Flow::StdoutClosed;
            }
            // Dropping `stream` closes the connection, which ends the subscription.
            match stream.read_frame(None) {
                Ok(frame) if frame.as_error().is_some() => return self.stream_refused(argv, frame),
                Ok(frame) => {
                    if self.printer.frame(argv, &unpushed(frame)).is_err() {
                        return Flow::StdoutClosed;
                    }
                }
                Err(Error::Interrupted) => return Flow::Continue,
                Err(error) => return self.report_error(&error).map_or(Flow::StdoutClosed, |_| Flow::Continue),
            }
        }
    }

    /// In the shell: prints the replies until every channel is confirmed, then hands
    /// the connection to subscribed mode (the REPL serves it); after an error reply
    /// with nothing subscribed, the shell is back at its normal prompt (the connection
    /// is dropped). The wait is the reply timeout of a non-blocking command.
    fn confirm_subscription(&mut self, argv: &[Vec<u8>], mut stream: Exchange, hooks: &mut dyn Hooks) -> Flow {
        let mut confirming = Confirmations::expecting(argv);
        let idle = self.client.reply_timeout(false);
        loop {
            if self.printer.flush().is_err() {
                return Flow::StdoutClosed;
            }
            let frame = match stream.read_frame(idle) {
                Ok(frame) => unpushed(frame),
                Err(Error::Interrupted) => return Flow::Continue,
                Err(error) => return self.report_error(&error).map_or(Flow::StdoutClosed, |_| Flow::Continue),
            };
            if self.printer.frame(argv, &frame).is_err() {
                return Flow::StdoutClosed;
            }
            match confirming.see(&frame) {
                Confirming::Waiting => {}
                Confirming::Done { subscribed: true } => {
                    hooks.subscribed(stream);
                    return self.printer.flush().map_or(Flow::StdoutClosed, |()| Flow::Continue);
                }
                Confirming::Done { subscribed: false } => {
                    return self.printer.flush().map_or(Flow::StdoutClosed, |()| Flow::Continue);
                }
            }
        }
    }

    /// An error reply on a stream: the command is over (redis-cli 7.0 leaves its
    /// reading loop at the first error); `-e` makes it the end of the run.
    pub(super) fn stream_refused(&mut self, argv: &[Vec<u8>], frame: Frame) -> Flow {
        if let Some(flow) = self.exit_on_error_reply(&Reply::One(frame.clone())) {
            return flow;
        }
        match self.printer.frame(argv, &frame).and_then(|()| self.printer.flush()) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::StdoutClosed,
        }
    }

    /// The nodes a SCAN walks when its target is several nodes.
    pub(super) fn scan_fanout_targets(&mut self, command: &Command) -> Option<Vec<Endpoint>> {
        let is_scan = command.argv.len() >= 2 && command.is("scan");
        if !is_scan || !self.client.is_cluster() {
            return None;
        }
        self.client.scan_targets(command)
    }

    /// Walks every node's keyspace, printing each page as it comes: on a terminal a
    /// numbered list per node under a `HOST:PORT (role):` header, else one key a line.
    pub(super) fn scan_fanout(&mut self, argv: &[Vec<u8>], nodes: &[Endpoint], hooks: &mut dyn Hooks) -> Flow {
        let started = Instant::now();
        let tty = self.printer.format.mode == OutputMode::Tty;
        for node in nodes {
            if tty {
                let header = format!("{node} ({}):", self.client.role_of(node).name());
                if self.printer.line(&header).is_err() {
                    return Flow::StdoutClosed;
                }
            }
            let mut listed = 0usize;
            let mut closed = false;
            let mut seen = Vec::new();
            let printer = &mut self.printer;
            let walked = self.client.scan_node(node, argv, |keys, _| {
                let mut text = Vec::new();
                let width = (listed + keys.len()).to_string().len();
                for key in keys {
                    let bytes = key.as_bytes().unwrap_or_default();
                    listed += 1;
                    if tty {
                        text.extend_from_slice(format!("{listed:>width$}) ").as_bytes());
                        repr(bytes, &mut text);
                    } else {
                        text.extend_from_slice(bytes);
                    }
                    text.push(b'\n');
                }
                seen.extend(keys.iter().take(1000usize.saturating_sub(seen.len())).cloned());
                closed = printer.write(&text).and_then(|()| printer.flush()).is_err();
                !closed
            });
            if closed {
                return Flow::StdoutClosed;
            }
            hooks.keys_seen(&super::listed_names(&seen));
            let printed = match walked {
                Ok(None) if tty && listed == 0 => self.printer.line("(empty array)"),
                Ok(None) => Ok(()),
                Ok(Some(error)) => {
                    self.error_replies += 1;
                    self.printer.frame(argv, &error)
                }
                Err(Error::Interrupted) => {
                    return self.printer.line("(interrupted)").map_or(Flow::StdoutClosed, |_| Flow::Continue);
                }
                Err(error) => self.report_error(&error),
            };
            if printed.is_err() {
                return Flow::StdoutClosed;
            }
        }
        self.finish_command(started)
    }
}
