//! The words the shell answers itself when the session hands it a line (`help`, the
//! `:meta` commands, `peek` at a terminal), the question before a dangerous command,
//! and what it keeps of each command the session runs: key names for completion, the
//! last outcome for the lessons, a subscription to serve. This is
//! the shell's side of [`Hooks`] (docs/architecture.md, "The shell above the session").

use crate::client::pool::Exchange;
use crate::output::StdoutClosed;
use crate::session::hooks::Hooks;
use crate::session::outcome::Outcome;
use crate::session::{Flow, Session};
use crate::shell::confirm;
use crate::shell::docs;
use crate::shell::meta;
use crate::shell::peek;
use crate::shell::state::{SEEN_KEYS, Shell};

/// `help …`: the server's own docs when it is there (as redis-cli), else the
/// built-in ones.
fn help(shell: &mut Shell, session: &mut Session, argv: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    if shell.docs.is_none() && session.client.is_connected() {
        shell.load_docs(session);
    }
    let words: Vec<String> = argv.iter().skip(1).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let text = docs::help_text(&shell.docs(), &words, shell.prefs.color);
    session.printer.write(text.as_bytes())
}

impl Hooks for Shell {
    fn answer(&mut self, session: &mut Session, argv: &[Vec<u8>]) -> Option<Flow> {
        let first = argv.first()?;
        let done = if first.eq_ignore_ascii_case(b"help") || first.as_slice() == b"?" {
            help(self, session, argv)
        } else if first.eq_ignore_ascii_case(b":peek") || (self.at_terminal && first.eq_ignore_ascii_case(b"peek")) {
            peek::run(session, argv.get(1..).unwrap_or_default())
        } else if first.first() == Some(&b':') {
            meta::run(self, session, argv)
        } else if self.at_terminal && self.prefs.confirm && !confirm::ask(session, argv) {
            // Straight to the terminal, like the question: not into a `| command`.
            crate::output::print_now(b"(not run)\n");
            Ok(())
        } else {
            return None;
        };
        Some(done.map_or(Flow::StdoutClosed, |()| Flow::Continue))
    }

    fn keys_seen(&mut self, keys: &[Vec<u8>]) {
        for key in keys {
            if !self.seen_keys.contains(key) {
                if self.seen_keys.len() >= SEEN_KEYS {
                    self.seen_keys.remove(0);
                }
                self.seen_keys.push(key.clone());
            }
        }
    }

    fn outcome(&mut self, outcome: Option<Outcome>) {
        self.last_outcome = outcome;
    }

    fn subscribed(&mut self, stream: Exchange) {
        self.pending_subscription = Some(stream);
    }
}
