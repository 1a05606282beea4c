//! `rcli consistency-test …`: the checker's own options taken out
//! (`modes::consistency::cli`), the rest through the start-up sequence like every other
//! entry, then the checker run through rcli's client (docs/testing.md; the sandbox lab).

use std::ffi::OsString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::Client;
use crate::exit::Exit;
use crate::modes::consistency::cli::{help_text, position, take_settings};
use crate::modes::consistency::{Controls, Out};

use super::start;

/// Lines to stdout, each written at once.
struct Stdout;

impl Out for Stdout {
    fn line(&mut self, text: &str) {
        crate::output::print_now(format!("{text}\n").as_bytes());
    }
}

/// Runs `rcli … consistency-test …` (`argv` with the program name).
pub fn main(argv: &[OsString]) -> Exit {
    let mut words: Vec<OsString> = argv.to_vec();
    if let Some(at) = position(argv) {
        words.remove(at);
    }
    let (config, settings) = match start::with_own_options("rcli consistency-test", words, take_settings, help_text) {
        Ok(started) => started,
        Err(start::Stopped(exit)) => return exit,
    };
    let controls = Controls { interrupt: Arc::new(AtomicBool::new(false)), abandon: Arc::default() };
    let flag = Arc::clone(&controls.interrupt);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let mut client = Client::new(config.client.clone(), config.state.clone());
    client.set_interrupt(Arc::clone(&controls.interrupt));
    let mut events = Vec::new();
    if let Err(e) = client.connect(&mut events) {
        crate::output::note(&e.to_string());
        return Exit::Failure;
    }
    let summary = crate::modes::consistency::run(&mut client, &settings, &controls, &mut Stdout);
    Exit::from_ok(summary.consistent())
}
