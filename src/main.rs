//! The `rcli` binary: parse options, run, map the outcome to an exit code.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use rcli::cli::{Args, Config};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let rest = args.get(2..).unwrap_or_default();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("sandbox") => return ExitCode::from(rcli::modes::sandbox::main(rest) as u8),
        Some("top") => return ExitCode::from(rcli::top::main(rest) as u8),
        Some("completions") => return ExitCode::from(rcli::modes::packaging::completions(rest) as u8),
        Some("man") => return ExitCode::from(rcli::modes::packaging::man(rest) as u8),
        _ => {}
    }
    if rcli::modes::consistency::cli::position(&args).is_some() {
        return ExitCode::from(rcli::modes::consistency::cli::main(&args) as u8);
    }
    if rcli::manager::wants_manager(&args) {
        return ExitCode::from(rcli::manager::main(&args) as u8);
    }
    let parsed = match Args::try_parse_from(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            // redis-cli's line where it has one (exit 2 all the same: docs/compatibility.md).
            match rcli::cli::usage::redis_cli_words(&e, &args) {
                Some(line) => rcli::output::note(&line),
                None => {
                    let _ = e.print();
                }
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    if parsed.version {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{}", rcli::cli::version::version_line());
        return ExitCode::SUCCESS;
    }
    match Config::from_args(parsed) {
        Ok(config) => ExitCode::from(rcli::run::run(config) as u8),
        Err(e) => {
            rcli::output::note(&format!("{e}"));
            ExitCode::from(2)
        }
    }
}
