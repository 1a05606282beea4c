//! The shell's pager (docs/shell.md): a reply taller than the terminal goes through
//! `$PAGER` (`less -R` when unset and `less` is on PATH), colours and all; `:set pager
//! off|on|auto`. Only for a command typed at a terminal whose stdout is a terminal.
//! The output is held back until it is taller than the screen ([`rows_needed`], pure),
//! then the pager starts and gets the rest as it comes; a short reply is printed as
//! usual. The pager owns the terminal until it ends (`q`).

use std::cell::RefCell;
use std::io::{self, IsTerminal, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::rc::Rc;

/// `:set pager …`: never, for replies taller than the terminal, or for every reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerMode {
    Off,
    Auto,
    On,
}

impl PagerMode {
    pub fn parse(word: &str) -> Option<PagerMode> {
        match word.to_ascii_lowercase().as_str() {
            "off" | "no" | "never" => Some(PagerMode::Off),
            "auto" => Some(PagerMode::Auto),
            "on" | "yes" | "always" => Some(PagerMode::On),
            _ => None,
        }
    }
}

/// Terminal rows the text takes at `columns` wide (long lines wrap; escape sequences
/// counted as text, which only errs towards paging).
pub fn rows_needed(text: &[u8], columns: usize) -> usize {
    let columns = columns.max(1);
    let mut rows = 0usize;
    for line in text.split(|&b| b == b'\n') {
        let width = String::from_utf8_lossy(line).chars().count();
        rows = rows.saturating_add(width.div_ceil(columns).max(1));
    }
    // The text's last newline ends a line; it does not start one.
    if text.ends_with(b"\n") { rows.saturating_sub(1) } else { rows }
}

/// The pager to run with `sh -c`: `$PAGER`, else `less -R` when `less` is on PATH.
pub fn command() -> Option<String> {
    match std::env::var("PAGER") {
        Ok(pager) if !pager.trim().is_empty() => Some(pager),
        _ => {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).any(|dir| dir.join("less").is_file()).then(|| "less -R".to_string())
        }
    }
}

/// The terminal's size (columns, rows), when it can be read.
fn screen() -> Option<(usize, usize)> {
    match ratatui::crossterm::terminal::size() {
        Ok((columns, rows)) if columns > 0 && rows > 0 => Some((usize::from(columns), usize::from(rows))),
        _ => None,
    }
}

/// Output held back until it is known to be tall, then fed to the pager.
struct Gate {
    mode: PagerMode,
    pager: String,
    held: Vec<u8>,
    child: Option<Child>,
    input: Option<ChildStdin>,
    /// The pager could not start: output goes to stdout.
    passthrough: bool,
}

impl Gate {
    /// Whether the held output needs the pager: always when on; in auto mode when it
    /// fills the screen (one row stays for the prompt), never when the size is unknown.
    fn tall(&self) -> bool {
        self.mode == PagerMode::On || screen().is_some_and(|(columns, rows)| rows_needed(&self.held, columns) >= rows)
    }

    fn start(&mut self) {
        let spawned = Command::new("sh").arg("-c").arg(&self.pager).stdin(Stdio::piped()).spawn();
        match spawned {
            Ok(mut child) => {
                self.input = child.stdin.take();
                self.child = Some(child);
                let held = std::mem::take(&mut self.held);
                self.feed(&held);
            }
            Err(_) => {
                self.passthrough = true;
                crate::output::print_now(&std::mem::take(&mut self.held));
            }
        }
    }

    /// Gives the pager more; once it stops reading (`q`), the rest is dropped.
    fn feed(&mut self, bytes: &[u8]) {
        if let Some(input) = &mut self.input
            && input.write_all(bytes).and_then(|()| input.flush()).is_err()
        {
            self.input = None;
        }
    }
}

/// The printer's end of the gate.
struct GateWriter(Rc<RefCell<Gate>>);

impl Write for GateWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut gate = self.0.borrow_mut();
        if gate.passthrough {
            crate::output::print_now(bytes);
        } else if gate.child.is_some() {
            gate.feed(bytes);
        } else {
            gate.held.extend_from_slice(bytes);
            if gate.tall() {
                gate.start();
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A command's output on its way to the terminal or the pager.
pub struct Paging(Rc<RefCell<Gate>>);

impl Paging {
    /// A gate for the next command's output, when the pager applies: on (or auto with
    /// a terminal of known size), a pager to run, stdout a terminal.
    pub fn begin(mode: PagerMode) -> Option<(Paging, Box<dyn Write>)> {
        if mode == PagerMode::Off || !io::stdout().is_terminal() || (mode == PagerMode::Auto && screen().is_none()) {
            return None;
        }
        let pager = command()?;
        let gate = Gate { mode, pager, held: Vec::new(), child: None, input: None, passthrough: false };
        let shared = Rc::new(RefCell::new(gate));
        Some((Paging(Rc::clone(&shared)), Box::new(GateWriter(shared))))
    }

    /// After the command: a short reply printed, or the pager told the end and waited
    /// for (the user leaves it with `q`).
    pub fn end(self) {
        let mut gate = self.0.borrow_mut();
        if gate.child.is_none() && !gate.passthrough && gate.mode == PagerMode::On && !gate.held.is_empty() {
            gate.start();
        }
        gate.input = None;
        match gate.child.take() {
            Some(mut child) => {
                let _ = child.wait();
            }
            None => crate::output::print_now(&std::mem::take(&mut gate.held)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_wrapped_lines() {
        assert_eq!(rows_needed(b"", 80), 1);
        assert_eq!(rows_needed(b"OK\n", 80), 1);
        assert_eq!(rows_needed(b"a\nb\nc\n", 80), 3);
        assert_eq!(rows_needed(&[b'x'; 81], 80), 2);
        assert_eq!(rows_needed(b"\n\n", 80), 2);
        assert_eq!(rows_needed("é".repeat(80).as_bytes(), 80), 1);
        assert_eq!(rows_needed(b"abc", 0), 3);
    }

    #[test]
    fn modes_parse() {
        assert_eq!(PagerMode::parse("OFF"), Some(PagerMode::Off));
        assert_eq!(PagerMode::parse("auto"), Some(PagerMode::Auto));
        assert_eq!(PagerMode::parse("on"), Some(PagerMode::On));
        assert_eq!(PagerMode::parse("sometimes"), None);
    }
}
