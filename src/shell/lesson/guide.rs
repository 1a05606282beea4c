//! The shell's side of a lesson: the step's text before the prompt (in full when it is
//! new, a one-line banner after that), `:lesson [NAME|skip|quit]`, and after every
//! line the check — the probes read through rcli's client (a bounded wait each, Ctrl-C
//! honoured), then what the lesson says, printed through the session's printer with any
//! server text escaped.

use std::time::Duration;

use super::progress::{Progress, Said};
use super::reading::{CONFIG_READ, Probe, Readings, ValueReading, parse_info};
use super::{Attempt, LESSONS, Lesson, NodeReading, find};
use crate::cluster::slot;
use crate::endpoint::Endpoint;
use crate::error::{Error, os_message};
use crate::output::StdoutClosed;
use crate::protocol::resp::Frame;
use crate::protocol::split::{Repeat, repeat_prefix, repr_string, split_args};
use crate::protocol::text;
use crate::session::Session;
use crate::shell::state::Shell;
use crate::shell::{meta, paint};

/// The longest a probe waits for a node's reply: a node silent for longer counts as
/// not answering (a frozen node, for the failover lesson).
const PROBE_WAIT: Duration = Duration::from_millis(1500);

/// Lesson text is wrapped to this width.
const WIDTH: usize = 80;

/// The lesson (if any) of a sandbox shell.
pub struct Guide {
    progress: Option<Progress>,
    /// The step shown in full last (lesson name, index), so each step is shown once.
    shown: Option<(&'static str, usize)>,
    /// The shell has the sandbox lab commands (`:kill`, `:restart`, …).
    lab: bool,
}

impl Guide {
    /// A guide running `lesson`, or idle until `:lesson NAME`.
    pub fn new(lesson: Option<&'static Lesson>) -> Guide {
        let lab = meta::META.iter().any(|m| m.name == ":kill");
        Guide { progress: lesson.map(|l| Progress::new(l, lab)), shown: None, lab }
    }

    /// True for a line the guide runs itself (`:lesson …`).
    pub fn handles(line: &str) -> bool {
        line.split_whitespace().next().is_some_and(|w| w.eq_ignore_ascii_case(":lesson"))
    }

    /// Before each prompt: a new step in full (the lesson's opening before its first),
    /// else the banner line.
    pub fn before_prompt(&mut self, shell: &Shell, session: &mut Session) {
        let Some(progress) = &self.progress else { return };
        let Some((index, _)) = progress.current() else { return };
        let key = (progress.lesson.name, index);
        let text = if self.shown == Some(key) {
            progress.banner().map(|b| if shell.prefs.color { paint::grey(&safe(&b)) } else { safe(&b) })
        } else {
            // A blank line sets a new step apart; the lesson's opening comes before its first.
            let opening = if index == 0 && self.shown.is_none_or(|(name, _)| name != key.0) {
                format!("{}\n\n", progress.intro())
            } else {
                "\n".to_string()
            };
            self.shown = Some(key);
            progress.step_text().map(|t| safe(&format!("{opening}{t}")))
        };
        if let Some(text) = text {
            let _ = show(session, &text);
        }
    }

    /// Runs `:lesson [NAME|skip|quit]`.
    pub fn command(&mut self, shell: &Shell, session: &mut Session, line: &str) {
        let word = line.split_whitespace().nth(1).map(str::to_ascii_lowercase);
        let running = self.progress.as_ref().map(|p| p.lesson.name);
        let text = match (word.as_deref(), running) {
            (None, Some(_)) => {
                // The step is shown again, in full, before the next prompt.
                self.shown = None;
                return;
            }
            (None, None) => lesson_list(),
            (Some("skip"), Some(_)) => self.skip(shell.prefs.color),
            (Some("quit" | "stop" | "end"), Some(name)) => {
                self.progress = None;
                format!("Lesson {name} ended. `:lesson {name}` starts it again.")
            }
            (Some("skip" | "quit" | "stop" | "end"), None) => format!("No lesson is running. {}", lesson_list()),
            (Some(name), _) => match find(name) {
                Some(lesson) if lesson.needs_replicas && !has_replicas(session) => format!(
                    "The {} lesson needs replicas, and this cluster has none (start the sandbox with --replicas 1).",
                    lesson.name
                ),
                Some(lesson) => {
                    self.progress = Some(Progress::new(lesson, self.lab));
                    self.shown = None;
                    return;
                }
                None => format!("No lesson called '{}'. {}", safe(name), lesson_list()),
            },
        };
        let _ = show(session, &text);
    }

    fn skip(&mut self, color: bool) -> String {
        let Some(progress) = &mut self.progress else { return String::new() };
        let index = progress.current().map_or(0, |(i, _)| i + 1);
        let said = progress.skip();
        if progress.is_finished() {
            self.progress = None;
        }
        let mut text = format!("Step {index} skipped.");
        if !said.is_empty() {
            text.push('\n');
            text.push_str(&said_text(&said, color));
        }
        text
    }

    /// After a line ran (`line` is empty for Enter on an empty line): checks it against
    /// the current step and says what the lesson has to say.
    pub fn after(&mut self, shell: &Shell, session: &mut Session, line: &str) {
        let Some(progress) = &mut self.progress else { return };
        if session.interrupted() {
            return;
        }
        let Ok(mut argv) = split_args(line.as_bytes()) else { return };
        if matches!(repeat_prefix(&argv), Repeat::Times(_)) && !argv.is_empty() {
            argv.remove(0);
        }
        let positions = session.client.commands().key_positions(&argv);
        // An empty line sent nothing: what the last command got is not its outcome.
        let outcome = if argv.is_empty() { None } else { shell.last_outcome.clone() };
        let at = session.client.current().clone();
        let attempt = Attempt::new(&argv, &positions, outcome.as_ref(), Some(&at));
        let mut said = Vec::new();
        let mut first = true;
        // A step reached moves on, and the same attempt is checked against the next one.
        for _ in 0..=progress.lesson.steps.len() {
            let probes = progress.probes(&attempt, first);
            let Some(found) = gather(session, &probes) else { return };
            let readings = Readings { map: session.client.topology(), ..found };
            if first {
                progress.observe(&attempt, &readings);
            }
            let (words, moved) = progress.check(&attempt, &readings, !first);
            said.extend(words);
            first = false;
            if !moved {
                break;
            }
        }
        if progress.is_finished() {
            self.progress = None;
        }
        if !said.is_empty() {
            let _ = show(session, &said_text(&said, shell.prefs.color));
        }
    }
}

fn lesson_list() -> String {
    let names: Vec<String> = LESSONS.iter().map(|l| format!("`:lesson {}` ({})", l.name, l.title)).collect();
    format!("Lessons: {}.", names.join(", "))
}

fn has_replicas(session: &Session) -> bool {
    session.client.topology().is_some_and(|t| !t.replica_nodes().is_empty())
}

fn said_text(said: &[Said], color: bool) -> String {
    let mark = |text: &str, paint_it: fn(&str) -> String| if color { paint_it(text) } else { text.to_string() };
    let parts: Vec<String> = said
        .iter()
        .map(|s| match s {
            Said::Done { index, explanation } => {
                format!("{} {}", mark(&format!("✓ step {}:", index + 1), paint::string), safe(explanation))
            }
            Said::Hint(text) => format!("{} {}", mark("hint:", paint::number), safe(text)),
            Said::Finished(text) => mark(&safe(text), paint::bold),
        })
        .collect();
    parts.join("\n")
}

/// Lesson text with its control characters escaped (it quotes server text: errors,
/// values, node addresses); colour is added after.
fn safe(text: &str) -> String {
    text::escape_controls(text, true).into_owned()
}

/// Prints lesson text (made [`safe`] already), each paragraph wrapped to [`WIDTH`],
/// lines the lesson indents kept as they are.
fn show(session: &mut Session, text: &str) -> Result<(), StdoutClosed> {
    for line in text.lines() {
        if line.starts_with(' ') || line.chars().count() <= WIDTH {
            session.printer.line(line)?;
        } else {
            for piece in text::wrap(line, WIDTH) {
                session.printer.line(&piece)?;
            }
        }
    }
    session.printer.flush()
}

/// Reads `probes` through the session's client; `None` when Ctrl-C stopped it.
fn gather<'a>(session: &mut Session, probes: &[Probe]) -> Option<Readings<'a>> {
    let mut found = Readings::default();
    let examined = probes.iter().find_map(|p| match p {
        Probe::Node(node) => Some(node.clone()),
        _ => None,
    });
    for probe in probes {
        match probe {
            // The node being examined may hold a stale view (it was just restarted).
            Probe::FreshMap => {
                let _ = session.client.refresh_topology(examined.as_ref(), &mut Vec::new());
            }
            Probe::Node(node) => found.nodes.push((node.clone(), read_node(session, node))),
            Probe::Owner(slot) => {
                if let Some(owner) = session.client.owner(*slot) {
                    let reading = read_node(session, &owner);
                    found.nodes.push((owner, reading));
                }
            }
            Probe::Value(key) => {
                let value = read_value(session, key);
                found.values.push((key.clone(), value));
            }
            Probe::ServerSays(argv) => {
                let owner = argv.get(1).and_then(|key| session.client.owner(slot::slot_of(key)));
                if let Some(owner) = owner
                    && let Ok(frame) = session.client.pool().request(&owner, argv, Some(PROBE_WAIT))
                {
                    found.server_said = Some((owner, describe(&frame)));
                }
            }
        }
        if session.interrupted() {
            return None;
        }
    }
    Some(found)
}

/// PING, INFO and [`CONFIG_READ`] of one node, each bounded by [`PROBE_WAIT`].
fn read_node(session: &mut Session, node: &Endpoint) -> NodeReading {
    let pool = session.client.pool();
    if let Err(error) = pool.request(node, &["PING"], Some(PROBE_WAIT)) {
        return NodeReading::Silent(why_silent(&error));
    }
    let info = pool.request(node, &["INFO"], Some(PROBE_WAIT)).ok();
    let info = info.as_ref().and_then(Frame::as_bytes).map(|b| String::from_utf8_lossy(b).into_owned());
    let mut config_get = vec!["CONFIG", "GET"];
    config_get.extend(CONFIG_READ);
    let config = pool.request(node, &config_get, Some(PROBE_WAIT)).map(|f| pairs(&f)).unwrap_or_default();
    NodeReading::Up(parse_info(info.as_deref().unwrap_or_default(), &config))
}

/// CONFIG GET's name/value pairs (a RESP2 array or a RESP3 map).
fn pairs(frame: &Frame) -> Vec<(String, String)> {
    let text = |f: &Frame| f.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned());
    match frame {
        Frame::Map(entries) => entries.iter().filter_map(|(k, v)| Some((text(k)?, text(v)?))).collect(),
        Frame::Array(items) => {
            items.chunks(2).filter_map(|pair| Some((text(pair.first()?)?, text(pair.get(1)?)?))).collect()
        }
        _ => Vec::new(),
    }
}

fn why_silent(error: &Error) -> String {
    match error {
        Error::Connect { source, .. } | Error::Io { source, .. } => os_message(source),
        Error::Timeout { .. } => format!("no reply within {} ms", PROBE_WAIT.as_millis()),
        Error::Closed { .. } => "connection closed".into(),
        other => other.to_string(),
    }
}

/// GET `key` from its slot's owner, without following a redirect.
fn read_value(session: &mut Session, key: &[u8]) -> ValueReading {
    let owner = session.client.owner(slot::slot_of(key)).ok_or_else(|| "no owner in the slot map".to_string())?;
    let argv: [&[u8]; 2] = [b"GET", key];
    match session.client.pool().request(&owner, &argv, Some(PROBE_WAIT)) {
        Ok(Frame::Bulk(value)) => Ok(Some(value)),
        Ok(Frame::Null) => Ok(None),
        Ok(Frame::Error(error)) => Err(String::from_utf8_lossy(&error).into_owned()),
        Ok(_) => Err("not a string".into()),
        Err(error) => Err(error.to_string()),
    }
}

/// A reply as one line: `(error) …`, a quoted string, `(nil)`, a count.
fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Error(text) => format!("(error) {}", String::from_utf8_lossy(text)),
        Frame::Bulk(bytes) => repr_string(bytes),
        Frame::Simple(text) => String::from_utf8_lossy(text).into_owned(),
        Frame::Null => "(nil)".into(),
        Frame::Integer(n) => format!("(integer) {n}"),
        other => other.as_items().map_or_else(|| "a reply".into(), |items| format!("{} values", items.len())),
    }
}
