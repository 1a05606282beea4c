//! `--pipe` (placeholder).

use std::io::BufRead;
use std::time::Duration;

use crate::session::Session;

pub fn run(_session: &mut Session, _input: impl BufRead, _timeout: Duration) -> i32 {
    eprintln!("--pipe is not available yet");
    1
}
