//! `--eval FILE [keys…] [, args…]`: the script at FILE as an EVAL, with redis-cli's
//! comma syntax (docs/redis-cli-modes.md §7). In cluster mode its keys must share a
//! slot, refused and explained like any cross-slot command otherwise. With `--ldb` or
//! `--ldb-sync-mode`, the Lua debugger: `SCRIPT DEBUG`, then a `lua debugger> ` prompt
//! whose lines go to the server as debugger commands, its replies shown as redis-cli
//! shows them (colours per line kind), until the session ends and the shell goes on.

use std::path::Path;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::cli::LuaDebug;
use crate::client::pool::Exchange;
use crate::cluster::route::Plan;
use crate::error::Error;
use crate::exit::Exit;
use crate::protocol::encode;
use crate::protocol::render::{Format, OutputMode};
use crate::protocol::resp::Frame;
use crate::protocol::split::split_args;
use crate::session::Session;
use crate::session::hooks::NoHooks;

/// `EVAL script numkeys …`: the arguments before the first standalone `,` are keys, the
/// rest arguments (later commas are ordinary arguments).
pub fn eval_argv(script: Vec<u8>, args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let comma = args.iter().position(|a| a.as_slice() == b",");
    let numkeys = comma.unwrap_or(args.len());
    let mut argv = vec![b"EVAL".to_vec(), script, numkeys.to_string().into_bytes()];
    argv.extend(args.iter().enumerate().filter(|(i, _)| Some(*i) != comma).map(|(_, a)| a.clone()));
    argv
}

fn read_script(session: &mut Session, file: &Path) -> Option<Vec<u8>> {
    match std::fs::read(file) {
        Ok(script) => Some(script),
        Err(e) => {
            session.printer.note(&format!("Can't open file '{}': {}", file.display(), crate::error::os_message(&e)));
            None
        }
    }
}

/// How `--eval` ended.
pub enum Evaluated {
    Done(Exit),
    /// A debugging session that ended well: redis-cli goes on as a normal shell, replies
    /// formatted for a person (the caller starts it).
    ToShell,
}

/// Runs `--eval` (`color`: the debugger's Lua source is coloured).
pub fn run(
    session: &mut Session,
    file: &Path,
    args: &[Vec<u8>],
    debug: Option<LuaDebug>,
    repeat: i64,
    color: bool,
) -> Evaluated {
    let Some(script) = read_script(session, file) else { return Evaluated::Done(Exit::Failure) };
    if !session.connect_and_report() {
        return Evaluated::Done(Exit::Failure);
    }
    let Some(mode) = debug else {
        let flow = session.run_command(eval_argv(script, args), repeat, &mut NoHooks);
        let _ = session.printer.flush();
        return Evaluated::Done(session.exit_for(flow));
    };
    debugger(session, file, args, mode, color)
}

const BANNER: &str = "Lua debugging session started, please use:\nquit    -- End the session.\nrestart -- Restart the script in debug mode again.\nhelp    -- Show Lua script debugging commands.\n";

/// What became of a debugger reply.
enum Shown {
    /// The session goes on.
    Running,
    /// The server ended the session (`<endsession>`).
    Ended,
}

fn debugger(session: &mut Session, file: &Path, args: &[Vec<u8>], mode: LuaDebug, color: bool) -> Evaluated {
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => {
            session.printer.note(&format!("cannot start the line editor: {e}"));
            return Evaluated::Done(Exit::Failure);
        }
    };
    'restart: loop {
        let _ = session.printer.line(BANNER);
        let Some(script) = read_script(session, file) else { return Evaluated::Done(Exit::Failure) };
        let argv = eval_argv(script, args);
        let mut exchange = match start(session, &argv, mode) {
            Ok(exchange) => exchange,
            Err(e) => {
                session.printer.note(&e.to_string());
                return Evaluated::Done(Exit::Failure);
            }
        };
        match read_and_show(session, &mut exchange, color) {
            Err(e) => return Evaluated::Done(failed(session, &e)),
            Ok(Shown::Ended) => {
                let _ = session.printer.line("Eval debugging session can't start:");
                return match exchange.read(None) {
                    Ok(reply) => Evaluated::Done(Exit::from_ok(standard(session, &reply).is_ok())),
                    Err(e) => Evaluated::Done(failed(session, &e)),
                };
            }
            Ok(Shown::Running) => {}
        }
        loop {
            let _ = session.printer.flush();
            let line = match editor.readline("lua debugger> ") {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => continue,
                Err(_) => return Evaluated::Done(Exit::Success),
            };
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let _ = editor.add_history_entry(trimmed);
            match trimmed.to_ascii_lowercase().as_str() {
                "quit" | "exit" => return Evaluated::Done(Exit::Success),
                "restart" => {
                    // A new connection ends the old session on the server.
                    drop(exchange);
                    let _ = session.printer.line("");
                    continue 'restart;
                }
                _ => {}
            }
            let command = debugger_words(trimmed);
            let mut out = Vec::new();
            encode::encode_command(&command, &mut out);
            if let Err(e) = exchange.send(&out, 1) {
                return Evaluated::Done(failed(session, &e));
            }
            match read_and_show(session, &mut exchange, color) {
                Err(e) => return Evaluated::Done(failed(session, &e)),
                Ok(Shown::Running) => {}
                Ok(Shown::Ended) => {
                    let result = exchange.read(None);
                    let ended = match result {
                        Ok(reply) => standard(session, &reply),
                        Err(e) => return Evaluated::Done(failed(session, &e)),
                    };
                    if ended.is_err() {
                        return Evaluated::Done(Exit::Success);
                    }
                    let suffix = if mode == LuaDebug::Forked { " -- dataset changes rolled back" } else { "" };
                    let _ = session.printer.write(format!("\n(Lua debugging session ended{suffix})\n\n").as_bytes());
                    let _ = session.printer.flush();
                    session.client.pool().give_back(exchange);
                    // redis-cli goes on as a normal shell, replies formatted for a person.
                    session.printer.format = Format::new(OutputMode::Tty);
                    session.interactive = true;
                    return Evaluated::ToShell;
                }
            }
        }
    }
}

fn failed(session: &mut Session, error: &Error) -> Exit {
    session.printer.note(&error.to_string());
    Exit::Failure
}

/// The node for the script (its keys' slot in cluster mode), SCRIPT DEBUG, and EVAL.
fn start(session: &mut Session, argv: &[Vec<u8>], mode: LuaDebug) -> crate::error::Result<Exchange> {
    let command = session.client.command(argv.to_vec());
    let endpoint = match session.client.plan(&command)? {
        Plan::Node(endpoint) => endpoint,
        Plan::Slot { slot, endpoint } => {
            session.client.prepare_slot(command.traits, slot, endpoint, &mut Vec::new())?
        }
        Plan::Split { .. } | Plan::Fanout { .. } => {
            return Err(Error::Refused("the script's keys must share a slot".into()));
        }
    };
    let mut exchange = session.client.pool().borrow(&endpoint)?;
    let debug = if mode == LuaDebug::Sync { "sync" } else { "yes" };
    // One after the other, as redis-cli does: in forked mode the server forks at EVAL,
    // and SCRIPT DEBUG's reply must be in before that.
    let mut out = Vec::new();
    encode::encode_command(&["SCRIPT", "DEBUG", debug], &mut out);
    exchange.send(&out, 1)?;
    // redis-cli does not show SCRIPT DEBUG's reply.
    let _ = exchange.read(None)?;
    out.clear();
    encode::encode_command(argv, &mut out);
    exchange.send(&out, 1)?;
    Ok(exchange)
}

/// A typed debugger line: `eval …`/`e …` keep the rest of the line as one argument (a
/// Lua snippet), anything else is split like a command.
fn debugger_words(line: &str) -> Vec<Vec<u8>> {
    for head in ["eval ", "e "] {
        if let Some(rest) = line.strip_prefix(head) {
            return vec![head.trim_end().as_bytes().to_vec(), rest.as_bytes().to_vec()];
        }
    }
    split_args(line.as_bytes()).unwrap_or_else(|_| vec![line.as_bytes().to_vec()])
}

/// Reads one debugger reply and prints its lines; `<endsession>` is not printed.
fn read_and_show(session: &mut Session, exchange: &mut Exchange, color: bool) -> crate::error::Result<Shown> {
    let reply = exchange.read(None)?;
    let lines: Vec<Vec<u8>> = match &reply {
        Frame::Array(items) => items.iter().filter_map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect(),
        other => vec![other.as_bytes().or(other.as_error()).unwrap_or_default().to_vec()],
    };
    let mut shown = Shown::Running;
    let mut text = Vec::new();
    for line in lines {
        if line.starts_with(b"<endsession>") {
            shown = Shown::Ended;
            continue;
        }
        let painted = colourize(&line, color);
        text.extend_from_slice(&painted);
        text.push(b'\n');
    }
    if text.is_empty() {
        text.push(b'\n');
    }
    let _ = session.printer.write(&text);
    Ok(shown)
}

/// A reply printed for a person, whatever the output mode.
fn standard(session: &mut Session, reply: &Frame) -> Result<(), crate::output::StdoutClosed> {
    let mut out = Vec::new();
    Format::new(OutputMode::Tty).reply(reply, false, &mut out);
    session.printer.write(&out)
}

/// A debugger line in redis-cli's colours (docs/redis-cli-modes.md §7.2): later rules
/// win; control characters from the server are escaped first.
fn colourize(line: &[u8], colour: bool) -> Vec<u8> {
    let text = crate::protocol::text::escape_bytes(line);
    if !colour {
        return text.into_bytes();
    }
    let contains = |needle: &str| text.contains(needle);
    let (mut bold, mut code) = (false, 37);
    if contains("<debug>") {
        bold = true;
    }
    if contains("<redis>") {
        code = 32;
    }
    if contains("<reply>") {
        code = 36;
    }
    if contains("<error>") {
        code = 31;
    }
    if contains("<hint>") {
        bold = true;
    }
    if contains("<value>") || contains("<retval>") {
        code = 35;
    }
    let bytes = text.as_bytes();
    if bytes.len() > 4 && bytes.get(3).is_some_and(u8::is_ascii_digit) {
        if bytes.get(1) == Some(&b'>') {
            code = 33;
        } else if bytes.get(2) == Some(&b'#') {
            bold = true;
        }
    }
    format!("\u{1b}[{};{code};49m{text}\u{1b}[0m", u8::from(bold)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn shown(argv: Vec<Vec<u8>>) -> Vec<String> {
        argv.into_iter().skip(2).map(|a| String::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn the_first_standalone_comma_separates_keys_from_args() {
        assert_eq!(
            shown(eval_argv(b"s".to_vec(), &args(&["k1", "k2", ",", "a1", "a2"]))),
            ["2", "k1", "k2", "a1", "a2"]
        );
        assert_eq!(shown(eval_argv(b"s".to_vec(), &args(&["k1", "k2"]))), ["2", "k1", "k2"]);
        assert_eq!(shown(eval_argv(b"s".to_vec(), &args(&["k1,", "a1"]))), ["2", "k1,", "a1"]);
        assert_eq!(shown(eval_argv(b"s".to_vec(), &args(&[",", "a1", ",", "a2"]))), ["0", "a1", ",", "a2"]);
        assert_eq!(shown(eval_argv(b"s".to_vec(), &[])), ["0"]);
    }

    #[test]
    fn debugger_lines_keep_lua_snippets_whole() {
        assert_eq!(debugger_words("eval redis.call('ping')"), args(&["eval", "redis.call('ping')"]));
        assert_eq!(debugger_words("e 1 + 1"), args(&["e", "1 + 1"]));
        assert_eq!(debugger_words("break 3"), args(&["break", "3"]));
    }

    #[test]
    fn debugger_lines_are_coloured_like_redis_cli() {
        let c = |line: &str| String::from_utf8(colourize(line.as_bytes(), true)).unwrap();
        assert_eq!(c("<redis> set dk dv"), "\u{1b}[0;32;49m<redis> set dk dv\u{1b}[0m");
        assert_eq!(c("<reply> \"+OK\""), "\u{1b}[0;36;49m<reply> \"+OK\"\u{1b}[0m");
        assert_eq!(c("-> 1   local a = 1"), "\u{1b}[0;33;49m-> 1   local a = 1\u{1b}[0m");
        assert_eq!(c("  #3   return b"), "\u{1b}[1;37;49m  #3   return b\u{1b}[0m");
        assert_eq!(c("<value> a = 1"), "\u{1b}[0;35;49m<value> a = 1\u{1b}[0m");
        assert_eq!(c("<error> Unknown"), "\u{1b}[0;31;49m<error> Unknown\u{1b}[0m");
        assert_eq!(String::from_utf8(colourize(b"<redis> x", false)).unwrap(), "<redis> x");
    }
}
