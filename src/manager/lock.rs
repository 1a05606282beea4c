//! One operator at a time (docs/cluster-manager.md, "One operator at a time"): before a
//! command that moves slots or keys (reshard, rebalance, fix, del-node, import, and
//! `--cluster-resume` / `--cluster-abandon`) rcli takes a lock that every other rcli, on
//! any machine, sees: the key [`KEY`], set with `SET … NX PX` on the node that serves its
//! slot, its value naming the operation, the host, the process and when it started. A
//! thread renews it while the command runs; it is deleted (only if it is still ours) when
//! the command ends, and expires [`TTL`] after rcli dies. A second rcli is refused with
//! the holder and its age before it changes anything. A lock left by a process of this
//! host that no longer runs (a `kill -9`) is taken over at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cluster::redirect::{Redirect, RedirectKind};
use crate::cluster::retry;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

use super::Manager;
use super::link::{Link, LinkTemplate, error_of, reply_text};

/// The lock's key (slot 3797).
pub const KEY: &str = "rcli:cluster-lock";
/// How long the lock outlives its last renewal.
pub const TTL: Duration = Duration::from_secs(30);
/// How often it is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// Redirections followed, and pauses while the lock's slot is down, per request.
const HOPS: usize = 5;
const DOWN_RETRIES: usize = 10;

const RENEW: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/// Who holds the lock, as its value says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub op: String,
    pub host: String,
    pub pid: u32,
    /// Seconds since the epoch.
    pub started: u64,
}

impl Holder {
    fn me(op: &str) -> Holder {
        Holder { op: op.to_string(), host: this_host(), pid: std::process::id(), started: now_secs() }
    }

    /// The lock's value: `rcli op=reshard host=h pid=1 started=1700000000`.
    pub fn value(&self) -> String {
        format!("rcli op={} host={} pid={} started={}", self.op, self.host, self.pid, self.started)
    }

    /// Reads a value back; `None` for anything that is not exactly what [`Holder::value`]
    /// writes (the words are shown to the user, so only plain characters are accepted).
    pub fn parse(text: &str) -> Option<Holder> {
        let mut words = text.split(' ');
        (words.next()? == "rcli").then_some(())?;
        let mut field = |name: &str| -> Option<String> {
            let value = words.next()?.strip_prefix(name)?.strip_prefix('=')?;
            let plain = !value.is_empty()
                && value.len() <= 255
                && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            plain.then(|| value.to_string())
        };
        let op = field("op")?;
        let host = field("host")?;
        let pid = field("pid")?.parse().ok()?;
        let started = field("started")?.parse().ok()?;
        words.next().is_none().then_some(Holder { op, host, pid, started })
    }

    /// Whether this holder is a process of this host that is gone (its lock is stale).
    fn is_dead_here(&self) -> bool {
        self.host == this_host() && !process_runs(self.pid)
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// This machine's name, as the lock records it (plain characters only).
pub fn this_host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let plain: String =
        name.trim().chars().filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c)).take(255).collect();
    if plain.is_empty() { "localhost".into() } else { plain }
}

/// Whether process `pid` of this host still runs an rcli (without /proc: assumed so).
fn process_runs(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| cmdline.windows(4).any(|w| w == b"rcli"))
}

/// The lock, held: renewed by a thread until dropped, then deleted if still ours.
pub struct Lock {
    token: String,
    /// Tells the renewing thread to end.
    finished: Arc<AtomicBool>,
    renewer: Option<JoinHandle<()>>,
    link: Link,
    at: Endpoint,
}

/// Sends `argv` for [`KEY`] to `at`, following MOVED/ASK and waiting out a short outage
/// of the key's slot; the node that answered and its reply.
fn routed(link: &mut Link, at: &Endpoint, argv: &[&str]) -> Result<(Endpoint, Frame), String> {
    let mut node = at.clone();
    let mut asking = false;
    let mut downs = 0;
    for _ in 0..HOPS + DOWN_RETRIES {
        let reply = if asking {
            let commands = vec![vec!["ASKING"], argv.to_vec()];
            link.pipeline(&node, &commands).map_err(|e| e.to_string())?.pop().ok_or("no reply")?
        } else {
            link.cmd(&node, argv).map_err(|e| e.to_string())?
        };
        let Some(error) = reply.as_error() else { return Ok((node, reply)) };
        if let Some(redirect) = Redirect::parse(error, &node) {
            asking = redirect.kind == RedirectKind::Ask;
            node = redirect.to;
            continue;
        }
        if (retry::is_cluster_down(error) || retry::is_transient(error)) && downs < DOWN_RETRIES {
            downs += 1;
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        return Ok((node, reply));
    }
    Err("too many redirections".into())
}

/// Runs a compare-and-act script; without scripting (denied, disabled), `fallback`.
fn compare_and(link: &mut Link, at: &Endpoint, script: &str, token: &str, ttl: &str, act: &[&str]) -> bool {
    let argv = ["EVAL", script, "1", KEY, token, ttl];
    match routed(link, at, &argv) {
        Ok((_, reply)) if reply.as_error().is_none() => reply.as_integer() == Some(1),
        Ok(_) => {
            // GET then act: the gap is harmless while the lock is ours and renewed.
            let still_ours = routed(link, at, &["GET", KEY]).is_ok_and(|(_, v)| reply_text(&v) == token);
            still_ours && routed(link, at, act).is_ok_and(|(_, r)| r.as_integer() == Some(1))
        }
        Err(_) => false,
    }
}

/// What taking the lock ended with.
pub enum Taken {
    Held(Box<Lock>),
    /// Another operator holds it: the refusal to print.
    Refused(String),
    /// It could not be taken (no permission, its slot is down): why.
    Unavailable(String),
}

/// The lock's own links: short waits, and deaf to Ctrl-C (a second Ctrl-C stops the
/// run at once; the lock is still released on the way out, or expires).
fn lock_links(template: &LinkTemplate) -> LinkTemplate {
    let mut own = template.clone();
    own.interrupt = Arc::new(AtomicBool::new(false));
    own.settings.internal_timeout = own.settings.internal_timeout.min(Duration::from_secs(5));
    own
}

/// Tries to take the lock for `op` through `at` (the node that serves its slot, as far
/// as the loaded cluster knows).
pub fn take(template: &LinkTemplate, at: &Endpoint, op: &str, stop: Arc<AtomicBool>) -> Taken {
    let template = &lock_links(template);
    let mut link = template.link();
    let me = Holder::me(op);
    let token = me.value();
    let ttl = TTL.as_millis().to_string();
    for _ in 0..2 {
        let set = routed(&mut link, at, &["SET", KEY, &token, "NX", "PX", &ttl]);
        let (node, reply) = match set {
            Ok(found) => found,
            Err(e) => return Taken::Unavailable(e),
        };
        if reply.is_ok() {
            let renewer = spawn_renewer(template, node.clone(), token.clone(), stop);
            return Taken::Held(Box::new(Lock {
                token,
                finished: renewer.0,
                renewer: Some(renewer.1),
                link,
                at: node,
            }));
        }
        if let Some(e) = error_of(&reply) {
            return Taken::Unavailable(e);
        }
        let current = routed(&mut link, &node, &["GET", KEY]).map(|(_, v)| reply_text(&v)).unwrap_or_default();
        match Holder::parse(&current) {
            Some(holder) if holder.is_dead_here() => {
                // A kill -9 of rcli on this host: its lock goes now rather than in TTL.
                let act = ["DEL", KEY];
                compare_and(&mut link, &node, RELEASE, &current, "0", &act);
            }
            Some(holder) => return Taken::Refused(refusal(&holder, &node)),
            None if current.is_empty() => {}
            None => return Taken::Refused(format!("the key {KEY} on {node} is set by something else than rcli")),
        }
    }
    Taken::Refused(format!("the key {KEY} on {at} keeps being taken"))
}

fn refusal(holder: &Holder, node: &Endpoint) -> String {
    let age = now_secs().saturating_sub(holder.started);
    format!(
        "another rcli is changing this cluster: {} started {age} s ago by process {} on {} (lock {KEY} on {node}, renewed every {} s, gone {} s after that rcli stops)",
        holder.op,
        holder.pid,
        holder.host,
        RENEW_EVERY.as_secs(),
        TTL.as_secs()
    )
}

/// The thread that renews the lock; when it finds the lock lost it asks the run to stop
/// (the `stop` flag a first Ctrl-C sets) and says so.
fn spawn_renewer(
    template: &LinkTemplate,
    at: Endpoint,
    token: String,
    stop: Arc<AtomicBool>,
) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
    let mut link = template.link();
    let ttl = TTL.as_millis().to_string();
    let handle = std::thread::spawn(move || {
        let mut waited = Duration::ZERO;
        while !finished.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            waited += Duration::from_millis(100);
            if waited < RENEW_EVERY {
                continue;
            }
            waited = Duration::ZERO;
            let act = ["PEXPIRE", KEY, ttl.as_str()];
            if !compare_and(&mut link, &at, RENEW, &token, &ttl, &act) && !finished.load(Ordering::SeqCst) {
                crate::output::note(&format!(
                    "rcli: the cluster lock {KEY} is no longer ours (expired or taken); stopping after the slots being moved"
                ));
                stop.store(true, Ordering::SeqCst);
                return;
            }
        }
    });
    (done, handle)
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
        if let Some(handle) = self.renewer.take() {
            let _ = handle.join();
        }
        let act = ["DEL", KEY];
        compare_and(&mut self.link, &self.at, RELEASE, &self.token, "0", &act);
    }
}

/// Takes the lock for a manager command, or prints why not: `Err` means refused (the
/// command must not change anything). A lock that cannot be taken at all (the user may
/// not write it, its slot is not served) is said once, and the command goes on.
#[allow(clippy::result_unit_err)]
pub fn hold(m: &mut Manager, op: &str) -> Result<Option<Box<Lock>>, ()> {
    let slot = crate::cluster::slot::slot_of(KEY.as_bytes());
    let at = m
        .cluster
        .masters()
        .find(|n| n.slots.contains(slot))
        .or_else(|| m.cluster.nodes.first())
        .map(super::model::Node::endpoint)
        .ok_or(())?;
    // What the nodes said at load time may have changed before the lock was ours: the
    // check that follows asks every node again.
    m.load_signatures = None;
    match take(&m.template, &at, op, m.stop.clone()) {
        Taken::Held(lock) => Ok(Some(lock)),
        Taken::Refused(why) => {
            m.report.note(&format!("rcli: {why}; nothing was changed"));
            Err(())
        }
        Taken::Unavailable(why) => {
            m.report.note(&format!(
                "rcli: the cluster lock {KEY} could not be taken ({why}); going on without it: another rcli would not see this {op}"
            ));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_reads_back_and_hostile_values_do_not() {
        let me = Holder { op: "reshard".into(), host: "db-1.example".into(), pid: 42, started: 1_700_000_000 };
        assert_eq!(Holder::parse(&me.value()), Some(me));
        for bad in [
            "",
            "rcli",
            "rcli op=reshard host=h pid=x started=1",
            "rcli op=re\u{1b}[2Jshard host=h pid=1 started=1",
            "rcli op=reshard host=h pid=1 started=1 extra",
            "other op=reshard host=h pid=1 started=1",
        ] {
            assert_eq!(Holder::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_lock_key_hashes_to_its_documented_slot() {
        assert_eq!(crate::cluster::slot::slot_of(KEY.as_bytes()), 3797);
    }

    #[test]
    fn a_holder_of_this_host_that_is_gone_is_stale_and_a_live_one_is_not() {
        let mut holder = Holder::me("reshard");
        assert!(!holder.is_dead_here(), "this very process runs");
        holder.pid = u32::MAX;
        assert!(holder.is_dead_here() || !std::path::Path::new("/proc/self").exists());
        holder.host = "elsewhere".into();
        assert!(!holder.is_dead_here(), "another host's process is never judged from here");
    }
}
