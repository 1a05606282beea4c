//! Everything the manager prints. redis-cli's manager prints its log lines on stdout
//! (errors included) with a colour per level; rcli colours them as the run decided
//! (`--color`, else [`crate::output::auto_color`]: stdout a terminal and `NO_COLOR`
//! unset; docs/compatibility.md). With `--cluster-json`
//! the text lines are held back and one JSON document is printed at the end. A
//! progress bar, when one is shown, is suspended while a line is written.

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

use super::progress::Progress;

/// redis-cli's log levels and their colours (`\e[<code>` … `\e[0m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Err,
    Ok,
}

impl Level {
    fn colour(self) -> &'static str {
        match self {
            Level::Info => "29;1m",
            Level::Warn => "33;1m",
            Level::Err => "31;1m",
            Level::Ok => "32;1m",
        }
    }
}

/// Server text (key names, error messages) made safe for a terminal: control
/// characters other than newlines are shown as `\xNN` instead of being sent to it.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{7f}') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if (c.is_control() && c != '\n') || c == '\u{7f}' {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The manager's stdout.
pub struct Report {
    /// stdout is a terminal: escaped control characters.
    tty: bool,
    /// Log lines in their level's colour.
    colour: bool,
    json: bool,
    out: io::Stdout,
    pending: Vec<u8>,
    pub progress: Option<Progress>,
    /// The JSON document for `--cluster-json`.
    pub doc: Option<Value>,
    /// rcli's asides (what redis-cli would not print) go to stderr: it is a terminal,
    /// or `-v` was given.
    pub asides: bool,
}

impl Report {
    pub fn new(json: bool) -> Report {
        let tty = io::stdout().is_terminal();
        let colour = crate::output::auto_color(tty);
        let asides = io::stderr().is_terminal();
        Report { tty, colour, json, out: io::stdout(), pending: Vec::new(), progress: None, doc: None, asides }
    }

    /// Colours as the run's `--color` decided (the default is `--color auto`'s rule).
    pub fn set_colour(&mut self, colour: bool) {
        self.colour = colour;
    }

    fn push(&mut self, text: &str) {
        if self.tty {
            let safe = terminal_safe(text);
            self.pending.extend_from_slice(safe.as_bytes());
        } else {
            self.pending.extend_from_slice(text.as_bytes());
        }
    }

    /// A report that prints nothing (the shell's `:cluster` collects through it too).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Raw text, no newline added (dots, prompts).
    pub fn text(&mut self, text: &str) {
        if self.json {
            return;
        }
        self.push(text);
    }

    /// One plain line.
    pub fn line(&mut self, text: &str) {
        self.text(text);
        self.text("\n");
        self.flush_if_big();
    }

    /// One log line at `level` (redis-cli puts the reset after the newline).
    pub fn log(&mut self, level: Level, text: &str) {
        if self.json {
            return;
        }
        if self.colour {
            self.pending.extend_from_slice(b"\x1b[");
            self.pending.extend_from_slice(level.colour().as_bytes());
        }
        self.push(text);
        self.pending.push(b'\n');
        if self.colour {
            self.pending.extend_from_slice(b"\x1b[0m");
        }
        self.flush_if_big();
    }

    /// A log prefix coloured at `level` followed by uncoloured text on the same line
    /// (`>>> Calling` + ` DBSIZE`).
    pub fn log_partial(&mut self, level: Level, coloured: &str) {
        if self.json {
            return;
        }
        if self.colour {
            self.pending.extend_from_slice(b"\x1b[");
            self.pending.extend_from_slice(level.colour().as_bytes());
        }
        self.push(coloured);
        if self.colour {
            self.pending.extend_from_slice(b"\x1b[0m");
        }
    }

    pub fn info(&mut self, text: &str) {
        self.log(Level::Info, text)
    }

    pub fn warn(&mut self, text: &str) {
        self.log(Level::Warn, text)
    }

    pub fn err(&mut self, text: &str) {
        self.log(Level::Err, text)
    }

    pub fn ok(&mut self, text: &str) {
        self.log(Level::Ok, text)
    }

    fn flush_if_big(&mut self) {
        if self.pending.len() > 64 * 1024 || self.progress.is_some() {
            self.flush();
        }
    }

    /// Writes what is pending (around a visible progress bar).
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let out = &mut self.out;
        let write = || {
            let mut lock = out.lock();
            let _ = lock.write_all(&bytes).and_then(|()| lock.flush());
        };
        match &self.progress {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }

    /// A line on stderr, after stdout's pending text (control characters escaped).
    pub fn note(&mut self, text: &str) {
        self.flush();
        let text = &*terminal_safe(text);
        match &self.progress {
            Some(progress) => progress.suspend(|| crate::output::note(text)),
            None => crate::output::note(text),
        }
    }

    /// An rcli notice where redis-cli prints nothing (an ignored option, a plan shorter
    /// than asked): on stderr only when it is a terminal or with `-v`, so scripts that
    /// treat stderr output as failure run as they did with redis-cli.
    pub fn aside(&mut self, text: &str) {
        if self.asides {
            self.note(text);
        }
    }

    /// Prints the JSON document (with `--cluster-json`).
    pub fn finish(&mut self) {
        self.flush();
        if let Some(progress) = self.progress.take() {
            progress.finish();
        }
        if self.json
            && let Some(doc) = self.doc.take()
        {
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let mut lock = self.out.lock();
            let _ = lock.write_all(text.as_bytes()).and_then(|()| lock.write_all(b"\n")).and_then(|()| lock.flush());
        }
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_servers_are_escaped() {
        assert_eq!(terminal_safe("plain\nline"), "plain\nline");
        assert_eq!(terminal_safe("key\x1b[2Jx\r"), "key\\x1b[2Jx\\x0d");
    }
}
