//! A frame as text and as JSON.

use std::time::Duration;

use super::*;
use crate::endpoint::Endpoint;
use crate::top::rates::Rates;
use crate::top::sample::{NodeInfo, SlotStat};
use crate::top::view::{Lag, Link, ShardView, Totals};

fn view() -> View {
    let primary = NodeView {
        endpoint: Endpoint::tcp("127.0.0.1", 7000),
        id: "a".repeat(40),
        primary: true,
        health: "online".into(),
        link: Link::Ok,
        info: Some(NodeInfo {
            role: Some("master".into()),
            used_memory: Some(1024),
            max_memory: Some(0),
            clients: Some(4),
            keys: vec![(0, 7), (2, 1)],
            ..NodeInfo::default()
        }),
        rates: Rates { ops: Some(12.345), input: Some(100.0), output: Some(200.0), cpu: Some(0.5) },
        history: vec![None, Some(12.345)],
        lag: None,
    };
    let replica = NodeView {
        endpoint: Endpoint::tcp("127.0.0.1", 7001),
        id: "b".repeat(40),
        primary: false,
        health: "online".into(),
        link: Link::Silent { since: Duration::from_millis(1500), cause: "no reply for 1 s".into() },
        info: None,
        rates: Rates::default(),
        history: vec![None, None],
        lag: Some(Lag { bytes: Some(10), seconds: Some(0), link_up: Some(true), down_for: None }),
    };
    View {
        sampled: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        seed: Endpoint::tcp("127.0.0.1", 7000),
        cluster: true,
        state: Some("ok".into()),
        shards: vec![ShardView { ranges: vec![(0, 16383)], nodes: vec![primary, replica] }],
        totals: Totals {
            nodes: 2,
            answering: 1,
            ops: Some(12.345),
            input: Some(100.0),
            output: Some(200.0),
            cpu: Some(0.5),
            used_memory: 1024,
            keys: 8,
            clients: 4,
        },
        history: vec![None, Some(12.345)],
        hot: HotSlots::Slots {
            by_keys: vec![HotSlot {
                stat: SlotStat { slot: 866, keys: 5, ..SlotStat::default() },
                owner: Endpoint::tcp("127.0.0.1", 7000),
                cpu_rate: None,
                in_rate: None,
                out_rate: None,
            }],
            by_cpu: Vec::new(),
            stats_enabled: false,
        },
        events: vec![Event {
            at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            severity: Severity::Warning,
            text: "127.0.0.1:7001 stopped answering (no reply for 1 s)\u{1b}[2J".into(),
        }],
        interval: Duration::from_millis(1500),
        budget: Duration::from_secs(5),
        rounds: 2,
    }
}

#[test]
fn a_text_frame_has_the_heading_the_table_the_slots_and_the_events() {
    let text = frame(&view());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "rcli top 127.0.0.1:7000  cluster (state ok)  2 nodes, 1 answering  2023-11-14 22:13:20 UTC  every 1.5s"
    );
    assert_eq!(lines[1], "total  ops/s 12  in 100B/s  out 200B/s  cpu 0.5%  mem 1.0K  keys 8  clients 4");
    assert_eq!(lines[2], "cluster ops/s  █");
    assert!(lines[4].starts_with("slots    node"), "{}", lines[4]);
    assert!(lines[5].starts_with("0-16383  127.0.0.1:7000     primary  ok         online"), "{}", lines[5]);
    assert!(lines[6].contains("└ 127.0.0.1:7001  replica  silent 1s"), "{}", lines[6]);
    assert!(text.contains("\nhot slots by keys:\n  slot   866  keys        5  127.0.0.1:7000\n"), "{text}");
    assert!(text.contains("cluster-slot-stats-enabled yes"));
    assert!(
        text.ends_with("events:\n  22:13:20 127.0.0.1:7001 stopped answering (no reply for 1 s)\\x1b[2J\n"),
        "server text is escaped: {text}"
    );
}

#[test]
fn the_json_frame_has_numbers_and_nulls() {
    let value = json(&view());
    assert_eq!(value["timestamp"], 1_700_000_000);
    assert_eq!(value["cluster_state"], "ok");
    assert_eq!(value["interval_seconds"], 1.5);
    assert_eq!(value["totals"]["ops_per_sec"], 12.35);
    assert_eq!(value["totals"]["keys"], 8);
    let primary = &value["shards"][0]["nodes"][0];
    assert_eq!(primary["role"], "primary");
    assert_eq!(primary["server_role"], "master");
    assert_eq!(primary["keys"]["0"], 7);
    assert_eq!(primary["keys"]["2"], 1);
    assert_eq!(primary["clients"], 4);
    assert_eq!(primary["replication"], Value::Null);
    let replica = &value["shards"][0]["nodes"][1];
    assert_eq!(replica["link"], "silent");
    assert_eq!(replica["silent_seconds"], 1.5);
    assert_eq!(replica["error"], "no reply for 1 s");
    assert_eq!(replica["ops_per_sec"], Value::Null);
    assert_eq!(replica["replication"]["bytes"], 10);
    assert_eq!(replica["replication"]["link"], "up");
    assert_eq!(value["shards"][0]["slots"], json!([[0, 16383]]));
    assert_eq!(value["hot_slots"]["by_keys"][0]["slot"], 866);
    assert_eq!(value["events"][0]["severity"], "warning");
    assert_eq!(value["ops_history"], json!([null, 12.35]));
}

#[test]
fn clocks_and_columns() {
    assert_eq!(clock(UNIX_EPOCH + Duration::from_secs(86_400 + 3_723)), "01:02:03");
    assert_eq!(trim_float(2.0), "2");
    assert_eq!(trim_float(0.25), "0.25");
    let lines = table_lines(&[], SortBy::Ops);
    assert!(lines[0].contains("ops/s*"), "the sort column is marked");
}
