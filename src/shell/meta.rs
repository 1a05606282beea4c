//! rcli's own commands, typed with a leading `:` (`:nodes`, `:slot`, `:use`, …). One
//! table ([`META`]) feeds `:help`, completion and dispatch; each command reads the
//! client's slot map and prints a small report. Nothing here is sent to Redis except
//! DBSIZE for `:nodes` and the topology reload of `:refresh`.

use crate::cluster::route::Plan;
use crate::cluster::route::SplitKind;
use crate::cluster::slot::{self, HashedPart};
use crate::cluster::target::{TARGET_WORDS, Target};
use crate::endpoint::Endpoint;
use crate::output::StdoutClosed;
use crate::protocol::split::repr_string;
use crate::protocol::text;
use crate::session::Session;
use crate::shell::paint;

/// One meta-command: its name, argument synopsis and one-line summary.
#[derive(Debug, Clone, Copy)]
pub struct MetaSpec {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
}

/// Every meta-command, in `:help` order.
pub const META: &[MetaSpec] = &[
    MetaSpec { name: ":nodes", args: "", summary: "list the cluster's nodes: id, address, role, slots, keys, link" },
    MetaSpec {
        name: ":slot",
        args: "KEY [KEY ...]",
        summary: "show each key's slot, hashed part, owner and replicas, and why",
    },
    MetaSpec {
        name: ":explain",
        args: "COMMAND [ARG ...]",
        summary: "show which arguments are keys and where the command would go, without running it",
    },
    MetaSpec {
        name: ":use",
        args: "HOST:PORT|ID-PREFIX|primaries|replicas|all|random|auto|current",
        summary: "choose where keyless commands go",
    },
    MetaSpec { name: ":refresh", args: "", summary: "reload the slot map from the cluster" },
    MetaSpec {
        name: ":readonly",
        args: "on|off",
        summary: "send read-only commands to replicas (READONLY is sent for you)",
    },
    MetaSpec { name: ":map", args: "", summary: "slot ownership: a bar and a range table, one colour per primary" },
    MetaSpec { name: ":hops", args: "on|off", summary: "show or hide redirect and split lines" },
    MetaSpec {
        name: ":cluster",
        args: "check|info [--cluster-search-multiple-owners]",
        summary: "run the cluster manager's check or info (rcli --cluster check) on this cluster",
    },
    MetaSpec {
        name: ":set",
        args: "hints|nohints|color auto|always|never|hops on|off|address-map [ANNOUNCED=REACHABLE ...|clear]",
        summary: "shell preferences (also read from the rclirc file)",
    },
    MetaSpec { name: ":help", args: "[:COMMAND]", summary: "this list, or one meta-command" },
];

fn on_off(word: Option<&str>) -> Option<bool> {
    match word?.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Runs a meta-command line.
pub fn run(session: &mut Session, argv: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let words: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let (Some(typed), Some(args)) = (words.first(), argv.get(1..)) else { return Ok(()) };
    let name = typed.to_ascii_lowercase();
    let arg = words.get(1).map(String::as_str);
    let rest_words = words.get(1..).unwrap_or_default();
    match name.as_str() {
        ":help" => help(session, arg),
        ":nodes" => nodes(session),
        ":slot" if !args.is_empty() => slots(session, args),
        ":explain" if !args.is_empty() => explain(session, args),
        ":use" if arg.is_some() => use_target(session, arg.unwrap_or_default()),
        ":use" => {
            let target = session.client.target().describe();
            session.printer.line(&format!("keyless commands go to {target}"))
        }
        ":refresh" => match session.client.refresh_topology(None, &mut Vec::new()) {
            Ok(()) => {
                let count = session.client.topology().map_or(0, |t| t.all_nodes().len());
                session.printer.line(&format!("slot map reloaded: {count} nodes"))
            }
            Err(e) => session.printer.line(&format!("(error) {e}")),
        },
        ":readonly" => match on_off(arg) {
            Some(on) => {
                session.client.set_read_from_replicas(on);
                session.printer.line(if on {
                    "read-only commands now go to replicas"
                } else {
                    "all commands now go to primaries"
                })
            }
            None => usage(session, ":readonly"),
        },
        ":hops" => match on_off(arg) {
            Some(on) => {
                session.prefs.hops = on;
                session.printer.line(if on { "hop lines on" } else { "hop lines off" })
            }
            None => usage(session, ":hops"),
        },
        ":set" => match set_preference(session, rest_words) {
            Ok(()) => Ok(()),
            Err(message) => session.printer.line(&message),
        },
        ":map" => map(session),
        ":cluster" => match arg.map(str::to_ascii_lowercase).as_deref() {
            Some(sub @ ("check" | "info")) => {
                let entry = session.client.current().clone();
                let auth = session.client.pool().state().auth.clone();
                let interrupt = session.client.pool().interrupt_flag();
                let settings = session.client.pool().settings().clone();
                let search = words.iter().any(|w| w == "--cluster-search-multiple-owners");
                session.printer.flush()?;
                crate::manager::from_shell(&entry, auth, settings, sub == "info", search, interrupt);
                Ok(())
            }
            _ => usage(session, ":cluster"),
        },
        _ if META.iter().any(|m| m.name == name) => usage(session, &name),
        _ => {
            session.printer.line(&format!("unknown rcli command '{}' (try :help)", text::escape_controls(typed, false)))
        }
    }
}

fn usage(session: &mut Session, name: &str) -> Result<(), StdoutClosed> {
    let spec = META.iter().find(|m| m.name == name);
    let text = spec.map(|m| format!("usage: {} {}", m.name, m.args)).unwrap_or_default();
    session.printer.line(&text)
}

/// Applies `:set …` (also used for the rclirc file). Returns a message on a bad value.
pub fn set_preference(session: &mut Session, words: &[String]) -> Result<(), String> {
    let value = words.get(1).map(|w| w.to_ascii_lowercase());
    match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
        Some("hints") => session.prefs.hints = true,
        Some("nohints") => session.prefs.hints = false,
        Some("color") | Some("colour") => {
            session.prefs.color = match value.as_deref() {
                Some("always") | Some("on") => true,
                Some("never") | Some("off") => false,
                Some("auto") => paint::auto_color(std::io::IsTerminal::is_terminal(&std::io::stdout())),
                _ => return Err("usage: :set color auto|always|never".into()),
            }
        }
        Some("hops") => match on_off(value.as_deref()) {
            Some(on) => session.prefs.hops = on,
            None => return Err("usage: :set hops on|off".into()),
        },
        Some("address-map") => return set_address_map(session, words.get(1..).unwrap_or_default()),
        Some(other) => return Err(format!("unknown rcli preference '{other}'")),
        None => return Err("usage: :set hints|nohints|color auto|always|never|hops on|off".into()),
    }
    Ok(())
}

/// `:set address-map RULE…` adds rules, `clear` removes them all; without a rule the
/// message lists them.
fn set_address_map(session: &mut Session, rules: &[String]) -> Result<(), String> {
    let mut map = session.client.pool().settings().address_map.clone();
    match rules.first().map(|r| r.to_ascii_lowercase()).as_deref() {
        None => {
            let listed = map.rules();
            let shown = if listed.is_empty() { "empty".to_string() } else { listed.join(" ") };
            return Err(format!("address map: {shown} (:set address-map ANNOUNCED=REACHABLE ...|clear)"));
        }
        Some("clear") => map.clear(),
        Some(_) => {
            for rule in rules {
                map.add(rule)?;
            }
        }
    }
    session.client.pool().set_address_map(map);
    Ok(())
}

fn help(session: &mut Session, topic: Option<&str>) -> Result<(), StdoutClosed> {
    let width = META.iter().map(|m| m.name.len() + 1 + m.args.len()).max().unwrap_or(0);
    let topic =
        topic.map(|t| if t.starts_with(':') { t.to_ascii_lowercase() } else { format!(":{}", t.to_ascii_lowercase()) });
    let mut out = String::new();
    if topic.is_none() {
        out.push_str("rcli meta-commands (everything else is sent to Redis):\n");
    }
    for meta in META.iter().filter(|m| topic.as_deref().is_none_or(|t| t == m.name)) {
        let synopsis = format!("{} {}", meta.name, meta.args);
        out.push_str(&format!("  {synopsis:<width$}  {}\n", meta.summary));
    }
    if out.is_empty() {
        out = format!("no meta-command named {}\n", topic.unwrap_or_default());
    }
    session.printer.write(out.as_bytes())
}

fn not_cluster(session: &mut Session) -> Result<(), StdoutClosed> {
    session.printer.line("not in cluster mode (start rcli with -c)")
}

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

fn ranges_text(ranges: &[(u16, u16)]) -> String {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let text: Vec<String> =
        sorted.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    if text.is_empty() { "-".into() } else { text.join(",") }
}

fn nodes(session: &mut Session) -> Result<(), StdoutClosed> {
    if let Some(reason) = session.client.learning_slots().map(str::to_string) {
        let learned = session.client.topology().map_or(0, |t| 16384 - t.uncovered_slots());
        session.printer.line(&format!(
            "slot map: learned from redirects ({learned} slots so far); the cluster's own map cannot be read: {reason}"
        ))?;
    }
    let Some(topology) = session.client.topology().cloned() else { return not_cluster(session) };
    let color = session.prefs.color;
    let address_map = session.client.pool().settings().address_map.clone();
    let mut rows = vec![["id", "address", "role", "of", "slots", "count", "keys", "link"].map(String::from).to_vec()];
    if let Some(header) = rows.first_mut().filter(|_| !address_map.is_empty()) {
        header.insert(2, "reached at".into());
    }
    let mut colours = Vec::new();
    for shard in topology.shards_in_slot_order() {
        let primary_id = shard.primary.as_ref().map(|p| short_id(&p.id)).unwrap_or_default();
        let colour = shard.primary.as_ref().and_then(|p| topology.colour_index(&p.endpoint));
        for node in shard.primary.iter().chain(shard.replicas.iter()) {
            let keys = match session.client.dbsize(&node.endpoint) {
                Err(crate::error::Error::Interrupted) => return session.printer.line("(interrupted)"),
                result => result.ok(),
            };
            let link = match (keys.is_some(), node.health.as_str()) {
                (false, _) => "down".to_string(),
                (true, "online" | "unknown") => "ok".to_string(),
                (true, other) => other.to_string(),
            };
            let mut row = vec![
                short_id(&node.id),
                node.endpoint.to_string(),
                if node.primary { "primary".into() } else { "replica".into() },
                if node.primary { String::new() } else { primary_id.clone() },
                if node.primary { ranges_text(&shard.ranges) } else { "-".into() },
                if node.primary { shard.slot_count().to_string() } else { "-".into() },
                keys.map_or("?".into(), |k| k.to_string()),
                link,
            ];
            if !address_map.is_empty() {
                let reached = address_map.reach(&node.endpoint);
                row.insert(2, if reached == node.endpoint { "-".into() } else { reached.to_string() });
            }
            rows.push(row);
            colours.push(colour);
        }
    }
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|cell| cell.chars().count()).max().unwrap_or(0))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let padded = text::pad(cell, widths.get(c).copied().unwrap_or(0));
            let colour = i.checked_sub(1).and_then(|r| colours.get(r).copied().flatten());
            let padded = match (c, colour) {
                (1, Some(colour)) if color => paint::node(colour, &padded),
                _ => padded,
            };
            line.push_str(&padded);
            if c + 1 < row.len() {
                line.push_str("  ");
            }
        }
        session.printer.line(line.trim_end())?;
    }
    let uncovered = topology.uncovered_slots();
    if uncovered > 0 {
        session.printer.line(&format!("warning: {uncovered} slots are not served by any node"))?;
    }
    Ok(())
}

/// The key with its hashed part marked: underlined in colour, `[…]` without.
pub fn mark_hashed(key: &[u8], color: bool) -> String {
    let part = slot::hashed_part(key);
    let (start, end) = match part {
        HashedPart::Tag { start, end } => (start, end),
        _ => (0, key.len()),
    };
    // The key quoted as redis-cli quotes it, without the surrounding quotes.
    let text = |b: &[u8]| {
        let quoted = repr_string(b);
        quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or(&quoted).to_string()
    };
    let piece = |range: std::ops::Range<usize>| text(key.get(range).unwrap_or_default());
    let inner = piece(start..end);
    let marked = if color { paint::underline(&inner) } else { format!("[{inner}]") };
    format!("{}{marked}{}", piece(0..start), piece(end..key.len()))
}

fn slots(session: &mut Session, keys: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let color = session.prefs.color;
    for key in keys {
        let (slot_number, owner) = session.client.owner_of_key(key);
        let part = slot::hashed_part(key);
        let mut line = format!("{} → slot {slot_number}", repr_string(key));
        match (&owner, session.client.topology()) {
            (Some(owner), Some(topo)) => {
                let shown = match topo.colour_index(owner) {
                    Some(i) if color => paint::node(i, &owner.to_string()),
                    _ => owner.to_string(),
                };
                line.push_str(&format!(" → {shown} (primary)"));
                let replicas: Vec<String> = topo.replicas(slot_number).iter().map(|n| n.endpoint.to_string()).collect();
                if !replicas.is_empty() {
                    line.push_str(&format!(", replicas {}", replicas.join(", ")));
                }
            }
            _ if session.client.is_cluster() => line.push_str(" → no node serves this slot"),
            _ => {}
        }
        session.printer.line(&line)?;
        session.printer.line(&format!("  hashed: {}   {}", mark_hashed(key, color), part.explain(key)))?;
    }
    Ok(())
}

fn explain(session: &mut Session, argv: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let name = String::from_utf8_lossy(argv.first().map(Vec::as_slice).unwrap_or_default()).to_uppercase();
    let info = session.client.commands().lookup(argv).cloned();
    let Some(info) = info else {
        return session.printer.line(&format!("{name}: unknown command (not in the server's COMMAND table)"));
    };
    let mut kind = Vec::new();
    if info.flags.readonly {
        kind.push("read-only");
    }
    if info.flags.write {
        kind.push("write");
    }
    if info.flags.blocking {
        kind.push("blocking");
    }
    session.printer.line(&format!("{name} ({})", if kind.is_empty() { "other".into() } else { kind.join(", ") }))?;
    let positions = info.key_positions(argv);
    if positions.is_empty() {
        session.printer.line("keys: none")?;
    }
    for (p, key) in positions.iter().filter_map(|&p| Some((p, argv.get(p)?))) {
        let (s, owner) = session.client.owner_of_key(key);
        let owner = owner.map(|o| format!(" on {o}")).unwrap_or_default();
        session.printer.line(&format!(
            "  key at argument {p}: {} → slot {s}{owner}  ({})",
            repr_string(key),
            slot::hashed_part(key).explain(key)
        ))?;
    }
    if !session.client.is_cluster() {
        return session.printer.line(&format!("sent to {} (not in cluster mode)", session.client.current()));
    }
    let verdict = match session.client.plan(argv) {
        Ok(Plan::Node(e)) => format!("sent as one command to {e} ({})", session.client.target().describe()),
        Ok(Plan::Slot { slot, endpoint }) => format!("sent as one command to slot {slot}'s owner {endpoint}"),
        Ok(Plan::Split { kind, groups }) => {
            let merge = match kind {
                SplitKind::Mget => "values merged back in key order",
                SplitKind::Mset => "OK only if every part is OK",
                SplitKind::Sum => "integer replies summed",
            };
            format!("split into {} commands, one per slot (not atomic); {merge}", groups.len())
        }
        Ok(Plan::Fanout { nodes, policy }) => format!(
            "sent to {} nodes{}",
            nodes.len(),
            policy.map(|p| format!(", replies combined with {}", p.name())).unwrap_or_default()
        ),
        Err(e) => format!("refused: {e}"),
    };
    session.printer.line(&verdict)
}

fn use_target(session: &mut Session, word: &str) -> Result<(), StdoutClosed> {
    let by_id = session.client.topology().and_then(|t| t.node_by_id_prefix(word)).map(|n| n.endpoint.clone());
    let target = match by_id {
        Some(endpoint) => Some(Target::Node(endpoint)),
        None => Target::parse(word),
    };
    let Some(target) = target else {
        return session
            .printer
            .line(&format!("unknown target '{word}': use HOST:PORT, a node id prefix, {}", TARGET_WORDS.join(", ")));
    };
    if target != Target::Current && !session.client.is_cluster() {
        return not_cluster(session);
    }
    if let Target::Node(endpoint) = &target {
        session.client.set_current(endpoint.clone());
    }
    let text = format!("keyless commands now go to {}", target.describe());
    session.client.set_target(target);
    session.printer.line(&text)
}

fn map(session: &mut Session) -> Result<(), StdoutClosed> {
    let Some(topology) = session.client.topology().cloned() else { return not_cluster(session) };
    let color = session.prefs.color;
    let primaries: Vec<Endpoint> = topology.primaries().iter().map(|n| n.endpoint.clone()).collect();
    let letter = |i: usize| (b'A' + (i % 26) as u8) as char;
    const CELLS: usize = 64;
    let per_cell = slot::SLOTS / CELLS;
    let mut bar = String::new();
    for cell in 0..CELLS {
        let index = topology.owner((cell * per_cell) as u16).and_then(|o| topology.colour_index(o));
        bar.push_str(&match index {
            Some(i) if color => paint::node(i, &letter(i).to_string()),
            Some(i) => letter(i).to_string(),
            None => ".".into(),
        });
    }
    session.printer.line(&format!("slots 0 {bar} 16383  ({per_cell} slots per cell)"))?;
    for (i, primary) in primaries.iter().enumerate() {
        let Some(shard) = topology.shards.iter().find(|s| s.primary.as_ref().is_some_and(|p| &p.endpoint == primary))
        else {
            continue;
        };
        let name = if color { paint::node(i, &primary.to_string()) } else { primary.to_string() };
        session.printer.line(&format!(
            "  {} {name}  {} slots: {}",
            letter(i),
            shard.slot_count(),
            ranges_text(&shard.ranges)
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_table_is_consistent() {
        let mut names: Vec<&str> = META.iter().map(|m| m.name).collect();
        assert!(names.iter().all(|n| n.starts_with(':') && n.len() > 1));
        assert!(META.iter().all(|m| !m.summary.is_empty()));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), META.len(), "names are unique");
    }

    #[test]
    fn hashed_part_is_marked() {
        assert_eq!(mark_hashed(b"user:{1000}.following", false), "user:{[1000]}.following");
        assert_eq!(mark_hashed(b"foo", false), "[foo]");
        assert_eq!(mark_hashed(b"a{}b", false), "[a{}b]");
    }
}
