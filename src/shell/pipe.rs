//! `COMMAND | shell command` in the shell (docs/shell.md): where a typed line splits
//! ([`split`], pure: an unquoted `|` starting a word), and the run — the reply's text as
//! rcli prints it raw (as on a pipe) streamed into `sh -c`'s stdin, the child's output
//! on the terminal, a non-zero exit status reported, Ctrl-C ending the child.

use std::io::{self, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::output::{Destination, HopLines};
use crate::protocol::render::OutputMode;
use crate::session::hooks::Hooks;
use crate::session::{Flow, Session};

/// The command and the shell command of a typed line: split at the first `|` that is
/// outside quotes and starts a word (`get a|b` keeps its argument), when a shell
/// command follows it.
pub fn split(line: &str) -> (&str, Option<&str>) {
    let bytes = line.as_bytes();
    let (mut in_double, mut in_single) = (false, false);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if in_double || in_single => i += 1,
            b'"' if !in_single => in_double = !in_double,
            b'\'' if !in_double => in_single = !in_single,
            b'|' if !in_double && !in_single && (i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace)) => {
                let (command, rest) = (line.get(..i).unwrap_or_default(), line.get(i + 1..).unwrap_or_default());
                if rest.trim().is_empty() || command.trim().is_empty() {
                    return (line, None);
                }
                return (command, Some(rest.trim()));
            }
            _ => {}
        }
        i += 1;
    }
    (line, None)
}

/// The child's stdin: once the child stops reading (`| head -1`), the rest is dropped
/// quietly — the shell goes on.
struct ChildInput(Option<std::process::ChildStdin>);

impl Write for ChildInput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(stdin) = &mut self.0
            && stdin.write_all(bytes).is_err()
        {
            self.0 = None;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(stdin) = &mut self.0
            && stdin.flush().is_err()
        {
            self.0 = None;
        }
        Ok(())
    }
}

/// How a child that ended badly is reported (`None`: it succeeded).
pub fn status_line(status: std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => None,
        (Some(code), _) => Some(format!("(exit status {code})")),
        (None, Some(signal)) => Some(format!("(ended by signal {signal})")),
        (None, None) => Some("(ended abnormally)".to_string()),
    }
}

/// Waits for `child`; Ctrl-C (`interrupt`) kills it (the terminal's SIGINT usually
/// ended it already).
fn wait(child: &mut Child, interrupt: &AtomicBool) -> io::Result<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if interrupt.load(Ordering::SeqCst) {
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` with its printed reply piped to `sh -c shell_command`.
pub fn run(
    session: &mut Session,
    hooks: &mut dyn Hooks,
    command: &str,
    shell_command: &str,
    interrupt: &AtomicBool,
) -> Flow {
    let spawned = Command::new("sh").arg("-c").arg(shell_command).stdin(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let line = format!("(cannot run sh: {})", crate::error::os_message(&e));
            return session.printer.line(&line).map_or(Flow::StdoutClosed, |()| Flow::Continue);
        }
    };
    let input = ChildInput(child.stdin.take());
    let format = session.printer.format.clone();
    let hop_lines = session.printer.hop_lines;
    let previous = session.printer.divert(Destination::Writer(Box::new(input)));
    session.printer.format.mode = OutputMode::Raw;
    session.printer.format.terminal = false;
    // Hop lines stay on the terminal (stderr, when it is one), out of the pipe.
    if hop_lines == HopLines::Stdout {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        session.printer.hop_lines = if terminal { HopLines::Stderr } else { HopLines::Hidden };
    }
    let flow = session.run_line(command.as_bytes(), hooks);
    let _ = session.printer.flush();
    // Dropping the child's stdin tells it the reply is complete.
    drop(session.printer.divert(previous));
    session.printer.format = format;
    session.printer.hop_lines = hop_lines;
    let status = wait(&mut child, interrupt);
    if flow != Flow::Continue {
        return flow;
    }
    let report = match status {
        Ok(status) => status_line(status),
        Err(e) => Some(format!("(cannot wait for sh: {})", crate::error::os_message(&e))),
    };
    match report {
        Some(line) => session.printer.line(&line).map_or(Flow::StdoutClosed, |()| Flow::Continue),
        None => Flow::Continue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_starting_a_word_outside_quotes_splits_the_line() {
        assert_eq!(split("keys user:* | wc -l"), ("keys user:* ", Some("wc -l")));
        assert_eq!(split("hgetall h |jq -R ."), ("hgetall h ", Some("jq -R .")));
        assert_eq!(split("get a|b"), ("get a|b", None));
        assert_eq!(split("set k \"a | b\""), ("set k \"a | b\"", None));
        assert_eq!(split("set k 'a | b' | cat"), ("set k 'a | b' ", Some("cat")));
        assert_eq!(split("set k \"a\\\" | b\" | cat"), ("set k \"a\\\" | b\" ", Some("cat")));
        assert_eq!(split("get k |"), ("get k |", None));
        assert_eq!(split("| wc"), ("| wc", None));
        assert_eq!(split("get k | a | b"), ("get k ", Some("a | b")));
    }

    #[test]
    fn only_a_failure_is_reported() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status_line(std::process::ExitStatus::from_raw(0)), None);
        assert_eq!(status_line(std::process::ExitStatus::from_raw(3 << 8)).as_deref(), Some("(exit status 3)"));
        assert_eq!(status_line(std::process::ExitStatus::from_raw(9)).as_deref(), Some("(ended by signal 9)"));
    }
}
