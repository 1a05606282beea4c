//! The shell's preferences file: `RCLI_RCFILE`, else `dirs::config_dir()/rcli/rclirc`.
//! Each line is a `:set …` command (`:set hints`, `:set color never`, `:set hops off`,
//! `:set confirm off`, `:set pager off|on|auto`, `:set address-map ANNOUNCED=REACHABLE`,
//! `:set az NAME`); blank lines and `#` comments are skipped. The shell applies every
//! line; the other modes only the routing settings (the address map, which says how to
//! reach a cluster, and the zone replica reads prefer), whatever rcli does with the
//! cluster. `--az` on the command line wins over the file's zone, `--yes` over its
//! `:set confirm`.

use std::path::PathBuf;

use crate::protocol::split::split_args;
use crate::session::Session;
use crate::shell::meta::set_preference;
use crate::shell::state::Shell;

/// Where the preferences file is.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("RCLI_RCFILE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => Some(dirs::config_dir()?.join("rcli").join("rclirc")),
    }
}

/// Applies every `:set` line of the file; problems are reported, never fatal.
pub fn apply(shell: &mut Shell, session: &mut Session) {
    apply_lines(shell, session, false);
}

/// Applies only the file's routing settings, `:set address-map` and `:set az` (for
/// modes other than the shell).
pub fn apply_routing_settings(shell: &mut Shell, session: &mut Session) {
    apply_lines(shell, session, true);
}

/// `:set` preferences that say where commands go: read in every mode.
const ROUTING: [&str; 2] = ["address-map", "az"];

fn apply_lines(shell: &mut Shell, session: &mut Session, routing_only: bool) {
    let Some(path) = path() else { return };
    let az_given = session.client.options().az.is_some();
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
                    && routing_only
                    && !words.get(1).is_some_and(|p| ROUTING.iter().any(|r| p.eq_ignore_ascii_case(r))) => {}
            Some(w)
                if w.eq_ignore_ascii_case(":set")
                    && az_given
                    && words.get(1).is_some_and(|p| p.eq_ignore_ascii_case("az")) => {}
            Some(w) if w.eq_ignore_ascii_case(":set") => {
                if let Err(message) = set_preference(shell, session, words.get(1..).unwrap_or_default()) {
                    crate::output::note(&format!("{}:{}: {message}", path.display(), number + 1));
                }
            }
            Some(_) if routing_only => {}
            Some(other) => crate::output::note(&format!(
                "{}:{}: unknown rcli command '{other}' (only :set is allowed here)",
                path.display(),
                number + 1
            )),
        }
    }
}
