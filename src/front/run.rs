//! Running a validated, prepared [`Config`]: the shell, one command from the command line,
//! commands piped on stdin, `--scan`, `--pipe` and the redis-cli modes, each ending with
//! an [`Exit`] (a runtime failure when a command got no reply, or `-e` met an error).

use std::io::{self, BufRead, Read};

use crate::cli::{Config, Mode};
use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::exit::Exit;
use crate::output::Printer;
use crate::protocol::resp::Frame;
use crate::session::hooks::Hooks;
use crate::session::{Flow, Session};
use crate::shell::lesson::Guide;
use crate::shell::state::Shell;
use crate::{modes::pipe, modes::pipeline, shell::rcfile, shell::repl};

/// Builds the session for `config` (no I/O yet).
pub fn session(config: &Config) -> Session {
    let mut client = Client::new(config.client.clone(), config.state.clone());
    client.set_target(config.target.clone());
    let mut printer = Printer::new(config.format.clone(), config.hop_lines);
    printer.merge = config.merge;
    Session {
        client,
        printer,
        hops: true,
        interactive: config.mode == Mode::Shell,
        errors_inline: config.mode == Mode::Lines,
        exit_on_error: config.exit_on_error,
        interval: config.interval,
        unanswered: 0,
        error_replies: 0,
        interruption_shown: false,
        show_pushes: config.show_pushes,
    }
}

/// Runs rcli as configured (after the start-up sequence, [`super::start::prepare`]).
pub fn run(config: Config) -> Exit {
    run_with(config, None, None)
}

/// [`run`] in a shell started by `rcli sandbox`: the lab on its servers (dropped, with
/// the servers, when the session ends) and the lesson guide, if `--lesson` started one.
pub fn run_in_sandbox(config: Config, lab: crate::modes::sandbox::lab::Lab, guide: Guide) -> Exit {
    run_with(config, Some(Box::new(crate::shell::lab::LabSession::new(lab))), Some(guide))
}

fn run_with(config: Config, lab: Option<Box<crate::shell::lab::LabSession>>, guide: Option<Guide>) -> Exit {
    let mut session = session(&config);
    // The shell's words (help, `:meta`) work in every mode: piped lines and one-shot
    // commands may use them too.
    let mut shell = Shell::new(config.color);
    shell.lab = lab;
    shell.prefs.confirm = !config.assume_yes;
    if config.mode != Mode::Shell {
        rcfile::apply_routing_settings(&mut shell, &mut session);
    }
    let code = run_mode(&mut session, &mut shell, &config, guide);
    // Whatever the mode, output that could not be written (other than to a reader that
    // went away) fails the run.
    let _ = session.printer.flush();
    match session.printer.failure() {
        Some(error) => {
            crate::output::note(&format!("rcli: cannot write to stdout: {}", crate::error::os_message(error)));
            Exit::Failure
        }
        None => code,
    }
}

fn run_mode(session: &mut Session, shell: &mut Shell, config: &Config, guide: Option<Guide>) -> Exit {
    match config.mode.clone() {
        Mode::Shell => {
            rcfile::apply(shell, session);
            // `--yes` wins over the rclirc file's `:set confirm on`.
            shell.prefs.confirm &= !config.assume_yes;
            session.connect_and_report();
            shell.load_docs(session);
            repl::run_with(shell, session, guide)
        }
        Mode::OneShot(argv) => {
            let argv = match one_shot_argv(config, argv) {
                Ok(argv) => argv,
                Err(OneShotInput::Invalid) => {
                    // redis-cli prints this one on stdout.
                    let _ = session.printer.line("Invalid quoted string");
                    return Exit::Failure;
                }
                Err(OneShotInput::Failed(message)) => {
                    session.printer.note(&message);
                    return Exit::Failure;
                }
            };
            let offline = argv.first().is_some_and(|w| w.eq_ignore_ascii_case(b"help") || w.as_slice() == b"?");
            if !offline && !connect_for_one_shot(session, &argv) {
                return Exit::Failure;
            }
            let flow = session.run_command(argv, config.repeat, shell);
            let _ = session.printer.flush();
            session.exit_for(flow)
        }
        Mode::Lines => {
            // Not fatal: each line tries again, and unanswered lines make the exit code.
            session.connect_and_report();
            let flow = if config.pipeline > 1 {
                pipeline::run(session, shell, io::stdin(), config.pipeline, config.verbose)
            } else {
                run_lines(session, shell, io::stdin().lock())
            };
            let _ = session.printer.flush();
            session.exit_for(flow)
        }
        Mode::Scan => scan(session, config),
        Mode::Rdb { target, what } => crate::modes::replication::rdb(session, &target, what),
        Mode::Replica => crate::modes::replication::replica(session),
        Mode::Eval { file, args, debug } => {
            match crate::modes::eval::run(session, &file, &args, debug, config.repeat, config.color) {
                crate::modes::eval::Evaluated::Done(exit) => exit,
                // redis-cli goes on as a normal shell after a debugging session.
                crate::modes::eval::Evaluated::ToShell => repl::run(shell, session),
            }
        }
        Mode::Pipe => pipe::run(session, io::stdin(), config.pipe_timeout, config.pipeline),
        Mode::Diagnostic(diagnostic) => crate::modes::diag::run(session, config, &diagnostic),
    }
}

/// Connects for the one-shot command `argv`: through the slot map cached on disk when
/// it may route the command (`client/hint.rs`), else as
/// [`Session::connect_and_report`]. True when connected.
fn connect_for_one_shot(session: &mut Session, argv: &[Vec<u8>]) -> bool {
    if session.client.start_from_cached_map(argv) {
        session.show_warnings();
        return true;
    }
    session.connect_and_report()
}

/// Why a one-shot command could not be put together.
enum OneShotInput {
    /// `--quoted-input` with an argument that is not exactly one quoted string.
    Invalid,
    Failed(String),
}

/// The one-shot command as the user meant it: `--quoted-input` unquotes each argument
/// (each must be exactly one string), then `-x` appends stdin, or `-X TAG` puts stdin
/// in place of the first argument equal to TAG (stdin is read only then).
fn one_shot_argv(config: &Config, argv: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, OneShotInput> {
    let mut argv = if config.quoted_input {
        argv.iter()
            .map(|arg| match crate::protocol::split::split_args(arg).ok() {
                Some(mut parts) if parts.len() == 1 => parts.pop().ok_or(OneShotInput::Invalid),
                _ => Err(OneShotInput::Invalid),
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        argv
    };
    let read_stdin = || {
        let mut data = Vec::new();
        io::stdin().read_to_end(&mut data).map(|_| data).map_err(|e| OneShotInput::Failed(format!("stdin: {e}")))
    };
    if config.stdin_last_arg {
        argv.push(read_stdin()?);
    } else if let Some(tag) = &config.stdin_tag {
        let Some(slot) = argv.iter_mut().find(|arg| *arg == tag) else {
            return Err(OneShotInput::Failed("Using -X option but stdin tag not match.".into()));
        };
        *slot = read_stdin()?;
    }
    Ok(argv)
}

/// Commands from `input`, one line at a time, each waiting for its reply.
pub fn run_lines(session: &mut Session, hooks: &mut dyn Hooks, mut input: impl BufRead) -> Flow {
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Flow::Continue,
            Ok(_) => {}
            Err(e) => {
                session.printer.note(&format!("stdin: {e}"));
                return Flow::Exit(crate::exit::Exit::Failure);
            }
        }
        match session.run_line(&line, hooks) {
            Flow::Continue => {}
            other => return other,
        }
    }
}

/// `--scan`: every key matching `--pattern`, from every primary in cluster mode.
fn scan(session: &mut Session, config: &Config) -> Exit {
    if !session.connect_and_report() || crate::modes::diag::select_refused(session, config) {
        return Exit::Failure;
    }
    let nodes: Vec<Endpoint> = match session.client.topology() {
        Some(topo) => topo.primaries().iter().map(|n| n.endpoint.clone()).collect(),
        None => vec![session.client.current().clone()],
    };
    let mut argv = vec![b"SCAN".to_vec(), b"0".to_vec()];
    if let Some(pattern) = &config.scan_pattern {
        argv.extend([b"MATCH".to_vec(), pattern.clone()]);
    }
    if let Some(count) = config.scan_count {
        argv.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
    }
    let tty = session.printer.is_tty_format();
    for node in nodes {
        let printer = &mut session.printer;
        let mut stdout_closed = false;
        let walked = session.client.scan_node(&node, &argv, |keys, more| {
            for bytes in keys.iter().filter_map(Frame::as_bytes) {
                let mut line = Vec::new();
                if tty {
                    crate::protocol::split::repr(bytes, &mut line);
                } else {
                    line.extend_from_slice(bytes);
                }
                line.push(b'\n');
                if printer.write(&line).is_err() {
                    stdout_closed = true;
                    return false;
                }
            }
            if more && !config.interval.is_zero() {
                std::thread::sleep(config.interval);
            }
            true
        });
        match walked {
            _ if stdout_closed => return Exit::Success,
            Ok(None) => {}
            Ok(Some(error)) => {
                let text = String::from_utf8_lossy(error.as_error().unwrap_or_default()).into_owned();
                session.printer.note(&format!("SCAN error: {text}"));
                return Exit::Failure;
            }
            Err(e) => {
                session.printer.note(&format!("SCAN error: {e}"));
                return Exit::Failure;
            }
        }
    }
    let _ = session.printer.flush();
    Exit::Success
}
