//! What reading a big cluster's map costs (docs/performance.md, "Big maps"): generates
//! the replies a 1,000-node cluster sends (500 primaries with one replica each, the
//! slots spread over 1,500 ranges as after a few rebalances, ids and addresses as a real
//! cluster has them: `CLUSTER SHARDS` and `CLUSTER SLOTS` in RESP2, `CLUSTER NODES`) and
//! times each step rcli takes with them: finding where the frame ends while it arrives
//! (`protocol::scan`), parsing it (`protocol::resp`), building the slot map
//! (`cluster::map_reply`, `cluster::topology`) and the queries that follow (every node,
//! every primary, each node found by address), and the manager's `CLUSTER NODES`
//! parse (`manager::model::parse_nodes`) and configuration signature.
//!
//! `cargo run --release --example big_map [NODES]` prints the best and the median of 50
//! runs of each step; `… -- NODES STEP` runs one step once (for `valgrind
//! --tool=callgrind`, see benches/big_map.sh). STEP: shards, slots, nodes, signature,
//! queries, generate.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rcli::cluster::topology::Topology;
use rcli::endpoint::Endpoint;
use rcli::manager::model::{Node, config_signature, parse_nodes};
use rcli::protocol::resp::{Frame, parse};
use rcli::protocol::scan::{FrameScanner, Scanned};

/// A deterministic stream of numbers (xorshift64*), so every run sees the same cluster.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

struct GenNode {
    id: String,
    ip: String,
    port: u16,
    offset: u64,
}

struct GenShard {
    ranges: Vec<(u16, u16)>,
    primary: GenNode,
    replicas: Vec<GenNode>,
}

/// `nodes` nodes: half primaries, each with one replica; 16384 slots cut into three
/// ranges per primary on average, dealt out so a primary's ranges are not adjacent.
fn generate(nodes: usize) -> Vec<GenShard> {
    let mut numbers = Numbers(0x9e37_79b9_7f4a_7c15);
    let node = |numbers: &mut Numbers, i: usize| GenNode {
        id: format!("{:016x}{:016x}{:08x}", numbers.next(), numbers.next(), numbers.next() as u32),
        ip: format!("10.{}.{}.{}", 20 + i / 65536, (i / 256) % 256, i % 256),
        port: 6379,
        offset: 1_000_000 + numbers.next() % 1_000_000,
    };
    let primaries = (nodes / 2).max(1);
    let mut shards: Vec<GenShard> = (0..primaries)
        .map(|i| GenShard {
            ranges: Vec::new(),
            primary: node(&mut numbers, 2 * i),
            replicas: (2 * i + 1 < nodes).then(|| node(&mut numbers, 2 * i + 1)).into_iter().collect(),
        })
        .collect();
    let cuts = primaries * 3;
    let per = 16384 / cuts;
    for cut in 0..cuts {
        let start = cut * per;
        let end = if cut + 1 == cuts { 16383 } else { start + per - 1 };
        // 7 is prime to the primary counts used, so each primary gets three ranges.
        let owner = (cut * 7) % primaries;
        shards[owner].ranges.push((start as u16, end as u16));
    }
    for shard in &mut shards {
        shard.ranges.sort_unstable();
    }
    shards
}

fn bulk(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(format!("${}\r\n{text}\r\n", text.len()).as_bytes());
}

fn int(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(format!(":{n}\r\n").as_bytes());
}

/// `CLUSTER SHARDS` as Redis 7.0 sends it in RESP2.
fn shards_reply(shards: &[GenShard]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", shards.len()).into_bytes();
    for shard in shards {
        out.extend_from_slice(b"*4\r\n");
        bulk(&mut out, "slots");
        out.extend_from_slice(format!("*{}\r\n", shard.ranges.len() * 2).as_bytes());
        for &(a, b) in &shard.ranges {
            int(&mut out, a.into());
            int(&mut out, b.into());
        }
        bulk(&mut out, "nodes");
        out.extend_from_slice(format!("*{}\r\n", 1 + shard.replicas.len()).as_bytes());
        for (node, role) in
            std::iter::once((&shard.primary, "master")).chain(shard.replicas.iter().map(|r| (r, "replica")))
        {
            out.extend_from_slice(b"*14\r\n");
            for (key, value) in [("id", node.id.as_str()), ("port", ""), ("ip", &node.ip), ("endpoint", &node.ip)] {
                bulk(&mut out, key);
                if key == "port" { int(&mut out, node.port.into()) } else { bulk(&mut out, value) }
            }
            bulk(&mut out, "role");
            bulk(&mut out, role);
            bulk(&mut out, "replication-offset");
            int(&mut out, node.offset);
            bulk(&mut out, "health");
            bulk(&mut out, "online");
        }
    }
    out
}

/// `CLUSTER SLOTS` as Redis 7.0 sends it in RESP2: one entry per range.
fn slots_reply(shards: &[GenShard]) -> Vec<u8> {
    let mut ranges: Vec<(u16, u16, &GenShard)> =
        shards.iter().flat_map(|s| s.ranges.iter().map(move |&(a, b)| (a, b, s))).collect();
    ranges.sort_unstable_by_key(|r| r.0);
    let mut out = format!("*{}\r\n", ranges.len()).into_bytes();
    for (a, b, shard) in ranges {
        out.extend_from_slice(format!("*{}\r\n", 3 + shard.replicas.len()).as_bytes());
        int(&mut out, a.into());
        int(&mut out, b.into());
        for node in std::iter::once(&shard.primary).chain(&shard.replicas) {
            out.extend_from_slice(b"*4\r\n");
            bulk(&mut out, &node.ip);
            int(&mut out, node.port.into());
            bulk(&mut out, &node.id);
            out.extend_from_slice(b"*0\r\n");
        }
    }
    out
}

/// `CLUSTER NODES` as the first primary sees it.
fn nodes_text(shards: &[GenShard]) -> String {
    let mut out = String::new();
    for (i, shard) in shards.iter().enumerate() {
        let p = &shard.primary;
        let myself = if i == 0 { "myself," } else { "" };
        let slots: Vec<String> =
            shard.ranges.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        out += &format!(
            "{} {}:{}@16379 {myself}master - 0 1700000000{:03} {} connected {}\n",
            p.id,
            p.ip,
            p.port,
            i % 1000,
            i + 1,
            slots.join(" ")
        );
        for r in &shard.replicas {
            out += &format!(
                "{} {}:{}@16379 slave {} 0 1700000000{:03} {} connected\n",
                r.id,
                r.ip,
                r.port,
                p.id,
                i % 1000,
                i + 1
            );
        }
    }
    out
}

/// Reads a frame as the client does: the scanner finds its end, then it is parsed.
fn read_frame(bytes: &[u8]) -> Frame {
    let mut scanner = FrameScanner::default();
    let Scanned::Complete(end) = scanner.scan(bytes) else { panic!("the generated reply is not one frame") };
    let Ok(Some((frame, _))) = parse(&bytes[..end]) else { panic!("the generated reply does not parse") };
    frame
}

fn shards_step(bytes: &[u8], asked: &Endpoint) -> Topology {
    Topology::from_shards(&read_frame(bytes), asked).expect("a valid map")
}

fn slots_step(bytes: &[u8], asked: &Endpoint) -> Topology {
    Topology::from_slots(&read_frame(bytes), asked).expect("a valid map")
}

/// What the client and the shell ask of a fresh map: every node, the primaries, each
/// node found again by its address (fan-out blocks name each node's role).
fn queries_step(topology: &Topology) -> usize {
    let nodes = topology.all_nodes();
    let mut found = topology.primaries().len() + topology.replica_nodes().len();
    for node in &nodes {
        found += usize::from(topology.node(&node.endpoint).is_some());
    }
    found
}

fn manager_step(text: &str) -> usize {
    let lines = parse_nodes(text);
    let nodes: Vec<Node> = lines.iter().map(Node::from_line).collect();
    nodes.len()
}

/// One timed step of the table.
type Step<'a> = Box<dyn FnMut() + 'a>;

/// Keeps the optimiser from dropping a step whose result is unused.
fn keep<T>(value: T) {
    black_box(value);
}

fn time(runs: usize, mut step: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            step();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[0], times[runs / 2])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let shards = generate(count);
    let asked = Endpoint::tcp(&shards[0].primary.ip, 6379);
    let shards_bytes = shards_reply(&shards);
    let slots_bytes = slots_reply(&shards);
    let nodes = nodes_text(&shards);
    if let Some(step) = args.get(1) {
        match step.as_str() {
            "generate" => {}
            "shards" => keep(shards_step(&shards_bytes, &asked)),
            "slots" => keep(slots_step(&slots_bytes, &asked)),
            "nodes" => keep(manager_step(&nodes)),
            "signature" => keep(config_signature(&nodes)),
            "queries" => {
                let topology = shards_step(&shards_bytes, &asked);
                keep(queries_step(&topology));
            }
            other => {
                eprintln!("unknown step {other:?}: shards, slots, nodes, signature, queries, generate");
                return ExitCode::from(2);
            }
        }
        return ExitCode::SUCCESS;
    }
    let topology = shards_step(&shards_bytes, &asked);
    println!(
        "{count} nodes, {} primaries, {} slot ranges; CLUSTER SHARDS {} bytes, CLUSTER SLOTS {} bytes, CLUSTER NODES {} bytes",
        topology.primaries().len(),
        shards.iter().map(|s| s.ranges.len()).sum::<usize>(),
        shards_bytes.len(),
        slots_bytes.len(),
        nodes.len()
    );
    assert_eq!(topology.all_nodes().len(), count, "every generated node is in the map");
    assert_eq!(topology.uncovered_slots(), 0);
    assert_eq!(slots_step(&slots_bytes, &asked).all_nodes().len(), count);
    assert_eq!(manager_step(&nodes), count);
    let runs = 50;
    let rows: [(&str, Step); 7] = [
        ("scan CLUSTER SHARDS (frame end)", Box::new(|| keep(FrameScanner::default().scan(&shards_bytes)))),
        ("parse CLUSTER SHARDS (Frame)", Box::new(|| keep(parse(&shards_bytes)))),
        ("CLUSTER SHARDS: scan + parse + map", Box::new(|| keep(shards_step(&shards_bytes, &asked)))),
        ("CLUSTER SLOTS: scan + parse + map", Box::new(|| keep(slots_step(&slots_bytes, &asked)))),
        ("queries on the map (all nodes, primaries, each node by address)", Box::new(|| keep(queries_step(&topology)))),
        ("CLUSTER NODES: parse_nodes + manager nodes", Box::new(|| keep(manager_step(&nodes)))),
        ("CLUSTER NODES: config_signature", Box::new(|| keep(config_signature(&nodes)))),
    ];
    for (name, mut step) in rows {
        let (best, median) = time(runs, &mut step);
        println!("{name:<66} best {:>8.3} ms  median {:>8.3} ms", best.as_secs_f64() * 1e3, median.as_secs_f64() * 1e3);
    }
    ExitCode::SUCCESS
}
