//! The shell in a pseudo-terminal, for every pty test: start rcli hermetically in a
//! pty ([`shell`]), let the line editor settle ([`settle`]), and type a line and read
//! what follows it ([`Dialogue::send_and_expect`]). Every wait is bounded (20 s).

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

use super::{Home, hermetic, rcli_bin};

/// rcli in a pseudo-terminal with a hermetic environment; every wait is bounded.
pub fn shell(home: &Home, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(rcli_bin());
    hermetic(&mut cmd, &home.path);
    cmd.env("TERM", "xterm").args(args);
    spawn_command(cmd, Some(20_000)).expect("spawn rcli in a pty")
}

/// Lets the line editor finish setting up the terminal before the next keys (it
/// discards type-ahead when it does). Not a timing assertion.
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// One exchange of a pty dialogue.
pub trait Dialogue {
    /// Types `line` and Enter, then expects each of `expected` in order (a test
    /// failure names the first one missing).
    fn send_and_expect(&mut self, line: &str, expected: &[&str]);

    /// Types `line` and Enter until `expected` shows, at most `tries` times: for a line
    /// typed right after the editor redraws its prompt, which it may discard (it drops
    /// type-ahead while it sets the terminal up, and on a loaded machine that can take
    /// longer than [`settle`]).
    fn send_until_seen(&mut self, line: &str, expected: &str, tries: usize);
}

impl Dialogue for PtySession {
    fn send_and_expect(&mut self, line: &str, expected: &[&str]) {
        self.send_line(line).unwrap_or_else(|e| panic!("typing {line:?}: {e}"));
        for text in expected {
            self.exp_string(text).unwrap_or_else(|e| panic!("after {line:?}, expected {text:?}: {e}"));
        }
    }

    fn send_until_seen(&mut self, line: &str, expected: &str, tries: usize) {
        for attempt in 1..=tries {
            self.send_line(line).unwrap_or_else(|e| panic!("typing {line:?}: {e}"));
            match self.exp_string(expected) {
                Ok(_) => return,
                Err(e) if attempt == tries => panic!("after {line:?} ({tries} times), expected {expected:?}: {e}"),
                Err(_) => settle(),
            }
        }
    }
}
