//! Finding where one RESP frame ends in a buffer that is still filling, without
//! building it: a [`FrameScanner`] walks the frame's structure (type bytes, lengths,
//! element counts) and keeps its place between reads, so a reply that arrives in many
//! reads is walked once in all, not once per read. The frame is parsed only when it is
//! whole. Contents (digits of an integer, a double's text) are checked by the parser;
//! the scanner only needs the structure.

use crate::protocol::resp::MAX_DEPTH;

/// What scanning found so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned {
    /// The frame ends at this offset of the buffer.
    Complete(usize),
    /// More bytes are needed; at least this many in all, when known (a bulk string's
    /// declared length), so the caller can make room once.
    Incomplete { at_least: usize },
    /// The bytes can never be a frame: the parser will say why.
    Invalid,
}

/// Where a scan stopped: the offset of the next unread element, and how many elements
/// each open aggregate still needs.
#[derive(Debug, Default, Clone)]
pub struct FrameScanner {
    pos: usize,
    /// Remaining elements per open level, innermost last. Empty before the first
    /// header: the frame itself is one element of an implicit top level.
    open: Vec<u64>,
    started: bool,
}

impl FrameScanner {
    /// Forgets a finished (or abandoned) frame so the next one starts at offset 0.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.open.clear();
        self.started = false;
    }

    /// Continues scanning `buf`, which holds the frame from offset 0 (the bytes seen
    /// by earlier calls must be unchanged).
    pub fn scan(&mut self, buf: &[u8]) -> Scanned {
        if !self.started {
            self.open.clear();
            self.open.push(1);
            self.started = true;
        }
        loop {
            let Some(&kind) = buf.get(self.pos) else {
                return Scanned::Incomplete { at_least: self.pos.saturating_add(1) };
            };
            let Some(line_end) = find_crlf(buf, self.pos.saturating_add(1)) else {
                return Scanned::Incomplete { at_least: buf.len().saturating_add(1) };
            };
            let header = buf.get(self.pos + 1..line_end).unwrap_or_default();
            let after = line_end + 2;
            let consumed_one = match kind {
                b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {
                    self.pos = after;
                    true
                }
                b'$' | b'!' | b'=' => match length(header) {
                    Some(Length::Null) => {
                        self.pos = after;
                        true
                    }
                    Some(Length::Of(n)) => {
                        let end = after.saturating_add(n).saturating_add(2);
                        if buf.len() < end {
                            return Scanned::Incomplete { at_least: end };
                        }
                        self.pos = end;
                        true
                    }
                    None => return Scanned::Invalid,
                },
                b'*' | b'~' | b'>' | b'%' => match length(header) {
                    Some(Length::Null) => {
                        self.pos = after;
                        true
                    }
                    Some(Length::Of(n)) => {
                        self.pos = after;
                        let elements = if kind == b'%' { (n as u64).saturating_mul(2) } else { n as u64 };
                        if self.open.len() > MAX_DEPTH {
                            return Scanned::Invalid;
                        }
                        self.consume_one();
                        if elements > 0 {
                            self.open.push(elements);
                        }
                        self.close_finished();
                        false
                    }
                    None => return Scanned::Invalid,
                },
                b'|' => match length(header) {
                    // The attribute's pairs come before the element they describe.
                    Some(Length::Of(n)) => {
                        self.pos = after;
                        if let Some(top) = self.open.last_mut() {
                            *top = top.saturating_add((n as u64).saturating_mul(2));
                        }
                        false
                    }
                    _ => return Scanned::Invalid,
                },
                _ => return Scanned::Invalid,
            };
            if consumed_one {
                self.consume_one();
                self.close_finished();
            }
            if self.open.is_empty() {
                let end = self.pos;
                self.reset();
                return Scanned::Complete(end);
            }
        }
    }

    fn consume_one(&mut self) {
        if let Some(top) = self.open.last_mut() {
            *top = top.saturating_sub(1);
        }
    }

    fn close_finished(&mut self) {
        while self.open.last() == Some(&0) {
            self.open.pop();
        }
    }
}

enum Length {
    Null,
    Of(usize),
}

fn length(text: &[u8]) -> Option<Length> {
    match crate::protocol::resp::parse_i64(text)? {
        -1 => Some(Length::Null),
        n => usize::try_from(n).ok().map(Length::Of),
    }
}

/// The offset of the next `\r\n` at or after `from`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    let at = from + cr;
    match buf.get(at + 1) {
        Some(b'\n') => Some(at),
        // `\r` not followed by `\n` is invalid; let the parser say so.
        Some(_) => Some(at),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::resp::parse;

    const FRAMES: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":-2\r\n",
        b"$3\r\nfoo\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"_\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"*0\r\n",
        b"%1\r\n+key\r\n$5\r\nvalue\r\n",
        b"~2\r\n+a\r\n+b\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        b",3.14\r\n",
        b"#t\r\n",
        b"(34928903284092385\r\n",
        b"=15\r\ntxt:Some string\r\n",
        b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n",
        b"*2\r\n|1\r\n+a\r\n:1\r\n+x\r\n+y\r\n",
        b"!21\r\nSYNTAX invalid syntax\r\n",
        b"$4\r\na\r\nb\r\n",
        b"*3\r\n*0\r\n*-1\r\n*1\r\n*1\r\n$0\r\n\r\n",
    ];

    #[test]
    fn finds_the_end_of_every_type_in_one_call() {
        for frame in FRAMES {
            let mut bytes = frame.to_vec();
            bytes.extend_from_slice(b"+NEXT\r\n");
            let mut scanner = FrameScanner::default();
            assert_eq!(scanner.scan(&bytes), Scanned::Complete(frame.len()), "{frame:?}");
        }
    }

    #[test]
    fn agrees_with_the_parser_byte_by_byte() {
        for frame in FRAMES {
            let mut scanner = FrameScanner::default();
            for cut in 0..frame.len() {
                assert!(matches!(scanner.scan(&frame[..cut]), Scanned::Incomplete { .. }), "{frame:?} at {cut}");
            }
            assert_eq!(scanner.scan(frame), Scanned::Complete(frame.len()));
            assert_eq!(parse(frame).unwrap().map(|(_, used)| used), Some(frame.len()));
        }
    }

    #[test]
    fn a_declared_bulk_length_tells_how_much_is_needed() {
        let mut scanner = FrameScanner::default();
        assert_eq!(scanner.scan(b"$100\r\nab"), Scanned::Incomplete { at_least: 108 });
        let mut scanner = FrameScanner::default();
        assert_eq!(scanner.scan(b"*2\r\n:1\r\n$10\r\n"), Scanned::Incomplete { at_least: 25 });
    }

    #[test]
    fn structural_garbage_is_invalid() {
        for bad in [&b"?\r\n"[..], b"$-5\r\n", b"*-2\r\n", b"|-1\r\n", b"$x\r\n"] {
            assert_eq!(FrameScanner::default().scan(bad), Scanned::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_invalid() {
        let mut bytes = b"*1\r\n".repeat(MAX_DEPTH + 2);
        bytes.extend_from_slice(b":1\r\n");
        assert_eq!(FrameScanner::default().scan(&bytes), Scanned::Invalid);
    }

    #[test]
    fn a_million_elements_arriving_in_small_reads_scan_in_linear_time() {
        let mut bytes = b"*1000000\r\n".to_vec();
        for _ in 0..1_000_000 {
            bytes.extend_from_slice(b"$5\r\nvalue\r\n");
        }
        let mut scanner = FrameScanner::default();
        let mut last = Scanned::Invalid;
        for end in (4096..=bytes.len()).step_by(4096).chain([bytes.len()]) {
            last = scanner.scan(&bytes[..end]);
        }
        assert_eq!(last, Scanned::Complete(bytes.len()));
    }
}
