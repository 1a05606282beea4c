//! Replies delivered piece by piece: a big top-level array, set or push reply (LRANGE of a
//! million elements, KEYS) is handed to a [`ReplySink`] one element at a time as the
//! elements arrive, so it is printed while the server is still sending it and never
//! held whole in memory. Everything else is read whole.

use crate::protocol::render::{self, Format, OutputMode};
use crate::protocol::resp::{self, Frame};

/// Top-level aggregates worth reading piece by piece start with this many elements.
pub const PIECEWISE_FROM: usize = 64;

/// The kind of a top-level aggregate read piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Array,
    Set,
}

/// Where the pieces of a reply go.
pub trait ReplySink {
    /// An aggregate of `len` elements starts.
    fn start(&mut self, kind: Aggregate, len: usize);
    /// Its next element.
    fn element(&mut self, frame: Frame);
    /// It ended.
    fn end(&mut self);
}

/// The header of a top-level aggregate worth reading piece by piece at the front of
/// `buf`: its kind, element count and header length. `None` for anything else (or a
/// header not yet complete).
pub fn aggregate_header(buf: &[u8]) -> Option<(Aggregate, usize, usize)> {
    let kind = match buf.first()? {
        b'*' => Aggregate::Array,
        b'~' => Aggregate::Set,
        _ => return None,
    };
    let cr = buf.iter().position(|&b| b == b'\r')?;
    if buf.get(cr + 1) != Some(&b'\n') {
        return None;
    }
    let len = usize::try_from(resp::parse_i64(buf.get(1..cr)?)?).ok()?;
    (len >= PIECEWISE_FROM).then_some((kind, len, cr + 2))
}

/// Renders a top-level array or set element by element, byte for byte as
/// [`Format::reply`] renders it whole.
#[derive(Debug)]
pub struct PieceRenderer {
    kind: Aggregate,
    next: usize,
    width: usize,
    child: Vec<u8>,
    verbatim: bool,
}

impl PieceRenderer {
    /// Starts an aggregate of `len` elements; `verbatim` for the commands redis-cli
    /// always prints raw.
    pub fn start(format: &Format, kind: Aggregate, len: usize, verbatim: bool, out: &mut Vec<u8>) -> PieceRenderer {
        let width = render::digits(len);
        let mode = if verbatim { OutputMode::Raw } else { format.mode };
        match mode {
            OutputMode::Tty if len == 0 => {
                out.extend_from_slice(if kind == Aggregate::Set { b"(empty set)\n" } else { b"(empty array)\n" })
            }
            OutputMode::Json | OutputMode::QuotedJson => out.push(b'['),
            _ => {}
        }
        PieceRenderer { kind, next: 0, width, child: render::child_prefix(b"", width), verbatim }
    }

    /// Renders the next element.
    pub fn element(&mut self, format: &Format, frame: &Frame, out: &mut Vec<u8>) {
        let start = out.len();
        self.render_element(format, frame, out);
        if format.terminal {
            crate::protocol::text::escape_for_terminal(out, start);
        }
    }

    fn render_element(&mut self, format: &Format, frame: &Frame, out: &mut Vec<u8>) {
        let first = self.next == 0;
        self.next += 1;
        if self.verbatim {
            if !first {
                out.extend_from_slice(&format.element_delimiter);
            }
            render::raw(frame, &format.element_delimiter, out);
            return;
        }
        match format.mode {
            OutputMode::Tty => {
                let separator = if self.kind == Aggregate::Set { b'~' } else { b')' };
                render::index_label(out, b"", self.next, self.width, separator);
                render::tty(frame, &self.child, out);
            }
            OutputMode::Raw => {
                if !first {
                    out.extend_from_slice(&format.element_delimiter);
                }
                render::raw(frame, &format.element_delimiter, out);
            }
            OutputMode::Csv => {
                if !first {
                    out.push(b',');
                }
                render::csv(frame, out);
            }
            OutputMode::Json | OutputMode::QuotedJson => {
                if !first {
                    out.push(b',');
                }
                render::json(frame, format.mode == OutputMode::QuotedJson, out);
            }
        }
    }

    /// Ends the aggregate (the reply's closing delimiter).
    pub fn end(self, format: &Format, out: &mut Vec<u8>) {
        if self.verbatim {
            return;
        }
        match format.mode {
            OutputMode::Tty => {}
            OutputMode::Raw => out.extend_from_slice(&format.reply_delimiter),
            OutputMode::Csv => out.push(b'\n'),
            OutputMode::Json | OutputMode::QuotedJson => out.extend_from_slice(b"]\n"),
        }
    }
}

/// The whole frame a sink received, for tests: what the pieces add up to.
#[derive(Default)]
pub struct Collected {
    pub frame: Option<Frame>,
    items: Vec<Frame>,
    kind: Option<Aggregate>,
}

impl ReplySink for Collected {
    fn start(&mut self, kind: Aggregate, _len: usize) {
        self.kind = Some(kind);
        self.items.clear();
    }
    fn element(&mut self, frame: Frame) {
        self.items.push(frame);
    }
    fn end(&mut self) {
        let items = std::mem::take(&mut self.items);
        self.frame = Some(match self.kind {
            Some(Aggregate::Set) => Frame::Set(items),
            _ => Frame::Array(items),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_big_arrays_and_sets_are_read_piece_by_piece() {
        assert_eq!(aggregate_header(b"*100\r\n"), Some((Aggregate::Array, 100, 6)));
        assert_eq!(aggregate_header(b"~64\r\n+a"), Some((Aggregate::Set, 64, 5)));
        assert_eq!(aggregate_header(b"*3\r\n"), None, "small replies are read whole");
        assert_eq!(aggregate_header(b"*-1\r\n"), None);
        assert_eq!(aggregate_header(b"%100\r\n"), None);
        assert_eq!(aggregate_header(b">100\r\n"), None, "pushes are not replies");
        assert_eq!(aggregate_header(b"*100"), None, "incomplete header");
        assert_eq!(aggregate_header(b"*1x0\r\n"), None);
    }

    fn nested() -> Frame {
        Frame::Array(vec![Frame::Bulk(b"a".to_vec()), Frame::Integer(2), Frame::Null])
    }

    #[test]
    fn pieces_render_exactly_as_the_whole_reply() {
        let mut items = Vec::new();
        for i in 0..120 {
            items.push(match i % 6 {
                0 => Frame::Bulk(format!("value{i}").into_bytes()),
                1 => Frame::Integer(i),
                2 => nested(),
                3 => Frame::Null,
                4 => Frame::Map(vec![(Frame::Bulk(b"k".to_vec()), nested())]),
                _ => Frame::Bulk(b"with \"quotes\" and \n".to_vec()),
            });
        }
        for mode in [OutputMode::Tty, OutputMode::Raw, OutputMode::Csv, OutputMode::Json, OutputMode::QuotedJson] {
            for verbatim in [false, true] {
                for (kind, whole) in
                    [(Aggregate::Array, Frame::Array(items.clone())), (Aggregate::Set, Frame::Set(items.clone()))]
                {
                    let mut format = Format::new(mode);
                    format.element_delimiter = b"|".to_vec();
                    let mut expected = Vec::new();
                    format.reply(&whole, verbatim, &mut expected);
                    let mut got = Vec::new();
                    let mut pieces = PieceRenderer::start(&format, kind, items.len(), verbatim, &mut got);
                    for item in &items {
                        pieces.element(&format, item, &mut got);
                    }
                    pieces.end(&format, &mut got);
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&expected),
                        "{mode:?} verbatim={verbatim} {kind:?}"
                    );
                }
            }
        }
    }
}
