//! The front door: every way rcli starts goes through here, once. [`main`] reads the
//! first words and hands the run to its entry — the cluster manager (`--cluster`),
//! `rcli sandbox`, `rcli top`, `rcli consistency-test`, `rcli completions|man`, or the shell, a
//! one-shot command, piped input and the redis-cli modes ([`run`]). Each entry gets its
//! options through the one start-up sequence ([`start`]: parse, validate, warnings,
//! `--askpass`, the TLS check) and ends with an [`Exit`]; only the binary's `main`
//! turns that into the process status.
//!
//! The top floor: it may use every room below it (docs/architecture.md).

pub mod consistency;
pub mod describe;
pub mod manager;
pub mod packaging;
pub mod run;
pub mod sandbox;
pub mod start;
pub mod top;

use std::ffi::OsString;

use crate::exit::Exit;

/// Runs rcli with `args` (the program name first).
pub fn main(args: &[OsString]) -> Exit {
    crate::client::descriptors::raise_limit();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("sandbox") => return sandbox::main(rest),
        Some("top") => return top::main(rest),
        Some("completions") => return packaging::completions(rest),
        Some("man") => return packaging::man(rest),
        _ => {}
    }
    if crate::modes::consistency::cli::position(args).is_some() {
        return consistency::main(args);
    }
    if crate::manager::wants_manager(args) {
        return manager::main(args);
    }
    let mut config = match start::config(args) {
        Ok(config) => config,
        Err(start::Stopped(exit)) => return exit,
    };
    if let Err(start::Stopped(exit)) = start::prepare(&mut config) {
        return exit;
    }
    run::run(config)
}
