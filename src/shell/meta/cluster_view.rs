//! `:nodes` (the cluster's nodes: id, address, role, slots, keys, databases, zone, link)
//! and `:map` (slot ownership as a bar and a range table, each primary's databases). The
//! databases column shows where some node holds keys outside database 0 (numbered
//! databases in cluster mode, Valkey 9), the zone column where some node announces one.
//! A cluster of more than [`at_scale::SMALL`] nodes (primaries for `:map`) gets a
//! summary instead, and the rows a word picks on request (`:nodes 127.0.0.1:7003`).

use crate::cluster::{keyspace, slot};
use crate::endpoint::Endpoint;
use crate::output::StdoutClosed;
use crate::protocol::text;
use crate::session::Session;
use crate::shell::paint;
use crate::shell::state::Shell;

use super::at_scale;
use super::not_cluster;

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

/// A replica's link to its primary from its own `INFO replication`: `ok` when the link
/// is up and no sync runs, `syncing` during a full sync, `link down` otherwise.
fn replica_link(info: &str) -> &'static str {
    let field = |name: &str| {
        info.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':'))).map(str::trim)
    };
    match (field("master_link_status"), field("master_sync_in_progress")) {
        (_, Some("1")) => "syncing",
        (Some("up"), _) => "ok",
        _ => "link down",
    }
}

/// `:nodes`, or `:nodes WORD`: the rows of the nodes `word` picks.
pub(super) fn nodes(shell: &Shell, session: &mut Session, word: Option<&str>) -> Result<(), StdoutClosed> {
    if let Some(reason) = session.client.learning_slots().map(str::to_string) {
        let learned = session.client.topology().map_or(0, |t| 16384 - t.uncovered_slots());
        session.printer.line(&format!(
            "slot map: learned from redirects ({learned} slots so far); the cluster's own map cannot be read: {reason}"
        ))?;
    }
    let Some(topology) = session.client.topology().cloned() else { return not_cluster(session) };
    let picked = word.map(|word| at_scale::pick(&topology.all_nodes(), word));
    match (word, &picked) {
        (None, _) if topology.all_nodes().len() > at_scale::SMALL => {
            for line in at_scale::nodes_summary(&topology) {
                session.printer.line(&line)?;
            }
            return Ok(());
        }
        (Some(word), Some(picked)) if picked.is_empty() => {
            return session.printer.line(&at_scale::no_match(":nodes", word));
        }
        _ => {}
    }
    let color = shell.prefs.color;
    let address_map = session.client.pool().settings().address_map.clone();
    let mut rows = vec![["id", "address", "role", "of", "slots", "count", "keys", "link"].map(String::from).to_vec()];
    if let Some(header) = rows.first_mut().filter(|_| !address_map.is_empty()) {
        header.insert(2, "reached at".into());
    }
    let mut colours = Vec::new();
    let mut databases = Vec::new();
    let mut zones: Vec<Option<String>> = Vec::new();
    for shard in topology.shards_in_slot_order() {
        let primary_id = shard.primary.as_ref().map(|p| short_id(&p.id)).unwrap_or_default();
        let colour = shard.primary.as_ref().and_then(|p| topology.colour_index(&p.endpoint));
        for node in shard.primary.iter().chain(shard.replicas.iter()) {
            if picked.as_ref().is_some_and(|picked| !picked.contains(&node.endpoint)) {
                continue;
            }
            // In the sandbox: a node the lab killed, stopped or paused is not asked
            // (a paused one would not answer); the link column says what happened.
            let lab_note = shell.lab.as_ref().and_then(|lab| lab.process_note(&node.endpoint));
            let keys = match lab_note.is_none().then(|| session.client.dbsize(&node.endpoint)) {
                None => None,
                Some(Err(crate::error::Error::Interrupted)) => return session.printer.line("(interrupted)"),
                Some(result) => result.ok(),
            };
            let in_use = match keys.is_some().then(|| session.client.info(&node.endpoint, "keyspace")) {
                Some(Err(crate::error::Error::Interrupted)) => return session.printer.line("(interrupted)"),
                Some(Ok(info)) => Some(keyspace::databases(&info)),
                _ => None,
            };
            let link = match (keys.is_some(), node.health.as_str()) {
                _ if lab_note.is_some() => lab_note.unwrap_or_default(),
                (false, _) => "down".to_string(),
                (true, "online" | "unknown") => "ok".to_string(),
                // Redis 7.0 says `loading` for a replica that has had no write to copy
                // yet: the replica's own view of its link tells the truth.
                (true, "loading") if !node.primary => match session.client.info(&node.endpoint, "replication") {
                    Ok(info) => replica_link(&info).to_string(),
                    Err(_) => "loading".to_string(),
                },
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
            databases.push(in_use);
            zones.push(node.zone.clone());
        }
    }
    // Extra columns, just before `link`, only when they say something.
    if databases.iter().flatten().flatten().any(|&(number, _)| number != 0) {
        let cells = databases.iter().map(|d| d.as_deref().map_or("?".to_string(), keyspace::numbers_text));
        insert_column(&mut rows, "dbs", cells);
    }
    if zones.iter().any(Option::is_some) {
        insert_column(&mut rows, "zone", zones.into_iter().map(|z| z.unwrap_or_else(|| "-".into())));
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

/// Puts a column headed `name` before the last one (`link`) of `rows` (the header
/// first), with `cells` for the node rows in order.
fn insert_column(rows: &mut [Vec<String>], name: &str, cells: impl Iterator<Item = String>) {
    let mut cells = std::iter::once(name.to_string()).chain(cells);
    for row in rows.iter_mut() {
        let at = row.len().saturating_sub(1);
        row.insert(at, cells.next().unwrap_or_default());
    }
}

/// `:map`, or `:map WORD`: the bar, then the lines of the primaries `word` picks.
pub(super) fn map(shell: &Shell, session: &mut Session, word: Option<&str>) -> Result<(), StdoutClosed> {
    let Some(topology) = session.client.topology().cloned() else { return not_cluster(session) };
    let color = shell.prefs.color;
    let primaries: Vec<Endpoint> = topology.primaries().iter().map(|n| n.endpoint.clone()).collect();
    let picked = word.map(|word| at_scale::pick(&topology.primaries(), word));
    if let (Some(word), Some(picked)) = (word, &picked)
        && picked.is_empty()
    {
        return session.printer.line(&at_scale::no_match(":map", word));
    }
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
    if picked.is_none() && primaries.len() > at_scale::SMALL {
        for line in at_scale::map_summary(&topology) {
            session.printer.line(&line)?;
        }
        return Ok(());
    }
    let shown = |primary: &Endpoint| picked.as_ref().is_none_or(|picked| picked.contains(primary));
    // Each primary's databases with keys, shown when some primary uses one besides 0.
    let mut databases = Vec::with_capacity(primaries.len());
    for primary in &primaries {
        if !shown(primary) {
            databases.push("-".to_string());
            continue;
        }
        match session.client.info(primary, "keyspace") {
            Err(crate::error::Error::Interrupted) => return session.printer.line("(interrupted)"),
            Ok(info) => databases.push(keyspace::numbers_text(&keyspace::databases(&info))),
            Err(_) => databases.push("?".to_string()),
        }
    }
    let show_databases = databases.iter().any(|d| d != "0" && d != "-" && d != "?");
    for (i, primary) in primaries.iter().enumerate().filter(|(_, p)| shown(p)) {
        let Some(shard) = topology.shards.iter().find(|s| s.primary.as_ref().is_some_and(|p| &p.endpoint == primary))
        else {
            continue;
        };
        let name = if color { paint::node(i, &primary.to_string()) } else { primary.to_string() };
        let in_use = match databases.get(i) {
            Some(numbers) if show_databases => format!("  dbs: {numbers}"),
            _ => String::new(),
        };
        session.printer.line(&format!(
            "  {} {name}  {} slots: {}{in_use}",
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
    fn a_replica_tells_its_own_link_state() {
        let up = "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nmaster_sync_in_progress:0\r\n";
        assert_eq!(replica_link(up), "ok");
        assert_eq!(replica_link("master_link_status:down\r\nmaster_sync_in_progress:1\r\n"), "syncing");
        assert_eq!(replica_link("master_link_status:down\r\nmaster_sync_in_progress:0\r\n"), "link down");
        assert_eq!(replica_link(""), "link down");
    }
}
