//! The `rcli` binary: everything happens behind the front door (`rcli::front`); this
//! turns how the run ended into the process's exit status.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    rcli::front::main(&args).into()
}
