//! One RESP value as a server sent it ([`Frame`]) and the ways the floors above read
//! one (as an error, bytes, an integer, items, key/value pairs, text). Parsing is
//! [`crate::protocol::resp`]'s, encoding [`crate::protocol::encode`]'s.

use std::borrow::Cow;

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
