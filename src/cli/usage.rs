//! Usage errors in redis-cli's words (docs/compatibility.md, "bad option / usage"):
//! what clap found wrong with the command line, turned into the line redis-cli's
//! `parseOptions` prints for the same mistake where it has one. Pure: the caller prints
//! the line and exits 2.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// redis-cli's line for an unknown option, or one whose value is missing.
pub fn unrecognized(option: &str) -> String {
    format!("Unrecognized option or bad number of args for: '{option}'")
}

/// Options whose bad value has a line of its own in redis-cli (7.2+ for `-p` and `-t`,
/// 7.4+ for the key-statistics options), by the option's spelling.
const BAD_VALUE: &[(&str, &str)] = &[
    ("-p", "Invalid server port."),
    ("-t", "Invalid connection timeout for -t."),
    ("--keystats-samples", "--keystats-samples conversion error."),
    ("--memkeys-samples", "--memkeys-samples conversion error."),
    ("--cursor", "--cursor conversion error."),
    ("--top", "--top conversion error."),
];

/// The line to print for `error` (clap's, from parsing `argv`), in redis-cli's words
/// where redis-cli has words for it; `None` leaves clap's own message (help, version,
/// and mistakes redis-cli does not notice, such as `-n x`, which it reads as 0).
pub fn redis_cli_words(error: &clap::Error, argv: &[OsString]) -> Option<String> {
    let context = |kind: ContextKind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    match error.kind() {
        ErrorKind::UnknownArgument => context(ContextKind::InvalidArg).map(unrecognized),
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue) == Some("") => {
            // clap names the option with its value's placeholder (`-X <TAG>`) and by
            // its long name; redis-cli names it as typed.
            let named = context(ContextKind::InvalidArg)?.split(' ').next()?;
            Some(unrecognized(&typed_spelling(named, argv)))
        }
        ErrorKind::ValueValidation
            if let Some(line) = std::error::Error::source(error)
                .and_then(|source| source.downcast_ref::<super::diagnostics::RedisCliLine>()) =>
        {
            Some(line.0.clone())
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let named = context(ContextKind::InvalidArg)?.split(' ').next()?;
            let spelling = typed_spelling(named, argv);
            BAD_VALUE
                .iter()
                .find(|(option, _)| *option == spelling || *option == named)
                .map(|(_, line)| line.to_string())
        }
        _ => None,
    }
}

/// How the user spelled the option clap calls `named` (`--pass` may have been typed
/// `-a`): the first word of `argv` that is one of the option's spellings and has no
/// value after it; `named` itself when none is found.
fn typed_spelling(named: &str, argv: &[OsString]) -> String {
    let command = super::option_table();
    let spellings: Vec<String> = command
        .get_arguments()
        .find(|arg| {
            arg.get_long().is_some_and(|long| named.strip_prefix("--") == Some(long))
                || arg.get_short().is_some_and(|short| named.strip_prefix('-') == Some(short.encode_utf8(&mut [0; 4])))
        })
        .map(|arg| {
            let longs = arg.get_long_and_visible_aliases().unwrap_or_default().into_iter().map(|l| format!("--{l}"));
            let mut all: Vec<String> = longs.collect();
            all.extend(arg.get_aliases().unwrap_or_default().into_iter().map(|l| format!("--{l}")));
            all.extend(arg.get_short().map(|s| format!("-{s}")));
            all
        })
        .unwrap_or_default();
    let words: Vec<&str> = argv.iter().skip(1).filter_map(|w| w.to_str()).collect();
    words
        .iter()
        .enumerate()
        .find(|(at, word)| {
            spellings.iter().any(|s| s == *word)
                && words.get(at.saturating_add(1)).is_none_or(|next| next.starts_with('-'))
        })
        .map_or_else(|| named.to_string(), |(_, word)| (*word).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn words(args: &[&str]) -> Option<String> {
        let argv: Vec<OsString> = std::iter::once("rcli").chain(args.iter().copied()).map(OsString::from).collect();
        let error = super::super::Args::try_parse_from(&argv).unwrap_err();
        redis_cli_words(&error, &argv)
    }

    #[test]
    fn missing_values_and_unknown_options_read_like_redis_cli() {
        for (args, option) in [
            (&["-X"][..], "-X"),
            (&["--nope"], "--nope"),
            (&["-n"], "-n"),
            (&["-a"], "-a"),
            (&["--pass"], "--pass"),
            (&["--raw", "-p"], "-p"),
            (&["--pattern"], "--pattern"),
            (&["-Z", "ping"], "-Z"),
            (&["--scan", "--count"], "--count"),
        ] {
            assert_eq!(words(args), Some(unrecognized(option)), "{args:?}");
        }
        assert_eq!(unrecognized("-X"), "Unrecognized option or bad number of args for: '-X'");
    }

    #[test]
    fn bad_values_use_the_newer_redis_cli_lines_where_there_are_some() {
        assert_eq!(words(&["-p", "99999"]).as_deref(), Some("Invalid server port."));
        assert_eq!(words(&["-p", "x"]).as_deref(), Some("Invalid server port."));
        assert_eq!(words(&["-t", "x"]).as_deref(), Some("Invalid connection timeout for -t."));
        assert_eq!(words(&["-n", "x"]), None);
    }
}
