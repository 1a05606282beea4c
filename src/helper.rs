//! The line editor's helper: completion, hints and highlighting for the shell. It never
//! touches the network; the shell refreshes its [`HelperState`] after every line.

use std::borrow::Cow;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::docs::Docs;
use crate::meta::META;

/// What the helper knows: refreshed by the shell after each line.
#[derive(Default)]
pub struct HelperState {
    pub docs: Docs,
    pub hints: bool,
    pub color: bool,
}

/// The rustyline helper.
#[derive(Default)]
pub struct RcliHelper {
    pub state: HelperState,
}

impl Helper for RcliHelper {}
impl Validator for RcliHelper {}

impl Completer for RcliHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let typed = &line[..pos];
        if typed.contains(' ') {
            return Ok((pos, Vec::new()));
        }
        let mut names: Vec<String> = if typed.starts_with(':') {
            META.iter().map(|m| m.name.to_string()).collect()
        } else {
            self.state.docs.entries.iter().filter(|e| !e.name.contains(' ')).map(|e| e.name.clone()).collect()
        };
        names.retain(|n| n.len() >= typed.len() && n[..typed.len()].eq_ignore_ascii_case(typed));
        names.dedup();
        Ok((0, names.into_iter().map(|n| Pair { display: n.clone(), replacement: n }).collect()))
    }
}

impl Hinter for RcliHelper {
    type Hint = String;
}

impl Highlighter for RcliHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Borrowed(hint)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        false
    }
}
