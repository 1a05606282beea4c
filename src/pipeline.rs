//! Commands piped on stdin, pipelined per node: `rcli -c -p 7000 < cmds.txt` at the speed
//! of the cluster. A reader thread splits lines; the main thread routes a batch of them,
//! writes each node's share in one go and reads the replies, then prints every reply in
//! input order exactly as sequential execution would.
//!
//! Commands for one node keep their input order on its connection, so commands for one
//! slot run in input order. Barriers (keyless and fan-out commands in cluster mode,
//! transactions, blocking and streaming commands, state changes such as SELECT/AUTH/
//! HELLO, meta-commands, huge lines) wait for everything before them and then run alone
//! through the normal [`Session`] path. Replies that are redirects or transient errors,
//! and commands that never reached a dead node, are run again through the client's
//! bounded redirect/failover loop, in input order; a write whose reply was lost is
//! reported as "outcome unknown" on its own line and never resent.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::Instant;

use crate::client::{Event, is_streaming};
use crate::connection::{Endpoint, Wait};
use crate::error::Error;
use crate::redirect::{Redirect, is_transient};
use crate::resp::{self, Frame};
use crate::route::Plan;
use crate::session::{Flow, Session};
use crate::split::{InvalidArguments, split_args};

/// Lines longer than this run alone, so a 100 MB value is not also copied into a batch
/// buffer.
const HUGE_LINE: usize = 1 << 20;

/// One input line, split by the reader thread.
enum Input {
    Line(Result<Vec<Vec<u8>>, InvalidArguments>),
    ReadError(String),
}

/// What became of one command of a batch.
enum Outcome {
    /// Queued on a node, waiting for the batch to be sent.
    Queued,
    Reply(Frame),
    Failed(Error),
    /// Written, but the connection broke before its reply.
    Lost {
        addr: String,
        cause: String,
    },
    /// Never written: the node could not be reached.
    Unsent(Error),
    Invalid,
}

struct Entry {
    argv: Vec<Vec<u8>>,
    slot: Option<u16>,
    readonly: bool,
    events: Vec<Event>,
    outcome: Outcome,
}

/// The commands of a batch bound for one node, encoded back to back.
struct NodeQueue {
    endpoint: Endpoint,
    buf: Vec<u8>,
    /// Per command: its entry index and the end of its bytes in `buf`.
    commands: Vec<(usize, usize)>,
}

/// Counts for the `--verbose` summary.
#[derive(Default)]
struct Totals {
    commands: u64,
    errors: u64,
}

fn spawn_reader(input: impl Read + Send + 'static, capacity: usize) -> Receiver<Input> {
    let (tx, rx): (SyncSender<Input>, Receiver<Input>) = sync_channel(capacity);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(256 * 1024, input);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if tx.send(Input::Line(split_args(&line))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Input::ReadError(e.to_string()));
                    return;
                }
            }
        }
    });
    rx
}

/// Runs piped input with at most `window` commands in flight per node.
pub fn run(session: &mut Session, input: impl Read + Send + 'static, window: usize, verbose: bool) -> Flow {
    let started = Instant::now();
    let rx = spawn_reader(input, window * 4);
    let mut pipeline = Pipeline { window, entries: Vec::new(), queues: Vec::new(), totals: Totals::default() };
    let flow = pipeline.drive(session, &rx);
    if verbose {
        let counters = session.client.counters;
        eprintln!(
            "rcli: {} commands, {} errors, {} redirects (MOVED {}, ASK {}), {} routed to other nodes, {:.2} s",
            pipeline.totals.commands,
            pipeline.totals.errors,
            counters.moved + counters.ask,
            counters.moved,
            counters.ask,
            counters.routed_away,
            started.elapsed().as_secs_f64()
        );
    }
    flow
}

struct Pipeline {
    window: usize,
    entries: Vec<Entry>,
    queues: Vec<NodeQueue>,
    totals: Totals,
}

fn is_word(arg: &[u8], words: &[&str]) -> bool {
    words.iter().any(|w| arg.eq_ignore_ascii_case(w.as_bytes()))
}

impl Pipeline {
    fn drive(&mut self, session: &mut Session, rx: &Receiver<Input>) -> Flow {
        loop {
            // Block for the next line only when nothing is waiting to be sent.
            let next = if self.entries.is_empty() {
                match rx.recv() {
                    Ok(input) => Some(input),
                    Err(_) => return Flow::Continue,
                }
            } else {
                match rx.try_recv() {
                    Ok(input) => Some(input),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return self.flush(session),
                }
            };
            let Some(input) = next else {
                let flow = self.flush(session);
                if flow != Flow::Continue {
                    return flow;
                }
                continue;
            };
            let flow = match input {
                Input::Line(Ok(argv)) if argv.is_empty() => Flow::Continue,
                Input::Line(Ok(argv)) => self.add(session, argv),
                Input::Line(Err(InvalidArguments)) => {
                    self.entries.push(Entry {
                        argv: Vec::new(),
                        slot: None,
                        readonly: false,
                        events: Vec::new(),
                        outcome: Outcome::Invalid,
                    });
                    Flow::Continue
                }
                Input::ReadError(e) => {
                    let flow = self.flush(session);
                    eprintln!("stdin: {e}");
                    if flow == Flow::Continue { Flow::Exit(1) } else { flow }
                }
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
    }

    /// True for commands that must wait for everything before them and run alone.
    fn is_barrier(session: &mut Session, argv: &[Vec<u8>]) -> bool {
        let first = &argv[0];
        if session.client.in_transaction()
            || first.first() == Some(&b':')
            || (argv.len() > 1 && first.iter().all(u8::is_ascii_digit))
            || is_streaming(argv)
            || argv.iter().map(Vec::len).sum::<usize>() > HUGE_LINE
            || is_word(
                first,
                &[
                    "quit",
                    "exit",
                    "help",
                    "?",
                    "connect",
                    "clear",
                    "select",
                    "auth",
                    "hello",
                    "reset",
                    "client",
                    "readonly",
                    "readwrite",
                    "multi",
                    "exec",
                    "discard",
                    "watch",
                    "unwatch",
                    "monitor",
                ],
            )
        {
            return true;
        }
        let info = session.client.commands().lookup(argv);
        info.is_some_and(|i| i.flags.blocking || i.flags.pubsub)
    }

    fn add(&mut self, session: &mut Session, argv: Vec<Vec<u8>>) -> Flow {
        self.totals.commands += 1;
        if Self::is_barrier(session, &argv) {
            let flow = self.flush(session);
            if flow != Flow::Continue {
                return flow;
            }
            let errors_before = session.error_replies;
            let flow = session.run_argv(argv);
            self.totals.errors += session.error_replies - errors_before;
            return flow;
        }
        let mut events = Vec::new();
        let planned = match session.client.plan(&argv) {
            Ok(Plan::Slot { slot, endpoint }) => {
                session.client.prepare_slot(&argv, slot, endpoint, &mut events).map(|e| (Some(slot), e))
            }
            Ok(Plan::Node(endpoint)) if !session.client.is_cluster() => Ok((None, endpoint)),
            Ok(_) => {
                // Keyless, split or fan-out in cluster mode: a barrier.
                let flow = self.flush(session);
                if flow != Flow::Continue {
                    return flow;
                }
                return session.run_argv(argv);
            }
            Err(e) => Err(e),
        };
        let readonly = session.client.commands().lookup(&argv).is_some_and(|i| i.flags.readonly);
        let index = self.entries.len();
        let outcome = match planned {
            Ok((slot, endpoint)) => {
                let queue = match self.queues.iter().position(|q| q.endpoint == endpoint) {
                    Some(q) => q,
                    None => {
                        self.queues.push(NodeQueue { endpoint, buf: Vec::new(), commands: Vec::new() });
                        self.queues.len() - 1
                    }
                };
                let q = &mut self.queues[queue];
                resp::encode_command(&argv, &mut q.buf);
                q.commands.push((index, q.buf.len()));
                self.entries.push(Entry { argv, slot, readonly, events, outcome: Outcome::Queued });
                if self.queues[queue].commands.len() >= self.window {
                    return self.flush(session);
                }
                return Flow::Continue;
            }
            Err(e) => Outcome::Failed(e),
        };
        self.entries.push(Entry { argv, slot: None, readonly, events, outcome });
        Flow::Continue
    }

    /// Sends every queued command, collects the replies, resolves what needs another
    /// try, and prints the batch in input order.
    fn flush(&mut self, session: &mut Session) -> Flow {
        self.exchange(session);
        self.resolve(session);
        self.print(session)
    }

    fn exchange(&mut self, session: &mut Session) {
        let queues = std::mem::take(&mut self.queues);
        let mut sent: Vec<usize> = Vec::with_capacity(queues.len());
        for q in &queues {
            let (written, error) = match session.client.link(&q.endpoint) {
                Ok(conn) => conn.write_counted(&q.buf),
                Err(e) => (0, Some(e)),
            };
            let complete = q.commands.iter().take_while(|(_, end)| *end <= written).count();
            if let Some(error) = error {
                session.client.drop_link(&q.endpoint);
                let (addr, cause) = (q.endpoint.to_string(), crate::error::os_message_of(&error));
                for (i, &(entry, _)) in q.commands.iter().enumerate() {
                    self.entries[entry].outcome = if i < complete {
                        Outcome::Lost { addr: addr.clone(), cause: cause.clone() }
                    } else {
                        Outcome::Unsent(Error::Connect {
                            addr: addr.clone(),
                            source: std::io::Error::other(cause.clone()),
                        })
                    };
                }
            }
            sent.push(complete);
        }
        let timeout = session.client.options().read_timeout;
        for (q, complete) in queues.iter().zip(sent) {
            let mut broken: Option<String> = None;
            for &(entry, _) in &q.commands[..complete] {
                if let Some(cause) = &broken {
                    self.entries[entry].outcome = Outcome::Lost { addr: q.endpoint.to_string(), cause: cause.clone() };
                    continue;
                }
                let result = match session.client.link(&q.endpoint) {
                    Ok(conn) => conn.read_reply(Wait { timeout, interrupt: None }),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(frame) => self.entries[entry].outcome = Outcome::Reply(frame),
                    Err(error) => {
                        session.client.drop_link(&q.endpoint);
                        let cause = crate::error::os_message_of(&error);
                        self.entries[entry].outcome =
                            Outcome::Lost { addr: q.endpoint.to_string(), cause: cause.clone() };
                        broken = Some(cause);
                    }
                }
            }
        }
    }

    /// Runs again, in input order, what the batch could not finish: redirects,
    /// transient errors, commands a dead node never received, lost reads.
    fn resolve(&mut self, session: &mut Session) {
        let cluster = session.client.is_cluster();
        for entry in &mut self.entries {
            let retry = match &entry.outcome {
                Outcome::Reply(frame) if cluster => frame
                    .as_error()
                    .is_some_and(|e| is_transient(e) || Redirect::parse(e, session.client.current()).is_some()),
                Outcome::Unsent(_) => true,
                Outcome::Lost { .. } => entry.readonly,
                _ => false,
            };
            if !retry {
                if let Outcome::Lost { addr, cause } = &entry.outcome {
                    entry.outcome = Outcome::Failed(Error::OutcomeUnknown { addr: addr.clone(), cause: cause.clone() });
                }
                continue;
            }
            let first = match entry.slot.and_then(|s| session.client.owner(s)) {
                Some(owner) => owner,
                None => session.client.current().clone(),
            };
            entry.outcome = match session.client.send_routed(&entry.argv, entry.slot, first, &mut entry.events) {
                Ok(frame) => Outcome::Reply(frame),
                Err(e) => Outcome::Failed(e),
            };
        }
    }

    fn print(&mut self, session: &mut Session) -> Flow {
        let show_events = session.prefs.hops && session.printer.hop_lines != crate::output::HopLines::Hidden;
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            if show_events {
                for event in &entry.events {
                    if session.printer.event(event).is_err() {
                        return Flow::StdoutClosed;
                    }
                }
            }
            let printed = match entry.outcome {
                Outcome::Invalid => session.printer.line("Invalid argument(s)"),
                Outcome::Reply(frame) => {
                    if let Some(error) = frame.as_error() {
                        self.totals.errors += 1;
                        session.error_replies += 1;
                        if session.exit_on_error {
                            let _ = session.printer.flush();
                            eprintln!("{}", String::from_utf8_lossy(error));
                            return Flow::Exit(1);
                        }
                    }
                    session.printer.frame(&entry.argv, &frame)
                }
                Outcome::Failed(error) | Outcome::Unsent(error) => {
                    self.totals.errors += 1;
                    if session.exit_on_error {
                        let _ = session.printer.flush();
                        eprintln!("{error}");
                        return Flow::Exit(1);
                    }
                    session.report_error(&error)
                }
                // exchange() gives every queued command an outcome; these cannot remain.
                Outcome::Queued | Outcome::Lost { .. } => session
                    .report_error(&Error::Refused("internal error: a command was left without an outcome".into())),
            };
            if printed.is_err() {
                return Flow::StdoutClosed;
            }
        }
        match session.printer.flush() {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::StdoutClosed,
        }
    }
}
