//! rcli's whole command line as one clap `Command`, for the shell completion scripts and
//! the man page (never for parsing): rcli's options ([`Args`]), the cluster manager's
//! `--cluster <subcommand>` and `--cluster-*` options, and the subcommands named by the
//! first word (`sandbox`, `consistency-test`, `completions`, `man`). Pure.
//!
//! The manager reads its own command line (`manager::args`, one pass like redis-cli, not
//! clap), so its part is built here from the manager's own tables: the subcommands from
//! `manager::help::SPECS`, the options and whether they take a value from
//! `manager::args::OPTIONS`, which subcommands read an option from
//! `manager::help::ignored_options`, and descriptions from `manager::help::text`. A
//! subcommand or option added there is completed and documented without a change here.

use clap::builder::PossibleValue;
use clap::{Arg, ArgAction, Command, CommandFactory, Parser, ValueHint};

use crate::cli::Args;
use crate::manager::{args::OPTIONS, help};

/// The heading of the manager's options (`--help` does not show them; completions and
/// the man page do).
pub const CLUSTER_HEADING: &str = "Cluster manager";

/// `--cluster-weight`: the one manager option taking a list (`n1=w1 … nN=wN`), which
/// the manager reads outside its `OPTIONS` table.
pub const CLUSTER_WEIGHT: &str = "--cluster-weight";

/// `rcli completions SHELL`.
#[derive(Debug, Parser)]
#[command(
    name = "completions",
    about = "Print the shell completion script for SHELL on stdout.",
    after_help = "bash: rcli completions bash > ~/.local/share/bash-completion/completions/rcli"
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `rcli man`.
#[derive(Debug, Parser)]
#[command(name = "man", about = "Print rcli's man page (roff) on stdout: rcli man | man -l -")]
pub struct ManArgs {}

/// The subcommands named by the first word, as `main` dispatches them.
pub const SUBCOMMANDS: &[&str] = &["sandbox", "top", "consistency-test", "completions", "man"];

/// The whole command line, named `rcli`.
pub fn command_line() -> Command {
    let sandbox = super::sandbox::SandboxArgs::command().name("sandbox").bin_name("rcli sandbox");
    let completions = CompletionsArgs::command().bin_name("rcli completions");
    let man = ManArgs::command().bin_name("rcli man");
    let consistency = crate::modes::consistency::cli::description().bin_name("rcli consistency-test");
    let top = crate::top::cli::description().bin_name("rcli top");
    let mut command = Args::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true)
        .subcommands([sandbox, top, consistency, completions, man])
        .arg(cluster_arg());
    let options = OPTIONS.iter().copied().chain([(CLUSTER_WEIGHT, true)]);
    for (order, (name, takes_value)) in (201..).zip(options) {
        command = command.arg(cluster_option(name, takes_value, order));
    }
    command.mut_args(|arg| {
        let hint = value_hint(&arg);
        arg.value_hint(hint)
    })
}

/// What a shell may offer for an option's value: files, directories and host names
/// where rcli takes them, else nothing (not the file names shells fall back to).
fn value_hint(arg: &Arg) -> ValueHint {
    match arg.get_id().as_str() {
        _ if !arg.get_action().takes_values() || !arg.get_possible_values().is_empty() => arg.get_value_hint(),
        "socket" | "eval" | "cacert" | "cert" | "key" => ValueHint::FilePath,
        "rdb" | "functions_rdb" => ValueHint::AnyPath,
        "cacertdir" => ValueHint::DirPath,
        "hosts" | "sni" => ValueHint::Hostname,
        "uri" => ValueHint::Url,
        _ => ValueHint::Other,
    }
}

/// `--cluster <subcommand>`, its values and their arguments from the manager's table.
fn cluster_arg() -> Arg {
    // Named in the help too: elvish's and PowerShell's scripts complete no values.
    let names: Vec<&str> = help::SPECS.iter().map(|spec| spec.name).collect();
    let values = help::SPECS.iter().map(|spec| {
        let value = PossibleValue::new(spec.name);
        if spec.args.is_empty() { value } else { value.help(spec.args) }
    });
    // The id `cluster` is -c's.
    Arg::new("cluster-manager")
        .long("cluster")
        .value_name("SUBCOMMAND")
        .value_parser(clap::builder::PossibleValuesParser::new(values))
        .help(format!("The cluster manager (redis-cli's --cluster): {}.", names.join(", ")))
        .help_heading(CLUSTER_HEADING)
        .display_order(200)
}

/// One `--cluster-*` option: its description (from `--cluster help`) and the
/// subcommands that read it.
fn cluster_option(name: &'static str, takes_value: bool, order: usize) -> Arg {
    let long = name.trim_start_matches("--");
    let readers = readers(name).join(", ");
    let help = match described(name) {
        Some(text) => format!("{text}; for {readers}."),
        None => format!("For {readers}."),
    };
    let arg = Arg::new(long).long(long).help(help).help_heading(CLUSTER_HEADING).display_order(order);
    match (takes_value, name == CLUSTER_WEIGHT) {
        (true, true) => arg.value_name("NODE=WEIGHT").num_args(1..).action(ArgAction::Set),
        (true, false) => arg.value_name("ARG").action(ArgAction::Set),
        (false, _) => arg.action(ArgAction::SetTrue),
    }
}

/// The subcommands that read option `name` (the manager warns when any other is given it).
pub fn readers(name: &str) -> Vec<&'static str> {
    help::SPECS
        .iter()
        .filter(|spec| spec.name != "help")
        .filter(|spec| help::ignored_options(spec.name, &[name.to_string()]).is_empty())
        .map(|spec| spec.name)
        .collect()
}

/// The description `--cluster help` gives option `name`, if any: the text after the
/// option and its `<value>` on the option's own line.
fn described(name: &str) -> Option<String> {
    help::text().lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let rest = rest.trim_start();
        let text = match rest.strip_prefix('<') {
            Some(value) => value.split_once('>')?.1.trim(),
            None => rest.trim(),
        };
        let mut chars = text.chars();
        let first = chars.next()?;
        Some(first.to_uppercase().chain(chars).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_builds_and_names_every_manager_subcommand() {
        let mut command = command_line();
        command.build();
        let cluster = command.get_arguments().find(|a| a.get_long() == Some("cluster")).unwrap();
        let values: Vec<String> = cluster.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
        let specs: Vec<&str> = help::SPECS.iter().map(|s| s.name).collect();
        assert_eq!(values, specs);
        for name in ["create", "check", "info", "fix", "reshard", "rebalance", "add-node", "del-node", "call"] {
            assert!(values.iter().any(|v| v == name), "{name}");
        }
        for name in ["set-timeout", "import", "backup", "help"] {
            assert!(values.iter().any(|v| v == name), "{name}");
        }
        let subcommands: Vec<&str> = command.get_subcommands().map(Command::get_name).collect();
        assert_eq!(subcommands, SUBCOMMANDS);
    }

    /// Every `--cluster-*` option described is one the manager's parser accepts, taking a
    /// value exactly when the description says so; every option the manager's help
    /// names is described.
    #[test]
    fn cluster_options_match_the_managers_parser() {
        use crate::manager::args::parse;
        use std::ffi::OsString;
        let argv = |words: &[&str]| -> Vec<OsString> {
            ["rcli", "--cluster", "info", "127.0.0.1:7000"].iter().chain(words).map(OsString::from).collect()
        };
        let command = command_line();
        let described: Vec<&Arg> =
            command.get_arguments().filter(|a| a.get_long().is_some_and(|l| l.starts_with("cluster-"))).collect();
        assert!(described.len() > 30);
        for arg in &described {
            let name = format!("--{}", arg.get_long().unwrap());
            let takes_value = arg.get_value_names().is_some();
            let alone = parse(&argv(&[&name]));
            let with_value = parse(&argv(&[&name, "x=1"]));
            assert!(with_value.is_ok(), "{name} is accepted");
            assert_eq!(alone.is_err(), takes_value, "{name} takes a value: {takes_value}");
            assert_eq!(with_value.unwrap().args.len(), 1, "{name} with a value leaves no stray argument");
            assert!(!readers(&name).is_empty(), "{name} is read by a subcommand");
        }
        let help_text = help::text();
        let in_help = help_text.split_whitespace().filter(|w| w.starts_with("--cluster-"));
        for name in in_help {
            let name = name.trim_end_matches(',').trim_end_matches('.');
            assert!(described.iter().any(|a| a.get_long() == name.strip_prefix("--")), "{name} is described");
        }
    }

    #[test]
    fn options_carry_their_help_and_readers() {
        let command = command_line();
        let help = |long: &str| {
            command.get_arguments().find(|a| a.get_long() == Some(long)).unwrap().get_help().unwrap().to_string()
        };
        assert_eq!(help("cluster-replicas"), "For create.");
        assert_eq!(
            help("cluster-dry-run"),
            "Print the plan (moves, keys, bytes, time) and change nothing; \
             for create, fix, reshard, rebalance, add-node, del-node, import."
        );
        assert!(help("cluster-yes").starts_with("Automatic yes to cluster commands prompts; for create,"));
        assert!(help("cluster-parallel").starts_with("Move slots between at most n independent"));
        assert_eq!(readers("--cluster-replica"), ["add-node"]);
    }
}
