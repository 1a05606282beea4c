//! On-disk cache of what a server tells about its commands (`COMMAND`, `COMMAND DOCS`),
//! so a start against a known server costs a fingerprint instead of ~250 KB of replies.
//! A file is keyed by the server's fingerprint — software, version, command count and
//! loaded modules — not by the version alone: servers of one version with other modules
//! (or a fake claiming the version) do not share it. A cached table is still checked
//! against the live server before it is used (`client/tables.rs`). The cache is an
//! optimisation: every failure to read or write it is ignored.

use std::fs;
use std::path::PathBuf;

use crate::protocol::encode;
use crate::protocol::resp::{self, Frame};

/// What identifies a server's command table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// A hex digest of software, version, command count and modules.
    pub key: String,
    /// The version, for messages.
    pub version: String,
}

impl Fingerprint {
    /// From `INFO server` (required: the version), `INFO modules` and `COMMAND COUNT`
    /// (either may be missing when not allowed).
    pub fn from_replies(info_server: &Frame, info_modules: Option<&Frame>, command_count: Option<i64>) -> Option<Self> {
        let version = version_from_info(info_server)?;
        let server_text = String::from_utf8_lossy(info_server.as_bytes()?).into_owned();
        let software =
            server_text.lines().find_map(|l| l.strip_prefix("server_name:")).map_or("redis", str::trim).to_string();
        let mut modules: Vec<String> = info_modules
            .and_then(Frame::as_bytes)
            .map(|b| {
                String::from_utf8_lossy(b).lines().filter(|l| l.starts_with("module:")).map(String::from).collect()
            })
            .unwrap_or_default();
        modules.sort();
        let identity = format!("{software}\n{version}\n{}\n{}", command_count.unwrap_or(-1), modules.join("\n"));
        Some(Fingerprint { key: format!("{:016x}", fnv1a(identity.as_bytes())), version })
    }
}

/// FNV-1a, 64 bits: a file name for a fingerprint (not a defence; the check against
/// the server is).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn path(kind: &str, fingerprint: &Fingerprint) -> Option<PathBuf> {
    Some(dirs::cache_dir()?.join("rcli").join(format!("{kind}-{}.resp", fingerprint.key)))
}

/// The cached reply of `kind` for `fingerprint`, if any.
pub fn load(kind: &str, fingerprint: &Fingerprint) -> Option<Frame> {
    let bytes = fs::read(path(kind, fingerprint)?).ok()?;
    match resp::parse(&bytes) {
        Ok(Some((frame, _))) => Some(frame),
        _ => None,
    }
}

/// Caches `frame` as the reply of `kind` for `fingerprint` (written whole, then renamed).
pub fn store(kind: &str, fingerprint: &Fingerprint, frame: &Frame) {
    let Some(file) = path(kind, fingerprint) else { return };
    let mut bytes = Vec::new();
    encode::encode_frame(frame, &mut bytes);
    let written = file.parent().map(fs::create_dir_all).transpose().ok().and_then(|_| {
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        fs::write(&tmp, &bytes).ok()?;
        fs::rename(&tmp, &file).ok()
    });
    let _ignored_cache_failure = written;
}

/// Removes a cached reply the server contradicted.
pub fn discard(kind: &str, fingerprint: &Fingerprint) {
    if let Some(file) = path(kind, fingerprint) {
        let _ignored_cache_failure = fs::remove_file(file);
    }
}

/// The `valkey_version:` line of an `INFO server` reply, else its `redis_version:`:
/// every Valkey 8 release also says `redis_version:7.2.4` (the Redis it is compatible
/// with), so only its own line tells Valkey 8.0.x and 8.1.x apart.
pub fn version_from_info(info: &Frame) -> Option<String> {
    let text = String::from_utf8_lossy(info.as_bytes()?).into_owned();
    let line = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).map(|v| v.trim().to_string());
    line("valkey_version:")
        .or_else(|| line("redis_version:"))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(text.as_bytes().to_vec())
    }

    #[test]
    fn the_fingerprint_tells_apart_what_a_version_alone_does_not() {
        let info = bulk("# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n");
        let plain = Fingerprint::from_replies(&info, None, Some(240)).unwrap();
        assert_eq!(plain.version, "7.0.15");
        let with_module = Fingerprint::from_replies(&info, Some(&bulk("module:name=search,ver=20600\r\n")), Some(240));
        let other_count = Fingerprint::from_replies(&info, None, Some(241));
        assert_ne!(Some(plain.clone()), with_module);
        assert_ne!(Some(plain.clone()), other_count);
        assert_eq!(Fingerprint::from_replies(&info, None, Some(240)), Some(plain));
        let valkey = bulk("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.1.1\r\n");
        assert_eq!(Fingerprint::from_replies(&valkey, None, None).map(|f| f.version), Some("8.1.1".into()));
        let later = bulk("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.1.8\r\n");
        assert_ne!(
            Fingerprint::from_replies(&valkey, None, Some(240)),
            Fingerprint::from_replies(&later, None, Some(240))
        );
        assert_eq!(Fingerprint::from_replies(&bulk("no version"), None, None), None);
    }
}
