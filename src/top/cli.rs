//! The command line of `rcli top`: its own options (`--once`, `--json`, `--slots N`)
//! taken out first, every other option rcli's own (connection, TLS, auth, the address
//! map, `-c`, `-i`), read by [`crate::cli`].

use std::ffi::OsString;
use std::time::Duration;

use clap::{Arg, ArgAction};

/// The word that asks for the live view.
pub const WORD: &str = "top";

/// Hot slots shown by default, and at most (`CLUSTER SLOT-STATS … LIMIT` takes 1-100).
pub const DEFAULT_SLOTS: usize = 10;
pub const MAX_SLOTS: usize = 100;

/// The interval when `-i` is not given, and the shortest one taken.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
pub const SHORTEST_INTERVAL: Duration = Duration::from_millis(100);

/// `rcli top`'s own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub once: bool,
    pub json: bool,
    pub slots: usize,
}

/// `rcli top`'s own options, for `--help`, completions and the man page
/// (`cli/describe.rs`). They are read by [`take_settings`]; a unit test keeps the two
/// in step.
pub fn description() -> clap::Command {
    clap::Command::new(WORD)
        .about(
            "A live view of the cluster (or of one node and its replicas): per node role, link, \
             ops/s, network, memory, clients, keys, replication lag, CPU; totals, sparklines, \
             events, hot slots (-c -p PORT, -i SECONDS and rcli's other options apply)",
        )
        .arg(Arg::new("once").long("once").help("print one frame as text and exit").action(ArgAction::SetTrue))
        .arg(
            Arg::new("json")
                .long("json")
                .help("frames as JSON objects, one per line (with --once, or when stdout is not a terminal)")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("slots")
                .long("slots")
                .value_name("N")
                .help("hot slots shown, 0 for none (default 10, at most 100; CLUSTER SLOT-STATS, Valkey 8+)")
                .action(ArgAction::Set),
        )
}

/// `rcli top --help`.
pub fn help_text() -> String {
    let mut text = String::from(
        "Usage: rcli top [--once] [--json] [--slots N] [-i SECONDS] [rcli options: -c -h -p -a --user --tls …]\n\n\
         A live view of the cluster, refreshed every -i seconds (default 1). With -c every node of the\n\
         cluster, shards grouped (a primary, then its replicas); without it the node and the replicas it names.\n\n\
         Options:\n",
    );
    for arg in description().get_arguments() {
        let long = format!("--{}", arg.get_long().unwrap_or_default());
        let value = arg.get_value_names().and_then(|v| v.first()).map(|v| format!(" {v}")).unwrap_or_default();
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        text.push_str(&format!("  {:<14}{help}\n", format!("{long}{value}")));
    }
    text.push_str(
        "\nKeys: s sort column, r reverse, / filter (Enter keeps, Esc drops), space pause, q or Ctrl-C quit.\n\
         When stdout is not a terminal (and without --once) a frame is printed every interval, as text\n\
         or with --json as one JSON object per line, until Ctrl-C.\n\
         Exit codes: 0 done, 1 no connection (or, with --once, no node answered), 2 usage.\n",
    );
    text
}

/// `top`'s options taken out of `words` (the word `top` already removed); the rest
/// stays for rcli's parser. `Ok(None)` for `--help`.
pub fn take_settings(words: &mut Vec<OsString>) -> Result<Option<Settings>, String> {
    let mut settings = Settings { once: false, json: false, slots: DEFAULT_SLOTS };
    let mut rest = Vec::new();
    let mut iter = std::mem::take(words).into_iter();
    while let Some(word) = iter.next() {
        let text = word.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.to_string())),
            _ => (text.clone(), None),
        };
        match name.as_str() {
            "--help" => return Ok(None),
            "--once" => settings.once = true,
            "--json" => settings.json = true,
            "--slots" => {
                let given = inline
                    .or_else(|| iter.next().map(|v| v.to_string_lossy().into_owned()))
                    .ok_or("--slots needs a value")?;
                settings.slots = given
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_SLOTS)
                    .ok_or(format!("--slots: '{given}' is not a number from 0 to {MAX_SLOTS}"))?;
            }
            _ => rest.push(word),
        }
    }
    *words = rest;
    Ok(Some(settings))
}

/// The interval from `-i` (zero when not given): the default, or at least the
/// shortest.
pub fn interval(given: Duration) -> Duration {
    if given.is_zero() { DEFAULT_INTERVAL } else { given.max(SHORTEST_INTERVAL) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_words as words;

    #[test]
    fn tops_options_are_taken_out() {
        let mut w = words("rcli -c --once -p 7000 --json --slots=5 -i 2");
        let settings = take_settings(&mut w).unwrap().unwrap();
        assert_eq!(w, words("rcli -c -p 7000 -i 2"));
        assert_eq!(settings, Settings { once: true, json: true, slots: 5 });
        assert!(take_settings(&mut words("rcli --slots 101")).is_err());
        assert!(take_settings(&mut words("rcli --slots")).is_err());
        assert!(take_settings(&mut words("rcli --help")).unwrap().is_none());
    }

    /// Every option the description names is one `take_settings` takes out, with a
    /// value exactly when described so.
    #[test]
    fn the_description_matches_the_parser() {
        for arg in description().get_arguments() {
            let long = format!("--{}", arg.get_long().unwrap());
            let mut w = vec![OsString::from("rcli"), OsString::from(&long)];
            if arg.get_action().takes_values() {
                w.push(OsString::from("7"));
            }
            assert!(take_settings(&mut w).unwrap().is_some(), "{long}");
            assert_eq!(w, words("rcli"), "{long} and its value are top's");
        }
        assert_eq!(description().get_arguments().count(), 3);
        assert!(help_text().contains("--slots N"));
    }

    #[test]
    fn intervals_have_a_default_and_a_floor() {
        assert_eq!(interval(Duration::ZERO), DEFAULT_INTERVAL);
        assert_eq!(interval(Duration::from_millis(10)), SHORTEST_INTERVAL);
        assert_eq!(interval(Duration::from_secs(3)), Duration::from_secs(3));
    }
}
