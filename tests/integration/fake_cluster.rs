//! A scripted fake cluster of hundreds of nodes in this one process: one
//! [`FakeServer`](crate::fake::FakeServer) per node on its own loopback port, all
//! describing the same cluster (each primary with its replicas, the 16384 slots split
//! evenly) in `CLUSTER SHARDS`, `SLOTS`, `NODES` (with its own `myself` line), `INFO`,
//! `CLUSTER INFO`, `CLUSTER MYID`, `DBSIZE`, `PING`, `CONFIG GET`, `SCAN` and `SET`.
//! What hundreds of real servers would cost two cores, for tests of rcli's own bounds
//! (threads, open descriptors) at scale; it holds no keys (SCAN finds none; SET answers
//! OK and keeps nothing).

use std::sync::{Arc, OnceLock};

use crate::fake::{self, Act, FakeServer, name, name2};

/// One node of the fake cluster.
pub struct FakeNode {
    pub id: String,
    pub port: u16,
    /// The index of its primary in [`FakeCluster::nodes`] (itself for a primary).
    pub primary: usize,
    /// The slot range of its shard.
    pub slots: (u16, u16),
    /// What DBSIZE answers: the node's index + 1, so sums name who answered.
    pub keys: u64,
}

impl FakeNode {
    fn is_primary(&self, index: usize) -> bool {
        self.primary == index
    }
}

/// The shared description every node answers from, and the replies built once.
struct Layout {
    nodes: Vec<FakeNode>,
    shards: Vec<u8>,
    slots: Vec<u8>,
}

/// The fake cluster; every node stops on drop.
pub struct FakeCluster {
    servers: Vec<FakeServer>,
    layout: Arc<OnceLock<Layout>>,
}

fn bulk_bytes(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

impl FakeCluster {
    /// `primaries` primaries with `replicas` replicas each, every node on a free
    /// loopback port.
    pub fn start(primaries: usize, replicas: usize) -> FakeCluster {
        let layout: Arc<OnceLock<Layout>> = Arc::new(OnceLock::new());
        let count = primaries * (1 + replicas);
        let servers: Vec<FakeServer> = (0..count)
            .map(|index| {
                let layout = layout.clone();
                FakeServer::with_port(move |_| move |argv: &[Vec<u8>]| answer(layout.get(), index, argv))
            })
            .collect();
        let per = 16384 / primaries;
        let nodes = servers
            .iter()
            .enumerate()
            .map(|(index, server)| {
                let shard = index / (1 + replicas);
                let first = shard * per;
                let last = if shard + 1 == primaries { 16383 } else { first + per - 1 };
                FakeNode {
                    id: format!("{index:08x}{:032x}", 0xfa4e_u64),
                    port: server.port,
                    primary: shard * (1 + replicas),
                    slots: (first as u16, last as u16),
                    keys: index as u64 + 1,
                }
            })
            .collect::<Vec<_>>();
        let shards = shards_reply(&nodes);
        let slots = slots_reply(&nodes);
        let _ = layout.set(Layout { nodes, shards, slots });
        FakeCluster { servers, layout }
    }

    pub fn nodes(&self) -> &[FakeNode] {
        self.layout.get().map(|l| l.nodes.as_slice()).unwrap_or_default()
    }

    /// The port of the first node (a primary): the seed.
    pub fn seed(&self) -> u16 {
        self.servers[0].port
    }
}

fn shards_reply(nodes: &[FakeNode]) -> Vec<u8> {
    let primaries: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].is_primary(i)).collect();
    let mut out = format!("*{}\r\n", primaries.len());
    for &p in &primaries {
        let members: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].primary == p).collect();
        let (first, last) = nodes[p].slots;
        out += &format!(
            "*4\r\n{}*2\r\n:{first}\r\n:{last}\r\n{}*{}\r\n",
            bulk_bytes("slots"),
            bulk_bytes("nodes"),
            members.len()
        );
        for &i in &members {
            let node = &nodes[i];
            out += "*14\r\n";
            out += &bulk_bytes("id");
            out += &bulk_bytes(&node.id);
            out += &format!("{}:{}\r\n", bulk_bytes("port"), node.port);
            for (key, value) in [("ip", "127.0.0.1"), ("endpoint", "127.0.0.1")] {
                out += &bulk_bytes(key);
                out += &bulk_bytes(value);
            }
            out += &bulk_bytes("role");
            out += &bulk_bytes(if node.is_primary(i) { "master" } else { "replica" });
            out += &format!("{}:0\r\n", bulk_bytes("replication-offset"));
            out += &bulk_bytes("health");
            out += &bulk_bytes("online");
        }
    }
    out.into_bytes()
}

fn slots_reply(nodes: &[FakeNode]) -> Vec<u8> {
    let primaries: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].is_primary(i)).collect();
    let mut out = format!("*{}\r\n", primaries.len());
    for &p in &primaries {
        let members: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].primary == p).collect();
        let (first, last) = nodes[p].slots;
        out += &format!("*{}\r\n:{first}\r\n:{last}\r\n", 2 + members.len());
        for &i in &members {
            out +=
                &format!("*4\r\n{}:{}\r\n{}*0\r\n", bulk_bytes("127.0.0.1"), nodes[i].port, bulk_bytes(&nodes[i].id));
        }
    }
    out.into_bytes()
}

/// `CLUSTER NODES` as the node at `me` sees the cluster.
fn nodes_text(nodes: &[FakeNode], me: usize) -> String {
    let mut out = String::new();
    for (i, node) in nodes.iter().enumerate() {
        let myself = if i == me { "myself," } else { "" };
        let (role, primary, slots) = if node.is_primary(i) {
            ("master", "-".to_string(), format!(" {}-{}", node.slots.0, node.slots.1))
        } else {
            ("slave", nodes[node.primary].id.clone(), String::new())
        };
        out += &format!(
            "{} 127.0.0.1:{}@{} {myself}{role} {primary} 0 1700000000000 {} connected{slots}\n",
            node.id,
            node.port,
            u32::from(node.port) + 10000,
            node.primary + 1
        );
    }
    out
}

fn info(nodes: &[FakeNode], me: usize) -> String {
    let node = &nodes[me];
    let role = if node.is_primary(me) { "master" } else { "slave" };
    format!(
        "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\ntcp_port:{}\r\n\r\n# Replication\r\nrole:{role}\r\n\r\n\
         # Cluster\r\ncluster_enabled:1\r\n\r\n# Keyspace\r\ndb0:keys={},expires=0,avg_ttl=0\r\n",
        node.port, node.keys
    )
}

fn answer(layout: Option<&Layout>, me: usize, argv: &[Vec<u8>]) -> Act {
    let Some(layout) = layout else { return fake::error("LOADING the fake cluster is starting") };
    let nodes = &layout.nodes;
    match name2(argv).as_str() {
        "CLUSTER SHARDS" => return Act::Reply(layout.shards.clone()),
        "CLUSTER SLOTS" => return Act::Reply(layout.slots.clone()),
        "CLUSTER NODES" => return fake::bulk(&nodes_text(nodes, me)),
        "CLUSTER MYID" => return fake::bulk(&nodes[me].id),
        "CLUSTER INFO" => {
            let primaries = (0..nodes.len()).filter(|&i| nodes[i].is_primary(i)).count();
            return fake::bulk(&format!(
                "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n\
                 cluster_known_nodes:{}\r\ncluster_size:{primaries}\r\ncluster_current_epoch:{primaries}\r\n",
                nodes.len()
            ));
        }
        "CONFIG GET" => {
            let wanted = argv.get(2).map(|a| String::from_utf8_lossy(a).to_lowercase()).unwrap_or_default();
            return match wanted.as_str() {
                "cluster-node-timeout" => Act::Reply(
                    format!("*2\r\n{}{}", bulk_bytes("cluster-node-timeout"), bulk_bytes("15000")).into_bytes(),
                ),
                _ => Act::Reply(b"*0\r\n".to_vec()),
            };
        }
        _ => {}
    }
    match name(argv).as_str() {
        "PING" => fake::simple("PONG"),
        "DBSIZE" => Act::Reply(format!(":{}\r\n", nodes[me].keys).into_bytes()),
        // A keyspace that is empty to SCAN (the key scans walk it in one page).
        "SCAN" => Act::Reply(b"*2\r\n$1\r\n0\r\n*0\r\n".to_vec()),
        "INFO" => fake::bulk(&info(nodes, me)),
        "SELECT" | "READONLY" | "READWRITE" | "CLIENT" | "SET" => fake::simple("OK"),
        other => fake::error(&format!("ERR unknown command '{other}'")),
    }
}
