//! A watchdog for the servers rcli starts: a small `sh` process, in a process group of
//! its own and deaf to SIGHUP/SIGINT/SIGTERM, that reads the pid of every server and
//! every temp directory from a pipe. When rcli ends — normally, by a signal, even by
//! `kill -9` — the pipe closes and the watchdog kills whatever redis-server is still
//! running among those pids and removes the directories, so a closed terminal or a
//! Ctrl-C during start-up never leaves servers behind. No `unsafe` is needed (no
//! `prctl` in a pre-exec hook): the pipe is the lifeline.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Kills watched servers (only processes that still are redis-servers, so a reused pid
/// is spared) and removes watched directories once its input ends.
const SCRIPT: &str = r#"trap '' HUP INT TERM
pids=""
dirs=""
while IFS= read -r line; do
  case "$line" in
    "pid "*) pids="$pids ${line#pid }" ;;
    "dir "*) dirs="$dirs ${line#dir }" ;;
  esac
done
for p in $pids; do
  if grep -q redis-server "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null; fi
done
for d in $dirs; do
  case "$d" in */rcli-*) rm -rf "$d" ;; esac
done
"#;

static WATCHDOG: Mutex<Option<ChildStdin>> = Mutex::new(None);

fn tell(line: &str) {
    let Ok(mut guard) = WATCHDOG.lock() else { return };
    if guard.is_none() {
        let started = Command::new("sh")
            .args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        *guard = started.ok().and_then(|mut child| child.stdin.take());
    }
    if let Some(pipe) = guard.as_mut() {
        // A watchdog that died cannot be helped; the servers still die with their Drop.
        let _ = pipe.write_all(format!("{line}\n").as_bytes()).and_then(|()| pipe.flush());
    }
}

/// Watches a server process.
pub fn watch_pid(pid: u32) {
    tell(&format!("pid {pid}"));
}

/// Watches a temp directory (only paths without whitespace are watched: the temp dirs
/// rcli makes have none).
pub fn watch_dir(dir: &Path) {
    let text = dir.display().to_string();
    if !text.chars().any(char::is_whitespace) {
        tell(&format!("dir {text}"));
    }
}
