//! The `--cluster` command line, read the way redis-cli 7.0.15 reads it (one pass over
//! every word, docs/cluster-manager.md "Invocation"): `--cluster <subcommand>` takes the
//! words after it up to the first one starting with `-`; `--cluster-*` options and
//! rcli's common options may stand before or after; when the subcommand got no words,
//! the first later run of plain words is used, and later plain words are ignored.
//! Common options (-a, --user, --askpass, --tls…) are handed to rcli's own parser.
//! Pure: no I/O, errors are values.

use std::ffi::OsString;

/// Every `--cluster-*` option: its name, and whether it takes a value. Valkey's
/// primary/replica spellings are aliases.
pub const OPTIONS: &[(&str, bool)] = &[
    ("--cluster-replicas", true),
    ("--cluster-master-id", true),
    ("--cluster-primary-id", true),
    ("--cluster-from", true),
    ("--cluster-to", true),
    ("--cluster-from-user", true),
    ("--cluster-from-pass", true),
    ("--cluster-from-askpass", false),
    ("--cluster-slots", true),
    ("--cluster-timeout", true),
    ("--cluster-pipeline", true),
    ("--cluster-threshold", true),
    ("--cluster-yes", false),
    ("--cluster-simulate", false),
    ("--cluster-replace", false),
    ("--cluster-copy", false),
    ("--cluster-slave", false),
    ("--cluster-replica", false),
    ("--cluster-use-empty-masters", false),
    ("--cluster-use-empty-primaries", false),
    ("--cluster-search-multiple-owners", false),
    ("--cluster-fix-with-unreachable-masters", false),
    ("--cluster-fix-with-unreachable-primaries", false),
    ("--cluster-only-masters", false),
    ("--cluster-only-primaries", false),
    ("--cluster-only-replicas", false),
    ("--cluster-use-atomic-slot-migration", false),
    // rcli's own.
    ("--cluster-dry-run", false),
    ("--cluster-json", false),
    ("--cluster-resume", false),
    ("--cluster-abandon", false),
    ("--cluster-parallel", true),
    ("--cluster-fix-yes", false),
    ("--cluster-seed", true),
    ("--cluster-join-timeout", true),
    ("--cluster-keep-journal", false),
    ("--cluster-force", false),
    ("--cluster-big-key-bytes", true),
    ("--cluster-allow-big-keys", false),
];

/// The `--cluster-*` settings.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub replicas: i64,
    pub yes: bool,
    pub from: Option<String>,
    pub to: Option<String>,
    pub slots: i64,
    pub timeout_ms: i64,
    pub pipeline: i64,
    /// `--cluster-pipeline` was given: batches are exactly that many keys.
    pub pipeline_given: bool,
    pub weights: Option<Vec<String>>,
    pub use_empty_masters: bool,
    pub threshold: f64,
    pub simulate: bool,
    pub replace: bool,
    pub copy: bool,
    pub slave: bool,
    pub master_id: Option<String>,
    pub search_multiple_owners: bool,
    pub fix_with_unreachable_masters: bool,
    pub only_masters: bool,
    pub only_replicas: bool,
    pub from_user: Option<String>,
    pub from_pass: Option<String>,
    pub from_askpass: bool,
    pub dry_run: bool,
    pub json: bool,
    pub resume: bool,
    pub abandon: bool,
    /// 0: as many node pairs at once as are independent.
    pub parallel: usize,
    pub fix_yes: bool,
    pub seed: Option<u64>,
    pub join_timeout_s: Option<u64>,
    pub keep_journal: bool,
    /// `--cluster-abandon --cluster-force`: close the journal even with slots left.
    pub force: bool,
    /// `--cluster-use-atomic-slot-migration` (valkey-cli 9.1): CLUSTER MIGRATESLOTS.
    pub atomic: bool,
    pub big_key_bytes: u64,
    pub allow_big_keys: bool,
    /// Every option given, for the "ignored by" warnings.
    pub given: Vec<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            replicas: 0,
            yes: false,
            from: None,
            to: None,
            slots: 0,
            timeout_ms: 60000,
            pipeline: 10,
            pipeline_given: false,
            weights: None,
            use_empty_masters: false,
            threshold: 2.0,
            simulate: false,
            replace: false,
            copy: false,
            slave: false,
            master_id: None,
            search_multiple_owners: false,
            fix_with_unreachable_masters: false,
            only_masters: false,
            only_replicas: false,
            from_user: None,
            from_pass: None,
            from_askpass: false,
            dry_run: false,
            json: false,
            resume: false,
            abandon: false,
            parallel: 0,
            fix_yes: false,
            seed: None,
            join_timeout_s: None,
            keep_journal: false,
            force: false,
            atomic: false,
            big_key_bytes: 8 << 20,
            allow_big_keys: false,
            given: Vec::new(),
        }
    }
}

/// A parsed `--cluster` invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub command: String,
    pub args: Vec<OsString>,
    pub opts: ClusterOptions,
    /// The common options, for rcli's parser (program name first).
    pub common: Vec<OsString>,
}

/// A command line that must stop with this message on stderr (a usage error, exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub message: String,
}

fn arg_error(message: impl Into<String>) -> ArgError {
    ArgError { message: message.into() }
}

/// C's `atoi`/`atoll`: optional blanks and sign, then digits; anything else ends it.
pub fn atoi(text: &str) -> i64 {
    let t = text.trim_start();
    let (negative, digits) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(digits), _) => (true, digits),
        (None, Some(digits)) => (false, digits),
        (None, None) => (false, t),
    };
    let mut value: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative { -value } else { value }
}

/// C's `atof`: the longest prefix that is a number, else 0.
pub fn atof(text: &str) -> f64 {
    let t = text.trim_start();
    (1..=t.len()).rev().find_map(|n| t.get(..n)?.parse::<f64>().ok()).unwrap_or(0.0)
}

/// Whether a common (non-cluster) option exists and takes a value, from rcli's own
/// option table (so options added there, like TLS, work here too).
fn common_option(word: &str) -> Option<bool> {
    let command = crate::cli::option_table();
    let found = if let Some(long) = word.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or_default();
        command
            .get_arguments()
            .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
    } else {
        let mut chars = word.chars().skip(1);
        let short = chars.next()?;
        command.get_arguments().find(|a| a.get_short() == Some(short))
    }?;
    let inline_value = word.starts_with("--") && word.contains('=') || !word.starts_with("--") && word.len() > 2;
    Some(found.get_action().takes_values() && !inline_value)
}

fn is_dash(word: &OsString) -> bool {
    word.as_encoded_bytes().first() == Some(&b'-')
}

fn text(word: &OsString) -> String {
    word.to_string_lossy().into_owned()
}

/// The words of `argv` from `start` up to the next option.
fn plain_words(argv: &[OsString], start: usize) -> Vec<OsString> {
    argv.iter().skip(start).take_while(|a| !is_dash(a)).cloned().collect()
}

/// True when `argv` (program name first) asks for the cluster manager: `--cluster`
/// appears where redis-cli reads options (before the first plain word).
pub fn wants_manager(argv: &[OsString]) -> bool {
    let mut i = 1;
    while let Some(word) = argv.get(i) {
        let w = text(word);
        if w == "--cluster" {
            return true;
        }
        if !is_dash(word) {
            return false;
        }
        if let Some((_, takes)) = OPTIONS.iter().find(|(name, _)| *name == w) {
            i += usize::from(*takes);
        } else if w == "--cluster-weight" {
            while argv.get(i + 1).is_some_and(|n| !text(n).starts_with("--") && text(n).contains('=')) {
                i += 1;
            }
        } else if common_option(&w) == Some(true) {
            i += 1;
        }
        i += 1;
    }
    false
}

/// Parses a `--cluster` command line (program name first).
pub fn parse(argv: &[OsString]) -> Result<Invocation, ArgError> {
    let mut opts = ClusterOptions::default();
    let mut command: Option<String> = None;
    let mut args: Vec<OsString> = Vec::new();
    let mut common: Vec<OsString> = vec![argv.first().cloned().unwrap_or_else(|| "rcli".into())];
    let unrecognized = |w: &str| arg_error(format!("Unrecognized option or bad number of args for: '{w}'"));
    let mut i = 1;
    while let Some(word) = argv.get(i) {
        let w = text(word);
        let last = i + 1 >= argv.len();
        if w == "--cluster" {
            let Some(name) = argv.get(i + 1).filter(|_| command.is_none()) else {
                return Err(arg_error("rcli: --cluster needs exactly one subcommand (rcli --cluster help lists them)"));
            };
            command = Some(text(name));
            // The plain words after a plain subcommand name are its arguments.
            args = if is_dash(name) { Vec::new() } else { plain_words(argv, i + 2) };
            i += 2 + args.len();
            continue;
        }
        if w == "--cluster-weight" && !last {
            if opts.weights.is_some() {
                return Err(arg_error(
                    "WARNING: you cannot use --cluster-weight more than once.\nYou can set more weights by adding them as a space-separated list, ie:\n--cluster-weight n1=w n2=w",
                ));
            }
            let mut list = Vec::new();
            while let Some(next) = argv.get(i + 1).map(text).filter(|n| !n.starts_with("--") && n.contains('=')) {
                list.push(next);
                i += 1;
            }
            if !list.is_empty() {
                opts.weights = Some(list);
            }
            opts.given.push(w);
            i += 1;
            continue;
        }
        if let Some((_, takes)) = OPTIONS.iter().find(|(name, _)| *name == w) {
            let value = match (*takes, argv.get(i + 1)) {
                (false, _) => String::new(),
                (true, Some(value)) => text(value),
                (true, None) => return Err(unrecognized(&w)),
            };
            apply(&mut opts, &w, value);
            opts.given.push(w);
            i += 1 + usize::from(*takes);
            continue;
        }
        if command.is_some() && !is_dash(word) {
            if args.is_empty() {
                args = plain_words(argv, i);
                i += args.len();
            } else {
                i += 1;
            }
            continue;
        }
        if !is_dash(word) {
            break;
        }
        match common_option(&w) {
            None => return Err(unrecognized(&w)),
            Some(true) => {
                let Some(value) = argv.get(i + 1) else { return Err(unrecognized(&w)) };
                common.push(word.clone());
                common.push(value.clone());
                i += 2;
            }
            Some(false) => {
                common.push(word.clone());
                i += 1;
            }
        }
    }
    if std::env::var("REDISCLI_CLUSTER_YES").is_ok_and(|v| v == "1") {
        opts.yes = true;
    }
    let command = command.ok_or_else(|| arg_error("rcli: --cluster needs a subcommand"))?;
    Ok(Invocation { command, args, opts, common })
}

fn apply(opts: &mut ClusterOptions, name: &str, value: String) {
    let number = atoi(&value);
    match name {
        "--cluster-replicas" => opts.replicas = number,
        "--cluster-master-id" | "--cluster-primary-id" => opts.master_id = Some(value),
        "--cluster-from" => opts.from = Some(value),
        "--cluster-to" => opts.to = Some(value),
        "--cluster-from-user" => opts.from_user = Some(value),
        "--cluster-from-pass" => opts.from_pass = Some(value),
        "--cluster-from-askpass" => opts.from_askpass = true,
        "--cluster-slots" => opts.slots = number,
        "--cluster-timeout" => opts.timeout_ms = number,
        "--cluster-pipeline" => {
            opts.pipeline = number;
            opts.pipeline_given = true;
        }
        "--cluster-threshold" => opts.threshold = atof(&value),
        "--cluster-yes" => opts.yes = true,
        "--cluster-simulate" => opts.simulate = true,
        "--cluster-replace" => opts.replace = true,
        "--cluster-copy" => opts.copy = true,
        "--cluster-slave" | "--cluster-replica" => opts.slave = true,
        "--cluster-use-empty-masters" | "--cluster-use-empty-primaries" => opts.use_empty_masters = true,
        "--cluster-search-multiple-owners" => opts.search_multiple_owners = true,
        "--cluster-fix-with-unreachable-masters" | "--cluster-fix-with-unreachable-primaries" => {
            opts.fix_with_unreachable_masters = true
        }
        "--cluster-only-masters" | "--cluster-only-primaries" => opts.only_masters = true,
        "--cluster-only-replicas" => opts.only_replicas = true,
        "--cluster-dry-run" => opts.dry_run = true,
        "--cluster-json" => opts.json = true,
        "--cluster-resume" => opts.resume = true,
        "--cluster-abandon" => opts.abandon = true,
        "--cluster-parallel" => opts.parallel = usize::try_from(number).unwrap_or(0),
        "--cluster-fix-yes" => opts.fix_yes = true,
        "--cluster-seed" => opts.seed = u64::try_from(number).ok(),
        "--cluster-join-timeout" => opts.join_timeout_s = u64::try_from(number).ok(),
        "--cluster-keep-journal" => opts.keep_journal = true,
        "--cluster-force" => opts.force = true,
        "--cluster-use-atomic-slot-migration" => opts.atomic = true,
        "--cluster-allow-big-keys" => opts.allow_big_keys = true,
        "--cluster-big-key-bytes" => opts.big_key_bytes = u64::try_from(number).unwrap_or(0).max(1),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("rcli").chain(line.split(' ')).map(OsString::from).collect()
    }

    fn parsed(line: &str) -> Invocation {
        parse(&argv(line)).unwrap()
    }

    #[test]
    fn options_before_and_after_the_subcommand() {
        let inv = parsed("--cluster-yes -a pw --cluster create h:1 h:2 h:3 --cluster-replicas 1 --user u");
        assert_eq!(inv.command, "create");
        assert_eq!(inv.args, ["h:1", "h:2", "h:3"]);
        assert!(inv.opts.yes);
        assert_eq!(inv.opts.replicas, 1);
        assert_eq!(inv.common, ["rcli", "-a", "pw", "--user", "u"]);
    }

    #[test]
    fn arguments_after_options_are_used_when_none_came_first() {
        let inv = parsed("--cluster check --cluster-search-multiple-owners 127.0.0.1:7000 extra");
        assert_eq!(inv.args, ["127.0.0.1:7000", "extra"]);
        assert!(inv.opts.search_multiple_owners);
        let inv = parsed("--cluster check 127.0.0.1:7000 --cluster-yes ignored words");
        assert_eq!(inv.args, ["127.0.0.1:7000"]);
    }

    #[test]
    fn a_dash_word_ends_the_arguments() {
        let err = parse(&argv("--cluster call 127.0.0.1:7000 INCRBY k -1")).unwrap_err();
        assert_eq!(err.message, "Unrecognized option or bad number of args for: '-1'");
    }

    #[test]
    fn weights_take_the_following_pairs() {
        let inv = parsed("--cluster rebalance h:1 --cluster-weight abc=2 def=0 --cluster-yes");
        assert_eq!(inv.opts.weights, Some(vec!["abc=2".to_string(), "def=0".to_string()]));
        assert!(inv.opts.yes);
        assert!(parse(&argv("--cluster rebalance h:1 --cluster-weight a=1 --cluster-weight b=2")).is_err());
    }

    #[test]
    fn numbers_parse_like_c() {
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("garbage"), 0);
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atof("2.5x"), 2.5);
        assert_eq!(atof("x"), 0.0);
        let inv = parsed("--cluster create h:1 --cluster-replicas x");
        assert_eq!(inv.opts.replicas, 0);
    }

    #[test]
    fn detection_follows_option_positions() {
        assert!(wants_manager(&argv("-p 7000 --cluster info h:1")));
        assert!(wants_manager(&argv("--cluster-yes --cluster create h:1")));
        assert!(!wants_manager(&argv("set k --cluster")));
        assert!(!wants_manager(&argv("-p 7000 get k")));
    }

    #[test]
    fn a_second_cluster_or_a_trailing_one_is_an_error() {
        assert!(parse(&argv("--cluster info h:1 --cluster check h:1")).is_err());
        assert!(parse(&argv("--cluster")).is_err());
        assert!(parse(&argv("--cluster info h:1 --cluster-slots")).is_err());
        assert!(parse(&argv("--cluster info h:1 --bogus")).is_err());
    }
}
