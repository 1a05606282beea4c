//! The manager's pure decisions, each redis-cli 7.0.15's arithmetic (f32 where it uses
//! `float`, so the numbers match; docs/cluster-manager.md): which slots a reshard takes
//! from which source, what a rebalance moves, and the layout `create` proposes
//! (masters, slot ranges, replicas, anti-affinity). No I/O.

/// `clusterManagerComputeReshardTable`: `sources` are (node, its slots ascending). The
/// sources are taken largest first (stable on ties); the first gives `ceil` of its
/// share, the others `floor`, each its lowest slots, and the table stops at `numslots`.
pub fn reshard_table(sources: &[(usize, Vec<u16>)], numslots: i64) -> Vec<(usize, u16)> {
    let total: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let mut sorted: Vec<&(usize, Vec<u16>)> = sources.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.1.len()));
    let mut moved: Vec<(usize, u16)> = Vec::new();
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
            moved.push((*node, slot));
        }
    }
    moved
}

/// A master taking part in a rebalance.
#[derive(Debug, Clone)]
pub struct Weighted {
    pub node: usize,
    pub slots: Vec<u16>,
    pub weight: f32,
}

/// One rebalance step: `slots` go from `src` to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub src: usize,
    pub dst: usize,
    pub count: i64,
    pub slots: Vec<u16>,
}

/// What a rebalance will do.
#[derive(Debug, Clone, PartialEq)]
pub enum Rebalance {
    /// Every node is within the threshold.
    NotNeeded,
    Moves {
        total_weight: f32,
        /// (node, balance) sorted by balance: what `--verbose` prints.
        balances: Vec<(usize, i64)>,
        steps: Vec<Step>,
        /// A step whose table came out shorter than its count (redis-cli asserts).
        short_table: bool,
    },
}

/// `clusterManagerCommandRebalance`'s arithmetic over the involved nodes (in cluster
/// order), the threshold in percent.
pub fn rebalance(nodes: &[Weighted], threshold: f32) -> Rebalance {
    let total_weight: f32 = nodes.iter().map(|n| n.weight).sum();
    let mut balance: Vec<i64> = Vec::with_capacity(nodes.len());
    let mut total_balance: i64 = 0;
    let mut over = false;
    for n in nodes {
        let expected = ((16384.0f32 / total_weight) * n.weight) as i64;
        let count = n.slots.len() as i64;
        let b = count - expected;
        balance.push(b);
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
        for b in balance.iter_mut() {
            if *b <= 0 && total_balance > 0 {
                *b -= 1;
                total_balance -= 1;
            }
        }
        if before == total_balance {
            break; // no node can take more: redis-trib looped forever here
        }
    }
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| balance[i]);
    let balances: Vec<(usize, i64)> = order.iter().map(|&i| (nodes[i].node, balance[i])).collect();
    let mut slots: Vec<Vec<u16>> = nodes.iter().map(|n| n.slots.clone()).collect();
    let mut steps = Vec::new();
    let mut short_table = false;
    let (mut dst_idx, mut src_idx) = (0usize, order.len().saturating_sub(1));
    while dst_idx < src_idx {
        let (d, s) = (order[dst_idx], order[src_idx]);
        let count = balance[d].abs().min(balance[s].abs());
        if count > 0 {
            let take = usize::try_from(count).unwrap_or(0).min(slots[s].len());
            let moved: Vec<u16> = slots[s].drain(..take).collect();
            short_table |= moved.len() as i64 != count;
            steps.push(Step { src: nodes[s].node, dst: nodes[d].node, count, slots: moved.clone() });
            let mut merged = slots[d].clone();
            merged.extend(moved);
            merged.sort_unstable();
            slots[d] = merged;
            if short_table {
                break;
            }
        }
        balance[d] += count;
        balance[s] -= count;
        if balance[d] == 0 {
            dst_idx += 1;
        }
        if balance[s] == 0 {
            src_idx = src_idx.saturating_sub(1);
        }
        if count == 0 && balance[d] != 0 && balance[s] != 0 {
            break;
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

/// `clusterManagerCommandCreate`'s allocation: interleave the nodes by host, the first
/// `masters` become masters with equal slot ranges, the rest are handed out as
/// replicas (rotated by one, preferring another host). `addrs` are `host:port`.
pub fn create_layout(hosts: &[String], addrs: &[String], replicas: usize) -> Layout {
    let n = hosts.len();
    let masters_count = n / (replicas + 1);
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        match groups.iter_mut().find(|(h, _)| h == host) {
            Some((_, list)) => list.push(i),
            None => groups.push((host.clone(), vec![i])),
        }
    }
    let mut interleaved = Vec::with_capacity(n);
    let mut cursors = vec![0usize; groups.len()];
    while interleaved.len() < n {
        for (g, (_, list)) in groups.iter().enumerate() {
            if let Some(&i) = list.get(cursors[g]) {
                interleaved.push(i);
                cursors[g] += 1;
            }
        }
    }
    let masters: Vec<usize> = interleaved[..masters_count.min(n)].to_vec();
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
    let mut pool: Vec<Option<usize>> = interleaved[masters.len()..].iter().copied().map(Some).collect();
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
                let mut found = None;
                let mut first_idx = None;
                for (j, entry) in pool.iter_mut().enumerate().skip(start) {
                    let Some(node) = *entry else { continue };
                    if hosts[node] != hosts[master] {
                        found = Some(node);
                        *entry = None;
                        break;
                    }
                    if first_idx.is_none() {
                        first_idx = Some(j);
                    }
                }
                let replica = match (found, first_idx) {
                    (Some(node), _) => node,
                    (None, Some(j)) => {
                        start = j + 1;
                        match pool[j] {
                            Some(node) => node,
                            None => break,
                        }
                    }
                    (None, None) => break,
                };
                assigned += 1;
                available -= 1;
                replica_of[replica] = Some(master);
                lines.push(format!("Adding replica {} to {}", addrs[replica], addrs[master]));
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
    Layout { masters, ranges, replica_of, lines }
}

/// redis-cli's anti-affinity score and its offenders (the first replica of each
/// master that shares a host with its master or a sibling).
pub fn anti_affinity(hosts: &[String], replica_of: &[Option<usize>]) -> (u64, Vec<usize>) {
    let mut score = 0u64;
    let mut offenders = Vec::new();
    let mut seen_hosts: Vec<&String> = Vec::new();
    for host in hosts {
        if seen_hosts.contains(&host) {
            continue;
        }
        seen_hosts.push(host);
        let on_host: Vec<usize> = (0..hosts.len()).filter(|&i| &hosts[i] == host).collect();
        let mut masters_seen: Vec<usize> = Vec::new();
        for &i in &on_host {
            let master = replica_of[i].unwrap_or(i);
            if masters_seen.contains(&master) {
                continue;
            }
            masters_seen.push(master);
            let related: Vec<usize> =
                on_host.iter().copied().filter(|&j| replica_of[j].unwrap_or(j) == master).collect();
            if related.len() < 2 {
                continue;
            }
            let has_master = related.iter().any(|&j| replica_of[j].is_none());
            score += if has_master { 10000 * (related.len() as u64 - 1) } else { related.len() as u64 };
            if let Some(&first) = (0..hosts.len())
                .filter(|&j| replica_of[j] == Some(master) && &hosts[j] == host)
                .collect::<Vec<_>>()
                .first()
            {
                offenders.push(first);
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
        let first = offenders[rng.below(offenders.len())];
        let others: Vec<usize> = (0..hosts.len()).filter(|&i| i != first && replica_of[i].is_some()).collect();
        if others.is_empty() {
            break;
        }
        let second = others[rng.below(others.len())];
        let (a, b) = (replica_of[first], replica_of[second]);
        replica_of[first] = b;
        replica_of[second] = a;
        let new_score = anti_affinity(hosts, replica_of).0;
        let host_of = |m: Option<usize>| m.map(|m| &hosts[m]);
        let neutral_but_useful = new_score == score && host_of(a) != host_of(b);
        if new_score > score || (new_score == score && !neutral_but_useful) {
            replica_of[first] = a;
            replica_of[second] = b;
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
