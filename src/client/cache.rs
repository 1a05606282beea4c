//! On-disk cache of what a server tells about its commands (`COMMAND`, `COMMAND DOCS`),
//! one file per kind and server version under `dirs::cache_dir()/rcli/`, so a start
//! against a known version costs one `INFO server` instead of ~250 KB of replies.
//! The cache is an optimisation: every failure to read or write it is ignored.

use std::fs;
use std::path::PathBuf;

use crate::protocol::resp::{self, Frame};

fn path(kind: &str, version: &str) -> Option<PathBuf> {
    let safe: String = version.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect();
    if safe.is_empty() {
        return None;
    }
    Some(dirs::cache_dir()?.join("rcli").join(format!("{kind}-{safe}.resp")))
}

/// The cached reply of `kind` for `version`, or the result of `fetch` (then cached).
pub fn reply_for_version(kind: &str, version: &str, fetch: impl FnOnce() -> Option<Frame>) -> Option<Frame> {
    let file = path(kind, version);
    if let Some(file) = &file
        && let Ok(bytes) = fs::read(file)
        && let Ok(Some((frame, _))) = resp::parse(&bytes)
    {
        return Some(frame);
    }
    let frame = fetch()?;
    if let Some(file) = file {
        let mut bytes = Vec::new();
        resp::encode_frame(&frame, &mut bytes);
        let written = file.parent().map(fs::create_dir_all).transpose().ok().and_then(|_| {
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            fs::write(&tmp, &bytes).ok()?;
            fs::rename(&tmp, &file).ok()
        });
        let _ignored_cache_failure = written;
    }
    Some(frame)
}

/// The `redis_version:` line of an `INFO server` reply.
pub fn version_from_info(info: &Frame) -> Option<String> {
    let text = String::from_utf8_lossy(info.as_bytes()?).into_owned();
    text.lines().find_map(|l| l.strip_prefix("redis_version:")).map(|v| v.trim().to_string())
}
