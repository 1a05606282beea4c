//! Questions on stdin. redis-cli reads raw bytes and loops forever on EOF for reshard's
//! questions; rcli reads lines, and a closed stdin ends the run with exit 1
//! (docs/compatibility.md). Yes/no confirmations behave as redis-cli's
//! `confirmWithYes`: only an answer starting with `yes` accepts.

use std::io::{self, BufRead, BufReader, Read};

/// Where answers come from.
pub struct Prompt {
    input: Box<dyn BufRead + Send>,
}

impl Prompt {
    pub fn stdin() -> Prompt {
        Prompt { input: Box::new(BufReader::new(io::stdin())) }
    }

    /// Answers from a fixed text (tests, the shell's `:cluster`).
    pub fn from_text(text: &str) -> Prompt {
        Prompt { input: Box::new(BufReader::new(io::Cursor::new(text.as_bytes().to_vec()))) }
    }

    /// The next line without its newline; `None` at EOF.
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
        }
    }

    /// Everything left on stdin (for `call -x`).
    pub fn rest(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        let _ = self.input.read_to_end(&mut data);
        data
    }
}

/// True when `answer` accepts (redis-cli compares the first three bytes with `yes`).
pub fn accepts(answer: Option<&str>) -> bool {
    answer.is_some_and(|a| a.starts_with("yes"))
}

/// redis-cli's `confirmWithYes`: `--cluster-yes` answers unless `ignore_force` (fix's
/// questions; rcli's `--cluster-fix-yes` answers those).
pub fn confirm(m: &mut super::Manager, message: &str, ignore_force: bool) -> bool {
    if (!ignore_force && m.opts.yes) || (ignore_force && m.opts.fix_yes) {
        return true;
    }
    m.report.text(&format!("{message} (type 'yes' to accept): "));
    m.report.flush();
    let answer = m.prompt.line();
    accepts(answer.as_deref())
}

/// Asks `question` and returns the answer; a closed stdin is reported (rcli does not
/// loop on EOF the way redis-cli does) and gives `None`.
pub fn ask(m: &mut super::Manager, question: &str) -> Option<String> {
    m.report.text(question);
    m.report.flush();
    let answer = m.prompt.line();
    if answer.is_none() {
        m.report.note(&format!("rcli: stdin closed while waiting for \"{}\"", question.trim_end()));
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_lines() {
        let mut p = Prompt::from_text("yes\nno\n");
        assert!(accepts(p.line().as_deref()));
        assert!(!accepts(p.line().as_deref()));
        assert_eq!(p.line(), None);
        assert!(accepts(Some("yesss")));
    }
}
