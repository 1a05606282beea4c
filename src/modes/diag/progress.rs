//! The progress line of a key scan: `scanned 12345 of 100000 keys (12.35%)`, redrawn on
//! stderr at most every 100 ms and only when stderr is a terminal (scripts and pipes
//! never see it), cleared before anything else is printed (docs/compatibility.md).
//!
//! It writes to stderr itself rather than through `output::note`: it needs `\r` and the
//! erase-line sequence, and it holds only rcli's own numbers, no server text.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::format::{percent, scan_percent};

const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// A progress line on stderr.
#[derive(Debug)]
pub struct Progress {
    on: bool,
    shown: bool,
    scanned: u64,
    last: Option<Instant>,
}

impl Progress {
    /// Shown when stderr is a terminal.
    pub fn on_stderr() -> Progress {
        Progress::new(std::io::stderr().is_terminal())
    }

    pub fn new(on: bool) -> Progress {
        Progress { on, shown: false, scanned: 0, last: None }
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Counts `keys` more and redraws when it is time.
    pub fn add(&mut self, keys: u64, total: u64) {
        self.scanned += keys;
        if !self.on || self.last.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        self.draw(&format!("\r\x1b[2K{}", text(self.scanned, total)));
        self.shown = true;
    }

    /// Erases the line (before stdout gets more text, and at the end).
    pub fn clear(&mut self) {
        if self.shown {
            self.draw("\r\x1b[2K");
            self.shown = false;
            self.last = None;
        }
    }

    fn draw(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    }
}

/// The progress text.
pub fn text(scanned: u64, total: u64) -> String {
    if total == 0 {
        return format!("scanned {scanned} keys");
    }
    format!("scanned {scanned} of {total} keys ({}%)", percent(scan_percent(scanned, total)).trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_well_and_stays_off_without_a_terminal() {
        assert_eq!(text(1234, 10_000), "scanned 1234 of 10000 keys (12.34%)");
        assert_eq!(text(0, 0), "scanned 0 keys");
        let mut off = Progress::new(false);
        off.add(10, 100);
        off.clear();
        assert!(!off.is_on() && !off.shown);
    }
}
