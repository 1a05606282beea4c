//! Commands from stdin, split on a reader thread and handed to the main thread in
//! chunks: lines split like redis-cli splits them (piped input), or raw protocol
//! (`--pipe`: RESP arrays, inline lines too). One [`Chunker`] bounds what waits in the
//! channel, in commands and in bytes, for both.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::protocol::resp::{self, Frame};
use crate::protocol::split::{InvalidArguments, split_args, split_args_into};

/// One input command, split by a reader thread.
#[derive(Debug)]
pub enum Input {
    Line(Result<Vec<Vec<u8>>, InvalidArguments>),
    ReadError(String),
}

/// Arguments of printed commands, handed back to the reader thread that allocated them,
/// which reuses them for the next lines: no allocation per argument in the steady
/// state, and no freeing on the main thread.
pub type Spent = Vec<Vec<Vec<u8>>>;

/// Commands per chunk, and bytes per chunk: the channel costs little per command, and
/// what waits in it stays within a few megabytes however long the lines are.
pub const CHUNK: usize = 256;
const CHUNK_BYTES: usize = 256 * 1024;
/// Argument vectors the line reader keeps for reuse.
const POOL: usize = 32768;
const READ_BLOCK: usize = 256 * 1024;

/// The reader has nobody to hand its chunks to any more.
struct Closed;

/// Collects inputs and sends them on in chunks.
struct Chunker {
    tx: SyncSender<Vec<Input>>,
    chunk: Vec<Input>,
    bytes: usize,
}

impl Chunker {
    fn new(tx: SyncSender<Vec<Input>>) -> Chunker {
        Chunker { tx, chunk: Vec::with_capacity(CHUNK), bytes: 0 }
    }

    fn push(&mut self, input: Input, bytes: usize) {
        self.chunk.push(input);
        self.bytes += bytes;
    }

    fn is_full(&self) -> bool {
        self.chunk.len() >= CHUNK || self.bytes >= CHUNK_BYTES
    }

    /// Sends what was collected, if anything.
    fn flush(&mut self) -> Result<(), Closed> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.tx.send(chunk).map_err(|_| Closed)
    }
}

/// Reads lines from `input` on a thread; returns the chunks and where to hand spent
/// argument buffers back. At most about `capacity` commands wait in the channel.
pub fn spawn_lines(input: impl Read + Send + 'static, capacity: usize) -> (Receiver<Vec<Input>>, SyncSender<Spent>) {
    let (tx, rx) = sync_channel(capacity.div_ceil(CHUNK).max(2));
    let (spent_tx, spent_rx) = sync_channel::<Spent>(8);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(READ_BLOCK, input);
        let mut chunker = Chunker::new(tx);
        let mut line = Vec::new();
        let mut pool: Vec<Vec<Vec<u8>>> = Vec::new();
        loop {
            // Hand over what we have before a read that may block on a slow writer.
            if (chunker.is_full() || reader.buffer().is_empty()) && chunker.flush().is_err() {
                return;
            }
            if pool.is_empty() {
                while let Ok(spent) = spent_rx.try_recv() {
                    pool.extend(spent);
                    pool.truncate(POOL);
                }
            }
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(n) => {
                    let mut argv = pool.pop().unwrap_or_default();
                    let split = split_args_into(&line, &mut argv).map(|()| argv);
                    chunker.push(Input::Line(split), n);
                }
                Err(e) => {
                    chunker.push(Input::ReadError(e.to_string()), 0);
                    break;
                }
            }
        }
        let _ = chunker.flush();
    });
    (rx, spent_tx)
}

/// Reads raw protocol from `input` on a thread (`--pipe`).
pub fn spawn_protocol(mut input: impl Read + Send + 'static) -> Receiver<Vec<Input>> {
    let (tx, rx) = sync_channel(64);
    std::thread::spawn(move || {
        let mut splitter = Splitter::default();
        let mut chunker = Chunker::new(tx);
        let mut block = vec![0u8; READ_BLOCK];
        loop {
            let (n, error) = match input.read(&mut block) {
                Ok(n) => (n, None),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => (0, Some(Input::ReadError(format!("stdin: {e}")))),
            };
            let at_end = n == 0;
            splitter.feed(block.get(..n).unwrap_or_default());
            while let Some((command, bytes)) = splitter.next(at_end) {
                let stop = matches!(command, Input::ReadError(_));
                chunker.push(command, bytes);
                if (stop || chunker.is_full()) && chunker.flush().is_err() {
                    return;
                }
                if stop {
                    return;
                }
            }
            if let Some(error) = error {
                chunker.push(error, 0);
            }
            if chunker.flush().is_err() || at_end {
                return;
            }
        }
    });
    rx
}

/// Splits a raw protocol stream into commands: RESP arrays of bulk strings, or inline
/// lines split like the server splits them.
#[derive(Default)]
pub struct Splitter {
    buf: Vec<u8>,
    start: usize,
}

impl Splitter {
    /// Adds bytes read from the stream (dropping what was already split).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole command and its size in bytes; `None` when more bytes are
    /// needed (or, `at_end`, when there is nothing left).
    pub fn next(&mut self, at_end: bool) -> Option<(Input, usize)> {
        let rest = self.buf.get(self.start..).unwrap_or_default();
        let first = *rest.first()?;
        if first == b'*' {
            return match resp::parse(rest) {
                Ok(Some((frame, used))) => {
                    self.start += used;
                    let argv: Option<Vec<Vec<u8>>> = match frame {
                        Frame::Array(items) => items.into_iter().map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect(),
                        _ => None,
                    };
                    Some(match argv {
                        Some(argv) => (Input::Line(Ok(argv)), used),
                        None => {
                            (Input::ReadError("--pipe input: a command must be an array of bulk strings".into()), 0)
                        }
                    })
                }
                Ok(None) if at_end => {
                    self.start = self.buf.len();
                    Some((Input::ReadError("--pipe input ends in the middle of a command".into()), 0))
                }
                Ok(None) => None,
                Err(e) => {
                    self.start = self.buf.len();
                    Some((Input::ReadError(format!("--pipe input is not valid protocol: {e}")), 0))
                }
            };
        }
        let end = match rest.iter().position(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if at_end => rest.len(),
            None => return None,
        };
        let line = rest.get(..end).unwrap_or_default();
        let input = Input::Line(split_args(line));
        self.start += end;
        Some((input, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = Splitter::default();
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            splitter.feed(chunk);
            let at_end = i + 1 == chunks.len();
            while let Some((input, _)) = splitter.next(at_end) {
                out.push(match input {
                    Input::Line(Ok(argv)) => {
                        argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
                    }
                    Input::Line(Err(_)) => "<invalid>".into(),
                    Input::ReadError(e) => format!("<error: {e}>"),
                });
            }
        }
        out
    }

    #[test]
    fn the_pipe_splitter_takes_resp_and_inline_commands_across_reads() {
        let resp = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nv2\r\n";
        assert_eq!(split_all(&[resp]), ["SET k v\r\nv2"], "bulk strings are binary-safe");
        let (a, b) = resp.split_at(9);
        assert_eq!(split_all(&[a, b]), ["SET k v\r\nv2"], "a command cut between reads");
        assert_eq!(split_all(&[b"PING\r\nGET \"a b\"\n", b"DEL x"]), ["PING", "GET a b", "DEL x"]);
        assert_eq!(split_all(&[b"GET \"open\n"]), ["<invalid>"]);
    }

    #[test]
    fn the_pipe_splitter_reports_bad_protocol_and_cut_input() {
        assert_eq!(
            split_all(&[b"*1\r\n:1\r\n"]),
            ["<error: --pipe input: a command must be an array of bulk strings>"]
        );
        assert_eq!(split_all(&[b"*2\r\n$3\r\nGET\r\n"]), ["<error: --pipe input ends in the middle of a command>"]);
        let garbage = split_all(&[b"*x\r\n"]);
        assert!(garbage[0].starts_with("<error: --pipe input is not valid protocol"), "{garbage:?}");
    }
}
