//! The shell's preferences file: `RCLI_RCFILE`, else `dirs::config_dir()/rcli/rclirc`.
//! Each line is a `:set …` command (`:set hints`, `:set color never`, `:set hops off`);
//! blank lines and `#` comments are skipped. Read only by the interactive shell.

use std::path::PathBuf;

use crate::protocol::split::split_args;
use crate::session::Session;
use crate::shell::meta::set_preference;

/// Where the preferences file is.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("RCLI_RCFILE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => Some(dirs::config_dir()?.join("rcli").join("rclirc")),
    }
}

/// Applies every `:set` line of the file; problems are reported, never fatal.
pub fn apply(session: &mut Session) {
    let Some(path) = path() else { return };
    let Ok(bytes) = std::fs::read(&path) else { return };
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let Ok(words) = split_args(line) else {
            crate::output::note(&format!("{}:{}: invalid quoting", path.display(), number + 1));
            continue;
        };
        let words: Vec<String> = words.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        match words.first().map(String::as_str) {
            None => {}
            Some(w) if w.starts_with('#') => {}
            Some(w) if w.eq_ignore_ascii_case(":set") => {
                if let Err(message) = set_preference(session, words.get(1..).unwrap_or_default()) {
                    crate::output::note(&format!("{}:{}: {message}", path.display(), number + 1));
                }
            }
            Some(other) => crate::output::note(&format!(
                "{}:{}: unknown rcli command '{other}' (only :set is allowed here)",
                path.display(),
                number + 1
            )),
        }
    }
}
