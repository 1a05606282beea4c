//! The lab's meta-commands, for a session started by `rcli sandbox` only (anywhere
//! else each is refused with one line): `:kill`, `:stop`, `:restart`, `:pause` and
//! `:failover` act on one sandbox node; `:consistency on|off` runs the consistency
//! checker in the background. A node is named as [`resolve`] says (`HOST:PORT`, a
//! port, 4+ characters of a node id, `primary-of KEY` / `replica-of KEY`). What the
//! cluster does about it is printed above the prompt by the lab's watcher
//! (`shell/lab.rs`).

use std::time::Duration;

use crate::cluster::slot;
use crate::endpoint::Endpoint;
use crate::modes::sandbox::census::{Census, Role};
use crate::modes::sandbox::lab::{LabNode, MAX_PAUSE};
use crate::modes::sandbox::process::StopEnd;
use crate::modes::sandbox::{Started, call_until};
use crate::output::StdoutClosed;
use crate::protocol::text::escape_controls;
use crate::session::Session;
use crate::shell::state::Shell;

/// The lab's meta-commands (their synopses are in the META table).
pub const LAB_COMMANDS: &[&str] = &[":kill", ":stop", ":restart", ":pause", ":failover", ":consistency"];

/// The shortest node id prefix a lab command takes: one or two characters could be a
/// port or an index typed by mistake, and would pick a node at random.
pub const MIN_ID_PREFIX: usize = 4;

/// How a NODE argument is written, for usage lines and errors.
pub const NODE_FORMS: &str =
    "HOST:PORT or PORT (as :nodes shows), 4+ characters of a node id, primary-of KEY or replica-of KEY";

/// Finds the node `words` name, from the start of `words`; returns its index among
/// `nodes` and how many words named it. One rule, in this order: `primary-of KEY` /
/// `replica-of KEY` (from `census`); an address as `:nodes` shows it; a number that is
/// a node's port; a unique prefix of at least [`MIN_ID_PREFIX`] characters of a node
/// id (the id column of `:nodes`, as `:use` takes). Nothing else: a small number is
/// never an id prefix nor a position in a list.
pub fn resolve(words: &[String], nodes: &[LabNode], census: Option<&Census>) -> Result<(usize, usize), String> {
    let Some(first) = words.first() else {
        return Err(format!("name a node: {NODE_FORMS}"));
    };
    let lower = first.to_ascii_lowercase();
    if lower == "primary-of" || lower == "replica-of" {
        let key = words.get(1).ok_or(format!("{lower} needs a key"))?;
        let slot = slot::slot_of(key.as_bytes());
        let census = census.ok_or("the lab has not seen the cluster yet; try again in a moment")?;
        let owner = census.owner(slot).ok_or(format!("no node serves slot {slot} now"))?;
        let wanted = if lower == "primary-of" {
            Some(owner.clone())
        } else {
            census
                .nodes
                .iter()
                .find(|n| n.answering && n.role == Role::Replica(Some(owner.clone())))
                .map(|n| n.endpoint.clone())
        };
        let wanted = wanted.ok_or(format!("{owner} (slot {slot}) has no replica that answers"))?;
        let index = nodes.iter().position(|n| n.endpoint == wanted).ok_or(format!("{wanted} is not a sandbox node"))?;
        return Ok((index, 2));
    }
    let typed = Endpoint::parse(first);
    let by_address = nodes.iter().position(|n| n.endpoint.to_string() == *first || Some(&n.endpoint) == typed.as_ref());
    let by_port = || {
        let port = first.parse::<u16>().ok().filter(|p| p.to_string() == *first)?;
        nodes.iter().position(|n| matches!(&n.endpoint, Endpoint::Tcp { port: p, .. } if *p == port))
    };
    if let Some(index) = by_address.or_else(by_port) {
        return Ok((index, 1));
    }
    let unknown = || format!("no sandbox node '{}' (NODE: {NODE_FORMS})", escape_controls(first, false));
    let id_like = lower.len() >= MIN_ID_PREFIX && lower.chars().all(|c| c.is_ascii_hexdigit());
    if !id_like {
        return Err(unknown());
    }
    let matching: Vec<usize> =
        nodes.iter().enumerate().filter(|(_, n)| n.id.starts_with(&lower)).map(|(i, _)| i).collect();
    match matching.as_slice() {
        [index] => Ok((*index, 1)),
        [] => Err(unknown()),
        several => {
            let names: Vec<String> =
                several.iter().filter_map(|&i| nodes.get(i)).map(|n| n.endpoint.to_string()).collect();
            Err(format!("'{lower}' starts the ids of {}: give more of the id", names.join(", ")))
        }
    }
}

/// How a node is described in messages: its address and role.
fn described(endpoint: &Endpoint, census: Option<&Census>) -> String {
    let role = census.and_then(|c| c.node(endpoint)).map(|n| match &n.role {
        Role::Primary if n.slots.is_empty() => "primary without slots".to_string(),
        Role::Primary => {
            let ranges: Vec<String> =
                n.slots.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
            format!("primary of {}", ranges.join(","))
        }
        Role::Replica(Some(of)) => format!("replica of {of}"),
        Role::Replica(None) => "replica".to_string(),
        Role::Unknown => "node".to_string(),
    });
    match role {
        Some(role) => format!("{endpoint} ({role})"),
        None => endpoint.to_string(),
    }
}

/// Runs a lab meta-command (`name` lower-cased, `words` its arguments).
pub(super) fn run(shell: &mut Shell, session: &mut Session, name: &str, words: &[String]) -> Result<(), StdoutClosed> {
    if shell.lab.is_none() {
        return session.printer.line(&format!(
            "(error) {name} is a lab command: it works only in a shell started by `rcli sandbox`, on the servers the sandbox started"
        ));
    }
    if name == ":consistency" {
        return consistency(shell, session, words.first().map(String::as_str));
    }
    let (nodes, census) = match shell.lab.as_ref() {
        Some(lab) => (lab.lab.nodes(), lab.census()),
        None => return Ok(()),
    };
    let (index, used) = match resolve(words, &nodes, census.as_ref()) {
        Ok(found) => found,
        Err(message) => return session.printer.line(&format!("(error) {message}")),
    };
    let rest = words.get(used..).unwrap_or_default();
    let Some(node) = nodes.get(index) else { return Ok(()) };
    let who = described(&node.endpoint, census.as_ref());
    let message = match name {
        ":kill" => kill(shell, index, &who),
        ":stop" => stop(shell, session, index, &who),
        ":restart" => restart(shell, session, index, &who),
        ":pause" => pause(shell, index, &who, rest.first()),
        ":failover" => failover(shell, session, node, census.as_ref(), rest.first()),
        _ => Err(format!("unknown lab command {name}")),
    };
    match message {
        Ok(text) => session.printer.line(&text),
        Err(text) => session.printer.line(&format!("(error) {}", escape_controls(&text, false))),
    }?;
    session.printer.flush()
}

fn lab(shell: &Shell) -> Result<&crate::shell::lab::LabSession, String> {
    shell.lab.as_deref().ok_or_else(|| "not a sandbox session".to_string())
}

fn kill(shell: &Shell, index: usize, who: &str) -> Result<String, String> {
    let lab = lab(shell)?;
    let pid = lab.lab.nodes().get(index).and_then(|n| n.pid);
    lab.lab.kill(index).map_err(|e| e.to_string())?;
    lab.acted();
    let pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    Ok(format!("killed {who} with SIGKILL{pid}; the cluster's reactions follow, timed from now"))
}

fn stop(shell: &Shell, session: &mut Session, index: usize, who: &str) -> Result<String, String> {
    let interrupt = session.client.pool().interrupt_flag();
    let lab = lab(shell)?;
    let end = lab.lab.stop(index, interrupt.as_deref()).map_err(|e| e.to_string())?;
    lab.acted();
    Ok(match end {
        StopEnd::Clean => format!("stopped {who} cleanly with SHUTDOWN SAVE; :restart starts it again"),
        StopEnd::NotRunning => format!("{who} was not running"),
        StopEnd::Killed => format!("{who} did not stop in time (or Ctrl-C): killed it instead"),
    })
}

fn restart(shell: &Shell, session: &mut Session, index: usize, who: &str) -> Result<String, String> {
    let interrupt = session.client.pool().interrupt_flag();
    let lab = lab(shell)?;
    let (stopped, started) = lab.lab.restart(index, interrupt.as_deref()).map_err(|e| e.to_string())?;
    lab.acted();
    let pid = lab.lab.nodes().get(index).and_then(|n| n.pid).map(|p| format!(" as pid {p}")).unwrap_or_default();
    let first = match stopped {
        Some(StopEnd::Killed) => "killed it (it did not stop in time), then ",
        Some(_) => "stopped it cleanly, then ",
        None => "",
    };
    let end = match started {
        Started::Answering => "it rejoins the cluster",
        Started::NotWaitedFor => "Ctrl-C: not waiting for it to answer (it is starting)",
    };
    Ok(format!("{first}restarted {who}{pid} with its own port, directory and node file: {end}"))
}

fn pause(shell: &Shell, index: usize, who: &str, seconds: Option<&String>) -> Result<String, String> {
    let usage = || format!("usage: :pause NODE SECONDS (0 resumes it now; at most {} s)", MAX_PAUSE.as_secs());
    let seconds = seconds.ok_or_else(usage)?;
    let length = seconds
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= MAX_PAUSE.as_secs_f64())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(usage)?;
    let lab = lab(shell)?;
    let until = lab.lab.pause(index, length).map_err(|e| e.to_string())?;
    lab.acted();
    Ok(match until {
        Some(_) => format!(
            "paused {who} with SIGSTOP for {} s: frozen, as if cut off from the others; SIGCONT follows by itself",
            length.as_secs_f64()
        ),
        None => format!("resumed {who} with SIGCONT"),
    })
}

fn failover(
    shell: &Shell,
    session: &mut Session,
    node: &LabNode,
    census: Option<&Census>,
    option: Option<&String>,
) -> Result<String, String> {
    let option = option.map(|o| o.to_ascii_uppercase());
    if let Some(o) = &option
        && o != "FORCE"
        && o != "TAKEOVER"
    {
        return Err("usage: :failover NODE [force|takeover]".into());
    }
    if let Some(Role::Primary) = census.and_then(|c| c.node(&node.endpoint)).map(|n| n.role.clone()) {
        let replicas: Vec<String> = census
            .map(|c| {
                c.nodes
                    .iter()
                    .filter(|n| n.role == Role::Replica(Some(node.endpoint.clone())))
                    .map(|n| n.endpoint.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let hint = if replicas.is_empty() {
            "it has no replica".to_string()
        } else {
            format!("try {}", replicas.join(" or "))
        };
        return Err(format!("{} is a primary: CLUSTER FAILOVER goes to one of its replicas ({hint})", node.endpoint));
    }
    let mut argv = vec!["CLUSTER".to_string(), "FAILOVER".to_string()];
    argv.extend(option.clone());
    let interrupt = session.client.pool().interrupt_flag();
    let lab = lab(shell)?;
    let reply = call_until(lab.lab.link(), &node.endpoint, &argv, Duration::from_secs(5), interrupt.as_deref())
        .map_err(|e| e.to_string())?;
    if let Some(error) = reply.as_error() {
        return Err(format!("{}: {}", node.endpoint, String::from_utf8_lossy(error)));
    }
    lab.acted();
    let how = match option.as_deref() {
        Some("FORCE") => "without waiting for its primary to agree",
        Some(_) => "without asking the other primaries",
        None => "once its primary has handed over every write",
    };
    let sent = format!("CLUSTER FAILOVER {}", option.unwrap_or_default());
    Ok(format!("{} accepted {} (OK); it takes over {how}", node.endpoint, sent.trim_end()))
}

fn consistency(shell: &mut Shell, session: &mut Session, word: Option<&str>) -> Result<(), StdoutClosed> {
    let on = match word.map(str::to_ascii_lowercase).as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => return session.printer.line("usage: :consistency on|off"),
    };
    let interrupt = session.client.pool().interrupt_flag();
    let Some(lab) = shell.lab.as_mut() else { return Ok(()) };
    let text = if on {
        if lab.start_checker(&mut session.client) {
            "consistency checker started: its lines appear above the prompt; :consistency off stops it (final check, clean-up, verdict)"
        } else {
            "the consistency checker is already running (:consistency off stops it)"
        }
    } else if lab.stop_checker(interrupt.as_deref()) {
        "consistency checker stopped"
    } else {
        "the consistency checker is not running"
    };
    session.printer.line(text)?;
    session.printer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modes::sandbox::census::{Flag, Seen};
    use crate::modes::sandbox::lab::Process;

    fn nodes() -> Vec<LabNode> {
        [(7000, "a1b2c"), (7001, "a1b2d"), (7002, "1f00e")]
            .iter()
            .map(|&(port, id)| LabNode {
                endpoint: Endpoint::tcp("127.0.0.1", port),
                id: format!("{id}{}", "0".repeat(35)),
                process: Process::Running,
                pid: None,
            })
            .collect()
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn nodes_are_named_by_address_port_or_id_prefix() {
        let nodes = nodes();
        assert_eq!(resolve(&words("127.0.0.1:7001"), &nodes, None), Ok((1, 1)));
        assert_eq!(resolve(&words("7002 5"), &nodes, None), Ok((2, 1)));
        assert_eq!(resolve(&words("1F00"), &nodes, None), Ok((2, 1)));
        assert_eq!(resolve(&words("1f00e000"), &nodes, None), Ok((2, 1)));
        assert!(
            resolve(&words("a1b2"), &nodes, None)
                .is_err_and(|e| e.contains("starts the ids of 127.0.0.1:7000, 127.0.0.1:7001"))
        );
        assert_eq!(resolve(&words("a1b2d"), &nodes, None), Ok((1, 1)));
        // A short word is never an id prefix (nor a position): "1" names no node,
        // although one id starts with it.
        for short in ["1", "1f", "1f0", "0", "2"] {
            assert!(
                resolve(&words(short), &nodes, None)
                    .is_err_and(|e| e.starts_with(&format!("no sandbox node '{short}'"))),
                "{short}"
            );
        }
        // A port with a leading zero is not that port.
        assert!(resolve(&words("07000"), &nodes, None).is_err());
        assert!(resolve(&words("9999"), &nodes, None).is_err());
        assert!(resolve(&[], &nodes, None).is_err_and(|e| e.contains("HOST:PORT")));
        assert!(resolve(&words("\x1b[31m"), &nodes, None).is_err_and(|e| !e.contains('\x1b')));
    }

    #[test]
    fn primary_of_and_replica_of_a_key_come_from_the_census() {
        let nodes = nodes();
        let ep = |port| Endpoint::tcp("127.0.0.1", port);
        let census = Census {
            nodes: vec![
                Seen {
                    endpoint: ep(7000),
                    answering: true,
                    role: Role::Primary,
                    slots: vec![(0, 16383)],
                    flag: Flag::Fine,
                },
                Seen {
                    endpoint: ep(7001),
                    answering: true,
                    role: Role::Replica(Some(ep(7000))),
                    slots: vec![],
                    flag: Flag::Fine,
                },
                Seen { endpoint: ep(7002), answering: true, role: Role::Unknown, slots: vec![], flag: Flag::Fine },
            ],
            state_ok: Some(true),
        };
        assert_eq!(resolve(&words("primary-of foo"), &nodes, Some(&census)), Ok((0, 2)));
        assert_eq!(resolve(&words("replica-of foo 3"), &nodes, Some(&census)), Ok((1, 2)));
        assert!(resolve(&words("primary-of"), &nodes, Some(&census)).is_err());
        assert!(resolve(&words("primary-of foo"), &nodes, None).is_err());
        assert_eq!(described(&ep(7000), Some(&census)), "127.0.0.1:7000 (primary of 0-16383)");
    }
}
