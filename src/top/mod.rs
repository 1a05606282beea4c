//! `rcli top`: a live view of a cluster (docs/top.md). One screen refreshed every
//! interval: the shards (a primary, then its replicas), each node's role, link,
//! ops/s, network, memory, clients, keys, replication lag and CPU, the totals, ops/s
//! sparklines, the events seen between rounds and the hot slots (`CLUSTER
//! SLOT-STATS`, Valkey 8+).
//!
//! The rooms: pure parts — `sample.rs` (INFO and SLOT-STATS replies read),
//! `rates.rs` (two samples → rates), `history.rs` (sparklines), `view.rs` (a frame's
//! values), `tracker.rs` (rounds → frames, the failure budget's view of each node),
//! `events.rs` (what changed between two frames), `figures.rs` (lag, totals), `table.rs` (the node table: cells,
//! sort, filter), `keys.rs` (what a key changes), `text.rs` (a frame as text or
//! JSON); I/O — `poll.rs` (the rounds, on their own thread) and `screen.rs` (the
//! terminal); `cli.rs` (the options). The entry is `front/top.rs` (the start-up
//! sequence); this room uses only the lower floors: protocol/, cluster/, client/, cli/,
//! output.rs, exit.rs, endpoint.rs, error.rs.

pub mod cli;
pub mod events;
pub mod figures;
pub mod history;
pub mod keys;
pub mod poll;
pub mod rates;
pub mod sample;
pub mod screen;
pub mod table;
pub mod text;
pub mod tracker;
pub mod view;

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::Config;
use crate::client::Client;
use crate::client::refresh::DEFAULT_BUDGET;
use crate::exit::Exit;
use poll::{Poller, Reach, node_wait};
use tracker::Tracker;
use view::View;

/// Runs the view `settings` ask for on the nodes `config` names; `config` went through
/// the start-up sequence (`front::top`: parsed, validated, warnings, askpass, TLS).
pub fn run(config: &Config, settings: &cli::Settings) -> Exit {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let mut client = Client::new(config.client.clone(), config.state.clone());
    client.set_interrupt(Arc::clone(&interrupt));
    if let Err(e) = client.connect(&mut Vec::new()) {
        if interrupt.load(Ordering::SeqCst) {
            return Exit::Interrupted;
        }
        crate::output::note(&e.to_string());
        return Exit::Failure;
    }
    let interval = cli::interval(config.interval);
    let poller = start_polling(&mut client, interval, settings.slots);
    drop(client);
    let seed = poller.seed.clone();
    if settings.once {
        return once(&poller.poller, settings, interval, &interrupt);
    }
    if std::io::stdout().is_terminal() {
        return live(&poller.poller, config.color, &seed, &interrupt);
    }
    batch(&poller.poller, settings, interval, &interrupt)
}

/// `:top [SECONDS]` in the shell: the live view over the shell's own connection settings
/// and slot map, until `q` (the shell's prompt comes back). A terminal only: the caller
/// refuses it otherwise.
pub fn from_shell(client: &mut Client, interval: Duration, color: bool) -> Exit {
    let interrupt = Arc::new(AtomicBool::new(false));
    let poller = start_polling(client, cli::interval(interval), cli::DEFAULT_SLOTS);
    live(&poller.poller, color, &poller.seed, &interrupt)
}

/// A poller running, and the node it started from.
struct Polling {
    poller: Poller,
    seed: String,
}

/// Starts polling every node `client` knows (its slot map, failure budget, credentials
/// and link settings; the budget is learned first in cluster mode).
fn start_polling(client: &mut Client, interval: Duration, slots: usize) -> Polling {
    let cluster = client.options().cluster;
    if cluster {
        client.learn_budget_now();
    }
    let topology = if cluster { client.topology().cloned() } else { None };
    let budget = match topology {
        Some(_) => client.health().budget(),
        None => client.options().down_after.unwrap_or(DEFAULT_BUDGET),
    };
    let seed = client.current().clone();
    let tls = client.options().tls.is_some();
    let reach = Reach { state: client.pool().state().clone(), link: client.pool().settings().clone(), tls };
    let slots = if topology.is_some() { slots } else { 0 };
    let tracker = Tracker::new(seed.clone(), topology, interval, budget, slots);
    Polling { poller: Poller::start(tracker, reach, interval), seed: seed.to_string() }
}

/// The live view on the terminal until `q` or Ctrl-C.
fn live(poller: &Poller, color: bool, seed: &str, interrupt: &AtomicBool) -> Exit {
    match screen::run(poller, color, seed, interrupt) {
        Ok(()) => Exit::Success,
        Err(e) => {
            crate::output::note(&format!("rcli top: the terminal failed: {e}"));
            Exit::Failure
        }
    }
}

/// The longest wait for one frame: a round's node wait after the interval, and room.
fn frame_wait(interval: Duration) -> Duration {
    interval + node_wait(interval) * 2 + Duration::from_secs(1)
}

/// Waits for the next frame, a little at a time so Ctrl-C is seen within 100 ms.
fn next_frame(poller: &Poller, interval: Duration, interrupt: &AtomicBool) -> Result<Option<View>, ()> {
    let mut left = frame_wait(interval);
    while !left.is_zero() {
        if interrupt.load(Ordering::SeqCst) {
            return Err(());
        }
        let step = left.min(Duration::from_millis(50));
        if let Some(view) = poller.next(step) {
            return Ok(Some(view));
        }
        left = left.saturating_sub(step);
    }
    Ok(None)
}

fn render(view: &View, json: bool) -> String {
    if json { format!("{}\n", text::json(view)) } else { text::frame(view) }
}

/// `--once`: the second frame (the first has no rates yet), as text or JSON.
fn once(poller: &Poller, settings: &cli::Settings, interval: Duration, interrupt: &AtomicBool) -> Exit {
    let mut last = None;
    while last.as_ref().is_none_or(|v: &View| v.rounds < 2) {
        match next_frame(poller, interval, interrupt) {
            Ok(Some(view)) => last = Some(view),
            Ok(None) => break,
            Err(()) => return Exit::Interrupted,
        }
    }
    let Some(view) = last else {
        crate::output::note("rcli top: no frame came in time");
        return Exit::Failure;
    };
    crate::output::print_now(render(&view, settings.json).as_bytes());
    Exit::from_ok(view.totals.answering > 0)
}

/// stdout is not a terminal: a frame per interval (text frames apart by a blank line,
/// or a JSON object per line) until Ctrl-C or a closed stdout.
fn batch(poller: &Poller, settings: &cli::Settings, interval: Duration, interrupt: &AtomicBool) -> Exit {
    let mut first = true;
    loop {
        let view = match next_frame(poller, interval, interrupt) {
            Ok(Some(view)) => view,
            Ok(None) => continue,
            Err(()) => return Exit::Interrupted,
        };
        let mut out = std::io::stdout().lock();
        let separator = if first || settings.json { "" } else { "\n" };
        first = false;
        let written = out
            .write_all(separator.as_bytes())
            .and_then(|()| out.write_all(render(&view, settings.json).as_bytes()))
            .and_then(|()| out.flush());
        if written.is_err() {
            return Exit::Success;
        }
    }
}
