//! What `rcli --version` prints: `rcli 0.1.0 (git:1a2b3c4d)`, the way redis-cli shows
//! its own version and commit (`redis-cli 7.0.15`, with ` (git:sha[-dirty])` when built
//! from git). The commit comes from build.rs (`RCLI_GIT_COMMIT`, empty when unknown).

/// The `--version` line, without its newline.
pub fn version_line() -> String {
    line(env!("CARGO_PKG_VERSION"), env!("RCLI_GIT_COMMIT"))
}

fn line(version: &str, commit: &str) -> String {
    if commit.is_empty() { format!("rcli {version}") } else { format!("rcli {version} (git:{commit})") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_follows_the_version_as_redis_cli_shows_it() {
        assert_eq!(line("0.1.0", "1a2b3c4d"), "rcli 0.1.0 (git:1a2b3c4d)");
        assert_eq!(line("0.1.0", "1a2b3c4d-dirty"), "rcli 0.1.0 (git:1a2b3c4d-dirty)");
        assert_eq!(line("0.1.0", ""), "rcli 0.1.0");
    }
}
