//! The failover lesson: write foo, find the primary that owns it (`:slot foo`), make
//! sure its replica has the write (WAIT), kill that primary, read foo back from the
//! promoted replica, and bring the old primary back to see it rejoin as a replica.
//!
//! Every check looks at the cluster, not at how the user acted: the primary is down
//! (or a replica took its slots), the old primary answers as a replica — whether it was
//! killed with `:kill`, `kill -9` from another terminal or SHUTDOWN.

use super::reading::restart_command;
use super::{Attempt, Lesson, Memory, NodeReading, Probe, Readings, Step, Verdict, key_and_slot, quoted};
use crate::cluster::slot;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;
use crate::session::outcome::Outcome;

/// The key the lesson follows.
const KEY: &[u8] = b"foo";

/// The sandbox lab's commands: typing one is a relevant attempt at a state step.
const LAB: &[&str] = &[":kill", ":stop", ":restart", ":pause", ":failover"];

pub const LESSON: Lesson = Lesson {
    name: "failover",
    title: "a primary dies and its replica takes over",
    intro: "Every primary has a replica that copies its writes. When a primary dies, the other primaries notice, and \
            its replica takes over its slots. Six steps: write foo, find its primary, make sure the replica has \
            the write, kill the primary, read foo back, and bring the old primary back.",
    needs_replicas: true,
    steps: &[
        Step { title: "Write a key", goal: |_| WRITE.into(), probes: |_, _| Vec::new(), check: write },
        Step { title: "Find its primary", goal: |_| FIND.into(), probes: |_, _| Vec::new(), check: find },
        Step { title: "Make sure the replica has it", goal: |_| WAIT.into(), probes: |_, _| Vec::new(), check: wait },
        Step { title: "Kill the primary", goal: kill_goal, probes: node_probes, check: killed },
        Step { title: "Read it back", goal: |_| READ.into(), probes: read_probes, check: read_back },
        Step { title: "Bring the old primary back", goal: rejoin_goal, probes: node_probes, check: rejoined },
    ],
    outro: "A primary died, its replica took over, and the old primary came back as a replica: the cluster healed \
            without losing foo, because the write had reached the replica before the crash. Next: `:lesson hash-tags`.",
    observe,
    observe_probes,
};

const WRITE: &str = "Write a value: `SET foo hello` (any value).";

const FIND: &str = "Find which primary owns foo, and which replica copies it: `:slot foo`.";

const WAIT: &str = "Replication is asynchronous: a primary that dies right after its OK can take the write with it. \
                    `WAIT 1 1000`, sent to foo's primary (the node in your prompt), waits until one replica has \
                    every write so far, for at most 1000 ms, and says how many did.";

const READ: &str = "Once the replica has taken over (a few seconds; `:nodes` shows the roles), read foo back: \
                    `GET foo`. rcli waits and retries while the cluster fails over.";

fn foo_slot() -> u16 {
    slot::slot_of(KEY)
}

/// The primary the lesson is about, for a person.
fn node_name(memory: &Memory) -> String {
    memory.node.as_ref().map_or_else(|| "foo's primary".to_string(), Endpoint::to_string)
}

/// Enter on an empty line, a lab command, SHUTDOWN: an attempt at a step about state.
fn about_state(attempt: &Attempt) -> bool {
    attempt.is_enter() || LAB.iter().any(|name| attempt.is(name)) || attempt.is("shutdown")
}

fn observe_probes(attempt: &Attempt, _: &Memory) -> Vec<Probe> {
    if attempt.is(":slot") && attempt.has_key(KEY) { vec![Probe::Owner(foo_slot())] } else { Vec::new() }
}

fn observe(attempt: &Attempt, readings: &Readings, memory: &mut Memory) {
    if attempt.is("set")
        && attempt.arg(1) == Some(KEY)
        && attempt.outcome.is_some_and(Outcome::is_ok)
        && let Some(value) = attempt.arg(2)
    {
        memory.write(KEY, value);
    }
    if attempt.is(":slot") && attempt.has_key(KEY) {
        let Some(owner) = readings.owner(foo_slot()) else { return };
        // After the failover foo has a new owner: the lesson keeps following the old one.
        if memory.node.as_ref().is_some_and(|known| known != owner) {
            return;
        }
        memory.node = Some(owner.clone());
        if let Some(NodeReading::Up(info)) = readings.node(owner) {
            memory.node_info = Some(info.clone());
        }
    }
}

fn write(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    if !attempt.is("set") {
        return Verdict::Quiet;
    }
    if attempt.arg(1) != Some(KEY) {
        return Verdict::Hint("This lesson follows the key foo: `SET foo hello`.".into());
    }
    let Some(outcome) = attempt.outcome else { return Verdict::Quiet };
    if let Some(error) = outcome.error() {
        return Verdict::Hint(format!("SET foo got: {error}"));
    }
    if !outcome.is_ok() {
        return Verdict::Hint("`SET foo <value>` without NX, XX or GET, so that it sets foo and answers OK.".into());
    }
    let owner = readings.owner(foo_slot()).map(|o| format!(", on {o}")).unwrap_or_default();
    Verdict::Done(format!(
        "{}{owner}. The primary answered OK as soon as it had the write; it sends the write to its replica right \
         after, without waiting for it (replication is asynchronous).",
        key_and_slot(KEY)
    ))
}

fn find(attempt: &Attempt, readings: &Readings, memory: &Memory) -> Verdict {
    if !attempt.is(":slot") {
        return Verdict::Quiet;
    }
    if !attempt.has_key(KEY) {
        return Verdict::Hint("This lesson follows foo: `:slot foo`.".into());
    }
    let Some(node) = &memory.node else {
        return Verdict::Hint("The slot map names no owner for foo's slot: `:refresh`, then `:slot foo` again.".into());
    };
    let pid = memory.node_info.as_ref().and_then(|i| i.pid).map(|p| format!(" (process {p})")).unwrap_or_default();
    let replicas: Vec<String> = readings.replicas(foo_slot()).iter().map(|e| e.to_string()).collect();
    let copies = match replicas.as_slice() {
        [] => "it has no replica, so no failover can save its keys".to_string(),
        [one] => format!("its replica {one} copies every write it takes"),
        many => format!("its replicas {} copy every write it takes", many.join(", ")),
    };
    Verdict::Done(format!("foo is in slot {} on {node}{pid}; {copies}.", foo_slot()))
}

fn wait(attempt: &Attempt, _: &Readings, memory: &Memory) -> Verdict {
    if !attempt.is("wait") {
        return Verdict::Quiet;
    }
    let Some(outcome) = attempt.outcome else { return Verdict::Quiet };
    if let Some(error) = outcome.error() {
        return Verdict::Hint(format!("WAIT got: {error}. `WAIT 1 1000`: one replica, at most 1000 ms."));
    }
    let Outcome::Scalar(Frame::Integer(count)) = outcome else { return Verdict::Quiet };
    if let (Some(at), Some(node)) = (attempt.at, &memory.node)
        && at != node
    {
        return Verdict::Hint(format!(
            "WAIT went to {at}, the node in your prompt, but foo's primary is {node}: `:use {node}`, then WAIT \
             again (keyless commands go to the node in the prompt)."
        ));
    }
    if *count < 1 {
        return Verdict::Hint(
            "No replica acknowledged in time. Run `WAIT 1 1000` again; `:nodes` shows whether the replica's link is up."
                .into(),
        );
    }
    let replicas = if *count == 1 { "1 replica".to_string() } else { format!("{count} replicas") };
    Verdict::Done(format!(
        "{replicas} acknowledged every write {} had taken, foo included: a write a replica has survives the \
         primary's death. (WAIT narrows the window in which writes can be lost; it does not make Redis strongly \
         consistent.)",
        node_name(memory)
    ))
}

fn node_probes(_: &Attempt, memory: &Memory) -> Vec<Probe> {
    match &memory.node {
        Some(node) => vec![Probe::FreshMap, Probe::Node(node.clone())],
        None => Vec::new(),
    }
}

/// How to kill foo's primary: the lab command when the shell has it, `kill -9 PID`.
fn kill_how(memory: &Memory) -> String {
    let node = node_name(memory);
    let pid = memory.node_info.as_ref().and_then(|i| i.pid);
    match (memory.lab, pid) {
        (true, Some(pid)) => format!("`:kill {node}` (SIGKILL), or from another terminal `kill -9 {pid}`"),
        (true, None) => format!("`:kill {node}` (SIGKILL)"),
        (false, Some(pid)) => format!("from another terminal, `kill -9 {pid}` (its redis-server)"),
        (false, None) => "from another terminal, `kill -9` its redis-server (`:slot foo` names it)".into(),
    }
}

fn kill_goal(memory: &Memory) -> String {
    format!(
        "Kill {} as a crash would: {}. Then press Enter here: the lesson checks the cluster.",
        node_name(memory),
        kill_how(memory)
    )
}

fn timeout_text(memory: &Memory) -> String {
    match memory.node_info.as_ref().and_then(|i| i.node_timeout_ms) {
        Some(ms) => format!("cluster-node-timeout ({ms} ms here)"),
        None => "cluster-node-timeout".into(),
    }
}

fn killed(attempt: &Attempt, readings: &Readings, memory: &Memory) -> Verdict {
    let Some(node) = &memory.node else {
        return if about_state(attempt) {
            Verdict::Hint("First find foo's primary: `:slot foo`.".into())
        } else {
            Verdict::Quiet
        };
    };
    let owner = readings.owner(foo_slot());
    match readings.node(node) {
        Some(NodeReading::Silent(why)) => Verdict::Done(format!(
            "{node} does not answer ({why}). The other nodes stop hearing from it; after {} they mark it failed, \
             and its replica is elected to take over slot {} and the rest of its slots. Meanwhile commands for \
             those slots wait: rcli retries them while the cluster heals.",
            timeout_text(memory),
            foo_slot()
        )),
        Some(NodeReading::Up(_)) if owner.is_some_and(|o| o != node) => Verdict::Done(format!(
            "{} took over slot {} while {node} kept running (a manual failover): {node} is its replica now.",
            owner.map(Endpoint::to_string).unwrap_or_default(),
            foo_slot()
        )),
        Some(NodeReading::Up(_)) if about_state(attempt) => {
            Verdict::Hint(format!("{node} still answers. Kill it: {}.", kill_how(memory)))
        }
        _ => Verdict::Quiet,
    }
}

fn read_probes(attempt: &Attempt, _: &Memory) -> Vec<Probe> {
    if attempt.is("get") { vec![Probe::FreshMap] } else { Vec::new() }
}

fn read_back(attempt: &Attempt, readings: &Readings, memory: &Memory) -> Verdict {
    if !attempt.is("get") {
        return Verdict::Quiet;
    }
    if attempt.arg(1) != Some(KEY) {
        return Verdict::Hint("Read foo: `GET foo`.".into());
    }
    let Some(outcome) = attempt.outcome else { return Verdict::Quiet };
    if let Some(error) = outcome.error() {
        return Verdict::Hint(format!(
            "No value yet: {error}\nThe failover takes a few seconds ({}, then an election); `:nodes` shows when \
             the replica is a primary. Try `GET foo` again.",
            timeout_text(memory)
        ));
    }
    let answered = match (readings.owner(foo_slot()), &memory.node) {
        (Some(owner), Some(old)) if owner != old => format!("{owner}, foo's replica until the failover, answered"),
        (Some(owner), _) => format!("{owner} answered"),
        (None, _) => "the cluster answered".into(),
    };
    match outcome {
        Outcome::Scalar(Frame::Bulk(value)) => {
            let written = memory.written(KEY);
            let note = match written {
                Some(wrote) if wrote != value.as_slice() => format!(" (you wrote {} last)", quoted(wrote)),
                _ => String::new(),
            };
            Verdict::Done(format!(
                "{} survived{note}: {answered}. The replica had the write before its primary died, so nothing was lost.",
                quoted(value)
            ))
        }
        Outcome::Scalar(Frame::Null) => Verdict::Done(format!(
            "foo is gone: {answered}, but it never had the write; the primary died before passing it on \
             (asynchronous replication). That is the loss WAIT guards against."
        )),
        _ => Verdict::Quiet,
    }
}

fn rejoin_goal(memory: &Memory) -> String {
    let node = node_name(memory);
    let port = match &memory.node {
        Some(Endpoint::Tcp { port, .. }) => Some(*port),
        _ => None,
    };
    let restart = memory.node_info.as_ref().zip(port).and_then(|(info, port)| restart_command(port, info));
    let lab = if memory.lab { format!("`:restart {node}`, or ") } else { String::new() };
    let how = match restart {
        Some(command) => format!(
            "{lab}start it again from another terminal with its own cluster config file, so it comes back as the \
             same node (it then runs there until Ctrl-C; the sandbox does not remove it):\n  {command}"
        ),
        None => format!("{lab}start its redis-server again, with the same port, directory and nodes.conf file."),
    };
    format!(
        "Bring {node} back: {how}\nThen press Enter here. It comes back believing it is a primary, and learns otherwise."
    )
}

fn rejoined(attempt: &Attempt, readings: &Readings, memory: &Memory) -> Verdict {
    let Some(node) = &memory.node else {
        return if about_state(attempt) {
            Verdict::Hint(
                "The lesson does not know foo's old primary (step 2 was skipped); `:nodes` shows the roles.".into(),
            )
        } else {
            Verdict::Quiet
        };
    };
    let hint = |text: String| if about_state(attempt) { Verdict::Hint(text) } else { Verdict::Quiet };
    match readings.node(node) {
        Some(NodeReading::Up(info)) => match &info.replica_of {
            Some(primary) if info.link_up => {
                let owner = readings.owner(foo_slot());
                let role = if owner == Some(primary) { ", foo's primary now" } else { "" };
                let swap = if memory.lab {
                    format!("`:failover {node}`")
                } else {
                    format!("`CLUSTER FAILOVER` sent to {node}")
                };
                Verdict::Done(format!(
                    "{node} is back as a replica of {primary}{role}. It restarted with its old nodes.conf, which \
                     said it was a primary, but the cluster had moved on (a newer configuration epoch), so it gave \
                     up its slots and now copies {primary}. {swap} would swap the roles back."
                ))
            }
            Some(primary) => {
                hint(format!("{node} is back as a replica of {primary}, still syncing. Press Enter again in a moment."))
            }
            None => hint(format!(
                "{node} is back but still believes it is a primary; it learns the new configuration from the others \
                 within a few seconds. Press Enter again."
            )),
        },
        Some(NodeReading::Silent(_)) => {
            hint(format!("{node} is not running yet: start it again (`:lesson` shows how), then press Enter."))
        }
        None => Verdict::Quiet,
    }
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
