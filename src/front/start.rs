//! The start-up sequence every entry shares once it has its words: the common options
//! parsed (usage errors in redis-cli's words where it has them, exit 2), validated into a
//! [`Config`], then [`prepare`]: the warnings redis-cli prints, `--askpass`, and the TLS
//! configuration checked before anything connects.

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Args, Config, Mode};
use crate::client::state::Credentials;
use crate::exit::Exit;

/// Why the options could not become a [`Config`]: said (on stderr), with the exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped(pub Exit);

/// `rcli [options]` words (program name first) as a [`Config`]. `--help` and
/// `--version` print and stop with success; a usage error prints redis-cli's line
/// where redis-cli has one, else clap's, and stops with [`Exit::Usage`].
pub fn config(words: &[OsString]) -> Result<Config, Stopped> {
    let parsed = match Args::try_parse_from(words) {
        Ok(parsed) => parsed,
        Err(e) => {
            let exit = if e.use_stderr() { Exit::Usage } else { Exit::Success };
            match crate::cli::usage::redis_cli_words(&e, words) {
                Some(line) => crate::output::note(&line),
                None => {
                    let _ = e.print();
                }
            }
            return Err(Stopped(exit));
        }
    };
    if parsed.version {
        crate::output::print_now(format!("{}\n", crate::cli::version::version_line()).as_bytes());
        return Err(Stopped(Exit::Success));
    }
    Config::from_args(parsed).map_err(|e| {
        crate::output::note(e.to_string().trim_end());
        Stopped(Exit::Usage)
    })
}

/// What every run does before it connects: redis-cli's warnings (the `-a` one…), the
/// password from `--askpass`, and the TLS files checked (one line, exit 1).
pub fn prepare(config: &mut Config) -> Result<(), Stopped> {
    for warning in &config.warnings {
        crate::output::note(warning);
    }
    if config.askpass {
        let Some(password) = crate::cli::askpass::read_password("Please input password: ") else {
            return Err(Stopped(Exit::Failure));
        };
        let user = config.state.auth.as_ref().and_then(|a| a.user.clone());
        config.state.auth = Some(Credentials { user, password: password.into_bytes() });
        config.askpass = false;
    }
    if let Some(tls) = &config.client.tls
        && let Err(detail) = tls.ready()
    {
        crate::output::note(&crate::error::Error::TlsSetup(detail).to_string());
        return Err(Stopped(Exit::Failure));
    }
    Ok(())
}

/// The start of an entry with options of its own (`rcli top`, `rcli consistency-test`):
/// `take` removes them from `words` (`Ok(None)`: `--help` was asked, `help` is printed),
/// the rest goes through [`config`] and [`prepare`]; a command left over is refused,
/// since these entries run none. `name` begins their error lines.
pub fn with_own_options<S>(
    name: &str,
    mut words: Vec<OsString>,
    take: impl FnOnce(&mut Vec<OsString>) -> Result<Option<S>, String>,
    help: impl FnOnce() -> String,
) -> Result<(Config, S), Stopped> {
    let settings = match take(&mut words) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            crate::output::print_now(help().as_bytes());
            return Err(Stopped(Exit::Success));
        }
        Err(message) => {
            crate::output::note(&format!("{name}: {message}"));
            return Err(Stopped(Exit::Usage));
        }
    };
    let mut config = config(&words)?;
    if let Mode::OneShot(command) = &config.mode {
        let first = command.first().map(|w| String::from_utf8_lossy(w).into_owned()).unwrap_or_default();
        crate::output::note(&format!("{name}: unexpected argument '{first}' (see {name} --help)"));
        return Err(Stopped(Exit::Usage));
    }
    prepare(&mut config)?;
    Ok((config, settings))
}
