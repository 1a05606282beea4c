//! The question before a dangerous command typed at a terminal (FLUSHALL, KEYS, …):
//! which commands ask and the line that says what they will hit are decided here, pure
//! ([`danger`], [`question`]); [`ask`] finds the targets, counts their keys with one
//! pipelined DBSIZE each (bounded) and reads the answer. Never asked when stdin is not
//! a terminal, with `--yes` or after `:set confirm off` (docs/shell.md).

use std::time::{Duration, Instant};

use crate::cluster::reply::Role;
use crate::cluster::route::Plan;
use crate::endpoint::Endpoint;
use crate::protocol::encode::encode_command;
use crate::protocol::text::escape_controls;
use crate::session::Session;

/// How long the key count may take, all nodes together, before the question goes
/// without the ones that have not answered.
const COUNT_WAIT: Duration = Duration::from_secs(2);

/// The name to show when `argv` must be confirmed before it reaches `targets` nodes:
/// FLUSHALL, FLUSHDB, KEYS, SHUTDOWN, DEBUG …, CLUSTER RESET|FAILOVER, SCRIPT|FUNCTION
/// FLUSH always; CONFIG SET only when it reaches several nodes.
pub fn danger(argv: &[Vec<u8>], targets: usize) -> Option<String> {
    let word = |i: usize| argv.get(i).map(|w| String::from_utf8_lossy(w).to_ascii_uppercase());
    let name = word(0)?;
    let sub = word(1).unwrap_or_default();
    let shown = match (name.as_str(), sub.as_str()) {
        ("FLUSHALL" | "FLUSHDB" | "KEYS" | "SHUTDOWN", _) => name,
        ("DEBUG", _) => format!("DEBUG {sub}").trim_end().to_string(),
        ("CLUSTER", "RESET" | "FAILOVER") | ("SCRIPT" | "FUNCTION", "FLUSH") => format!("{name} {sub}"),
        ("CONFIG", "SET") if targets > 1 => format!("{name} {sub}"),
        _ => return None,
    };
    Some(escape_controls(&shown, false).into_owned())
}

/// What DBSIZE said on the targets that hold data of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyCount {
    pub keys: u64,
    /// Nodes that did not say (unreachable, slow, refused).
    pub unknown: usize,
}

/// `1204332` → `1,204,332`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && digits.len().saturating_sub(i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one line asked: `FLUSHALL on 3 primaries holding 1,204,332 keys — type yes to
/// go on: `. One target is named by its address.
pub fn question(name: &str, targets: &[(Endpoint, Role)], count: KeyCount) -> String {
    let primaries = targets.iter().filter(|(_, r)| *r == Role::Primary).count();
    let replicas = targets.iter().filter(|(_, r)| *r == Role::Replica).count();
    let others = targets.len().saturating_sub(primaries).saturating_sub(replicas);
    let whom = match targets {
        [(endpoint, _)] => endpoint.to_string(),
        _ => {
            let mut parts = Vec::new();
            if primaries > 0 {
                parts.push(plural(primaries, "primary", "primaries"));
            }
            if replicas > 0 {
                parts.push(plural(replicas, "replica", "replicas"));
            }
            if others > 0 {
                parts.push(plural(others, "node", "nodes"));
            }
            parts.join(" and ")
        }
    };
    let holding = match count {
        KeyCount { unknown: 0, keys } => {
            format!("holding {} {}", grouped(keys), if keys == 1 { "key" } else { "keys" })
        }
        KeyCount { keys: 0, .. } if count.unknown == targets.len() => "(key count unknown)".to_string(),
        KeyCount { keys, unknown } => {
            format!("holding at least {} keys ({} did not say)", grouped(keys), plural(unknown, "node", "nodes"))
        }
    };
    format!("{name} on {whom} {holding} — type yes to go on: ")
}

/// Only `yes` (any case, spaces around) goes on.
pub fn is_yes(answer: &str) -> bool {
    answer.trim().eq_ignore_ascii_case("yes")
}

/// The nodes `argv` would reach, with their roles.
fn targets(session: &mut Session, argv: &[Vec<u8>]) -> Vec<(Endpoint, Role)> {
    let command = session.client.command(argv.to_vec());
    let endpoints = match session.client.plan(&command) {
        Ok(Plan::Node(endpoint) | Plan::Slot { endpoint, .. }) => vec![endpoint],
        Ok(Plan::Fanout { nodes, .. }) => nodes,
        Ok(Plan::Split { groups, .. }) => {
            let mut owners: Vec<Endpoint> = groups.iter().filter_map(|(slot, _)| session.client.owner(*slot)).collect();
            owners.dedup();
            owners
        }
        Err(_) => Vec::new(),
    };
    endpoints.into_iter().map(|e| (e.clone(), session.client.role_of(&e))).collect()
}

/// DBSIZE on every target holding its own data (replicas only when nothing else is
/// hit), all sent before any reply is read; [`COUNT_WAIT`] in all, Ctrl-C stops it.
fn count_keys(session: &mut Session, targets: &[(Endpoint, Role)]) -> KeyCount {
    let all_replicas = targets.iter().all(|(_, r)| *r == Role::Replica);
    let counted: Vec<&Endpoint> =
        targets.iter().filter(|(_, r)| all_replicas || *r != Role::Replica).map(|(e, _)| e).collect();
    let mut request = Vec::new();
    encode_command(&[b"DBSIZE"], &mut request);
    let pool = session.client.pool();
    let mut sent = Vec::new();
    let mut count = KeyCount::default();
    let deadline = Instant::now() + COUNT_WAIT;
    for endpoint in counted {
        if Instant::now() >= deadline {
            count.unknown += 1;
            continue;
        }
        match pool.borrow(endpoint) {
            Ok(mut exchange) => {
                if exchange.send(&request, 1).is_ok() {
                    sent.push(exchange);
                } else {
                    pool.give_back(exchange);
                    count.unknown += 1;
                }
            }
            Err(_) => count.unknown += 1,
        }
    }
    for mut exchange in sent {
        // One bound for them all: a node still silent at the deadline is not waited for
        // (its connection, owing a reply, is closed).
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        match exchange.read(Some(left)).ok().and_then(|f| f.as_integer()) {
            Some(n) => count.keys = count.keys.saturating_add(u64::try_from(n).unwrap_or(0)),
            None => count.unknown += 1,
        }
        pool.give_back(exchange);
    }
    count
}

/// Asks before a dangerous `argv`; true when it may run (not dangerous, or `yes`).
pub fn ask(session: &mut Session, argv: &[Vec<u8>]) -> bool {
    // Cheap first look: most commands are not dangerous whatever they reach.
    if danger(argv, usize::MAX).is_none() {
        return true;
    }
    let targets = targets(session, argv);
    let Some(name) = danger(argv, targets.len()) else { return true };
    if targets.is_empty() {
        return true;
    }
    let count = count_keys(session, &targets);
    let _ = session.printer.flush();
    let prompt = question(&name, &targets, count);
    let answer = match rustyline::DefaultEditor::new() {
        Ok(mut editor) => editor.readline(&prompt).unwrap_or_default(),
        Err(_) => String::new(),
    };
    is_yes(&answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn node(port: u16, role: Role) -> (Endpoint, Role) {
        (Endpoint::Tcp { host: "127.0.0.1".into(), port }, role)
    }

    #[test]
    fn dangerous_commands_are_recognised_in_any_case() {
        assert_eq!(danger(&argv(&["flushall"]), 1).as_deref(), Some("FLUSHALL"));
        assert_eq!(danger(&argv(&["FlushDB", "async"]), 1).as_deref(), Some("FLUSHDB"));
        assert_eq!(danger(&argv(&["keys", "*"]), 1).as_deref(), Some("KEYS"));
        assert_eq!(danger(&argv(&["shutdown", "nosave"]), 1).as_deref(), Some("SHUTDOWN"));
        assert_eq!(danger(&argv(&["cluster", "reset", "hard"]), 1).as_deref(), Some("CLUSTER RESET"));
        assert_eq!(danger(&argv(&["cluster", "failover"]), 1).as_deref(), Some("CLUSTER FAILOVER"));
        assert_eq!(danger(&argv(&["debug", "sleep", "1"]), 1).as_deref(), Some("DEBUG SLEEP"));
        assert_eq!(danger(&argv(&["debug"]), 1).as_deref(), Some("DEBUG"));
        assert_eq!(danger(&argv(&["script", "flush"]), 1).as_deref(), Some("SCRIPT FLUSH"));
        assert_eq!(danger(&argv(&["function", "flush", "sync"]), 1).as_deref(), Some("FUNCTION FLUSH"));
        assert_eq!(danger(&argv(&["debug", "\x1b[2J"]), 1).as_deref(), Some("DEBUG \\x1b[2J"));
    }

    #[test]
    fn config_set_asks_only_on_several_nodes_and_safe_commands_never() {
        assert_eq!(danger(&argv(&["config", "set", "maxmemory", "1"]), 1), None);
        assert_eq!(danger(&argv(&["config", "set", "maxmemory", "1"]), 3).as_deref(), Some("CONFIG SET"));
        for safe in [&["get", "k"][..], &["config", "get", "x"], &["cluster", "info"], &["script", "load", "x"], &[]] {
            assert_eq!(danger(&argv(safe), 6), None, "{safe:?}");
        }
    }

    #[test]
    fn the_question_says_what_will_be_hit() {
        let three = [node(1, Role::Primary), node(2, Role::Primary), node(3, Role::Primary)];
        assert_eq!(
            question("FLUSHALL", &three, KeyCount { keys: 1_204_332, unknown: 0 }),
            "FLUSHALL on 3 primaries holding 1,204,332 keys — type yes to go on: "
        );
        let one = [node(6379, Role::Unknown)];
        assert_eq!(
            question("KEYS", &one, KeyCount { keys: 1, unknown: 0 }),
            "KEYS on 127.0.0.1:6379 holding 1 key — type yes to go on: "
        );
        let mixed = [node(1, Role::Primary), node(2, Role::Replica), node(3, Role::Replica)];
        assert_eq!(
            question("CONFIG SET", &mixed, KeyCount { keys: 10, unknown: 1 }),
            "CONFIG SET on 1 primary and 2 replicas holding at least 10 keys (1 node did not say) — type yes to go on: "
        );
        assert_eq!(
            question("FLUSHDB", &one, KeyCount { keys: 0, unknown: 1 }),
            "FLUSHDB on 127.0.0.1:6379 (key count unknown) — type yes to go on: "
        );
    }

    #[test]
    fn numbers_are_grouped_and_only_yes_goes_on() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
        assert!(is_yes("yes") && is_yes(" YES \n"));
        assert!(!is_yes("y") && !is_yes("") && !is_yes("no") && !is_yes("yes please"));
    }
}
