//! The manager's pure decisions, each redis-cli 7.0.15's arithmetic (f32 where it uses
//! `float`, so the numbers match; docs/cluster-manager.md): which slots a reshard takes
//! from which source, what a rebalance moves, and the layout `create` proposes
//! (masters, slot ranges, replicas, anti-affinity). No I/O. A node is whatever the
//! caller names it by (`N`: a peer, or an index in tests); the plans hand it back.

use std::collections::VecDeque;

/// `clusterManagerComputeReshardTable`: `sources` are (node, its slots ascending). The
/// sources are taken largest first (stable on ties); the first gives `ceil` of its
/// share, the others `floor`, each its lowest slots, and the table stops at `numslots`.
pub fn reshard_table<N: Clone>(sources: &[(N, Vec<u16>)], numslots: i64) -> Vec<(N, u16)> {
    let total: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let mut sorted: Vec<&(N, Vec<u16>)> = sources.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.1.len()));
    let mut moved: Vec<(N, u16)> = Vec::new();
    if total == 0 {
        return moved;
    }
    for (i, (node, slots)) in sorted.iter().enumerate() {
        let share = numslots as f32 / total as f32 * slots.len() as f32;
        let share = if i == 0 { share.ceil() } else { share.floor() };
        let max = share as i64;
        for (count, &slot) in slots.iter().enumerate() {
            if count as i64 >= max || moved.len() as i64 >= numslots {
                break;
            }
            moved.push((node.clone(), slot));
        }
    }
    moved
}

/// A master taking part in a rebalance.
#[derive(Debug, Clone)]
pub struct Weighted<N> {
    pub node: N,
    pub slots: Vec<u16>,
    pub weight: f32,
}

/// One rebalance step: `slots` go from `src` to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<N> {
    pub src: N,
    pub dst: N,
    pub count: i64,
    pub slots: Vec<u16>,
}

/// What a rebalance will do.
#[derive(Debug, Clone, PartialEq)]
pub enum Rebalance<N> {
    /// Every node is within the threshold.
    NotNeeded,
    Moves {
        total_weight: f32,
        /// (node, balance) sorted by balance: what `--verbose` prints.
        balances: Vec<(N, i64)>,
        steps: Vec<Step<N>>,
        /// A step whose table came out shorter than its count (redis-cli asserts).
        short_table: bool,
    },
}

/// A node's side of the rebalance: how far it is from its share, and the slots it
/// still has to give.
struct Side<N> {
    node: N,
    balance: i64,
    slots: Vec<u16>,
}

/// `clusterManagerCommandRebalance`'s arithmetic over the involved nodes (in cluster
/// order), the threshold in percent.
pub fn rebalance<N: Clone>(nodes: &[Weighted<N>], threshold: f32) -> Rebalance<N> {
    let total_weight: f32 = nodes.iter().map(|n| n.weight).sum();
    let mut sides: Vec<Side<N>> = Vec::with_capacity(nodes.len());
    let mut total_balance: i64 = 0;
    let mut over = false;
    for n in nodes {
        let expected = ((16384.0f32 / total_weight) * n.weight) as i64;
        let count = n.slots.len() as i64;
        let b = count - expected;
        sides.push(Side { node: n.node.clone(), balance: b, slots: n.slots.clone() });
        total_balance += b;
        if threshold > 0.0 {
            if count > 0 {
                let err = (100.0 - (100.0 * expected as f64 / count as f64)).abs() as f32;
                over |= err > threshold;
            } else if expected > 1 {
                over = true;
            }
        }
    }
    if !over {
        return Rebalance::NotNeeded;
    }
    while total_balance > 0 {
        let before = total_balance;
        for side in sides.iter_mut() {
            if side.balance <= 0 && total_balance > 0 {
                side.balance -= 1;
                total_balance -= 1;
            }
        }
        if before == total_balance {
            break; // no node can take more: redis-trib looped forever here
        }
    }
    sides.sort_by_key(|side| side.balance); // stable: cluster order on ties
    let balances: Vec<(N, i64)> = sides.iter().map(|side| (side.node.clone(), side.balance)).collect();
    // Receivers from the front (most negative), givers from the back; a side leaves the
    // queue once it is balanced. A receiver never gives later, so its slots are not kept.
    let mut queue: VecDeque<Side<N>> = sides.into();
    let mut steps = Vec::new();
    let mut short_table = false;
    while let (Some(mut dst), Some(mut src)) = (queue.pop_front(), queue.pop_back()) {
        let count = dst.balance.abs().min(src.balance.abs());
        if count > 0 {
            let take = usize::try_from(count).unwrap_or(0).min(src.slots.len());
            let moved: Vec<u16> = src.slots.drain(..take).collect();
            short_table = moved.len() as i64 != count;
            steps.push(Step { src: src.node.clone(), dst: dst.node.clone(), count, slots: moved });
            if short_table {
                break;
            }
        }
        dst.balance += count;
        src.balance -= count;
        if count == 0 && dst.balance != 0 && src.balance != 0 {
            break;
        }
        if src.balance != 0 {
            queue.push_back(src);
        }
        if dst.balance != 0 {
            queue.push_front(dst);
        }
    }
    Rebalance::Moves { total_weight, balances, steps, short_table }
}

/// The layout `create` proposes for nodes given by their host (as typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Node indices of the masters, in order.
    pub masters: Vec<usize>,
    /// Each master's slot range.
    pub ranges: Vec<(u16, u16)>,
    /// For each node, the master (node index) it replicates.
    pub replica_of: Vec<Option<usize>>,
    /// `Master[i] -> …` and `Adding replica …` lines, in order.
    pub lines: Vec<String>,
}

/// A node given to `create`: its position, its host as typed, `host:port`.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    index: usize,
    host: &'a str,
    addr: &'a str,
}

/// `clusterManagerCommandCreate`'s allocation: interleave the nodes by host, the first
/// `masters` become masters with equal slot ranges, the rest are handed out as
/// replicas (rotated by one, preferring another host). `addrs` are `host:port`, one
/// per host.
pub fn create_layout(hosts: &[String], addrs: &[String], replicas: usize) -> Layout {
    let candidates: Vec<Candidate> =
        hosts.iter().zip(addrs).enumerate().map(|(index, (host, addr))| Candidate { index, host, addr }).collect();
    let n = candidates.len();
    let masters_count = n / (replicas + 1);
    let mut groups: Vec<(&str, Vec<Candidate>)> = Vec::new();
    for candidate in &candidates {
        match groups.iter_mut().find(|(h, _)| *h == candidate.host) {
            Some((_, list)) => list.push(*candidate),
            None => groups.push((candidate.host, vec![*candidate])),
        }
    }
    // One node of each host in turn, until every host is used up.
    let mut queues: Vec<std::vec::IntoIter<Candidate>> = groups.into_iter().map(|(_, list)| list.into_iter()).collect();
    let mut interleaved = Vec::with_capacity(n);
    while interleaved.len() < n {
        interleaved.extend(queues.iter_mut().filter_map(Iterator::next));
    }
    let mut masters = interleaved;
    let spare = masters.split_off(masters_count.min(n));
    let mut lines = Vec::new();
    let mut ranges = Vec::new();
    let per = 16384.0f32 / masters_count.max(1) as f32;
    let mut first: i64 = 0;
    let mut cursor = 0.0f32;
    for i in 0..masters.len() {
        let mut last = (cursor + per - 1.0).round() as i64;
        if last > 16384 || i + 1 == masters.len() {
            last = 16383;
        }
        last = last.max(first);
        lines.push(format!("Master[{i}] -> Slots {first} - {last}"));
        ranges.push((first as u16, last as u16));
        first = last + 1;
        cursor += per;
    }
    let mut pool: Vec<Option<Candidate>> = spare.into_iter().map(Some).collect();
    if !pool.is_empty() {
        pool.rotate_left(1);
    }
    let mut start = 0usize;
    let mut available = pool.len();
    let mut replica_of: Vec<Option<usize>> = vec![None; n];
    let mut extra = false;
    loop {
        for &master in &masters {
            let mut assigned = 0;
            while assigned < replicas || extra {
                if available == 0 {
                    break;
                }
                // The first node on another host; else the first node left (which
                // stays in the pool, as in redis-cli: only the start moves past it).
                let mut found = None;
                let mut first_left = None;
                for (j, entry) in pool.iter_mut().enumerate().skip(start) {
                    let Some(node) = *entry else { continue };
                    if node.host != master.host {
                        found = Some(node);
                        *entry = None;
                        break;
                    }
                    if first_left.is_none() {
                        first_left = Some((j, node));
                    }
                }
                let replica = match (found, first_left) {
                    (Some(node), _) => node,
                    (None, Some((j, node))) => {
                        start = j + 1;
                        node
                    }
                    (None, None) => break,
                };
                assigned += 1;
                available -= 1;
                if let Some(entry) = replica_of.get_mut(replica.index) {
                    *entry = Some(master.index);
                }
                lines.push(format!("Adding replica {} to {}", replica.addr, master.addr));
                if extra {
                    break;
                }
            }
        }
        if !extra && available > 0 {
            extra = true;
            lines.push("Adding extra replicas...".into());
            continue;
        }
        break;
    }
    Layout { masters: masters.iter().map(|c| c.index).collect(), ranges, replica_of, lines }
}

/// A node in the anti-affinity score: its position, host, and the master it replicates.
struct Member<'a> {
    index: usize,
    host: &'a String,
    replica_of: Option<usize>,
}

impl Member<'_> {
    /// The master of the node's group: the one it replicates, or itself.
    fn group(&self) -> usize {
        self.replica_of.unwrap_or(self.index)
    }
}

/// redis-cli's anti-affinity score and its offenders (the first replica of each
/// master that shares a host with its master or a sibling).
pub fn anti_affinity(hosts: &[String], replica_of: &[Option<usize>]) -> (u64, Vec<usize>) {
    let members: Vec<Member> = hosts
        .iter()
        .zip(replica_of)
        .enumerate()
        .map(|(index, (host, &replica_of))| Member { index, host, replica_of })
        .collect();
    let mut score = 0u64;
    let mut offenders = Vec::new();
    let mut seen_hosts: Vec<&String> = Vec::new();
    for host in hosts {
        if seen_hosts.contains(&host) {
            continue;
        }
        seen_hosts.push(host);
        let on_host: Vec<&Member> = members.iter().filter(|m| m.host == host).collect();
        let mut masters_seen: Vec<usize> = Vec::new();
        for member in &on_host {
            let master = member.group();
            if masters_seen.contains(&master) {
                continue;
            }
            masters_seen.push(master);
            let related: Vec<&&Member> = on_host.iter().filter(|m| m.group() == master).collect();
            if related.len() < 2 {
                continue;
            }
            let has_master = related.iter().any(|m| m.replica_of.is_none());
            score += if has_master { 10000 * (related.len() as u64 - 1) } else { related.len() as u64 };
            if let Some(first) = on_host.iter().find(|m| m.replica_of == Some(master)) {
                offenders.push(first.index);
            }
        }
    }
    (score, offenders)
}

/// A small deterministic generator (xorshift64*) for the optimiser.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }

    /// One of `items` at random; `None` (drawing nothing) when there are none.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len()))
    }
}

/// `clusterManagerOptimizeAntiAffinity`: random swaps of replicas' masters, kept when
/// they lower the score, or keep it while moving a replica to a master on another
/// host (redis-cli also keeps swaps that change nothing, which on one host shuffles
/// the pairing it printed). Returns the final score.
pub fn optimize(hosts: &[String], replica_of: &mut [Option<usize>], rng: &mut Rng) -> u64 {
    let mut iterations = 500 * hosts.len();
    while iterations > 0 {
        let (score, offenders) = anti_affinity(hosts, replica_of);
        if score == 0 || offenders.is_empty() {
            break;
        }
        let Some(&first) = rng.pick(&offenders) else { break };
        let others: Vec<usize> = replica_of
            .iter()
            .enumerate()
            .take(hosts.len())
            .filter(|&(i, of)| i != first && of.is_some())
            .map(|(i, _)| i)
            .collect();
        let Some(&second) = rng.pick(&others) else { break };
        // Both are positions in `replica_of`: an offender comes from it, `others` too.
        let (Some(&a), Some(&b)) = (replica_of.get(first), replica_of.get(second)) else { break };
        replica_of.swap(first, second);
        let new_score = anti_affinity(hosts, replica_of).0;
        let host_of = |m: Option<usize>| m.and_then(|m| hosts.get(m));
        let neutral_but_useful = new_score == score && host_of(a) != host_of(b);
        if new_score > score || (new_score == score && !neutral_but_useful) {
            replica_of.swap(first, second);
        }
        iterations -= 1;
    }
    anti_affinity(hosts, replica_of).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(a: u16, b: u16) -> Vec<u16> {
        (a..=b).collect()
    }

    #[test]
    fn reshard_takes_the_lowest_slots_of_the_largest_source_first() {
        let table = reshard_table(&[(0, slots(0, 5460)), (1, slots(5461, 10922)), (2, slots(10923, 16383))], 1000);
        let from = |n: usize| table.iter().filter(|(s, _)| *s == n).count();
        assert_eq!((from(1), from(0), from(2)), (334, 333, 333));
        assert_eq!(table[0], (1, 5461), "the biggest source (5462 slots) gives the ceil share first");
        assert_eq!(table.len(), 1000);
    }

    #[test]
    fn reshard_quirks_are_kept() {
        // Three equal sources and 2 slots: ceil(0.67) + floor + floor = 1 slot.
        let table = reshard_table(&[(0, slots(0, 9)), (1, slots(10, 19)), (2, slots(20, 29))], 2);
        assert_eq!(table, vec![(0, 0)]);
        assert!(reshard_table(&[(0, slots(0, 9))], -5).is_empty());
        assert_eq!(reshard_table(&[(0, slots(0, 9))], 20000).len(), 10);
    }

    #[test]
    fn rebalance_fills_an_empty_master() {
        let nodes = vec![
            Weighted { node: 0, slots: slots(0, 5460), weight: 1.0 },
            Weighted { node: 1, slots: slots(5461, 10922), weight: 1.0 },
            Weighted { node: 2, slots: slots(10923, 16383), weight: 1.0 },
            Weighted { node: 3, slots: Vec::new(), weight: 1.0 },
        ];
        let Rebalance::Moves { total_weight, balances, steps, short_table } = rebalance(&nodes, 2.0) else {
            panic!("a rebalance is needed")
        };
        assert_eq!(total_weight, 4.0);
        assert!(!short_table);
        assert_eq!(balances[0], (3, -4096));
        let mut counts: Vec<i64> = steps.iter().map(|s| s.count).collect();
        counts.sort_unstable();
        assert_eq!(counts, [1365, 1365, 1366]);
        assert!(steps.iter().all(|s| s.dst == 3));
        assert_eq!(steps[0].slots[0], 5461, "each step takes the source's lowest slots");
    }

    #[test]
    fn rebalance_within_threshold_and_draining() {
        let even = vec![
            Weighted { node: 0, slots: slots(0, 8191), weight: 1.0 },
            Weighted { node: 1, slots: slots(8192, 16383), weight: 1.0 },
        ];
        assert_eq!(rebalance(&even, 2.0), Rebalance::NotNeeded);
        let drain = vec![
            Weighted { node: 0, slots: slots(0, 8191), weight: 1.0 },
            Weighted { node: 1, slots: slots(8192, 16383), weight: 0.0 },
        ];
        let Rebalance::Moves { steps, .. } = rebalance(&drain, 2.0) else { panic!() };
        assert_eq!(steps, vec![Step { src: 1, dst: 0, count: 8192, slots: slots(8192, 16383) }]);
    }

    #[test]
    fn create_layout_matches_redis_cli() {
        let hosts: Vec<String> = vec!["127.0.0.1".into(); 6];
        let addrs: Vec<String> = (7000..7006).map(|p| format!("127.0.0.1:{p}")).collect();
        let layout = create_layout(&hosts, &addrs, 1);
        assert_eq!(layout.masters, [0, 1, 2]);
        assert_eq!(layout.ranges, [(0, 5460), (5461, 10922), (10923, 16383)]);
        assert_eq!(
            layout.lines[3..],
            [
                "Adding replica 127.0.0.1:7004 to 127.0.0.1:7000",
                "Adding replica 127.0.0.1:7005 to 127.0.0.1:7001",
                "Adding replica 127.0.0.1:7003 to 127.0.0.1:7002",
            ]
        );
        let (score, _) = anti_affinity(&hosts, &layout.replica_of);
        assert_eq!(score, 30000);
        let mut replica_of = layout.replica_of.clone();
        assert_eq!(optimize(&hosts, &mut replica_of, &mut Rng::new(7)), 30000);
        assert_eq!(replica_of, layout.replica_of, "on one host the printed pairing is kept");
    }

    #[test]
    fn four_masters_get_4096_slots_each_and_hosts_interleave() {
        let hosts: Vec<String> = ["a", "a", "b", "b", "c", "c", "d", "d"].iter().map(|h| h.to_string()).collect();
        let addrs: Vec<String> = (0..8).map(|i| format!("{}:{}", hosts[i], 7000 + i)).collect();
        let layout = create_layout(&hosts, &addrs, 1);
        assert_eq!(layout.masters, [0, 2, 4, 6]);
        assert_eq!(layout.ranges[1], (4096, 8191));
        let mut replica_of = layout.replica_of.clone();
        assert_eq!(optimize(&hosts, &mut replica_of, &mut Rng::new(1)), 0);
    }
}
