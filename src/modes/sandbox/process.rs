//! What the lab does to one sandbox server's process: signals (SIGSTOP/SIGCONT, sent
//! with `kill(1)`: rcli forbids `unsafe`, so no libc), a clean stop (`SHUTDOWN SAVE`,
//! then a bounded wait for the process to end), a restart from the same command line,
//! and noticing a process that ended by itself (a SHUTDOWN typed in the shell).
//!
//! Signals only ever go to a child rcli has not reaped yet, so its pid cannot have been
//! reused by another process.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::servers::{Server, Started, call_until};
use crate::error::{Error, Result};

/// How a clean stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopEnd {
    /// The server saved its data and exited.
    Clean,
    /// It was not running.
    NotRunning,
    /// It did not exit within the limit (or Ctrl-C cut the wait): it was killed.
    Killed,
}

impl Server {
    /// Sends signal `name` (`STOP`, `CONT`) to the running process.
    pub fn signal(&self, name: &str) -> Result<()> {
        let Some(pid) = self.pid() else {
            return Err(Error::Usage(format!("{} is not running", self.endpoint())));
        };
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|source| Error::File { path: "kill".into(), source })?;
        if status.success() { Ok(()) } else { Err(Error::Usage(format!("kill -{name} {pid} failed ({status})"))) }
    }

    /// True once the process has ended (by itself or by a signal); reaps it then.
    pub fn has_ended(&mut self) -> bool {
        match self.child.as_mut().map(std::process::Child::try_wait) {
            None => true,
            Some(Ok(None)) => false,
            Some(_) => {
                self.child = None;
                true
            }
        }
    }

    /// A clean stop: `SHUTDOWN SAVE` (the server writes its RDB file, and a primary
    /// first lets its replicas catch up), then a wait of at most `limit` for the
    /// process to end, cut short when `interrupt` is set; a server still running then
    /// is killed.
    pub fn shut_down(&mut self, limit: Duration, interrupt: Option<&AtomicBool>) -> StopEnd {
        if self.has_ended() {
            return StopEnd::NotRunning;
        }
        // The reply never comes when it works: the server closes the link as it exits.
        // A short wait for it; the wait for the process below is the one that counts
        // (and the one Ctrl-C cuts).
        let _ = call_until(&self.link, &self.endpoint(), &["SHUTDOWN", "SAVE"], Duration::from_millis(300), interrupt);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
            if self.has_ended() {
                return StopEnd::Clean;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.has_ended() {
            return StopEnd::Clean;
        }
        self.kill();
        StopEnd::Killed
    }

    /// Starts the server again with the command line it was first started with (same
    /// port, directory, config and node file, so it rejoins its cluster); waits,
    /// bounded, until it answers (`interrupt` ends the wait, not the process).
    pub fn restart(&mut self, interrupt: Option<&AtomicBool>) -> Result<Started> {
        if !self.has_ended() {
            return Err(Error::Usage(format!("{} is still running", self.endpoint())));
        }
        self.launch_until(interrupt)
    }
}
