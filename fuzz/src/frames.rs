//! Structure-aware frames: the fuzz input read as choices (kind, length, bytes) that
//! build a valid [`Frame`] of every RESP2/RESP3 type, including chains of nested
//! aggregates around rcli's nesting limit, which random bytes rarely reach.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use rcli::protocol::resp::{Frame, MAX_DEPTH};

/// How deep ordinary (branching) aggregates and attributes go, and where chains may
/// start; from there on every frame is a leaf. Chains go past [`MAX_DEPTH`].
const BRANCHING_DEPTH: usize = 5;

/// A frame built from `data`, or `None` when the bytes run out before one is built.
pub fn generate(data: &[u8]) -> Option<Frame> {
    frame(&mut Unstructured::new(data), 0).ok()
}

/// How many levels below `frame` the parser must go: the parser refuses a frame at a
/// depth beyond [`MAX_DEPTH`], and elements (attributes too) sit one level deeper.
pub fn height(frame: &Frame) -> usize {
    let below = |frames: &mut dyn Iterator<Item = &Frame>| frames.map(height).max().map(|h| h + 1).unwrap_or(0);
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => below(&mut items.iter()),
        Frame::Map(pairs) => below(&mut pairs.iter().flat_map(|(k, v)| [k, v])),
        Frame::Attributed { attributes, reply } => {
            below(&mut attributes.iter().flat_map(|(k, v)| [k, v]).chain(std::iter::once(reply.as_ref())))
        }
        _ => 0,
    }
}

fn bytes(u: &mut Unstructured, max: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(0..=max)?;
    Ok(u.bytes(len)?.to_vec())
}

/// Bytes drawn from `alphabet` (at least `min` of them).
fn text_from(u: &mut Unstructured, alphabet: &[u8], min: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(min..=min + 12)?;
    (0..len).map(|_| u.choose(alphabet).copied()).collect()
}

fn integer(u: &mut Unstructured) -> Result<i64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => *u.choose(&[0, 1, -1, -2, i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1])?,
        1 => u.int_in_range(-300..=300)?,
        _ => u.arbitrary()?,
    })
}

fn items(u: &mut Unstructured, depth: usize) -> Result<Vec<Frame>> {
    let count = if depth < BRANCHING_DEPTH { u.int_in_range(0..=4)? } else { 0 };
    (0..count).map(|_| frame(u, depth + 1)).collect()
}

fn pairs(u: &mut Unstructured, depth: usize) -> Result<Vec<(Frame, Frame)>> {
    let count = if depth < BRANCHING_DEPTH { u.int_in_range(0..=3)? } else { 0 };
    (0..count).map(|_| Ok((frame(u, depth + 1)?, frame(u, depth + 1)?))).collect()
}

fn frame(u: &mut Unstructured, depth: usize) -> Result<Frame> {
    Ok(match u.int_in_range(0..=15)? {
        0 => Frame::Simple(
            bytes(u, 16)?.into_iter().map(|b| if b == b'\r' { b' ' } else { b }).collect::<Vec<_>>().into(),
        ),
        1 => Frame::Error(bytes(u, 16)?),
        2 => Frame::Integer(integer(u)?),
        3 => Frame::Bulk(bytes(u, 32)?),
        4 => Frame::Null,
        5 => Frame::Array(items(u, depth)?),
        6 => Frame::Set(items(u, depth)?),
        7 => Frame::Push(items(u, depth)?),
        8 => Frame::Map(pairs(u, depth)?),
        9 => Frame::Double(text_from(u, b"0123456789.-+einfa", 1)?),
        10 => Frame::Boolean(u.arbitrary()?),
        11 => {
            let mut digits = if u.arbitrary()? { b"-".to_vec() } else { Vec::new() };
            digits.extend(text_from(u, b"0123456789", 1)?);
            Frame::BigNumber(digits)
        }
        12 => Frame::Verbatim { format: u.bytes(3)?.to_vec(), text: bytes(u, 16)? },
        13 if depth < BRANCHING_DEPTH => {
            let attributes = pairs(u, depth)?;
            Frame::Attributed { attributes, reply: Box::new(frame(u, depth + 1)?) }
        }
        14 | 15 if depth < BRANCHING_DEPTH => chain(u)?,
        _ => Frame::Array(Vec::new()),
    })
}

/// A chain of single-element aggregates, from a few levels to just past the limit,
/// around a leaf (often an empty aggregate, the deepest frame the parser accepts).
fn chain(u: &mut Unstructured) -> Result<Frame> {
    let levels = u.int_in_range(1..=MAX_DEPTH + 3)?;
    let mut inner = match u.int_in_range(0..=3)? {
        0 => Frame::Array(Vec::new()),
        1 => Frame::Map(Vec::new()),
        2 => Frame::Integer(1),
        // A leaf (at BRANCHING_DEPTH no kind nests): chains of chains would nest
        // without bound and overflow the harness's own stack (encoding, comparing,
        // dropping), which the parser never lets a server do.
        _ => frame(u, BRANCHING_DEPTH)?,
    };
    let kinds = [b'*', b'~', b'>', b'%', b'|'];
    let kind = *u.choose(&kinds)?;
    for _ in 0..levels {
        inner = match kind {
            b'*' => Frame::Array(vec![inner]),
            b'~' => Frame::Set(vec![inner]),
            b'>' => Frame::Push(vec![inner]),
            b'%' => Frame::Map(vec![(Frame::Null, inner)]),
            _ => Frame::Attributed { attributes: Vec::new(), reply: Box::new(inner) },
        };
    }
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_frames_nest_a_bounded_depth() {
        let ceiling = MAX_DEPTH + 3 + BRANCHING_DEPTH + 1;
        for byte in [0xff, 0xfe, 0xee, 0x0e, 0x0d, 0x7f] {
            if let Some(frame) = generate(&vec![byte; 4096]) {
                assert!(height(&frame) <= ceiling, "{byte:#x}: {}", height(&frame));
            }
        }
    }

    #[test]
    fn heights_count_levels_below() {
        assert_eq!(height(&Frame::Integer(1)), 0);
        assert_eq!(height(&Frame::Array(vec![])), 0);
        assert_eq!(height(&Frame::Array(vec![Frame::Array(vec![])])), 1);
        let attributed = Frame::Attributed { attributes: vec![], reply: Box::new(Frame::Null) };
        assert_eq!(height(&attributed), 1);
    }
}
