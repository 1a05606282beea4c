//! The Redis wire protocol: RESP2 and RESP3 frames and the parser (the encoders are in
//! [`crate::protocol::encode`]).
//!
//! This module owns bytes ⇄ [`Frame`] and nothing else: no sockets, no text for people.
//! An incomplete frame is an expected outcome of a partial read and is returned as
//! `Ok(None)`; only bytes that can never become a valid frame are an error.

use std::borrow::Cow;

use std::fmt;

/// Aggregates nested deeper than this are refused, so a hostile server cannot make the
/// recursive parser, renderer or `Drop` overflow the stack. Redis itself never nests
/// beyond a handful of levels.
pub const MAX_DEPTH: usize = 128;

/// One RESP value, as a server sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`. The common answers (`OK`, `QUEUED`, `PONG`) borrow a constant, so a
    /// pipeline of a million SETs does not allocate a million `OK`s.
    Simple(Cow<'static, [u8]>),
    /// `-ERR …` and RESP3 blob errors `!`.
    Error(Vec<u8>),
    /// `:42` (signed: `TTL` answers `:-2`).
    Integer(i64),
    /// `$3\r\nfoo` (binary-safe).
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` and RESP3 `_`.
    Null,
    /// `*N`
    Array(Vec<Frame>),
    /// RESP3 `%N`: key/value pairs in server order.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N`
    Set(Vec<Frame>),
    /// RESP3 `>N`: out-of-band data such as pub/sub messages.
    Push(Vec<Frame>),
    /// RESP3 `,3.14`: kept as the server's text so `inf` and precision survive.
    Double(Vec<u8>),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `(3492890328409238509324850943850943825024385`
    BigNumber(Vec<u8>),
    /// RESP3 `=15\r\ntxt:Some string`
    Verbatim { format: Vec<u8>, text: Vec<u8> },
    /// RESP3 `|N` attributes followed by the reply they describe.
    Attributed { attributes: Vec<(Frame, Frame)>, reply: Box<Frame> },
}

impl Frame {
    /// The text of an error reply, if this is one.
    pub fn as_error(&self) -> Option<&[u8]> {
        match self {
            Frame::Error(text) => Some(text),
            Frame::Attributed { reply, .. } => reply.as_error(),
            _ => None,
        }
    }

    /// The bytes of a string-like reply (simple, bulk, verbatim).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) => Some(b),
            Frame::Bulk(b) => Some(b),
            Frame::Verbatim { text, .. } => Some(text),
            Frame::Attributed { reply, .. } => reply.as_bytes(),
            _ => None,
        }
    }

    /// The value of an integer reply.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Frame::Integer(n) => Some(*n),
            Frame::Attributed { reply, .. } => reply.as_integer(),
            _ => None,
        }
    }

    /// Elements of an array, set or push reply.
    pub fn as_items(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => Some(items),
            Frame::Attributed { reply, .. } => reply.as_items(),
            _ => None,
        }
    }

    /// Key/value pairs of a RESP3 map, or of a RESP2 array that alternates keys and
    /// values (how RESP2 servers send maps).
    pub fn to_pairs(&self) -> Option<Vec<(&Frame, &Frame)>> {
        match self {
            Frame::Map(pairs) => Some(pairs.iter().map(|(k, v)| (k, v)).collect()),
            Frame::Array(items) if items.len() % 2 == 0 => {
                Some(items.chunks_exact(2).filter_map(|pair| Some((pair.first()?, pair.get(1)?))).collect())
            }
            Frame::Attributed { reply, .. } => reply.to_pairs(),
            _ => None,
        }
    }

    /// The text of a string-like reply (invalid UTF-8 replaced), or an integer's
    /// digits; `None` for anything else.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Frame::Integer(n) => Some(n.to_string()),
            other => other.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// True for `+OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Frame::Simple(s) if s.as_ref() == b"OK")
    }
}

/// The value under key `name` in key/value pairs from [`Frame::to_pairs`].
pub fn field<'f>(pairs: &[(&'f Frame, &'f Frame)], name: &str) -> Option<&'f Frame> {
    pairs.iter().find(|(k, _)| k.as_bytes() == Some(name.as_bytes())).map(|(_, v)| *v)
}

/// Bytes that can never be a valid RESP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses one frame from the front of `buf`.
///
/// Returns `Ok(Some((frame, consumed)))` for a whole frame, `Ok(None)` when more bytes
/// are needed, and `Err` when the bytes are not RESP.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    parse_at_depth(buf, 0)
}

/// [`parse`] for a frame nested `depth` levels deep (an element of a reply read piece
/// by piece), so the nesting limit still counts from the top.
pub fn parse_at_depth(buf: &[u8], depth: usize) -> Result<Option<(Frame, usize)>, ProtocolError> {
    let mut cursor = Cursor { buf, pos: 0 };
    match cursor.frame(depth) {
        Ok(frame) => Ok(Some((frame, cursor.pos))),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Why parsing stopped: more bytes needed, or never valid.
enum Stop {
    Incomplete,
    Invalid(ProtocolError),
}

/// The text of a simple string, borrowed when it is one of the common answers.
fn simple_text(line: &[u8]) -> Cow<'static, [u8]> {
    match line {
        b"OK" => Cow::Borrowed(b"OK"),
        b"QUEUED" => Cow::Borrowed(b"QUEUED"),
        b"PONG" => Cow::Borrowed(b"PONG"),
        other => Cow::Owned(other.to_vec()),
    }
}

fn invalid(msg: String) -> Stop {
    Stop::Invalid(ProtocolError(msg))
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// The bytes up to the next CRLF, consuming the CRLF.
    fn line(&mut self) -> Result<&[u8], Stop> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
            return Err(Stop::Incomplete);
        };
        let (line, after) = rest.split_at(cr);
        match after.get(1) {
            None => Err(Stop::Incomplete),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(line)
            }
            Some(_) => Err(invalid("expected \\n after \\r".into())),
        }
    }

    fn integer(&mut self) -> Result<i64, Stop> {
        let line = self.line()?;
        parse_i64(line).ok_or_else(|| {
            let shown = line.get(..32).unwrap_or(line);
            invalid(format!("invalid integer '{}'", crate::protocol::text::escape_bytes(shown)))
        })
    }

    /// A length prefix: `-1` means null (returned as `None`).
    fn length(&mut self, what: &str) -> Result<Option<usize>, Stop> {
        match self.integer()? {
            -1 => Ok(None),
            n if n < 0 => Err(invalid(format!("invalid {what} length {n}"))),
            n => usize::try_from(n).map(Some).map_err(|_| invalid(format!("{what} length {n} too large"))),
        }
    }

    fn blob(&mut self, len: usize) -> Result<Vec<u8>, Stop> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (Some(blob), Some(terminator)) = (rest.get(..len), len.checked_add(2).and_then(|end| rest.get(len..end)))
        else {
            return Err(Stop::Incomplete);
        };
        if terminator != b"\r\n" {
            return Err(invalid("bulk string not terminated by CRLF".into()));
        }
        self.pos += len + 2;
        Ok(blob.to_vec())
    }

    fn items(&mut self, count: usize, depth: usize) -> Result<Vec<Frame>, Stop> {
        // Never trust a count for allocation: every element takes at least 3 bytes.
        let mut items = Vec::with_capacity(count.min((self.buf.len() - self.pos) / 3 + 1));
        for _ in 0..count {
            items.push(self.frame(depth + 1)?);
        }
        Ok(items)
    }

    fn pairs(&mut self, count: usize, depth: usize) -> Result<Vec<(Frame, Frame)>, Stop> {
        let mut pairs = Vec::with_capacity(count.min((self.buf.len() - self.pos) / 6 + 1));
        for _ in 0..count {
            let key = self.frame(depth + 1)?;
            let value = self.frame(depth + 1)?;
            pairs.push((key, value));
        }
        Ok(pairs)
    }

    fn frame(&mut self, depth: usize) -> Result<Frame, Stop> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("reply nested deeper than {MAX_DEPTH} levels")));
        }
        let Some(&kind) = self.buf.get(self.pos) else {
            return Err(Stop::Incomplete);
        };
        self.pos += 1;
        match kind {
            b'+' => Ok(Frame::Simple(simple_text(self.line()?))),
            b'-' => Ok(Frame::Error(self.line()?.to_vec())),
            b':' => Ok(Frame::Integer(self.integer()?)),
            b'$' => match self.length("bulk")? {
                None => Ok(Frame::Null),
                Some(len) => Ok(Frame::Bulk(self.blob(len)?)),
            },
            b'!' => match self.length("blob error")? {
                None => Ok(Frame::Null),
                Some(len) => Ok(Frame::Error(self.blob(len)?)),
            },
            b'*' => match self.length("array")? {
                None => Ok(Frame::Null),
                Some(n) => Ok(Frame::Array(self.items(n, depth)?)),
            },
            b'~' => match self.length("set")? {
                None => Ok(Frame::Null),
                Some(n) => Ok(Frame::Set(self.items(n, depth)?)),
            },
            b'>' => match self.length("push")? {
                None => Ok(Frame::Null),
                Some(n) => Ok(Frame::Push(self.items(n, depth)?)),
            },
            b'%' => match self.length("map")? {
                None => Ok(Frame::Null),
                Some(n) => Ok(Frame::Map(self.pairs(n, depth)?)),
            },
            b'|' => {
                let Some(n) = self.length("attribute")? else {
                    return Err(invalid("null attribute".into()));
                };
                let attributes = self.pairs(n, depth)?;
                let reply = Box::new(self.frame(depth + 1)?);
                Ok(Frame::Attributed { attributes, reply })
            }
            b'_' => {
                let line = self.line()?;
                if line.is_empty() { Ok(Frame::Null) } else { Err(invalid("null with payload".into())) }
            }
            b'#' => match self.line()? {
                b"t" => Ok(Frame::Boolean(true)),
                b"f" => Ok(Frame::Boolean(false)),
                _ => Err(invalid("invalid boolean".into())),
            },
            b',' => {
                let line = self.line()?;
                if is_double(line) { Ok(Frame::Double(line.to_vec())) } else { Err(invalid("invalid double".into())) }
            }
            b'(' => {
                let line = self.line()?;
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                    Ok(Frame::BigNumber(line.to_vec()))
                } else {
                    Err(invalid("invalid big number".into()))
                }
            }
            b'=' => {
                let Some(len) = self.length("verbatim")? else {
                    return Ok(Frame::Null);
                };
                let blob = self.blob(len)?;
                match (blob.get(..3), blob.get(3), blob.get(4..)) {
                    (Some(format), Some(b':'), Some(text)) => {
                        Ok(Frame::Verbatim { format: format.to_vec(), text: text.to_vec() })
                    }
                    _ => Err(invalid("verbatim string without a format prefix".into())),
                }
            }
            other => Err(invalid(format!("unexpected reply type byte {}", describe_byte(other)))),
        }
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() { format!("'{}'", b as char) } else { format!("0x{b:02x}") }
}

fn is_double(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// Parses a decimal i64 with an optional sign, refusing anything else (no spaces, no
/// overflow).
pub fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        value = if negative {
            value.checked_mul(10)?.checked_sub(digit)?
        } else {
            value.checked_mul(10)?.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Frame {
        match parse(bytes) {
            Ok(Some((frame, used))) => {
                assert_eq!(used, bytes.len(), "whole input consumed");
                frame
            }
            other => panic!("expected a frame from {bytes:?}, got {other:?}"),
        }
    }

    /// Every strict prefix of a valid frame is incomplete, never an error.
    fn assert_prefixes_incomplete(bytes: &[u8]) {
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut]), Ok(None), "prefix of {} bytes of {bytes:?}", cut);
        }
    }

    pub(crate) const EVERY_TYPE: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR unknown command\r\n",
        b":-2\r\n",
        b":9223372036854775807\r\n",
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
        b",inf\r\n",
        b"#t\r\n",
        b"#f\r\n",
        b"(3492890328409238509324850943850943825024385\r\n",
        b"=15\r\ntxt:Some string\r\n",
        b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n",
        b"!21\r\nSYNTAX invalid syntax\r\n",
        b"$4\r\na\r\nb\r\n",
    ];

    #[test]
    fn every_type_parses() {
        assert_eq!(one(b"+OK\r\n"), Frame::Simple(b"OK".as_slice().into()));
        assert_eq!(one(b"-ERR x\r\n"), Frame::Error(b"ERR x".to_vec()));
        assert_eq!(one(b":-2\r\n"), Frame::Integer(-2));
        assert_eq!(one(b"$3\r\nfoo\r\n"), Frame::Bulk(b"foo".to_vec()));
        assert_eq!(one(b"$-1\r\n"), Frame::Null);
        assert_eq!(one(b"*-1\r\n"), Frame::Null);
        assert_eq!(one(b"_\r\n"), Frame::Null);
        assert_eq!(one(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(one(b",1.5\r\n"), Frame::Double(b"1.5".to_vec()));
        assert_eq!(one(b"(-12\r\n"), Frame::BigNumber(b"-12".to_vec()));
        assert_eq!(one(b"=8\r\nmkd:# hi\r\n"), Frame::Verbatim { format: b"mkd".to_vec(), text: b"# hi".to_vec() });
        assert_eq!(
            one(b"%1\r\n+k\r\n:1\r\n"),
            Frame::Map(vec![(Frame::Simple(b"k".as_slice().into()), Frame::Integer(1))])
        );
        assert_eq!(one(b"~1\r\n+a\r\n"), Frame::Set(vec![Frame::Simple(b"a".as_slice().into())]));
        assert_eq!(one(b">1\r\n+a\r\n"), Frame::Push(vec![Frame::Simple(b"a".as_slice().into())]));
        assert_eq!(one(b"!3\r\nERR\r\n"), Frame::Error(b"ERR".to_vec()));
        assert_eq!(
            one(b"|1\r\n+a\r\n:1\r\n+ok\r\n"),
            Frame::Attributed {
                attributes: vec![(Frame::Simple(b"a".as_slice().into()), Frame::Integer(1))],
                reply: Box::new(Frame::Simple(b"ok".as_slice().into())),
            }
        );
    }

    #[test]
    fn bulk_strings_are_binary_safe() {
        assert_eq!(one(b"$4\r\na\r\nb\r\n"), Frame::Bulk(b"a\r\nb".to_vec()));
        assert_eq!(one(b"$2\r\n\x00\xff\r\n"), Frame::Bulk(vec![0, 0xff]));
    }

    #[test]
    fn every_partial_read_is_incomplete() {
        for bytes in EVERY_TYPE {
            one(bytes);
            assert_prefixes_incomplete(bytes);
        }
    }

    #[test]
    fn frames_split_across_reads_parse_one_after_another() {
        let stream: Vec<u8> = EVERY_TYPE.concat();
        let mut pos = 0;
        let mut count = 0;
        while pos < stream.len() {
            let (_, used) = parse(&stream[pos..]).unwrap().unwrap();
            pos += used;
            count += 1;
        }
        assert_eq!(count, EVERY_TYPE.len());
    }

    #[test]
    fn deep_nesting_parses_up_to_the_limit() {
        let mut bytes = b"*1\r\n".repeat(MAX_DEPTH);
        bytes.extend_from_slice(b":1\r\n");
        assert!(parse(&bytes).unwrap().is_some());
        let mut too_deep = b"*1\r\n".repeat(MAX_DEPTH + 2);
        too_deep.extend_from_slice(b":1\r\n");
        assert!(parse(&too_deep).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"?\r\n"[..],
            b":12a\r\n",
            b":99999999999999999999\r\n",
            b"$-5\r\n",
            b"$3\r\nfooXY",
            b"#x\r\n",
            b",1 2\r\n",
            b"(12a\r\n",
            b"=3\r\nabc\r\n",
            b"+OK\rX",
            b"_x\r\n",
            b"\x00",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        assert_eq!(parse(b"*4000000000\r\n"), Ok(None));
        assert_eq!(parse(b"$4000000000\r\n"), Ok(None));
        assert_eq!(parse(b"%4000000000\r\n+a\r\n"), Ok(None));
    }

    #[test]
    fn integers_parse_strictly() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"+7"), Some(7));
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"1 "), None);
    }
}
