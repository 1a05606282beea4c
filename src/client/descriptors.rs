//! The open-file limit: the soft limit raised to the hard one when rcli starts (a
//! cluster of hundreds of nodes needs a connection per job in flight, and the default
//! soft limit is often 1,024); the line rcli says when a connect still meets it is
//! `error::EXHAUSTED`. docs/performance.md, "Threads and descriptors at scale".

use rustix::process::{Resource, getrlimit, setrlimit};

/// Raises the soft RLIMIT_NOFILE to the hard limit when it is lower; a refusal changes
/// nothing (the limit stays what it was, and `error::EXHAUSTED` says what to do if it is met).
pub fn raise_limit() {
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _unchanged_when_refused = setrlimit(Resource::Nofile, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        raise_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
