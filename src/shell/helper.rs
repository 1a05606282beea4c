//! The line editor's helper: completion, hints and highlighting for the shell. It
//! works from a [`HelperState`] snapshot the shell refreshes after every line (command
//! docs and table, the slot map, keys seen, preferences).
//!
//! * Completion (Tab): command names and subcommands, tokens valid at the cursor
//!   (`SET k v EX|PX|NX…`), meta-commands and their arguments, `help` topics and
//!   `@groups`, and key names seen in this session or found by a SCAN the Tab asks
//!   for ([`crate::shell::key_scan`], the helper's only way to the network: another
//!   thread's, waited for a few milliseconds at most).
//! * Hints (grey, after the cursor): the remaining syntax, where the last key lands
//!   (`slot 11326 → 127.0.0.1:7002`), and a CROSSSLOT warning before Enter.
//! * Highlighting: the command, keys in their owner's colour with the hashed part
//!   underlined, strings and numbers, and what does not fit in red.

use std::borrow::Cow;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use crate::cluster::commands::CommandTable;
use crate::cluster::route::SplitKind;
use crate::cluster::slot::{self, HashedPart};
use crate::cluster::target::TARGET_WORDS;
use crate::cluster::topology::Topology;
use crate::endpoint::Endpoint;
use crate::protocol::split::split_args;
use crate::session::SHELL_WORDS;
use crate::shell::docs::Docs;
use crate::shell::hints;
use crate::shell::key_scan::KeyScanner;
use crate::shell::meta::table::META;
use crate::shell::paint;

/// What the helper knows, refreshed by the shell after each line.
#[derive(Default, Clone)]
pub struct HelperState {
    pub docs: Arc<Docs>,
    pub commands: Arc<CommandTable>,
    pub topology: Option<Arc<Topology>>,
    pub hints: bool,
    pub color: bool,
    pub keys: Arc<Vec<Vec<u8>>>,
    /// Keys found by SCAN on demand (a Tab at a key position asks).
    pub scanner: Option<Arc<KeyScanner>>,
}

/// The rustyline helper.
#[derive(Default)]
pub struct RcliHelper {
    pub state: HelperState,
}

/// A word of the typed line: where it is and what it means once unquoted.
#[derive(Debug, Clone)]
struct Word {
    start: usize,
    end: usize,
    value: Vec<u8>,
    quoted: bool,
}

/// Splits a line being typed into words, tolerating an unfinished quote.
fn words(line: &str) -> Vec<Word> {
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let mut quote: Option<u8> = None;
        while let Some(&b) = bytes.get(i) {
            match quote {
                Some(_) if b == b'\\' && i + 1 < bytes.len() => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b.is_ascii_whitespace() => break,
                None => {}
            }
            i += 1;
        }
        let text = line.get(start..i).unwrap_or_default();
        let value = match split_args(text.as_bytes()) {
            Ok(mut parts) if parts.len() == 1 => parts.remove(0),
            _ => text.trim_matches(|c| c == '"' || c == '\'').as_bytes().to_vec(),
        };
        words.push(Word { start, end: i, value, quoted: text.contains(['"', '\'']) });
    }
    words
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn starts_with_ignore_case(candidate: &str, prefix: &str) -> bool {
    candidate.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

impl HelperState {
    /// The primary that owns `slot` and its colour index.
    fn owner(&self, slot: u16) -> Option<(usize, Endpoint)> {
        let topo = self.topology.as_ref()?;
        let owner = topo.owner(slot)?.clone();
        Some((topo.colour_index(&owner)?, owner))
    }

    /// The argument hint for complete `words` (the command first).
    fn syntax_hint(&self, words: &[String]) -> Option<String> {
        let first = words.first()?;
        if first.starts_with(':') {
            let meta = META.iter().find(|m| m.name.eq_ignore_ascii_case(first))?;
            return (words.len() == 1).then(|| meta.args.to_string());
        }
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let entry = self.docs.lookup(&refs)?;
        let used = entry.words().len();
        if words.len() < used {
            return None;
        }
        hints::hint(&entry.args, refs.get(used..).unwrap_or_default())
    }

    /// Where the keys typed so far land: the last key's slot and owner, or a CROSSSLOT
    /// warning when they span slots.
    fn key_hint(&self, argv: &[Vec<u8>]) -> Option<String> {
        let positions = self.commands.key_positions(argv);
        let keys: Vec<&[u8]> = positions.iter().filter_map(|&p| argv.get(p)).map(Vec::as_slice).collect();
        let last = *keys.last()?;
        let slots: Vec<u16> = keys.iter().map(|k| slot::slot_of(k)).collect();
        let first_slot = *slots.first()?;
        if slots.iter().any(|&s| s != first_slot) {
            let list: Vec<String> = keys.iter().zip(&slots).map(|(k, s)| format!("{} → {s}", text(k))).collect();
            let split = argv.first().is_some_and(|name| SplitKind::of(name).is_some());
            let note = if split { " (rcli will split it per slot, not atomic)" } else { " (use a common {hash tag})" };
            return Some(format!("CROSSSLOT: {}{note}", list.join(", ")));
        }
        let part = slot::hashed_part(last);
        let mut hint = format!("slot {first_slot}");
        if let HashedPart::Tag { .. } = part {
            hint.push_str(&format!(" (hashes \"{}\")", text(part.bytes(last))));
        }
        if let Some((_, owner)) = self.owner(first_slot) {
            hint.push_str(&format!(" → {owner}"));
        }
        Some(hint)
    }

    /// The whole hint for `line` with the cursor at its end.
    pub fn hint_for(&self, line: &str) -> Option<String> {
        if !self.hints || line.trim().is_empty() {
            return None;
        }
        let all = words(line);
        let ends_with_space = line.ends_with(|c: char| c.is_ascii_whitespace());
        let complete: Vec<&Word> = if ends_with_space {
            all.iter().collect()
        } else {
            all.split_last().map(|(_, done)| done.iter().collect()).unwrap_or_default()
        };
        let names: Vec<String> = complete.iter().map(|w| text(&w.value)).collect();
        let (syntax, keys) = if complete.is_empty() {
            // Only the command being typed: hint once it names a command.
            let typed = text(&all.first()?.value);
            let known = self.docs.lookup(&[typed.as_str()]).is_some_and(|e| e.words().len() == 1);
            (if known { self.syntax_hint(&[typed]) } else { None }, None)
        } else {
            let argv: Vec<Vec<u8>> = complete.iter().map(|w| w.value.clone()).collect();
            let keys = if names.first().is_some_and(|n| n.starts_with(':')) { None } else { self.key_hint(&argv) };
            // As in redis-cli 7.2, a word being typed counts as given: `get k` hints
            // nothing more, `set k` hints `value …`. Where keys land waits for the
            // space that ends a key.
            let typed: Vec<String> = all.iter().map(|w| text(&w.value)).collect();
            (self.syntax_hint(&typed), keys)
        };
        let mut parts = Vec::new();
        if let Some(syntax) = syntax.filter(|s| !s.is_empty()) {
            parts.push(syntax);
        }
        if let Some(keys) = keys {
            parts.push(format!("· {keys}"));
        }
        if parts.is_empty() {
            return None;
        }
        let joined = parts.join("  ");
        Some(if ends_with_space { joined } else { format!(" {joined}") })
    }

    /// Key names to complete: seen in this session, then found by SCAN.
    fn key_names(&self) -> Vec<String> {
        let scanned = self.scanner.as_ref().map(|s| s.names()).unwrap_or_default();
        self.keys.iter().chain(scanned.iter()).map(|k| text(k)).collect()
    }

    /// The part of a key typed before `pos` when the cursor is at a key position (what
    /// a SCAN for completion looks for).
    pub fn key_word_at(&self, line: &str, pos: usize) -> Option<Vec<u8>> {
        let before = line.get(..pos).unwrap_or(line);
        let all = words(before);
        let ends_with_space = before.is_empty() || before.ends_with(|c: char| c.is_ascii_whitespace());
        let (typed, complete) = match all.split_last() {
            Some((last, done)) if !ends_with_space => (last.value.clone(), done),
            _ => (Vec::new(), all.as_slice()),
        };
        let first = text(&complete.first()?.value);
        let at_key = if [":slot", ":peek", "peek"].iter().any(|w| first.eq_ignore_ascii_case(w)) {
            true
        } else {
            let mut probe: Vec<Vec<u8>> = complete.iter().map(|w| w.value.clone()).collect();
            probe.push(b"x".to_vec());
            self.commands.key_positions(&probe).contains(&(probe.len() - 1))
        };
        at_key.then_some(typed)
    }

    /// Completion candidates for the word ending at `pos`: (start of the word, candidates).
    pub fn complete_at(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        let all = words(before);
        let ends_with_space = before.is_empty() || before.ends_with(|c: char| c.is_ascii_whitespace());
        let (start, typed, complete) = match all.split_last() {
            Some((last, done)) if !ends_with_space => (last.start, text(&last.value), done),
            _ => (pos, String::new(), all.as_slice()),
        };
        let names: Vec<String> = complete.iter().map(|w| text(&w.value)).collect();
        let mut candidates: Vec<String> = Vec::new();
        match names.first().map(String::as_str) {
            None if typed.starts_with(':') => candidates.extend(META.iter().map(|m| m.name.to_string())),
            None => {
                candidates.extend(self.docs.entries.iter().filter(|e| !e.name.contains(' ')).map(|e| e.name.clone()));
                candidates.extend(SHELL_WORDS.iter().map(|w| w.to_string()));
            }
            Some(first) if first.eq_ignore_ascii_case("help") => {
                candidates.extend(self.docs.entries.iter().filter(|e| !e.name.contains(' ')).map(|e| e.name.clone()));
                candidates.extend(self.docs.groups().into_iter().map(|g| format!("@{g}")));
            }
            Some(first) if first.eq_ignore_ascii_case("peek") && names.len() == 1 => {
                candidates.extend(self.key_names())
            }
            Some(first) if first.starts_with(':') => {
                let nodes = || {
                    self.topology
                        .iter()
                        .flat_map(|t| t.all_nodes().into_iter().map(|n| n.endpoint.to_string()))
                        .collect::<Vec<_>>()
                };
                match first.to_ascii_lowercase().as_str() {
                    ":use" if names.len() == 1 => {
                        candidates.extend(TARGET_WORDS.iter().map(|w| w.to_string()));
                        candidates.extend(nodes());
                    }
                    ":set" if names.len() == 1 => candidates.extend(
                        ["hints", "nohints", "color", "hops", "merge", "confirm", "pager", "address-map", "az"]
                            .map(String::from),
                    ),
                    ":set" if names.get(1).is_some_and(|w| w.eq_ignore_ascii_case("az")) => {
                        let mut zones: Vec<String> =
                            self.topology.iter().flat_map(|t| t.all_nodes()).filter_map(|n| n.zone.clone()).collect();
                        zones.sort();
                        zones.dedup();
                        candidates.extend(zones);
                        candidates.push("clear".into());
                    }
                    ":set" => candidates.extend(["auto", "always", "never", "on", "off"].map(String::from)),
                    ":readonly" | ":hops" => candidates.extend(["on", "off"].map(String::from)),
                    ":help" => candidates.extend(META.iter().map(|m| m.name.to_string())),
                    ":slot" | ":peek" => candidates.extend(self.key_names()),
                    _ => {}
                }
            }
            Some(first) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let subcommands: Vec<String> = self
                    .docs
                    .entries
                    .iter()
                    .filter_map(|e| match e.words().as_slice() {
                        [container, sub] if container.eq_ignore_ascii_case(first) => Some(sub.to_string()),
                        _ => None,
                    })
                    .collect();
                if names.len() == 1 && !subcommands.is_empty() {
                    candidates.extend(subcommands);
                } else if let Some(entry) = self.docs.lookup(&refs) {
                    candidates
                        .extend(hints::next_tokens(&entry.args, refs.get(entry.words().len()..).unwrap_or_default()));
                    let mut probe: Vec<Vec<u8>> = complete.iter().map(|w| w.value.clone()).collect();
                    probe.push(b"x".to_vec());
                    if self.commands.key_positions(&probe).contains(&(probe.len() - 1)) {
                        candidates.extend(self.key_names());
                    }
                }
            }
        }
        let upper = typed.is_empty() || typed.chars().any(|c| c.is_ascii_uppercase()) || names.is_empty();
        let mut out: Vec<String> = candidates
            .into_iter()
            .filter(|c| starts_with_ignore_case(c, &typed))
            .map(|c| {
                // Command names and tokens are upper case, as redis-cli completes them;
                // keys, nodes and meta words keep their case.
                let is_word =
                    c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == '-' || ch.is_ascii_digit());
                if is_word && !upper { c.to_ascii_lowercase() } else { c }
            })
            .collect();
        // redis-cli upper-cases a completed command name whatever the case typed.
        if names.is_empty() && !typed.starts_with(':') {
            out = out
                .into_iter()
                .map(|c| if SHELL_WORDS.contains(&c.as_str()) { c } else { c.to_ascii_uppercase() })
                .collect();
        }
        // Shortest first, so `ge<Tab>` gives GET before GEOADD (Tab cycles, as in redis-cli).
        out.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        out.dedup();
        (start, out)
    }

    /// The typed line with colours.
    pub fn highlight_line(&self, line: &str) -> String {
        let all = words(line);
        if all.is_empty() {
            return line.to_string();
        }
        let argv: Vec<Vec<u8>> = all.iter().map(|w| w.value.clone()).collect();
        let first = argv.first().map(|w| text(w)).unwrap_or_default();
        let known = first.starts_with(':')
            || SHELL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(&first))
            || self.commands.lookup(&argv).is_some()
            || self.docs.lookup(&[first.as_str()]).is_some();
        let keys = if first.starts_with(':') { Vec::new() } else { self.commands.key_positions(&argv) };
        let ends_with_space = line.ends_with(|c: char| c.is_ascii_whitespace());
        let complete = if ends_with_space { all.len() } else { all.len().saturating_sub(1) };
        let names: Vec<String> = all.iter().take(complete.max(1)).map(|w| text(&w.value)).collect();
        let wrong_from = if known && complete > 1 && !first.starts_with(':') && self.syntax_hint(&names).is_none() {
            Some(complete - 1)
        } else {
            None
        };
        let mut out = String::with_capacity(line.len() * 2);
        let mut at = 0;
        for (i, word) in all.iter().enumerate() {
            out.push_str(line.get(at..word.start).unwrap_or_default());
            let raw = line.get(word.start..word.end).unwrap_or_default();
            let painted = if i == 0 {
                if known { paint::bold(raw) } else { paint::wrong(raw) }
            } else if wrong_from.is_some_and(|w| i >= w) {
                paint::wrong(raw)
            } else if keys.contains(&i) {
                self.paint_key(raw, &word.value, word.quoted)
            } else if word.quoted {
                paint::string(raw)
            } else if raw.parse::<f64>().is_ok() {
                paint::number(raw)
            } else {
                raw.to_string()
            };
            out.push_str(&painted);
            at = word.end;
        }
        out.push_str(line.get(at..).unwrap_or_default());
        out
    }

    /// A key in its owner's colour, its hashed part underlined (unquoted keys only).
    fn paint_key(&self, raw: &str, value: &[u8], quoted: bool) -> String {
        let part = slot::hashed_part(value);
        let underlined = match part {
            HashedPart::Tag { start, end } if !quoted => {
                match (raw.get(..start), raw.get(start..end), raw.get(end..)) {
                    (Some(before), Some(tag), Some(after)) => format!("{before}{}{after}", paint::underline(tag)),
                    _ => raw.to_string(),
                }
            }
            _ => raw.to_string(),
        };
        match self.owner(slot::slot_of(value)) {
            Some((index, _)) => paint::node(index, &underlined),
            None => underlined,
        }
    }
}

impl Helper for RcliHelper {}
impl Validator for RcliHelper {}

impl Completer for RcliHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if let (Some(scanner), Some(prefix)) = (&self.state.scanner, self.state.key_word_at(line, pos)) {
            scanner.request(&prefix);
        }
        let (start, candidates) = self.state.complete_at(line, pos);
        Ok((start, candidates.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect()))
    }
}

impl Hinter for RcliHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        self.state.hint_for(line)
    }
}

impl Highlighter for RcliHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.state.color { Cow::Owned(self.state.highlight_line(line)) } else { Cow::Borrowed(line) }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.state.color {
            return Cow::Borrowed(hint);
        }
        match hint.find("CROSSSLOT").map(|at| hint.split_at(at)) {
            Some((before, warning)) => Cow::Owned(format!("{}{}", paint::grey(before), paint::warning(warning))),
            None => Cow::Owned(paint::grey(hint)),
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.state.color
    }
}

#[cfg(test)]
#[path = "helper_tests.rs"]
mod tests;
