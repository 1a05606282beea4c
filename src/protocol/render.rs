//! Reply text exactly as redis-cli prints it: tty-formatted, raw, CSV and JSON.
//!
//! Pure functions from a [`Frame`] to bytes; where the bytes go (and whether a terminal is
//! attached) is decided by the caller. The formats follow redis-cli 7.0's
//! `cliFormatReplyTTY`, `cliFormatReplyRaw`, `cliFormatReplyCSV` and `cliFormatReplyJson`
//! (../shared/docs/redis-cli.md §3). Where redis-cli crashes (RESP3 big numbers,
//! attributes) rcli prints something sensible instead; see docs/compatibility.md.

use crate::protocol::resp::Frame;
use crate::protocol::split::repr;
use crate::protocol::text::escape_for_terminal;

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// `(integer) 1`, quoted strings, numbered aggregates: the terminal default.
    Tty,
    /// Bytes as they are: the default when stdout is not a terminal.
    Raw,
    /// One comma-separated line per reply.
    Csv,
    /// One JSON value per reply.
    Json,
    /// JSON with strings escaped like `sdscatrepr` (ASCII-safe).
    QuotedJson,
}

/// Everything that decides the text of one reply.
#[derive(Debug, Clone)]
pub struct Format {
    pub mode: OutputMode,
    /// `-d`: separator between the elements of one aggregate in raw mode.
    pub element_delimiter: Vec<u8>,
    /// `-D`: separator after each reply in raw mode.
    pub reply_delimiter: Vec<u8>,
    /// stdout is a terminal: control characters in replies are shown escaped, so a
    /// reply cannot drive the terminal (see [`crate::protocol::text`]).
    pub terminal: bool,
}

impl Format {
    pub fn new(mode: OutputMode) -> Self {
        Format { mode, element_delimiter: b"\n".to_vec(), reply_delimiter: b"\n".to_vec(), terminal: false }
    }

    /// Appends the text of `frame` as the reply to a command. `verbatim_command` is true
    /// for the commands redis-cli always prints raw (INFO, CLIENT LIST, …).
    pub fn reply(&self, frame: &Frame, verbatim_command: bool, out: &mut Vec<u8>) {
        let start = out.len();
        self.render(frame, verbatim_command, out);
        if self.terminal {
            escape_for_terminal(out, start);
        }
    }

    fn render(&self, frame: &Frame, verbatim_command: bool, out: &mut Vec<u8>) {
        if verbatim_command {
            raw(frame, &self.element_delimiter, out);
            return;
        }
        match self.mode {
            OutputMode::Tty => tty(frame, b"", out),
            OutputMode::Raw => {
                raw(frame, &self.element_delimiter, out);
                out.extend_from_slice(&self.reply_delimiter);
            }
            OutputMode::Csv => {
                csv(frame, out);
                out.push(b'\n');
            }
            OutputMode::Json | OutputMode::QuotedJson => {
                json(frame, self.mode == OutputMode::QuotedJson, out);
                out.push(b'\n');
            }
        }
    }
}

/// Commands whose string replies redis-cli prints raw even on a terminal, so INFO shows
/// lines instead of one quoted blob (redis-cli.md §2.5).
pub fn is_verbatim_command<A: AsRef<[u8]>>(argv: &[A]) -> bool {
    let Some(name) = argv.first() else { return false };
    let is = |i: usize, word: &str| argv.get(i).is_some_and(|a| a.as_ref().eq_ignore_ascii_case(word.as_bytes()));
    let argc = argv.len();
    let name = name.as_ref();
    let named = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
    named("info")
        || named("lolwut")
        || (named("debug") && (is(1, "htstats") || is(1, "htstats-key") || is(1, "client-eviction")))
        || (named("memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (named("cluster") && argc == 2 && (is(1, "nodes") || is(1, "info")))
        || (named("client") && (is(1, "list") || is(1, "info")))
        || (named("latency") && ((argc == 3 && is(1, "graph")) || (argc == 2 && is(1, "doctor"))))
        || (named("proxy") && is(1, "info"))
}

fn push_decimal_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

pub(crate) fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// redis-cli's `cliIsMultilineValueTTY`: whether a map value starts on its own line.
fn is_multiline(frame: &Frame) -> bool {
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => match items.as_slice() {
            [] => false,
            [only] => is_multiline(only),
            _ => true,
        },
        Frame::Map(pairs) => match pairs.as_slice() {
            [] => false,
            [(_, value)] => is_multiline(value),
            _ => true,
        },
        Frame::Attributed { reply, .. } => is_multiline(reply),
        _ => false,
    }
}

/// The terminal format, `cliFormatReplyTTY`. `prefix` is the indentation of the
/// enclosing aggregates.
pub fn tty(frame: &Frame, prefix: &[u8], out: &mut Vec<u8>) {
    match frame {
        Frame::Error(text) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Simple(text) => {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Integer(n) => {
            out.extend_from_slice(b"(integer) ");
            push_decimal_i64(out, *n);
            out.push(b'\n');
        }
        Frame::Double(text) => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::BigNumber(text) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Bulk(bytes) => {
            repr(bytes, out);
            out.push(b'\n');
        }
        Frame::Verbatim { text, .. } => {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Null => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Frame::Attributed { reply, .. } => tty(reply, prefix, out),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            if items.is_empty() {
                out.extend_from_slice(match frame {
                    Frame::Set(_) => b"(empty set)\n".as_slice(),
                    Frame::Push(_) => b"(empty push)\n",
                    _ => b"(empty array)\n",
                });
                return;
            }
            let separator = if matches!(frame, Frame::Set(_)) { b'~' } else { b')' };
            let width = digits(items.len());
            let child = child_prefix(prefix, width);
            for (i, item) in items.iter().enumerate() {
                index_label(out, if i == 0 { b"" } else { prefix }, i + 1, width, separator);
                tty(item, &child, out);
            }
        }
        Frame::Map(pairs) => {
            if pairs.is_empty() {
                out.extend_from_slice(b"(empty hash)\n");
                return;
            }
            let width = digits(pairs.len());
            let child = child_prefix(prefix, width);
            for (i, (key, value)) in pairs.iter().enumerate() {
                index_label(out, if i == 0 { b"" } else { prefix }, i + 1, width, b'#');
                tty(key, &child, out);
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
                out.extend_from_slice(b" => ");
                if is_multiline(value) {
                    out.push(b'\n');
                    out.extend_from_slice(&child);
                }
                tty(value, &child, out);
            }
        }
    }
}

pub(crate) fn child_prefix(prefix: &[u8], width: usize) -> Vec<u8> {
    let mut child = prefix.to_vec();
    child.resize(prefix.len() + width + 2, b' ');
    child
}

pub(crate) fn index_label(out: &mut Vec<u8>, prefix: &[u8], index: usize, width: usize, separator: u8) {
    out.extend_from_slice(prefix);
    let number = index.to_string();
    out.resize(out.len() + width.saturating_sub(number.len()), b' ');
    out.extend_from_slice(number.as_bytes());
    out.push(separator);
    out.push(b' ');
}

/// The raw format, `cliFormatReplyRaw`, without the trailing reply delimiter.
pub fn raw(frame: &Frame, element_delimiter: &[u8], out: &mut Vec<u8>) {
    match frame {
        Frame::Null => {}
        Frame::Error(text) => {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Simple(bytes) => out.extend_from_slice(bytes),
        Frame::Bulk(bytes) | Frame::Double(bytes) | Frame::BigNumber(bytes) => out.extend_from_slice(bytes),
        Frame::Verbatim { text, .. } => out.extend_from_slice(text),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => push_decimal_i64(out, *n),
        Frame::Attributed { reply, .. } => raw(reply, element_delimiter, out),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(element_delimiter);
                }
                raw(item, element_delimiter, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(element_delimiter);
                }
                raw(key, element_delimiter, out);
                out.push(b' ');
                raw(value, element_delimiter, out);
            }
        }
    }
}

/// The CSV format, `cliFormatReplyCSV`, without the trailing newline.
pub fn csv(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::Error(text) => {
            out.extend_from_slice(b"ERROR,");
            // redis-cli quotes the error with strlen(), so it stops at a NUL byte.
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            repr(text.split_at(end).0, out);
        }
        Frame::Simple(bytes) => repr(bytes, out),
        Frame::Bulk(bytes) => repr(bytes, out),
        Frame::Verbatim { text, .. } => repr(text, out),
        Frame::Integer(n) => push_decimal_i64(out, *n),
        Frame::Double(text) | Frame::BigNumber(text) => out.extend_from_slice(text),
        Frame::Null => out.extend_from_slice(b"NULL"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Frame::Attributed { reply, .. } => csv(reply, out),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(item, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(key, out);
                out.push(b',');
                csv(value, out);
            }
        }
    }
}

fn json_string(bytes: &[u8], quoted: bool, out: &mut Vec<u8>) {
    if quoted {
        // sdscatrepr's text, then made a valid JSON string (its backslashes doubled).
        let mut repr_text = Vec::new();
        repr(bytes, &mut repr_text);
        let inner = repr_text.get(1..repr_text.len().saturating_sub(1)).unwrap_or_default();
        json_string(inner, false, out);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The JSON format, `cliFormatReplyJson`, without the trailing newline. Errors print as
/// redis-cli prints them (`error:"…"`), which is not valid JSON: scripts depend on it.
pub fn json(frame: &Frame, quoted: bool, out: &mut Vec<u8>) {
    match frame {
        Frame::Error(text) => {
            out.extend_from_slice(b"error:");
            repr(text, out);
        }
        Frame::Simple(bytes) => json_string(bytes, quoted, out),
        Frame::Bulk(bytes) => json_string(bytes, quoted, out),
        Frame::Verbatim { text, .. } => json_string(text, quoted, out),
        Frame::Integer(n) => push_decimal_i64(out, *n),
        Frame::Double(text) | Frame::BigNumber(text) => out.extend_from_slice(text),
        Frame::Null => out.extend_from_slice(b"null"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Frame::Attributed { reply, .. } => json(reply, quoted, out),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json(item, quoted, out);
            }
            out.push(b']');
        }
        Frame::Map(pairs) => {
            out.push(b'{');
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if matches!(key, Frame::Simple(_) | Frame::Bulk(_) | Frame::Verbatim { .. } | Frame::Error(_)) {
                    json(key, quoted, out);
                } else {
                    let mut text = Vec::new();
                    json(key, quoted, &mut text);
                    if text.first() == Some(&b'"') {
                        out.extend_from_slice(&text);
                    } else {
                        out.push(b'"');
                        out.extend_from_slice(&text);
                        out.push(b'"');
                    }
                }
                out.push(b':');
                json(value, quoted, out);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    fn text(frame: &Frame, mode: OutputMode) -> String {
        let mut out = Vec::new();
        Format::new(mode).reply(frame, false, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tty_scalars() {
        assert_eq!(text(&Frame::Integer(-2), OutputMode::Tty), "(integer) -2\n");
        assert_eq!(text(&Frame::Null, OutputMode::Tty), "(nil)\n");
        assert_eq!(text(&bulk("a\"b\n"), OutputMode::Tty), "\"a\\\"b\\n\"\n");
        assert_eq!(text(&Frame::Error(b"ERR x".to_vec()), OutputMode::Tty), "(error) ERR x\n");
        assert_eq!(text(&Frame::Double(b"3.5".to_vec()), OutputMode::Tty), "(double) 3.5\n");
        assert_eq!(text(&Frame::Boolean(true), OutputMode::Tty), "(true)\n");
        assert_eq!(text(&Frame::Array(vec![]), OutputMode::Tty), "(empty array)\n");
        assert_eq!(text(&Frame::Map(vec![]), OutputMode::Tty), "(empty hash)\n");
        assert_eq!(text(&Frame::BigNumber(b"123".to_vec()), OutputMode::Tty), "(big number) 123\n");
    }

    #[test]
    fn tty_nested_arrays_align_indices() {
        let nested = Frame::Array(vec![bulk("a"), Frame::Array(vec![bulk("b"), bulk("c")])]);
        assert_eq!(text(&nested, OutputMode::Tty), "1) \"a\"\n2) 1) \"b\"\n   2) \"c\"\n");
        let ten = Frame::Array((1..=10).map(Frame::Integer).collect());
        let out = text(&ten, OutputMode::Tty);
        assert!(out.starts_with(" 1) (integer) 1\n"));
        assert!(out.ends_with("10) (integer) 10\n"));
    }

    #[test]
    fn tty_maps_and_sets() {
        let map = Frame::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("modules"), Frame::Array(vec![])),
            (bulk("list"), Frame::Array(vec![bulk("x"), bulk("y")])),
        ]);
        assert_eq!(
            text(&map, OutputMode::Tty),
            "1# \"server\" => \"redis\"\n2# \"modules\" => (empty array)\n3# \"list\" => \n   1) \"x\"\n   2) \"y\"\n"
        );
        let set = Frame::Set(vec![bulk("m")]);
        assert_eq!(text(&set, OutputMode::Tty), "1~ \"m\"\n");
    }

    #[test]
    fn raw_flattens() {
        let nested = Frame::Array(vec![bulk("a"), Frame::Null, Frame::Array(vec![Frame::Integer(1)])]);
        assert_eq!(text(&nested, OutputMode::Raw), "a\n\n1\n");
        assert_eq!(text(&Frame::Error(b"ERR x".to_vec()), OutputMode::Raw), "ERR x\n\n");
        let map = Frame::Map(vec![(bulk("k"), bulk("v"))]);
        assert_eq!(text(&map, OutputMode::Raw), "k v\n");
    }

    #[test]
    fn csv_and_json() {
        let arr = Frame::Array(vec![bulk("a,b"), Frame::Integer(1), Frame::Null]);
        assert_eq!(text(&arr, OutputMode::Csv), "\"a,b\",1,NULL\n");
        assert_eq!(text(&Frame::Error(b"ERR x".to_vec()), OutputMode::Csv), "ERROR,\"ERR x\"\n");
        let map = Frame::Map(vec![(Frame::Integer(1), bulk("One\u{0}"))]);
        assert_eq!(text(&map, OutputMode::Json), "{\"1\":\"One\\u0000\"}\n");
        assert_eq!(text(&bulk("\x00"), OutputMode::QuotedJson), "\"\\\\x00\"\n");
    }

    #[test]
    fn verbatim_commands() {
        assert!(is_verbatim_command(&["INFO"]));
        assert!(is_verbatim_command(&["cluster", "nodes"]));
        assert!(!is_verbatim_command(&["cluster", "nodes", "x"]));
        assert!(!is_verbatim_command(&["get", "info"]));
    }
}
