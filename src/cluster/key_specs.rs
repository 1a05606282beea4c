//! Key-specs: how a command's `COMMAND` entry says where its keys are (begin search,
//! find keys), read with every server number checked, and Redis's own
//! `getKeysUsingKeySpecs` over an argument list, plus the two cases key-specs cannot
//! describe (SORT … STORE, found as `sortGetKeys` does). [`crate::cluster::commands`]
//! keeps the table; this file only reads specs and applies them.

use crate::protocol::resp::{self, Frame, field};

/// Where the search for keys starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BeginSearch {
    Index(i64),
    Keyword { keyword: Vec<u8>, start_from: i64 },
    Unknown,
}

/// How keys are found from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FindKeys {
    Range { last_key: i64, key_step: i64, limit: i64 },
    Keynum { keynum_index: i64, first_key: i64, key_step: i64 },
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeySpec {
    pub(super) begin: BeginSearch,
    pub(super) find: FindKeys,
}

/// Key-spec numbers (indices, steps, limits) beyond this are not believed: real
/// commands use single digits, and a server could send `i64::MAX`.
pub(super) const SPEC_NUMBER_LIMIT: i64 = 1 << 20;

/// A key-spec number: absent is 0; out of range makes the whole spec unusable.
fn int_field(pairs: &[(&Frame, &Frame)], name: &str) -> Option<i64> {
    match field(pairs, name) {
        None => Some(0),
        Some(frame) => frame.as_integer().filter(|n| (-SPEC_NUMBER_LIMIT..=SPEC_NUMBER_LIMIT).contains(n)),
    }
}

pub(super) fn parse_key_spec(frame: &Frame) -> Option<KeySpec> {
    let pairs = frame.to_pairs()?;
    let begin_pairs = field(&pairs, "begin_search")?.to_pairs()?;
    let begin_spec = field(&begin_pairs, "spec").and_then(Frame::to_pairs).unwrap_or_default();
    let begin = match text(field(&begin_pairs, "type")?)?.as_str() {
        "index" => BeginSearch::Index(int_field(&begin_spec, "index")?),
        "keyword" => BeginSearch::Keyword {
            keyword: field(&begin_spec, "keyword")?.as_bytes()?.to_vec(),
            start_from: int_field(&begin_spec, "startfrom")?,
        },
        _ => BeginSearch::Unknown,
    };
    let find_pairs = field(&pairs, "find_keys")?.to_pairs()?;
    let find_spec = field(&find_pairs, "spec").and_then(Frame::to_pairs).unwrap_or_default();
    let find = match text(field(&find_pairs, "type")?)?.as_str() {
        "range" => FindKeys::Range {
            last_key: int_field(&find_spec, "lastkey")?,
            key_step: int_field(&find_spec, "keystep")?.max(1),
            limit: int_field(&find_spec, "limit")?,
        },
        "keynum" => FindKeys::Keynum {
            keynum_index: int_field(&find_spec, "keynumidx")?,
            first_key: int_field(&find_spec, "firstkey")?,
            key_step: int_field(&find_spec, "keystep")?.max(1),
        },
        _ => FindKeys::Unknown,
    };
    Some(KeySpec { begin, find })
}

fn text(frame: &Frame) -> Option<String> {
    frame.to_text().map(|t| t.to_ascii_lowercase())
}

/// The number of arguments as a key-spec number (commands never come near i64::MAX).
fn arg_count<A>(args: &[A]) -> i64 {
    i64::try_from(args.len()).unwrap_or(i64::MAX)
}

/// Pushes the positions `first..=last` by `step` that exist in `args` (position 0 is
/// the command name, never a key). Numbers come from the server: every step is checked.
pub(super) fn push_range<A: AsRef<[u8]>>(positions: &mut Vec<usize>, first: i64, last: i64, step: i64, args: &[A]) {
    let argc = arg_count(args);
    let last = if last < 0 { argc.saturating_add(last) } else { last };
    let step = step.max(1);
    let mut i = first;
    while i <= last && i < argc {
        if let Some(position) = usize::try_from(i).ok().filter(|&p| p >= 1) {
            positions.push(position);
        }
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
}

/// Redis's `getKeysUsingKeySpecs` for one spec. A spec that does not fit `args` (a
/// syntax error the server will report) yields no keys.
pub(super) fn keys_from_spec<A: AsRef<[u8]>>(spec: &KeySpec, args: &[A], positions: &mut Vec<usize>) {
    let argc = arg_count(args);
    let arg = |i: i64| usize::try_from(i).ok().and_then(|i| args.get(i)).map(AsRef::as_ref);
    let first = match &spec.begin {
        BeginSearch::Index(i) => *i,
        BeginSearch::Keyword { keyword, start_from } => {
            let is_keyword = |i: &i64| arg(*i).is_some_and(|a| a.eq_ignore_ascii_case(keyword));
            let found = if *start_from > 0 {
                (*start_from..argc).find(is_keyword)
            } else {
                (1..=argc.saturating_add(*start_from)).rev().find(is_keyword)
            };
            match found {
                Some(i) => i.saturating_add(1),
                None => return,
            }
        }
        BeginSearch::Unknown => return,
    };
    let (last, step) = match &spec.find {
        FindKeys::Range { last_key, key_step, limit } => {
            let last = if *last_key >= 0 {
                first.checked_add(*last_key)
            } else if *limit <= 1 {
                argc.checked_add(*last_key)
            } else {
                argc.checked_sub(first)
                    .and_then(|rest| rest.checked_div(*limit))
                    .and_then(|n| n.checked_add(*last_key))
                    .and_then(|n| first.checked_add(n))
            };
            (last, *key_step)
        }
        FindKeys::Keynum { keynum_index, first_key, key_step } => {
            let Some(count_arg) = first.checked_add(*keynum_index).and_then(arg) else { return };
            let Some(numkeys) = resp::parse_i64(count_arg).filter(|n| *n >= 0 && *n < argc) else { return };
            let Some(start) = first.checked_add(*first_key) else { return };
            return push_keys(
                positions,
                start,
                start.checked_add(numkeys).and_then(|n| n.checked_sub(1)),
                *key_step,
                argc,
            );
        }
        FindKeys::Unknown => return,
    };
    push_keys(positions, first, last, step, argc);
}

/// The positions `first..=last` by `step`, only when the whole range fits the command.
fn push_keys(positions: &mut Vec<usize>, first: i64, last: Option<i64>, step: i64, argc: i64) {
    let Some(last) = last else { return };
    if first < 1 || first >= argc || last >= argc || last < first {
        return;
    }
    let mut i = first;
    while i <= last {
        if let Ok(position) = usize::try_from(i) {
            positions.push(position);
        }
        match i.checked_add(step.max(1)) {
            Some(next) => i = next,
            None => break,
        }
    }
}

/// SORT's STORE destination, found the way Redis's `sortGetKeys` does: skip the
/// arguments of LIMIT (2), BY and GET (1) so a pattern named "store" is not mistaken.
pub(super) fn sort_store_key<A: AsRef<[u8]>>(args: &[A]) -> Option<usize> {
    let mut i = 2;
    let mut found = None;
    while let Some(word) = args.get(i).map(AsRef::as_ref) {
        let skip = if word.eq_ignore_ascii_case(b"limit") {
            2
        } else if word.eq_ignore_ascii_case(b"get") || word.eq_ignore_ascii_case(b"by") {
            1
        } else if word.eq_ignore_ascii_case(b"store") {
            if i + 1 < args.len() {
                found = Some(i + 1);
            }
            1
        } else {
            0
        };
        i = i.saturating_add(skip + 1);
    }
    found
}
