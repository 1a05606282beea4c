//! What happens to one typed or piped line: splitting, the `N cmd` repeat prefix, the
//! words the session handles itself (quit, connect, clear), the words a layer above it
//! answers ([`hooks`]: the shell's help and `:meta`), and everything else through the
//! [`Client`], with its hop lines shown as they happen and its reply printed. Shared by
//! the shell, piped input and one-shot commands. Streams (SUBSCRIBE, MONITOR) and SCAN
//! over several nodes print as they go ([`streams`], [`subscriptions`]); what a command
//! got is told in brief to the layer above ([`outcome`]).

pub mod hooks;
pub mod outcome;
mod streams;
pub mod subscriptions;
mod watch;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::cluster::command::Command;
use crate::cluster::event::{Event, EventSink};
use crate::cluster::reply::Reply;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::output::{Printer, StdoutClosed};
use crate::protocol::piecewise::{Aggregate, PieceRenderer, ReplySink};
use crate::protocol::render;
use crate::protocol::resp::Frame;
use crate::protocol::split::{Repeat, repeat_prefix, split_args};
use hooks::Hooks;

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

/// `quit` or `exit`: the words that end a session.
pub fn is_quit(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"quit") || word.eq_ignore_ascii_case(b"exit")
}

/// A running session: the client, the printer and how lines are treated.
pub struct Session {
    pub client: Client,
    pub printer: Printer,
    /// Hop lines (redirects, splits) shown (`:hops`, `:set hops`).
    pub hops: bool,
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
    /// `(interrupted)` was printed for the line being run.
    pub interruption_shown: bool,
    /// `--show-pushes`: RESP3 pushes met while reading replies are printed.
    pub show_pushes: bool,
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
    pub fn show_warnings(&mut self) {
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
    pub fn run_line(&mut self, line: &[u8], hooks: &mut dyn Hooks) -> Flow {
        let Ok(argv) = split_args(line) else {
            return match self.printer.line("Invalid argument(s)") {
                Ok(()) => Flow::Continue,
                Err(e) => e.into(),
            };
        };
        self.run_argv(argv, hooks)
    }

    /// Runs one split line: the `N cmd` repeat prefix, then the command.
    pub fn run_argv(&mut self, mut argv: Vec<Vec<u8>>, hooks: &mut dyn Hooks) -> Flow {
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
        self.run_command(argv, times, hooks)
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
    pub fn run_command(&mut self, argv: Vec<Vec<u8>>, times: i64, hooks: &mut dyn Hooks) -> Flow {
        hooks.outcome(None);
        let Some(first) = argv.first() else { return Flow::Continue };
        if is_quit(first) {
            return Flow::Exit(crate::exit::Exit::Success);
        }
        if let Some(flow) = hooks.answer(self, &argv) {
            return flow;
        }
        if argv.len() == 3 && is_word(first, "connect") {
            return self.connect_command(&argv);
        }
        if argv.len() == 1 && is_word(first, "clear") && self.interactive {
            return self.printer.write(b"\x1b[H\x1b[2J").map_or(Flow::StdoutClosed, |_| Flow::Continue);
        }
        let command = self.client.command(argv);
        self.run_classified(command, times, hooks)
    }

    /// Runs a command already classified (not a word the session or the layer above
    /// answers) `times` times, as [`Session::run_command`] does.
    pub fn run_classified(&mut self, command: Command, times: i64, hooks: &mut dyn Hooks) -> Flow {
        hooks.outcome(None);
        self.remember_keys(&command, hooks);
        self.interruption_shown = false;
        let mut done = 0;
        while times < 0 || done < times {
            if done > 0 && !self.interval.is_zero() && self.client.pause(self.interval).is_err() {
                return self.printer.line("(interrupted)").map_or(Flow::StdoutClosed, |_| Flow::Continue);
            }
            let flow =
                if command.traits.streams { self.stream(&command, hooks) } else { self.execute_once(&command, hooks) };
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
        let mut shown = ShownAtOnce::new(&mut self.printer, self.hops);
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

    fn execute_once(&mut self, command: &Command, hooks: &mut dyn Hooks) -> Flow {
        let started = Instant::now();
        let argv = command.argv.as_slice();
        if let Some(nodes) = self.scan_fanout_targets(command) {
            return self.scan_fanout(argv, &nodes, hooks);
        }
        let lists_keys = self.interactive && lists_keys(argv);
        let mut shown = ShownAtOnce::new(&mut self.printer, self.hops);
        // A reply printed with a shape (docs/json.md) is read whole first.
        shown.pieces = (!shown.printer.shapes(argv)).then(|| Pieces {
            verbatim: render::is_verbatim_command(argv),
            renderer: None,
            listed: lists_keys.then(Vec::new),
        });
        let result = self.client.execute(command, &mut shown);
        hooks.outcome(Some(outcome::Outcome::of(&result)));
        let listed = shown.pieces.take().and_then(|p| p.listed);
        if shown.closed {
            return Flow::StdoutClosed;
        }
        self.show_warnings();
        if self.show_pushes().is_err() {
            return Flow::StdoutClosed;
        }
        if let Some(keys) = listed {
            hooks.keys_seen(&listed_names(&keys));
        }
        let printed = match &result {
            Ok(reply) => {
                if let Some(flow) = self.exit_on_error_reply(reply) {
                    return flow;
                }
                self.remember_reply_keys(argv, reply, hooks);
                let printed = self.printer.reply(argv, reply);
                if printed.is_ok()
                    && self.interactive
                    && let Some(hint) = self.cross_slot_hint(command, reply)
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

    /// The keys of a typed command, for the shell's completion.
    fn remember_keys(&mut self, command: &Command, hooks: &mut dyn Hooks) {
        if !self.interactive {
            return;
        }
        let keys: Vec<Vec<u8>> = command.key_args().cloned().collect();
        if !keys.is_empty() {
            hooks.keys_seen(&keys);
        }
    }

    /// After a CROSSSLOT from the server (rcli sent the command as typed, e.g. without
    /// `-c`), the keys' slots and a rewrite with a shared hash tag.
    fn cross_slot_hint(&self, command: &Command, reply: &Reply) -> Option<String> {
        let Reply::One(frame) = reply else { return None };
        if !frame.as_error()?.starts_with(b"CROSSSLOT") {
            return None;
        }
        let text = crate::cluster::route::cross_slot_explanation(&command.argv, &command.keys, false, |_| None);
        Some(text.lines().skip(1).collect::<Vec<_>>().join("\n"))
    }

    fn remember_reply_keys(&mut self, argv: &[Vec<u8>], reply: &Reply, hooks: &mut dyn Hooks) {
        if !self.interactive || !lists_keys(argv) {
            return;
        }
        // Replies to KEYS/SCAN are the common source of key names worth completing.
        if let Reply::One(Frame::Array(items)) = reply {
            let keys = match items.as_slice() {
                [Frame::Bulk(_), Frame::Array(keys)] => keys.as_slice(),
                other => other,
            };
            hooks.keys_seen(&listed_names(keys));
        }
    }
}

/// The key names of a KEYS/SCAN reply worth completing: at most 1000, none longer than
/// 256 bytes.
pub(super) fn listed_names(keys: &[Frame]) -> Vec<Vec<u8>> {
    keys.iter()
        .take(1000)
        .filter_map(|k| match k {
            Frame::Bulk(k) if k.len() <= 256 => Some(k.clone()),
            _ => None,
        })
        .collect()
}
