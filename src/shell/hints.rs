//! Argument hints: the typed words matched against a command's argument tree from
//! COMMAND DOCS, giving the rest of the syntax as redis-cli 7.2+ shows it (matched
//! arguments disappear; a line that does not fit the syntax gets no hint), and the
//! tokens that are valid next (for completion). Pure functions, no I/O.

use crate::shell::docs::{Arg, ArgKind, arg_syntax};

/// How far the typed words got into one argument or a sequence of them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fit {
    /// Fully matched, next word at this index.
    Full(usize),
    /// The words ran out inside: the rest of the syntax to show.
    Partial(String),
    /// The words do not fit.
    No,
}

fn fits_type(kind: ArgKind, word: &str) -> bool {
    match kind {
        ArgKind::Integer | ArgKind::UnixTime => word.parse::<i64>().is_ok(),
        ArgKind::Double => {
            let w = word.to_ascii_lowercase();
            w.parse::<f64>().is_ok() || matches!(w.as_str(), "inf" | "+inf" | "-inf") || w.starts_with('(')
        }
        _ => true,
    }
}

fn join(parts: &[String]) -> String {
    parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(" ")
}

/// The syntax of an argument already matched once that may repeat: `[key ...]`.
fn repeat_syntax(arg: &Arg) -> String {
    let mut once = arg.clone();
    once.multiple = false;
    once.optional = false;
    if !arg.multiple_token {
        once.token = None;
    }
    format!("[{} ...]", arg_syntax(&once))
}

/// Matches one occurrence of `arg` (ignoring `optional`/`multiple`) at `words[pos..]`.
fn fit_once(arg: &Arg, words: &[&str], pos: usize, with_token: bool) -> Fit {
    let mut pos = pos;
    if with_token && let Some(token) = &arg.token {
        match words.get(pos) {
            Some(w) if w.eq_ignore_ascii_case(token) => pos += 1,
            _ => return Fit::No,
        }
        if arg.kind == ArgKind::PureToken {
            return Fit::Full(pos);
        }
        if pos == words.len() {
            let mut rest = arg.clone();
            rest.token = None;
            rest.optional = false;
            rest.multiple = false;
            return Fit::Partial(arg_syntax(&rest));
        }
    }
    let Some(word) = words.get(pos) else { return Fit::No };
    match arg.kind {
        ArgKind::PureToken => Fit::No,
        ArgKind::OneOf => {
            // Alternatives that start with a token win over a bare string that would
            // swallow any word (CLIENT KILL's old `ip:port` form versus `ID client-id`).
            let (tokened, bare): (Vec<&Arg>, Vec<&Arg>) = arg.children.iter().partition(|c| starts_with_token(c));
            for child in tokened.into_iter().chain(bare) {
                match fit_arg(child, words, pos) {
                    Fit::No => continue,
                    other => return other,
                }
            }
            Fit::No
        }
        ArgKind::Block => fit_sequence(&arg.children, words, pos),
        kind if fits_type(kind, word) => Fit::Full(pos + 1),
        _ => Fit::No,
    }
}

fn starts_with_token(arg: &Arg) -> bool {
    arg.token.is_some()
        || match arg.kind {
            ArgKind::OneOf => arg.children.iter().all(starts_with_token),
            ArgKind::Block => arg.children.first().is_some_and(starts_with_token),
            _ => false,
        }
}

/// Matches `arg` with its repetition (`multiple`) at `words[pos..]`.
fn fit_arg(arg: &Arg, words: &[&str], pos: usize) -> Fit {
    match fit_once(arg, words, pos, true) {
        Fit::Full(mut next) if arg.multiple => loop {
            if next == words.len() {
                return Fit::Full(next);
            }
            match fit_once(arg, words, next, arg.multiple_token) {
                Fit::Full(n) if n > next => next = n,
                Fit::Partial(rest) => return Fit::Partial(join(&[rest, repeat_syntax(arg)])),
                _ => return Fit::Full(next),
            }
        },
        Fit::Partial(rest) if arg.multiple => Fit::Partial(join(&[rest, repeat_syntax(arg)])),
        other => other,
    }
}

/// Matches a sequence of arguments (a command's, or a block's) at `words[pos..]`.
/// Optional arguments in a run may come in any order; matched ones leave the hint.
#[allow(
    clippy::indexing_slicing,
    reason = "`used`, `repeated` and `args` have one entry per argument and every index runs below `args.len()`"
)]
fn fit_sequence(args: &[Arg], words: &[&str], mut pos: usize) -> Fit {
    let mut i = 0;
    let mut used = vec![false; args.len()];
    let mut repeated = vec![false; args.len()];
    let rest_of = |from: usize, used: &[bool], repeated: &[bool]| -> Vec<String> {
        (from..args.len())
            .filter(|&k| !used[k] || repeated[k])
            .map(|k| if repeated[k] { repeat_syntax(&args[k]) } else { arg_syntax(&args[k]) })
            .collect()
    };
    while pos < words.len() {
        let run_end = (i..args.len()).find(|&k| !args[k].optional).unwrap_or(args.len());
        let mut advanced = false;
        for k in (i..run_end).filter(|&k| !used[k] || args[k].multiple) {
            match fit_arg(&args[k], words, pos) {
                Fit::Full(next) if next > pos => {
                    used[k] = true;
                    repeated[k] = args[k].multiple;
                    pos = next;
                    advanced = true;
                    break;
                }
                Fit::Partial(rest) => {
                    used[k] = true;
                    repeated[k] = false;
                    let mut parts = vec![rest];
                    parts.extend(rest_of(i, &used, &repeated));
                    return Fit::Partial(join(&parts));
                }
                _ => {}
            }
        }
        if advanced {
            continue;
        }
        if run_end == args.len() {
            // Nothing more here fits: the caller decides about the remaining words.
            return Fit::Full(pos);
        }
        match fit_arg(&args[run_end], words, pos) {
            Fit::Full(next) => {
                used[run_end] = true;
                repeated[run_end] = args[run_end].multiple;
                pos = next;
                // Optionals before a matched required argument can no longer come.
                for k in i..run_end {
                    used[k] = true;
                    repeated[k] = false;
                }
                i = if args[run_end].multiple { run_end } else { run_end + 1 };
            }
            Fit::Partial(rest) => {
                let mut parts = vec![rest];
                parts.extend(rest_of(run_end + 1, &used, &repeated));
                return Fit::Partial(join(&parts));
            }
            Fit::No => return Fit::No,
        }
    }
    Fit::Partial(join(&rest_of(i, &used, &repeated)))
}

/// The hint for a command whose arguments are `args`, after the complete `words`
/// typed so far (the command name excluded). `None` when the words do not fit.
pub fn hint(args: &[Arg], words: &[&str]) -> Option<String> {
    match fit_sequence(args, words, 0) {
        Fit::Partial(text) => Some(text),
        Fit::Full(used) if used == words.len() => Some(String::new()),
        Fit::Full(_) | Fit::No => None,
    }
}

/// Tokens (`NX`, `EX`, `WITHSCORES`…) that may come next after `words`, for completion.
pub fn next_tokens(args: &[Arg], words: &[&str]) -> Vec<String> {
    let Some(rest) = hint(args, words) else { return Vec::new() };
    let mut tokens = Vec::new();
    let mut token = String::new();
    for c in rest.chars() {
        if c.is_ascii_uppercase() || c == '_' || c == '-' || (c.is_ascii_digit() && !token.is_empty()) {
            token.push(c);
        } else {
            if token.len() > 1 && token.chars().any(|ch| ch.is_ascii_uppercase()) && !tokens.contains(&token) {
                tokens.push(token.clone());
            }
            token.clear();
        }
    }
    if token.len() > 1 && !tokens.contains(&token) {
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::docs::Docs;

    fn hint_for(line: &str) -> Option<String> {
        let docs = Docs::builtin();
        let words: Vec<&str> = line.split_whitespace().collect();
        let (entry, used) = match docs.lookup(&words) {
            Some(e) => (e, e.words().len()),
            None => return None,
        };
        hint(&entry.args, &words[used..])
    }

    /// Cases from redis-cli's own hint test suite (tests/assets/test_cli_hint_suite.txt).
    #[test]
    fn hints_track_typed_arguments_like_redis_cli() {
        let cases = [
            (
                "SET",
                "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
            ),
            (
                "SET key",
                "value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
            ),
            (
                "SET key value",
                "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
            ),
            ("SET key value EX", "seconds [NX|XX] [GET]"),
            ("SET key value EX 23", "[NX|XX] [GET]"),
            (
                "SET key value NX",
                "[GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
            ),
            (
                "SET key value GET NX",
                "[EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
            ),
            ("ZADD key 0", "member [score member ...]"),
            ("ZADD key 0 m", "[score member ...]"),
            ("ZADD key NX 1 m 2", "member [score member ...]"),
            ("SCAN 2", "[MATCH pattern] [COUNT count] [TYPE type]"),
            ("SCAN 2 COUNT", "count [MATCH pattern] [TYPE type]"),
            ("SCAN 2 COUNT 10 MATCH", "pattern [TYPE type]"),
            (
                "XADD key",
                "[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]",
            ),
            ("XADD key * f", "value [field value ...]"),
            // Redis 7.0 documents CLIENT KILL as "old form | repeated filters".
            (
                "CLIENT KILL",
                "ip:port|[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] [[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] ...]",
            ),
            (
                "CLIENT KILL TYPE",
                "NORMAL|MASTER|SLAVE|REPLICA|PUBSUB [[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] ...]",
            ),
            ("CLIENT KILL ID 7 SKIPME yes", ""),
            ("DEL a", "[key ...]"),
        ];
        for (line, expected) in cases {
            assert_eq!(hint_for(line).as_deref(), Some(expected), "hint for {line:?}");
        }
    }

    #[test]
    fn lines_that_do_not_fit_get_no_hint() {
        assert_eq!(hint_for("SET key value FOOBAR"), None);
        assert_eq!(hint_for("SCAN notanumber"), None);
        assert_eq!(hint_for("SET key value EX notanumber"), None);
    }

    #[test]
    fn next_tokens_for_completion() {
        let docs = Docs::builtin();
        let set = docs.lookup(&["SET"]).unwrap();
        let tokens = next_tokens(&set.args, &["k", "v"]);
        for t in ["NX", "XX", "GET", "EX", "PX", "EXAT", "PXAT", "KEEPTTL"] {
            assert!(tokens.contains(&t.to_string()), "{t} in {tokens:?}");
        }
    }
}
