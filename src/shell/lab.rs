//! The lab's side of a shell started by `rcli sandbox`: the sandbox's servers
//! ([`Lab`]), the watcher that prints the cluster's reactions above the prompt as they
//! happen, the prompt following a failover between lines, and the consistency checker
//! running in the background (`:consistency on|off`). The meta-commands that use it are
//! in `meta/lab.rs`. A session started any other way has none, and every lab command
//! is refused there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustyline::Editor;
use rustyline::history::DefaultHistory;

use crate::client::Client;
use crate::cluster::target::Target;
use crate::modes::consistency::{self, Controls, Out, Settings, Summary};
use crate::modes::sandbox::census::{Census, successor};
use crate::modes::sandbox::lab::Lab;
use crate::modes::sandbox::watcher::Watcher;
use crate::session::Session;
use crate::shell::above_prompt::{self, Output, Shared};
use crate::shell::helper::RcliHelper;

/// The last lab command and when it ran: the watcher's lines count from it.
type LastAction = Arc<Mutex<Option<Instant>>>;

/// A consistency checker on a thread.
struct Background {
    controls: Controls,
    thread: JoinHandle<Option<Summary>>,
}

/// The lab state of a sandbox session.
pub struct LabSession {
    pub lab: Lab,
    output: Option<Shared>,
    watcher: Option<Watcher>,
    last_action: LastAction,
    /// The census the session last acted on, and its generation.
    census: Option<Census>,
    seen: u64,
    checker: Option<Background>,
}

impl LabSession {
    pub fn new(lab: Lab) -> LabSession {
        LabSession {
            lab,
            output: None,
            watcher: None,
            last_action: Arc::default(),
            census: None,
            seen: 0,
            checker: None,
        }
    }

    /// Notes a lab command: the watcher's next lines count from now.
    pub fn acted(&self) {
        *self.last_action.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// What the lab did to the node at `endpoint`, when it is not simply running
    /// (`killed`, `stopped`, `paused (3 s left)`, `ended`), for `:nodes`.
    pub fn process_note(&self, endpoint: &crate::endpoint::Endpoint) -> Option<String> {
        let node = self.lab.nodes().into_iter().find(|n| n.endpoint == *endpoint)?;
        (node.process != crate::modes::sandbox::lab::Process::Running).then(|| node.process.describe(Instant::now()))
    }

    /// The latest census, if the watcher has one.
    pub fn census(&self) -> Option<Census> {
        self.watcher.as_ref().and_then(|w| w.latest().census).or_else(|| self.census.clone())
    }

    /// The printer above the prompt, started plain when the shell has no line editor.
    fn output(&mut self) -> Shared {
        self.output.get_or_insert_with(|| Shared::start(Output::Plain)).clone()
    }

    /// Starts the background consistency checker on a client of its own (the session's
    /// options and credentials, every sandbox node as a seed). False when one runs.
    pub fn start_checker(&mut self, client: &mut Client) -> bool {
        if self.checker.as_ref().is_some_and(|c| !c.thread.is_finished()) {
            return false;
        }
        let mut options = client.options().clone();
        options.seeds = self.lab.endpoints();
        let state = client.pool().state().clone();
        let controls = Controls::default();
        let out = self.output();
        let thread_controls = controls.clone();
        let thread = std::thread::spawn(move || {
            let mut client = Client::new(options, state);
            client.set_interrupt(Arc::clone(&thread_controls.interrupt));
            let mut lines = Prefixed(out);
            if let Err(e) = client.connect(&mut Vec::new()) {
                lines.line(&format!("cannot start: {e}"));
                return None;
            }
            let settings = Settings {
                counters: consistency::DEFAULT_COUNTERS,
                duration: None,
                prefix: Settings::default_prefix(),
                keep: false,
            };
            Some(consistency::run(&mut client, &settings, &thread_controls, &mut lines))
        });
        self.checker = Some(Background { controls, thread });
        true
    }

    /// Stops the background checker: its final checks, clean-up and verdict run (a
    /// Ctrl-C on `interrupt` cuts them short). False when none runs.
    pub fn stop_checker(&mut self, interrupt: Option<&AtomicBool>) -> bool {
        let Some(background) = self.checker.take() else { return false };
        background.controls.interrupt.store(true, Ordering::SeqCst);
        // Once the loop has ended, the runner clears the flag for its last steps; a
        // Ctrl-C here sets it again.
        while !background.thread.is_finished() {
            if interrupt.is_some_and(|f| f.swap(false, Ordering::SeqCst)) {
                background.controls.interrupt.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = background.thread.join();
        // Its last lines (the verdict) before what the shell prints next.
        if let Some(output) = &self.output {
            output.flush(Duration::from_secs(2));
        }
        true
    }
}

impl Drop for LabSession {
    /// The checker is abandoned (the servers are going away), the watcher stopped,
    /// then the lab resumes and kills its servers.
    fn drop(&mut self) {
        if let Some(background) = self.checker.take() {
            background.controls.abandon.store(true, Ordering::SeqCst);
            background.controls.interrupt.store(true, Ordering::SeqCst);
            let _ = background.thread.join();
        }
        self.watcher = None;
    }
}

/// The checker's lines, marked as its own.
struct Prefixed(Shared);

impl Out for Prefixed {
    fn line(&mut self, text: &str) {
        self.0.print(&format!("[consistency] {text}"));
    }
}

/// In a sandbox session: the printer above the prompt and the watcher. Called once the
/// line editor exists.
pub fn attach(lab: &mut LabSession, editor: &mut Editor<RcliHelper, DefaultHistory>) {
    let shared = above_prompt::for_editor(editor);
    lab.output = Some(shared.clone());
    let last_action = Arc::clone(&lab.last_action);
    let report = Box::new(move |changes: &[crate::modes::sandbox::census::Change]| {
        let since = last_action.lock().unwrap_or_else(PoisonError::into_inner).map(|t| t.elapsed());
        let stamp = since.map(|s| format!("[+{:.2}s] ", s.as_secs_f64())).unwrap_or_default();
        let lines: Vec<String> = changes.iter().map(|change| format!("{stamp}{}", change.line())).collect();
        shared.print_lines(&lines);
    });
    lab.watcher = Some(Watcher::start(lab.lab.endpoints(), lab.lab.link(), report));
}

/// Between lines in a sandbox session: once the watcher saw the cluster change, the
/// slot map is reloaded, and the prompt follows a failover of its node.
pub fn between_lines(lab: &mut LabSession, session: &mut Session) {
    let Some(latest) = lab.watcher.as_ref().map(Watcher::latest) else { return };
    let Some(census) = latest.census else { return };
    if latest.generation == lab.seen {
        return;
    }
    lab.seen = latest.generation;
    let previous = lab.census.replace(census.clone());
    let Some(previous) = previous else { return };
    if !session.client.is_cluster() {
        return;
    }
    let _ = session.client.refresh_topology(None, &mut Vec::new());
    let current = session.client.current().clone();
    let follows = matches!(session.client.target(), Target::Current)
        || matches!(session.client.target(), Target::Node(n) if *n == current);
    if let Some(next) = successor(&previous, &census, &current).filter(|_| follows) {
        if matches!(session.client.target(), Target::Node(_)) {
            session.client.set_target(Target::Node(next.clone()));
        }
        session.client.set_current(next.clone());
        let _ = session.printer.line(&format!("-> the prompt follows {next}: it serves {current}'s slots now"));
        let _ = session.printer.flush();
    }
}
