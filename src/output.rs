//! Where text goes: replies to stdout in the chosen format, hop lines to stdout on a
//! terminal (to stderr with `--verbose` otherwise), rcli's own errors, and a closed
//! stdout (`rcli … | head -1`) turned into a quiet exit.

use std::io::{self, Write};

use crate::cluster::event::Event;
use crate::cluster::reply::Reply;
use crate::error::Error;
use crate::protocol::render::{self, Format, OutputMode};
use crate::protocol::resp::Frame;
use crate::protocol::text::escape_controls;

mod shaped;

/// `--color auto`: colour when stdout is a terminal and `NO_COLOR` is unset or empty (the
/// one rule for every printer: the shell's, the modes', the manager's).
pub fn auto_color(stdout_tty: bool) -> bool {
    stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Where hop lines (redirects, splits, retries) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopLines {
    Stdout,
    Stderr,
    Hidden,
}

/// stdout cannot be written any more: the reader went away (a broken pipe: stop quietly)
/// or the write failed otherwise (a full disk: the run fails, see
/// [`Printer::failure`]).
#[derive(Debug)]
pub struct StdoutClosed;

/// Where the printer's output goes: stdout, or — for one command in the shell — a
/// writer of the shell's (`| command`'s stdin, the pager).
pub enum Destination {
    Stdout,
    Writer(Box<dyn Write>),
}

/// Formats and writes everything the user sees on stdout.
pub struct Printer {
    pub format: Format,
    pub hop_lines: HopLines,
    out: io::Stdout,
    destination: Destination,
    /// Text not yet written to stdout; replies are rendered straight into it.
    pending: Vec<u8>,
    /// Why stdout stopped taking output, unless the reader simply went away.
    failure: Option<io::Error>,
    /// stderr is a terminal: notices (events that change how the session works) are
    /// shown there even when hop lines are hidden. On a pipe or file they are not
    /// (redis-cli writes nothing there; scripts take stderr output as failure).
    stderr_tty: bool,
    /// Several nodes' SLOWLOG, CLIENT LIST, INFO, … printed as one list or table
    /// (`--no-merge`, `:set merge off`: node by node).
    pub merge: bool,
}

/// Pending output is written to stdout once it reaches this size (and on flush).
const WRITE_AT: usize = 64 * 1024;

impl Printer {
    pub fn new(format: Format, hop_lines: HopLines) -> Printer {
        use std::io::IsTerminal;
        Printer {
            format,
            hop_lines,
            out: io::stdout(),
            destination: Destination::Stdout,
            pending: Vec::with_capacity(2 * WRITE_AT),
            failure: None,
            stderr_tty: io::stderr().is_terminal(),
            merge: true,
        }
    }

    /// True when replies are formatted for a person (tty mode).
    pub fn is_tty_format(&self) -> bool {
        self.format.mode == OutputMode::Tty
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StdoutClosed> {
        self.pending.extend_from_slice(bytes);
        self.write_if_full()
    }

    fn write_if_full(&mut self) -> Result<(), StdoutClosed> {
        if self.pending.len() >= WRITE_AT { self.flush() } else { Ok(()) }
    }

    pub fn line(&mut self, text: &str) -> Result<(), StdoutClosed> {
        self.write(text.as_bytes())?;
        self.write(b"\n")
    }

    pub fn flush(&mut self) -> Result<(), StdoutClosed> {
        let result = match &mut self.destination {
            Destination::Stdout => {
                let mut out = self.out.lock();
                out.write_all(&self.pending).and_then(|()| out.flush())
            }
            Destination::Writer(writer) => writer.write_all(&self.pending).and_then(|()| writer.flush()),
        };
        self.pending.clear();
        result.map_err(|error| {
            if error.kind() != io::ErrorKind::BrokenPipe && self.failure.is_none() {
                self.failure = Some(error);
            }
            StdoutClosed
        })
    }

    /// Sends what follows to `to` (what is pending goes where it was headed first);
    /// returns the destination it replaces.
    pub fn divert(&mut self, to: Destination) -> Destination {
        let _ = self.flush();
        std::mem::replace(&mut self.destination, to)
    }

    /// A write to stdout that failed for another reason than a reader going away (a
    /// full disk, an I/O error): the run must end with exit 1, not quietly.
    pub fn failure(&self) -> Option<&io::Error> {
        self.failure.as_ref()
    }

    /// A line of rcli's own on stderr (after what stdout has pending, so the two stay
    /// in order on a terminal). A failing stderr is ignored: it must not end the run.
    pub fn note(&mut self, text: &str) {
        let _ = self.flush();
        note(text);
    }

    /// A line of rcli's own about what the user asked for (a hint, not a hop): on
    /// stderr when it is a terminal or with `-v`; nowhere otherwise, since scripts take
    /// stderr output as failure.
    pub fn notice(&mut self, text: &str) -> Result<(), StdoutClosed> {
        if self.stderr_tty || self.hop_lines == HopLines::Stderr {
            self.flush()?;
            note(text);
        }
        Ok(())
    }

    /// Prints a hop line where the settings say: hop lines where `hop_lines` says;
    /// notices also where hop lines are hidden, but only on a terminal stderr.
    pub fn event(&mut self, event: &Event) -> Result<(), StdoutClosed> {
        match self.hop_lines {
            HopLines::Stdout => self.line(&escape_controls(&event.line(), false)),
            HopLines::Stderr => {
                self.flush()?;
                note(&event.line());
                Ok(())
            }
            HopLines::Hidden if event.is_notice() && self.stderr_tty => {
                self.flush()?;
                note(&event.line());
                Ok(())
            }
            HopLines::Hidden => Ok(()),
        }
    }

    /// Prints one frame as the reply to `argv`.
    pub fn frame<A: AsRef<[u8]>>(&mut self, argv: &[A], frame: &Frame) -> Result<(), StdoutClosed> {
        self.format.reply(frame, render::is_verbatim_command(argv), &mut self.pending);
        self.write_if_full()
    }

    /// Prints a reply: one frame, or one block per node and the combined line.
    pub fn reply<A: AsRef<[u8]>>(&mut self, argv: &[A], reply: &Reply) -> Result<(), StdoutClosed> {
        match reply {
            Reply::One(frame) => self.shaped_or_plain(argv, frame),
            Reply::Fanout { parts, combined } => {
                if self.shaped_fanout(argv, parts)? {
                    return Ok(());
                }
                let tty = self.is_tty_format();
                if !tty && let Some((_, frame)) = combined {
                    return self.frame(argv, frame);
                }
                for part in parts {
                    if tty {
                        self.line(&format!("{} ({}):", part.endpoint, part.role.name()))?;
                    }
                    match &part.result {
                        Ok(frame) => self.shaped_or_plain(argv, frame)?,
                        Err(text) => self.frame(argv, &Frame::Error(text.clone().into_bytes()))?,
                    }
                }
                if let Some((policy, frame)) = combined {
                    self.write(format!("=> {} of {} nodes: ", policy.name(), parts.len()).as_bytes())?;
                    self.frame(argv, frame)?;
                }
                Ok(())
            }
            // Printed as it arrived.
            Reply::Streamed | Reply::Ended => Ok(()),
        }
    }

    /// Prints one node's reply to `argv`: with its shape when it has one in this output
    /// mode (docs/json.md), else as it came.
    fn shaped_or_plain<A: AsRef<[u8]>>(&mut self, argv: &[A], frame: &Frame) -> Result<(), StdoutClosed> {
        if self.shaped_one(argv, frame)? { Ok(()) } else { self.frame(argv, frame) }
    }

    /// Renders into the pending output with `render` (given the format), then writes it
    /// out once enough is pending: how a reply printed piece by piece gets out.
    pub fn render(&mut self, render: impl FnOnce(&Format, &mut Vec<u8>)) -> Result<(), StdoutClosed> {
        render(&self.format, &mut self.pending);
        self.write_if_full()
    }

    /// Prints an rcli error about one command as an error reply on stdout, so every
    /// command has an answer in its place; in tty mode with its whole explanation.
    pub fn command_error(&mut self, error: &Error) -> Result<(), StdoutClosed> {
        let text = escape_controls(&error.to_string(), true).into_owned();
        let shown = if self.is_tty_format() { text.as_str() } else { text.lines().next().unwrap_or_default() };
        if !self.is_tty_format() && shown.len() < text.len() && self.hop_lines == HopLines::Stderr {
            note(&text);
        }
        let frame = Frame::Error(shown.as_bytes().to_vec());
        self.frame(&[b"" as &[u8]], &frame)
    }
}

/// Writes `bytes` to stdout at once (another thread's output, between the shell's own
/// writes), ignoring failure: the shell notices a closed stdout itself.
pub fn print_now(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// Writes one line to stderr, ignoring failure (a closed or full stderr must not turn
/// into a panic the way `eprintln!` does). rcli's own text has no control characters but
/// newlines; whatever server text it embeds is shown escaped.
pub fn note(text: &str) {
    let text = escape_controls(text, true);
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.write_all(b"\n"));
}
