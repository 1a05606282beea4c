//! Pipelined execution of commands piped on stdin (placeholder: sequential for now).

use std::io::BufRead;

use crate::session::{Flow, Session};

pub fn run(session: &mut Session, input: impl BufRead, _window: usize, _verbose: bool) -> Flow {
    crate::run::run_lines(session, input)
}
