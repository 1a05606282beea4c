//! Build script: the git commit rcli is built from, for `rcli --version`
//! (`cli::version_text`), as the environment variable `RCLI_GIT_COMMIT` of the crate's
//! compilation: eight hex digits, `-dirty` after them when the sources that make the
//! binary (src/, build.rs, Cargo.toml, Cargo.lock) differ from that commit, or empty when
//! unknown.
//!
//! From a git checkout it asks git; from a packaged crate (crates.io, `cargo package`'s
//! check) the commit `cargo package` recorded in `.cargo_vcs_info.json`. Anything that
//! goes wrong (no git, not a checkout, odd output) leaves it empty: it never fails the
//! build. It asks cargo to run it again only when HEAD or the current branch moves or
//! those sources change, never for another branch's commits.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sources whose changes make a build `-dirty`.
const SOURCES: &[&str] = &["src", "build.rs", "Cargo.toml", "Cargo.lock"];

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    let commit = from_git(&dir).or_else(|| from_vcs_info(&dir)).unwrap_or_default();
    println!("cargo:rustc-env=RCLI_GIT_COMMIT={commit}");
}

/// `git -C dir ARGS…`'s trimmed output, if it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

/// The commit of the checkout `dir` is the root of, watching what moves it.
fn from_git(dir: &Path) -> Option<String> {
    // Only a checkout of rcli itself: not a packaged crate unpacked inside some other
    // repository (a home directory kept in git, a target directory inside this one).
    git(dir, &["ls-files", "--error-unmatch", "--", "Cargo.toml"])?;
    let commit = git(dir, &["rev-parse", "--short=8", "HEAD"])?;
    if commit.len() < 7 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    watch_head(dir);
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    // --no-optional-locks: never write the index, which another git command may hold.
    let changed = git(
        dir,
        &["--no-optional-locks", "status", "--porcelain", "--"].iter().chain(SOURCES).copied().collect::<Vec<_>>(),
    )?;
    Some(if changed.is_empty() { commit } else { format!("{commit}-dirty") })
}

/// Asks cargo to run this again when HEAD moves: the HEAD file, and the branch it
/// names (its own file, else packed-refs and the folder a new loose ref would appear in).
/// Only paths that exist are named: cargo runs a script again on every build while a
/// named path is missing.
fn watch_head(dir: &Path) {
    // Relative to `dir` unless absolute (git before 2.31 has no --path-format).
    let git_path = |name: &str| git(dir, &["rev-parse", "--git-path", name]).map(|p| dir.join(p));
    let mut watched: Vec<PathBuf> = git_path("HEAD").into_iter().collect();
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        match git_path(&branch) {
            Some(loose) if loose.is_file() => watched.push(loose),
            Some(loose) => {
                watched.extend(git_path("packed-refs"));
                watched.extend(loose.parent().map(Path::to_path_buf));
            }
            None => {}
        }
    }
    for path in watched.into_iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The commit `cargo package` wrote into the packaged crate's `.cargo_vcs_info.json`
/// (`"sha1": "…"`, and `"dirty": true` when packaged with changes).
fn from_vcs_info(dir: &Path) -> Option<String> {
    let path = dir.join(".cargo_vcs_info.json");
    let text = std::fs::read_to_string(&path).ok()?;
    println!("cargo:rerun-if-changed={}", path.display());
    let after = text.split("\"sha1\"").nth(1)?;
    let value = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let sha: String = value.chars().take_while(char::is_ascii_hexdigit).collect();
    let short = sha.get(..8)?;
    let dirty = text
        .split("\"dirty\"")
        .nth(1)
        .is_some_and(|rest| rest.trim_start().trim_start_matches(':').trim_start().starts_with("true"));
    Some(if dirty { format!("{short}-dirty") } else { short.to_string() })
}
