//! Lines printed above the prompt by threads other than the line editor's: the lab's
//! watcher and consistency checker, a subscription's messages. One printer thread owns
//! the terminal's printer; producers only queue lines, so none of them (and nobody
//! joining them) ever waits on the terminal: rustyline's external printer can block
//! while no line is being edited.

use std::sync::mpsc;
use std::time::Duration;

use rustyline::history::DefaultHistory;
use rustyline::{Editor, ExternalPrinter};

use crate::protocol::text::escape_controls;
use crate::shell::helper::RcliHelper;

/// Where the thread prints: above the prompt, or plainly when no terminal printer
/// could be had.
pub enum Output {
    AbovePrompt(Box<dyn ExternalPrinter + Send>),
    Plain,
}

impl Output {
    /// Prints `text` (whole lines) above the prompt, or at once.
    pub fn print(&mut self, text: String) {
        match self {
            Output::AbovePrompt(printer) => {
                let _ = printer.print(text);
            }
            Output::Plain => crate::output::print_now(text.as_bytes()),
        }
    }
}

/// What the printer thread is asked to do.
enum Print {
    Text(String),
    /// Answer once everything sent before has been printed.
    Flush(mpsc::Sender<()>),
}

/// Where background threads print: above the prompt (or plainly without a terminal).
/// One thread owns the terminal's printer and prints in the order lines were sent;
/// the producers only queue them, so they never wait on the terminal
/// (rustyline's printer can block while no line is being edited, until the next one).
#[derive(Clone)]
pub struct Shared(mpsc::Sender<Print>);

impl Shared {
    /// Starts the printer thread on `output`. It ends once every `Shared` is dropped
    /// and its queue is printed; nobody waits for it.
    pub fn start(mut output: Output) -> Shared {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for print in receiver {
                match print {
                    Print::Text(text) => output.print(text),
                    Print::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Shared(sender)
    }

    /// Queues `lines`, escaped, to be printed together.
    pub fn print_lines(&self, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{}\n", escape_controls(l, false))).collect();
        if !text.is_empty() {
            let _ = self.0.send(Print::Text(text));
        }
    }

    pub fn print(&self, line: &str) {
        self.print_lines(&[line.to_string()]);
    }

    /// Queues text formatted (and escaped) already, such as a rendered reply.
    pub fn print_formatted(&self, text: String) {
        if !text.is_empty() {
            let _ = self.0.send(Print::Text(text));
        }
    }

    /// Waits (at most `limit`) until what was queued so far is printed.
    pub fn flush(&self, limit: Duration) {
        let (done, printed) = mpsc::channel();
        if self.0.send(Print::Flush(done)).is_ok() {
            let _ = printed.recv_timeout(limit);
        }
    }
}

/// A printer above `editor`'s prompt, or plain printing when the terminal offers none.
pub fn for_editor(editor: &mut Editor<RcliHelper, DefaultHistory>) -> Shared {
    let output = match editor.create_external_printer() {
        Ok(printer) => Output::AbovePrompt(Box::new(printer)),
        Err(_) => Output::Plain,
    };
    Shared::start(output)
}
