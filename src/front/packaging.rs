//! `rcli completions SHELL` (a completion script, clap_complete) and `rcli man` (the man
//! page, clap_mangen), both generated from `front::describe::command_line` and printed on
//! stdout. [`man_page`] renders the page; the rest is writing it.

use crate::exit::Exit;
use std::ffi::OsString;
use std::io::Write;

use clap::{Arg, Command, Parser};
use clap_complete::Generator;
use clap_mangen::roff::{Roff, bold, italic, roman};

use super::describe::{self, CompletionsArgs, ManArgs};

/// Runs `rcli completions …` (the words after `completions`); returns the exit code.
pub fn completions(args: &[OsString]) -> Exit {
    let parsed = match CompletionsArgs::try_parse_from(prefixed("rcli completions", args)) {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(&e),
    };
    let mut command = describe::command_line();
    command.set_bin_name("rcli");
    command.build();
    let mut script = Vec::new();
    match parsed.shell.try_generate(&command, &mut script) {
        Ok(()) => print(&script),
        Err(e) => {
            crate::output::note(&format!("rcli completions: {e}"));
            Exit::Failure
        }
    }
}

/// Runs `rcli man …` (the words after `man`); returns the exit code.
pub fn man(args: &[OsString]) -> Exit {
    if let Err(e) = ManArgs::try_parse_from(prefixed("rcli man", args)) {
        return usage_error(&e);
    }
    match man_page() {
        Ok(page) => print(&page),
        Err(e) => {
            crate::output::note(&format!("rcli man: {e}"));
            Exit::Failure
        }
    }
}

fn prefixed(name: &str, args: &[OsString]) -> Vec<OsString> {
    std::iter::once(OsString::from(name)).chain(args.iter().cloned()).collect()
}

fn usage_error(e: &clap::Error) -> Exit {
    let _ = e.print();
    if e.use_stderr() { Exit::Usage } else { Exit::Success }
}

/// Writes to stdout; a closed pipe (`rcli man | head`) is not an error worth a message.
fn print(bytes: &[u8]) -> Exit {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Exit::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
        Err(e) => {
            crate::output::note(&format!("rcli: {e}"));
            Exit::Failure
        }
    }
}

/// The man page, rcli(1): synopsis (the usage lines), options under their `--help`
/// headings and the cluster manager's, the subcommands with their options, then
/// `--help`'s examples and notes kept as they are laid out there.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let command = describe::command_line();
    let version = env!("CARGO_PKG_VERSION");
    // `.TH` drops an empty field and shifts the rest, so the date's place holds the version.
    let man = clap_mangen::Man::new(command.clone())
        .title("RCLI")
        .section("1")
        .date(format!("version {version}"))
        .source("rcli")
        .manual("User Commands");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut roff = Roff::default();
    subcommands(&mut roff, &command);
    if let Some(after) = command.get_after_help() {
        roff.control("SH", ["EXAMPLES AND NOTES"]);
        preformatted(&mut roff, &after.to_string());
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([bold("redis-cli"), roman("(1), "), bold("redis-server"), roman("(1); rcli --cluster help.")]);
    roff.to_writer(&mut page)?;
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// The subcommands, each with its usage line, what it does and its options.
fn subcommands(roff: &mut Roff, command: &Command) {
    roff.control("SH", ["SUBCOMMANDS"]);
    for sub in command.get_subcommands() {
        let mut usage = vec![bold(format!("rcli {}", sub.get_name()))];
        for positional in sub.get_positionals() {
            let values: Vec<String> =
                positional.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
            let shown = if values.is_empty() { value_name(positional) } else { values.join("|") };
            usage.push(roman(" "));
            usage.push(italic(shown));
        }
        roff.control("TP", []);
        roff.text(usage);
        if let Some(about) = sub.get_about() {
            roff.text([roman(about.to_string())]);
        }
        let options: Vec<&Arg> =
            sub.get_arguments().filter(|a| !a.is_positional() && a.get_long() != Some("help")).collect();
        if options.is_empty() {
            continue;
        }
        roff.control("RS", []);
        for option in options {
            let mut header = vec![bold(format!("--{}", option.get_long().unwrap_or_default()))];
            if option.get_action().takes_values() {
                header.push(roman(" "));
                header.push(italic(value_name(option)));
            }
            roff.control("TP", []);
            roff.text(header);
            if let Some(help) = option.get_help() {
                roff.text([roman(help.to_string())]);
            }
        }
        roff.control("RE", []);
    }
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names().and_then(|names| names.first()).map_or_else(|| arg.get_id().to_string(), |n| n.to_string())
}

/// Text set line for line (examples keep their columns).
fn preformatted(roff: &mut Roff, text: &str) {
    roff.control("nf", []);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}
