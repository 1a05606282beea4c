//! Are two copies of a key the same value? Asked when MIGRATE finds the key already on
//! the target (BUSYKEY). redis-cli uses `DEBUG DIGEST-VALUE`, which Redis 7 disables by
//! default; rcli then compares `DUMP` payloads, and when they differ (the same value
//! can be encoded differently) the typed contents (docs/cluster-manager.md, "fix").
//! Every read is preceded by ASKING: neither node may own the slot at that moment.

use crate::endpoint::Endpoint;

use super::link::{Link, error_of, reply_text};
use crate::protocol::resp::Frame;

/// How the values were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Digest,
    Dump,
}

/// For each key, whether both nodes hold the same value; `Err` when neither method
/// could be used (the text is the server's error).
pub fn compare(
    link: &mut Link,
    src: &Endpoint,
    dst: &Endpoint,
    keys: &[Vec<u8>],
) -> Result<(Vec<bool>, Method), String> {
    match digests(link, src, dst, keys) {
        Ok(equal) => Ok((equal, Method::Digest)),
        Err(_) => {
            let a = dumps(link, src, keys)?;
            let b = dumps(link, dst, keys)?;
            let mut equal = Vec::with_capacity(keys.len());
            for (i, key) in keys.iter().enumerate() {
                let (x, y) = (a.get(i).cloned().flatten(), b.get(i).cloned().flatten());
                let same = x.is_none() || y.is_none() || x == y || typed_equal(link, src, dst, key)?;
                equal.push(same);
            }
            Ok((equal, Method::Dump))
        }
    }
}

fn digests(link: &mut Link, src: &Endpoint, dst: &Endpoint, keys: &[Vec<u8>]) -> Result<Vec<bool>, String> {
    let mut argv: Vec<Vec<u8>> = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
    argv.extend(keys.iter().cloned());
    let mut digests_on = |node: &Endpoint| -> Result<Vec<Vec<u8>>, String> {
        let reply = link.cmd(node, &argv).map_err(|e| e.to_string())?;
        if let Some(err) = error_of(&reply) {
            return Err(err);
        }
        Ok(reply.as_items().unwrap_or_default().iter().map(|f| f.as_bytes().unwrap_or_default().to_vec()).collect())
    };
    let (a, b) = (digests_on(src)?, digests_on(dst)?);
    // A key missing on either side (a zero digest) is not a conflict, as in redis-cli.
    let zero = |d: Option<&Vec<u8>>| d.is_none_or(|d| d.iter().all(|b| *b == b'0'));
    Ok((0..keys.len())
        .map(|i| {
            let (x, y) = (a.get(i), b.get(i));
            zero(x) || zero(y) || x == y
        })
        .collect())
}

/// `ASKING` + one command per key, pipelined; the command replies only.
fn asked(link: &mut Link, node: &Endpoint, commands: Vec<Vec<Vec<u8>>>) -> Result<Vec<Frame>, String> {
    let mut all = Vec::new();
    for argv in commands {
        all.push(vec![b"ASKING".to_vec()]);
        all.push(argv);
    }
    let replies = link.pipeline(node, &all).map_err(|e| e.to_string())?;
    Ok(replies.into_iter().skip(1).step_by(2).collect())
}

fn dumps(link: &mut Link, node: &Endpoint, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, String> {
    let commands = keys.iter().map(|k| vec![b"DUMP".to_vec(), k.clone()]).collect();
    let replies = asked(link, node, commands)?;
    if let Some(err) = replies.iter().find_map(error_of) {
        return Err(err);
    }
    Ok(replies.iter().map(|r| r.as_bytes().map(<[u8]>::to_vec)).collect())
}

/// The value's contents in a canonical form (sorted where order does not matter).
fn contents(link: &mut Link, node: &Endpoint, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
    let kind = asked(link, node, vec![vec![b"TYPE".to_vec(), key.to_vec()]])?;
    let kind = kind.first().map(reply_text).unwrap_or_default();
    let k = key.to_vec();
    // The command, the arguments after the key, and whether the order is irrelevant.
    let (name, after_key, sort): (&[u8], &[&[u8]], bool) = match kind.as_str() {
        "string" => (b"GET", &[], false),
        "hash" => (b"HGETALL", &[], true),
        "list" => (b"LRANGE", &[b"0", b"-1"], false),
        "set" => (b"SMEMBERS", &[], true),
        "zset" => (b"ZRANGE", &[b"0", b"-1", b"WITHSCORES"], false),
        "stream" => (b"XRANGE", &[b"-", b"+"], false),
        _ => return Ok(None),
    };
    let mut command = vec![name.to_vec(), k];
    command.extend(after_key.iter().map(|a| a.to_vec()));
    let reply = asked(link, node, vec![command])?;
    let frame = reply.into_iter().next().unwrap_or(Frame::Null);
    let items = frame.as_items().map(<[Frame]>::to_vec).unwrap_or_else(|| vec![frame.clone()]);
    let mut flat = Vec::new();
    for item in &items {
        flatten(item, &mut flat);
    }
    if kind == "hash" {
        let mut pairs: Vec<Vec<u8>> = flat.chunks(2).map(|p| p.concat()).collect();
        pairs.sort();
        return Ok(Some(pairs));
    }
    if sort {
        flat.sort();
    }
    Ok(Some(std::iter::once(kind.into_bytes()).chain(flat).collect()))
}

fn flatten(frame: &Frame, out: &mut Vec<Vec<u8>>) {
    match frame {
        Frame::Array(items) | Frame::Set(items) => {
            out.push(format!("*{}", items.len()).into_bytes());
            for item in items {
                flatten(item, out);
            }
        }
        Frame::Integer(n) => out.push(n.to_string().into_bytes()),
        other => out.push(other.as_bytes().unwrap_or_default().to_vec()),
    }
}

fn typed_equal(link: &mut Link, src: &Endpoint, dst: &Endpoint, key: &[u8]) -> Result<bool, String> {
    let a = contents(link, src, key)?;
    let b = contents(link, dst, key)?;
    Ok(a.is_some() && a == b)
}
