//! The manager tests' setups: key names that hash to a chosen slot, keys written
//! through `rcli -c` (checked OK by OK), and the words of a reshard.

use super::{Home, rcli_run};

/// A hash tag starting with `prefix` whose keys hash to `slot` (`{tag}:…`).
pub fn tag_for(prefix: &str, slot: u16) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|t| rcli::cluster::slot::slot_of(t.as_bytes()) == slot)
        .unwrap_or_default()
}

/// `per_slot` key names in each of `slots`, tagged with `prefix`.
pub fn keys_in_slots(prefix: &str, slots: std::ops::Range<u16>, per_slot: usize) -> Vec<String> {
    let tags: Vec<String> = slots.map(|slot| tag_for(prefix, slot)).collect();
    tags.iter().flat_map(|t| (0..per_slot).map(move |i| format!("{{{t}}}:{i}"))).collect()
}

/// Writes `keys` = `value` into database `db` through `rcli -c -p port`, asserting an
/// OK for each.
pub fn write_keys(home: &Home, port: u16, db: u32, keys: &[String], value: &str) {
    let input: String = keys.iter().map(|k| format!("SET {k} {value}\n")).collect();
    let out = rcli_run(home, &["-c", "-n", &db.to_string(), "-p", &port.to_string()], &input);
    let ok = out.text().lines().filter(|l| *l == "OK").count();
    assert_eq!(ok, keys.len(), "db {db}: {}", out.stderr);
}

/// The words of `rcli --cluster reshard {p0} … --cluster-yes` and `extra`.
pub fn reshard_words(from: &str, to: &str, slots: &str, extra: &[&str]) -> Vec<String> {
    let words = ["--cluster", "reshard", "{p0}", "--cluster-from", from, "--cluster-to", to, "--cluster-slots", slots];
    words.iter().chain(&["--cluster-yes"]).chain(extra).map(|a| a.to_string()).collect()
}

/// `args` borrowed as the `&str`s the runners take.
pub fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
