//! The hash-tags lesson: where a key goes (`:slot`), hash tags that put two keys in one
//! slot, an MSET the server accepts as one command (and the split rcli makes of one
//! that spans slots), a command the server refuses (CROSSSLOT), and the fix. Slots are
//! computed here (`cluster/slot.rs`); owners come from the slot map.

use super::{Attempt, Lesson, Memory, Probe, Readings, Step, Verdict, key_and_slot, quoted};
use crate::cluster::route::SplitKind;
use crate::cluster::slot::{self, HashedPart};
use crate::session::outcome::Outcome;

pub const LESSON: Lesson = Lesson {
    name: "hash-tags",
    title: "where keys go, and keeping them together",
    intro: "Every key lives in one of 16384 hash slots, and every slot on one primary. Five steps: where a key goes, \
            hash tags, an MSET the server accepts as one command, a command it refuses (CROSSSLOT), and the fix.",
    needs_replicas: false,
    steps: &[
        Step { title: "Where does a key go?", goal: |_| WHERE.into(), probes: |_, _| Vec::new(), check: where_it_goes },
        Step { title: "Two keys, one slot", goal: |_| together_goal(), probes: |_, _| Vec::new(), check: together },
        Step { title: "One MSET, one command", goal: |_| MSET_GOAL.into(), probes: mset_probes, check: one_mset },
        Step {
            title: "What the server refuses",
            goal: |_| REFUSED_GOAL.into(),
            probes: refused_probes,
            check: refused,
        },
        Step { title: "Fix it with a hash tag", goal: fix_goal, probes: |_, _| Vec::new(), check: fixed },
    ],
    outro: "The keys a command uses together must share a slot, and a hash tag is how you choose it. rcli splits \
            MGET, MSET, DEL, UNLINK, EXISTS and TOUCH across slots for you, but only a one-slot command is atomic. \
            Next: `:lesson failover`.",
    observe,
    observe_probes: |_, _| Vec::new(),
};

const WHERE: &str = "Ask rcli where a key lives: `:slot user:1:name`. It computes the key's slot itself and looks \
                     up the slot's owner in its slot map; nothing is sent to the server.";

const MSET_GOAL: &str = "Set both of user 1's fields with one MSET that the server accepts as one command: \
                         `MSET <name key> Ada <email key> ada@example.com`.";

const REFUSED_GOAL: &str = "Other commands with several keys need every key in one slot. Run one whose keys are \
                            in different slots and that rcli cannot split, e.g. `MSETNX a 1 b 2`, \
                            `RENAME a b` or `SUNIONSTORE all a b`.";

/// The commands rcli splits per slot, as the hints name them.
const SPLIT: &str = "MGET, MSET, DEL, UNLINK, EXISTS and TOUCH";

fn together_goal() -> String {
    format!(
        "`user:1:name` and `user:1:email` belong together, but {} and {}. Rename them so that both land in one \
         slot, and check with `:slot <name key> <email key>`. (`:slot` shows which part of a key is hashed.)",
        key_and_slot(b"user:1:name"),
        key_and_slot(b"user:1:email")
    )
}

fn fix_goal(memory: &Memory) -> String {
    let command = memory.refused.clone().unwrap_or_else(|| "MSETNX".into());
    format!(
        "Run {command} again with all its keys in one slot: give them one hash tag, e.g. `{{t}}a` and `{{t}}b` \
         (`MSETNX {{t}}a 1 {{t}}b 2`)."
    )
}

fn has_tag(key: &[u8]) -> bool {
    matches!(slot::hashed_part(key), HashedPart::Tag { .. })
}

/// `slot 12182, served by 127.0.0.1:7002` (without the owner when the map has none).
fn slot_and_owner(slot: u16, readings: &Readings) -> String {
    match readings.owner(slot) {
        Some(owner) => format!("slot {slot}, served by {owner}"),
        None => format!("slot {slot}"),
    }
}

fn slot_list(slots: &[u16]) -> String {
    slots.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

fn key_lines(keys: &[&[u8]]) -> String {
    keys.iter().take(6).map(|k| key_and_slot(k)).collect::<Vec<_>>().join("\n")
}

fn observe(attempt: &Attempt, _: &Readings, memory: &mut Memory) {
    if attempt.outcome.and_then(|o| o.error()).is_some_and(|e| e.contains("CROSSSLOT")) && !attempt.is_meta() {
        memory.refused = Some(attempt.name());
    }
}

fn where_it_goes(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    if attempt.is(":slot") && !attempt.keys.is_empty() {
        let lines: Vec<String> = attempt
            .distinct_keys()
            .iter()
            .take(3)
            .map(|k| {
                let owner = readings.owner(slot::slot_of(k)).map(|o| format!(", served by {o}")).unwrap_or_default();
                format!("{}{owner}", key_and_slot(k))
            })
            .collect();
        return Verdict::Done(format!(
            "{}\nA key's slot is CRC16 of the key modulo 16384, so it never changes; which primary serves a slot \
             is the cluster's choice. rcli computed the slot itself and keeps the slot map, so each command goes \
             straight to its owner.",
            lines.join("\n")
        ));
    }
    if attempt.is(":slot") {
        return Verdict::Hint("Give `:slot` a key: `:slot user:1:name`.".into());
    }
    if !attempt.is_meta() && !attempt.keys.is_empty() {
        return Verdict::Hint(
            "That ran. This step asks rcli where a key goes without running anything: `:slot user:1:name`.".into(),
        );
    }
    Verdict::Quiet
}

fn together(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    let keys = attempt.distinct_keys();
    if keys.len() < 2 {
        return if attempt.is(":slot") && !keys.is_empty() {
            Verdict::Hint(
                "Give `:slot` both keys, renamed so that they share a slot: `:slot <name key> <email key>`.".into(),
            )
        } else {
            Verdict::Quiet
        };
    }
    let slots = attempt.slots();
    let lines = key_lines(&keys);
    match slots.as_slice() {
        [slot] if keys.iter().any(|k| has_tag(k)) => Verdict::Done(format!(
            "{lines}\nOnly the part between the first `{{` and the next `}}` is hashed, so every key with the same \
             tag lands in the same slot ({}): one primary holds them all, and commands can use them together. \
             Choose tags with many values (one per user): a single tag for everything would put every key on \
             one node.",
            slot_and_owner(*slot, readings)
        )),
        [slot] => Verdict::Hint(format!(
            "{lines}\nThose share slot {slot} by chance, not by design. Give both a hash tag ({{…}}) so that every \
             user's keys stay together."
        )),
        _ => Verdict::Hint(format!(
            "{lines}\nWithout braces the whole key is hashed. Only the part between the first `{{` and the next \
             `}}` is hashed when there is one: put the part both keys share in braces, `user:{{1}}:name` and \
             `user:{{1}}:email`."
        )),
    }
}

fn mset_probes(attempt: &Attempt, _: &Memory) -> Vec<Probe> {
    if !attempt.is("mset") {
        return Vec::new();
    }
    let keys = attempt.distinct_keys();
    if attempt.slots().len() == 1 {
        keys.iter().take(10).map(|k| Probe::Value(k.to_vec())).collect()
    } else {
        let mut argv = vec![b"MGET".to_vec()];
        argv.extend(keys.iter().take(10).map(|k| k.to_vec()));
        vec![Probe::ServerSays(argv)]
    }
}

/// "Asked directly, 127.0.0.1:7000 answers `MGET a b` with: …" when the probe ran.
fn server_words(attempt: &Attempt, readings: &Readings) -> String {
    let Some((node, text)) = &readings.server_said else { return String::new() };
    let keys: Vec<String> = attempt.distinct_keys().iter().take(10).map(|k| quoted(k)).collect();
    format!("Asked directly, {node} answers `MGET {}` with: {text}\n", keys.join(" "))
}

fn one_mset(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    if attempt.is("msetnx") {
        return Verdict::Hint(
            "MSETNX is another command (it sets nothing if any key exists); this step is about MSET.".into(),
        );
    }
    if !attempt.is("mset") {
        return Verdict::Quiet;
    }
    let keys = attempt.distinct_keys();
    let slots = attempt.slots();
    let error = attempt.outcome.and_then(|o| o.error());
    if keys.len() < 2 {
        return match error {
            Some(error) => Verdict::Hint(format!("MSET got: {error}. It takes pairs: MSET key value [key value ...].")),
            None => Verdict::Hint("Set both fields in one MSET: two keys, two values.".into()),
        };
    }
    if slots.len() > 1 {
        return Verdict::Hint(format!(
            "{}\nThat was not one command: its keys are in slots {}, so rcli split it into {} MSETs, one per slot, \
             and answered OK when every part had. Each part is atomic, the whole is not: another client may see \
             one key set and not the other.\n{}Give the keys one hash tag (as in the last step).",
            key_lines(&keys),
            slot_list(&slots),
            slots.len(),
            server_words(attempt, readings)
        ));
    }
    if let Some(error) = error {
        return Verdict::Hint(format!("MSET got: {error}. It takes pairs: MSET key value [key value ...]."));
    }
    if !attempt.outcome.is_some_and(|o| o.is_ok()) {
        return Verdict::Quiet;
    }
    let slot = slots.first().copied().unwrap_or_default();
    let stored: Vec<String> = keys
        .iter()
        .filter_map(|k| match readings.value(k) {
            Some(Ok(Some(value))) => Some(format!("{} = {}", quoted(k), quoted(value))),
            _ => None,
        })
        .collect();
    let owner = readings.owner(slot).map(|o| o.to_string()).unwrap_or_else(|| "its owner".into());
    let held = if stored.is_empty() { String::new() } else { format!("\n{owner} holds {}.", stored.join(", ")) };
    Verdict::Done(format!(
        "One slot ({slot}), so one command: rcli sent the MSET as it was to {owner}, which set every key at once, \
         atomically.{held}\n`:explain MSET …` shows this decision before anything runs."
    ))
}

fn refused_probes(attempt: &Attempt, _: &Memory) -> Vec<Probe> {
    let keys = attempt.distinct_keys();
    if attempt.is_meta() || attempt.slots().len() < 2 {
        return Vec::new();
    }
    let mut argv = vec![b"MGET".to_vec()];
    argv.extend(keys.iter().take(10).map(|k| k.to_vec()));
    vec![Probe::ServerSays(argv)]
}

fn refused(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    if attempt.is_meta() || attempt.distinct_keys().len() < 2 {
        return Verdict::Quiet;
    }
    let slots = attempt.slots();
    let name = attempt.name();
    let cross_slot = attempt.outcome.and_then(|o| o.error()).is_some_and(|e| e.contains("CROSSSLOT"));
    match slots.as_slice() {
        [slot] => Verdict::Hint(format!(
            "Those keys share slot {slot}, so {name} ran as one command. Use keys in different slots, e.g. `a` and `b`."
        )),
        _ if cross_slot => Verdict::Done(format!(
            "{name}'s keys are in slots {}. A command runs on one node, and keys in different slots may live on \
             different nodes, so Redis refuses it with CROSSSLOT (even when one node serves every slot).\n{}rcli \
             refused it before sending, with each key's slot and a rewrite that shares a hash tag.",
            slot_list(&slots),
            server_words(attempt, readings)
        )),
        _ if attempt.argv.first().and_then(|n| SplitKind::of(n)).is_some() => Verdict::Hint(format!(
            "rcli split that {name} into one command per slot ({SPLIT} are split, not atomically). Try a command it \
             cannot split, with keys in different slots: `MSETNX a 1 b 2`, `RENAME a b`, `SUNIONSTORE all a b`."
        )),
        _ => Verdict::Quiet,
    }
}

fn fixed(attempt: &Attempt, readings: &Readings, _: &Memory) -> Verdict {
    let keys = attempt.distinct_keys();
    if attempt.is_meta() || keys.len() < 2 {
        return Verdict::Quiet;
    }
    let slots = attempt.slots();
    let name = attempt.name();
    let Some(outcome) = attempt.outcome else { return Verdict::Quiet };
    match slots.as_slice() {
        [slot] => {
            if let Outcome::Failed(why) = outcome {
                return Verdict::Hint(format!("rcli got no reply: {why}"));
            }
            let tag = keys.first().map(|k| quoted(slot::hashed_part(k).bytes(k))).unwrap_or_default();
            let own = outcome
                .error()
                .map(|e| format!(" Its reply ({e}) is the command's own answer: it ran."))
                .unwrap_or_default();
            Verdict::Done(format!(
                "Every key hashes {tag} → {}: the server ran {name} as one command, atomically.{own}",
                slot_and_owner(*slot, readings)
            ))
        }
        _ => Verdict::Hint(format!(
            "{}\nIts keys are still in slots {}: give every key the same tag, e.g. `{{t}}a` and `{{t}}b`.",
            key_lines(&keys),
            slot_list(&slots)
        )),
    }
}

#[cfg(test)]
#[path = "hash_tags_tests.rs"]
mod tests;
