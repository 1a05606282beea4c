//! How a run of rcli ends: the one exit-code type every entry and mode returns, with the
//! documented meanings (README, docs/compatibility.md): 0 success, 1 a runtime failure
//! (a node that cannot be reached, an error reply under `-e`, a refusal), 2 a usage
//! error, 130 stopped by Ctrl-C where redis-cli dies of SIGINT. Only `main` turns it into
//! the process's exit status.

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    Usage,
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }

    /// Success when `ok`, else a runtime failure.
    pub fn from_ok(ok: bool) -> Exit {
        if ok { Exit::Success } else { Exit::Failure }
    }

    /// A runtime failure when `failed`, else success.
    pub fn from_failed(failed: bool) -> Exit {
        Exit::from_ok(!failed)
    }

    pub fn is_success(self) -> bool {
        self == Exit::Success
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = [Exit::Success, Exit::Failure, Exit::Usage, Exit::Interrupted].map(Exit::code).to_vec();
        assert_eq!(codes, [0, 1, 2, 130]);
        assert_eq!(Exit::from_ok(false), Exit::Failure);
    }
}
