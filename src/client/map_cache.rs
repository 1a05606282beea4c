//! The slot map cached on disk, one file per cluster (`<cache dir>/rcli/slot-map-<hash>`,
//! the hash of the seed and TLS or not; the format and its checks are
//! `cluster/map_file.rs`'s). It is only ever a hint for one-shot commands
//! (`client/hint.rs`): the node it names must prove who it is, and the cluster corrects
//! it with MOVED. So every failure to read or write it is silent, and a file that is not
//! exactly what rcli writes is treated as absent:
//! * written whole to a new temporary file (mode 0600, never through an existing path)
//!   and renamed into place;
//! * read only if it is a regular file (not a symlink: the name is looked at without
//!   following it, and the file opened must be that same file), owned by the owner of
//!   its directory, readable and writable by its owner only, and at most
//!   [`MAX_BYTES`] long;
//! * `--no-map-cache` or `RCLI_NO_MAP_CACHE=1` turn it off (`Options::map_cache`).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::cluster::map_file::{self, Identity};
use crate::cluster::topology::Topology;

/// The largest file read (a 1,000-primary map with ranges cut small fits many times).
pub const MAX_BYTES: u64 = 1 << 20;

/// Where `identity`'s map lives; `None` without a cache directory.
pub fn path(identity: &Identity) -> Option<PathBuf> {
    let key = format!("tls={}\n{}", u8::from(identity.tls), identity.seed);
    let name = format!("slot-map-{:016x}", super::cache::fnv1a(key.as_bytes()));
    Some(dirs::cache_dir()?.join("rcli").join(name))
}

/// The cached map of `identity`'s cluster, if a sound file holds one.
pub fn load(identity: &Identity) -> Option<Topology> {
    map_file::decode(identity, &read_trusted(&path(identity)?)?)
}

/// Caches `topology` for `identity`'s cluster, unless the file already says the same.
pub fn store(identity: &Identity, topology: &Topology) {
    let Some(text) = map_file::encode(identity, topology) else { return };
    let Some(file) = path(identity) else { return };
    if read_trusted(&file).is_some_and(|old| old == text.as_bytes()) {
        return;
    }
    let _ignored_cache_failure = write_atomically(&file, text.as_bytes());
}

/// Removes `identity`'s file (a hint the cluster contradicted and no map replaced).
pub fn discard(identity: &Identity) {
    if let Some(file) = path(identity) {
        let _ignored_cache_failure = fs::remove_file(file);
    }
}

/// The bytes of `file` if it passes the checks in the file's header.
fn read_trusted(file: &Path) -> Option<Vec<u8>> {
    let seen = fs::symlink_metadata(file).ok()?;
    if !seen.file_type().is_file() || seen.len() > MAX_BYTES || seen.mode() & 0o077 != 0 {
        return None;
    }
    let dir = fs::metadata(file.parent()?).ok()?;
    if seen.uid() != dir.uid() {
        return None;
    }
    let opened = File::open(file).ok()?;
    let meta = opened.metadata().ok()?;
    // The name may have been swapped (for a symlink) between the look and the open.
    if (meta.dev(), meta.ino()) != (seen.dev(), seen.ino()) || !meta.file_type().is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    opened.take(MAX_BYTES + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_BYTES).then_some(bytes)
}

/// Writes `bytes` to a new temporary file beside `file` (created, never opened through
/// an existing name), then renames it over `file`.
fn write_atomically(file: &Path, bytes: &[u8]) -> Option<()> {
    let dir = file.parent()?;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).ok()?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut out| out.write_all(bytes))
        .and_then(|()| fs::rename(&tmp, file));
    if written.is_err() {
        let _ignored_cache_failure = fs::remove_file(&tmp);
        return None;
    }
    Some(())
}
