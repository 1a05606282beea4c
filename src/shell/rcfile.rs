//! The shell's preferences file: `RCLI_RCFILE`, else `dirs::config_dir()/rcli/rclirc`.
//! Each line is a `:set …` command (`:set hints`, `:set color never`, `:set hops off`,
//! `:set address-map ANNOUNCED=REACHABLE`); blank lines and `#` comments are skipped.
//! The shell applies every line; the other modes only the address map, which says
//! how to reach a cluster whatever rcli does with it.

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
    apply_lines(session, false);
}

/// Applies only the file's `:set address-map` lines (for modes other than the shell).
pub fn apply_address_map(session: &mut Session) {
    apply_lines(session, true);
}

fn apply_lines(session: &mut Session, address_map_only: bool) {
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
            Some(w)
                if w.eq_ignore_ascii_case(":set")
                    && address_map_only
                    && !words.get(1).is_some_and(|p| p.eq_ignore_ascii_case("address-map")) => {}
            Some(w) if w.eq_ignore_ascii_case(":set") => {
                if let Err(message) = set_preference(session, words.get(1..).unwrap_or_default()) {
                    crate::output::note(&format!("{}:{}: {message}", path.display(), number + 1));
                }
            }
            Some(_) if address_map_only => {}
            Some(other) => crate::output::note(&format!(
                "{}:{}: unknown rcli command '{other}' (only :set is allowed here)",
                path.display(),
                number + 1
            )),
        }
    }
}
