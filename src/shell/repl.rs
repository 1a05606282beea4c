//! The interactive shell: rustyline with rcli's helper, the redis-cli prompt
//! (`host:port[db](TX)> `), history without secrets, Ctrl-C that clears the line or
//! cancels a running command, Ctrl-D to leave, `COMMAND | shell command`
//! ([`super::pipe`]); in the sandbox, a lesson's guide before each prompt and after each
//! line (`shell/lesson/`).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustyline::config::{ColorMode, Config as EditorConfig};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{CompletionType, Editor};

use crate::client::state::SessionState;
use crate::endpoint::Endpoint;
use crate::exit::Exit;
use crate::output::{Destination, HopLines};
use crate::session::{Flow, Session};
use crate::shell::above_prompt;
use crate::shell::helper::{HelperState, RcliHelper};
use crate::shell::history;
use crate::shell::key_scan::KeyScanner;
use crate::shell::lesson::Guide;
use crate::shell::pager::Paging;
use crate::shell::state::Shell;
use crate::shell::subscribed::Subscription;

/// The prompt redis-cli would show (`(subscribed mode)` while subscriptions last).
pub fn prompt(session: &Session, subscribed: bool) -> String {
    let client = &session.client;
    if !client.is_connected() {
        return "not connected> ".to_string();
    }
    let mut text = match client.current() {
        Endpoint::Unix(path) => format!("redis {}", path.display()),
        tcp => tcp.to_string(),
    };
    if client.db() != 0 {
        text.push_str(&format!("[{}]", client.db()));
    }
    if client.in_transaction() {
        text.push_str("(TX)");
    }
    if subscribed {
        text.push_str("(subscribed mode)");
    }
    text.push_str("> ");
    text
}

/// Gives the helper a fresh snapshot; the slot map and keys are copied only when they
/// changed.
fn refresh_helper(
    editor: &mut Editor<RcliHelper, DefaultHistory>,
    shell: &mut Shell,
    session: &mut Session,
    seen: &mut (u64, usize),
    scan_for: &mut Option<(Vec<Endpoint>, SessionState)>,
) {
    let Some(helper) = editor.helper_mut() else { return };
    let state = &mut helper.state;
    state.docs = shell.docs();
    state.commands = session.client.command_table();
    state.hints = shell.prefs.hints;
    state.color = shell.prefs.color;
    let generation = session.client.topology_generation();
    if seen.0 != generation || state.topology.is_none() != session.client.topology().is_none() {
        state.topology = session.client.topology().cloned().map(Arc::new);
        seen.0 = generation;
    }
    if seen.1 != shell.seen_keys.len() {
        state.keys = Arc::new(shell.seen_keys.clone());
        seen.1 = shell.seen_keys.len();
    }
    // Completion's SCAN: the primaries (or the node in the prompt) with the session's
    // login and database; a new scanner when they change.
    let nodes: Vec<Endpoint> = match session.client.topology() {
        _ if !session.client.is_connected() => Vec::new(),
        Some(topology) => topology.primaries().into_iter().map(|n| n.endpoint.clone()).collect(),
        None => vec![session.client.current().clone()],
    };
    let login = session.client.pool().state().clone();
    if scan_for.as_ref().is_none_or(|(n, l)| *n != nodes || *l != login) {
        let settings = session.client.pool().settings().clone();
        state.scanner =
            (!nodes.is_empty()).then(|| Arc::new(KeyScanner::start(nodes.clone(), login.clone(), settings)));
        *scan_for = Some((nodes, login));
    }
}

/// Runs a typed line, its output through the pager when it is taller than the screen.
/// Not a command that waits (BLPOP, MONITOR: what they print — a redirect line first —
/// must show while they wait) nor a repeated one (`5 get k`): they print as they go.
fn run_paged(shell: &mut Shell, session: &mut Session, line: &str) -> Flow {
    use crate::protocol::split::{Repeat, repeat_prefix, split_args};
    let as_it_goes = split_args(line.as_bytes()).map_or(true, |argv| {
        repeat_prefix(&argv) != Repeat::Once || argv.is_empty() || session.client.command(argv).traits.waits
    });
    let paging = if as_it_goes { None } else { Paging::begin(shell.prefs.pager) };
    let Some((paging, writer)) = paging else { return session.run_line(line.as_bytes(), shell) };
    let previous = session.printer.divert(Destination::Writer(writer));
    // Hop lines (a redirect, a retry while a node is down) show as they happen, on the
    // same terminal (stderr, when it is one), not held with the reply.
    let hop_lines = session.printer.hop_lines;
    if hop_lines == HopLines::Stdout && std::io::stderr().is_terminal() {
        session.printer.hop_lines = HopLines::Stderr;
    }
    let flow = session.run_line(line.as_bytes(), shell);
    let _ = session.printer.flush();
    session.printer.hop_lines = hop_lines;
    drop(session.printer.divert(previous));
    paging.end();
    flow
}

/// Runs the shell until quit, Ctrl-D or a closed stdout; returns the exit code.
pub fn run(shell: &mut Shell, session: &mut Session) -> Exit {
    run_with(shell, session, None)
}

/// [`run`] with a lesson guide (the sandbox's shell).
pub fn run_with(shell: &mut Shell, session: &mut Session, mut guide: Option<Guide>) -> Exit {
    let interrupt = Arc::new(AtomicBool::new(false));
    let handler_flag = interrupt.clone();
    // Ctrl-C while a command runs sets the flag; the wait for the reply sees it.
    let _ = ctrlc::set_handler(move || handler_flag.store(true, Ordering::SeqCst));
    session.client.set_interrupt(interrupt.clone());
    // A person at a terminal, reading what rcli prints: only then the shell's own
    // additions (docs/shell.md); `rcli > file` keeps redis-cli's behaviour.
    shell.at_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();

    // Colour is decided by rcli (`--color`, `:set color`, NO_COLOR); the helper returns
    // plain text when it is off, so the editor always asks it.
    let config = EditorConfig::builder()
        .completion_type(CompletionType::Circular)
        .color_mode(ColorMode::Forced)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<RcliHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            crate::output::note(&format!("cannot start the line editor: {e}"));
            return Exit::Failure;
        }
    };
    editor.set_helper(Some(RcliHelper { state: HelperState::default() }));
    if let Some(lab) = shell.lab.as_deref_mut() {
        crate::shell::lab::attach(lab, &mut editor);
    }
    let mut seen = (u64::MAX, usize::MAX);
    let mut scan_for = None;
    let history_file = history::path();
    if let Some(path) = &history_file {
        for line in history::load(path) {
            let _ = editor.add_history_entry(line);
        }
    }
    let mut subscription: Option<Subscription> = None;
    loop {
        if let Some(lab) = shell.lab.as_deref_mut() {
            crate::shell::lab::between_lines(lab, session);
        }
        refresh_helper(&mut editor, shell, session, &mut seen, &mut scan_for);
        if subscription.as_ref().is_some_and(|s| !s.is_active()) {
            subscription = None;
        }
        if subscription.is_none()
            && let Some(guide) = &mut guide
        {
            guide.before_prompt(shell, session);
        }
        let prompt = prompt(session, subscription.is_some());
        match editor.readline(&prompt) {
            Ok(text) if subscription.is_some() => {
                // Subscribed: typed commands go to the subscribed connection.
                for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                    match crate::protocol::split::split_args(line.as_bytes()) {
                        Ok(argv) if argv.first().is_some_and(|w| crate::session::is_quit(w)) => return Exit::Success,
                        Ok(argv) => {
                            if let Some(s) = &subscription {
                                s.send(argv);
                            }
                        }
                        Err(_) => {
                            let _ = session.printer.line("Invalid argument(s)");
                        }
                    }
                    let _ = editor.add_history_entry(line);
                }
                let _ = session.printer.flush();
                // Let the reply (or the end of the mode) arrive before the next prompt.
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(ReadlineError::Interrupted) if subscription.is_some() => subscription = None,
            Ok(text) => {
                // What the cluster did while the user typed (a failover) first.
                if let Some(lab) = shell.lab.as_deref_mut() {
                    crate::shell::lab::between_lines(lab, session);
                }
                // A bracketed paste of several lines arrives as one: each line runs on
                // its own, in order, and each goes to the history; Ctrl-C stops the rest.
                interrupt.store(false, Ordering::SeqCst);
                if text.trim().is_empty()
                    && let Some(guide) = &mut guide
                {
                    // Enter on an empty line: the lesson checks the cluster now.
                    guide.after(shell, session, "");
                }
                for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
                    if line.trim().is_empty() {
                        continue;
                    }
                    if interrupt.load(Ordering::SeqCst) {
                        break;
                    }
                    // Secrets stay out of the history, in memory as on disk.
                    if !history::is_sensitive(line) {
                        let _ = editor.add_history_entry(line);
                        if let Some(path) = &history_file {
                            let _ = history::append(path, line);
                        }
                    }
                    if let Some(guide) = guide.as_mut().filter(|_| Guide::handles(line)) {
                        guide.command(shell, session, line);
                        continue;
                    }
                    let flow = match crate::shell::pipe::split(line) {
                        (command, Some(shell_command)) if shell.at_terminal => {
                            crate::shell::pipe::run(session, shell, command, shell_command, &interrupt)
                        }
                        _ => run_paged(shell, session, line),
                    };
                    match flow {
                        Flow::Continue => {}
                        Flow::Exit(code) => return code,
                        Flow::StdoutClosed => return Exit::Success,
                    }
                    let _ = session.printer.flush();
                    if let Some(guide) = &mut guide {
                        guide.after(shell, session, line);
                    }
                    if let Some(stream) = shell.pending_subscription.take() {
                        let output = above_prompt::for_editor(&mut editor);
                        subscription = Some(Subscription::start(stream, session.printer.format.clone(), output));
                        // The rest of a pasted block goes to the subscription next time.
                        break;
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return Exit::Success,
            Err(e) => {
                crate::output::note(&format!("line editor: {e}"));
                return Exit::Failure;
            }
        }
    }
}
