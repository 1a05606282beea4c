//! Bytes out: a command as a RESP array of bulk strings (what rcli sends), and any
//! frame back to RESP (how replies are cached on disk).

use crate::protocol::resp::Frame;

/// Appends `argv` as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(argv: &[A], out: &mut Vec<u8>) {
    out.push(b'*');
    push_decimal(out, argv.len());
    out.extend_from_slice(b"\r\n");
    for arg in argv {
        let arg = arg.as_ref();
        out.push(b'$');
        push_decimal(out, arg.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `frame` in RESP (RESP3 types as RESP3), so a reply can be cached on disk
/// and parsed again by [`parse`].
pub fn encode_frame(frame: &Frame, out: &mut Vec<u8>) {
    fn header(out: &mut Vec<u8>, kind: u8, len: usize) {
        out.push(kind);
        push_decimal(out, len);
        out.extend_from_slice(b"\r\n");
    }
    fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
        out.push(kind);
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
    }
    match frame {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(e) => {
            header(out, b'!', e.len());
            out.extend_from_slice(e);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Integer(n) => line(out, b':', n.to_string().as_bytes()),
        Frame::Bulk(b) => {
            header(out, b'$', b.len());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Null => out.extend_from_slice(b"_\r\n"),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let kind = match frame {
                Frame::Set(_) => b'~',
                Frame::Push(_) => b'>',
                _ => b'*',
            };
            header(out, kind, items.len());
            for item in items {
                encode_frame(item, out);
            }
        }
        Frame::Map(pairs) | Frame::Attributed { attributes: pairs, .. } => {
            let kind = if matches!(frame, Frame::Map(_)) { b'%' } else { b'|' };
            header(out, kind, pairs.len());
            for (k, v) in pairs {
                encode_frame(k, out);
                encode_frame(v, out);
            }
            if let Frame::Attributed { reply, .. } = frame {
                encode_frame(reply, out);
            }
        }
        Frame::Double(d) => line(out, b',', d),
        Frame::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
        Frame::BigNumber(n) => line(out, b'(', n),
        Frame::Verbatim { format, text } => {
            header(out, b'=', format.len() + 1 + text.len());
            out.extend_from_slice(format);
            out.push(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends the decimal digits of `n` without going through `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    let mut digits = [0u8; 20];
    let mut used = 0;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        used += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(digits.len().saturating_sub(used)..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::resp::parse;

    #[test]
    fn encoded_frames_parse_back() {
        for bytes in crate::protocol::resp::tests::EVERY_TYPE {
            let (frame, _) = parse(bytes).unwrap().unwrap();
            let mut out = Vec::new();
            encode_frame(&frame, &mut out);
            assert_eq!(parse(&out).unwrap().unwrap().0, frame, "{bytes:?}");
        }
    }

    #[test]
    fn encoder_writes_bulk_arrays() {
        let mut out = Vec::new();
        encode_command(&[&b"SET"[..], b"k", b""], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let (frame, _) = parse(&out).unwrap().unwrap();
        assert_eq!(frame.as_items().map(<[Frame]>::len), Some(3));
    }
}
