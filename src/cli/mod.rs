//! Command-line options, redis-cli's flags first, parsed by clap into [`Args`] (no I/O)
//! and then validated into a [`Config`] (environment, URI, password sources, output
//! mode, what to run).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::client::{
    self,
    state::{Credentials, SessionState},
};
use crate::cluster::target::Target;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::output::HopLines;

pub mod describe;
pub mod diagnostics;
pub mod tls;
pub mod uri;

use crate::protocol::render::{Format, OutputMode};
pub use uri::{Uri, parse_uri};

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
    override_usage = "rcli [OPTIONS] [cmd [arg ...]]\n       rcli [OPTIONS] --cluster <subcommand> [args...] (rcli --cluster help)\n       rcli sandbox [--primaries N] [--replicas N] [--tls] | --bare N\n       rcli completions bash|zsh|fish|elvish|powershell\n       rcli man",
    disable_help_flag = true,
    disable_version_flag = true,
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
    #[arg(long, display_order = 57)]
    pub no_auth_warning: bool,
    /// Server URI: redis://[[user]:pass@]host[:port][/db] (rediss:// for TLS).
    #[arg(short = 'u', value_name = "URI", display_order = 7)]
    pub uri: Option<String>,
    #[command(flatten)]
    pub tls: tls::TlsArgs,
    /// Reach an announced node address at another one (NAT, containers): ANNOUNCED=REACHABLE,
    /// each host:port or host; repeatable.
    #[arg(long, value_name = "ANNOUNCED=REACHABLE", action = ArgAction::Append, display_order = 108, help_heading = "rcli additions")]
    pub address_map: Vec<String>,
    /// Database number.
    #[arg(short = 'n', value_name = "DB", display_order = 10)]
    pub db: Option<i64>,
    /// Start the session in RESP2 protocol mode.
    #[arg(short = '2', display_order = 11)]
    pub resp2: bool,
    /// Start the session in RESP3 protocol mode (HELLO 3).
    #[arg(short = '3', display_order = 12)]
    pub resp3: bool,
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
    #[arg(short = 'v', long, display_order = 56)]
    pub verbose: bool,
    /// Connect timeout in seconds (default 5).
    #[arg(short = 't', value_name = "SECONDS", display_order = 100, help_heading = "rcli additions")]
    pub connect_timeout: Option<f64>,
    /// Seconds without a byte of a reply to a non-blocking command before giving up (default 60, 0 = none).
    #[arg(long = "timeout", value_name = "SECONDS", display_order = 101, help_heading = "rcli additions")]
    pub read_timeout: Option<f64>,
    /// Redirects followed for one command before giving up.
    #[arg(long, value_name = "N", default_value_t = 16, display_order = 102, help_heading = "rcli additions")]
    pub max_hops: usize,
    /// Seconds a node (or the cluster) may fail before rcli declares it down and fails its commands at once
    /// (default: the cluster's cluster-node-timeout + 3 s; 18 s when it cannot be read).
    #[arg(long, value_name = "SECONDS", display_order = 103, help_heading = "rcli additions")]
    pub down_after: Option<f64>,
    /// Where keyless commands go: current, primaries, replicas, all, random, auto, or HOST:PORT.
    #[arg(long, value_name = "TARGET", display_order = 104, help_heading = "rcli additions")]
    pub target: Option<String>,
    /// Send read-only commands to replicas (READONLY is sent for you).
    #[arg(long, display_order = 105, help_heading = "rcli additions")]
    pub read_from_replicas: bool,
    /// List all keys with SCAN (every primary in cluster mode).
    #[arg(long, display_order = 49)]
    pub scan: bool,
    /// Keys pattern for --scan.
    #[arg(long, value_name = "PATTERN", display_order = 50)]
    pub pattern: Option<String>,
    /// Same as --pattern, but the string can be quoted (binary-safe).
    #[arg(long, value_name = "PATTERN", display_order = 51)]
    pub quoted_pattern: Option<String>,
    /// COUNT for --scan.
    #[arg(long, value_name = "N", display_order = 106, help_heading = "rcli additions")]
    pub count: Option<u64>,
    /// Send an EVAL command using the Lua script at FILE (keys, then `,`, then args).
    #[arg(long, value_name = "FILE", display_order = 53)]
    pub eval: Option<PathBuf>,
    /// Used with --eval: enable the Redis Lua debugger.
    #[arg(long, display_order = 54)]
    pub ldb: bool,
    /// Like --ldb but uses the synchronous Lua debugger (the server is blocked, changes are kept).
    #[arg(long, display_order = 55)]
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
    #[arg(long, value_name = "N", default_value_t = 2048, display_order = 107, help_heading = "rcli additions")]
    pub pipeline: usize,
    /// Whether to print RESP3 push messages (default: yes when stdout is a terminal).
    #[arg(long, value_name = "yn", display_order = 34)]
    pub show_pushes: Option<String>,
    #[command(flatten)]
    pub diagnostics: diagnostics::DiagnosticArgs,
    /// Colour: auto, always or never (NO_COLOR is respected).
    #[arg(long, value_name = "WHEN", display_order = 109, help_heading = "rcli additions")]
    pub color: Option<ColorChoice>,
    /// Print the version and exit.
    #[arg(short = 'V', long = "version", display_order = 59)]
    pub version: bool,
    /// Print this help.
    #[arg(long, action = ArgAction::Help, display_order = 58)]
    pub help: Option<bool>,
    /// The command to run; without one, rcli reads commands from stdin or opens the shell.
    #[arg(trailing_var_arg = true, value_name = "cmd")]
    pub command: Vec<OsString>,
}

/// What rcli will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The interactive shell (stdin is a terminal).
    Shell,
    /// Commands read from stdin, one per line.
    Lines,
    /// One command from the command line.
    OneShot(Vec<Vec<u8>>),
    /// `--pipe`: raw RESP from stdin.
    Pipe,
    /// `--scan`.
    Scan,
    /// `--rdb`/`--functions-rdb`: an RDB to a file (a directory with `-c`).
    Rdb { target: PathBuf, what: crate::modes::replication::Transfer },
    /// `--replica`: the replication stream as CSV lines.
    Replica,
    /// `--eval FILE [keys…] [, args…]`, with the Lua debugger when `debug` is set.
    Eval { file: PathBuf, args: Vec<Vec<u8>>, debug: Option<LuaDebug> },
    /// `--stat`, `--latency*`, `--bigkeys`/`--memkeys`/`--hotkeys`, `--lru-test`,
    /// `--intrinsic-latency`.
    Diagnostic(diagnostics::Diagnostic),
}

/// `--ldb` (changes rolled back) or `--ldb-sync-mode` (the server blocks, changes kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LuaDebug {
    Forked,
    Sync,
}

/// Validated settings for a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub client: client::Options,
    pub state: SessionState,
    pub format: Format,
    pub hop_lines: HopLines,
    pub color: bool,
    pub verbose: bool,
    pub repeat: i64,
    pub interval: Duration,
    pub stdin_last_arg: bool,
    /// `-X`: the argument equal to this is replaced by stdin.
    pub stdin_tag: Option<Vec<u8>>,
    /// `--quoted-input`: one-shot arguments are quoted strings.
    pub quoted_input: bool,
    pub exit_on_error: bool,
    pub target: Target,
    /// `--pattern`/`--quoted-pattern` (unquoted), bytes.
    pub scan_pattern: Option<Vec<u8>>,
    pub scan_count: Option<u64>,
    pub pipe_timeout: Duration,
    pub pipeline: usize,
    /// `--show-pushes`: print RESP3 pushes met while reading replies.
    pub show_pushes: bool,
    /// Printed on stderr before connecting (the redis-cli password warning).
    pub warnings: Vec<String>,
    /// `--askpass`: read the password from the terminal before connecting.
    pub askpass: bool,
}

/// The redis-cli warning for a password given on the command line.
pub const PASSWORD_WARNING: &str =
    "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.";

/// The longest wait any option may ask for (ten years): beyond it a deadline computed
/// from the clock could overflow.
pub const MAX_SECONDS: f64 = 315_360_000.0;

fn seconds(value: f64, what: &str) -> Result<Duration> {
    if value.is_finite() && (0.0..=MAX_SECONDS).contains(&value) {
        Duration::try_from_secs_f64(value).map_err(|_| Error::Usage(format!("Invalid {what}: {value}")))
    } else {
        Err(Error::Usage(format!("Invalid {what}: {value} (0 to {MAX_SECONDS} seconds)")))
    }
}

impl Config {
    /// Validates `args` against the environment (`REDISCLI_AUTH`, tty-ness of stdin and
    /// stdout, `NO_COLOR`).
    pub fn from_args(args: Args) -> Result<Config> {
        let stdout_tty = std::io::stdout().is_terminal();
        let stdin_tty = std::io::stdin().is_terminal();
        let mut warnings = Vec::new();
        if args.resp2 && args.resp3 {
            return Err(Error::Usage("Options -2 and -3 are mutually exclusive.".into()));
        }
        if args.cluster && args.socket.is_some() {
            return Err(Error::Usage("Options -c and -s are mutually exclusive.".into()));
        }
        if args.stdin_last_arg && args.stdin_tag.is_some() {
            return Err(Error::Usage("Options -x and -X are mutually exclusive.".into()));
        }
        // `--quoted-pattern` is unquoted like a typed argument: exactly one of them.
        let scan_pattern = match &args.quoted_pattern {
            Some(quoted) => match crate::protocol::split::split_args(quoted.as_bytes()).ok().as_deref() {
                Some([one]) => Some(one.clone()),
                _ => return Err(Error::Usage("Invalid quoted string specified for --quoted-pattern.".into())),
            },
            None => args.pattern.as_ref().map(|p| p.clone().into_bytes()),
        };
        let uri = args.uri.as_deref().map(parse_uri).transpose()?;
        let uri = uri.unwrap_or_default();

        let mut hosts = args.hosts.clone();
        if hosts.is_empty() {
            hosts.push(uri.host.clone().unwrap_or_else(|| "127.0.0.1".to_string()));
        }
        let mut ports = args.ports.clone();
        if ports.is_empty() {
            ports.push(uri.port.unwrap_or(6379));
        }
        let count = hosts.len().max(ports.len());
        let mut seeds: Vec<Endpoint> = (0..count)
            .map(|i| {
                let host = hosts.get(i).or(hosts.last()).cloned().unwrap_or_default();
                let port = ports.get(i).or(ports.last()).copied().unwrap_or(6379);
                Endpoint::Tcp { host, port }
            })
            .collect();
        if let Some(socket) = &args.socket {
            seeds = vec![Endpoint::Unix(socket.clone())];
        }

        let show_pushes = match args.show_pushes.as_deref().map(|v| v.chars().next().map(|c| c.to_ascii_lowercase())) {
            None => stdout_tty,
            Some(Some('y')) => true,
            Some(Some('n')) => false,
            Some(_) => {
                let value = args.show_pushes.clone().unwrap_or_default();
                warnings.push(format!("Unknown --show-pushes value '{value}' (valid: '[y]es', '[n]o')"));
                stdout_tty
            }
        };
        let cli_password = args.password.as_ref().map(|p| p.as_bytes().to_vec());
        if (cli_password.is_some() || uri.password.is_some()) && !args.no_auth_warning {
            warnings.push(PASSWORD_WARNING.to_string());
        }
        let password =
            cli_password.or(uri.password).or_else(|| std::env::var_os("REDISCLI_AUTH").map(OsStringExt::into_vec));
        let user = args.user.as_ref().map(|u| u.as_bytes().to_vec()).or(uri.user);
        let auth = password.map(|password| Credentials { user, password });

        let mut mode_out =
            if stdout_tty || std::env::var_os("FAKETTY").is_some() { OutputMode::Tty } else { OutputMode::Raw };
        if args.no_raw {
            mode_out = OutputMode::Tty;
        }
        if args.raw {
            mode_out = OutputMode::Raw;
        }
        if args.csv {
            mode_out = OutputMode::Csv;
        }
        if args.json {
            mode_out = OutputMode::Json;
        }
        if args.quoted_json {
            mode_out = OutputMode::QuotedJson;
        }
        // The Lua debugger's replies are status lines, printed raw as redis-cli does.
        if args.ldb || args.ldb_sync_mode {
            mode_out = OutputMode::Raw;
        }
        let mut format = Format::new(mode_out);
        format.terminal = stdout_tty;
        if let Some(d) = &args.element_delimiter {
            format.element_delimiter = d.as_bytes().to_vec();
        }
        if let Some(d) = &args.reply_delimiter {
            format.reply_delimiter = d.as_bytes().to_vec();
        }
        let tls = args.tls.options(uri.tls, args.socket.is_some())?;
        let mut address_map = client::address_map::AddressMap::default();
        for rule in &args.address_map {
            address_map.add(rule).map_err(Error::Usage)?;
        }
        let json = matches!(mode_out, OutputMode::Json | OutputMode::QuotedJson);
        let state = SessionState {
            auth,
            resp3: args.resp3 || (json && !args.resp2),
            db: args.db.or(uri.db).unwrap_or(0),
            client_name: None,
        };

        let debug = match (args.ldb, args.ldb_sync_mode) {
            (_, true) => Some(LuaDebug::Sync),
            (true, false) => Some(LuaDebug::Forked),
            _ => None,
        };
        if debug.is_some() && args.eval.is_none() {
            return Err(Error::Usage("Options --ldb and --ldb-sync-mode require --eval.".into()));
        }
        if args.rdb.is_some() && args.functions_rdb.is_some() {
            return Err(Error::Usage("Option --functions-rdb and --rdb are mutually exclusive.".into()));
        }
        use crate::modes::replication::Transfer;
        let transfer = args
            .rdb
            .clone()
            .map(|t| (t, Transfer::Rdb))
            .or(args.functions_rdb.clone().map(|t| (t, Transfer::Functions)));
        // redis-cli's order (docs/redis-cli-modes.md, "General facts"): the latency
        // modes, --replica, --rdb, --pipe, the key scans and --stat, --scan, the rest.
        let earlier = args.replica || transfer.is_some() || args.pipe;
        let mode = if let Some(diagnostic) = args.diagnostics.select(earlier, args.scan) {
            Mode::Diagnostic(diagnostic)
        } else if args.replica {
            Mode::Replica
        } else if let Some((target, what)) = transfer {
            Mode::Rdb { target, what }
        } else if let Some(file) = &args.eval {
            let args = args.command.iter().map(|a| a.clone().into_vec()).collect();
            Mode::Eval { file: file.clone(), args, debug }
        } else if args.pipe {
            Mode::Pipe
        } else if args.scan {
            Mode::Scan
        } else if !args.command.is_empty() {
            Mode::OneShot(args.command.iter().map(|a| a.clone().into_vec()).collect())
        } else if stdin_tty {
            Mode::Shell
        } else {
            Mode::Lines
        };
        let hop_lines = if stdout_tty && mode_out == OutputMode::Tty {
            HopLines::Stdout
        } else if args.verbose {
            HopLines::Stderr
        } else {
            HopLines::Hidden
        };
        let color = match args.color.unwrap_or(ColorChoice::Auto) {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => crate::shell::paint::auto_color(stdout_tty),
        };
        let target = match &args.target {
            None => Target::Current,
            Some(t) => Target::parse(t).ok_or_else(|| {
                Error::Usage(format!(
                    "Invalid --target '{t}' (use current, primaries, replicas, all, random, auto or HOST:PORT)"
                ))
            })?,
        };
        let read_timeout = match args.read_timeout {
            Some(0.0) => None,
            Some(t) => Some(seconds(t, "--timeout")?),
            None => Some(Duration::from_secs(60)),
        };
        Ok(Config {
            mode,
            client: client::Options {
                seeds,
                cluster: args.cluster,
                connect_timeout: seconds(args.connect_timeout.unwrap_or(5.0), "connection timeout for -t")?,
                read_timeout,
                max_hops: args.max_hops,
                read_from_replicas: args.read_from_replicas,
                down_after: args.down_after.map(|d| seconds(d, "--down-after")).transpose()?,
                tls: tls.map(|options| std::sync::Arc::new(client::tls::Tls::new(options))),
                address_map,
            },
            state,
            format,
            hop_lines,
            color,
            verbose: args.verbose,
            repeat: args.repeat.unwrap_or(1),
            interval: seconds(args.interval.unwrap_or(0.0), "interval for -i")?,
            stdin_last_arg: args.stdin_last_arg,
            stdin_tag: args.stdin_tag.map(String::into_bytes),
            quoted_input: args.quoted_input,
            exit_on_error: args.exit_on_error,
            target,
            scan_pattern,
            scan_count: args.count,
            pipe_timeout: seconds(args.pipe_timeout as f64, "--pipe-timeout")?,
            pipeline: args.pipeline.max(1),
            warnings,
            show_pushes,
            askpass: args.askpass,
        })
    }
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
