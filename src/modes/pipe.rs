//! `--pipe`: mass insertion from raw Redis protocol on stdin (inline commands work too),
//! as `redis-cli --pipe` takes it, but routed per slot in cluster mode and pipelined
//! per node by [`crate::modes::pipeline`]. Error replies go to stderr; the end is redis-cli's
//! summary, `errors: N, replies: M`, and exit 1 if there was any error or timeout.

use std::io::Read;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

use crate::modes::pipeline::{self, Input, PipeCounts};
use crate::protocol::resp::{self, Frame};
use crate::protocol::split::split_args;
use crate::session::{Flow, Session};

const CHUNK: usize = 256;

/// Splits a raw protocol stream into commands: RESP arrays of bulk strings, or inline
/// lines split like the server splits them.
struct Splitter {
    buf: Vec<u8>,
    start: usize,
}

impl Splitter {
    /// The next whole command in the buffer, `None` when more bytes are needed.
    fn next(&mut self, at_end: bool) -> Option<Input> {
        let rest = &self.buf[self.start..];
        if rest.is_empty() {
            return None;
        }
        if rest[0] == b'*' {
            return match resp::parse(rest) {
                Ok(Some((frame, used))) => {
                    self.start += used;
                    let argv: Option<Vec<Vec<u8>>> = match frame {
                        Frame::Array(items) => items.into_iter().map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect(),
                        _ => None,
                    };
                    Some(match argv {
                        Some(argv) => Input::Line(Ok(argv)),
                        None => Input::ReadError("--pipe input: a command must be an array of bulk strings".into()),
                    })
                }
                Ok(None) if at_end => {
                    self.start = self.buf.len();
                    Some(Input::ReadError("--pipe input ends in the middle of a command".into()))
                }
                Ok(None) => None,
                Err(e) => Some(Input::ReadError(format!("--pipe input is not valid protocol: {e}"))),
            };
        }
        let end = match rest.iter().position(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if at_end => rest.len(),
            None => return None,
        };
        let line = &rest[..end];
        let input = Input::Line(split_args(line));
        self.start += end;
        Some(input)
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

fn spawn_reader(mut input: impl Read + Send + 'static) -> Receiver<Vec<Input>> {
    let (tx, rx) = sync_channel::<Vec<Input>>(64);
    std::thread::spawn(move || {
        let mut splitter = Splitter { buf: Vec::new(), start: 0 };
        let mut block = vec![0u8; 256 * 1024];
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            let n = match input.read(&mut block) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    chunk.push(Input::ReadError(format!("stdin: {e}")));
                    0
                }
            };
            let at_end = n == 0;
            splitter.compact();
            splitter.buf.extend_from_slice(&block[..n]);
            while let Some(command) = splitter.next(at_end) {
                let stop = matches!(command, Input::ReadError(_));
                chunk.push(command);
                if chunk.len() >= CHUNK && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err() {
                    return;
                }
                if stop {
                    let _ = tx.send(chunk);
                    return;
                }
            }
            if (at_end || !chunk.is_empty())
                && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err()
            {
                return;
            }
            if at_end {
                return;
            }
        }
    });
    rx
}

/// Runs `--pipe`; returns the exit code.
pub fn run(session: &mut Session, input: impl Read + Send + 'static, timeout: Duration, window: usize) -> i32 {
    let mut events = Vec::new();
    if let Err(e) = session.client.connect(&mut events) {
        eprintln!("{e}");
        return 1;
    }
    session.client.set_read_timeout(if timeout.is_zero() { None } else { Some(timeout) });
    let rx = spawn_reader(input);
    let (flow, counts) = pipeline::run_commands(session, &rx, None, window, false, Some(PipeCounts::default()));
    let counts = counts.unwrap_or_default();
    let timed_out = session.unanswered > 0;
    if flow == Flow::StdoutClosed {
        return 0;
    }
    println!("All data transferred. Waiting for the last reply...");
    if timed_out {
        println!("No replies for {} seconds: exiting.", timeout.as_secs());
    } else {
        println!("Last reply received from server.");
    }
    println!("errors: {}, replies: {}", counts.errors, counts.replies);
    match flow {
        Flow::Exit(code) => code,
        _ if counts.errors > 0 || timed_out => 1,
        _ => 0,
    }
}
