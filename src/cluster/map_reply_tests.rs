//! Unit tests of `cluster::map_reply`: SHARDS and SLOTS replies, good and hostile.

use super::*;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn node(id: &str, ip: &str, port: i64, role: &str, health: &str) -> Frame {
    Frame::Array(vec![
        bulk("id"),
        bulk(id),
        bulk("port"),
        Frame::Integer(port),
        bulk("ip"),
        bulk(ip),
        bulk("role"),
        bulk(role),
        bulk("health"),
        bulk(health),
    ])
}

fn shard(ranges: &[i64], nodes: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        bulk("slots"),
        Frame::Array(ranges.iter().map(|&n| Frame::Integer(n)).collect()),
        bulk("nodes"),
        Frame::Array(nodes),
    ])
}

#[test]
fn shards_reply_builds_the_slot_map() {
    let reply = Frame::Array(vec![
        shard(
            &[0, 8191],
            vec![node("a1", "127.0.0.1", 7000, "master", "online"), node("b1", "", 7003, "replica", "online")],
        ),
        shard(&[8192, 16383], vec![node("c1", "127.0.0.1", 7001, "master", "online")]),
    ]);
    let topo = Topology::from_shards(&reply, &Endpoint::tcp("10.0.0.9", 7000)).unwrap();
    assert_eq!(topo.owner(0), Some(&Endpoint::tcp("127.0.0.1", 7000)));
    assert_eq!(topo.owner(16383), Some(&Endpoint::tcp("127.0.0.1", 7001)));
    assert_eq!(topo.replicas(5)[0].endpoint, Endpoint::tcp("10.0.0.9", 7003), "empty ip means the asked host");
    assert_eq!(topo.primaries().len(), 2);
    assert_eq!(topo.uncovered_slots(), 0);
    assert_eq!(topo.node_by_id_prefix("c").map(|n| n.endpoint.to_string()), Some("127.0.0.1:7001".into()));
}

#[test]
fn valkeys_extra_node_fields_are_ignored() {
    // Valkey adds `replication-offset`, and Valkey 9 `availability-zone` (when
    // configured), beside Redis 7.0's fields.
    let mut fields = vec![bulk("availability-zone"), bulk("az-1"), bulk("replication-offset"), Frame::Integer(7)];
    if let Frame::Array(items) = node("a1", "127.0.0.1", 7000, "master", "online") {
        fields.extend(items);
    }
    let reply = Frame::Array(vec![shard(&[0, 16383], vec![Frame::Array(fields)])]);
    let topo = Topology::from_shards(&reply, &Endpoint::tcp("127.0.0.1", 7000)).unwrap();
    assert_eq!(topo.owner(100), Some(&Endpoint::tcp("127.0.0.1", 7000)));
    assert_eq!(topo.uncovered_slots(), 0);
}

/// A reply a real server sent, as its bytes (`tests/replies/`).
fn recorded(bytes: &[u8]) -> Frame {
    let (frame, used) = crate::protocol::resp::parse(bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len(), "one whole reply");
    frame
}

fn zones(topo: &Topology) -> Vec<(String, Option<String>)> {
    topo.all_nodes().iter().map(|n| (n.endpoint.to_string(), n.zone.clone())).collect()
}

#[test]
fn valkey_9_1_replies_carry_availability_zones() {
    // A 2+2 cluster of valkey-server 9.1.2 with `cluster-databases 16` and
    // `availability-zone` set on every node, asked on 127.0.0.1:22680.
    let asked = Endpoint::tcp("127.0.0.1", 22680);
    let expected: Vec<(String, Option<String>)> = [(22680, "az-1"), (22682, "az-2"), (22681, "az-2"), (22683, "az-3")]
        .iter()
        .map(|(port, zone)| (format!("127.0.0.1:{port}"), Some(zone.to_string())))
        .collect();
    for bytes in [
        &include_bytes!("../../tests/replies/valkey-9.1-cluster-shards-resp2.resp")[..],
        &include_bytes!("../../tests/replies/valkey-9.1-cluster-shards-resp3.resp")[..],
    ] {
        let topo = Topology::from_shards(&recorded(bytes), &asked).unwrap();
        assert_eq!(zones(&topo), expected);
        assert_eq!(topo.uncovered_slots(), 0);
        assert_eq!(topo.primaries()[1].id, "23d790a9ece18e3dfe104d36fdda7b44ea7a876a");
    }
    for bytes in [
        &include_bytes!("../../tests/replies/valkey-9.1-cluster-slots-resp2.resp")[..],
        &include_bytes!("../../tests/replies/valkey-9.1-cluster-slots-resp3.resp")[..],
    ] {
        let topo = Topology::from_slots(&recorded(bytes), &asked).unwrap();
        assert_eq!(zones(&topo), expected);
        assert_eq!(topo.replicas(9000)[0].id, "f0af300cfc603cec95e15c4a926752910d6e45dd");
    }
}

#[test]
fn a_zone_is_never_an_error() {
    let asked = Endpoint::tcp("127.0.0.1", 7000);
    let with_zone = |zone: Frame| {
        let mut fields = vec![bulk("availability-zone"), zone];
        if let Frame::Array(items) = node("a1", "127.0.0.1", 7000, "master", "online") {
            fields.extend(items);
        }
        Topology::from_shards(&Frame::Array(vec![shard(&[0, 16383], vec![Frame::Array(fields)])]), &asked)
            .unwrap()
            .primaries()[0]
            .zone
            .clone()
    };
    assert_eq!(with_zone(bulk("")), None);
    assert_eq!(with_zone(Frame::Integer(3)).as_deref(), Some("3"));
    assert_eq!(with_zone(Frame::Array(vec![])), None);
    assert_eq!(with_zone(bulk("\u{1b}[2Jeu west")).as_deref(), Some("\\x1b[2Jeu west"));
    assert_eq!(with_zone(bulk(&"z".repeat(100_000))).map(|z| z.len()), Some(MAX_HOST));
}

#[test]
fn a_failed_old_primary_does_not_shadow_the_promoted_one() {
    let reply = Frame::Array(vec![shard(
        &[0, 16383],
        vec![node("old", "127.0.0.1", 7000, "master", "failed"), node("new", "127.0.0.1", 7003, "master", "online")],
    )]);
    let topo = Topology::from_shards(&reply, &Endpoint::tcp("127.0.0.1", 7003)).unwrap();
    assert_eq!(topo.owner(42), Some(&Endpoint::tcp("127.0.0.1", 7003)));
}

#[test]
fn slots_reply_and_moved() {
    let entry = |a, b, port| {
        Frame::Array(vec![
            Frame::Integer(a),
            Frame::Integer(b),
            Frame::Array(vec![bulk("127.0.0.1"), Frame::Integer(port), bulk("id")]),
        ])
    };
    let reply =
        Frame::Array(vec![entry(0, 100, 7000), entry(101, 199, 7001), entry(200, 200, 7000), entry(201, 16383, 7001)]);
    let mut topo = Topology::from_slots(&reply, &Endpoint::tcp("127.0.0.1", 7000)).unwrap();
    assert_eq!(topo.shards.len(), 2);
    assert_eq!(topo.owner(200), Some(&Endpoint::tcp("127.0.0.1", 7000)));
    topo.apply_moved(5, &Endpoint::tcp("127.0.0.1", 7009));
    assert_eq!(topo.owner(5), Some(&Endpoint::tcp("127.0.0.1", 7009)));
    assert_eq!(topo.owner(6), Some(&Endpoint::tcp("127.0.0.1", 7000)));
}

#[test]
fn hostile_values_are_errors_that_name_them() {
    let asked = Endpoint::tcp("127.0.0.1", 7000);
    let one = |ranges: &[i64], port: i64, ip: &str| {
        Topology::from_shards(&Frame::Array(vec![shard(ranges, vec![node("a", ip, port, "master", "online")])]), &asked)
    };
    assert_eq!(one(&[0, 16383], 0, "127.0.0.1").unwrap_err(), "invalid port 0");
    assert_eq!(one(&[0, 16383], 70000, "127.0.0.1").unwrap_err(), "invalid port 70000");
    assert_eq!(one(&[0, 16384], 7000, "127.0.0.1").unwrap_err(), "slot 16384 out of range 0-16383");
    assert_eq!(one(&[-1, 5], 7000, "127.0.0.1").unwrap_err(), "slot -1 out of range 0-16383");
    assert_eq!(one(&[9, 5], 7000, "127.0.0.1").unwrap_err(), "slot range 9-5 is reversed");
    assert!(one(&[0, 5], 7000, "\u{1b}]0;PWNED\u{7}").unwrap_err().contains("\\x1b]0;PWNED"), "escaped");
    let overlapping = Frame::Array(vec![
        shard(&[0, 100], vec![node("a", "127.0.0.1", 7000, "master", "online")]),
        shard(&[50, 200], vec![node("b", "127.0.0.1", 7001, "master", "online")]),
    ]);
    assert_eq!(Topology::from_shards(&overlapping, &asked).unwrap_err(), "slot 50 is claimed by two shards");
    let weird = Frame::Array(vec![shard(&[0, 1], vec![node("\u{1b}[2J", "127.0.0.1", 7000, "master", "\u{1b}[31m")])]);
    let topo = Topology::from_shards(&weird, &asked).unwrap();
    let primary = topo.primaries()[0];
    assert_eq!((primary.id.as_str(), primary.health.as_str()), ("\\x1b[2J", "\\x1b[31m"));
}

fn pairs(fields: &[(&str, Frame)]) -> Frame {
    Frame::Array(fields.iter().flat_map(|(k, v)| [bulk(k), v.clone()]).collect())
}

#[test]
fn tls_ports_announced_endpoints_and_hostnames() {
    let asked = Endpoint::tcp("seed.example", 7000);
    let reply = Frame::Array(vec![shard(
        &[0, 16383],
        vec![
            // TLS only: no `port` at all.
            pairs(&[
                ("id", bulk("a")),
                ("tls-port", Frame::Integer(8000)),
                ("ip", bulk("10.0.0.1")),
                ("endpoint", bulk("node-a.example")),
                ("hostname", bulk("node-a.example")),
                ("role", bulk("master")),
            ]),
            // Both ports, `?` endpoint; IPv6.
            pairs(&[
                ("id", bulk("b")),
                ("port", Frame::Integer(7001)),
                ("tls-port", Frame::Integer(8001)),
                ("endpoint", bulk("?")),
                ("role", bulk("replica")),
            ]),
            pairs(&[("id", bulk("c")), ("tls-port", Frame::Integer(8002)), ("endpoint", bulk("::1"))]),
        ],
    )]);
    let tls = Topology::from_shards_via(&reply, &asked, true).unwrap();
    let primary = tls.primaries()[0];
    assert_eq!(primary.endpoint, Endpoint::tcp("node-a.example", 8000));
    assert_eq!(primary.hostname.as_deref(), Some("node-a.example"));
    let replicas: Vec<String> = tls.replicas(0).iter().map(|n| n.endpoint.to_string()).collect();
    assert_eq!(replicas, ["seed.example:8001", "[::1]:8002"], "? is the asked host");
    assert_eq!(
        Topology::from_shards(&reply, &asked).unwrap_err(),
        "a node without a port",
        "a plain connection needs `port` (then CLUSTER SLOTS gives the ports of its kind)"
    );
    let bad_name = Frame::Array(vec![shard(
        &[0, 1],
        vec![pairs(&[("port", Frame::Integer(1)), ("ip", bulk("h")), ("hostname", bulk("a b"))])],
    )]);
    assert!(Topology::from_shards(&bad_name, &asked).unwrap_err().starts_with("invalid host name"));
}

#[test]
fn slots_reply_with_hostname_metadata_and_unknown_endpoints() {
    let asked = Endpoint::tcp("10.9.9.9", 7000);
    let meta = |kv: &[(&str, &str)]| Frame::Map(kv.iter().map(|(k, v)| (bulk(k), bulk(v))).collect());
    let reply = Frame::Array(vec![
        Frame::Array(vec![
            Frame::Integer(0),
            Frame::Integer(8191),
            Frame::Array(vec![bulk("127.0.0.1"), Frame::Integer(7001), bulk("a"), meta(&[("hostname", "a.example")])]),
            Frame::Array(vec![Frame::Null, Frame::Integer(7002), bulk("b"), meta(&[("ip", "127.0.0.1")])]),
        ]),
        Frame::Array(vec![
            Frame::Integer(8192),
            Frame::Integer(16383),
            Frame::Array(vec![bulk("?"), Frame::Integer(7003), bulk("c"), Frame::Array(vec![])]),
        ]),
    ]);
    let topo = Topology::from_slots(&reply, &asked).unwrap();
    let primary = topo.primaries()[0];
    assert_eq!(
        (primary.endpoint.to_string(), primary.hostname.as_deref()),
        ("127.0.0.1:7001".into(), Some("a.example"))
    );
    assert_eq!(topo.replicas(0)[0].endpoint, Endpoint::tcp("10.9.9.9", 7002), "NULL: the node asked");
    assert_eq!(topo.owner(9000), Some(&Endpoint::tcp("10.9.9.9", 7003)), "?: the node asked");
}

#[test]
fn resp3_maps_and_repeated_fields_read_like_resp2() {
    let asked = Endpoint::tcp("127.0.0.1", 7000);
    let map = |kv: Vec<(&str, Frame)>| Frame::Map(kv.into_iter().map(|(k, v)| (bulk(k), v)).collect());
    let reply = Frame::Map(vec![
        (bulk("slots"), Frame::Array(vec![Frame::Integer(0), Frame::Integer(16383)])),
        (
            bulk("nodes"),
            Frame::Array(vec![
                map(vec![
                    ("id", bulk("a")),
                    ("port", Frame::Integer(7001)),
                    ("port", Frame::Integer(7999)),
                    ("ip", bulk("127.0.0.1")),
                    ("role", bulk("primary")),
                    ("health", bulk("online")),
                ]),
                Frame::Attributed {
                    attributes: vec![],
                    reply: Box::new(map(vec![
                        ("id", bulk("b")),
                        ("port", Frame::Integer(7002)),
                        ("role", bulk("replica")),
                    ])),
                },
            ]),
        ),
    ]);
    let topo = Topology::from_shards(&Frame::Array(vec![reply]), &asked).unwrap();
    assert_eq!(topo.owner(0), Some(&Endpoint::tcp("127.0.0.1", 7001)), "the first `port` counts");
    assert_eq!(topo.replicas(0)[0].endpoint, Endpoint::tcp("127.0.0.1", 7002));
    assert_eq!(topo.replicas(0)[0].health, "unknown");
    let not_a_map = Frame::Array(vec![shard(&[0, 1], vec![Frame::Array(vec![bulk("id")])])]);
    assert_eq!(Topology::from_shards(&not_a_map, &asked).unwrap_err(), "a node is not a map");
}

#[test]
fn ten_thousand_nodes_parse() {
    let nodes: Vec<Frame> = (0..10_000)
        .map(|i| node(&format!("{i:040x}"), "127.0.0.1", 1 + i, if i == 0 { "master" } else { "replica" }, "online"))
        .collect();
    let topo = Topology::from_shards(&Frame::Array(vec![shard(&[0, 16383], nodes)]), &Endpoint::tcp("h", 1)).unwrap();
    assert_eq!(topo.all_nodes().len(), 10_000);
}
