//! `rcli --cluster <subcommand> …`: the manager's command line read its way
//! (`manager::args`, redis-cli's rules), `help`, then the common options through the
//! start-up sequence like every other entry, and the subcommand run
//! (docs/cluster-manager.md, "Invocation").

use std::ffi::OsString;

use crate::exit::Exit;
use crate::manager::{WRONG_ARGS, args, help};

use super::start;

/// Runs `rcli --cluster …` (argv with the program name first).
pub fn main(argv: &[OsString]) -> Exit {
    let inv = match args::parse(argv) {
        Ok(inv) => inv,
        Err(e) => {
            crate::output::note(&e.message);
            return Exit::Usage;
        }
    };
    let Some(spec) = help::find(&inv.command) else {
        crate::output::note("Unknown --cluster subcommand");
        return Exit::Usage;
    };
    if !spec.arity_ok(inv.args.len()) {
        crate::output::note(WRONG_ARGS);
        return Exit::Usage;
    }
    if inv.command == "help" {
        help::print();
        return Exit::Success;
    }
    let mut config = match start::config(&inv.common) {
        Ok(config) => config,
        Err(start::Stopped(exit)) => return exit,
    };
    if let Err(start::Stopped(exit)) = start::prepare(&mut config) {
        return exit;
    }
    crate::manager::run_invocation(&inv, &config)
}
