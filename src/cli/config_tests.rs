//! [`Config::decide`] with made-up surroundings: the steps from options to settings.

use clap::Parser;

use super::*;

fn decide(words: &[&str], around: &Surroundings) -> Result<Config> {
    let args = Args::try_parse_from(std::iter::once("rcli").chain(words.iter().copied())).expect("parses");
    Config::decide(args, around)
}

fn terminal() -> Surroundings {
    Surroundings { stdin_tty: true, stdout_tty: true, ..Surroundings::default() }
}

fn piped() -> Surroundings {
    Surroundings::default()
}

#[test]
fn the_mode_follows_the_terminal_and_the_options() {
    assert_eq!(decide(&[], &terminal()).map(|c| c.mode).ok(), Some(Mode::Shell));
    assert_eq!(decide(&[], &piped()).map(|c| c.mode).ok(), Some(Mode::Lines));
    assert_eq!(
        decide(&["get", "k"], &piped()).map(|c| c.mode).ok(),
        Some(Mode::OneShot(vec![b"get".to_vec(), b"k".to_vec()]))
    );
    assert_eq!(decide(&["--pipe"], &terminal()).map(|c| c.mode).ok(), Some(Mode::Pipe));
    assert_eq!(decide(&["--scan", "--pipe"], &piped()).map(|c| c.mode).ok(), Some(Mode::Pipe));
}

#[test]
fn replies_are_formatted_on_a_terminal_and_raw_elsewhere() {
    let on_terminal = decide(&[], &terminal()).map(|c| (c.format.mode, c.hop_lines)).ok();
    assert_eq!(on_terminal, Some((OutputMode::Tty, HopLines::Stdout)));
    let piped_out = decide(&[], &piped()).map(|c| (c.format.mode, c.hop_lines)).ok();
    assert_eq!(piped_out, Some((OutputMode::Raw, HopLines::Hidden)));
    let fake = Surroundings { fake_tty: true, ..piped() };
    assert_eq!(decide(&[], &fake).map(|c| c.format.mode).ok(), Some(OutputMode::Tty));
    // The last of the format options in redis-cli's order wins.
    assert_eq!(decide(&["--raw", "--csv"], &terminal()).map(|c| c.format.mode).ok(), Some(OutputMode::Csv));
    assert_eq!(decide(&["--json", "--no-raw"], &piped()).map(|c| c.format.mode).ok(), Some(OutputMode::Json));
    assert_eq!(decide(&["--verbose"], &piped()).map(|c| c.hop_lines).ok(), Some(HopLines::Stderr));
}

#[test]
fn options_that_exclude_each_other_are_usage_errors() {
    for words in [&["-2", "-3"][..], &["-c", "-s", "/tmp/x.sock"], &["-x", "-X", "t"], &["-4", "-6"], &["--ldb"]] {
        assert!(matches!(decide(words, &piped()), Err(Error::Usage(_))), "{words:?}");
    }
}

#[test]
fn seeds_pair_hosts_and_ports_and_a_socket_replaces_them() {
    let seeds = |words: &[&str], around: &Surroundings| decide(words, around).map(|c| c.client.seeds).ok();
    assert_eq!(seeds(&[], &piped()), Some(vec![Endpoint::tcp("127.0.0.1", 6379)]));
    assert_eq!(
        seeds(&["-h", "a", "-p", "1", "-p", "2"], &piped()),
        Some(vec![Endpoint::tcp("a", 1), Endpoint::tcp("a", 2)])
    );
    let env = Surroundings {
        env: Environment {
            host: Some("valkey.local".into()),
            port: Some(Some(7000)),
            password: None,
            no_map_cache: false,
        },
        ..piped()
    };
    assert_eq!(seeds(&[], &env), Some(vec![Endpoint::tcp("valkey.local", 7000)]));
    assert_eq!(seeds(&["-p", "7001"], &env), Some(vec![Endpoint::tcp("valkey.local", 7001)]));
    let bad_port = Surroundings { env: Environment { port: Some(None), ..Environment::default() }, ..piped() };
    assert!(matches!(decide(&[], &bad_port), Err(Error::Usage(_))));
    assert!(decide(&["-p", "1"], &bad_port).is_ok(), "an explicit port makes the variable irrelevant");
    assert_eq!(seeds(&["-s", "/tmp/r.sock"], &piped()), Some(vec![Endpoint::Unix("/tmp/r.sock".into())]));
}

#[test]
fn a_password_on_the_command_line_warns_and_the_environment_does_not() {
    let config = decide(&["-a", "secret"], &piped()).ok();
    assert_eq!(config.as_ref().map(|c| c.warnings.clone()), Some(vec![PASSWORD_WARNING.to_string()]));
    let env = Surroundings { env: Environment { password: Some(b"s".to_vec()), ..Environment::default() }, ..piped() };
    let config = decide(&[], &env).ok();
    assert!(config.as_ref().is_some_and(|c| c.warnings.is_empty()));
    assert_eq!(config.and_then(|c| c.state.auth).map(|a| a.password), Some(b"s".to_vec()));
}
