//! The manager's per-node work on a bounded number of threads: loading a cluster, its
//! consistency check and the create's wait ask every node the same thing; with
//! hundreds of nodes one after the other costs a round trip (and a connect) each. At
//! most [`WIDTH`] threads (the caller's included) take nodes from one shared queue, each
//! on its own link; every node is asked once, each exchange bounded by the link's own
//! timeout as before. A thread takes the caller's open connection to its node along,
//! and the caller's link gets every connection back afterwards, so later commands and
//! the next round (a wait polls) reuse them: one connection per node, as before
//! (docs/performance.md, "Threads and descriptors at scale").

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::endpoint::Endpoint;

use super::link::{Link, LinkTemplate};

/// The most threads working on nodes at once, the caller's included.
pub const WIDTH: usize = 16;

/// Runs `work` once for each of `nodes`, on at most [`WIDTH`] threads, each on a link
/// of its own from `template`; a thread taking a node takes `home`'s connection to it
/// along (no node is connected to twice), and `home` gets every connection back at
/// the end. The results come back in `nodes`' order.
pub fn each_node<T: Send>(
    template: &LinkTemplate,
    home: &mut Link,
    nodes: &[Endpoint],
    work: impl Fn(&mut Link, &Endpoint) -> T + Sync,
) -> Vec<T> {
    let width = nodes.len().min(WIDTH);
    if width <= 1 {
        return nodes.iter().map(|node| work(home, node)).collect();
    }
    let lent = home.lend_pool();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new(nodes.iter().map(|_| None).collect());
    let links: Mutex<Vec<Link>> = Mutex::new(Vec::new());
    let drain = || {
        let mut link = template.link();
        loop {
            let index = next.fetch_add(1, Ordering::SeqCst);
            let Some(node) = nodes.get(index) else { break };
            lent.lock().unwrap_or_else(|e| e.into_inner()).move_idle(node, link.pool_mut());
            let out = work(&mut link, node);
            let mut guard = results.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = guard.get_mut(index) {
                *slot = Some(out);
            }
        }
        links.lock().unwrap_or_else(|e| e.into_inner()).push(link);
    };
    std::thread::scope(|scope| {
        for _ in 1..width {
            // A thread that cannot start leaves its share to the others.
            if std::thread::Builder::new().name("rcli-node".into()).spawn_scoped(scope, drain).is_err() {
                break;
            }
        }
        drain();
    });
    home.take_back(lent);
    for link in links.into_inner().unwrap_or_else(|e| e.into_inner()) {
        home.adopt(link);
    }
    // Every node was taken by a thread that finished (a panic would have ended the
    // scope above), so every result is here.
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::pool::LinkSettings;

    #[test]
    fn every_node_is_worked_on_once_and_results_keep_their_order() {
        let template = LinkTemplate::new(None, LinkSettings::plain(Duration::from_secs(1)), Duration::from_secs(5));
        let mut home = template.link();
        let nodes: Vec<Endpoint> = (1..=40u16).map(|p| Endpoint::tcp("127.0.0.1", p)).collect();
        let calls = AtomicUsize::new(0);
        let out = each_node(&template, &mut home, &nodes, |_, node| {
            calls.fetch_add(1, Ordering::SeqCst);
            node.to_string()
        });
        assert_eq!(calls.load(Ordering::SeqCst), 40);
        assert_eq!(out, nodes.iter().map(Endpoint::to_string).collect::<Vec<_>>());
        assert!(each_node(&template, &mut home, &[], |_, _| 1).is_empty());
    }
}
