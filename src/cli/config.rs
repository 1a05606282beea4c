//! A run's validated settings: [`Config::decide`] checks the parsed [`Args`] against
//! the [`Surroundings`] read once at start (`REDISCLI_AUTH`, tty-ness of stdin and
//! stdout, `NO_COLOR`), in small steps: exclusive options, seeds, credentials, reply
//! format, client options, and the [`Mode`] — what rcli will do.

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
    /// `--latency-percentiles`: the percentiles `--latency`/`--latency-history` add
    /// (empty: redis-cli 7.0's lines).
    pub latency_percentiles: Vec<crate::cli::diagnostics::Percentile>,
    pub scan_cursor: u64,
    /// `--top`: how many of the biggest keys `--keystats` lists (10 by default).
    pub keystats_top: u64,
    pub pipe_timeout: Duration,
    pub pipeline: usize,
    /// `--show-pushes`: print RESP3 pushes met while reading replies.
    pub show_pushes: bool,
    /// Several nodes' diagnostics merged into one list or table (not `--no-merge`).
    pub merge: bool,
    /// Printed on stderr before connecting (the redis-cli password warning).
    pub warnings: Vec<String>,
    /// `--askpass`: read the password from the terminal before connecting.
    pub askpass: bool,
    /// `--yes`: the shell does not ask before dangerous commands.
    pub assume_yes: bool,
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

/// What rcli knows of its surroundings when it starts: whether stdin and stdout are
/// terminals (`FAKETTY` makes the output formatted as for one), and the environment.
/// Read once, then passed in, so each step below is a plain function of it.
#[derive(Debug, Clone, Default)]
pub struct Surroundings {
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub fake_tty: bool,
    env: Environment,
}

impl Surroundings {
    pub fn read() -> Surroundings {
        Surroundings {
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            fake_tty: std::env::var_os("FAKETTY").is_some(),
            env: Environment::read(),
        }
    }
}

impl Config {
    /// Validates `args` against the surroundings (`REDISCLI_AUTH`, tty-ness of stdin
    /// and stdout, `NO_COLOR`).
    pub fn from_args(args: Args) -> Result<Config> {
        Config::decide(args, &Surroundings::read())
    }

    /// The steps, in order: options that exclude each other, where to connect, as
    /// whom, how replies look, what to do.
    pub fn decide(args: Args, around: &Surroundings) -> Result<Config> {
        exclusive_options(&args)?;
        let mut warnings = Vec::new();
        let uri = args.uri.as_deref().map(parse_uri).transpose()?.unwrap_or_default();
        let seeds = seeds(&args, &uri, &around.env)?;
        let show_pushes = show_pushes(&args, around.stdout_tty, &mut warnings);
        let auth = credentials(&args, &uri, &around.env, &mut warnings);
        let (format, mode_out) = reply_format(&args, around);
        let json = matches!(mode_out, OutputMode::Json | OutputMode::QuotedJson);
        let state = SessionState {
            auth,
            resp3: args.resp3 || (json && !args.resp2),
            db: args.db.or(uri.db).unwrap_or(0),
            client_name: args.name.as_ref().map(|n| n.as_bytes().to_vec()),
        };
        let client = client_options(&args, uri.tls, seeds, &around.env)?;
        let mode = mode(&args, around.stdin_tty)?;
        let hop_lines = if around.stdout_tty && mode_out == OutputMode::Tty {
            HopLines::Stdout
        } else if args.verbose {
            HopLines::Stderr
        } else {
            HopLines::Hidden
        };
        let color = match args.color.unwrap_or(ColorChoice::Auto) {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => crate::output::auto_color(around.stdout_tty),
        };
        let target = match &args.target {
            None => Target::Current,
            Some(t) => Target::parse(t).ok_or_else(|| {
                Error::Usage(format!(
                    "Invalid --target '{t}' (use current, primaries, replicas, all, random, auto or HOST:PORT)"
                ))
            })?,
        };
        let scan_pattern = scan_pattern(&args)?;
        Ok(Config {
            mode,
            client,
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
            latency_percentiles: args.diagnostics.latency_percentiles.clone().map(|list| list.0).unwrap_or_default(),
            keystats_top: args.diagnostics.top.unwrap_or(super::diagnostics::TOP_DEFAULT),
            pipe_timeout: seconds(args.pipe_timeout as f64, "--pipe-timeout")?,
            pipeline: args.pipeline.max(1),
            warnings,
            show_pushes,
            merge: !args.no_merge,
            askpass: args.askpass,
            assume_yes: args.yes,
        })
    }
}

/// redis-cli's refusals of options that exclude each other.
fn exclusive_options(args: &Args) -> Result<()> {
    let pairs = [
        (args.resp2 && args.resp3, "Options -2 and -3 are mutually exclusive."),
        (args.cluster && args.socket.is_some(), "Options -c and -s are mutually exclusive."),
        (args.stdin_last_arg && args.stdin_tag.is_some(), "Options -x and -X are mutually exclusive."),
        (args.prefer_ipv4 && args.prefer_ipv6, "Options -4 and -6 are mutually exclusive."),
        ((args.ldb || args.ldb_sync_mode) && args.eval.is_none(), "Options --ldb and --ldb-sync-mode require --eval."),
        (
            args.rdb.is_some() && args.functions_rdb.is_some(),
            "Option --functions-rdb and --rdb are mutually exclusive.",
        ),
    ];
    match pairs.iter().find(|(clash, _)| *clash) {
        Some((_, message)) => Err(Error::Usage((*message).into())),
        None => Ok(()),
    }
}

/// `--quoted-pattern` is unquoted like a typed argument: exactly one of them.
fn scan_pattern(args: &Args) -> Result<Option<Vec<u8>>> {
    match &args.quoted_pattern {
        Some(quoted) => match crate::protocol::split::split_args(quoted.as_bytes()).ok().as_deref() {
            Some([one]) => Ok(Some(one.clone())),
            _ => Err(Error::Usage("Invalid quoted string specified for --quoted-pattern.".into())),
        },
        None => Ok(args.pattern.as_ref().map(|p| p.clone().into_bytes())),
    }
}

/// The nodes to start from: `-h`/`-p` pairs (the last one repeats), else the URI's,
/// else valkey-cli's environment, else 127.0.0.1:6379; `-s` replaces them all.
fn seeds(args: &Args, uri: &super::uri::Uri, env: &Environment) -> Result<Vec<Endpoint>> {
    if let Some(socket) = &args.socket {
        return Ok(vec![Endpoint::Unix(socket.clone())]);
    }
    let mut hosts = args.hosts.clone();
    if hosts.is_empty() {
        hosts.push(uri.host.clone().or(env.host.clone()).unwrap_or_else(|| "127.0.0.1".to_string()));
    }
    let mut ports = args.ports.clone();
    if ports.is_empty() {
        let env_port = match env.port {
            Some(None) => return Err(Error::Usage("Invalid server port.".into())),
            Some(Some(port)) => Some(port),
            None => None,
        };
        ports.push(uri.port.or(env_port).unwrap_or(6379));
    }
    let count = hosts.len().max(ports.len());
    Ok((0..count)
        .map(|i| {
            let host = hosts.get(i).or(hosts.last()).cloned().unwrap_or_default();
            let port = ports.get(i).or(ports.last()).copied().unwrap_or(6379);
            Endpoint::Tcp { host, port }
        })
        .collect())
}

/// `--show-pushes y|n`; on a terminal by default.
fn show_pushes(args: &Args, stdout_tty: bool, warnings: &mut Vec<String>) -> bool {
    match args.show_pushes.as_deref().map(|v| v.chars().next().map(|c| c.to_ascii_lowercase())) {
        None => stdout_tty,
        Some(Some('y')) => true,
        Some(Some('n')) => false,
        Some(_) => {
            let value = args.show_pushes.clone().unwrap_or_default();
            warnings.push(format!("Unknown --show-pushes value '{value}' (valid: '[y]es', '[n]o')"));
            stdout_tty
        }
    }
}

/// The password from `-a`, the URI or the environment (with redis-cli's warning for a
/// password on the command line), the user from `--user` or the URI.
fn credentials(
    args: &Args,
    uri: &super::uri::Uri,
    env: &Environment,
    warnings: &mut Vec<String>,
) -> Option<Credentials> {
    let cli_password = args.password.as_ref().map(|p| p.as_bytes().to_vec());
    if (cli_password.is_some() || uri.password.is_some()) && !args.no_auth_warning {
        warnings.push(PASSWORD_WARNING.to_string());
    }
    let password = cli_password.or(uri.password.clone()).or(env.password.clone())?;
    let user = args.user.as_ref().map(|u| u.as_bytes().to_vec()).or(uri.user.clone());
    Some(Credentials { user, password })
}

/// How replies are printed: formatted on a terminal, raw elsewhere, unless an option
/// says otherwise (the last of --no-raw, --raw, --csv, --json, --quoted-json wins as
/// in redis-cli's order of checks); the Lua debugger's replies are raw.
fn reply_format(args: &Args, around: &Surroundings) -> (Format, OutputMode) {
    let chosen = [
        (args.no_raw, OutputMode::Tty),
        (args.raw, OutputMode::Raw),
        (args.csv, OutputMode::Csv),
        (args.json, OutputMode::Json),
        (args.quoted_json, OutputMode::QuotedJson),
        (args.ldb || args.ldb_sync_mode, OutputMode::Raw),
    ];
    let default = if around.stdout_tty || around.fake_tty { OutputMode::Tty } else { OutputMode::Raw };
    let mode = chosen.iter().rev().find(|(set, _)| *set).map_or(default, |(_, mode)| *mode);
    let mut format = Format::new(mode);
    format.terminal = around.stdout_tty;
    if let Some(d) = &args.element_delimiter {
        format.element_delimiter = d.as_bytes().to_vec();
    }
    if let Some(d) = &args.reply_delimiter {
        format.reply_delimiter = d.as_bytes().to_vec();
    }
    (format, mode)
}

/// How the client connects and routes: seeds, timeouts, hops, replicas and zones,
/// TLS, the address map, the address family.
fn client_options(args: &Args, uri_tls: bool, seeds: Vec<Endpoint>, env: &Environment) -> Result<client::Options> {
    let family = match (args.prefer_ipv4, args.prefer_ipv6) {
        (true, _) => Family::PreferV4,
        (_, true) => Family::PreferV6,
        _ => Family::Any,
    };
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
    let tls = args.tls.options(uri_tls, args.socket.is_some())?;
    let read_timeout = match args.read_timeout {
        Some(0.0) => None,
        Some(t) => Some(seconds(t, "--timeout")?),
        None => Some(Duration::from_secs(60)),
    };
    Ok(client::Options {
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
        parallel: args.parallel.unwrap_or(client::workers::DEFAULT_WIDTH),
        map_cache: !args.no_map_cache && !env.no_map_cache,
    })
}

/// What rcli will do, in redis-cli's order (docs/redis-cli-modes.md, "General
/// facts"): the latency modes, --replica, --rdb, --pipe, the key scans and --stat,
/// --scan, the rest; without any, one command, the shell on a terminal, else lines.
fn mode(args: &Args, stdin_tty: bool) -> Result<Mode> {
    let debug = match (args.ldb, args.ldb_sync_mode) {
        (_, true) => Some(LuaDebug::Sync),
        (true, false) => Some(LuaDebug::Forked),
        _ => None,
    };
    let transfer =
        args.rdb.clone().map(|t| (t, Transfer::Rdb)).or(args.functions_rdb.clone().map(|t| (t, Transfer::Functions)));
    let earlier = args.replica || transfer.is_some() || args.pipe;
    let words = || args.command.iter().map(|a| a.clone().into_vec()).collect();
    Ok(if let Some(diagnostic) = args.diagnostics.select(earlier, args.scan) {
        Mode::Diagnostic(diagnostic)
    } else if args.replica {
        Mode::Replica
    } else if let Some((target, what)) = transfer {
        Mode::Rdb { target, what }
    } else if let Some(file) = &args.eval {
        Mode::Eval { file: file.clone(), args: words(), debug }
    } else if args.pipe {
        Mode::Pipe
    } else if args.scan {
        Mode::Scan
    } else if !args.command.is_empty() {
        Mode::OneShot(words())
    } else if stdin_tty {
        Mode::Shell
    } else {
        Mode::Lines
    })
}

/// What redis-cli and valkey-cli read from the environment for the connection:
/// `REDISCLI_AUTH` (else valkey-cli's `VALKEYCLI_AUTH`) for the password, valkey-cli's
/// `VALKEYCLI_HOST` and `VALKEYCLI_PORT` for the defaults of `-h` and `-p`.
#[derive(Debug, Clone, Default)]
struct Environment {
    password: Option<Vec<u8>>,
    host: Option<String>,
    /// `Some(None)`: set, but not a port.
    port: Option<Option<u16>>,
    /// `RCLI_NO_MAP_CACHE` set to something other than empty or `0`.
    no_map_cache: bool,
}

impl Environment {
    fn read() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Environment {
            password: std::env::var_os("REDISCLI_AUTH")
                .or_else(|| std::env::var_os("VALKEYCLI_AUTH"))
                .map(OsStringExt::into_vec),
            host: var("VALKEYCLI_HOST").map(|h| h.to_string_lossy().into_owned()),
            port: var("VALKEYCLI_PORT").map(|p| p.to_str().and_then(|p| p.parse().ok())),
            no_map_cache: var("RCLI_NO_MAP_CACHE").is_some_and(|v| v != "0"),
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
