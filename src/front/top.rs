//! `rcli top …`: the live view's own options taken out (`top::cli`), the rest through
//! the start-up sequence like every other entry, then the view (`top::run`,
//! docs/top.md).

use std::ffi::OsString;

use crate::exit::Exit;
use crate::top::cli::{help_text, take_settings};

use super::start;

/// Runs `rcli top …` (`rest`: the words after `top`).
pub fn main(rest: &[OsString]) -> Exit {
    let words: Vec<OsString> = std::iter::once(OsString::from("rcli")).chain(rest.iter().cloned()).collect();
    match start::with_own_options("rcli top", words, take_settings, help_text) {
        Ok((config, settings)) => crate::top::run(&config, &settings),
        Err(start::Stopped(exit)) => exit,
    }
}
