//! A run's validated settings: [`Config::from_args`] checks the parsed [`Args`] against
//! the environment (`REDISCLI_AUTH`, tty-ness of stdin and stdout, `NO_COLOR`, the URI,
//! password sources) and decides the [`Mode`] — what rcli will do.

use std::io::IsTerminal;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::Duration;

use super::{Args, ColorChoice, diagnostics, parse_uri};
use crate::client::stream::Family;
use crate::client::{
    self,
    state::{Credentials, SessionState},
};
use crate::cluster::target::Target;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::output::HopLines;
use crate::protocol::render::{Format, OutputMode};

/// What `--rdb`/`--functions-rdb` transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// The whole dataset.
    Rdb,
    /// Functions only.
    Functions,
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
    Rdb { target: PathBuf, what: Transfer },
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
    /// `--hotkeys-count`: hot keys kept by `--hotkeys` (16 by default).
    pub hotkeys_count: usize,
    /// `--cursor`: where `--keystats` starts its SCAN (0 by default).
    pub scan_cursor: u64,
    /// `--top`: how many of the biggest keys `--keystats` lists (10 by default).
    pub keystats_top: u64,
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
        if args.prefer_ipv4 && args.prefer_ipv6 {
            return Err(Error::Usage("Options -4 and -6 are mutually exclusive.".into()));
        }
        let family = match (args.prefer_ipv4, args.prefer_ipv6) {
            (true, _) => Family::PreferV4,
            (_, true) => Family::PreferV6,
            _ => Family::Any,
        };
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

        let env = Environment::read();
        let mut hosts = args.hosts.clone();
        if hosts.is_empty() {
            hosts.push(uri.host.clone().or(env.host).unwrap_or_else(|| "127.0.0.1".to_string()));
        }
        let mut ports = args.ports.clone();
        if ports.is_empty() {
            ports.push(uri.port.or(env.port.transpose()?).unwrap_or(6379));
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
        let password = cli_password.or(uri.password).or(env.password);
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
        let az = match args.az.as_deref() {
            Some(zone) if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(Error::Usage(format!(
                    "--az: '{}' is not an availability zone name (printable, without spaces)",
                    crate::protocol::text::escape_controls(zone, false)
                )));
            }
            zone => zone.map(str::to_string),
        };
        let mut address_map = client::address_map::AddressMap::default();
        for rule in &args.address_map {
            address_map.add(rule).map_err(Error::Usage)?;
        }
        let json = matches!(mode_out, OutputMode::Json | OutputMode::QuotedJson);
        let state = SessionState {
            auth,
            resp3: args.resp3 || (json && !args.resp2),
            db: args.db.or(uri.db).unwrap_or(0),
            client_name: args.name.as_ref().map(|n| n.as_bytes().to_vec()),
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
            ColorChoice::Auto => crate::output::auto_color(stdout_tty),
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
                read_from_replicas: args.read_from_replicas || az.is_some(),
                az,
                down_after: args.down_after.map(|d| seconds(d, "--down-after")).transpose()?,
                tls: tls.map(|options| std::sync::Arc::new(client::tls::Tls::new(options))),
                address_map,
                family,
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
            hotkeys_count: args.diagnostics.hotkeys_count.map_or(super::diagnostics::HOT_SLOTS, |n| n as usize),
            scan_cursor: args.diagnostics.cursor.unwrap_or(0),
            keystats_top: args.diagnostics.top.unwrap_or(super::diagnostics::TOP_DEFAULT),
            pipe_timeout: seconds(args.pipe_timeout as f64, "--pipe-timeout")?,
            pipeline: args.pipeline.max(1),
            warnings,
            show_pushes,
            askpass: args.askpass,
        })
    }
}

/// What redis-cli and valkey-cli read from the environment for the connection:
/// `REDISCLI_AUTH` (else valkey-cli's `VALKEYCLI_AUTH`) for the password, valkey-cli's
/// `VALKEYCLI_HOST` and `VALKEYCLI_PORT` for the defaults of `-h` and `-p`.
struct Environment {
    password: Option<Vec<u8>>,
    host: Option<String>,
    port: Option<Result<u16>>,
}

impl Environment {
    fn read() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Environment {
            password: std::env::var_os("REDISCLI_AUTH")
                .or_else(|| std::env::var_os("VALKEYCLI_AUTH"))
                .map(OsStringExt::into_vec),
            host: var("VALKEYCLI_HOST").map(|h| h.to_string_lossy().into_owned()),
            port: var("VALKEYCLI_PORT").map(|p| {
                p.to_str().and_then(|p| p.parse().ok()).ok_or_else(|| Error::Usage("Invalid server port.".into()))
            }),
        }
    }
}
