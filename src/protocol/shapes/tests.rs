//! The shapes and merged tables on replies as servers write them, and on garbage.

use serde_json::{Value, json};

use super::merged::{self, Answer};
use super::*;
use crate::protocol::resp::Frame;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn array(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

fn slow_entry(id: i64, time: i64, micros: i64, args: &[&str], client: &str) -> Frame {
    array(vec![int(id), int(time), int(micros), array(args.iter().map(|a| bulk(a)).collect()), bulk(client), bulk("")])
}

#[test]
fn commands_with_a_shape() {
    assert_eq!(Kind::of(&["INFO"]), Some(Kind::Info));
    assert_eq!(Kind::of(&["info", "keyspace", "stats"]), Some(Kind::Info));
    assert_eq!(Kind::of(&["cluster", "nodes"]), Some(Kind::ClusterNodes));
    assert_eq!(Kind::of(&["cluster", "nodes", "x"]), None);
    assert_eq!(Kind::of(&["CLUSTER", "SHARDS"]), Some(Kind::ClusterShards));
    assert_eq!(Kind::of(&["client", "list", "type", "normal"]), Some(Kind::ClientList));
    assert_eq!(Kind::of(&["slowlog", "get"]), Some(Kind::Slowlog));
    assert_eq!(Kind::of(&["slowlog", "get", "5"]), Some(Kind::Slowlog));
    assert_eq!(Kind::of(&["slowlog", "len"]), None);
    assert_eq!(Kind::of(&["commandlog", "get", "5", "large-reply"]), Some(Kind::Commandlog(LogType::LargeReply)));
    assert_eq!(Kind::of(&["commandlog", "get", "5", "other"]), None);
    assert_eq!(Kind::of(&["latency", "latest"]), Some(Kind::LatencyLatest));
    assert_eq!(Kind::of(&["memory", "stats"]), Some(Kind::MemoryStats));
    assert_eq!(Kind::of(&["get", "info"]), None);
    assert_eq!(Kind::of::<&str>(&[]), None);
    assert!(Kind::Info.merges() && !Kind::MemoryStats.merges());
    assert!(Kind::ClientList.has_csv() && Kind::LatencyLatest.has_csv() && !Kind::Info.has_csv());
}

#[test]
fn numbers_are_numbers_only_when_written_as_numbers() {
    assert_eq!(scalar("12"), json!(12));
    assert_eq!(scalar("-3"), json!(-3));
    assert_eq!(scalar("0.75"), json!(0.75));
    assert_eq!(scalar("18446744073709551615"), json!(18446744073709551615u64));
    for text in ["7.0.15", "1.2M", "007", "1e5", "+1", "", "-", "0x10", "1.", ".5", "abc", "123456789012345678901234"] {
        assert_eq!(scalar(text), Value::String(text.into()), "{text}");
    }
}

const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nrun_id:0123abc\r\ntcp_port:7000\r\n\r\n# Clients\r\n\
connected_clients:2\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n";

#[test]
fn info_is_sections_of_fields() {
    let value = to_json(Kind::Info, &bulk(INFO)).unwrap();
    assert_eq!(
        value,
        json!({
            "server": {"redis_version": "7.0.15", "run_id": "0123abc", "tcp_port": 7000},
            "clients": {"connected_clients": 2},
            "keyspace": {"db0": {"keys": 3, "expires": 1, "avg_ttl": 0}},
        })
    );
    let verbatim = Frame::Verbatim { format: b"txt".to_vec(), text: INFO.as_bytes().to_vec() };
    assert_eq!(to_json(Kind::Info, &verbatim), Some(value));
    let slave = text::info_value("ip=127.0.0.1,port=7003,state=online,offset=14,lag=0");
    assert_eq!(slave, json!({"ip": "127.0.0.1", "port": 7003, "state": "online", "offset": 14, "lag": 0}));
    assert_eq!(text::info_value("/a=b,c"), json!("/a=b,c"), "not every part is name=value");
}

#[test]
fn info_garbage_is_skipped() {
    assert_eq!(info(""), json!({}));
    assert_eq!(info("no colon\n:novalue\n#\nk:v"), json!({"": {"k": "v"}}));
    assert_eq!(info("loose:1\n# S\nx:2"), json!({"": {"loose": 1}, "s": {"x": 2}}));
    assert_eq!(to_json(Kind::Info, &Frame::Error(b"ERR x".to_vec())), None);
    assert_eq!(to_json(Kind::Info, &int(3)), None);
}

#[test]
fn cluster_info_is_one_object() {
    let value = cluster_info("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_my_epoch:2\r\n");
    assert_eq!(value, json!({"cluster_state": "ok", "cluster_slots_assigned": 16384, "cluster_my_epoch": 2}));
}

#[test]
fn client_list_is_one_object_per_client() {
    let text = "id=3 addr=127.0.0.1:5000 name=123 age=4 flags=N cmd=client|list\nid=5 addr=[::1]:6 name= age=0\n";
    let clients = client_list(text);
    assert_eq!(clients.len(), 2);
    assert_eq!(
        Value::Object(clients[0].clone()),
        json!({"id": 3, "addr": "127.0.0.1:5000", "name": "123", "age": 4, "flags": "N", "cmd": "client|list"})
    );
    assert_eq!(clients[1].get("name"), Some(&json!("")));
    assert!(client_list("\n\ngarbage without fields\n=x\n").is_empty());
}

#[test]
fn cluster_nodes_lines_have_named_fields() {
    let text = "07c3 127.0.0.1:30004@31004,host.example myself,slave e7d1 0 1426238317239 4 connected\n\
e7d1 127.0.0.1:30001@31001 master - 0 1426238316232 1 connected 0-5460 7000 [5461->-67ed] [93-<-292f]\n\
short line\n";
    let nodes = cluster_nodes(text);
    assert_eq!(nodes.as_array().unwrap().len(), 2);
    assert_eq!(
        nodes[0],
        json!({"id": "07c3", "address": "127.0.0.1:30004@31004,host.example", "ip": "127.0.0.1", "port": 30004,
               "bus_port": 31004, "hostname": "host.example", "flags": ["myself", "slave"], "primary": "e7d1",
               "ping_sent": 0, "pong_recv": 1426238317239i64, "config_epoch": 4, "link_state": "connected",
               "slots": [], "migrating": [], "importing": []})
    );
    assert_eq!(nodes[1]["primary"], Value::Null);
    assert_eq!(nodes[1]["slots"], json!([[0, 5460], [7000, 7000]]));
    assert_eq!(nodes[1]["migrating"], json!([{"slot": 5461, "to": "67ed"}]));
    assert_eq!(nodes[1]["importing"], json!([{"slot": 93, "from": "292f"}]));
    assert_eq!(cluster_nodes("a b c d e f g h x-y 1-z [bad]")[0]["slots"], json!([]));
}

#[test]
fn slowlog_and_commandlog_entries() {
    let reply = array(vec![slow_entry(7, 1700000000, 15, &["SET", "k", "v"], "127.0.0.1:1"), bulk("junk")]);
    let value = to_json(Kind::Slowlog, &reply).unwrap();
    assert_eq!(
        value,
        json!([{"id": 7, "time": 1700000000, "duration_us": 15, "command": ["SET", "k", "v"],
                "client": "127.0.0.1:1", "client_name": ""}])
    );
    let large = to_json(Kind::Commandlog(LogType::LargeRequest), &reply).unwrap();
    assert_eq!(large[0]["request_bytes"], json!(15));
    // Redis 3's entries had no client fields.
    let old = array(vec![array(vec![int(1), int(2), int(3), array(vec![bulk("PING")])])]);
    assert_eq!(to_json(Kind::Slowlog, &old).unwrap()[0]["client"], json!(""));
    assert_eq!(to_json(Kind::Slowlog, &bulk("x")), None);
    assert_eq!(to_json(Kind::Slowlog, &array(vec![array(vec![int(1)])])), Some(json!([])));
}

#[test]
fn latency_latest_entries() {
    let reply = array(vec![array(vec![bulk("command"), int(1700000000), int(5), int(9)]), array(vec![int(1)])]);
    assert_eq!(
        to_json(Kind::LatencyLatest, &reply),
        Some(json!([{"event": "command", "time": 1700000000, "latest_ms": 5, "max_ms": 9}]))
    );
}

#[test]
fn memory_stats_in_both_protocols() {
    let resp2 = array(vec![
        bulk("peak.allocated"),
        int(100),
        bulk("db.0"),
        array(vec![bulk("overhead.hashtable.main"), int(72)]),
        bulk("dataset.percentage"),
        bulk("98.5"),
    ]);
    let expected = json!({"peak.allocated": 100, "db.0": {"overhead.hashtable.main": 72}, "dataset.percentage": 98.5});
    assert_eq!(to_json(Kind::MemoryStats, &resp2), Some(expected.clone()));
    let resp3 = Frame::Map(vec![
        (bulk("peak.allocated"), int(100)),
        (bulk("db.0"), Frame::Map(vec![(bulk("overhead.hashtable.main"), int(72))])),
        (bulk("dataset.percentage"), Frame::Double(b"98.5".to_vec())),
    ]);
    assert_eq!(to_json(Kind::MemoryStats, &resp3), Some(expected));
    assert_eq!(to_json(Kind::MemoryStats, &array(vec![bulk("odd")])), None);
    assert_eq!(to_json(Kind::MemoryStats, &array(vec![int(1), int(2)])), None);
}

#[test]
fn cluster_shards_and_slots() {
    let node = array(vec![bulk("id"), bulk("abc"), bulk("port"), int(7000), bulk("role"), bulk("master")]);
    let shards = array(vec![array(vec![
        bulk("slots"),
        array(vec![int(0), int(5), int(10), int(20)]),
        bulk("nodes"),
        array(vec![node]),
    ])]);
    assert_eq!(
        to_json(Kind::ClusterShards, &shards),
        Some(json!([{"slots": [[0, 5], [10, 20]], "nodes": [{"id": "abc", "port": 7000, "role": "master"}]}]))
    );
    let slots = array(vec![array(vec![
        int(0),
        int(5460),
        array(vec![bulk("127.0.0.1"), int(7000), bulk("abc"), array(vec![bulk("hostname"), bulk("h1")])]),
        array(vec![bulk("127.0.0.1"), int(7003), bulk("def")]),
    ])]);
    assert_eq!(
        to_json(Kind::ClusterSlots, &slots),
        Some(json!([{"start": 0, "end": 5460,
                     "primary": {"host": "127.0.0.1", "port": 7000, "id": "abc", "hostname": "h1"},
                     "replicas": [{"host": "127.0.0.1", "port": 7003, "id": "def"}]}]))
    );
    assert_eq!(to_json(Kind::ClusterSlots, &array(vec![array(vec![bulk("x")])])), Some(json!([])));
    assert_eq!(to_json(Kind::ClusterShards, &int(1)), None);
}

fn answers<'a>(replies: &'a [(&str, Result<Frame, String>)]) -> Vec<Answer<'a>> {
    replies.iter().map(|(node, reply)| (node.to_string(), reply.as_ref().map_err(Clone::clone))).collect()
}

#[test]
fn merged_slowlog_is_newest_first_with_a_node_column() {
    let replies = [
        ("a:1", Ok(array(vec![slow_entry(2, 200, 5, &["GET", "k"], "c:1"), slow_entry(1, 100, 50, &["SET"], "c:1")]))),
        ("b:2", Ok(array(vec![slow_entry(9, 200, 70, &["HSET", "a b", "\n"], "c:2")]))),
        ("c:3", Err("c:3 is down".to_string())),
        ("d:4", Ok(Frame::Error(b"ERR no".to_vec()))),
    ];
    let lines = merged::text(Kind::Slowlog, &answers(&replies)).unwrap();
    assert_eq!(
        lines,
        [
            "node  id  time  duration_us  client  client_name  command",
            "b:2   9   200   70           c:2                  HSET \"a b\" \"\\n\"",
            "a:1   2   200   5            c:1                  GET k",
            "a:1   1   100   50           c:1                  SET",
            "(error) c:3: c:3 is down",
            "(error) d:4: ERR no",
        ]
    );
    let csv = merged::csv(Kind::Slowlog, &answers(&replies), true).unwrap();
    assert_eq!(csv[0], "node,id,time,duration_us,client,client_name,command");
    assert_eq!(csv[1], "b:2,9,200,70,c:2,,\"HSET \"\"a b\"\" \"\"\\n\"\"\"");
    assert_eq!(csv[4], "ERROR,\"c:3: c:3 is down\"");
    let single = merged::csv(Kind::Slowlog, &answers(&replies[..1]), false).unwrap();
    assert_eq!(
        single,
        ["id,time,duration_us,client,client_name,command", "2,200,5,c:1,,\"GET k\"", "1,100,50,c:1,,SET"]
    );
    let only_errors = [("a:1", Ok(Frame::Error(b"ERR unknown command".to_vec())))];
    assert_eq!(merged::text(Kind::Commandlog(LogType::Slow), &answers(&only_errors)), None);
    let not_a_log = [("a:1", Ok(bulk("x")))];
    assert_eq!(merged::text(Kind::Slowlog, &answers(&not_a_log)), None);
}

#[test]
fn merged_client_list_is_by_node_then_id() {
    let replies =
        [("a:1", Ok(bulk("id=10 addr=x:1 name=\nid=3 addr=x:2 name=n\n"))), ("b:2", Ok(bulk("id=1 addr=y:1\n")))];
    let lines = merged::text(Kind::ClientList, &answers(&replies)).unwrap();
    assert_eq!(lines, ["node=a:1 id=3 addr=x:2 name=n", "node=a:1 id=10 addr=x:1 name=", "node=b:2 id=1 addr=y:1"]);
    let csv = merged::csv(Kind::ClientList, &answers(&replies), true).unwrap();
    assert_eq!(csv, ["node,id,addr,name", "a:1,3,x:2,n", "a:1,10,x:1,", "b:2,1,y:1,"]);
}

#[test]
fn merged_latency_latest() {
    let entry = |event: &str, time: i64, latest: i64| array(vec![bulk(event), int(time), int(latest), int(latest)]);
    let replies = [("a:1", Ok(array(vec![entry("command", 100, 3)]))), ("b:2", Ok(array(vec![entry("fork", 200, 1)])))];
    let lines = merged::text(Kind::LatencyLatest, &answers(&replies)).unwrap();
    assert_eq!(
        lines,
        [
            "node  event    time  latest_ms  max_ms",
            "b:2   fork     200   1          1",
            "a:1   command  100   3          3"
        ]
    );
    let csv = merged::csv(Kind::LatencyLatest, &answers(&replies), true).unwrap();
    assert_eq!(csv, ["node,event,time,latest_ms,max_ms", "b:2,fork,200,1,1", "a:1,command,100,3,3"]);
}

#[test]
fn merged_info_is_a_table_with_totals() {
    let a = "# Server\r\nredis_version:7.0.15\r\ntcp_port:7000\r\n# Clients\r\nconnected_clients:2\r\n\
# Memory\r\nused_memory:100\r\nused_memory_human:100B\r\nmem_fragmentation_ratio:1.50\r\n\
# Stats\r\ninstantaneous_input_kbps:0.50\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n";
    let b = "# Server\r\nredis_version:7.0.15\r\ntcp_port:7001\r\n# Clients\r\nconnected_clients:5\r\n\
# Memory\r\nused_memory:50\r\nused_memory_human:50B\r\nmem_fragmentation_ratio:2.00\r\n\
# Stats\r\ninstantaneous_input_kbps:0.25\r\n";
    let replies = [("a:1", Ok(bulk(a))), ("b:2", Ok(bulk(b)))];
    let lines = merged::text(Kind::Info, &answers(&replies)).unwrap();
    assert_eq!(
        lines,
        [
            "field                     a:1     b:2     total",
            "# Server",
            "redis_version             7.0.15  7.0.15",
            "tcp_port                  7000    7001",
            "# Clients",
            "connected_clients         2       5       7",
            "# Memory",
            "used_memory               100     50      150",
            "used_memory_human         100B    50B",
            "mem_fragmentation_ratio   1.50    2.00",
            "# Stats",
            "instantaneous_input_kbps  0.50    0.25    0.75",
            "# Keyspace",
            "db0.keys                  3       -       3",
            "db0.expires               1       -       1",
            "db0.avg_ttl               0       -",
        ]
    );
    assert!(summable("total_commands_processed") && summable("db3.keys"));
    assert!(!summable("total_system_memory") && !summable("used_memory_peak"));
    let odd =
        [("a:1", Ok(bulk("# S\r\nconnected_clients:x\r\n"))), ("b:2", Ok(bulk("# S\r\nconnected_clients:1\r\n")))];
    let lines = merged::text(Kind::Info, &answers(&odd)).unwrap();
    assert_eq!(lines[2], "connected_clients  x    1", "no total over a value that is not a number");
}

#[test]
fn json_by_node_keys_every_node() {
    let replies = [("a:1", Ok(bulk("cluster_state:ok\r\n"))), ("b:2", Err("b:2 is down".into())), ("c:3", Ok(int(1)))];
    assert_eq!(
        merged::json_by_node(Kind::ClusterInfo, &answers(&replies)),
        json!({"a:1": {"cluster_state": "ok"}, "b:2": {"error": "b:2 is down"}, "c:3": 1})
    );
}

/// Random bytes and random frames through every parser: no panic, and everything the
/// merged tables give is one line per entry.
#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"# :=,\r\n-[]<>0123456789.abc@";
    let kinds = [
        Kind::Info,
        Kind::ClusterInfo,
        Kind::ClusterNodes,
        Kind::ClusterShards,
        Kind::ClusterSlots,
        Kind::ClientList,
        Kind::Slowlog,
        Kind::Commandlog(LogType::Slow),
        Kind::LatencyLatest,
        Kind::MemoryStats,
    ];
    fn frame(next: &mut dyn FnMut() -> u64, text: &[u8], depth: u32) -> Frame {
        match next() % if depth > 3 { 4 } else { 7 } {
            0 => Frame::Bulk(text.to_vec()),
            1 => Frame::Integer(next() as i64),
            2 => Frame::Null,
            3 => Frame::Double(text.to_vec()),
            4 => Frame::Map(vec![(Frame::Bulk(text.to_vec()), frame(next, text, depth + 1))]),
            _ => Frame::Array((0..next() % 6).map(|_| frame(next, text, depth + 1)).collect()),
        }
    }
    for _ in 0..2000 {
        let len = (next() % 200) as usize;
        let text: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        let random = frame(&mut next, &text, 0);
        for kind in kinds {
            let _ = to_json(kind, &Frame::Bulk(text.clone()));
            let _ = to_json(kind, &random);
            let replies = [("a:1", Ok(Frame::Bulk(text.clone()))), ("b:2", Ok(random.clone()))];
            let _ = merged::text(kind, &answers(&replies));
            let _ = merged::csv(kind, &answers(&replies), true);
            let _ = merged::json_by_node(kind, &answers(&replies));
        }
    }
}
