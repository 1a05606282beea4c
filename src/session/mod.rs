//! What happens to one typed or piped line: splitting, the `N cmd` repeat prefix, the
//! words the shell handles itself (quit, help, connect, clear, `:meta`), and everything
//! else through the [`Client`], with its hop lines shown as they happen and its reply
//! printed. Shared by the shell, piped input and one-shot commands. Streams (SUBSCRIBE,
//! MONITOR) and SCAN over several nodes print as they go ([`streams`]); what the last
//! command got is kept in brief for the shell's lessons ([`outcome`]).

pub mod outcome;
mod streams;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::client::{Client, is_streaming};
use crate::cluster::event::{Event, EventSink};
use crate::cluster::reply::Reply;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::output::{Printer, StdoutClosed};
use crate::protocol::piecewise::{Aggregate, PieceRenderer, ReplySink};
use crate::protocol::render;
use crate::protocol::resp::Frame;
use crate::protocol::split::{Repeat, repeat_prefix, split_args};
use crate::shell::docs::{self, Docs};
use crate::shell::meta;

/// What the caller does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop and exit with this code (quit, `-e` on an error reply).
    Exit(crate::exit::Exit),
    /// stdout is gone: exit quietly.
    StdoutClosed,
}

impl From<StdoutClosed> for Flow {
    fn from(_: StdoutClosed) -> Flow {
        Flow::StdoutClosed
    }
}

/// Words the shell handles itself instead of sending them (`?` is `help`).
pub const SHELL_WORDS: &[&str] = &["help", "?", "quit", "exit", "connect", "clear"];

/// Shell preferences (`:set`, rclirc).
#[derive(Debug, Clone, Copy)]
pub struct Preferences {
    pub hints: bool,
    pub color: bool,
    pub hops: bool,
}

/// A running session: the client, the printer and how lines are treated.
pub struct Session {
    pub client: Client,
    pub printer: Printer,
    /// Command docs for help, completion and hints; the built-in copy is parsed on
    /// first use, so one-shot commands do not pay for it.
    pub docs: Option<Arc<Docs>>,
    pub prefs: Preferences,
    /// A person at a terminal: timing lines, Ctrl-C cancels, `clear` works.
    pub interactive: bool,
    /// Piped input: every command's failure is a line on stdout in its place.
    pub errors_inline: bool,
    /// `-e`: stop at the first error reply.
    pub exit_on_error: bool,
    /// `-i`: pause between repeats.
    pub interval: Duration,
    /// Commands that got no reply because a node could not be reached.
    pub unanswered: u64,
    /// Error replies printed.
    pub error_replies: u64,
    /// Keys seen in typed lines and replies, for completion.
    pub seen_keys: Vec<Vec<u8>>,
    /// `(interrupted)` was printed for the line being run.
    pub interruption_shown: bool,
    /// `--show-pushes`: RESP3 pushes met while reading replies are printed.
    pub show_pushes: bool,
    /// A subscription the shell just started: the REPL serves it in subscribed mode.
    pub pending_subscription: Option<crate::client::pool::Exchange>,
    /// The sandbox's servers and the lab around them, in a shell started by
    /// `rcli sandbox` (lab meta-commands are refused without it).
    pub lab: Option<Box<crate::shell::lab::LabSession>>,
    /// What the last command sent got (`None` after a line that sent nothing).
    pub last_outcome: Option<outcome::Outcome>,
}

fn is_word(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// KEYS and SCAN replies are where key names worth completing come from.
fn lists_keys(argv: &[Vec<u8>]) -> bool {
    argv.first().is_some_and(|n| is_word(n, "keys") || is_word(n, "scan"))
}

/// Hop lines printed the moment they happen (a redirect shows before a blocking
/// command starts waiting), and — when `pieces` is set — a big reply printed while it
/// arrives.
struct ShownAtOnce<'a> {
    printer: &'a mut Printer,
    on: bool,
    closed: bool,
    pieces: Option<Pieces>,
}

/// A big reply being printed as it arrives.
struct Pieces {
    verbatim: bool,
    renderer: Option<PieceRenderer>,
    /// Keys of a KEYS/SCAN reply kept for completion.
    listed: Option<Vec<Frame>>,
}

impl<'a> ShownAtOnce<'a> {
    fn new(printer: &'a mut Printer, on: bool) -> ShownAtOnce<'a> {
        ShownAtOnce { printer, on, closed: false, pieces: None }
    }
}

impl EventSink for ShownAtOnce<'_> {
    fn event(&mut self, event: Event) {
        if self.on && !self.closed {
            self.closed = self.printer.event(&event).and_then(|()| self.printer.flush()).is_err();
        }
    }

    fn pieces(&mut self) -> Option<&mut dyn ReplySink> {
        if self.pieces.is_some() { Some(self) } else { None }
    }
}

impl ReplySink for ShownAtOnce<'_> {
    fn start(&mut self, kind: Aggregate, len: usize) {
        let Some(pieces) = &mut self.pieces else { return };
        let verbatim = pieces.verbatim;
        let mut started = None;
        self.closed |= self
            .printer
            .render(|format, out| started = Some(PieceRenderer::start(format, kind, len, verbatim, out)))
            .is_err();
        pieces.renderer = started;
    }

    fn element(&mut self, frame: Frame) {
        let Some(pieces) = &mut self.pieces else { return };
        if let Some(listed) = &mut pieces.listed
            && listed.len() < 1000
        {
            listed.push(frame.clone());
        }
        if self.closed {
            return;
        }
        if let Some(renderer) = &mut pieces.renderer {
            self.closed = self.printer.render(|format, out| renderer.element(format, &frame, out)).is_err();
        }
    }

    fn end(&mut self) {
        let Some(renderer) = self.pieces.as_mut().and_then(|p| p.renderer.take()) else { return };
        if !self.closed {
            self.closed = self.printer.render(|format, out| renderer.end(format, out)).is_err();
        }
    }
}

impl Session {
    /// The command docs (the built-in ones until the server's are loaded).
    pub fn docs(&mut self) -> Arc<Docs> {
        Arc::clone(self.docs.get_or_insert_with(|| Arc::new(Docs::builtin())))
    }

    /// Loads the server's command docs (cached per version), for help and hints.
    pub fn load_docs(&mut self) {
        let docs = self.client.command_docs().map(|reply| Docs::from_reply(&reply)).filter(|d| !d.entries.is_empty());
        if let Some(docs) = docs {
            self.docs = Some(Arc::new(docs));
        }
    }

    /// Connects (loading the slot map in cluster mode), shows what happened on the way
    /// and, on failure, the error. True when connected.
    pub fn connect_and_report(&mut self) -> bool {
        let mut shown = ShownAtOnce::new(&mut self.printer, true);
        let result = self.client.connect(&mut shown);
        let _ = self.printer.flush();
        self.show_warnings();
        match result {
            Ok(()) => true,
            Err(e) => {
                self.printer.note(&e.to_string());
                false
            }
        }
    }

    /// Prints what redis-cli would warn about (a refused SELECT or AUTH on a new
    /// connection).
    fn show_warnings(&mut self) {
        for warning in self.client.pool().take_warnings() {
            self.printer.note(&warning);
        }
    }

    /// Prints the RESP3 pushes met while reading replies, as redis-cli's push handler
    /// does: an invalidation as `-> invalidate: 'k1', 'k2'` on a terminal, anything else
    /// as a reply.
    fn show_pushes(&mut self) -> Result<(), StdoutClosed> {
        let pushes = self.client.take_pushes();
        if !self.show_pushes {
            return Ok(());
        }
        for push in pushes {
            let items = push.as_items().unwrap_or_default();
            let invalidated = match items {
                [kind, Frame::Array(keys)] if kind.as_bytes().is_some_and(|k| k.starts_with(b"invalidate")) => {
                    Some(keys)
                }
                _ => None,
            };
            match invalidated {
                Some(keys) if self.printer.is_tty_format() => {
                    let names: Vec<String> = keys
                        .iter()
                        .map(|k| format!("'{}'", crate::protocol::text::escape_bytes(k.as_bytes().unwrap_or_default())))
                        .collect();
                    self.printer.line(&format!("-> invalidate: {}", names.join(", ")))?;
                }
                _ => self.printer.frame(&[b"" as &[u8]], &push)?,
            }
        }
        Ok(())
    }

    /// Runs one line of input.
    pub fn run_line(&mut self, line: &[u8]) -> Flow {
        let Ok(argv) = split_args(line) else {
            return match self.printer.line("Invalid argument(s)") {
                Ok(()) => Flow::Continue,
                Err(e) => e.into(),
            };
        };
        self.run_argv(argv)
    }

    /// Runs one split line: the `N cmd` repeat prefix, then the command.
    pub fn run_argv(&mut self, mut argv: Vec<Vec<u8>>) -> Flow {
        if argv.is_empty() {
            return Flow::Continue;
        }
        let times = match repeat_prefix(&argv) {
            Repeat::Once => 1,
            Repeat::Times(n) => {
                argv.remove(0);
                n
            }
            Repeat::Invalid => {
                return self
                    .printer
                    .line("Invalid repeat command option value.")
                    .map_or(Flow::StdoutClosed, |_| Flow::Continue);
            }
        };
        self.run_command(argv, times)
    }

    /// How a run that ended with `flow` exits: a quit's or `-e`'s code, success when
    /// stdout went away, else a failure if some command got no reply.
    pub fn exit_for(&self, flow: Flow) -> crate::exit::Exit {
        match flow {
            Flow::Exit(exit) => exit,
            Flow::StdoutClosed => crate::exit::Exit::Success,
            Flow::Continue => crate::exit::Exit::from_failed(self.unanswered > 0),
        }
    }

    /// True once Ctrl-C was pressed during the current line.
    pub fn interrupted(&self) -> bool {
        self.client.interrupt().is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Runs `argv` `times` times (negative: until stopped), honouring `-i`. Ctrl-C
    /// stops the whole line, not just the current repetition.
    pub fn run_command(&mut self, argv: Vec<Vec<u8>>, times: i64) -> Flow {
        self.last_outcome = None;
        let Some(first) = argv.first() else { return Flow::Continue };
        if is_word(first, "quit") || is_word(first, "exit") {
            return Flow::Exit(crate::exit::Exit::Success);
        }
        if is_word(first, "help") || first.as_slice() == b"?" {
            // The server's own docs when it is there (as redis-cli), else the built-in ones.
            if self.docs.is_none() && self.client.is_connected() {
                self.load_docs();
            }
            let words: Vec<String> = argv.iter().skip(1).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let text = docs::help_text(&self.docs(), &words, self.prefs.color);
            return self.printer.write(text.as_bytes()).map_or(Flow::StdoutClosed, |_| Flow::Continue);
        }
        if argv.len() == 3 && is_word(first, "connect") {
            return self.connect_command(&argv);
        }
        if argv.len() == 1 && is_word(first, "clear") && self.interactive {
            return self.printer.write(b"\x1b[H\x1b[2J").map_or(Flow::StdoutClosed, |_| Flow::Continue);
        }
        if first.first() == Some(&b':') {
            return match meta::run(self, &argv) {
                Ok(()) => Flow::Continue,
                Err(StdoutClosed) => Flow::StdoutClosed,
            };
        }
        self.remember_keys(&argv);
        self.interruption_shown = false;
        let streaming = is_streaming(&argv) && !is_word(first, "wait") && !is_word(first, "waitaof");
        let mut done = 0;
        while times < 0 || done < times {
            if done > 0 && !self.interval.is_zero() && self.client.pause(self.interval).is_err() {
                return self.printer.line("(interrupted)").map_or(Flow::StdoutClosed, |_| Flow::Continue);
            }
            let flow = if streaming { self.stream(&argv) } else { self.execute_once(&argv) };
            if flow != Flow::Continue {
                return flow;
            }
            if self.interrupted() {
                if !self.interruption_shown {
                    return self.printer.line("(interrupted)").map_or(Flow::StdoutClosed, |_| Flow::Continue);
                }
                break;
            }
            done += 1;
        }
        Flow::Continue
    }

    fn connect_command(&mut self, argv: &[Vec<u8>]) -> Flow {
        let (Some(host), Some(port)) = (argv.get(1), argv.get(2)) else { return Flow::Continue };
        let host = String::from_utf8_lossy(host).into_owned();
        let Some(port) = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok()) else {
            return self.printer.line("Invalid port.").map_or(Flow::StdoutClosed, |_| Flow::Continue);
        };
        let mut shown = ShownAtOnce::new(&mut self.printer, self.prefs.hops);
        let result = self.client.reconnect_to(Endpoint::Tcp { host, port }, &mut shown);
        if shown.closed {
            return Flow::StdoutClosed;
        }
        if let Err(e) = result {
            self.printer.note(&e.to_string());
        }
        Flow::Continue
    }

    /// Prints an rcli error for one command. Link failures read like redis-cli's on
    /// stderr in the shell; in piped input every command gets a line on stdout.
    pub fn report_error(&mut self, error: &Error) -> Result<(), StdoutClosed> {
        let link = error.is_link_failure()
            || matches!(error, Error::Auth { .. } | Error::Handshake { .. } | Error::Tls { .. } | Error::TlsSetup(_));
        let no_reply = link || matches!(error, Error::OutcomeUnknown { .. } | Error::TooManyHops { .. });
        // A one-shot command that rcli refused is a failure too.
        let one_shot = !self.interactive && !self.errors_inline && !matches!(error, Error::Interrupted);
        if no_reply || one_shot {
            self.unanswered += 1;
        }
        if matches!(error, Error::Interrupted) {
            self.interruption_shown = true;
            return self.printer.line("(interrupted)");
        }
        if self.errors_inline || (self.interactive && !link) {
            return self.printer.command_error(error);
        }
        self.printer.note(&error.to_string());
        Ok(())
    }

    fn execute_once(&mut self, argv: &[Vec<u8>]) -> Flow {
        let started = Instant::now();
        if let Some(nodes) = self.scan_fanout_targets(argv) {
            return self.scan_fanout(argv, &nodes);
        }
        let lists_keys = self.interactive && lists_keys(argv);
        let mut shown = ShownAtOnce::new(&mut self.printer, self.prefs.hops);
        shown.pieces = Some(Pieces {
            verbatim: render::is_verbatim_command(argv),
            renderer: None,
            listed: lists_keys.then(Vec::new),
        });
        let result = self.client.execute(argv, &mut shown);
        self.last_outcome = Some(outcome::Outcome::of(&result));
        let listed = shown.pieces.take().and_then(|p| p.listed);
        if shown.closed {
            return Flow::StdoutClosed;
        }
        self.show_warnings();
        if self.show_pushes().is_err() {
            return Flow::StdoutClosed;
        }
        if let Some(keys) = listed {
            self.remember_listed_keys(&keys);
        }
        let printed = match &result {
            Ok(reply) => {
                if let Some(flow) = self.exit_on_error_reply(reply) {
                    return flow;
                }
                self.remember_reply_keys(argv, reply);
                let printed = self.printer.reply(argv, reply);
                if printed.is_ok()
                    && self.interactive
                    && let Some(hint) = self.cross_slot_hint(argv, reply)
                {
                    let _ = self.printer.line(&hint);
                }
                printed
            }
            Err(error) => {
                if let Some(flow) = self.exit_on_failure(error) {
                    return flow;
                }
                self.report_error(error)
            }
        };
        if printed.is_err() {
            return Flow::StdoutClosed;
        }
        self.finish_command(started)
    }

    /// After a command in the shell: its duration when it was slow, and the flush.
    fn finish_command(&mut self, started: Instant) -> Flow {
        let elapsed = started.elapsed();
        if self.interactive
            && self.printer.is_tty_format()
            && elapsed >= Duration::from_millis(500)
            && self.printer.line(&format!("({:.2}s)", elapsed.as_secs_f64())).is_err()
        {
            return Flow::StdoutClosed;
        }
        if self.interactive && self.printer.flush().is_err() {
            return Flow::StdoutClosed;
        }
        Flow::Continue
    }

    /// `-e`: the first error reply goes to stderr (without `(error)`) and ends the run.
    pub fn exit_on_error_reply(&mut self, reply: &Reply) -> Option<Flow> {
        let error = match reply {
            Reply::One(frame) => frame.as_error().map(<[u8]>::to_vec),
            Reply::Fanout { parts, combined } => match combined {
                Some((_, frame)) => frame.as_error().map(<[u8]>::to_vec),
                None => parts.iter().find_map(|p| match &p.result {
                    Ok(f) => f.as_error().map(<[u8]>::to_vec),
                    Err(e) => Some(e.clone().into_bytes()),
                }),
            },
            Reply::Streamed | Reply::Ended => None,
        }?;
        self.error_replies += 1;
        if !self.exit_on_error {
            return None;
        }
        self.printer.note(&String::from_utf8_lossy(&error));
        Some(Flow::Exit(crate::exit::Exit::Failure))
    }

    /// `-e`: a command rcli could not run (not Ctrl-C) also ends the run, on stderr.
    pub fn exit_on_failure(&mut self, error: &Error) -> Option<Flow> {
        if !self.exit_on_error || matches!(error, Error::Interrupted) {
            return None;
        }
        self.printer.note(&error.to_string());
        Some(Flow::Exit(crate::exit::Exit::Failure))
    }

    fn remember_keys(&mut self, argv: &[Vec<u8>]) {
        if !self.interactive {
            return;
        }
        for position in self.client.commands().key_positions(argv) {
            if let Some(key) = argv.get(position) {
                self.remember_key(key.clone());
            }
        }
    }

    /// After a CROSSSLOT from the server (rcli sent the command as typed, e.g. without
    /// `-c`), the keys' slots and a rewrite with a shared hash tag.
    fn cross_slot_hint(&self, argv: &[Vec<u8>], reply: &Reply) -> Option<String> {
        let Reply::One(frame) = reply else { return None };
        if !frame.as_error()?.starts_with(b"CROSSSLOT") {
            return None;
        }
        let positions = self.client.commands().key_positions(argv);
        let text = crate::cluster::route::cross_slot_explanation(argv, &positions, false, |_| None);
        Some(text.lines().skip(1).collect::<Vec<_>>().join("\n"))
    }

    fn remember_reply_keys(&mut self, argv: &[Vec<u8>], reply: &Reply) {
        if !self.interactive || !lists_keys(argv) {
            return;
        }
        // Replies to KEYS/SCAN are the common source of key names worth completing.
        if let Reply::One(Frame::Array(items)) = reply {
            let keys = match items.as_slice() {
                [Frame::Bulk(_), Frame::Array(keys)] => keys.as_slice(),
                other => other,
            };
            self.remember_listed_keys(keys);
        }
    }

    fn remember_listed_keys(&mut self, keys: &[Frame]) {
        for key in keys.iter().take(1000) {
            if let Frame::Bulk(k) = key
                && k.len() <= 256
            {
                self.remember_key(k.clone());
            }
        }
    }

    fn remember_key(&mut self, key: Vec<u8>) {
        if !self.seen_keys.contains(&key) {
            if self.seen_keys.len() >= 5000 {
                self.seen_keys.remove(0);
            }
            self.seen_keys.push(key);
        }
    }
}
