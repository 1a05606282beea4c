//! What a routed command produced, and how several answers become one: a fan-out's
//! per-node replies combined under the command's `response_policy` tip, and the parts
//! of a split MGET/MSET/DEL/… merged back into the reply one command would have given
//! (or, when some parts failed, an error that says key by key what was applied).

use std::collections::BTreeMap;

use crate::cluster::commands::ResponsePolicy;
use crate::cluster::route::SplitKind;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;
use crate::protocol::split::repr_string;
use crate::protocol::text::escape_controls;

/// A node's role, for fan-out headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica,
    Unknown,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Unknown => "node",
        }
    }
}

/// One node's answer in a fan-out.
#[derive(Debug)]
pub struct NodeReply {
    pub endpoint: Endpoint,
    pub role: Role,
    pub result: Result<Frame, String>,
}

/// What a command produced.
#[derive(Debug)]
pub enum Reply {
    One(Frame),
    /// Several nodes answered; `combined` is set when a response policy merges them.
    Fanout {
        parts: Vec<NodeReply>,
        combined: Option<(ResponsePolicy, Frame)>,
    },
    /// A big array or set that was handed to the caller piece by piece as it arrived.
    Streamed,
    /// SHUTDOWN closed the link, as it does when it succeeds: nothing to show.
    Ended,
}

/// One slot's share of a split command: the positions of its keys in the original
/// command, and its reply or why it got none.
#[derive(Debug)]
pub struct Part {
    pub positions: Vec<usize>,
    pub result: Result<Frame, String>,
}

impl Part {
    fn failure(&self) -> Option<String> {
        match &self.result {
            Ok(frame) => frame.as_error().map(|e| String::from_utf8_lossy(e).into_owned()),
            Err(text) => Some(text.clone()),
        }
    }
}

/// Merges the parts of a split command into the reply one command would have given.
/// When some parts failed, the reply is an error naming the keys that were applied
/// and, one line per failed part, those that were not (the command was never atomic).
pub fn merge_split(argv: &[Vec<u8>], kind: SplitKind, parts: Vec<Part>) -> Frame {
    let failures: Vec<(usize, String)> =
        parts.iter().enumerate().filter_map(|(i, p)| p.failure().map(|f| (i, f))).collect();
    if !failures.is_empty() {
        return partial_failure(argv, &parts, &failures);
    }
    let frames = parts.into_iter().filter_map(|p| p.result.ok().map(|f| (p.positions, f)));
    match kind {
        SplitKind::Sum => Frame::Integer(frames.filter_map(|(_, f)| f.as_integer()).fold(0, i64::saturating_add)),
        SplitKind::Mset => Frame::Simple(b"OK".as_slice().into()),
        SplitKind::Mget => {
            let mut by_position: BTreeMap<usize, Frame> = BTreeMap::new();
            for (positions, frame) in frames {
                let values = match frame {
                    Frame::Array(values) if values.len() == positions.len() => values,
                    _ => return Frame::Error(b"ERR a part of the split MGET did not answer with its values".to_vec()),
                };
                by_position.extend(positions.into_iter().zip(values));
            }
            Frame::Array(by_position.into_values().collect())
        }
    }
}

fn partial_failure(argv: &[Vec<u8>], parts: &[Part], failures: &[(usize, String)]) -> Frame {
    if let Some((_, first)) = failures.first()
        && failures.len() == parts.len()
        && failures.iter().all(|(_, f)| f == first)
    {
        return Frame::Error(first.clone().into_bytes());
    }
    let keys = |part: &Part| -> String {
        part.positions.iter().filter_map(|&p| argv.get(p)).map(|k| repr_string(k)).collect::<Vec<_>>().join(" ")
    };
    let name = String::from_utf8_lossy(argv.first().map(Vec::as_slice).unwrap_or_default()).to_uppercase();
    let reads = name == "MGET" || name == "EXISTS";
    let (done, not_done) = if reads { ("answered", "failed") } else { ("applied", "not applied") };
    let mut text = format!("PARTIAL {name}: {} of {} parts failed (not atomic)", failures.len(), parts.len());
    let succeeded: Vec<String> =
        parts.iter().filter(|p| p.failure().is_none()).map(keys).filter(|k| !k.is_empty()).collect();
    text.push_str(&format!("\n  {done}: {}", if succeeded.is_empty() { "none".into() } else { succeeded.join(" ") }));
    for (index, failure) in failures {
        if let Some(part) = parts.get(*index) {
            text.push_str(&format!("\n  {not_done}: {}: {}", keys(part), first_line(failure)));
        }
    }
    Frame::Error(text.into_bytes())
}

/// The first line of a server's error text, safe to print.
fn first_line(text: &str) -> String {
    escape_controls(text.lines().next().unwrap_or_default(), false).into_owned()
}

/// Combines several nodes' replies under `policy`; `None` when the policy defines no
/// single answer (or the replies do not fit it). A sum, minimum, maximum or logical
/// fold over nodes that did not all answer is no answer: an error names how many did
/// not, and why the first did not (never a partial total that looks whole).
pub fn combine(policy: ResponsePolicy, parts: &[NodeReply]) -> Option<Frame> {
    let frames: Vec<&Frame> = parts.iter().filter_map(|p| p.result.as_ref().ok()).collect();
    let all_answered = frames.len() == parts.len();
    let unanswered = (!all_answered).then(|| {
        let why = parts.iter().find_map(|p| p.result.as_ref().err()).map(|e| first_line(e)).unwrap_or_default();
        let missing = parts.len().saturating_sub(frames.len());
        Frame::Error(format!("ERR {missing} of {} nodes did not answer: {why}", parts.len()).into_bytes())
    });
    let first_error = frames.iter().find(|f| f.as_error().is_some()).copied().or(unanswered.as_ref());
    match policy {
        ResponsePolicy::AllSucceeded => Some(match first_error {
            Some(e) => e.clone(),
            None => frames.first().map(|f| (*f).clone())?,
        }),
        ResponsePolicy::OneSucceeded => {
            frames.iter().find(|f| f.as_error().is_none()).or(frames.last()).map(|f| (*f).clone())
        }
        ResponsePolicy::AggSum | ResponsePolicy::AggMin | ResponsePolicy::AggMax => {
            if let Some(e) = first_error {
                return Some(e.clone());
            }
            let numbers: Option<Vec<i64>> = frames.iter().map(|f| f.as_integer()).collect();
            let numbers = numbers.filter(|n| !n.is_empty())?;
            Some(Frame::Integer(match policy {
                ResponsePolicy::AggSum => numbers.iter().fold(0, |a, b| a.saturating_add(*b)),
                ResponsePolicy::AggMin => *numbers.iter().min()?,
                _ => *numbers.iter().max()?,
            }))
        }
        ResponsePolicy::AggLogicalAnd | ResponsePolicy::AggLogicalOr => {
            if let Some(e) = first_error {
                return Some(e.clone());
            }
            let and = policy == ResponsePolicy::AggLogicalAnd;
            let fold = |values: Vec<i64>| {
                if and { values.iter().all(|&v| v != 0) } else { values.iter().any(|&v| v != 0) }
            };
            if frames.iter().all(|f| f.as_integer().is_some()) {
                let result = fold(frames.iter().filter_map(|f| f.as_integer()).collect());
                return Some(Frame::Integer(i64::from(result)));
            }
            let arrays: Option<Vec<&[Frame]>> = frames.iter().map(|f| f.as_items()).collect();
            let arrays = arrays?;
            let len = arrays.first()?.len();
            let combined = (0..len)
                .map(|i| {
                    let result = fold(arrays.iter().filter_map(|a| a.get(i).and_then(Frame::as_integer)).collect());
                    Frame::Integer(i64::from(result))
                })
                .collect();
            Some(Frame::Array(combined))
        }
        ResponsePolicy::Special => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Vec<u8>> {
        line.split(' ').map(|s| s.as_bytes().to_vec()).collect()
    }

    fn ok(frame: Frame, positions: &[usize]) -> Part {
        Part { positions: positions.to_vec(), result: Ok(frame) }
    }

    #[test]
    fn split_mget_merges_in_key_order() {
        let cmd = argv("MGET foo bar foo2");
        let parts = vec![
            ok(Frame::Array(vec![Frame::Bulk(b"1".to_vec()), Frame::Bulk(b"3".to_vec())]), &[1, 3]),
            ok(Frame::Array(vec![Frame::Null]), &[2]),
        ];
        assert_eq!(
            merge_split(&cmd, SplitKind::Mget, parts),
            Frame::Array(vec![Frame::Bulk(b"1".to_vec()), Frame::Null, Frame::Bulk(b"3".to_vec())])
        );
    }

    #[test]
    fn a_half_applied_mset_names_the_keys_applied_and_not() {
        let cmd = argv("MSET {m}1 X {m}3 X {n}1 CHANGED");
        let parts = vec![
            ok(Frame::Error(b"TRYAGAIN Multiple keys request during rehashing of slot".to_vec()), &[1, 3]),
            ok(Frame::Simple(b"OK".as_slice().into()), &[5]),
        ];
        let Frame::Error(text) = merge_split(&cmd, SplitKind::Mset, parts) else { panic!("an error") };
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "PARTIAL MSET: 1 of 2 parts failed (not atomic)\n  applied: \"{n}1\"\n  not applied: \"{m}1\" \"{m}3\": \
             TRYAGAIN Multiple keys request during rehashing of slot"
        );
    }

    #[test]
    fn parts_that_all_fail_alike_are_one_plain_error() {
        let cmd = argv("DEL a b");
        let parts =
            vec![ok(Frame::Error(b"CLUSTERDOWN x".to_vec()), &[1]), ok(Frame::Error(b"CLUSTERDOWN x".to_vec()), &[2])];
        assert_eq!(merge_split(&cmd, SplitKind::Sum, parts), Frame::Error(b"CLUSTERDOWN x".to_vec()));
        let parts =
            vec![Part { positions: vec![1], result: Err("127.0.0.1:1 is down".into()) }, ok(Frame::Integer(1), &[2])];
        let Frame::Error(text) = merge_split(&cmd, SplitKind::Sum, parts) else { panic!("an error") };
        assert!(String::from_utf8_lossy(&text).contains("not applied: \"a\": 127.0.0.1:1 is down"));
    }

    #[test]
    fn response_policies_combine() {
        let part = |f: Frame| NodeReply { endpoint: Endpoint::tcp("h", 1), role: Role::Primary, result: Ok(f) };
        let parts = vec![part(Frame::Integer(2)), part(Frame::Integer(5))];
        assert_eq!(combine(ResponsePolicy::AggSum, &parts), Some(Frame::Integer(7)));
        assert_eq!(combine(ResponsePolicy::AggMin, &parts), Some(Frame::Integer(2)));
        assert_eq!(combine(ResponsePolicy::AggMax, &parts), Some(Frame::Integer(5)));
        let arrays = vec![
            part(Frame::Array(vec![Frame::Integer(1), Frame::Integer(1)])),
            part(Frame::Array(vec![Frame::Integer(1), Frame::Integer(0)])),
        ];
        assert_eq!(
            combine(ResponsePolicy::AggLogicalAnd, &arrays),
            Some(Frame::Array(vec![Frame::Integer(1), Frame::Integer(0)]))
        );
        let oks = vec![part(Frame::Simple(b"OK".as_slice().into())), part(Frame::Error(b"ERR x".to_vec()))];
        assert_eq!(combine(ResponsePolicy::AllSucceeded, &oks), Some(Frame::Error(b"ERR x".to_vec())));
        assert_eq!(combine(ResponsePolicy::OneSucceeded, &oks), Some(Frame::Simple(b"OK".as_slice().into())));
        let failed =
            || NodeReply { endpoint: Endpoint::tcp("h", 2), role: Role::Primary, result: Err("h:2: gone".into()) };
        let partial = vec![part(Frame::Integer(2)), failed(), failed()];
        let not_all = Some(Frame::Error(b"ERR 2 of 3 nodes did not answer: h:2: gone".to_vec()));
        for policy in [ResponsePolicy::AggSum, ResponsePolicy::AggMax, ResponsePolicy::AggLogicalOr] {
            assert_eq!(combine(policy, &partial), not_all, "{policy:?}: no partial total");
        }
        let huge = vec![part(Frame::Integer(i64::MAX)), part(Frame::Integer(1))];
        assert_eq!(combine(ResponsePolicy::AggSum, &huge), Some(Frame::Integer(i64::MAX)), "no overflow");
    }
}
