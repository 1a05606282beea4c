//! The command line of `rcli consistency-test`: the word `consistency-test` where a
//! Redis command would start (`rcli -c -p 7000 consistency-test`) or first
//! (`rcli consistency-test -c -p 7000`), the checker's own options anywhere after it,
//! and every other option rcli's own (connection, TLS, auth), read by [`crate::cli`].

use std::ffi::OsString;
use std::time::Duration;

use super::{DEFAULT_COUNTERS, Settings};
use crate::cli::MAX_SECONDS;

/// The word that asks for the checker.
pub const WORD: &str = "consistency-test";

/// `--help`'s text around the usage line's options and the options list, which come
/// from [`description`].
const HELP_INTRO: &str = "
The Redis Cluster tutorial's consistency checker, through rcli's own client: N counters,
each read back (GET) and incremented (INCR) in turn; every second a line
  R reads (err) | W writes (err) | N lost | N not acked
a line when a window of failures opens and closes, and at the end every counter read
back, its keys removed and a verdict. Kill, pause or fail over nodes while it runs
(in `rcli sandbox`: :kill, :pause, :failover, or :consistency on|off to run it there).

  lost        acknowledged increments missing from a value read back: during a failure
              window a failover's; with no failure seen, another client's doing
              (a FLUSHALL, a DEL), and the verdict says which
  not acked   increments whose reply never came (rcli's \"outcome unknown\": never resent);
              the final read tells whether each was applied

Options:
";
const HELP_END: &str = "\
Any other option is rcli's (-c -h -p -a --user --tls …). Ctrl-C ends the run (the
final checks and the clean-up still run; a second Ctrl-C cuts them short).
Exit codes: 0 consistent, 1 writes lost or applied twice (or no connection), 2 usage.
";

/// `rcli consistency-test --help`: the usage line and the options list written from
/// [`description`], the one place the checker's options are described.
pub fn help_text() -> String {
    let description = description();
    let options: Vec<(String, String)> = description
        .get_arguments()
        .map(|arg| {
            let long = format!("--{}", arg.get_long().unwrap_or_default());
            let value = arg.get_value_names().and_then(|v| v.first()).map(|v| format!(" {v}")).unwrap_or_default();
            (format!("{long}{value}"), arg.get_help().map(ToString::to_string).unwrap_or_default())
        })
        .collect();
    let usage: Vec<String> = options.iter().map(|(head, _)| format!("[{head}]")).collect();
    let mut text = format!("Usage: rcli [OPTIONS] {WORD} {}\n{HELP_INTRO}", usage.join(" "));
    for (head, help) in &options {
        text.push_str(&format!("  {head:<22}{help}\n"));
    }
    text + HELP_END
}

/// `rcli consistency-test`'s own options, for completions and the man page
/// (`cli/describe.rs`). They are read by [`take_settings`] from among rcli's options; a
/// unit test keeps the two in step.
pub fn description() -> clap::Command {
    use clap::{Arg, ArgAction};
    let valued = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).help(help).action(ArgAction::Set)
    };
    clap::Command::new(WORD)
        .about(
            "The Redis Cluster tutorial's consistency checker: counters read back and incremented \
             while nodes fail; lost and unacknowledged writes every second, a verdict at the end \
             (-c -p PORT and rcli's other options apply)",
        )
        .arg(valued("counters", "N", "counters (default 1000)"))
        .arg(valued("duration", "SECONDS", "stop after this long (default: at Ctrl-C)"))
        .arg(valued("key-prefix", "PREFIX", "key prefix (default rcli-consistency:<pid>-<ms>:)"))
        .arg(
            Arg::new("keep-keys")
                .long("keep-keys")
                .help("leave the counters in place at the end")
                .action(ArgAction::SetTrue),
        )
}

/// Where `consistency-test` stands in `argv` (program name first), if it is where
/// rcli would read a command: after options only.
pub fn position(argv: &[OsString]) -> Option<usize> {
    // Most runs have no such word: the option table is not built for them.
    if !argv.iter().skip(1).any(|word| word.as_encoded_bytes() == WORD.as_bytes()) {
        return None;
    }
    let command = crate::cli::option_table();
    let mut i = 1;
    while let Some(word) = argv.get(i) {
        let text = word.to_string_lossy();
        if text == WORD {
            return Some(i);
        }
        if !text.starts_with('-') || text == "-" {
            return None;
        }
        let takes_value = if let Some(long) = text.strip_prefix("--") {
            !long.contains('=')
                && command.get_arguments().any(|a| a.get_long() == Some(long) && a.get_action().takes_values())
        } else {
            let mut chars = text.chars().skip(1);
            let short = chars.next();
            chars.next().is_none()
                && command.get_arguments().any(|a| a.get_short() == short && a.get_action().takes_values())
        };
        i += if takes_value { 2 } else { 1 };
    }
    None
}

/// The checker's options taken out of `words`; the rest stays for rcli's parser.
pub fn take_settings(words: &mut Vec<OsString>) -> Result<Option<Settings>, String> {
    let mut settings =
        Settings { counters: DEFAULT_COUNTERS, duration: None, prefix: Settings::default_prefix(), keep: false };
    let mut rest = Vec::new();
    let mut iter = std::mem::take(words).into_iter();
    while let Some(word) = iter.next() {
        let text = word.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.to_string())),
            _ => (text.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| iter.next().map(|v| v.to_string_lossy().into_owned()))
                .ok_or(format!("{name} needs a value"))
        };
        match name.as_str() {
            "--help" => return Ok(None),
            "--counters" => {
                let given = value("--counters")?;
                settings.counters = given
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or(format!("--counters: '{given}' is not a number from 1 to 1000000"))?;
            }
            "--duration" => {
                let given = value("--duration")?;
                let seconds = given
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_SECONDS)
                    .ok_or(format!("--duration: '{given}' is not a number of seconds above 0"))?;
                settings.duration = Duration::try_from_secs_f64(seconds).ok();
            }
            "--key-prefix" => settings.prefix = value("--key-prefix")?,
            "--keep-keys" => settings.keep = true,
            _ => rest.push(word),
        }
    }
    *words = rest;
    Ok(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_words as words;

    #[test]
    fn the_word_is_found_where_a_command_would_start() {
        assert_eq!(position(&words("rcli consistency-test -c -p 7000")), Some(1));
        assert_eq!(position(&words("rcli -c -p 7000 consistency-test --counters 10")), Some(4));
        assert_eq!(position(&words("rcli -c -h consistency-test -p 1 get x")), None);
        assert_eq!(position(&words("rcli -c get consistency-test")), None);
        assert_eq!(position(&words("rcli --tls --cacert ca.pem consistency-test")), Some(4));
    }

    /// Every option the description names is one the checker takes out of the command
    /// line, with a value exactly when described so.
    #[test]
    fn the_description_matches_the_parser() {
        for arg in description().get_arguments() {
            let long = format!("--{}", arg.get_long().expect("long options only"));
            let mut w = vec![OsString::from("rcli"), OsString::from(&long)];
            if arg.get_action().takes_values() {
                w.push(OsString::from("7"));
            }
            assert!(take_settings(&mut w).expect(&long).is_some(), "{long}");
            assert_eq!(w, words("rcli"), "{long} and its value are the checker's");
        }
        assert_eq!(description().get_arguments().count(), 4);
    }

    #[test]
    fn the_checkers_options_are_taken_out() {
        let mut w = words("rcli -c --counters 50 -p 7000 --duration=2.5 --key-prefix t: --keep-keys");
        let settings = take_settings(&mut w).expect("valid").expect("not help");
        assert_eq!(w, words("rcli -c -p 7000"));
        assert_eq!(settings.counters, 50);
        assert_eq!(settings.duration, Some(Duration::from_millis(2500)));
        assert_eq!(settings.prefix, "t:");
        assert!(settings.keep);
        assert!(take_settings(&mut words("rcli --counters 0")).is_err());
        assert!(take_settings(&mut words("rcli --duration -1")).is_err());
        assert!(take_settings(&mut words("rcli --counters")).is_err());
        assert!(take_settings(&mut words("rcli --help")).expect("help").is_none());
    }
}
