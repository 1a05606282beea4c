//! The cluster manager, `rcli --cluster <subcommand> …`: redis-cli 7.0.15's `--cluster`
//! (same syntax, key output lines, exit codes and end states) with rcli's additions
//! (plans, JSON, progress, a journal to resume, refusals before data loss, faster
//! slot moves). docs/cluster-manager.md describes the behaviour this code follows.
//!
//! - [`args`]: the command line; [`help`]: `--cluster help` and the subcommand table.
//! - [`model`]: nodes, slots, signatures (pure); [`load`]: reading the cluster;
//!   [`parallel`]: per-node work on a bounded number of threads.
//! - [`check`]: check/info and the check other commands run; [`fix`]: repairs (open
//!   slots, and the steps of every repair), [`fix_owners`]: slots with no or several owners.
//! - [`plan`]: reshard tables, rebalance, create layout (pure).
//! - [`mover`]: moving slots, [`drain`]: emptying one; [`values`]: comparing values on
//!   BUSYKEY; [`fault`]: the test hook that stops a move at a named point;
//!   [`execute`]: running a plan of moves (groups, parallel pairs, journal);
//!   [`journal`]: the journal; [`preflight`]: sizing keys before moving them.
//! - The subcommands: [`create`] (and [`agreement`], its wait for every node to agree
//!   on slots and roles), [`reshard`], [`rebalance`], [`nodes`] (add-node,
//!   del-node), [`commands`] (check, info, fix, call, set-timeout), [`import`],
//!   [`backup`].
//! - [`report`]: what is printed (colours, JSON); [`progress`]: the progress bar;
//!   [`link`]: talking to nodes through the pool; [`prompt`]: questions on stdin.

pub mod agreement;
pub mod args;
pub mod atomic;
pub mod backup;
pub mod census;
pub mod check;
pub mod commands;
pub mod create;
pub mod drain;
pub mod execute;
pub mod fault;
pub mod fix;
pub mod fix_owners;
pub mod help;
pub mod journal;
pub mod link;
pub mod load;
pub mod lock;
pub mod model;
pub mod mover;
pub mod moves;
pub mod nodes;
pub mod nudge;
pub mod parallel;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod prompt;
pub mod rebalance;
pub mod recover;
pub mod report;
pub mod reshard;
pub mod settle;
pub mod values;
pub mod views;

pub mod import;

use std::ffi::OsString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::endpoint::Endpoint;
pub use args::{ClusterOptions, Invocation};
use link::{Link, LinkTemplate};
use model::Cluster;
use report::Report;

pub use args::wants_manager;

/// One manager run: the links, the loaded cluster, the options and the output.
pub struct Manager {
    pub template: LinkTemplate,
    pub link: Link,
    pub cluster: Cluster,
    pub opts: ClusterOptions,
    pub report: Report,
    /// `fix`: the check repairs what it finds.
    pub fixing: bool,
    /// `--verbose`.
    pub verbose: bool,
    /// Issues the check recorded (redis-cli's `cluster_manager.errors`).
    pub errors: Vec<String>,
    /// Set by the first Ctrl-C: finish the current group of slots, then stop.
    pub stop: Arc<AtomicBool>,
    pub prompt: prompt::Prompt,
    /// `-x`: the last argument of `call` from stdin.
    pub stdin_last_arg: bool,
    /// An interrupted reshard's journal that `fix` follows.
    pub journal: Option<journal::Record>,
    /// How many databases a cluster node has (Valkey 9's `cluster-databases`; 1 before).
    pub databases: u32,
    /// The arguments were wrong (a usage error: exit 2).
    pub usage: bool,
    /// Each loaded node's configuration signature as the last load read it, until the
    /// check that follows uses them ([`load::agree`]) or a cluster lock is taken.
    pub load_signatures: Option<Vec<String>>,
}

impl Manager {
    pub fn new(template: LinkTemplate, opts: ClusterOptions) -> Manager {
        let link = template.link();
        let json = opts.json;
        Manager {
            template,
            link,
            cluster: Cluster::default(),
            opts,
            report: Report::new(json),
            fixing: false,
            verbose: false,
            errors: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            prompt: prompt::Prompt::stdin(),
            stdin_last_arg: false,
            journal: None,
            databases: 1,
            usage: false,
            load_signatures: None,
        }
    }

    /// Says what is wrong with the subcommand's arguments (stderr); the run then exits
    /// as a usage error.
    pub fn usage_error(&mut self, text: &str) {
        self.report.note(text);
        self.usage = true;
    }

    /// The mover's settings from the options.
    pub fn move_settings(&self, big_keys: Arc<std::collections::HashSet<Vec<u8>>>) -> mover::Settings {
        let (get_count, batch) = if self.opts.pipeline_given {
            let n = usize::try_from(self.opts.pipeline).unwrap_or(1).max(1);
            (n, n)
        } else {
            (1000, 100)
        };
        mover::Settings {
            timeout_ms: self.opts.timeout_ms,
            get_count,
            batch,
            replace: self.opts.replace,
            fixing: self.fixing,
            auth: self.template.auth().cloned(),
            big_keys,
            masters: self.masters(),
            databases: self.databases,
            atomic: self.opts.atomic,
        }
    }

    /// Every loaded master as a mover peer.
    pub fn masters(&self) -> Vec<mover::Peer> {
        self.cluster.masters().map(peer).collect()
    }
}

pub fn peer(n: &model::Node) -> mover::Peer {
    mover::Peer { id: n.id.clone(), host: n.host.clone(), port: n.port }
}

/// `host:port`, `ip:port@bus`, or `host port` (redis-cli's
/// `getClusterHostFromCmdArgs`): the last `:` splits; port 0 is invalid.
pub fn host_arg(args: &[OsString]) -> Option<Endpoint> {
    let (host, port) = match args {
        [] => return None,
        [one] => {
            let text = one.to_string_lossy();
            let text = text.rsplit_once('@').map_or(&*text, |(a, _)| a).to_string();
            let (host, port) = text.rsplit_once(':')?;
            (host.to_string(), args::atoi(port))
        }
        [host, port, ..] => (host.to_string_lossy().into_owned(), args::atoi(&port.to_string_lossy())),
    };
    let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| Endpoint::tcp(host, port))
}

/// The message for a bad host argument.
pub const INVALID_HOST: &str = "[ERR] Invalid arguments: you need to pass either a valid address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)";

/// The message for a subcommand given too few or too many arguments.
pub const WRONG_ARGS: &str = "[ERR] Wrong number of arguments for specified --cluster sub command";

/// Ctrl-C: the first asks the run to stop after the current group of slots; the
/// second interrupts every wait at once (each ends within 100 ms; the journal records
/// where it stopped).
fn install_ctrl_c(stop: Arc<AtomicBool>, interrupt: Arc<AtomicBool>) {
    static PRESSES: AtomicUsize = AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
            stop.store(true, Ordering::SeqCst);
            crate::output::note("rcli: stopping after the slots being moved (Ctrl-C again to stop at once)");
        } else {
            interrupt.store(true, Ordering::SeqCst);
        }
    });
}

/// Runs one subcommand of an [`Invocation`] with the common options of `config`
/// (already through the front door's start-up: password read, TLS checked).
pub fn run_invocation(inv: &Invocation, config: &crate::cli::Config) -> crate::exit::Exit {
    let timeout = config.client.read_timeout.unwrap_or(Duration::from_secs(60)).max(Duration::from_secs(5));
    let auth = config.state.auth.clone();
    let template = LinkTemplate::new(auth, crate::client::Client::link_settings(&config.client), timeout);
    let mut m = Manager::new(template, inv.opts.clone());
    m.verbose = config.verbose;
    m.report.set_colour(config.color);
    m.report.asides |= config.verbose;
    m.stdin_last_arg = config.stdin_last_arg;
    install_ctrl_c(m.stop.clone(), m.template.interrupt.clone());
    for name in help::ignored_options(&inv.command, &inv.opts.given) {
        m.report.aside(&format!("rcli: {name} is ignored by {}", inv.command));
    }
    let ok = run(&mut m, &inv.command, &inv.args);
    m.report.finish();
    if m.usage { crate::exit::Exit::Usage } else { crate::exit::Exit::from_ok(ok) }
}

/// The shell's `:cluster check` / `:cluster info`: the manager's check (or info) against
/// the cluster of `entry`, with the session's credentials and Ctrl-C flag.
pub fn from_shell(
    entry: &Endpoint,
    auth: Option<crate::client::state::Credentials>,
    settings: crate::client::pool::LinkSettings,
    info_only: bool,
    search_multiple_owners: bool,
    interrupt: Option<Arc<AtomicBool>>,
) -> bool {
    if matches!(entry, Endpoint::Unix(_)) {
        crate::output::note("rcli: :cluster needs a TCP connection to a cluster node");
        return false;
    }
    let mut template = LinkTemplate::new(auth, settings, Duration::from_secs(60));
    if let Some(flag) = interrupt {
        template.interrupt = flag;
    }
    let opts = ClusterOptions { search_multiple_owners, ..ClusterOptions::default() };
    let mut m = Manager::new(template, opts);
    m.prompt = prompt::Prompt::from_text("");
    let args = [OsString::from(entry.to_string())];
    let ok = if info_only { commands::info(&mut m, &args) } else { commands::check(&mut m, &args) };
    m.report.finish();
    ok
}

/// Runs one subcommand on a prepared manager.
pub fn run(m: &mut Manager, command: &str, args: &[OsString]) -> bool {
    match command {
        "create" => create::run(m, args),
        "check" => commands::check(m, args),
        "info" => commands::info(m, args),
        "fix" => commands::fix(m, args),
        "reshard" => reshard::run(m, args),
        "rebalance" => rebalance::run(m, args),
        "add-node" => nodes::add_node(m, args),
        "del-node" => nodes::del_node(m, args),
        "call" => commands::call(m, args),
        "set-timeout" => commands::set_timeout(m, args),
        "import" => import::run(m, args),
        "backup" => backup::run(m, args),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn host_arguments_parse_like_redis_cli() {
        assert_eq!(host_arg(&os(&["127.0.0.1:7000"])), Some(Endpoint::tcp("127.0.0.1", 7000)));
        assert_eq!(host_arg(&os(&["127.0.0.1:7000@17000"])), Some(Endpoint::tcp("127.0.0.1", 7000)));
        assert_eq!(host_arg(&os(&["127.0.0.1", "7000"])), Some(Endpoint::tcp("127.0.0.1", 7000)));
        assert_eq!(host_arg(&os(&["::1:7000"])), Some(Endpoint::tcp("::1", 7000)));
        assert_eq!(host_arg(&os(&["nocolon"])), None);
        assert_eq!(host_arg(&os(&["h:0"])), None);
        assert_eq!(host_arg(&os(&["h:99999"])), None);
    }
}
