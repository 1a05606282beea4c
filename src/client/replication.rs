//! Replication from a replica's side of the wire: REPLCONF, SYNC, and the RDB payload
//! that follows — a `$<len>` bulk, or (diskless) a stream ended by a 40-byte marker —
//! copied to a writer as it arrives, so memory stays flat for any dataset, or saved to
//! a file through a temporary one beside it that no failure leaves behind. Shared by
//! `--rdb`, `--functions-rdb`, `--replica` and the cluster manager's `backup`
//! (docs/redis-cli-modes.md §3).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::pool::Exchange;
use crate::error::{Error, Result};
use crate::protocol::encode;
use crate::protocol::resp::Frame;

/// Length of the marker that ends a diskless payload.
pub const MARK_LEN: usize = 40;
/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// How the master sends the RDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `$<len>`: exactly this many bytes.
    Length(u64),
    /// `$EOF:<mark>`: bytes until the 40-byte mark.
    EofMarked(Vec<u8>),
}

/// Reads SYNC's first line: `$<len>`, `$EOF:<mark>`, or an error. Pure.
pub fn payload_of(line: &[u8]) -> std::result::Result<Payload, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.first() == Some(&b'-') {
        return Err(String::from_utf8_lossy(line).into_owned());
    }
    let Some(rest) = line.strip_prefix(b"$") else {
        return Err(format!("unexpected SYNC reply {:?}", String::from_utf8_lossy(line)));
    };
    if let Some(mark) = rest.strip_prefix(b"EOF:") {
        return match mark.get(..MARK_LEN) {
            Some(mark) => Ok(Payload::EofMarked(mark.to_vec())),
            None => Err("an EOF marker shorter than 40 bytes".into()),
        };
    }
    std::str::from_utf8(rest)
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .map(Payload::Length)
        .ok_or_else(|| format!("unexpected SYNC reply {:?}", String::from_utf8_lossy(line)))
}

/// A file being written beside its final name; removed when dropped unless it was
/// renamed into place, so every failure (the link, the disk, a check) cleans it up.
struct Temporary {
    path: PathBuf,
    renamed: bool,
}

impl Temporary {
    /// `NAME.tmp<pid>` beside `target` (two runs never share one).
    fn beside(target: &Path) -> Temporary {
        let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!(".tmp{}", std::process::id()));
        Temporary { path: target.with_file_name(name), renamed: false }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Exchange {
    /// `REPLCONF a b` and its reply (an error reply is a value: redis-cli goes on).
    pub fn replconf(&mut self, a: &str, b: &str, idle: Option<Duration>) -> Result<Frame> {
        let mut out = Vec::new();
        encode::encode_command(&["REPLCONF", a, b], &mut out);
        self.send(&out, 1)?;
        self.read(idle)
    }

    /// Sends SYNC and reads how the payload comes. A `-ERR` answer is an error with
    /// the server's text.
    pub fn sync(&mut self, idle: Option<Duration>) -> Result<Payload> {
        self.send(b"SYNC\r\n", 0)?;
        let line = self.read_raw_line(idle)?;
        payload_of(&line).map_err(|detail| Error::Refused(format!("SYNC with master failed: {detail}")))
    }

    /// Copies the payload to `out` as it arrives; the EOF mark is not written. Returns
    /// the bytes written and, for an EOF-marked payload, the bytes received (mark
    /// included, the count redis-cli reports).
    pub fn copy_payload(
        &mut self,
        payload: &Payload,
        out: &mut dyn Write,
        idle: Option<Duration>,
    ) -> Result<(u64, u64)> {
        let file_error = |e: std::io::Error| Error::File { path: "RDB output".into(), source: e };
        match payload {
            Payload::Length(len) => {
                let mut left = *len;
                while left > 0 {
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
                    let bytes = self.read_raw(want, idle)?;
                    out.write_all(&bytes).map_err(file_error)?;
                    left = left.saturating_sub(bytes.len() as u64);
                }
                Ok((*len, *len))
            }
            Payload::EofMarked(mark) => {
                // The last 40 bytes seen are held back: at the end they are the mark.
                let mut held: Vec<u8> = Vec::with_capacity(MARK_LEN + CHUNK);
                let (mut written, mut received) = (0u64, 0u64);
                loop {
                    let bytes = self.read_raw(CHUNK, idle)?;
                    received += bytes.len() as u64;
                    held.extend_from_slice(&bytes);
                    if let Some(at) = held.windows(MARK_LEN).position(|w| w == mark.as_slice()) {
                        let (body, rest) = held.split_at(at);
                        out.write_all(body).map_err(file_error)?;
                        written += body.len() as u64;
                        // What followed the mark in the same read is the replication
                        // stream: it stays to be read as frames.
                        let after = rest.get(MARK_LEN..).unwrap_or_default();
                        received = received.saturating_sub(after.len() as u64);
                        self.unread(after);
                        return Ok((written, received));
                    }
                    let keep = held.len().saturating_sub(MARK_LEN);
                    out.write_all(held.get(..keep).unwrap_or_default()).map_err(file_error)?;
                    written += keep as u64;
                    held.drain(..keep);
                }
            }
        }
    }

    /// Saves the payload to `target`: written as it arrives to a temporary file beside
    /// it, synced, checked to start with `magic` when one is given, then renamed over
    /// `target`, so an older, longer file never keeps a stale tail. On any failure the
    /// temporary file is removed and `target` is left as it was. Returns what
    /// [`Exchange::copy_payload`] returns.
    pub fn save_payload(
        &mut self,
        payload: &Payload,
        target: &Path,
        idle: Option<Duration>,
        magic: Option<&[u8]>,
    ) -> Result<(u64, u64)> {
        let shown = target.display().to_string();
        let file_error = |source| Error::File { path: shown.clone(), source };
        let mut temporary = Temporary::beside(target);
        let file = File::create(&temporary.path).map_err(file_error)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let counts = self.copy_payload(payload, &mut out, idle).map_err(|e| match e {
            Error::File { source, .. } => file_error(source),
            other => other,
        })?;
        let file = out.into_inner().map_err(|e| file_error(e.into_error()))?;
        file.sync_all().map_err(file_error)?;
        drop(file);
        if let Some(magic) = magic {
            let mut head = vec![0u8; magic.len()];
            let read = File::open(&temporary.path).and_then(|mut f| f.read_exact(&mut head));
            if read.is_err() || head != magic {
                let detail = "the payload is not an RDB file".to_string();
                return Err(Error::Protocol { addr: self.endpoint().to_string(), detail });
            }
        }
        std::fs::rename(&temporary.path, target).map_err(file_error)?;
        temporary.renamed = true;
        Ok(counts)
    }

    /// `REPLCONF ACK 0` without waiting for a reply (a master never answers it).
    pub fn ack(&mut self) -> Result<()> {
        let mut out = Vec::new();
        encode::encode_command(&["REPLCONF", "ACK", "0"], &mut out);
        self.send(&out, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_first_line_says_how_the_payload_comes() {
        assert_eq!(payload_of(b"$261\r"), Ok(Payload::Length(261)));
        let mark = "a".repeat(40);
        assert_eq!(payload_of(format!("$EOF:{mark}\r").as_bytes()), Ok(Payload::EofMarked(mark.into_bytes())));
        assert_eq!(
            payload_of(b"-NOPERM this user has no permissions\r"),
            Err("-NOPERM this user has no permissions".into())
        );
        assert!(payload_of(b"$EOF:short").is_err());
        assert!(payload_of(b"+FULLRESYNC x 0").is_err());
        assert!(payload_of(b"$-5").is_err());
    }
}
