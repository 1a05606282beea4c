//! rcli's own commands, typed with a leading `:` (`:nodes`, `:slot`, `:use`, …). One
//! table ([`META`], in [`table`]) feeds `:help`, completion and dispatch (here); the reports live
//! beside it: [`cluster_view`] (`:nodes`, `:map`; [`at_scale`] for big clusters) and [`keys`] (`:slot`, `:explain`,
//! `:use`). Nothing here is sent to Redis except DBSIZE for `:nodes` and the topology
//! reload of `:refresh`.

mod at_scale;
mod cluster_view;
mod conveniences;
mod keys;
pub mod lab;
pub mod table;

use cluster_view::{map, nodes};
pub use keys::mark_hashed;
use keys::{explain, slots, use_target};
use std::io::IsTerminal;

use crate::output::StdoutClosed;
use crate::protocol::text;
use crate::session::Session;
use crate::shell::paint;
use crate::shell::state::Shell;
pub use table::META;

fn on_off(word: Option<&str>) -> Option<bool> {
    match word?.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Runs a meta-command line.
pub fn run(shell: &mut Shell, session: &mut Session, argv: &[Vec<u8>]) -> Result<(), StdoutClosed> {
    let words: Vec<String> = argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let (Some(typed), Some(args)) = (words.first(), argv.get(1..)) else { return Ok(()) };
    let name = typed.to_ascii_lowercase();
    let arg = words.get(1).map(String::as_str);
    let rest_words = words.get(1..).unwrap_or_default();
    match name.as_str() {
        ":help" => help(session, arg),
        ":nodes" => nodes(shell, session, arg),
        ":slot" if !args.is_empty() => slots(shell, session, args),
        ":explain" if !args.is_empty() => explain(session, args),
        ":use" if arg.is_some() => use_target(session, arg.unwrap_or_default()),
        ":use" => {
            let target = session.client.target().describe();
            session.printer.line(&format!("keyless commands go to {target}"))
        }
        ":refresh" => match session.client.refresh_topology(None, &mut Vec::new()) {
            Ok(()) => {
                let count = session.client.topology().map_or(0, |t| t.all_nodes().len());
                session.printer.line(&format!("slot map reloaded: {count} nodes"))
            }
            Err(e) => session.printer.line(&format!("(error) {e}")),
        },
        ":readonly" => match on_off(arg) {
            Some(on) => {
                session.client.set_read_from_replicas(on);
                let zone = session.client.options().az.as_deref().map(|z| text::escape_controls(z, false).into_owned());
                session.printer.line(&match (on, zone) {
                    (true, Some(zone)) => {
                        format!("read-only commands now go to replicas (in {zone} where a slot has one)")
                    }
                    (true, None) => "read-only commands now go to replicas".to_string(),
                    (false, _) => "all commands now go to primaries".to_string(),
                })
            }
            None => usage(session, ":readonly"),
        },
        ":hops" => match on_off(arg) {
            Some(on) => {
                session.hops = on;
                session.printer.line(if on { "hop lines on" } else { "hop lines off" })
            }
            None => usage(session, ":hops"),
        },
        ":set" => match set_preference(shell, session, rest_words) {
            Ok(()) => Ok(()),
            Err(message) => session.printer.line(&message),
        },
        ":map" => map(shell, session, arg),
        ":top" => live_view(shell, session, arg),
        ":cluster" => match arg.map(str::to_ascii_lowercase).as_deref() {
            Some(sub @ ("check" | "info")) => {
                let entry = session.client.current().clone();
                let auth = session.client.pool().state().auth.clone();
                let interrupt = session.client.pool().interrupt_flag();
                let settings = session.client.pool().settings().clone();
                let search = words.iter().any(|w| w == "--cluster-search-multiple-owners");
                session.printer.flush()?;
                crate::manager::from_shell(&entry, auth, settings, sub == "info", search, interrupt);
                Ok(())
            }
            _ => usage(session, ":cluster"),
        },
        _ if lab::LAB_COMMANDS.contains(&name.as_str()) => lab::run(shell, session, &name, rest_words),
        _ if META.iter().any(|m| m.name == name) => usage(session, &name),
        _ => {
            session.printer.line(&format!("unknown rcli command '{}' (try :help)", text::escape_controls(typed, false)))
        }
    }
}

/// `:top [SECONDS]`: `rcli top`'s live view on the session's client, at a terminal only
/// (piped into rcli it would never end).
fn live_view(shell: &Shell, session: &mut Session, arg: Option<&str>) -> Result<(), StdoutClosed> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return session.printer.line(":top needs a terminal (rcli top --once --json gives one frame for scripts)");
    }
    let seconds = match arg.map(str::parse::<f64>) {
        None => 1.0,
        Some(Ok(s)) if s.is_finite() && (0.1..=3600.0).contains(&s) => s,
        Some(_) => return usage(session, ":top"),
    };
    session.printer.flush()?;
    let interval = std::time::Duration::from_secs_f64(seconds);
    let _ended = crate::top::from_shell(&mut session.client, interval, shell.prefs.color);
    Ok(())
}

fn usage(session: &mut Session, name: &str) -> Result<(), StdoutClosed> {
    let spec = META.iter().find(|m| m.name == name);
    let text = spec.map(|m| format!("usage: {} {}", m.name, m.args)).unwrap_or_default();
    session.printer.line(&text)
}

/// Applies `:set …` (also used for the rclirc file). Returns a message on a bad value.
pub fn set_preference(shell: &mut Shell, session: &mut Session, words: &[String]) -> Result<(), String> {
    let value = words.get(1).map(|w| w.to_ascii_lowercase());
    match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
        Some("hints") => shell.prefs.hints = true,
        Some("nohints") => shell.prefs.hints = false,
        Some("color") | Some("colour") => {
            shell.prefs.color = match value.as_deref() {
                Some("always") | Some("on") => true,
                Some("never") | Some("off") => false,
                Some("auto") => paint::auto_color(std::io::IsTerminal::is_terminal(&std::io::stdout())),
                _ => return Err("usage: :set color auto|always|never".into()),
            }
        }
        Some("hops") => match on_off(value.as_deref()) {
            Some(on) => session.hops = on,
            None => return Err("usage: :set hops on|off".into()),
        },
        Some("merge") => match on_off(value.as_deref()) {
            Some(on) => session.printer.merge = on,
            None => return Err("usage: :set merge on|off".into()),
        },
        Some("address-map") => return set_address_map(session, words.get(1..).unwrap_or_default()),
        Some("az") => return set_az(session, words.get(1).map(String::as_str)),
        Some(other) => {
            return conveniences::set(shell, other, value.as_deref())
                .unwrap_or_else(|| Err(format!("unknown rcli preference '{other}'")));
        }
        None => {
            return Err(
                "usage: :set hints|nohints|color auto|always|never|hops on|off|merge on|off|address-map …|az …".into(),
            );
        }
    }
    Ok(())
}

/// `:set az NAME` makes replica reads prefer replicas in zone NAME (`--az`), `clear`
/// forgets it; without a name the message says which zone, and whether reads go to
/// replicas at all (`:readonly on`).
fn set_az(session: &mut Session, zone: Option<&str>) -> Result<(), String> {
    match zone {
        None => {
            let options = session.client.options();
            let zone =
                options.az.as_deref().map_or("none".to_string(), |z| text::escape_controls(z, false).into_owned());
            let reads = if options.read_from_replicas { "on" } else { "off (:readonly on)" };
            Err(format!("availability zone: {zone}; replica reads {reads} (:set az NAME|clear)"))
        }
        Some(word) if word.eq_ignore_ascii_case("clear") => {
            session.client.set_az(None);
            Ok(())
        }
        Some(name) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) => {
            session.client.set_az(Some(name.to_string()));
            Ok(())
        }
        Some(name) => Err(format!(
            "'{}' is not an availability zone name (printable, without spaces)",
            text::escape_controls(name, false)
        )),
    }
}

/// `:set address-map RULE…` adds rules, `clear` removes them all; without a rule the
/// message lists them.
fn set_address_map(session: &mut Session, rules: &[String]) -> Result<(), String> {
    let mut map = session.client.pool().settings().address_map.clone();
    match rules.first().map(|r| r.to_ascii_lowercase()).as_deref() {
        None => {
            let listed = map.rules();
            let shown = if listed.is_empty() { "empty".to_string() } else { listed.join(" ") };
            return Err(format!("address map: {shown} (:set address-map ANNOUNCED=REACHABLE ...|clear)"));
        }
        Some("clear") => map.clear(),
        Some(_) => {
            for rule in rules {
                map.add(rule)?;
            }
        }
    }
    session.client.pool().set_address_map(map);
    Ok(())
}

fn help(session: &mut Session, topic: Option<&str>) -> Result<(), StdoutClosed> {
    let topic =
        topic.map(|t| if t.starts_with(':') { t.to_ascii_lowercase() } else { format!(":{}", t.to_ascii_lowercase()) });
    let out = help_text(topic.as_deref());
    session.printer.write(out.as_bytes())
}

/// Width of `:help`'s text: an 80-column terminal shows it unwrapped.
const HELP_WIDTH: usize = 80;

/// Where the summaries start.
const SUMMARY_COLUMN: usize = 24;

/// `:help` (or `:help :topic`): each synopsis, its summary beside it when the synopsis
/// is short and below it otherwise, wrapped to [`HELP_WIDTH`].
fn help_text(topic: Option<&str>) -> String {
    let mut out = String::new();
    if topic.is_none() {
        out.push_str("rcli meta-commands (everything else is sent to Redis):\n");
    }
    let indent = " ".repeat(SUMMARY_COLUMN);
    for meta in META.iter().filter(|m| topic.is_none_or(|t| t == m.name)) {
        let synopsis = format!("  {} {}", meta.name, meta.args);
        let synopsis = synopsis.trim_end();
        let mut summary = text::wrap(meta.summary, HELP_WIDTH - SUMMARY_COLUMN).into_iter();
        if synopsis.len() + 2 <= SUMMARY_COLUMN {
            out.push_str(&format!("{synopsis:<SUMMARY_COLUMN$}{}\n", summary.next().unwrap_or_default()));
        } else {
            for (i, line) in text::wrap(synopsis, HELP_WIDTH - 4).into_iter().enumerate() {
                out.push_str(if i == 0 { "  " } else { "      " });
                out.push_str(&line);
                out.push('\n');
            }
        }
        for line in summary {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    if out.is_empty() {
        out = format!("no meta-command named {}\n", topic.unwrap_or_default());
    }
    if topic.is_none() {
        out.push_str(table::SHELL_ADDITIONS);
    }
    out
}

pub(super) fn not_cluster(session: &mut Session) -> Result<(), StdoutClosed> {
    session.printer.line("not in cluster mode (start rcli with -c)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_table_is_consistent() {
        let mut names: Vec<&str> = META.iter().map(|m| m.name).collect();
        assert!(names.iter().all(|n| n.starts_with(':') && n.len() > 1));
        assert!(META.iter().all(|m| !m.summary.is_empty()));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), META.len(), "names are unique");
    }

    #[test]
    fn help_fits_80_columns_and_names_every_meta_command() {
        let text = help_text(None);
        assert!(text.lines().all(|l| l.chars().count() <= HELP_WIDTH), "{text}");
        assert!(META.iter().all(|m| text.contains(&format!("  {}", m.name))), "{text}");
        assert!(help_text(Some(":nodes")).starts_with("  :nodes"));
        assert_eq!(help_text(Some(":nope")), "no meta-command named :nope\n");
    }
}
