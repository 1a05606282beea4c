//! Command-line options, redis-cli's flags first, parsed by clap into [`Args`] (no I/O;
//! validated into a [`Config`] in [`config`]).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

pub mod askpass;
mod config;
pub mod diagnostics;
pub mod tls;
pub mod uri;
pub mod usage;
pub mod version;

pub use config::{Config, LuaDebug, MAX_SECONDS, Mode, PASSWORD_WARNING, Transfer};
pub use uri::{Uri, parse_uri};

/// A command line split at its spaces: how the tests of the subcommands that take
/// their own options out of the command line (`top`, `consistency-test`) write one.
#[cfg(test)]
pub fn test_words(text: &str) -> Vec<OsString> {
    text.split(' ').map(OsString::from).collect()
}

/// The option table clap builds from [`Args`], built once per run: the readers that
/// only look options up (the manager's and consistency-test's word scanners, the usage
/// errors' spelling) share it; building it costs about 200,000 instructions, a fifth of
/// a one-shot's own work before it connects.
pub fn option_table() -> &'static clap::Command {
    static TABLE: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
    TABLE.get_or_init(<Args as clap::CommandFactory>::command)
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// rcli's options. Short flags are redis-cli's.
/// The end of `--help`: redis-cli's examples and notes, then rcli's.
const AFTER_HELP: &str = concat!(
    "Cluster manager: rcli --cluster help lists its commands.\n",
    "\n",
    "Examples:\n",
    "  cat /etc/passwd | rcli -x set mypasswd\n",
    "  rcli -D \"\" --raw dump key > key.dump && rcli -X dump_tag restore key2 0 dump_tag replace < key.dump\n",
    "  rcli -r 100 lpush mylist x\n",
    "  rcli -r 100 -i 1 info | grep used_memory_human:\n",
    "  rcli --quoted-input set '\"null-\\x00-separated\"' value\n",
    "  rcli --eval myscript.lua key1 key2 , arg1 arg2 arg3\n",
    "  rcli --scan --pattern '*:12345*'\n",
    "  rcli -c -p 7000                 shell on a cluster\n",
    "  rcli -c -p 7000 < cmds.txt      pipelined per node, replies in input order\n",
    "  rcli -c -p 7000 --target primaries dbsize\n",
    "  rcli sandbox                    throwaway local cluster + shell\n",
    "  rcli top -c -p 7000             a live view of every node (rcli top --help)\n",
    "\n",
    "  (Note: when using --eval the comma separates KEYS[] from ARGV[] items)\n",
    "\n",
    "When no command is given, rcli starts in interactive mode (or reads commands from\n",
    "stdin when it is not a terminal). Type \"help\" in interactive mode for the server's\n",
    "commands, \":help\" for rcli's own.\n",
    "\n",
    "Exit codes: 0 success, 1 connection/runtime failure (or an error reply with -e), 2 usage error."
);

#[derive(Debug, Parser)]
#[command(
    name = "rcli",
    about = "A cluster-aware Redis shell, compatible with redis-cli.",
    override_usage = "rcli [OPTIONS] [cmd [arg ...]]\n       rcli [OPTIONS] --cluster <subcommand> [args...] (rcli --cluster help)\n       rcli sandbox [--primaries N] [--replicas N] [--tls] | --bare N\n       rcli top [--once] [--json] [--slots N] [-c] [-i SECONDS] [connection options]\n       rcli completions bash|zsh|fish|elvish|powershell\n       rcli man",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Server hostname (repeat with -p to give more cluster seeds).
    #[arg(short = 'h', value_name = "HOSTNAME", action = ArgAction::Append, display_order = 1)]
    pub hosts: Vec<String>,
    /// Server port (repeatable in cluster mode).
    #[arg(short = 'p', value_name = "PORT", action = ArgAction::Append, display_order = 2)]
    pub ports: Vec<u16>,
    /// Server socket (overrides hostname and port).
    #[arg(short = 's', value_name = "SOCKET", display_order = 3)]
    pub socket: Option<PathBuf>,
    /// Password to use when connecting (also --pass). REDISCLI_AUTH is safer.
    #[arg(short = 'a', long = "pass", value_name = "PASSWORD", display_order = 4)]
    pub password: Option<String>,
    /// Username to send with AUTH (needs a password).
    #[arg(long, value_name = "USERNAME", display_order = 5)]
    pub user: Option<String>,
    /// Ask for the password on the terminal (masked).
    #[arg(long, display_order = 6)]
    pub askpass: bool,
    /// Do not warn about a password on the command line.
    #[arg(long, display_order = 61)]
    pub no_auth_warning: bool,
    /// Server URI: redis://[[user]:pass@]host[:port][/db] (rediss:// for TLS; valkey://, valkeys:// too).
    #[arg(short = 'u', value_name = "URI", display_order = 7)]
    pub uri: Option<String>,
    #[command(flatten)]
    pub tls: tls::TlsArgs,
    /// Reach an announced node address at another one (NAT, containers): ANNOUNCED=REACHABLE,
    /// each host:port or host; repeatable.
    #[arg(long, value_name = "ANNOUNCED=REACHABLE", action = ArgAction::Append, display_order = 112, help_heading = "rcli additions")]
    pub address_map: Vec<String>,
    /// In the shell, run dangerous commands (FLUSHALL, KEYS, …) without asking first.
    #[arg(long, display_order = 113, help_heading = "rcli additions")]
    pub yes: bool,
    /// Database number.
    #[arg(short = 'n', value_name = "DB", display_order = 10)]
    pub db: Option<i64>,
    /// Start the session in RESP2 protocol mode.
    #[arg(short = '2', display_order = 11)]
    pub resp2: bool,
    /// Start the session in RESP3 protocol mode (HELLO 3).
    #[arg(short = '3', display_order = 12)]
    pub resp3: bool,
    /// Prefer IPv4 over IPv6 on DNS lookup.
    #[arg(short = '4', display_order = 19)]
    pub prefer_ipv4: bool,
    /// Prefer IPv6 over IPv4 on DNS lookup.
    #[arg(short = '6', display_order = 20)]
    pub prefer_ipv6: bool,
    /// Client name, set with CLIENT SETNAME on every connection (every node with -c).
    #[arg(long, value_name = "NAME", display_order = 21)]
    pub name: Option<String>,
    /// Cluster mode: route by slot from a cached slot map, follow -MOVED and -ASK.
    #[arg(short = 'c', display_order = 17)]
    pub cluster: bool,
    /// Execute the command N times (negative: forever).
    #[arg(short = 'r', value_name = "REPEAT", allow_negative_numbers = true, display_order = 8)]
    pub repeat: Option<i64>,
    /// Wait this many seconds between repeats (decimals allowed).
    #[arg(short = 'i', value_name = "INTERVAL", display_order = 9)]
    pub interval: Option<f64>,
    /// Read the last argument from stdin.
    #[arg(short = 'x', display_order = 13)]
    pub stdin_last_arg: bool,
    /// Read the argument equal to <TAG> from stdin.
    #[arg(short = 'X', value_name = "TAG", display_order = 14)]
    pub stdin_tag: Option<String>,
    /// Force input to be handled as quoted strings.
    #[arg(long, display_order = 30)]
    pub quoted_input: bool,
    /// Exit 1 on the first error reply (also for commands piped on stdin).
    #[arg(short = 'e', display_order = 18)]
    pub exit_on_error: bool,
    /// Raw output (the default when stdout is not a terminal).
    #[arg(long, display_order = 28)]
    pub raw: bool,
    /// Formatted output even when stdout is not a terminal.
    #[arg(long, display_order = 29)]
    pub no_raw: bool,
    /// CSV output.
    #[arg(long, display_order = 31)]
    pub csv: bool,
    /// JSON output (implies RESP3 unless -2).
    #[arg(long, display_order = 32)]
    pub json: bool,
    /// JSON output with strings escaped ASCII-safe.
    #[arg(long, display_order = 33)]
    pub quoted_json: bool,
    /// Raw mode: delimiter between the elements of one reply (default \n).
    #[arg(short = 'd', value_name = "DELIMITER", display_order = 15)]
    pub element_delimiter: Option<String>,
    /// Raw mode: delimiter after each reply (default \n).
    #[arg(short = 'D', value_name = "DELIMITER", display_order = 16)]
    pub reply_delimiter: Option<String>,
    /// Hop lines (redirects, splits) on stderr when stdout is not a terminal; a summary after piped input.
    #[arg(short = 'v', long, display_order = 60)]
    pub verbose: bool,
    /// Connect timeout in seconds (default 5).
    #[arg(short = 't', value_name = "SECONDS", display_order = 104, help_heading = "rcli additions")]
    pub connect_timeout: Option<f64>,
    /// Seconds without a byte of a reply to a non-blocking command before giving up (default 60, 0 = none).
    #[arg(long = "timeout", value_name = "SECONDS", display_order = 105, help_heading = "rcli additions")]
    pub read_timeout: Option<f64>,
    /// Redirects followed for one command before giving up.
    #[arg(long, value_name = "N", default_value_t = 16, display_order = 106, help_heading = "rcli additions")]
    pub max_hops: usize,
    /// Seconds a node (or the cluster) may fail before rcli declares it down and fails its commands at once
    /// (default: the cluster's cluster-node-timeout + 3 s; 18 s when it cannot be read).
    #[arg(long, value_name = "SECONDS", display_order = 107, help_heading = "rcli additions")]
    pub down_after: Option<f64>,
    /// Where keyless commands go: current, primaries, replicas, all, random, auto, or HOST:PORT.
    #[arg(long, value_name = "TARGET", display_order = 108, help_heading = "rcli additions")]
    pub target: Option<String>,
    /// With several nodes (--target), print each node's SLOWLOG, COMMANDLOG, LATENCY LATEST, CLIENT LIST
    /// and INFO reply on its own instead of one merged list or table.
    #[arg(long, display_order = 108, help_heading = "rcli additions")]
    pub no_merge: bool,
    /// Send read-only commands to replicas (READONLY is sent for you).
    #[arg(long, display_order = 109, help_heading = "rcli additions")]
    pub read_from_replicas: bool,
    /// Do not use or keep the slot map cached on disk for one-shot commands in cluster mode
    /// (also RCLI_NO_MAP_CACHE=1).
    #[arg(long, display_order = 112, help_heading = "rcli additions")]
    pub no_map_cache: bool,
    /// Reads go to replicas in availability zone NAME when the slot has one there, else to any
    /// replica (implies --read-from-replicas).
    #[arg(long, value_name = "NAME", display_order = 111, help_heading = "rcli additions")]
    pub az: Option<String>,
    /// Per-node jobs at once, 1 to 1024 (fan-out, --bigkeys/--memkeys/--keystats/--stat/--latency -c,
    /// --rdb DIR -c; default 16).
    #[arg(long, value_name = "N", value_parser = crate::client::workers::parse_width, display_order = 115,
          help_heading = "rcli additions")]
    pub parallel: Option<usize>,
    /// List all keys with SCAN (every primary in cluster mode).
    #[arg(long, display_order = 53)]
    pub scan: bool,
    /// Keys pattern for --scan.
    #[arg(long, value_name = "PATTERN", display_order = 54)]
    pub pattern: Option<String>,
    /// Same as --pattern, but the string can be quoted (binary-safe).
    #[arg(long, value_name = "PATTERN", display_order = 55)]
    pub quoted_pattern: Option<String>,
    /// COUNT for --scan.
    #[arg(long, value_name = "N", display_order = 110, help_heading = "rcli additions")]
    pub count: Option<u64>,
    /// Send an EVAL command using the Lua script at FILE (keys, then `,`, then args).
    #[arg(long, value_name = "FILE", display_order = 57)]
    pub eval: Option<PathBuf>,
    /// Used with --eval: enable the Redis Lua debugger.
    #[arg(long, display_order = 58)]
    pub ldb: bool,
    /// Like --ldb but uses the synchronous Lua debugger (the server is blocked, changes are kept).
    #[arg(long, display_order = 59)]
    pub ldb_sync_mode: bool,
    /// Transfer an RDB dump from the server to a local file ("-" for stdout; with -c a directory, one file per primary).
    #[arg(long, value_name = "FILENAME", display_order = 41)]
    pub rdb: Option<PathBuf>,
    /// Like --rdb but only get the functions (not the keys).
    #[arg(long, value_name = "FILENAME", display_order = 42)]
    pub functions_rdb: Option<PathBuf>,
    /// Simulate a replica showing commands received from the master.
    #[arg(long, alias = "slave", display_order = 40)]
    pub replica: bool,
    /// Transfer raw Redis protocol from stdin to the server (routed per slot with -c).
    #[arg(long, display_order = 43)]
    pub pipe: bool,
    /// In --pipe mode, give up after N seconds without replies after the input ends (0: wait forever).
    #[arg(long, value_name = "N", default_value_t = 30, display_order = 44)]
    pub pipe_timeout: u64,
    /// Commands in flight per node for piped input (1 = one at a time, like redis-cli).
    #[arg(long, value_name = "N", default_value_t = 2048, display_order = 111, help_heading = "rcli additions")]
    pub pipeline: usize,
    /// Whether to print RESP3 push messages (default: yes when stdout is a terminal).
    #[arg(long, value_name = "yn", display_order = 34)]
    pub show_pushes: Option<String>,
    #[command(flatten)]
    pub diagnostics: diagnostics::DiagnosticArgs,
    /// Colour: auto, always or never (NO_COLOR is respected).
    #[arg(long, value_name = "WHEN", display_order = 113, help_heading = "rcli additions")]
    pub color: Option<ColorChoice>,
    /// Print the version and exit.
    #[arg(short = 'V', long = "version", display_order = 63)]
    pub version: bool,
    /// Print this help.
    #[arg(long, action = ArgAction::Help, display_order = 62)]
    pub help: Option<bool>,
    /// The command to run; without one, rcli reads commands from stdin or opens the shell.
    #[arg(trailing_var_arg = true, value_name = "cmd")]
    pub command: Vec<OsString>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<const N: usize>(args: [&str; N]) -> Args {
        Args::try_parse_from(std::iter::once("rcli").chain(args)).unwrap()
    }

    #[test]
    fn redis_cli_flags_parse() {
        let args = parse(["-h", "10.0.0.1", "-p", "7000", "-c", "-n", "2", "-3", "--raw", "get", "foo"]);
        assert_eq!(args.hosts, ["10.0.0.1"]);
        assert_eq!(args.ports, [7000]);
        assert!(args.cluster && args.resp3 && args.raw);
        assert_eq!(args.db, Some(2));
        assert_eq!(args.command, ["get", "foo"]);
    }

    #[test]
    fn options_after_the_command_belong_to_it() {
        let args = parse(["set", "k", "-1", "-c"]);
        assert_eq!(args.command, ["set", "k", "-1", "-c"]);
        assert!(!args.cluster);
    }

    #[test]
    fn unknown_options_are_usage_errors() {
        let err = Args::try_parse_from(["rcli", "--nope"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
