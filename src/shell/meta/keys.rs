//! `:slot` (each key's slot, hashed part and owner, and why), `:explain` (which
//! arguments are keys and where a command would go, without running it) and `:use`
//! (where keyless commands go).

use crate::cluster::command::Command;
use crate::cluster::route::Plan;
use crate::cluster::route::SplitKind;
use crate::cluster::slot::{self, HashedPart};
use crate::cluster::target::{TARGET_WORDS, Target};
use crate::output::StdoutClosed;
use crate::protocol::split::repr_string;
use crate::session::Session;
use crate::shell::paint;
use crate::shell::state::Shell;

use super::not_cluster;

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

pub(super) fn slots(shell: &Shell, session: &mut Session, keys: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let color = shell.prefs.color;
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

pub(super) fn explain(session: &mut Session, argv: &[Vec<u8>]) -> Result<(), StdoutClosed> {
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
    let command = Command::with_info(argv.to_vec(), Some(&info));
    let positions = &command.keys;
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
    let verdict = match session.client.plan(&command) {
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

pub(super) fn use_target(session: &mut Session, word: &str) -> Result<(), StdoutClosed> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_part_is_marked() {
        assert_eq!(mark_hashed(b"user:{1000}.following", false), "user:{[1000]}.following");
        assert_eq!(mark_hashed(b"foo", false), "[foo]");
        assert_eq!(mark_hashed(b"a{}b", false), "[a{}b]");
    }
}
