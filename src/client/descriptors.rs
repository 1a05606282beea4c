//! The open-file limit: the soft limit raised to the hard one when rcli starts (a
//! cluster of hundreds of nodes needs a connection per job in flight, and the default
//! soft limit is often 1,024), and the one line rcli says when a connect still meets
//! it. docs/performance.md, "Threads and descriptors at scale".

use std::io;

use rustix::process::{Resource, getrlimit, setrlimit};

/// What a connect that met the open-file limit says (EMFILE, or the system's ENFILE).
pub const EXHAUSTED: &str = "too many open files: raise ulimit -n or lower --parallel";

/// Raises the soft RLIMIT_NOFILE to the hard limit when it is lower; a refusal changes
/// nothing (the limit stays what it was, and [`EXHAUSTED`] says what to do if it is met).
pub fn raise_limit() {
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _unchanged_when_refused = setrlimit(Resource::Nofile, limit);
    }
}

/// Whether `error` is the process (EMFILE) or the system (ENFILE) out of descriptors.
pub fn exhausted(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
        || code == rustix::io::Errno::NFILE.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_and_enfile_are_the_limit() {
        assert!(exhausted(&io::Error::from_raw_os_error(24)));
        assert!(exhausted(&io::Error::from_raw_os_error(23)));
        assert!(!exhausted(&io::Error::from_raw_os_error(111)));
        assert!(!exhausted(&io::Error::other("x")));
    }

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        raise_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
