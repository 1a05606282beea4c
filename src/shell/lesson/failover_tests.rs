//! The failover lesson's checks over hand-made cluster states: the primary of foo up,
//! silent, replaced; the old primary back as a primary, a syncing replica, a replica.

use super::super::testing::{bulk, error, node, ok, topology, typed, words};
use super::super::{NodeInfo, Readings};
use super::*;

/// What the lesson knows after steps 1 and 2 on the test map: foo (slot 12182) is on 7002.
fn memory(lab: bool) -> Memory {
    let info = NodeInfo {
        pid: Some(4242),
        node_timeout_ms: Some(2000),
        dir: Some("/tmp/sandbox".into()),
        config_file: Some("nodes-7002.conf".into()),
        ..NodeInfo::default()
    };
    let mut memory = Memory { node: Some(node(7002)), node_info: Some(info), lab, ..Memory::default() };
    memory.write(b"foo", b"hello");
    memory
}

fn check(step: usize, line: &str, outcome: Option<&Outcome>, readings: &Readings, memory: &Memory) -> Verdict {
    let argv = words(line);
    let attempt = typed(&argv, outcome);
    (LESSON.steps.get(step).unwrap().check)(&attempt, readings, memory)
}

fn text(verdict: Verdict) -> String {
    match verdict {
        Verdict::Done(text) => format!("done: {text}"),
        Verdict::Hint(text) => format!("hint: {text}"),
        Verdict::Quiet => "quiet".into(),
    }
}

#[test]
fn writing_and_finding_foo_teach_its_slot_and_owner() {
    let map = topology(None);
    let readings = Readings { map: Some(&map), ..Readings::default() };
    let fresh = Memory::default();
    let said = text(check(0, "set foo hello", Some(&ok()), &readings, &fresh));
    assert!(said.starts_with("done: \"foo\" → slot 12182 (whole key hashed), on 127.0.0.1:7002."), "{said}");
    assert!(text(check(0, "set bar 1", Some(&ok()), &readings, &fresh)).contains("SET foo hello"));
    assert!(text(check(0, "set foo 1 nx", Some(&Outcome::Scalar(Frame::Null)), &readings, &fresh)).starts_with("hint"));
    assert_eq!(check(0, "get foo", Some(&ok()), &readings, &fresh), Verdict::Quiet);

    let said = text(check(1, ":slot foo", None, &readings, &memory(false)));
    assert_eq!(
        said,
        "done: foo is in slot 12182 on 127.0.0.1:7002 (process 4242); its replica 127.0.0.1:7005 copies every write it takes."
    );
    assert!(text(check(1, ":slot bar", None, &readings, &fresh)).contains("`:slot foo`"));
}

#[test]
fn the_lesson_learns_foos_primary_and_keeps_it_after_the_failover() {
    let before = topology(None);
    let mut readings = Readings { map: Some(&before), ..Readings::default() };
    let info = NodeInfo { pid: Some(99), ..NodeInfo::default() };
    readings.nodes = vec![(node(7002), NodeReading::Up(info.clone()))];
    let argv = words(":slot foo");
    let attempt = typed(&argv, None);
    assert_eq!((LESSON.observe_probes)(&attempt, &Memory::default()), vec![Probe::Owner(12182)]);
    let mut memory = Memory::default();
    (LESSON.observe)(&attempt, &readings, &mut memory);
    assert_eq!((memory.node.clone(), memory.node_info.clone()), (Some(node(7002)), Some(info)));

    let after = topology(Some(7002));
    let readings = Readings { map: Some(&after), ..Readings::default() };
    (LESSON.observe)(&attempt, &readings, &mut memory);
    assert_eq!(memory.node, Some(node(7002)), "still the old primary");

    let set = words("SET foo bye");
    (LESSON.observe)(&typed(&set, Some(&ok())), &readings, &mut memory);
    (LESSON.observe)(&typed(&words("SET foo never"), Some(&error("ERR"))), &readings, &mut memory);
    assert_eq!(memory.written(b"foo"), Some(b"bye".as_slice()));
}

#[test]
fn wait_must_reach_a_replica_from_foos_primary() {
    let readings = Readings::default();
    let memory = memory(false);
    let argv = words("wait 1 1000");
    let one = Outcome::Scalar(Frame::Integer(1));
    let zero = Outcome::Scalar(Frame::Integer(0));
    let at_primary = node(7002);
    let elsewhere = node(7000);
    let run = |outcome: &Outcome, at: &Endpoint| {
        let mut attempt = typed(&argv, Some(outcome));
        attempt.at = Some(at);
        text((LESSON.steps.get(2).unwrap().check)(&attempt, &readings, &memory))
    };
    assert!(run(&one, &at_primary).starts_with("done: 1 replica acknowledged"));
    assert!(run(&zero, &at_primary).starts_with("hint: No replica acknowledged"));
    assert!(run(&one, &elsewhere).contains("`:use 127.0.0.1:7002`"));
    assert!(
        text(check(2, "wait 1", Some(&error("ERR wrong number")), &readings, &memory)).starts_with("hint: WAIT got")
    );
}

#[test]
fn the_kill_is_seen_in_the_cluster_however_it_was_done() {
    let before = topology(None);
    let up = NodeReading::Up(NodeInfo::default());
    let mut readings = Readings { map: Some(&before), nodes: vec![(node(7002), up.clone())], ..Readings::default() };
    let memory = memory(false);
    let said = text(check(3, "", None, &readings, &memory));
    assert!(said.starts_with("hint: 127.0.0.1:7002 still answers.") && said.contains("kill -9 4242"), "{said}");
    assert_eq!(check(3, "get bar", Some(&ok()), &readings, &memory), Verdict::Quiet, "not about the kill");
    assert!(text(check(3, ":kill 127.0.0.1:7002", None, &readings, &memory)).starts_with("hint"));

    readings.nodes = vec![(node(7002), NodeReading::Silent("Connection refused".into()))];
    let said = text(check(3, "get bar", Some(&ok()), &readings, &memory));
    assert!(said.starts_with("done: 127.0.0.1:7002 does not answer (Connection refused)"), "{said}");
    assert!(said.contains("cluster-node-timeout (2000 ms here) they"), "{said}");

    // A manual failover: the old primary runs, a replica owns the slot.
    let after = topology(Some(7002));
    let readings = Readings { map: Some(&after), nodes: vec![(node(7002), up)], ..Readings::default() };
    assert!(text(check(3, "", None, &readings, &memory)).starts_with("done: 127.0.0.1:7005 took over slot 12182"));

    assert!(text(check(3, "", None, &readings, &Memory::default())).contains("`:slot foo`"));
    assert_eq!(
        (LESSON.steps.get(3).unwrap().probes)(&typed(&words(""), None), &memory),
        vec![Probe::FreshMap, Probe::Node(node(7002))]
    );
}

#[test]
fn the_kill_goal_offers_the_lab_command_when_the_shell_has_it() {
    let with_lab = kill_goal(&memory(true));
    assert!(with_lab.contains("`:kill 127.0.0.1:7002`") && with_lab.contains("kill -9 4242"), "{with_lab}");
    let without = kill_goal(&memory(false));
    assert!(!without.contains(":kill") && without.contains("kill -9 4242"), "{without}");
    let command = "\n  cd /tmp/sandbox && redis-server --port 7002 --cluster-enabled yes";
    let with_lab = rejoin_goal(&memory(true));
    assert!(with_lab.contains("`:restart 127.0.0.1:7002`, or start it") && with_lab.contains(command), "{with_lab}");
    let by_hand = rejoin_goal(&memory(false));
    assert!(!by_hand.contains(":restart") && by_hand.contains(command), "{by_hand}");
    let unknown = Memory { node_info: None, ..memory(false) };
    assert!(rejoin_goal(&unknown).contains("with the same port, directory and nodes.conf file"));
}

#[test]
fn foo_read_back_survives_or_is_reported_lost() {
    let after = topology(Some(7002));
    let readings = Readings { map: Some(&after), ..Readings::default() };
    let memory = memory(false);
    let said = text(check(4, "get foo", Some(&bulk("hello")), &readings, &memory));
    assert!(said.starts_with("done: \"hello\" survived: 127.0.0.1:7005, foo's replica until the failover"), "{said}");
    let lost = text(check(4, "get foo", Some(&Outcome::Scalar(Frame::Null)), &readings, &memory));
    assert!(lost.starts_with("done: foo is gone"), "{lost}");
    let down = Outcome::Failed("127.0.0.1:7002 is down".into());
    assert!(
        text(check(4, "get foo", Some(&down), &readings, &memory))
            .starts_with("hint: No value yet: 127.0.0.1:7002 is down")
    );
    assert!(
        text(check(4, "get foo", Some(&error("CLUSTERDOWN The cluster is down")), &readings, &memory))
            .contains("CLUSTERDOWN")
    );
    assert!(text(check(4, "get bar", Some(&bulk("x")), &readings, &memory)).contains("GET foo"));
    assert_eq!(check(4, "set foo x", Some(&ok()), &readings, &memory), Verdict::Quiet);
}

#[test]
fn the_old_primary_rejoins_as_a_synced_replica() {
    let after = topology(Some(7002));
    let memory = memory(false);
    let reading = |info: Option<NodeInfo>| match info {
        Some(info) => NodeReading::Up(info),
        None => NodeReading::Silent("Connection refused".into()),
    };
    let check_with = |state: Option<NodeInfo>, line: &str| {
        let readings = Readings { map: Some(&after), nodes: vec![(node(7002), reading(state))], ..Readings::default() };
        text(check(5, line, None, &readings, &memory))
    };
    assert!(check_with(None, "").starts_with("hint: 127.0.0.1:7002 is not running yet: start it again"));
    assert_eq!(check_with(None, "get foo"), "quiet");
    assert!(check_with(Some(NodeInfo::default()), "").contains("still believes it is a primary"));
    let syncing = NodeInfo { replica_of: Some(node(7005)), ..NodeInfo::default() };
    assert!(check_with(Some(syncing.clone()), "").contains("still syncing"));
    let synced = NodeInfo { link_up: true, ..syncing };
    let said = check_with(Some(synced), ":nodes");
    assert!(
        said.starts_with("done: 127.0.0.1:7002 is back as a replica of 127.0.0.1:7005, foo's primary now."),
        "{said}"
    );
}
