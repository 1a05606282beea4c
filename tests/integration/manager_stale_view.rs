//! `--cluster info` and `--cluster call` through an entry node whose view is behind:
//! each node's role is what the node says itself, as redis-cli takes it from each node's
//! own line. A scripted entry node lists a real primary as a replica of its own replica
//! (a node that has not heard of a failover yet says that); the real nodes are asked.

use crate::fake::{self, Act, FakeServer};
use crate::util::*;

/// A fake entry node's id (40 hex).
const ENTRY_ID: &str = "e000000000000000000000000000000000000001";

/// `nodes` (a real node's CLUSTER NODES) as a node that missed a failover would list it:
/// `primary` a replica of `replica`, `replica` a primary owning `primary`'s slots; plus
/// the entry node itself (a primary without slots) as `myself`.
fn stale_view(nodes: &str, port: u16, primary: &str, replica: &str) -> String {
    let mut out = format!("{ENTRY_ID} 127.0.0.1:{port}@{} myself,master - 0 0 0 connected\n", u32::from(port) + 10000);
    let slots_of = |id: &str| -> Vec<String> {
        let line = nodes.lines().find(|l| l.starts_with(id)).unwrap_or_default();
        line.split(' ').skip(8).map(str::to_string).collect()
    };
    for line in nodes.lines().filter(|l| !l.is_empty()) {
        let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
        fields[2] = fields[2].replace("myself,", "");
        if fields[0] == primary {
            fields.truncate(8);
            fields[2] = "slave".into();
            fields[3] = replica.into();
        } else if fields[0] == replica {
            fields[2] = "master".into();
            fields[3] = "-".into();
            fields.extend(slots_of(primary));
        }
        out.push_str(&fields.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn info_and_call_take_each_nodes_role_from_the_node_itself() {
    if !have_redis() {
        return;
    }
    let cluster = cluster(3, 1);
    let nodes = text(&cluster.call(0, &["CLUSTER", "NODES"]).unwrap());
    let replica_line = nodes.lines().find(|l| l.contains("slave")).expect("a replica");
    let fields: Vec<&str> = replica_line.split(' ').collect();
    let (replica, primary) = (fields[0].to_string(), fields[3].to_string());
    let addr_of = |id: &str| -> String {
        let line = nodes.lines().find(|l| l.starts_with(id)).unwrap_or_default();
        line.split(' ').nth(1).unwrap_or_default().split('@').next().unwrap_or_default().to_string()
    };
    let (primary_addr, replica_addr) = (addr_of(&primary), addr_of(&replica));
    let entry = FakeServer::with_port(move |port| {
        let view = stale_view(&nodes, port, &primary, &replica);
        move |argv: &[Vec<u8>]| match fake::name2(argv).as_str() {
            "INFO CLUSTER" => fake::bulk("# Cluster\r\ncluster_enabled:1\r\n"),
            "CLUSTER NODES" => fake::bulk(&view),
            "DBSIZE" => Act::Reply(b":0\r\n".to_vec()),
            _ => fake::error("ERR not scripted"),
        }
    });
    let home = Home::new();
    let entry_addr = format!("127.0.0.1:{}", entry.port);

    let call = rcli_run(&home, &["--cluster", "call", &entry_addr, "DBSIZE", "--cluster-only-masters"], "");
    assert_eq!(call.code, Some(0), "{}{}", call.text(), call.stderr);
    let out = call.text();
    let called: Vec<&str> = out.lines().skip(1).filter_map(|l| l.split(": ").next()).collect();
    assert!(called.contains(&primary_addr.as_str()), "the primary says it is one: {called:?}\n{}", call.text());
    assert!(!called.contains(&replica_addr.as_str()), "the replica says it is one: {called:?}");
    assert_eq!(called.len(), 4, "the entry node and the three primaries: {called:?}");

    let info = rcli_run(&home, &["--cluster", "info", &entry_addr], "");
    assert_eq!(info.code, Some(0), "{}{}", info.text(), info.stderr);
    let row_of = |addr: &str| info.text().lines().find(|l| l.starts_with(&format!("{addr} "))).map(str::to_string);
    let row = row_of(&primary_addr).unwrap_or_else(|| panic!("the primary is listed as one:\n{}", info.text()));
    assert!(row.ends_with("| 1 slaves."), "its replica is counted: {row}");
    assert!(!row.contains("| 0 slots"), "its own slots are counted: {row}");
    assert_eq!(row_of(&replica_addr), None, "the replica is not listed as a primary:\n{}", info.text());
}
