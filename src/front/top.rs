//! `rcli top …`: the live view's own options taken out (`top::cli`), the rest through
//! the start-up sequence like every other entry, then the view (`top::run`,
//! docs/top.md).

use std::ffi::OsString;

use crate::cli::Mode;
use crate::exit::Exit;
use crate::top::cli::{help_text, take_settings};

use super::start;

/// Runs `rcli top …` (`rest`: the words after `top`).
pub fn main(rest: &[OsString]) -> Exit {
    let mut words: Vec<OsString> = std::iter::once(OsString::from("rcli")).chain(rest.iter().cloned()).collect();
    let settings = match take_settings(&mut words) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            crate::output::print_now(help_text().as_bytes());
            return Exit::Success;
        }
        Err(message) => {
            crate::output::note(&format!("rcli top: {message}"));
            return Exit::Usage;
        }
    };
    let mut config = match start::config(&words) {
        Ok(config) => config,
        Err(start::Stopped(exit)) => return exit,
    };
    if let Mode::OneShot(command) = &config.mode {
        let first = command.first().map(|w| String::from_utf8_lossy(w).into_owned()).unwrap_or_default();
        crate::output::note(&format!("rcli top: unexpected argument '{first}' (see rcli top --help)"));
        return Exit::Usage;
    }
    if let Err(start::Stopped(exit)) = start::prepare(&mut config) {
        return exit;
    }
    crate::top::run(&config, &settings)
}
