//! The manager's per-node work on the run's worker pool: loading a cluster, its
//! consistency check and the create's wait ask every node the same thing; with
//! hundreds of nodes one after the other costs a round trip (and a connect) each. The
//! nodes are jobs of [`workers::run_each`] (client/workers.rs: `--parallel` at once,
//! default 16, the caller's thread one of them), each on a link of its own; every node
//! is asked once, each exchange bounded by the link's own timeout as before. What is
//! the manager's own: a job takes the caller's open connection to its node along, and
//! the caller's link gets every connection back afterwards, so later commands and the
//! next round (a wait polls) reuse them: one connection per node, as before
//! (docs/performance.md, "Threads and descriptors at scale").

use std::sync::Mutex;

use crate::client::workers;
use crate::endpoint::Endpoint;

use super::link::{Link, LinkTemplate};

/// Runs `work` once for each of `nodes`, at most `--parallel` at once (the template's
/// link settings), each on a link of its own from `template`; a job taking a node
/// takes `home`'s connection to it along (no node is connected to twice), and `home`
/// gets every connection back at the end. The results come back in `nodes`' order.
pub fn each_node<T: Send>(
    template: &LinkTemplate,
    home: &mut Link,
    nodes: &[Endpoint],
    work: impl Fn(&mut Link, &Endpoint) -> T + Sync,
) -> Vec<T> {
    let width = template.settings.parallel;
    if width <= 1 || nodes.len() <= 1 {
        return nodes.iter().map(|node| work(home, node)).collect();
    }
    let lent = home.lend_pool();
    // The links of the jobs that ended, for the next job (at most `width` are made).
    let spare: Mutex<Vec<Link>> = Mutex::new(Vec::new());
    let results = workers::run_each(nodes.iter().collect(), width, None, |_, node: &Endpoint| {
        let taken = spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut link = taken.unwrap_or_else(|| template.link());
        lent.lock().unwrap_or_else(|e| e.into_inner()).move_idle(node, link.pool_mut());
        let out = work(&mut link, node);
        spare.lock().unwrap_or_else(|e| e.into_inner()).push(link);
        out
    });
    home.take_back(lent);
    for link in spare.into_inner().unwrap_or_else(|e| e.into_inner()) {
        home.adopt(link);
    }
    // Without a stop flag every job runs; one lost to a worker that ended early is
    // asked again here rather than leave a hole in the results.
    results.into_iter().zip(nodes).map(|(result, node)| result.unwrap_or_else(|| work(home, node))).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::client::pool::LinkSettings;

    fn template(parallel: usize) -> LinkTemplate {
        let mut settings = LinkSettings::plain(Duration::from_secs(1));
        settings.parallel = parallel;
        LinkTemplate::new(None, settings, Duration::from_secs(5))
    }

    #[test]
    fn every_node_is_worked_on_once_and_results_keep_their_order() {
        let template = template(16);
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

    #[test]
    fn no_more_nodes_than_parallel_are_worked_on_at_once() {
        let nodes: Vec<Endpoint> = (1..=60u16).map(|p| Endpoint::tcp("127.0.0.1", p)).collect();
        for width in [1, 3, 16] {
            let template = template(width);
            let mut home = template.link();
            let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
            each_node(&template, &mut home, &nodes, |_, _| {
                peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                running.fetch_sub(1, Ordering::SeqCst);
            });
            assert!((1..=width).contains(&peak.load(Ordering::SeqCst)), "width {width}: {peak:?} at once");
        }
    }
}
