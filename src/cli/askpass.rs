//! `--askpass`: read a password from the terminal, shown as `*`, kept only in memory.

use std::borrow::Cow;

use rustyline::completion::Completer;
use rustyline::config::{ColorMode, Config};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};

/// Draws every typed character as `*`.
struct Mask;

impl Helper for Mask {}
impl Completer for Mask {
    type Candidate = String;
}
impl Hinter for Mask {
    type Hint = String;
}
impl Validator for Mask {}
impl Highlighter for Mask {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Owned("*".repeat(line.chars().count()))
    }
    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

/// Prompts and reads one line; `None` (with a message) on Ctrl-C, Ctrl-D or no terminal.
pub fn read_password(prompt: &str) -> Option<String> {
    // Forced: the mask is drawn by the highlighter, which the editor otherwise skips
    // when NO_COLOR is set, echoing the password in clear.
    let config = Config::builder().color_mode(ColorMode::Forced).auto_add_history(false).build();
    let mut editor: Editor<Mask, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            crate::output::note(&format!("--askpass: {e}"));
            return None;
        }
    };
    editor.set_helper(Some(Mask));
    match editor.readline(prompt) {
        Ok(password) => Some(password),
        Err(e) => {
            crate::output::note(&format!("--askpass: {e}"));
            None
        }
    }
}
