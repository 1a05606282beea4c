//! What only the shell keeps beside its session: the command docs (help, completion,
//! hints), the preferences (`:set`, rclirc), key names seen (completion), the sandbox
//! lab, what the last command got (the lessons), a subscription to serve in subscribed
//! mode. The session reaches it only through the hooks in [`crate::shell::answers`]
//! (docs/architecture.md, "The shell above the session").

use std::sync::Arc;

use crate::client::pool::Exchange;
use crate::session::Session;
use crate::session::outcome::Outcome;
use crate::shell::docs::Docs;
use crate::shell::lab::LabSession;
use crate::shell::pager::PagerMode;

/// The shell's preferences (`:set`, rclirc): the hop lines' switch is the session's.
#[derive(Debug, Clone, Copy)]
pub struct Preferences {
    pub hints: bool,
    pub color: bool,
    /// Ask before dangerous commands at a terminal (`--yes`, `:set confirm off`).
    pub confirm: bool,
    /// Replies through `$PAGER` (`:set pager`).
    pub pager: PagerMode,
}

/// Key names remembered for completion.
pub(super) const SEEN_KEYS: usize = 5000;

/// The shell's state beside a session.
pub struct Shell {
    /// Command docs for help, completion and hints; the built-in copy is parsed on
    /// first use, so one-shot commands do not pay for it.
    pub(super) docs: Option<Arc<Docs>>,
    pub prefs: Preferences,
    /// Keys seen in typed lines and replies, for completion.
    pub seen_keys: Vec<Vec<u8>>,
    /// A subscription the session just confirmed: the REPL serves it in subscribed mode.
    pub pending_subscription: Option<Exchange>,
    /// The sandbox's servers and the lab around them, in a shell started by
    /// `rcli sandbox` (lab meta-commands are refused without it).
    pub lab: Option<Box<LabSession>>,
    /// What the last command sent got (`None` after a line that sent nothing).
    pub last_outcome: Option<Outcome>,
    /// The line editor reads a person's typing and stdout is a terminal: only then does
    /// the shell ask before dangerous commands or add its own words (`peek`, `| cmd`).
    pub at_terminal: bool,
}

impl Shell {
    pub fn new(color: bool) -> Shell {
        Shell {
            docs: None,
            prefs: Preferences { hints: true, color, confirm: true, pager: PagerMode::Auto },
            at_terminal: false,
            seen_keys: Vec::new(),
            pending_subscription: None,
            lab: None,
            last_outcome: None,
        }
    }

    /// The command docs (the built-in ones until the server's are loaded).
    pub fn docs(&mut self) -> Arc<Docs> {
        Arc::clone(self.docs.get_or_insert_with(|| Arc::new(Docs::builtin())))
    }

    /// Loads the server's command docs (cached per version), for help and hints.
    pub fn load_docs(&mut self, session: &mut Session) {
        let loaded = session.client.command_docs().map(|reply| Docs::from_reply(&reply));
        if let Some(docs) = loaded.filter(|d| !d.entries.is_empty()) {
            self.docs = Some(Arc::new(docs));
        }
    }
}
