//! The hash-tags lesson's checks, step by step: what reaches each step, what gets a
//! hint (and that the hint's numbers are the real slots), what is not worth a word.

use super::super::testing::{error, ok, topology, typed, words};
use super::super::{Memory, Readings, Verdict};
use super::*;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

fn check(step: usize, line: &str, outcome: Option<&Outcome>, readings: &Readings) -> Verdict {
    let argv = words(line);
    let attempt = typed(&argv, outcome);
    let step = LESSON.steps.get(step).unwrap();
    (step.check)(&attempt, readings, &Memory::default())
}

fn done(verdict: &Verdict, needles: &[&str]) {
    match verdict {
        Verdict::Done(text) => assert!(needles.iter().all(|n| text.contains(n)), "{text}"),
        other => panic!("expected done, got {other:?}"),
    }
}

fn hint(verdict: &Verdict, needles: &[&str]) {
    match verdict {
        Verdict::Hint(text) => assert!(needles.iter().all(|n| text.contains(n)), "{text}"),
        other => panic!("expected a hint, got {other:?}"),
    }
}

#[test]
fn where_a_key_goes_is_computed_and_owned_by_the_map() {
    let map = topology(None);
    let readings = Readings { map: Some(&map), ..Readings::default() };
    done(&check(0, ":slot user:1:name", None, &readings), &["slot 12440 (whole key hashed), served by 127.0.0.1:7002"]);
    hint(&check(0, ":slot", None, &readings), &[":slot user:1:name"]);
    hint(&check(0, "get user:1:name", Some(&ok()), &readings), &["without running anything"]);
    assert_eq!(check(0, "ping", None, &readings), Verdict::Quiet);
    assert_eq!(check(0, ":nodes", None, &readings), Verdict::Quiet);
}

#[test]
fn two_keys_land_in_one_slot_only_through_a_tag() {
    let map = topology(None);
    let readings = Readings { map: Some(&map), ..Readings::default() };
    done(
        &check(1, ":slot user:{1}:name user:{1}:email", None, &readings),
        &["only \"1\" hashed", "slot 9842, served by 127.0.0.1:7001"],
    );
    // A write with both keys reaches the step too.
    done(&check(1, "mset {user:1}:name a {user:1}:email b", Some(&ok()), &readings), &["slot"]);
    hint(&check(1, ":slot user:1:name user:1:email", None, &readings), &["slot 12440", "slot 6268", "user:{1}:name"]);
    hint(&check(1, ":slot user:{1}:name", None, &readings), &["both keys"]);
    // The same key twice is one key.
    hint(&check(1, ":slot user:{1}:name user:{1}:name", None, &readings), &["both keys"]);
    assert_eq!(check(1, "get user:1:name", Some(&ok()), &readings), Verdict::Quiet);
}

#[test]
fn an_mset_is_one_command_only_in_one_slot() {
    let map = topology(None);
    let mut readings = Readings { map: Some(&map), ..Readings::default() };
    readings.values = vec![(b"u:{1}:n".to_vec(), Ok(Some(b"Ada".to_vec())))];
    done(&check(2, "MSET u:{1}:n Ada u:{1}:e a@b", Some(&ok()), &readings), &["One slot (", "\"u:{1}:n\" = \"Ada\""]);

    readings.server_said = Some((
        Endpoint::tcp("127.0.0.1", 7002),
        "(error) CROSSSLOT Keys in request don't hash to the same slot".into(),
    ));
    hint(
        &check(2, "mset user:1:name Ada user:1:email a@b", Some(&ok()), &readings),
        &[
            "slots 12440, 6268",
            "split it into 2 MSETs",
            "127.0.0.1:7002 answers `MGET \"user:1:name\" \"user:1:email\"`",
        ],
    );
    let wrong = error("ERR wrong number of arguments for 'mset' command");
    hint(&check(2, "mset {u}a 1 {u}b", Some(&wrong), &readings), &["wrong number", "pairs"]);
    hint(&check(2, "mset a 1", Some(&ok()), &readings), &["two keys"]);
    hint(&check(2, "msetnx {u}a 1 {u}b 2", Some(&ok()), &readings), &["this step is about MSET"]);
    assert_eq!(check(2, "get a", Some(&ok()), &readings), Verdict::Quiet);
}

#[test]
fn the_mset_step_asks_for_values_or_the_servers_own_answer() {
    let probes = |line: &str| {
        let argv = words(line);
        let attempt = typed(&argv, None);
        (LESSON.steps.get(2).unwrap().probes)(&attempt, &Memory::default())
    };
    assert_eq!(probes("mset {u}a 1 {u}b 2"), vec![Probe::Value(b"{u}a".to_vec()), Probe::Value(b"{u}b".to_vec())]);
    assert_eq!(probes("mset a 1 b 2"), vec![Probe::ServerSays(words("MGET a b"))]);
    assert!(probes("get a").is_empty());
}

#[test]
fn a_cross_slot_command_is_refused_and_the_split_ones_are_not() {
    let map = topology(None);
    let readings = Readings { map: Some(&map), ..Readings::default() };
    let refusal = Outcome::Failed("CROSSSLOT: not sent, the keys of MSETNX map to different slots:".into());
    done(&check(3, "msetnx a 1 b 2", Some(&refusal), &readings), &["MSETNX's keys are in slots 15495, 3300"]);
    hint(&check(3, "mget a b", Some(&ok()), &readings), &["rcli split that MGET"]);
    hint(&check(3, "msetnx {t}a 1 {t}b 2", Some(&ok()), &readings), &["share slot"]);
    assert_eq!(check(3, ":slot a b", None, &readings), Verdict::Quiet);
    assert_eq!(check(3, "get a", Some(&ok()), &readings), Verdict::Quiet);
}

#[test]
fn the_fix_runs_in_one_slot_whatever_the_commands_own_answer() {
    let map = topology(None);
    let readings = Readings { map: Some(&map), ..Readings::default() };
    done(
        &check(4, "msetnx {t}a 1 {t}b 2", Some(&Outcome::Scalar(Frame::Integer(1))), &readings),
        &["\"t\"", "atomically"],
    );
    let missing = error("ERR no such key");
    done(&check(4, "rename {t}a {t}c", Some(&missing), &readings), &["ERR no such key", "it ran"]);
    let refusal = Outcome::Failed("CROSSSLOT: not sent".into());
    hint(&check(4, "msetnx a 1 b 2", Some(&refusal), &readings), &["still in slots 15495, 3300"]);
    assert_eq!(check(4, "get {t}a", Some(&ok()), &readings), Verdict::Quiet);
}

#[test]
fn the_refused_command_is_remembered_for_the_fix() {
    let mut memory = Memory::default();
    let argv = words("rename a b");
    let refusal = Outcome::Failed("CROSSSLOT: not sent".into());
    (LESSON.observe)(&typed(&argv, Some(&refusal)), &Readings::default(), &mut memory);
    assert_eq!(memory.refused.as_deref(), Some("RENAME"));
    assert!(fix_goal(&memory).starts_with("Run RENAME again"));
}
