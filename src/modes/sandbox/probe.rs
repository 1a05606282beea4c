//! What the `redis-server` on PATH accepts, asked of the server itself: it reads its
//! command line as configuration lines, in order, and stops at the first one it refuses,
//! naming it. So the options asked about, followed by a directive no server knows
//! (`rcli-probe-end`), make it exit at once either way: refused at `rcli-probe-end`, it
//! took every option before; refused earlier, the line it names and its reason say why
//! (`Bad directive …` for an option it does not have, `argument must be …` for a value).
//! No version text is read, and nothing listens.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const END: &str = "rcli-probe-end";

/// Ok when the server takes every `(option, value)` of `options`; else the option it
/// refused and why, as it said (`cluster-databases "0": argument must be …`).
pub fn server_accepts(options: &[(&str, &str)]) -> Result<(), String> {
    let mut cmd = Command::new("redis-server");
    for (option, value) in options {
        cmd.arg(format!("--{option}")).arg(value);
    }
    cmd.args([&format!("--{END}"), "yes"]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("redis-server could not be started: {e}"))?;
    // It exits at once; a server that somehow went on running is stopped.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer the option check".into());
            }
        }
    }
    let mut said = String::new();
    for stream in
        [child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>), child.stderr.take().map(|s| Box::new(s) as _)]
            .into_iter()
            .flatten()
    {
        let mut text = String::new();
        let _ = stream.take(64 * 1024).read_to_string(&mut text);
        said.push_str(&text);
    }
    verdict(&said)
}

/// Reads what the server printed when it stopped at a configuration line (pure).
fn verdict(said: &str) -> Result<(), String> {
    let mut lines = said.lines();
    let Some(line) = lines.by_ref().find_map(|l| l.trim().strip_prefix(">>> ")) else {
        return Err("redis-server refused the options without naming one".into());
    };
    let line = line.trim_matches('\'');
    if line.starts_with(END) {
        return Ok(());
    }
    let reason = lines.next().map(str::trim).unwrap_or_default();
    Err(crate::protocol::text::escape_controls(&format!("{line}: {reason}"), false).into_owned())
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn the_line_the_server_stopped_at_tells() {
        let taken = "\n*** FATAL CONFIG FILE ERROR (Version 9.1.2) ***\nReading the configuration file, at line 3\n\
                     >>> 'rcli-probe-end \"yes\"'\nBad directive or wrong number of arguments\n";
        assert_eq!(verdict(taken), Ok(()));
        let unknown = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n\
                       >>> 'cluster-databases \"16\"'\nBad directive or wrong number of arguments\n";
        assert_eq!(
            verdict(unknown),
            Err("cluster-databases \"16\": Bad directive or wrong number of arguments".into())
        );
        let value = ">>> 'cluster-databases \"0\"'\nargument must be between 1 and 2147483647 inclusive\n";
        assert_eq!(
            verdict(value),
            Err("cluster-databases \"0\": argument must be between 1 and 2147483647 inclusive".into())
        );
        assert!(verdict("Segmentation fault").is_err());
    }
}
