//! What a key scan asks a node before walking it ([`super::bigkeys`]): its DBSIZE (the
//! denominator of the percentages), for `--hotkeys` whether it tracks how often keys are
//! used (an LFU policy), and on a cluster replica READONLY so its keys can be read.

use std::time::Duration;

use crate::client::pool::Pool;
use crate::endpoint::Endpoint;
use crate::protocol::resp::Frame;

/// DBSIZE of `endpoint`, with redis-cli's messages.
pub fn dbsize(pool: &mut Pool, endpoint: &Endpoint, wait: Option<Duration>) -> Result<u64, String> {
    match pool.request(endpoint, &["DBSIZE"], wait) {
        Ok(Frame::Integer(n)) => Ok(u64::try_from(n).unwrap_or(0)),
        Ok(reply) => Err(match reply.as_error() {
            Some(error) => format!("Couldn't determine DBSIZE: {}", String::from_utf8_lossy(error)),
            None => "Non INTEGER response from DBSIZE!".to_string(),
        }),
        Err(error) => Err(error.to_string()),
    }
}

/// `--hotkeys` needs an LFU `maxmemory-policy`: without one, OBJECT FREQ fails on the
/// first key. Checked before the scan (redis-cli 7.0.15 does not, docs/compatibility.md);
/// when CONFIG GET is not allowed the scan goes ahead.
pub fn lfu_check(pool: &mut Pool, endpoint: &Endpoint, wait: Option<Duration>) -> Result<(), String> {
    let reply = pool.request(endpoint, &["CONFIG", "GET", "maxmemory-policy"], wait).map_err(|e| e.to_string())?;
    let pairs = reply.to_pairs().unwrap_or_default();
    let Some(policy) = crate::protocol::resp::field(&pairs, "maxmemory-policy").and_then(Frame::to_text) else {
        return Ok(());
    };
    if policy.ends_with("lfu") {
        return Ok(());
    }
    Err(format!(
        "--hotkeys needs an LFU maxmemory-policy, but {endpoint} has '{policy}': it does not track how often keys \
         are used. Set one with CONFIG SET maxmemory-policy allkeys-lfu (or volatile-lfu) and try again."
    ))
}

/// A cluster replica serves keyed reads (TYPE, STRLEN, MEMORY USAGE…) only after
/// READONLY, as newer CLIs send it: when ROLE says the node is a replica and READONLY is
/// accepted (it is a cluster node), every connection to it sends READONLY from now on.
pub fn read_on_replica(pool: &mut Pool, endpoint: &Endpoint, wait: Option<Duration>) {
    let role = pool.request(endpoint, &["ROLE"], wait).ok();
    let first = role.as_ref().and_then(Frame::as_items).and_then(|items| items.first()).and_then(Frame::as_bytes);
    if first.is_some_and(|role| role == b"slave" || role == b"replica")
        && pool.request(endpoint, &["READONLY"], wait).is_ok_and(|reply| reply.as_error().is_none())
    {
        pool.mark_replica(endpoint);
    }
}
