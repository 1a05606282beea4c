//! What a completed batch prints: each command's hop lines and reply (or rcli's error
//! in its place) in input order; with `--pipe`, only counts and error replies.

use super::batch::{Batch, Status};
use super::{PipeCounts, Pipeline};
use crate::client::routed::Outcome;
use crate::cluster::reply::Reply;
use crate::error::Error;
use crate::output::HopLines;
use crate::session::{Flow, Session};

impl Pipeline {
    /// Prints (or with `--pipe` counts) the replies of a completed batch, then keeps
    /// the batch for its buffers.
    pub(super) fn print(&mut self, session: &mut Session, mut batch: Batch) -> Flow {
        let flow = match &mut self.pipe {
            Some(counts) => {
                count(counts, session, &mut batch);
                Flow::Continue
            }
            None => self.print_replies(session, &mut batch),
        };
        batch.recycle();
        self.spare = batch;
        flow
    }

    fn print_replies(&mut self, session: &mut Session, batch: &mut Batch) -> Flow {
        let show_events = session.hops && session.printer.hop_lines != HopLines::Hidden;
        let mut spent = Vec::with_capacity(batch.entries.len());
        for mut entry in batch.entries.drain(..) {
            if show_events {
                for event in &entry.events {
                    if session.printer.event(event).is_err() {
                        return Flow::StdoutClosed;
                    }
                }
            }
            let printed = match entry.status {
                Status::Invalid => session.printer.line("Invalid argument(s)"),
                Status::Answered(Outcome::Reply(frame)) => {
                    self.totals.errors += u64::from(frame.as_error().is_some());
                    let reply = Reply::One(frame);
                    if let Some(flow) = session.exit_on_error_reply(&reply) {
                        return flow;
                    }
                    session.printer.reply(&entry.argv, &reply)
                }
                Status::Failed(error) => {
                    self.totals.errors += 1;
                    if let Some(flow) = session.exit_on_failure(&error) {
                        return flow;
                    }
                    session.report_error(&error)
                }
                // receive() and resolve() give every queued command a reply or a failure.
                Status::Queued | Status::Answered(_) => session
                    .report_error(&Error::Refused("internal error: a command was left without an outcome".into())),
            };
            if printed.is_err() {
                return Flow::StdoutClosed;
            }
            spent.push(std::mem::take(&mut entry.argv));
        }
        if let Some(tx) = &self.spent {
            // A full or closed channel only means this batch is freed here.
            let _ = tx.try_send(spent);
        }
        match session.printer.flush() {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::StdoutClosed,
        }
    }
}

/// `--pipe`: count replies, show only errors (on stderr, as redis-cli does).
fn count(counts: &mut PipeCounts, session: &mut Session, batch: &mut Batch) {
    for entry in batch.entries.drain(..) {
        match entry.status {
            Status::Answered(Outcome::Reply(frame)) => {
                counts.replies += 1;
                if let Some(error) = frame.as_error() {
                    counts.errors += 1;
                    session.printer.note(&String::from_utf8_lossy(error));
                }
            }
            Status::Invalid => {
                counts.errors += 1;
                session.printer.note("Invalid argument(s)");
            }
            Status::Failed(error) => {
                counts.errors += 1;
                session.unanswered += 1;
                session.printer.note(&error.to_string());
            }
            Status::Queued | Status::Answered(_) => counts.errors += 1,
        }
    }
}
