//! `--pipe`: mass insertion from raw Redis protocol on stdin (inline commands work too),
//! as `redis-cli --pipe` takes it, but routed per slot in cluster mode and pipelined
//! per node by [`crate::modes::pipeline`]. Error replies go to stderr; the end is
//! redis-cli's summary, `errors: N, replies: M`, and exit 1 if there was any error or
//! timeout.

use std::io::Read;
use std::time::Duration;

use crate::exit::Exit;
use crate::modes::input;
use crate::modes::pipeline::{self, PipeCounts};
use crate::session::hooks::NoHooks;
use crate::session::{Flow, Session};

/// Runs `--pipe`; returns the exit code.
pub fn run(session: &mut Session, input: impl Read + Send + 'static, timeout: Duration, window: usize) -> Exit {
    if !session.connect_and_report() {
        return Exit::Failure;
    }
    session.client.set_read_timeout(if timeout.is_zero() { None } else { Some(timeout) });
    let rx = input::spawn_protocol(input);
    let (flow, counts) =
        pipeline::run_commands(session, &mut NoHooks, &rx, None, window, false, Some(PipeCounts::default()));
    let counts = counts.unwrap_or_default();
    let timed_out = session.unanswered > 0;
    if flow == Flow::StdoutClosed {
        return Exit::Success;
    }
    let mut summary = String::from("All data transferred. Waiting for the last reply...\n");
    if timed_out {
        summary.push_str(&format!("No replies for {} seconds: exiting.\n", timeout.as_secs()));
    } else {
        summary.push_str("Last reply received from server.\n");
    }
    summary.push_str(&format!("errors: {}, replies: {}\n", counts.errors, counts.replies));
    // A summary nobody reads (`| head -c0`) changes nothing; a full disk is caught by
    // the caller's check of the printer.
    let _ = session.printer.write(summary.as_bytes()).and_then(|()| session.printer.flush());
    match flow {
        Flow::Exit(code) => code,
        _ if counts.errors > 0 || timed_out => Exit::Failure,
        _ => Exit::Success,
    }
}
