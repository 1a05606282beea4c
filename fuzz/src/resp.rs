//! The RESP parser (`parse`, `parse_at_depth`), the frame scanner, the encoder, the
//! piecewise reader and the renderers, checked against each other on any bytes:
//!
//! * the parser never panics; a frame it returns used at most the input, and the same
//!   bytes with anything after them parse to the same frame;
//! * every strict prefix of a parsed frame is incomplete, never an error;
//! * the scanner, fed the bytes in any cutting, ends where the parser ends: `Complete(n)`
//!   at the first read that reaches `n` and `Incomplete` (asking for more than it has,
//!   never more than the frame) before; `Incomplete` to the end where the parser needs
//!   more; and the same outcome for every cutting;
//! * `parse_at_depth` accepts a frame exactly while its nesting fits under `MAX_DEPTH`;
//! * a parsed frame encodes back to bytes that parse to the same frame;
//! * a big top-level array or set read element by element (`piecewise`) is the frame
//!   read whole, and renders byte for byte as the whole reply in every output mode;
//! * rendering never panics.
//!
//! The same input is also read as a structure-aware frame ([`crate::frames`]), encoded,
//! and put through all of the above.

use rcli::protocol::encode::encode_frame;
use rcli::protocol::piecewise::{Aggregate, PieceRenderer, aggregate_header};
use rcli::protocol::render::{self, Format, OutputMode};
use rcli::protocol::resp::{Frame, MAX_DEPTH, ProtocolError, parse, parse_at_depth};
use rcli::protocol::scan::{FrameScanner, Scanned};

use crate::chunks::cuttings;
use crate::frames;

type Parsed = Result<Option<(Frame, usize)>, ProtocolError>;

pub fn check(data: &[u8]) {
    check_bytes(data);
    if let Some(frame) = frames::generate(data) {
        check_frame(&frame);
    }
}

/// A frame built directly: it encodes to bytes that parse back to it (when it is not
/// nested too deep), and the bytes pass every check.
fn check_frame(frame: &Frame) {
    let encoded = encode(frame);
    let parsed = parse(&encoded);
    if frames::height(frame) <= MAX_DEPTH {
        assert_eq!(parsed, Ok(Some((frame.clone(), encoded.len()))), "an encoded frame parses back");
    } else {
        assert!(parsed.is_err(), "a frame nested past the limit is refused: {parsed:?}");
    }
    check_bytes(&encoded);
}

fn check_bytes(data: &[u8]) {
    let parsed = parse(data);
    check_scanner(data, &parsed);
    check_piecewise(data, &parsed);
    let Ok(Some((frame, used))) = parsed else { return };
    assert!(used > 0 && used <= data.len(), "used {used} of {}", data.len());
    assert_eq!(parse(&data[..used]), Ok(Some((frame.clone(), used))), "bytes after a frame change it");
    for cut in [0, used / 2, used.saturating_sub(1)] {
        if cut < used {
            assert_eq!(parse(&data[..cut]), Ok(None), "a prefix of {cut} of {used} bytes");
        }
    }
    check_depths(data, &frame, used);
    let encoded = encode(&frame);
    assert_eq!(parse(&encoded), Ok(Some((frame.clone(), encoded.len()))), "re-encoded frame parses back");
    render_every_way(&frame);
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(frame, &mut out);
    out
}

/// What a scanner said at the end of one cutting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Complete(usize),
    Invalid,
    Incomplete,
}

fn check_scanner(data: &[u8], parsed: &Parsed) {
    let frame_end = match parsed {
        Ok(Some((_, used))) => Some(*used),
        _ => None,
    };
    let mut outcomes = Vec::new();
    for ends in cuttings(data) {
        let mut scanner = FrameScanner::default();
        let mut outcome = Outcome::Incomplete;
        let mut previous_end = 0;
        for end in ends {
            let seen = &data[..end];
            match scanner.scan(seen) {
                Scanned::Complete(n) => {
                    assert!(n > 0 && n <= end, "complete at {n} with {end} bytes");
                    assert_ne!(parse(&data[..n]), Ok(None), "the scanner completes a frame the parser does not");
                    if let Some(used) = frame_end {
                        assert_eq!(n, used, "the scanner and the parser end the frame at different bytes");
                        assert!(
                            previous_end < used,
                            "the scanner missed the end at {used} (read up to {previous_end})"
                        );
                    }
                    outcome = Outcome::Complete(n);
                    break;
                }
                Scanned::Incomplete { at_least } => {
                    assert!(at_least > end, "incomplete asking for {at_least} with {end} bytes");
                    if let Some(used) = frame_end {
                        assert!(end < used, "the scanner wants more than the {used}-byte frame it has");
                        assert!(at_least <= used, "the scanner asks for {at_least} bytes of a {used}-byte frame");
                    }
                }
                Scanned::Invalid => {
                    assert!(
                        frame_end.is_none(),
                        "the scanner refuses a frame the parser accepts ({} bytes)",
                        frame_end.unwrap_or(0)
                    );
                    assert_ne!(*parsed, Ok(None), "the scanner refuses bytes the parser is still waiting on");
                    outcome = Outcome::Invalid;
                    break;
                }
            }
            previous_end = end;
        }
        if matches!(parsed, Ok(None)) {
            assert_eq!(outcome, Outcome::Incomplete, "the parser needs more bytes");
        }
        outcomes.push(outcome);
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "the scanner depends on how the bytes arrive: {outcomes:?}");
}

/// The parser accepts the frame at depth `d` exactly when `d + height <= MAX_DEPTH`.
fn check_depths(data: &[u8], frame: &Frame, used: usize) {
    let height = frames::height(frame);
    assert!(height <= MAX_DEPTH, "a frame {height} levels deep was accepted");
    let deepest = MAX_DEPTH - height;
    assert_eq!(parse_at_depth(data, deepest), Ok(Some((frame.clone(), used))), "at depth {deepest}");
    let refused = parse_at_depth(data, deepest + 1);
    assert!(refused.is_err(), "at depth {} (height {height}): {refused:?}", deepest + 1);
}

/// A big top-level array or set, read as the connection reads it piece by piece:
/// the header, then each element at depth 1.
fn check_piecewise(data: &[u8], parsed: &Parsed) {
    let Some((kind, len, header)) = aggregate_header(data) else { return };
    let mut at = header;
    let mut items = Vec::new();
    let mut stopped: Option<Parsed> = None;
    for _ in 0..len {
        match parse_at_depth(&data[at..], 1) {
            Ok(Some((item, used))) => {
                items.push(item);
                at += used;
            }
            other => {
                stopped = Some(other);
                break;
            }
        }
    }
    match (parsed, stopped) {
        (Ok(Some((whole, used))), None) => {
            assert_eq!(at, *used, "pieces and the whole frame end at different bytes");
            let expected = match kind {
                Aggregate::Array => Frame::Array(items.clone()),
                Aggregate::Set => Frame::Set(items.clone()),
            };
            assert_eq!(&expected, whole, "pieces differ from the whole frame");
            render_pieces_as_whole(kind, whole, &items);
        }
        (Ok(None), Some(Ok(None))) => {}
        (Err(_), Some(Err(_))) => {}
        (whole, pieces) => panic!("whole {whole:?} but pieces {pieces:?}"),
    }
}

const MODES: [OutputMode; 5] =
    [OutputMode::Tty, OutputMode::Raw, OutputMode::Csv, OutputMode::Json, OutputMode::QuotedJson];

fn render_pieces_as_whole(kind: Aggregate, whole: &Frame, items: &[Frame]) {
    for mode in MODES {
        for verbatim in [false, true] {
            let mut format = Format::new(mode);
            format.element_delimiter = b"|".to_vec();
            let mut expected = Vec::new();
            format.reply(whole, verbatim, &mut expected);
            let mut got = Vec::new();
            let mut pieces = PieceRenderer::start(&format, kind, items.len(), verbatim, &mut got);
            for item in items {
                pieces.element(&format, item, &mut got);
            }
            pieces.end(&format, &mut got);
            assert!(got == expected, "{mode:?} verbatim={verbatim}: pieces render differently");
        }
    }
}

fn render_every_way(frame: &Frame) {
    let mut out = Vec::new();
    for mode in MODES {
        for verbatim in [false, true] {
            Format::new(mode).reply(frame, verbatim, &mut out);
        }
    }
    render::tty(frame, b"1) ", &mut out);
}
